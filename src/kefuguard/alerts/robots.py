"""The three group-chat robots: message bodies, signatures, and what their answers mean.

Formats as each vendor documents its custom robot (written from those documents; no SDK):

企业微信 群机器人 (developer.work.weixin.qq.com, "群机器人配置说明")
    POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY, JSON body
    {"msgtype": "markdown", "markdown": {"content": "..."}}  (content ≤ 4096 bytes UTF-8), or
    {"msgtype": "text", "text": {"content": "..."}}  (≤ 2048 bytes). No signature: the key in the
    URL is the credential. Answer {"errcode": 0, "errmsg": "ok"}; errcode 45009 = frequency
    limit (each robot may send 20 messages a minute); -1 = system busy.

钉钉 自定义机器人 (open.dingtalk.com, "自定义机器人发送群消息" / "自定义机器人安全设置")
    POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN, JSON body
    {"msgtype": "markdown", "markdown": {"title": "...", "text": "..."}} or
    {"msgtype": "text", "text": {"content": "..."}}. With 加签 the URL gets
    &timestamp=<epoch ms>&sign=<urlencode(base64(HmacSHA256(key=secret, msg=f"{timestamp}\\n{secret}")))>
    (timestamp within one hour of DingTalk's clock). Answer {"errcode": 0, "errmsg": "ok"};
    20 messages a minute per robot (beyond that it is throttled for 10 minutes), errcode 130101 =
    sending too fast; -1 = system busy; 310000 = security check failed (keyword/sign/IP: permanent).

飞书 自定义机器人 (open.feishu.cn, "自定义机器人使用指南")
    POST https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN, JSON body
    {"msg_type": "text", "content": {"text": "..."}} or {"msg_type": "interactive", "card": {...}}
    (message card JSON: header title + lark_md div). With 签名校验 the body also carries
    "timestamp": "<epoch seconds>" and "sign": base64(HmacSHA256(key=f"{timestamp}\\n{secret}", msg=b""))
    (note: the string is the HMAC *key* and the message is empty; timestamp within one hour).
    Answer {"code": 0, "msg": "success", "data": {}} (older robots: {"StatusCode": 0, ...});
    19021 = bad signature or stale timestamp, 19024 = keyword check failed (permanent). The
    frequency limit is 100 a minute and 5 a second per robot; its over-limit answer is taken to be
    code 11232 or 9499 (or HTTP 429), which are retried — an assumption, documented here.

Messages are Chinese, one line per fact: shop (platform), agent, rule id and name with severity,
the masked message excerpt, time (Asia/Shanghai); for metrics the metric, its value against the
threshold. Text typed by people (shop, agent, excerpt) is defanged for markdown (`* _ [ ] < > …`
become their full-width forms) so a masked 138****5678 does not turn bold and a buyer cannot
inject links or <font>/<at> tags into a supervisor's group.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from kefuguard.alerts.model import AlertEvent, AlertKind, RobotKind, Webhook
from kefuguard.masking import mask_text
from kefuguard.rules.model import PLATFORM_NAMES_ZH, SEVERITY_ZH

SHANGHAI = ZoneInfo("Asia/Shanghai")

WECOM_MARKDOWN_MAX_BYTES = 4096
WECOM_TEXT_MAX_BYTES = 2048
DINGTALK_MAX_BYTES = 18000  # the documented ceiling is 20000 bytes for the whole message
FEISHU_MAX_BYTES = 18000  # request body ≤ 20 KB
EXCERPT_MAX_CHARS = 200

# Robot answers that mean "slow down / busy, try again later".
WECOM_RETRY_CODES = frozenset({45009, -1})
DINGTALK_RETRY_CODES = frozenset({130101, -1})
FEISHU_RETRY_CODES = frozenset({11232, 9499})

_MD_DEFANG = str.maketrans(
    {"*": "＊", "_": "＿", "`": "｀", "[": "［", "]": "］", "<": "＜", ">": "＞", "~": "～", "#": "＃", "|": "｜"}
)
_COMPARISON_ZH = {">": ">", ">=": "≥", "<": "<", "<=": "≤"}
_TITLES = {AlertKind.critical_finding: "严重违规", AlertKind.metric_below_threshold: "指标未达标"}


# --------------------------------------------------------------------------------------------------
# Signatures


def dingtalk_sign(secret: str, timestamp_ms: int | str) -> str:
    """base64(HmacSHA256(key=secret, msg=f"{timestamp}\\n{secret}")) — not yet URL-encoded."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()).decode("ascii")


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The robot URL with &timestamp=…&sign=… appended (sign URL-encoded, as DingTalk requires)."""
    query = urlencode({"timestamp": str(timestamp_ms), "sign": dingtalk_sign(secret, timestamp_ms)})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def feishu_sign(secret: str, timestamp_s: int | str) -> str:
    """base64(HmacSHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


# --------------------------------------------------------------------------------------------------
# Rendering


def defang(text: str) -> str:
    """Markdown-inert text: one line, markup characters in their full-width forms."""
    return " ".join(text.split()).translate(_MD_DEFANG)


def _plain(text: str) -> str:
    return " ".join(text.split())


def _excerpt(text: str) -> str:
    text = _plain(mask_text(text))
    return text if len(text) <= EXCERPT_MAX_CHARS else text[: EXCERPT_MAX_CHARS - 1] + "…"


def _number(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def format_metric_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:.1f}%" if -1.0 <= value <= 1.0 else f"{value:.1f}%"
    if unit in ("s", "秒", "seconds"):
        return f"{_number(value)}秒"
    return f"{_number(value)}{unit}"


def _local_time(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class Rendered:
    """An alert as a title and (label, value, user_text) lines; each robot lays them out."""

    title: str
    lines: tuple[tuple[str, str, bool], ...]

    def text(self) -> str:
        return "\n".join([self.title, *(f"{label}：{_plain(value)}" for label, value, _ in self.lines)])

    def markdown(self, sep: str = "\n", heading: str = "### ") -> str:
        out = [f"{heading}{self.title}"]
        for label, value, user in self.lines:
            out.append(f"> **{label}**：{defang(value) if user else value}")
        return sep.join(out)


def render(event: AlertEvent) -> Rendered:
    """The Chinese message for an event (PII masked again here, defensively)."""
    platform = PLATFORM_NAMES_ZH.get(event.platform, event.platform)
    title = f"【客服质检告警】{_TITLES[event.kind]}"
    lines: list[tuple[str, str, bool]] = [("店铺", f"{event.shop}（{platform}）", True)]
    if event.agent or event.kind is AlertKind.critical_finding:  # a shop-level metric has no agent
        lines.append(("客服", event.agent or "未分配", True))
    if event.kind is AlertKind.critical_finding:
        rules = event.rules or []
        if rules:
            for r in rules:
                lines.append(("规则", f"{r.rule_id} {r.title}（{SEVERITY_ZH.get(r.severity, r.severity)}）", False))
        else:
            lines.append(("规则", f"{event.subject} {event.title}", False))
        if event.excerpt:
            lines.append(("消息", _excerpt(event.excerpt), True))
    else:
        m = event.metric
        lines.append(("指标", f"{event.subject} {event.title}", False))
        lines.append(("等级", SEVERITY_ZH.get(event.severity, event.severity), False))
        if m is not None:
            required = (
                f"（要求 {_COMPARISON_ZH[m.comparison]} {format_metric_value(m.threshold, m.unit)}）"
                if m.comparison != "none" and m.threshold is not None
                else ""
            )
            lines.append(("当前值", f"{format_metric_value(m.value, m.unit)}{required}", False))
            if m.denominator:
                num = _number(m.numerator) if m.numerator is not None else "—"
                lines.append(("统计", f"{num} / {_number(m.denominator)}", False))
            if m.day is not None:
                lines.append(("日期", m.day.isoformat(), False))
    if event.conversation_id:
        lines.append(("会话", event.conversation_id, True))
    lines.append(("时间", _local_time(event.occurred_at), False))
    return Rendered(title=title, lines=tuple(lines))


def _fit(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode("utf-8", errors="ignore") + "…"


# --------------------------------------------------------------------------------------------------
# Requests


def build_body(webhook: Webhook, event: AlertEvent) -> dict[str, Any]:
    """The JSON body for this robot, before any signature."""
    r = render(event)
    rich = webhook.style == "rich"
    if webhook.kind is RobotKind.wecom:
        if rich:
            return {"msgtype": "markdown", "markdown": {"content": _fit(r.markdown(), WECOM_MARKDOWN_MAX_BYTES)}}
        return {"msgtype": "text", "text": {"content": _fit(r.text(), WECOM_TEXT_MAX_BYTES)}}
    if webhook.kind is RobotKind.dingtalk:
        if rich:
            # DingTalk's markdown needs a blank line to break a line; the title is the notification text.
            text = _fit(r.markdown(sep="\n\n", heading="#### "), DINGTALK_MAX_BYTES)
            return {"msgtype": "markdown", "markdown": {"title": r.title, "text": text}}
        return {"msgtype": "text", "text": {"content": _fit(r.text(), DINGTALK_MAX_BYTES)}}
    # feishu
    if rich:
        body_md = "\n".join(
            f"**{label}**：{defang(value) if user else value}" for label, value, user in r.lines
        )
        return {
            "msg_type": "interactive",
            "card": {
                "config": {"wide_screen_mode": True},
                "header": {
                    "template": "red" if event.kind is AlertKind.critical_finding else "orange",
                    "title": {"tag": "plain_text", "content": r.title},
                },
                "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": _fit(body_md, FEISHU_MAX_BYTES)}}],
            },
        }
    return {"msg_type": "text", "content": {"text": _fit(r.text(), FEISHU_MAX_BYTES)}}


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    url: str  # may carry the key and a signature: never log it
    body: dict[str, Any]

    def content(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def loggable_body(self) -> dict[str, Any]:
        """The body as recorded in a delivery: a 飞书 signature replaced by '***'."""
        return {k: ("***" if k == "sign" else v) for k, v in self.body.items()}


def prepare(webhook: Webhook, event: AlertEvent, body: dict[str, Any], now_s: float) -> PreparedRequest:
    """URL and body of one attempt, signed at `now_s` (epoch seconds) when the robot has a secret."""
    secret = webhook.secret_value
    if webhook.kind is RobotKind.dingtalk and secret:
        return PreparedRequest(dingtalk_signed_url(webhook.url, secret, int(now_s * 1000)), body)
    if webhook.kind is RobotKind.feishu and secret:
        ts = str(int(now_s))
        return PreparedRequest(webhook.url, {"timestamp": ts, "sign": feishu_sign(secret, ts), **body})
    return PreparedRequest(webhook.url, body)


# --------------------------------------------------------------------------------------------------
# Answers


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    retry: bool = False
    error: str | None = None
    retry_after: float | None = None


def _retry_after(headers: Any) -> float | None:
    raw = headers.get("retry-after") if headers is not None else None
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff


def interpret(kind: RobotKind, status_code: int, content: bytes, headers: Any = None) -> Outcome:
    """Did the robot take the message? Retry on 5xx, 429 and the robots' busy/frequency codes."""
    if status_code == 429:
        return Outcome(False, True, "HTTP 429", _retry_after(headers))
    if status_code >= 500:
        return Outcome(False, True, f"HTTP {status_code}", _retry_after(headers))
    if not 200 <= status_code < 300:
        return Outcome(False, False, f"HTTP {status_code}: {_snippet(content)}")
    try:
        answer = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Outcome(False, False, f"HTTP {status_code}, not JSON: {_snippet(content)}")
    if not isinstance(answer, dict):
        return Outcome(False, False, f"unexpected answer: {_snippet(content)}")
    if kind is RobotKind.feishu:
        code = answer.get("code", answer.get("StatusCode"))
        message = answer.get("msg", answer.get("StatusMessage", ""))
        retry_codes = FEISHU_RETRY_CODES
    else:
        code = answer.get("errcode")
        message = answer.get("errmsg", "")
        retry_codes = WECOM_RETRY_CODES if kind is RobotKind.wecom else DINGTALK_RETRY_CODES
    if code == 0:
        return Outcome(True)
    if code is None:
        return Outcome(False, False, f"no result code in answer: {_snippet(content)}")
    return Outcome(False, code in retry_codes, f"code {code}: {_snippet(str(message).encode())}")


def _snippet(content: bytes, limit: int = 200) -> str:
    text = content.decode("utf-8", errors="replace").strip()
    return text if len(text) <= limit else text[:limit] + "…"
