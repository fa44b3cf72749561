"""The audit report as one self-contained HTML file (inline CSS, JS and SVG charts; no network).

The page is built from a view model prepared here, so the template only lays things out and
Jinja2's autoescaping covers every piece of text. Violations are highlighted by splitting each
message at its findings' offsets into plain and marked segments — never by inserting markup into
the text — so chat text can contain anything, `<script>` included.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from kefuguard.conversation.model import Message, Role
from kefuguard.conversation.results import (
    BASIS_ZH,
    AuditReport,
    ConversationFinding,
    ConversationResult,
    KpiReport,
    KpiRow,
    MetricResult,
    ShopSummary,
)
from kefuguard.io.reports.common import (
    ABUSE_STEPS,
    KPI_AGENT_FIELDS,
    KPI_DAILY_FIELDS,
    KPI_LEVEL_ZH,
    KPI_SHOP_FIELDS,
    SEVERITIES,
    UNASSIGNED_ZH,
    category_zh,
    day_range,
    fmt_datetime,
    fmt_metric_value,
    fmt_number,
    fmt_seconds,
    fmt_yuan,
    import_counts_text,
    kpi_columns,
    kpi_day,
    kpi_imports,
    kpi_name,
    kpi_profile_text,
    kpi_rows,
    kpi_status,
    local_time,
    platform_zh,
    ranked_agents,
    role_zh,
    severity_zh,
    status_mark,
    status_tone,
    status_zh,
    threshold_text,
    totals,
    unassigned_agents,
)
from kefuguard.masking import mask_report
from kefuguard.rules.model import Severity

SLOW_REPLY_SECONDS = 180
AGENT_CHART_LIMIT = 30


@lru_cache(maxsize=1)
def _environment() -> Environment:
    folder = Path(str(resources.files("kefuguard.io.reports") / "templates"))
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["fmt_yuan"] = fmt_yuan
    env.globals["fmt_number"] = fmt_number
    env.globals["basis_zh"] = BASIS_ZH
    env.globals["severity_zh"] = severity_zh
    return env


def _asset(name: str) -> Markup:
    """A CSS/JS file of the templates folder, inlined verbatim (it is ours, not user text)."""
    text = (resources.files("kefuguard.io.reports") / "templates" / name).read_text(encoding="utf-8")
    return Markup(text)


def _script_json(data: object) -> Markup:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' can close the tag."""
    text = json.dumps(data, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


# ------------------------------------------------------------------ conversations
@dataclass
class Note:
    """A finding as shown beside the chat."""

    n: int
    finding: ConversationFinding
    located: bool = False

    @property
    def severity(self) -> str:
        return self.finding.severity.value

    @property
    def category(self) -> str:
        return category_zh(self.finding.category)

    @property
    def amounts(self) -> list[str]:
        p = self.finding.penalty
        if p is None:
            return []
        out = []
        if p.fine_yuan:
            out.append(f"罚款 {fmt_yuan(p.fine_yuan)} 元")
        if p.buyer_compensation_yuan:
            out.append(f"赔付买家 {fmt_yuan(p.buyer_compensation_yuan)} 元")
        if p.deposit_yuan:
            out.append(f"保证金 {fmt_yuan(p.deposit_yuan)} 元")
        if p.points:
            out.append(f"扣 {fmt_number(p.points)} 分")
        if p.listing_ban_days:
            out.append("下架 " + "/".join(str(d) for d in p.listing_ban_days) + " 天")
        return out


@dataclass
class Segment:
    text: str
    severity: str | None = None
    rules: str = ""
    title: str = ""
    numbers: list[int] = field(default_factory=list)


@dataclass
class ChatMessage:
    message: Message
    segments: list[Segment]
    notes: list[Note]
    gap: str = ""
    gap_slow: bool = False
    new_day: str = ""

    @property
    def role(self) -> str:
        if self.message.role is Role.agent and self.message.auto_reply:
            return "bot"
        return self.message.role.value

    @property
    def role_label(self) -> str:
        if self.message.role is Role.agent and self.message.auto_reply:
            return "自动回复"
        label = role_zh(self.message.role.value)
        if self.message.role in (Role.agent, Role.bot) and self.message.agent_id:
            return f"{label} · {self.message.agent_id}"
        return label

    @property
    def time(self) -> str:
        return local_time(self.message.sent_at).strftime("%H:%M:%S")

    @property
    def flags(self) -> list[str]:
        m = self.message
        out = []
        if m.quick_reply:
            out.append("快捷回复")
        if m.auto_reply and m.role is not Role.agent:
            out.append("自动回复")
        if m.buyer_reported:
            out.append("已举报")
        return out


@dataclass
class ChatView:
    conv: ConversationResult
    anchor: str
    messages: list[ChatMessage]
    conversation_notes: list[Note]
    worst: str

    @property
    def platform(self) -> str:
        return platform_zh(self.conv.platform)

    @property
    def started(self) -> str:
        return fmt_datetime(self.conv.started_at)

    @property
    def score_tone(self) -> str:
        return _score_tone(self.conv.score)


def _score_tone(score: float) -> str:
    return "good" if score >= 90 else "warn" if score >= 70 else "bad"


def _segments(text: str, notes: list[Note]) -> list[Segment]:
    """Split `text` at the located findings; overlapping spans merge into one mark."""
    spans = sorted(
        ((n.finding.start, n.finding.end, n) for n in notes if n.located),
        key=lambda s: (s[0], -s[1]),
    )
    merged: list[list] = []
    for start, end, note in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2].append(note)
        else:
            merged.append([start, end, [note]])
    out: list[Segment] = []
    cursor = 0
    for start, end, group in merged:
        if start > cursor:
            out.append(Segment(text[cursor:start]))
        worst = max(group, key=lambda n: n.finding.severity.rank)
        out.append(
            Segment(
                text[start:end],
                severity=worst.severity,
                rules=" ".join(n.finding.check_id for n in group),
                title="；".join(f"{n.finding.title}（{n.finding.check_id}）" for n in group),
                numbers=[n.n for n in group],
            )
        )
        cursor = end
    if cursor < len(text):
        out.append(Segment(text[cursor:]))
    return out


def _chat_view(conv: ConversationResult, index: int) -> ChatView:
    messages = conv.messages or []
    ordered = sorted(
        conv.findings,
        key=lambda f: (
            f.message_index if f.message_index is not None else -1,
            f.start or 0,
            -f.severity.rank,
        ),
    )
    by_message: dict[int, list[Note]] = {}
    conversation_notes: list[Note] = []
    for n, finding in enumerate(ordered, start=1):
        i = finding.message_index
        note = Note(n, finding)
        if i is not None and 0 <= i < len(messages):
            text = messages[i].text
            note.located = (
                finding.kind == "message"
                and finding.start is not None
                and finding.end is not None
                and 0 <= finding.start < finding.end <= len(text)
            )
            by_message.setdefault(i, []).append(note)
            if finding.kind != "message":
                conversation_notes.append(note)
        else:
            conversation_notes.append(note)
    chat: list[ChatMessage] = []
    last_buyer_at = None
    last_day = None
    for i, m in enumerate(messages):
        notes = by_message.get(i, [])
        item = ChatMessage(m, _segments(m.text, notes), notes)
        day = local_time(m.sent_at).date()
        if day != last_day:
            item.new_day = day.isoformat()
            last_day = day
        if m.role is Role.buyer:
            last_buyer_at = last_buyer_at or m.sent_at
        elif m.is_manual_reply and last_buyer_at is not None:
            wait = (m.sent_at - last_buyer_at).total_seconds()
            item.gap = f"回复用时 {fmt_seconds(wait)}"
            item.gap_slow = wait > SLOW_REPLY_SECONDS
            last_buyer_at = None
        chat.append(item)
    worst = max((f.severity for f in conv.findings), key=lambda s: s.rank, default=Severity.info)
    return ChatView(conv, f"conv-{index + 1}", chat, conversation_notes, worst.value)


# ------------------------------------------------------------------ page model
def _histogram_tone(label: str) -> str:
    if "未" in label or label.startswith(">"):
        return "bad"
    m = re.match(r"\s*(\d+(?:\.\d+)?)\s*([smh分秒]?)", label)
    if not m:
        return "ok"
    value = float(m.group(1))
    unit = m.group(2) or (re.findall(r"[smh分秒]", label) or ["s"])[-1]
    seconds = value * {"s": 1, "秒": 1, "m": 60, "分": 60, "h": 3600}[unit]
    return "warn" if seconds >= SLOW_REPLY_SECONDS else "ok"


def _metric_view(m: MetricResult) -> dict:
    """A metric against its threshold, as the pass/fail cells show it (reply metrics and KPIs alike)."""
    return {
        "m": m,
        "value": fmt_metric_value(m, m.value),
        "threshold": threshold_text(m),
        "mark": status_mark(m.passed),
        "status": status_zh(m.passed),
        "tone": status_tone(m.passed),
        "ratio": (
            f"{fmt_number(m.numerator)} / {fmt_number(m.denominator)}"
            if m.numerator is not None and m.denominator is not None
            else ""
        ),
        "who": " · ".join(x for x in (m.agent_id or "", m.day.isoformat() if m.day else "") if x),
    }


def _shop_view(shop: ShopSummary) -> dict:
    metrics = [_metric_view(m) for m in shop.metrics]
    e = shop.exposure
    money = (e.fine_yuan + e.buyer_compensation_yuan) if e else 0.0
    return {
        "s": shop,
        "platform": platform_zh(shop.platform),
        "metrics": metrics,
        "failed": sum(1 for m in shop.metrics if m.passed is False),
        "tone": _score_tone(shop.mean_score),
        "exposure": e,
        "money": money,
    }


# ------------------------------------------------------------------ sales KPIs
def _kpi_row_view(row: KpiRow, fields: tuple[str, ...]) -> dict:
    """A KPI row; `tone` colours a judged row like the reply metrics (none where nothing is judged)."""
    return {
        "row": row,
        "name": kpi_name(row),
        "level": KPI_LEVEL_ZH.get(row.level, row.level),
        "platform": platform_zh(row.platform),
        "day": kpi_day(row),
        "cells": [c.text(row) for c in kpi_columns(fields)],
        "tone": status_tone(kpi_status(row)) if row.results else "",
        "results": [_metric_view(m) for m in row.results],
    }


def _kpi_table(kpis: KpiReport, levels: tuple[str, ...], fields: tuple[str, ...], *, daily: bool) -> dict:
    return {
        "heads": [c.label for c in kpi_columns(fields)],
        "rows": [_kpi_row_view(r, fields) for r in kpi_rows(kpis, levels, daily=daily)],
    }


def _kpi_view(kpis: KpiReport | None) -> dict | None:
    """销售与售后指标: the profile, import counts, shop and agent totals, and the judged daily rows."""
    if kpis is None:
        return None
    daily = _kpi_table(kpis, ("platform", "shop", "agent"), KPI_DAILY_FIELDS, daily=True)
    judged = [m for v in daily["rows"] for m in v["results"] if m["m"].passed is not None]
    return {
        "k": kpis,
        "profile": kpi_profile_text(kpis),
        "imports": [(label, import_counts_text(summary)) for label, summary in kpi_imports(kpis)],
        "shops": _kpi_table(kpis, ("platform", "shop"), KPI_SHOP_FIELDS, daily=False),
        "agents": _kpi_table(kpis, ("agent",), KPI_AGENT_FIELDS, daily=False),
        "daily": daily,
        "judged": len(judged),
        "failed": sum(1 for m in judged if m["m"].passed is False),
    }


def _page(report: AuditReport, masked: bool) -> dict:
    t = totals(report)
    imp = report.imports
    agents = ranked_agents(report)
    histogram = [
        {"label": label, "value": count, "tone": _histogram_tone(label)}
        for label, count in report.response_time_histogram.items()
    ]
    categories = [
        {"code": code, "label": category_zh(code), "value": n}
        for code, n in sorted(report.findings_by_category.items(), key=lambda kv: -kv[1])
    ]
    chart_agents = agents
    if len(agents) > AGENT_CHART_LIMIT:
        half = AGENT_CHART_LIMIT // 2
        chart_agents = agents[:half] + agents[-half:]
    data = {
        "histogram": histogram,
        "categories": categories,
        "agents": [
            {
                "label": f"{a.agent_id}",
                "sub": a.shop,
                "value": round(a.mean_score, 1),
                "tone": _score_tone(a.mean_score),
            }
            for a in chart_agents
        ],
        "severity": [
            {"label": severity_zh(s), "code": s, "value": report.findings_by_severity.get(s, 0)}
            for s in SEVERITIES
        ],
    }
    exposure_money = t["fine_yuan"] + t["buyer_compensation_yuan"]
    cards = [
        {
            "label": "会话数",
            "value": f"{report.conversations:,}",
            "sub": f"消息 {report.messages:,} 条",
            "tone": "",
        },
        {
            "label": "导入行",
            "value": f"{imp.accepted:,}",
            "sub": f"读取 {imp.read:,} · 重复 {imp.duplicates:,} · 拒收 {imp.rejected:,}",
            "tone": "warn" if imp.rejected else "",
        },
        {
            "label": "违规",
            "value": f"{t['findings']:,}",
            "sub": f"严重 {report.findings_by_severity.get('critical', 0)} · 较重 {report.findings_by_severity.get('major', 0)}",
            "tone": "bad" if report.findings_by_severity.get("critical") else "",
        },
        {
            "label": "平均得分",
            "value": f"{t['mean_score']:.1f}",
            "sub": f"问题会话 {t['flagged']} 个",
            "tone": _score_tone(t["mean_score"]),
        },
        {
            "label": "指标未达标",
            "value": f"{t['metrics_failed']} / {t['metrics']}",
            "sub": "按平台考核阈值",
            "tone": "bad" if t["metrics_failed"] else "good",
        },
        {
            "label": "预估罚款与赔付",
            "value": f"¥{fmt_yuan(exposure_money)}",
            "sub": f"保证金 ¥{fmt_yuan(t['deposit_at_risk_yuan'])} · 扣 {fmt_number(t['points'])} 分",
            "tone": "bad" if exposure_money or t["deposit_at_risk_yuan"] else "",
        },
    ]
    return {
        "r": report,
        "masked": masked,
        "period": day_range(report),
        "generated": fmt_datetime(report.generated_at),
        "cards": cards,
        "totals": t,
        "histogram": histogram,
        "categories": categories,
        "shops": [_shop_view(s) for s in report.shops],
        "kpi": _kpi_view(report.kpis),
        "agents": agents,
        "unassigned": unassigned_agents(report),
        "unassigned_zh": UNASSIGNED_ZH,
        "score_tone": _score_tone,
        "chats": [_chat_view(c, i) for i, c in enumerate(report.flagged)],
        "abuse_steps": ABUSE_STEPS,
        "severities": SEVERITIES,
        "platform_zh": platform_zh,
        "fmt_seconds": fmt_seconds,
        "data_json": _script_json(data),
        "css": _asset("report.css"),
        "js": _asset("report.js"),
    }


def render_html(report: AuditReport, *, mask_pii: bool = True) -> str:
    """The report page as a string (PII masked unless `mask_pii` is False)."""
    if mask_pii:
        report = mask_report(report)
    return _environment().get_template("report.html.j2").render(**_page(report, mask_pii))


def write_html(report: AuditReport, path: str | os.PathLike[str], *, mask_pii: bool = True) -> Path:
    """Write the single-file HTML report; returns the path written."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(report, mask_pii=mask_pii), encoding="utf-8")
    return out
