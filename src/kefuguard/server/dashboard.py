"""What the web dashboard (kefuguard.web) reads beyond the plain lists: who is signed in, the overview
of an audit run, the rules behind a conversation's findings, and any list as an Excel file.

Overview of a run (the newest finished one unless asked): for the whole run, one day, or the ISO
week (Monday–Sunday) around a day — each shop's platform metrics against their thresholds (daily
rows added up numerator by numerator), findings by category and severity, the audit's exposure
estimate, and trends over the run's days. Everything is scoped by the caller's tenant, in one short
session per call.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import and_, func, select

from kefuguard.rules.model import CATEGORY_ZH, PLATFORM_NAMES_ZH, SEVERITY_ZH
from kefuguard.server.security import Principal
from kefuguard.storage.db import Database
from kefuguard.storage.errors import NotFoundError
from kefuguard.storage.models import (
    Agent,
    AgentScore,
    AuditRun,
    Conversation,
    Finding,
    Message,
    Metric,
    Shop,
    Tenant,
)

SEVERITIES = ("critical", "major", "minor", "info")
PERIODS = ("day", "week", "all")
EXPOSURE_FIELDS = ("fine_yuan", "buyer_compensation_yuan", "shop_policy_yuan", "deposit_at_risk_yuan", "points")


def category_labels() -> dict[str, str]:
    """Every finding category (message rules and conversation checks) → its Chinese label."""
    from kefuguard.io.reports.common import AUDIT_CATEGORY_ZH

    return {**CATEGORY_ZH, **AUDIT_CATEGORY_ZH}


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _shanghai_day(when: dt.datetime | None) -> dt.date | None:
    from kefuguard.conversation.model import SHANGHAI

    return when.astimezone(SHANGHAI).date() if when is not None else None


def _passes(value: float | None, threshold: float | None, comparison: str | None) -> bool | None:
    if value is None or threshold is None:
        return None
    return {">=": value >= threshold, ">": value > threshold, "<=": value <= threshold,
            "<": value < threshold}.get(comparison or "none")


def period_bounds(period: str, day: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """[first, last] day of a period around `day`: that day, its ISO week, or everything (None)."""
    if period == "all" or day is None:
        return None, None
    if period == "week":
        monday = day - dt.timedelta(days=day.weekday())
        return monday, monday + dt.timedelta(days=6)
    return day, day


# ---------------------------------------------------------------------------- who am I
def me(db: Database, who: Principal) -> dict[str, Any]:
    with db.session() as s:
        tenant = s.scalar(select(Tenant.name).where(Tenant.id == who.tenant_id))
        agent = None
        if who.agent_id is not None:
            row = s.execute(
                select(Agent, Shop)
                .join(Shop, and_(Shop.tenant_id == Agent.tenant_id, Shop.id == Agent.shop_id))
                .where(Agent.tenant_id == who.tenant_id, Agent.id == who.agent_id)
            ).first()
            if row is not None:
                a, shop = row
                agent = {"id": a.id, "external_id": a.external_id, "name": a.name, "shop_id": shop.id,
                         "shop": shop.name, "platform": shop.platform}
    return {"key_id": who.key_id, "role": who.role, "label": who.label, "tenant_id": who.tenant_id,
            "tenant": tenant or "", "agent": agent, "platforms": dict(PLATFORM_NAMES_ZH),
            "categories": category_labels(), "severities": dict(SEVERITY_ZH)}


# ---------------------------------------------------------------------------- overview
def overview(db: Database, tenant_id: int, *, run_id: int | None = None, shop_id: int | None = None,
             platform: str | None = None, period: str = "all", day: dt.date | None = None) -> dict[str, Any]:
    with db.session() as s:
        query = select(AuditRun).where(AuditRun.tenant_id == tenant_id)
        if run_id is not None:
            run = s.scalars(query.where(AuditRun.id == run_id)).first()
            if run is None:
                raise NotFoundError(run_id)
        else:
            run = s.scalars(query.where(AuditRun.status == "done").order_by(AuditRun.id.desc()).limit(1)).first()
        empty = {"run": None, "days": [], "period": {"kind": period, "day": None, "day_from": None, "day_to": None},
                 "shops": [], "totals": {}, "findings_by_category": [], "findings_by_severity": {},
                 "exposure": {"shops": [], "totals": dict.fromkeys(EXPOSURE_FIELDS, 0.0)},
                 "trend": {"days": [], "findings": {}, "metrics": []}}
        if run is None:
            return empty
        summary = run.summary or {}
        shop_ids = set(s.scalars(select(Metric.shop_id).where(Metric.tenant_id == tenant_id, Metric.run_id == run.id)
                                 .distinct()))
        shop_ids |= set(s.scalars(select(AgentScore.shop_id).where(AgentScore.tenant_id == tenant_id,
                                                                  AgentScore.run_id == run.id).distinct()))
        shop_ids |= set(s.scalars(
            select(Conversation.shop_id).join(Finding, and_(Finding.tenant_id == Conversation.tenant_id,
                                                            Finding.conversation_id == Conversation.id))
            .where(Finding.tenant_id == tenant_id, Finding.run_id == run.id).distinct()))
        shops = {sh.id: sh for sh in s.scalars(select(Shop).where(Shop.tenant_id == tenant_id, Shop.id.in_(shop_ids)))}
        selected = {i: sh for i, sh in shops.items()
                    if (shop_id is None or i == shop_id) and (platform is None or sh.platform == platform)}
        metric_days = set(s.scalars(select(Metric.day).where(Metric.tenant_id == tenant_id, Metric.run_id == run.id,
                                                              Metric.day.is_not(None)).distinct()))
        days = sorted({dt.date.fromisoformat(d) for d in summary.get("days", [])} | metric_days)
        if day is None and period != "all" and days:
            day = days[-1]
        first, last = period_bounds(period, day)

        rows = _metric_rows(s, tenant_id, run.id, list(selected))
        findings = s.execute(
            select(Finding.category, Finding.severity, func.coalesce(Message.sent_at, Conversation.started_at),
                   Conversation.shop_id)
            .join(Conversation, and_(Conversation.tenant_id == Finding.tenant_id,
                                     Conversation.id == Finding.conversation_id))
            .outerjoin(Message, and_(Message.tenant_id == Finding.tenant_id, Message.id == Finding.message_id))
            .where(Finding.tenant_id == tenant_id, Finding.run_id == run.id, Conversation.shop_id.in_(list(selected)))
        ).all()
        volume = _volume(s, tenant_id, list(selected), first, last) if first is not None else None

    by_category: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    per_shop_findings: Counter[int] = Counter()
    trend_findings: dict[str, Counter[dt.date]] = {sev: Counter() for sev in SEVERITIES}
    for category, severity, when, sid in findings:
        d = _shanghai_day(when)
        if d is not None and severity in trend_findings:
            trend_findings[severity][d] += 1
        if first is not None and (d is None or not first <= d <= last):  # type: ignore[operator]
            continue
        by_category[category] += 1
        by_severity[severity] += 1
        per_shop_findings[sid] += 1

    labels = category_labels()
    summary_shops = {(x.get("platform"), x.get("shop")): x for x in summary.get("shops", [])}
    exposure_by_shop = {(x.get("platform"), x.get("shop")): x for x in summary.get("exposure", [])}
    out_shops = []
    exposure_shops = []
    totals: Counter[str] = Counter()
    exposure_totals = dict.fromkeys(EXPOSURE_FIELDS, 0.0)
    for sid, shop in sorted(selected.items(), key=lambda kv: (kv[1].platform, kv[1].name)):
        key = _summary_key(shop, summary_shops)
        info = summary_shops.get(key, {})
        if volume is None:
            conversations, messages = info.get("conversations", 0), info.get("messages", 0)
        else:
            conversations, messages = volume.get(sid, (0, 0))
        metrics = _period_metrics(rows, sid, period, first, last)
        out_shops.append({
            "shop_id": sid, "shop": shop.name, "platform": shop.platform, "conversations": conversations,
            "messages": messages, "findings": per_shop_findings[sid], "mean_score": info.get("mean_score"),
            "metrics": metrics, "failed_metrics": sum(1 for m in metrics if m["passed"] is False),
        })
        totals["conversations"] += conversations
        totals["messages"] += messages
        totals["failed_metrics"] += out_shops[-1]["failed_metrics"]
        exp = exposure_by_shop.get(_summary_key(shop, exposure_by_shop))
        if exp is not None:
            entry = {"shop_id": sid, "shop": shop.name, "platform": shop.platform,
                     **{f: float(exp.get(f) or 0) for f in EXPOSURE_FIELDS}, "charges": exp.get("charges", [])}
            entry["yuan"] = entry["fine_yuan"] + entry["buyer_compensation_yuan"] + entry["shop_policy_yuan"]
            exposure_shops.append(entry)
            for f in EXPOSURE_FIELDS:
                exposure_totals[f] += entry[f]
    exposure_totals["yuan"] = (exposure_totals["fine_yuan"] + exposure_totals["buyer_compensation_yuan"]
                               + exposure_totals["shop_policy_yuan"])
    totals["findings"] = sum(by_severity.values())

    trend_metrics = []
    for (sid, metric), entries in sorted(rows["daily"].items(), key=lambda kv: (kv[0][0], kv[0][1])):
        values = {e["day"]: e for e in entries}
        head = entries[0]
        trend_metrics.append({
            "shop_id": sid, "shop": selected[sid].name, "platform": selected[sid].platform, "metric": metric,
            "title": head["title"], "unit": head["unit"], "comparison": head["comparison"],
            "threshold": head["threshold"],
            "values": [values[d]["value"] if d in values else None for d in days],
            "passed": [values[d]["passed"] if d in values else None for d in days],
        })
    return {
        "run": {"id": run.id, "status": run.status, "created_at": _iso(run.created_at),
                "finished_at": _iso(run.finished_at), "conversations": run.conversations, "messages": run.messages,
                "findings": run.findings, "files": (run.params or {}).get("files", [])},
        "days": [d.isoformat() for d in days],
        "period": {"kind": period, "day": _iso(day), "day_from": _iso(first), "day_to": _iso(last)},
        "shops": out_shops,
        "totals": dict(totals),
        "findings_by_category": [{"category": c, "label": labels.get(c, c), "count": n}
                                 for c, n in by_category.most_common()],
        "findings_by_severity": {sev: by_severity.get(sev, 0) for sev in SEVERITIES},
        "exposure": {"shops": exposure_shops, "totals": exposure_totals,
                     "days": [days[0].isoformat(), days[-1].isoformat()] if days else []},
        "trend": {"days": [d.isoformat() for d in days],
                  "findings": {sev: [trend_findings[sev].get(d, 0) for d in days] for sev in SEVERITIES},
                  "metrics": trend_metrics},
    }


def _summary_key(shop: Shop, entries: dict[tuple[Any, Any], Any]) -> tuple[str, str]:
    for name in (shop.name, shop.external_id):
        if (shop.platform, name) in entries:
            return shop.platform, name
    return shop.platform, shop.name


def _metric_rows(s: Any, tenant_id: int, run_id: int, shop_ids: list[int]) -> dict[str, Any]:
    """The run's shop-level metrics: the whole-run rows by (shop, metric), the daily rows by (shop, metric)."""
    total: dict[tuple[int, str], dict[str, Any]] = {}
    daily: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for m in s.scalars(select(Metric).where(Metric.tenant_id == tenant_id, Metric.run_id == run_id,
                                            Metric.shop_id.in_(shop_ids), Metric.agent_id.is_(None))
                       .order_by(Metric.shop_id, Metric.day, Metric.id)):
        detail = m.detail or {}
        row = {"metric": m.metric_id, "title": detail.get("title") or m.metric_id, "unit": detail.get("unit") or "",
               "comparison": detail.get("comparison") or "none", "value": m.value, "threshold": m.threshold,
               "passed": m.passed, "numerator": detail.get("numerator"), "denominator": detail.get("denominator"),
               "fine_yuan": detail.get("fine_yuan") or 0.0, "note": detail.get("note") or "", "day": m.day}
        if m.day is None:
            total[(m.shop_id, m.metric_id)] = row
        else:
            daily[(m.shop_id, m.metric_id)].append(row)
    return {"total": total, "daily": daily}


def _period_metrics(rows: dict[str, Any], shop_id: int, period: str, first: dt.date | None,
                    last: dt.date | None) -> list[dict[str, Any]]:
    """A shop's metrics for the period: the run's own rows for the whole run; for a day or a week the
    daily rows in it, numerators and denominators added up (the value is their ratio, judged again
    against the threshold)."""
    out = []
    if period == "all" or first is None:
        for (sid, _metric), row in rows["total"].items():
            if sid == shop_id:
                out.append({k: v for k, v in row.items() if k != "day"} | {"days": None})
        return out
    for (sid, metric), entries in rows["daily"].items():
        if sid != shop_id:
            continue
        inside = [e for e in entries if first <= e["day"] <= last]  # type: ignore[operator]
        if not inside:
            continue
        head = inside[-1]
        if len(inside) == 1:
            row = {k: v for k, v in head.items() if k != "day"}
        else:
            num = sum(e["numerator"] or 0 for e in inside)
            den = sum(e["denominator"] or 0 for e in inside)
            value = num / den if den else None
            row = {**{k: v for k, v in head.items() if k != "day"}, "numerator": num, "denominator": den,
                   "value": value, "passed": _passes(value, head["threshold"], head["comparison"]),
                   "fine_yuan": sum(e["fine_yuan"] or 0 for e in inside), "note": ""}
        row["metric"] = metric
        row["days"] = len(inside)
        out.append(row)
    return out


def _volume(s: Any, tenant_id: int, shop_ids: list[int], first: dt.date | None,
            last: dt.date | None) -> dict[int, tuple[int, int]]:
    """(conversations, messages) per shop with messages sent in [first, last] (Beijing days)."""
    from kefuguard.server.store import _day_bounds

    start, end = _day_bounds(first, last)
    query = (select(Message.shop_id, func.count(func.distinct(Message.conversation_id)), func.count())
             .where(Message.tenant_id == tenant_id, Message.shop_id.in_(shop_ids)))
    if start is not None:
        query = query.where(Message.sent_at >= start)
    if end is not None:
        query = query.where(Message.sent_at < end)
    return {sid: (convs, msgs) for sid, convs, msgs in s.execute(query.group_by(Message.shop_id))}


# ---------------------------------------------------------------------------- rules behind findings
def rule_info(checker: Any, platform: str) -> dict[str, dict[str, Any]]:
    """Every message rule of a platform's checker and every conversation check (audit.*) as it applies
    on the platform: title, category, severity, penalty, seed source, suggestion."""
    from kefuguard.conversation.check_data import load_audit_checks

    labels = category_labels()
    out: dict[str, dict[str, Any]] = {}
    for cr in checker.rules:
        category = cr.rule.category.value
        out[cr.id] = {"id": cr.id, "title": cr.title, "category": category, "category_zh": labels.get(category, category),
                      "severity": cr.severity.value, "penalty": cr.penalty.model_dump(mode="json"),
                      "source": cr.source.model_dump(mode="json"), "suggestion": cr.suggestion, "kind": "message"}
    for check in load_audit_checks().checks.values():
        if not check.applies_to(platform):
            continue
        c = check.on(platform)
        out[c.id] = {"id": c.id, "title": c.title, "category": c.category,
                     "category_zh": labels.get(c.category, c.category), "severity": c.severity.value,
                     "penalty": c.penalty.model_dump(mode="json"), "source": c.source.model_dump(mode="json"),
                     "suggestion": c.suggestion, "kind": "conversation"}
    return out


# ---------------------------------------------------------------------------- Excel
Column = tuple[str, str, str]  # field, Chinese header, English header

EXPORT_COLUMNS: dict[str, Sequence[Column]] = {
    "conversations": (
        ("id", "编号", "id"), ("external_id", "会话ID", "conversation"), ("platform", "平台", "platform"),
        ("shop", "店铺", "shop"), ("buyer_id", "买家", "buyer"), ("started_at", "开始时间", "started at"),
        ("last_message_at", "最后消息", "last message"), ("message_count", "消息数", "messages"),
        ("findings", "违规数", "findings"), ("worst", "最严重", "worst"),
    ),
    "findings": (
        ("id", "编号", "id"), ("run_id", "审计", "audit"), ("conversation_external_id", "会话ID", "conversation"),
        ("sent_at", "发送时间", "sent at"), ("kind", "类型", "kind"), ("rule_id", "规则", "rule"),
        ("title", "标题", "title"), ("category", "类别", "category"), ("severity", "严重程度", "severity"),
        ("matched", "命中内容", "matched"), ("detail", "说明", "detail"), ("text", "消息内容", "message"),
        ("suggestion", "建议", "suggestion"), ("penalty.text", "处罚", "penalty"),
    ),
    "scores": (
        ("rank", "排名", "rank"), ("agent", "客服", "agent"), ("shop", "店铺", "shop"), ("platform", "平台", "platform"),
        ("score", "质检分", "score"), ("min_score", "最低分", "lowest"), ("conversations", "会话数", "conversations"),
        ("messages", "消息数", "messages"), ("findings", "违规数", "findings"),
        ("mean_first_response_seconds", "平均首响（秒）", "mean first response (s)"), ("run_id", "审计", "audit"),
    ),
    "metrics": (
        ("shop", "店铺", "shop"), ("platform", "平台", "platform"), ("agent", "客服", "agent"), ("day", "日期", "day"),
        ("metric", "指标", "metric"), ("title", "名称", "title"), ("value", "数值", "value"),
        ("threshold", "考核线", "threshold"), ("comparison", "比较", "comparison"), ("passed", "达标", "passed"),
        ("numerator", "分子", "numerator"), ("denominator", "分母", "denominator"), ("unit", "单位", "unit"),
        ("note", "备注", "note"), ("run_id", "审计", "audit"),
    ),
    "agents": (
        ("id", "编号", "id"), ("external_id", "客服账号", "agent"), ("name", "名称", "name"), ("shop", "店铺", "shop"),
        ("platform", "平台", "platform"),
    ),
    "deliveries": (
        ("id", "编号", "id"), ("webhook_id", "机器人", "webhook"), ("created_at", "时间", "time"),
        ("status", "状态", "status"), ("event_kind", "事件", "event"), ("subject", "主题", "subject"),
        ("shop", "店铺", "shop"), ("attempts", "尝试次数", "attempts"), ("http_status", "HTTP 状态", "HTTP status"),
        ("last_error", "错误", "error"), ("sent_at", "发送时间", "sent at"),
    ),
    "rules": (
        ("id", "规则", "rule"), ("title", "标题", "title"), ("category_zh", "类别", "category"),
        ("severity_zh", "严重程度", "severity"), ("penalty.text", "处罚", "penalty"), ("source.file", "出处文件", "source"),
        ("source.quote", "原文", "quote"), ("suggestion", "建议", "suggestion"), ("pack", "规则包", "pack"),
    ),
}
EXPORT_COLUMNS["quiz_results"] = (
    ("id", "编号", "id"), ("graded_at", "交卷时间", "submitted at"), ("agent", "客服", "agent"), ("shop", "店铺", "shop"),
    ("taken_by", "答题人", "taken by"), ("practice", "练习", "practice"), ("platform", "平台", "platform"),
    ("title", "测验", "quiz"), ("score", "答对", "right"), ("total", "题数", "questions"),
    ("percent", "得分率%", "score %"),
)
EXPORT_COLUMNS["kpis"] = (
    ("level", "层级", "level"), ("platform", "平台", "platform"), ("shop", "店铺", "shop"), ("agent", "客服", "agent"),
    ("day", "日期", "day"), ("consulted", "询单人数", "consulted buyers"), ("converted", "转化人数", "converted"),
    ("conversion_rate", "询单转化率", "conversion rate"), ("ordered", "下单人数", "ordering buyers"),
    ("paid", "付款人数", "paying buyers"), ("fulfilment_rate", "落实率", "fulfilment rate"), ("orders", "订单数", "orders"),
    ("paid_orders", "付款订单数", "paid orders"), ("sales", "销售额", "sales"), ("avg_order_value", "客单价", "per buyer"),
    ("items_per_order", "件/单", "items per order"), ("silent_ordered", "静默下单人数", "silent buyers"),
    ("silent_sales", "静默销售额", "silent sales"), ("after_sales_consulted", "售后咨询人数", "after-sales buyers"),
    ("refunds", "售后单数", "after-sales records"), ("handling_hours", "售后处理时长（小时）", "handling hours"),
    ("refund_hours", "退款完结时长（小时）", "refund hours"), ("quality_refund_rate", "品质退款率", "quality refund rate"),
    ("dispute_rate", "纠纷率", "dispute rate"), ("passed", "达标", "passed"), ("run_id", "审计", "audit"),
)
SHEET_NAMES = {"conversations": ("会话", "Conversations"), "findings": ("违规", "Findings"),
               "scores": ("客服排行", "Leaderboard"), "metrics": ("指标", "Metrics"), "kpis": ("销售指标", "Sales KPIs"),
               "agents": ("客服", "Agents"),
               "deliveries": ("推送记录", "Deliveries"), "rules": ("规则", "Rules"),
               "quiz_results": ("测验成绩", "Quiz results")}


def _field(item: dict[str, Any], name: str) -> Any:
    value: Any = item
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def xlsx_bytes(kind: str, items: Iterable[dict[str, Any]], lang: str = "zh",
               translate: Callable[[str, Any], Any] | None = None) -> bytes:
    """A list as an .xlsx workbook: one sheet, a header row, text written as text (never as a formula)."""
    import xlsxwriter

    columns = EXPORT_COLUMNS[kind]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False})
    zh = lang != "en"
    sheet = book.add_worksheet(SHEET_NAMES[kind][0 if zh else 1])
    bold = book.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
    widths = [len(c[1 if zh else 2]) * (2 if zh else 1) + 2 for c in columns]
    for col, column in enumerate(columns):
        sheet.write_string(0, col, column[1 if zh else 2], bold)
    row = 0
    for row, item in enumerate(items, start=1):
        for col, (name, _zh, _en) in enumerate(columns):
            value = _field(item, name)
            if translate is not None:
                value = translate(name, value)
            if value is None:
                continue
            if isinstance(value, bool):
                sheet.write_string(row, col, ("是" if value else "否") if zh else ("yes" if value else "no"))
            elif isinstance(value, int | float):
                sheet.write_number(row, col, value)
            else:
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                sheet.write_string(row, col, text[:32000])
                widths[col] = min(60, max(widths[col], len(text) + 2))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(row, 1), len(columns) - 1)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    book.close()
    return buffer.getvalue()
