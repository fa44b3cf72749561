"""Labels, number formats and totals shared by every report writer, so all four say the same."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from kefuguard.conversation.model import SHANGHAI
from kefuguard.conversation.results import (
    AgentSummary,
    AuditReport,
    ImportSummary,
    KpiReport,
    KpiRow,
    MetricResult,
)
from kefuguard.rules.model import CATEGORY_ZH, PLATFORM_NAMES_ZH, SEVERITY_ZH

SEVERITIES = ("critical", "major", "minor", "info")

# Conversation-level (audit.*) categories next to the message-rule categories of the packs.
AUDIT_CATEGORY_ZH = {
    "response": "回复时效",
    "slow_reply": "回复超时",
    "missed_reply": "漏回复",
    "no_reply": "未回复",
    "curt_reply": "敷衍短回复",
    "courtesy": "礼貌用语",
    "greeting": "缺少问候语",
    "closing": "缺少结束语",
    "quick_reply": "快捷回复过多",
    "ratio": "答问比",
    "buyer_abuse": "买家辱骂",
    "metric": "平台指标",
    "night_contact": "深夜联系",
    "follow_up": "未及时追问",
    "order_confirm": "未及时核对订单",
    "refund_handling": "退款处理超时",
    "off_topic": "答非所问",
}

ROLE_ZH = {"buyer": "买家", "agent": "客服", "bot": "机器人", "system": "系统"}

COMPARISON_TEXT = {">": "＞", ">=": "≥", "<": "＜", "<=": "≤", "none": ""}

# 002_…: the five steps of handling an abusive buyer (calm, respect, ask, offer, act).
ABUSE_STEPS = (
    ("让顾客冷静", "您好，您的心情我们也非常理解，我们开门做生意，也很希望可以为您妥善解决问题，和气生财。"),
    ("表达尊重理解", "我为您遇到的问题感到抱歉。"),
    ("商量解决方案", "您觉得我们该如何解决这个问题才合适呢？"),
    ("提供解决方案", "我们可以为您提供……（退换、补发、补偿等具体方案）"),
    ("及时行动", "说到做到，马上处理并告知买家进度；无理取闹可在后台举报/拉黑，无需发送威胁语句。"),
)


def platform_zh(code: str) -> str:
    return PLATFORM_NAMES_ZH.get(code, code)


def severity_zh(code: str) -> str:
    return SEVERITY_ZH.get(str(code), str(code))


def category_zh(code: str) -> str:
    code = str(code)
    return (
        CATEGORY_ZH.get(code)
        or AUDIT_CATEGORY_ZH.get(code)
        or AUDIT_CATEGORY_ZH.get(code.split(".")[-1], code)
    )


def role_zh(code: str) -> str:
    return ROLE_ZH.get(str(code), str(code))


def fmt_seconds(seconds: float | None) -> str:
    """45秒 / 2分15秒 / 1小时03分."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{seconds:.0f}秒" if seconds >= 1 or seconds == 0 else f"{seconds:.1f}秒"
    if s < 3600:
        return f"{s // 60}分{s % 60:02d}秒"
    return f"{s // 3600}小时{s % 3600 // 60:02d}分"


def fmt_yuan(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def fmt_number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _is_fraction(metric: MetricResult) -> bool:
    """Rates may arrive as 0–1 fractions or 0–100 percentages; both display as percentages."""
    if metric.unit != "%":
        return False
    if metric.value is not None and metric.numerator is not None and metric.denominator:
        ratio = metric.numerator / metric.denominator
        if ratio:  # a zero rate reads the same on both scales: the threshold decides below
            return abs(metric.value - ratio) < abs(metric.value - ratio * 100)
    values = [v for v in (metric.value, metric.threshold) if v is not None]
    return bool(values) and all(0 <= v <= 1 for v in values)


def fmt_metric_value(metric: MetricResult, value: float | None) -> str:
    if value is None:
        return "—"
    if metric.unit == "%":
        pct = value * 100 if _is_fraction(metric) else value
        return f"{pct:.1f}%"
    if metric.unit in ("s", "秒", "seconds"):
        return fmt_seconds(value)
    return f"{fmt_number(value)}{metric.unit}"


def threshold_text(metric: MetricResult) -> str:
    """'≥ 80.0%', or '—' when the platform publishes no threshold."""
    if metric.threshold is None or metric.comparison == "none":
        return "—"
    return f"{COMPARISON_TEXT[metric.comparison]} {fmt_metric_value(metric, metric.threshold)}"


def status_mark(passed: bool | None) -> str:
    return {True: "✓", False: "✗", None: "—"}[passed]


def status_zh(passed: bool | None) -> str:
    return {True: "达标", False: "未达标", None: "无阈值"}[passed]


def status_tone(passed: bool | None) -> str:
    """The CSS class (HTML) and colour name of a pass/fail result: good, bad or muted."""
    return {True: "good", False: "bad", None: "muted"}[passed]


def local_time(value: dt.datetime) -> dt.datetime:
    return value.astimezone(SHANGHAI) if value.tzinfo else value


def fmt_datetime(value: dt.datetime | None) -> str:
    return "" if value is None else local_time(value).strftime("%Y-%m-%d %H:%M")


UNASSIGNED_ZH = "未分配"


def is_unassigned(agent: AgentSummary) -> bool:
    """The row of conversations with a blank or missing agent id: reported, never ranked."""
    return agent.unassigned or not agent.agent_id.strip()


def agent_label(agent: AgentSummary) -> str:
    return UNASSIGNED_ZH if is_unassigned(agent) else agent.agent_id


def ranked_agents(report: AuditReport) -> list[AgentSummary]:
    """Agents best first: by rank when the audit set one, else by mean score and fewer findings.

    Unassigned conversations (blank agent id) are not an agent: see `unassigned_agents`."""
    agents = [a for a in report.agents if not is_unassigned(a)]
    if agents and all(a.rank > 0 for a in agents):
        return sorted(agents, key=lambda a: (a.rank, a.agent_id))
    return sorted(agents, key=lambda a: (-a.mean_score, a.findings, a.shop, a.agent_id))


def unassigned_agents(report: AuditReport) -> list[AgentSummary]:
    """Per shop, the conversations no agent id was recorded for (未分配), shown after the ranking."""
    return sorted((a for a in report.agents if is_unassigned(a)), key=lambda a: (a.shop, a.platform))


def day_range(report: AuditReport) -> str:
    if not report.days:
        return ""
    days = sorted(report.days)
    return days[0].isoformat() if days[0] == days[-1] else f"{days[0].isoformat()} 至 {days[-1].isoformat()}"


def totals(report: AuditReport) -> dict[str, float]:
    """Report-wide figures for the summary cards and sheets."""
    exposures = [s.exposure for s in report.shops if s.exposure is not None]
    metrics = [m for s in report.shops for m in s.metrics]
    findings = sum(report.findings_by_category.values()) or sum(report.findings_by_severity.values())
    scored = [(s.mean_score, s.conversations) for s in report.shops if s.conversations]
    weight = sum(n for _, n in scored)
    return {
        "findings": findings,
        "flagged": len(report.flagged),
        "mean_score": (sum(score * n for score, n in scored) / weight) if weight else 100.0,
        "metrics": len(metrics),
        "metrics_failed": sum(1 for m in metrics if m.passed is False),
        "fine_yuan": sum(e.fine_yuan for e in exposures),
        "buyer_compensation_yuan": sum(e.buyer_compensation_yuan for e in exposures),
        "shop_policy_yuan": sum(e.shop_policy_yuan for e in exposures),
        "deposit_at_risk_yuan": sum(e.deposit_at_risk_yuan for e in exposures),
        "points": sum(e.points for e in exposures),
        "buyer_abuse": sum(1 for c in report.flagged if c.buyer_abuse),
    }


# ------------------------------------------------------------------ sales KPIs (issue 15)
KPI_LEVEL_ZH = {"platform": "平台", "shop": "店铺", "agent": "客服"}
_KPI_LEVEL_ORDER = {"platform": 0, "shop": 1, "agent": 2}
WHOLE_PERIOD_ZH = "合计"


@dataclass(frozen=True)
class KpiColumn:
    """One KpiRow field as a report column; `kind` picks the format (count, pct, yuan, ratio, hours)."""

    field: str
    label: str
    kind: str

    def value(self, row: KpiRow) -> float | None:
        return getattr(row, self.field)

    def text(self, row: KpiRow) -> str:
        return fmt_kpi(self.kind, self.value(row))


KPI_COLUMNS = (
    KpiColumn("consulted", "询单人数", "count"),
    KpiColumn("converted", "转化人数", "count"),
    KpiColumn("after_sales_consulted", "售后咨询人数", "count"),
    KpiColumn("ordered", "下单人数", "count"),
    KpiColumn("paid", "付款人数", "count"),
    KpiColumn("conversion_rate", "询单转化率", "pct"),
    KpiColumn("fulfilment_rate", "落实率", "pct"),
    KpiColumn("orders", "订单数", "count"),
    KpiColumn("paid_orders", "付款订单数", "count"),
    KpiColumn("items", "件数", "count"),
    KpiColumn("sales", "销售额", "yuan"),
    KpiColumn("avg_order_value", "客单价", "yuan"),
    KpiColumn("items_per_order", "件/单", "ratio"),
    KpiColumn("silent_ordered", "静默下单", "count"),
    KpiColumn("silent_sales", "静默销售额", "yuan"),
    KpiColumn("refunds", "售后单数", "count"),
    KpiColumn("handling_hours", "售后处理时长", "hours"),
    KpiColumn("refund_hours", "退款完结时长", "hours"),
    KpiColumn("quality_refund_rate", "品质退款率", "pct"),
    KpiColumn("dispute_rate", "纠纷率", "pct"),
)
_KPI_BY_FIELD = {c.field: c for c in KPI_COLUMNS}

# The whole-period tables of shops and agents (agents never have silent orders: those are nobody's).
KPI_SHOP_FIELDS = (
    "consulted", "ordered", "paid", "conversion_rate", "fulfilment_rate", "sales", "avg_order_value",
    "items_per_order", "silent_ordered", "handling_hours", "refund_hours", "quality_refund_rate", "dispute_rate",
)
KPI_AGENT_FIELDS = tuple(f for f in KPI_SHOP_FIELDS if f != "silent_ordered")
KPI_DAILY_FIELDS = ("consulted", "converted", "conversion_rate", "ordered", "paid", "fulfilment_rate", "sales")


def kpi_columns(fields: tuple[str, ...]) -> list[KpiColumn]:
    return [_KPI_BY_FIELD[f] for f in fields]


def fmt_kpi(kind: str, value: float | None) -> str:
    """A KPI value as shown: rates (0–1) as percentages, money in yuan, durations in hours; None as —."""
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "yuan":
        return fmt_yuan(value)
    if kind == "hours":
        return f"{value:.1f}小时"
    if kind == "ratio":
        return f"{value:.2f}"
    return f"{value:,}"


def kpi_sort_key(row: KpiRow) -> tuple:
    """Platform, then its shops; within a shop its own row, then its agents; days in order, the total first."""
    return (row.platform, row.shop, _KPI_LEVEL_ORDER.get(row.level, 9), row.agent_id, row.day is not None,
            row.day or dt.date.min)


def kpi_rows(kpis: KpiReport, levels: tuple[str, ...], *, daily: bool) -> list[KpiRow]:
    """The rows of `levels`, either the daily ones or the whole-period totals, in `kpi_sort_key` order."""
    rows = [r for r in kpis.rows if r.level in levels and (r.day is not None) == daily]
    return sorted(rows, key=kpi_sort_key)


def kpi_name(row: KpiRow) -> str:
    """Who a row is about: the agent, the shop, or the platform."""
    if row.level == "agent":
        return row.agent_id
    if row.level == "shop":
        return row.shop
    return f"{platform_zh(row.platform)}（平台合计）"


def kpi_day(row: KpiRow) -> str:
    return row.day.isoformat() if row.day else WHOLE_PERIOD_ZH


def kpi_status(row: KpiRow) -> bool | None:
    """A row's verdict over its threshold results: False if any failed, True if all judged passed,
    None when nothing was judged (whole-period rows, platforms without a target)."""
    verdicts = [r.passed for r in row.results if r.passed is not None]
    if not verdicts:
        return None
    return all(verdicts)


def kpi_requirements(row: KpiRow) -> str:
    """'询单转化率 ≥ 50.0%' for each threshold judged on the row."""
    return "；".join(f"{m.title} {threshold_text(m)}" for m in row.results)


def kpi_profile_text(kpis: KpiReport) -> str:
    return f"{kpis.profile_title}（{kpis.profile}）" if kpis.profile_title else kpis.profile


KPI_IMPORT_ZH = {"orders": "订单", "refunds": "售后"}


def import_counts_text(summary: ImportSummary) -> str:
    return (f"读取 {summary.read:,} · 接受 {summary.accepted:,} · 重复 {summary.duplicates:,} · "
            f"拒绝 {summary.rejected:,}")


def kpi_imports(kpis: KpiReport) -> list[tuple[str, ImportSummary]]:
    """('订单', counts), ('售后', counts) in that order, for the exports that were given."""
    order = list(KPI_IMPORT_ZH)
    keys = sorted(kpis.imports, key=lambda k: (order.index(k) if k in order else len(order), k))
    return [(KPI_IMPORT_ZH.get(k, k), kpis.imports[k]) for k in keys]
