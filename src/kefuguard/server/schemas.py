"""Request and response models of the API (the OpenAPI schema at /openapi.json comes from these).

Responses on the hot path are built as plain dicts and sent as JSON directly; their models here
document the shape (and the tests hold the two together).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kefuguard.rules.model import platform_code

MAX_TEXT = 10000  # characters in one checked message
MAX_ID = 2**31 - 1  # shops, agents, runs, keys, webhooks: 32-bit ids on PostgreSQL
MAX_BIG_ID = 2**63 - 1  # conversations, messages, findings


def _platform(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return platform_code(value)
    except ValueError as exc:
        raise ValueError(f"未知平台 {value!r} / {exc}") from None


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(description="中文说明")
    message_en: str = Field(description="English message")
    field: str | None = Field(default=None, description="the field at fault, if any")
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    """Every error: {"error": {"code", "message", "message_en", "field"}}."""

    error: ErrorDetail


class CheckMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    id: str | None = Field(default=None, max_length=200, description="the caller's message id, echoed back")


class CheckRequest(BaseModel):
    """One message (`text`) or a batch (`messages`), on a platform and/or for a shop."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {"platform": "pinduoduo", "text": "亲，加我V❤信发你优惠券"},
            {"shop_id": 1, "messages": ["别去竞 品 店", {"id": "m2", "text": "打我电话 138 0013 8000"}]},
        ]},
    )

    platform: str | None = Field(default=None, description="douyin, pinduoduo, tmall, taobao, jd or kuaishou; "
                                 "optional with shop_id (the shop's platform), must agree with it if given")
    shop_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="apply this shop's settings "
                                "(the id of GET /v1/shops)")
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT, description="one message")
    messages: list[str | CheckMessage] | None = Field(
        default=None, min_length=1, description="a batch (at most 500 messages by default; 413 beyond)"
    )
    rewrite: bool = Field(default=True, description="also return a compliant rewrite of each message")
    semantic: bool = Field(default=False, description="also check the tone (语气检查: rude, cold, shirking … "
                           "replies no keyword catches); needs kefuguard[semantic] (503 without it)")
    agent_id: str | None = Field(default=None, max_length=200, description="who wrote it (for alerts); "
                                 "an agent key's own id is used for agent keys")
    conversation_id: str | None = Field(default=None, max_length=200, description="for alerts")
    draft: bool = Field(default=False, description="a reply still being typed (the pre-send checker, the browser "
                        "extension): checked as usual, never alerted — only sent or stored messages raise alerts")

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str | None) -> str | None:
        return _platform(value)

    @field_validator("messages")
    @classmethod
    def _texts(cls, value: list[str | CheckMessage] | None) -> list[str | CheckMessage] | None:
        for item in value or ():
            if isinstance(item, str) and not 1 <= len(item) <= MAX_TEXT:
                raise ValueError(f"每条消息须为 1–{MAX_TEXT} 个字符 / each message must be 1-{MAX_TEXT} characters")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> CheckRequest:
        if (self.text is None) == (self.messages is None):
            raise ValueError("须给出 text（一条消息）或 messages（批量）之一 / give either text (one message) "
                             "or messages (a batch)")
        if self.platform is None and self.shop_id is None:
            raise ValueError("须给出 platform 或 shop_id / give platform or shop_id")
        return self


class RewriteOut(BaseModel):
    text: str
    changed: bool
    complete: bool = Field(description="the rewrite breaks no rule")
    unfixed: list[str] = Field(description="rule ids the rewrite could not fix")


class ToneOut(BaseModel):
    rude: bool = Field(description="the tone is rude or unfriendly (at the model's calibrated threshold)")
    probability: float = Field(description="P(rude)")
    category: Literal["abuse", "interrogation", "argue", "cold", "shirk", "perfunctory"] | None = None
    category_zh: str | None = None
    threshold: float


class MessageOut(BaseModel):
    id: str | None = None
    text: str
    ok: bool
    worst: Literal["critical", "major", "minor", "info"] | None
    findings: list[dict[str, Any]] = Field(description="kefuguard.findings.Finding as JSON")
    rewrite: RewriteOut | None = None
    tone: ToneOut | None = Field(default=None, description="with semantic: true")


class CheckResponse(BaseModel):
    platform: str
    shop_id: int | None
    settings_version: int | None = Field(description="the shop settings version applied")
    id: str | None = None
    text: str | None = None
    ok: bool | None = None
    worst: str | None = None
    findings: list[dict[str, Any]] | None = None
    rewrite: RewriteOut | None = None
    tone: ToneOut | None = Field(default=None, description="with semantic: true")
    results: list[MessageOut] | None = Field(default=None, description="for a batch")


class Page(BaseModel):
    """A page of a list: `total` rows match, `items` are those from `offset`."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
    next_offset: int | None = None


class KpiResultOut(BaseModel):
    """A KPI of a daily row judged against its threshold (e.g. Pinduoduo's 询单转化率 ≥ 50% a day)."""

    metric: str = Field(examples=["conversion_rate"])
    title: str = Field(examples=["询单转化率"])
    value: float | None
    threshold: float | None = Field(description="rates as 0–1 fractions")
    comparison: Literal[">", ">=", "<", "<=", "none"]
    passed: bool | None = Field(description="null: nothing to judge (no consulted buyer that day)")
    numerator: float | None = None
    denominator: float | None = None
    note: str = Field(default="", description="the seed file and sentence the threshold comes from")


class KpiOut(BaseModel):
    """Sales and after-sales KPIs of one platform, shop or agent on one day, or over the run's whole period
    (docs/kpi.md defines each). Buyers are counted once per shop; rates are 0–1 fractions, null when the
    denominator is zero."""

    id: int
    run_id: int
    level: Literal["platform", "shop", "agent"]
    platform: str
    shop_id: int | None = Field(description="null on platform rows")
    shop: str | None
    agent_id: int | None = Field(description="GET /v1/agents id; only on agent rows")
    agent: str | None = Field(description="the agent as chat exports name them")
    day: dt.date | None = Field(description="Beijing day; null: the run's whole period")
    consulted: int = Field(description="询单人数: buyers in pre-sales consultations (after-sales ones left out)")
    converted: int = Field(description="consulted buyers with a paid order credited to the consultation")
    after_sales_consulted: int = Field(description="buyers whose consultation was about after-sales")
    ordered: int = Field(description="下单人数: buyers with an order (agent rows: credited to the agent)")
    paid: int = Field(description="付款人数: buyers with a paid order")
    silent_ordered: int = Field(description="静默下单: buyers who ordered without a crediting consultation")
    orders: int
    paid_orders: int
    items: int = Field(description="items in paid orders")
    refunds: int = Field(description="after-sales records of the row's orders")
    sales: float = Field(description="销售额: paid orders' amounts, yuan")
    silent_sales: float = Field(description="sales of silent orders, yuan")
    conversion_rate: float | None = Field(description="询单转化率 = converted / consulted")
    fulfilment_rate: float | None = Field(description="落实率 = paid / ordered")
    avg_order_value: float | None = Field(description="客单价 = sales / paid buyers, yuan")
    items_per_order: float | None = Field(description="items / paid orders (关联销售)")
    handling_hours: float | None = Field(description="售后处理时长: mean hours from request to finish")
    refund_hours: float | None = Field(description="退款完结时长: the same, completed refunds only")
    quality_refund_rate: float | None = Field(description="品质退款率: paid orders with a quality refund / paid orders")
    dispute_rate: float | None = Field(description="纠纷率: paid orders with a disputed refund / paid orders")
    passed: bool | None = Field(description="every threshold of the row passed; false: one failed; null: none judged "
                                "(thresholds judge daily shop and agent rows)")
    results: list[KpiResultOut]


class KpiPage(Page):
    """A page of KPI rows."""

    items: list[KpiOut]  # type: ignore[assignment]


class ShopSettingsOut(BaseModel):
    shop_id: int
    platform: str
    version: int
    updated_at: dt.datetime | None = None
    updated_by: str | None = None
    settings: dict[str, Any] = Field(description="ShopSettings as JSON (docs/shop-settings.md)")


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["admin", "supervisor", "agent"]
    agent_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="for agent keys: GET /v1/agents id")
    label: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _agent(self) -> KeyCreate:
        if self.role == "agent" and not self.agent_id:
            raise ValueError("agent 角色的密钥须指定 agent_id / an agent key needs agent_id")
        return self


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["wecom", "dingtalk", "feishu"]
    url: str = Field(min_length=8, max_length=2000)
    secret: str | None = Field(default=None, max_length=500)
    enabled: bool = True
    name: str = Field(default="", max_length=200)


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=8, max_length=2000)
    secret: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None
    name: str | None = Field(default=None, max_length=200)


class StoredAuditRequest(BaseModel):
    """Audit conversations already in storage (instead of uploading a file)."""

    model_config = ConfigDict(extra="forbid")

    shop_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    platform: str | None = None
    agent_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="conversations this agent took part in")
    day_from: dt.date | None = None
    day_to: dt.date | None = None
    conversation_ids: list[Annotated[int, Field(ge=1, le=MAX_BIG_ID)]] | None = Field(
        default=None, min_length=1, max_length=10000)

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str | None) -> str | None:
        return _platform(value)


AnswerValue = Annotated[str, Field(max_length=20)] | Annotated[list[Annotated[str, Field(max_length=4)]],
                                                              Field(max_length=8)] | None


class QuizAnswers(BaseModel):
    """The answers to a quiz handed out by GET /v1/quiz: by question id, or a list in quiz order.

    An answer is the option letters ("C", "AC", "A,C" or ["A", "C"]); 对/错 also works for true/false
    questions. A question left out (or null) counts as wrong."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"quiz_id": 1, "answers": {"exam-1": "C", "exam-2": "ABCD", "gen-1": "B"}}]},
    )

    quiz_id: int = Field(ge=1, le=MAX_ID, description="the quiz_id of GET /v1/quiz")
    answers: dict[Annotated[str, Field(max_length=50)], AnswerValue] | list[AnswerValue] = Field(
        description="question id → answer, or the answers in quiz order")

    @field_validator("answers")
    @classmethod
    def _not_too_many(cls, value: Any) -> Any:
        if len(value) > 200:
            raise ValueError("答案最多 200 个 / at most 200 answers")
        return value
