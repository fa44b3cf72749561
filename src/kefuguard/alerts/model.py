"""Alert data: what happened (`AlertEvent`), where it goes (`Webhook`), what became of it (`Delivery`).

Plain pydantic models so the server, storage (alert_webhooks / alert_deliveries) and the tests all
speak the same JSON. Secrets stay out of every repr and every dump: `Webhook.url` (it carries the
robot's key or access token) and `Webhook.secret` are excluded from repr, the secret is a
`SecretStr` (dumped as '**********'; storage reads it with `get_secret_value()`), and a delivery
only ever records `redact_url(url)`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class AlertKind(StrEnum):
    critical_finding = "critical_finding"
    metric_below_threshold = "metric_below_threshold"


class RobotKind(StrEnum):
    """The group-chat robot a webhook posts to (custom robots of each app)."""

    wecom = "wecom"  # 企业微信 群机器人
    dingtalk = "dingtalk"  # 钉钉 自定义机器人
    feishu = "feishu"  # 飞书 / Lark 自定义机器人


ROBOT_NAMES_ZH = {RobotKind.wecom: "企业微信", RobotKind.dingtalk: "钉钉", RobotKind.feishu: "飞书"}


class DeliveryStatus(StrEnum):
    sent = "sent"
    failed = "failed"  # gave up: a permanent error, or retries exhausted, or cancelled at shutdown
    deduplicated = "deduplicated"  # the same dedupe key reached this webhook within the window
    rate_limited = "rate_limited"  # the webhook's own per-minute budget was spent; not sent


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AlertRule(BaseModel):
    """One broken rule inside a critical-finding alert. `matched` is masked."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    title: str
    severity: str
    category: str = ""
    matched: str = ""
    refusal: bool = False


class MetricInfo(BaseModel):
    """A metric's value against its platform threshold (rates as 0–1 fractions when unit is '%')."""

    model_config = ConfigDict(frozen=True)

    value: float | None
    threshold: float | None
    comparison: Literal[">", ">=", "<", "<=", "none"] = "none"
    unit: str = "%"
    numerator: float | None = None
    denominator: float | None = None
    day: dt.date | None = None


class AlertEvent(BaseModel):
    """Something a supervisor must hear about now.

    `subject` is the rule id (critical_finding; the first of `rules`) or the metric id.
    `excerpt` must already be masked (`events_from_check` does it; the renderer masks again).
    Events with the same `dedupe_key` reaching the same webhook within the dedupe window (the
    dispatcher's, or `dedupe_window_s` when set) are sent once.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    kind: AlertKind
    tenant: str
    shop: str
    platform: str
    agent: str | None = None
    subject: str
    title: str
    severity: str = "critical"
    occurred_at: dt.datetime = Field(default_factory=_now)
    excerpt: str | None = None
    rules: list[AlertRule] = Field(default_factory=list)
    metric: MetricInfo | None = None
    conversation_id: str | None = None
    message_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    dedupe_key: str
    dedupe_window_s: float | None = Field(default=None, ge=0)


class Webhook(BaseModel):
    """One robot a tenant's alerts go to.

    url: the robot's full webhook address as its app shows it — 企业微信
        `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`, 钉钉
        `https://oapi.dingtalk.com/robot/send?access_token=TOKEN`, 飞书
        `https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN` (Lark: open.larksuite.com). It is a
        credential: excluded from repr, redacted in deliveries and logs.
    secret: the 加签 / 签名校验 secret (钉钉 SEC…, 飞书); ignored for 企业微信, which has none.
    style: "rich" = markdown (企业微信, 钉钉) or an interactive card (飞书); "text" = plain text.
    rate_limit_per_minute: this robot's budget (default: the dispatcher's, 20 — the documented
        limit of 企业微信 and 钉钉 robots; 飞书 allows 100/min, 5/s).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str
    kind: RobotKind
    url: str = Field(repr=False)
    secret: SecretStr | None = Field(default=None, repr=False)
    enabled: bool = True
    name: str = ""
    style: Literal["rich", "text"] = "rich"
    rate_limit_per_minute: int | None = Field(default=None, ge=1)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("webhook url must be an absolute http(s) URL")
        return value.strip()

    @field_validator("secret")
    @classmethod
    def _blank_secret(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None or not value.get_secret_value().strip() else value

    @property
    def secret_value(self) -> str | None:
        return None if self.secret is None else self.secret.get_secret_value().strip()

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)


class Delivery(BaseModel):
    """What became of one event at one webhook; every one is handed to `DeliveryLog.record`.

    payload: the JSON body last sent (None when nothing was sent), with a 飞书 `sign` redacted.
    """

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    webhook_id: str
    tenant: str
    robot: RobotKind
    url: str = Field(description="the webhook address with its key/token redacted")
    event_id: str
    event_kind: AlertKind
    dedupe_key: str
    subject: str
    shop: str
    status: DeliveryStatus
    attempts: int = 0
    last_error: str | None = None
    http_status: int | None = None
    payload: dict[str, Any] | None = None
    created_at: dt.datetime
    finished_at: dt.datetime


_SECRET_PARAMS = frozenset({"key", "access_token", "token", "sign", "secret", "timestamp"})
_HOOK_TOKEN = re.compile(r"(/hook/)[^/?#]+")


def redact_url(url: str) -> str:
    """The address without its credentials: key/access_token/sign query values and a 飞书 hook
    token become '***'. Safe to log and store."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    query = urlencode(
        [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        safe="*",
    )
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    path = _HOOK_TOKEN.sub(r"\1***", parts.path)
    return urlunsplit((parts.scheme, netloc, path, query, ""))
