"""Thresholds and word lists of the conversation-level audit, as one overridable pydantic model.

The seeds give the numbers (5 characters, 10–20 minutes, 30 minutes, 110%–140% …), but every shop
and outsourcing team tunes them, so nothing in `checks.py` is a literal: it all lives here, with the
seed's value as the default. Load overrides from a dict or YAML text (`AuditConfig.from_mapping`,
`AuditConfig.from_yaml`); reading files is the caller's job (I/O lives in `kefuguard.io`).

Per check, the same knobs can be written under the check's id — switch it off, re-grade it, change
its points, platforms or any threshold its unit reads (`kefuguard.conversation.units`, `fields`)::

    checks:
      audit.curt_reply: {enabled: false}
      audit.reply_time: {severity: major, slow_reply_flag_seconds: {jd: 120}}
      audit.answer_ratio: {answer_ratio_min: 1.0, deduction: 2}

and per shop, any of these overrides on top of the rest (`shops: {<shop>: {...}}`);
`audit_conversation` applies a conversation's shop's overrides itself (`AuditConfig.for_shop`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from kefuguard.rules.model import PLATFORMS, Severity


def _clock(value: Any) -> Any:
    """Accept '8:00' as well as '08:00' (people write both in YAML)."""
    if isinstance(value, str) and re.fullmatch(r"\d:\d\d(:\d\d)?", value.strip()):
        return "0" + value.strip()
    return value


class AuditConfig(BaseModel):
    """Every knob of `audit_conversation`; defaults follow the seeds (see audit_checks.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- courtesy (003: 全程对话,开头、结尾必须用敬语; 004: 十字用语)
    greeting_words: tuple[str, ...] = (
        "您好", "你好", "亲", "欢迎", "在的", "在呢", "很高兴为您服务", "有什么可以帮", "请问有什么",
        "早上好", "上午好", "中午好", "下午好", "晚上好", "哈喽", "hello",
    )
    closing_words: tuple[str, ...] = (
        "再见", "感谢", "谢谢", "祝您", "欢迎下次", "欢迎再次", "期待您", "有问题随时", "随时联系",
        "随时找", "不客气", "购物愉快", "生活愉快", "还有其他需要", "还有什么需要", "不打扰您", "再会",
    )
    greeting_scope: int = Field(default=2, ge=1, description="first N manual agent messages searched for a greeting")
    closing_scope: int = Field(default=2, ge=1, description="last N manual agent messages searched for a closing")

    # --- curt replies (003: 禁止使用少于5个字的短词语或者使用语气词…)
    curt_min_chars: int = Field(
        default=5, ge=1, description="a manual reply with fewer counted characters (punctuation/emoji not counted) is curt"
    )
    curt_words: tuple[str, ...] = (
        "哦", "噢", "喔", "嗯", "恩", "啊", "额", "呃", "嗯啊", "不是", "不知道", "不清楚", "不晓得", "不懂",
        "不了解", "随便", "无所谓",
    )
    curt_particles: tuple[str, ...] = ("啊", "呀", "哦", "呢", "的", "了", "哈", "亲", "吧", "诶")
    curt_exempt_words: tuple[str, ...] = Field(
        default=(
            "您", "请", "谢谢", "感谢", "再见", "不客气", "抱歉", "对不起", "不好意思", "在的", "在呢", "你好", "哈喽",
        ),
        description="short replies carrying a courtesy word are not curt (谢谢您, 请稍等)",
    )

    # --- 答问比 (000: 答问比至少保证在110%-140%之间 … 字数最好不要低于客户)
    answer_ratio_min: float = Field(default=1.10, gt=0)
    answer_ratio_max: float = Field(default=1.40, gt=0)
    flag_high_answer_ratio: bool = Field(
        default=False, description="the seed says 至少 (at least): a ratio above the range is not flagged unless set"
    )
    answer_ratio_unit: Literal["clause", "message"] = Field(
        default="clause",
        description="what one 句 is: a clause between punctuation (，。！？~) or a whole chat message",
    )
    answer_ratio_min_buyer_messages: int = Field(default=3, ge=1, description="judge the ratio only from this many")

    # --- quick replies (000: 最好不要出现超过3-5个快捷回复)
    max_quick_replies: int = Field(default=5, ge=0)

    # --- follow-up (003: 应在10-20分钟内再次询问买家需求)
    follow_up_window_minutes: tuple[float, float] = (10.0, 20.0)
    follow_up_min_gap_seconds: float = Field(
        default=60.0, ge=0, description="an agent message this soon after the answer continues it, it is no re-ask"
    )

    # --- night contact (001: 多次在深夜、凌晨等不适宜交流的时间段内联系用户)
    night_start: dt.time = dt.time(22, 0)
    night_end: dt.time = dt.time(8, 0)
    agent_initiated_gap_minutes: float = Field(
        default=30.0, ge=0, description="an agent message with no buyer message this long before is agent-initiated"
    )

    # --- repeated identical agent messages
    repeated_message_threshold: int = Field(default=3, ge=2)

    # --- order confirmation (003: 买家下单后,十分钟内不核对订单信息)
    order_confirm_minutes: float = Field(default=10.0, gt=0)
    order_confirm_words: tuple[str, ...] = (
        "订单", "核对", "确认", "地址", "收货", "收件", "规格", "信息无误", "已拍下", "拍下",
    )

    # --- refunds (003: 应在30分钟内解决买家退款(退款包括:拍错、重拍、不想买了))
    refund_handling_minutes: float = Field(default=30.0, gt=0)
    refund_intent_words: tuple[str, ...] = ("拍错", "重拍", "不想买了", "不想要了", "退款")
    refund_handled_words: tuple[str, ...] = (
        "退款", "已退", "退回", "处理", "申请", "同意", "审核", "取消订单", "帮您取消", "重新拍", "重拍",
    )
    refund_export_reasons: tuple[str, ...] = Field(
        default=("拍错", "多拍", "拍多", "重拍", "不想买了", "不想要了"),
        description="with a refund export: the reasons the 30-minute rule covers (a record without a reason counts too)",
    )

    # --- reply time: each platform's standard, and when a single turn is flagged
    reply_limit_seconds: dict[str, float] = Field(
        default_factory=lambda: {
            "douyin": 180.0, "pinduoduo": 180.0, "kuaishou": 180.0, "tmall": 300.0, "taobao": 300.0, "jd": 30.0,
        }
    )
    slow_reply_flag_seconds: dict[str, float] = Field(
        default_factory=lambda: {"jd": 180.0},
        description="per-turn flag threshold where it differs from the platform standard (JD's 30 s is a rate)",
    )
    assessment_hours: tuple[dt.time, dt.time] | None = Field(
        default=None,
        description="slow replies are judged only for turns started in these hours (end exclusive); None: the "
        "platform's metric windows decide, like every other turn check (Tmall/Taobao's reception rule has none)",
    )
    acknowledgement_words: tuple[str, ...] = Field(
        default=(
            "好的", "好滴", "谢谢", "感谢", "知道了", "明白了", "收到", "行", "ok", "嗯嗯", "哦哦", "好", "可以",
            "拍了", "考虑", "辛苦", "麻烦了", "👌", "没问题",
        ),
        description="a short buyer turn of only these needs no answer (not 漏回复, no follow-up owed)",
    )
    acknowledgement_max_chars: int = Field(default=12, ge=1)

    # --- off topic and buyer abuse (word lists default to audit_checks.yaml)
    topics: dict[str, tuple[str, ...]] | None = Field(
        default=None, description="topic → keywords for the 答非所问 heuristic; None = audit_checks.yaml"
    )
    topic_groups: dict[str, tuple[str, ...]] | None = Field(
        default=None, description="group → related topics that answer each other; None = audit_checks.yaml"
    )
    check_buyer_messages: bool = True
    buyer_abuse_categories: tuple[str, ...] = ("abuse",)
    buyer_abuse_exclude_rules: tuple[str, ...] = Field(
        default=("conduct.abuse.threat",), description="a buyer saying 我要投诉你 is not abuse"
    )
    buyer_abuse_words: tuple[str, ...] | None = Field(default=None, description="None = audit_checks.yaml")

    # --- semantic checks (audit.tone, audit.off_topic_semantic): off unless switched on; need kefuguard[semantic]
    semantic_checks: bool = Field(
        default=False,
        description="run the sentence-embedding checks audit.tone and audit.off_topic_semantic (needs the semantic "
        "extra: pip install 'kefuguard[semantic]'; about 1-2 ms per agent reply)",
    )
    tone_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="P(rude) at or above which audit.tone flags a reply; None = the shipped model's calibrated threshold",
    )
    off_topic_threshold: float | None = Field(
        default=None, ge=-1.0, le=1.0,
        description="relevance below which audit.off_topic_semantic flags a turn; None = the shipped calibration",
    )

    # --- scoring
    severity_deductions: dict[Severity, float] = Field(
        default_factory=lambda: {Severity.critical: 20.0, Severity.major: 10.0, Severity.minor: 5.0, Severity.info: 1.0}
    )
    check_severities: dict[str, Severity] = Field(
        default_factory=dict, description="audit.* id → severity, replacing audit_checks.yaml's"
    )
    check_deductions: dict[str, float] = Field(
        default_factory=lambda: {"audit.buyer_abuse": 0.0},
        description="audit.* id → points per finding, replacing the severity's (buyer abuse costs the agent nothing)",
    )
    disabled_checks: frozenset[str] = frozenset()
    check_platforms: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="audit.* id → platforms it runs on, replacing audit_checks.yaml's (order_confirm: tmall, taobao)",
    )
    score_floor: float = 0.0

    mask_pii: bool = Field(default=True, description="reports mask buyer phone/ID/card numbers (applied by kefuguard.io)")

    # --- per shop: overrides of the fields above (the `checks:` section included) for one shop's chats
    shops: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="shop → overrides applied to that shop's conversations (for_shop)"
    )
    _per_shop: dict[str, AuditConfig] = PrivateAttr(default_factory=dict)

    # ------------------------------------------------------------ per-check section
    @model_validator(mode="before")
    @classmethod
    def _fold_checks(cls, data: Any) -> Any:
        """`checks: {<id>: {enabled, severity, deduction, platforms, <threshold>: …}}` → the flat fields."""
        if not isinstance(data, Mapping) or "checks" not in data:
            return data
        data = dict(data)
        section = data.pop("checks") or {}
        if not isinstance(section, Mapping):
            raise ValueError("checks: expected a mapping of conversation check id → settings")
        from kefuguard.conversation.units import REGISTRY  # late: the units import this module

        disabled = set(data.get("disabled_checks") or ())
        tables = {name: dict(data.get(name) or {}) for name in ("check_severities", "check_deductions",
                                                                "check_platforms")}
        if "check_deductions" not in data:
            tables["check_deductions"] = dict(cls.model_fields["check_deductions"].default_factory())
        thresholds: dict[str, tuple[str, Any]] = {}
        for cid, settings in section.items():
            unit = REGISTRY.get(cid)
            if unit is None:
                raise ValueError(f"checks: unknown conversation check {cid!r}")
            if not isinstance(settings, Mapping):
                raise ValueError(f"checks[{cid}]: expected a mapping")
            for key, value in settings.items():
                if key == "enabled":
                    if not isinstance(value, bool):
                        raise ValueError(f"checks[{cid}].enabled: expected true or false")
                    (disabled.discard if value else disabled.add)(cid)
                elif key in ("severity", "deduction", "platforms"):
                    table = {"severity": "check_severities", "deduction": "check_deductions",
                             "platforms": "check_platforms"}[key]
                    tables[table][cid] = value
                elif key in unit.fields:
                    seen = thresholds.get(key)
                    if seen is not None and seen[1] != value:
                        raise ValueError(f"checks[{cid}].{key}: {seen[0]} sets it to {seen[1]!r} (one value per field)")
                    thresholds[key] = (cid, value)
                else:
                    allowed = ", ".join(("enabled", "severity", "deduction", "platforms", *unit.fields))
                    raise ValueError(f"checks[{cid}]: unknown setting {key!r}; expected one of {allowed}")
        for key, (cid, value) in thresholds.items():
            if key in data and data[key] != value:
                raise ValueError(f"checks[{cid}].{key} contradicts the top-level {key}")
            data[key] = value
        data["disabled_checks"] = frozenset(disabled)
        data.update({name: table for name, table in tables.items() if table or name in data})
        return data

    # ------------------------------------------------------------ validation
    @field_validator("night_start", "night_end", mode="before")
    @classmethod
    def _clock_fields(cls, value: Any) -> Any:
        return _clock(value)

    @field_validator("assessment_hours", mode="before")
    @classmethod
    def _clock_pair(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(_clock(v) for v in value)
        return value

    @field_validator("reply_limit_seconds", "slow_reply_flag_seconds")
    @classmethod
    def _platform_keys(cls, value: dict[str, float]) -> dict[str, float]:
        for key, seconds in value.items():
            if key not in PLATFORMS:
                raise ValueError(f"unknown platform {key!r}; expected one of {', '.join(PLATFORMS)}")
            if seconds <= 0:
                raise ValueError(f"{key}: seconds must be positive")
        return value

    @field_validator("check_platforms")
    @classmethod
    def _platforms(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for cid, platforms in value.items():
            for p in platforms:
                if p != "all" and p not in PLATFORMS:
                    raise ValueError(f"check_platforms[{cid}]: unknown platform {p!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AuditConfig:
        if self.answer_ratio_min > self.answer_ratio_max:
            raise ValueError("answer_ratio_min must not exceed answer_ratio_max")
        lo, hi = self.follow_up_window_minutes
        if not 0 <= lo <= hi:
            raise ValueError("follow_up_window_minutes must be (start, end) with 0 <= start <= end")
        if self.semantic_checks:
            from kefuguard.semantic.embeddings import INSTALL_HINT, available

            if not available():
                raise ValueError(f"semantic_checks needs the optional sentence encoder: {INSTALL_HINT}")
        missing = set(Severity) - set(self.severity_deductions)
        if missing:
            raise ValueError(f"severity_deductions lacks {', '.join(sorted(missing))}")
        from kefuguard.conversation.check_data import AUDIT_CHECK_IDS

        for name in ("check_severities", "check_deductions", "check_platforms"):
            for cid in getattr(self, name):
                if cid not in AUDIT_CHECK_IDS:
                    raise ValueError(f"{name}: unknown conversation check {cid!r}")
        for cid in self.disabled_checks:
            if cid not in AUDIT_CHECK_IDS:
                raise ValueError(f"disabled_checks: unknown conversation check {cid!r}")
        for shop, overrides in self.shops.items():
            if not isinstance(overrides, Mapping):
                raise ValueError(f"shops[{shop}]: expected a mapping of overrides")
            for key in ("shops", "mask_pii"):
                if key in overrides:
                    raise ValueError(f"shops[{shop}]: {key} cannot be set per shop")
            merged = {**self.model_dump(exclude_unset=True, exclude={"shops"}), **overrides}
            try:
                self._per_shop[shop] = type(self).model_validate(merged)
            except ValueError as exc:
                raise ValueError(f"shops[{shop}]: {exc}") from exc
        return self

    # ------------------------------------------------------------ loading
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> AuditConfig:
        """Defaults overridden by `data` (unknown keys are an error, so typos do not pass silently)."""
        return cls.model_validate(dict(data or {}))

    @classmethod
    def from_yaml(cls, text: str) -> AuditConfig:
        """From YAML text, either the fields at top level or under an `audit:` key."""
        data = yaml.safe_load(text) or {}
        if not isinstance(data, Mapping):
            raise ValueError("audit config YAML must be a mapping")
        if "audit" in data and isinstance(data["audit"], Mapping) and len(data) == 1:
            data = data["audit"]
        return cls.from_mapping(data)

    def for_shop(self, shop: str) -> AuditConfig:
        """This config with `shop`'s overrides applied (itself when the shop has none)."""
        if not self.shops:  # a field: much cheaper to read than the private cache
            return self
        return self._per_shop.get(shop, self)

    def slow_reply_seconds(self, platform: str) -> float:
        """The per-turn wait above which a reply is flagged on `platform`."""
        flag = self.slow_reply_flag_seconds.get(platform)
        if flag is not None:
            return flag
        return self.reply_limit_seconds.get(platform, 300.0)

    def deduction(self, check_id: str, severity: Severity) -> float:
        """Points one finding costs the conversation's score."""
        points = self.check_deductions.get(check_id)
        return self.severity_deductions[severity] if points is None else points


@lru_cache(maxsize=1)
def default_config() -> AuditConfig:
    """The seed defaults, built once per process."""
    return AuditConfig()
