"""Audit results: what a chat-log audit produces, per conversation and aggregated.

Serialisable models shared by the audit pipeline, the report writers (terminal, JSON, HTML,
XLSX) and, later, the HTTP API and storage. Money is in yuan; exposure is an estimate.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from kefuguard.conversation.model import Message
from kefuguard.rules.model import Penalty, Severity


class ConversationFinding(BaseModel):
    """One problem in a conversation: a message rule broken, or a conversation-level check failed."""

    check_id: str = Field(description="rule id (message-level) or audit.* id (conversation-level)")
    kind: Literal["message", "conversation", "metric"]
    category: str = Field(description="Category code for message rules; audit category otherwise")
    severity: Severity
    title: str
    detail: str = ""
    message_index: int | None = Field(default=None, description="index into the conversation's messages")
    start: int | None = None
    end: int | None = None
    matched: str | None = None
    suggestion: str = ""
    penalty: Penalty | None = None
    pack: str | None = None
    refusal: bool = False


class ScopeSkip(BaseModel):
    """A conversation check that did not flag a turn because the platform's metrics leave it out."""

    check_id: str = Field(description="the audit.* check that skipped the turn")
    turn: int = Field(description="the buyer turn's number in the conversation (0 = first)")
    message_index: int | None = Field(default=None, description="the turn's first buyer message")
    reason: Literal["reported", "bot", "window"] = Field(
        description="reported: buyer reported/blocked; bot: bot-only turn the platform drops; window: outside the "
        "assessment hours"
    )


class ConversationResult(BaseModel):
    """The audit of one conversation."""

    conversation_id: str
    platform: str
    shop: str
    agent_id: str
    day: dt.date
    started_at: dt.datetime
    message_count: int
    buyer_messages: int
    agent_messages: int
    first_response_seconds: float | None = None
    response_seconds: list[float] = Field(default_factory=list, description="each buyer turn's wait, manual replies")
    findings: list[ConversationFinding] = Field(default_factory=list)
    score: float = 100.0
    buyer_abuse: bool = False
    tags: list[str] = Field(default_factory=list)
    skipped: list[ScopeSkip] = Field(
        default_factory=list, description="turns a check would have flagged but the platform's metrics exclude"
    )
    messages: list[Message] | None = Field(default=None, description="kept (masked) for flagged conversations")


class MetricResult(BaseModel):
    """One platform metric for one shop (and optionally agent) on one day, against its threshold."""

    metric: str
    title: str
    platform: str
    shop: str
    agent_id: str | None = None
    day: dt.date | None = None
    value: float | None
    threshold: float | None = None
    comparison: Literal[">", ">=", "<", "<=", "none"] = "none"
    passed: bool | None = None
    numerator: float | None = None
    denominator: float | None = None
    unit: str = "%"
    fine_yuan: float = 0.0
    note: str = ""


class AgentSummary(BaseModel):
    shop: str
    platform: str
    agent_id: str
    conversations: int = 0
    messages: int = 0
    findings: int = 0
    findings_by_severity: dict[str, int] = Field(default_factory=dict)
    findings_by_category: dict[str, int] = Field(default_factory=dict)
    mean_score: float = 100.0
    min_score: float = 100.0
    mean_first_response_seconds: float | None = None
    rank: int = Field(default=0, description="1 = best; 0 for the unassigned row (blank agent id), never ranked")
    unassigned: bool = Field(default=False, description="conversations with no agent id (未分配), not an agent")


ChargeBasis = Literal["platform_fine", "law_fine", "buyer_compensation", "shop_policy", "deposit_at_risk", "points"]
BASIS_ZH: dict[str, str] = {
    "platform_fine": "平台罚款",
    "law_fine": "广告法罚款",
    "buyer_compensation": "买家赔付",
    "shop_policy": "店铺内部规定扣款",
    "deposit_at_risk": "保证金风险",
    "points": "扣分",
}


class ExposureCharge(BaseModel):
    """One line of the exposure breakdown: which rule charged, on what basis, how often, how much.

    Each event is charged by one rule only (a late reply by `audit.reply_time`, an unanswered turn
    by `audit.missed_reply`, a day's missed platform rate by its metric), so the lines add up."""

    rule: str = Field(description="rule id, audit.* check id or metric id")
    title: str = ""
    basis: ChargeBasis
    events: int = Field(default=0, description="occurrences charged (shop-days for a daily platform fine)")
    yuan: float = Field(default=0.0, description="total yuan; for deposit_at_risk the largest single amount")
    points: float = 0.0
    penalty: str = Field(default="", description="the penalty in the seed's words")


class Exposure(BaseModel):
    """Penalties implied by the findings and metric misses: an estimate, not a platform decision."""

    shop: str
    platform: str
    fine_yuan: float = 0.0
    buyer_compensation_yuan: float = 0.0
    deposit_at_risk_yuan: float = 0.0
    points: float = 0.0
    shop_policy_yuan: float = Field(default=0.0, description="internal fines a seed quotes as shop policy, not platform")
    by_rule: dict[str, float] = Field(default_factory=dict, description="yuan per rule/metric id")
    charges: list[ExposureCharge] = Field(
        default_factory=list, description="the breakdown: one line per (rule, basis), largest first"
    )
    notes: list[str] = Field(default_factory=list)


class ShopSummary(BaseModel):
    shop: str
    platform: str
    conversations: int = 0
    messages: int = 0
    findings: int = 0
    mean_score: float = 100.0
    metrics: list[MetricResult] = Field(default_factory=list)
    exposure: Exposure | None = None


class ImportSummary(BaseModel):
    """Counts from the importers: read = accepted + duplicates + rejected, per file."""

    files: list[dict] = Field(default_factory=list)
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejects_path: str | None = None


class KpiRow(BaseModel):
    """KPIs of one agent / shop / platform on one day (day None: the whole period)."""

    level: str  # agent | shop | platform
    platform: str
    shop: str = ""
    agent_id: str = ""
    day: dt.date | None = None
    consulted: int = 0
    converted: int = 0
    after_sales_consulted: int = 0
    ordered: int = 0
    paid: int = 0
    silent_ordered: int = 0
    orders: int = 0
    paid_orders: int = 0
    items: int = 0
    sales: float = 0.0
    silent_sales: float = 0.0
    conversion_rate: float | None = None
    fulfilment_rate: float | None = None
    avg_order_value: float | None = None
    items_per_order: float | None = None
    refunds: int = 0
    handling_hours: float | None = None
    refund_hours: float | None = None
    quality_refund_rate: float | None = None
    dispute_rate: float | None = None
    results: list[MetricResult] = []


class KpiReport(BaseModel):
    """Every KPI row of one attribution profile, with the order/refund import counts behind them."""

    profile: str
    profile_title: str = ""
    rows: list[KpiRow]
    orders: int = 0
    silent_orders: int = 0
    refunds: int = 0
    unmatched_refunds: int = 0
    imports: dict[str, ImportSummary] = Field(
        default_factory=dict, description="'orders' / 'refunds' → read = accepted + duplicates + rejected, per file"
    )

    def row(self, level: str, platform: str, shop: str = "", agent_id: str = "",
            day: dt.date | None = None) -> KpiRow | None:
        for r in self.rows:
            if (r.level, r.platform, r.shop, r.agent_id, r.day) == (level, platform, shop, agent_id, day):
                return r
        return None


class AuditReport(BaseModel):
    """Everything the report writers need."""

    generated_at: dt.datetime
    title: str = "kefuguard 客服质检报告"
    packs: list[str] = Field(default_factory=list)
    imports: ImportSummary = Field(default_factory=ImportSummary)
    conversations: int = 0
    messages: int = 0
    days: list[dt.date] = Field(default_factory=list)
    shops: list[ShopSummary] = Field(default_factory=list)
    agents: list[AgentSummary] = Field(default_factory=list)
    findings_by_category: dict[str, int] = Field(default_factory=dict)
    findings_by_severity: dict[str, int] = Field(default_factory=dict)
    scope_skips: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="check id → reason (reported/bot/window) → turns not flagged because the metrics exclude them",
    )
    response_time_histogram: dict[str, int] = Field(
        default_factory=dict, description="bucket label (e.g. '0-30s', '30s-1m', …, '>10m', '未回复') → turns"
    )
    flagged: list[ConversationResult] = Field(
        default_factory=list, description="the worst conversations, with (masked) messages, for the reports"
    )
    daily_metrics: list[MetricResult] = Field(default_factory=list, description="per shop per day")
    all_findings: list[dict] = Field(
        default_factory=list, description="flat rows: shop, agent, conversation, time, rule, severity, text (masked)"
    )
    kpis: KpiReport | None = Field(
        default=None, description="sales/after-sales KPIs when order (and refund) exports were given (issue 15)"
    )
    disclaimer: str = "罚款与扣分为依据规则文本的估算，不代表平台的最终判定。"
