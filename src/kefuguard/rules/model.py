"""Rule-pack schema: the YAML a platform pack is written in, validated by pydantic.

Rules are data. Everything a finding reports (penalty, source quote, suggestion) comes from here,
and every rule carries its own hit/miss examples so the test suite can prove it works.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PLATFORMS: tuple[str, ...] = ("douyin", "pinduoduo", "tmall", "taobao", "jd", "kuaishou")
def platform_code(value: str) -> str:
    """A platform name as used everywhere (lower-case code), or a ValueError listing the valid ones."""
    name = (value or "").strip().lower()
    if name not in PLATFORMS:
        raise ValueError(f"unknown platform {value!r}; expected one of {', '.join(PLATFORMS)}")
    return name


PLATFORM_NAMES_ZH: dict[str, str] = {
    "douyin": "抖音/抖店",
    "pinduoduo": "拼多多",
    "tmall": "天猫",
    "taobao": "淘宝",
    "jd": "京东",
    "kuaishou": "快手",
}


class Severity(StrEnum):
    """How bad a finding is; ordered from worst to mildest."""

    critical = "critical"
    major = "major"
    minor = "minor"
    info = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def lowered(self) -> Severity:
        """One step milder (used for mentions made while refusing)."""
        order = list(Severity)
        return order[min(order.index(self) + 1, len(order) - 1)]


_SEVERITY_RANK = {Severity.critical: 3, Severity.major: 2, Severity.minor: 1, Severity.info: 0}

SEVERITY_ZH = {"critical": "严重", "major": "较重", "minor": "轻微", "info": "提示"}


class Category(StrEnum):
    """Violation categories of ../shared/SPEC.md; the value is a stable code, `zh` the label."""

    diversion = "diversion"
    abuse = "abuse"
    harassment = "harassment"
    attitude = "attitude"
    superlative = "superlative"
    broken_promise = "broken_promise"
    stockout = "stockout"
    privacy = "privacy"
    overpromise = "overpromise"
    review_invite = "review_invite"
    negative_refusal = "negative_refusal"
    wording = "wording"
    pii = "pii"
    fraud = "fraud"

    @property
    def zh(self) -> str:
        return CATEGORY_ZH[self.value]


CATEGORY_ZH = {
    "diversion": "导流/站外信息",
    "abuse": "辱骂/人身攻击",
    "harassment": "骚扰",
    "attitude": "服务态度",
    "superlative": "极限词/广告法",
    "broken_promise": "违背承诺",
    "stockout": "缺货表述",
    "privacy": "泄露信息",
    "overpromise": "过度承诺",
    "review_invite": "邀评/索要好评",
    "negative_refusal": "负面直接拒绝",
    "wording": "用语规范",
    "pii": "个人信息",
    "fraud": "刷单/虚假交易",
}

DETECTOR_NAMES = ("phone", "qq", "wechat_id", "email", "url", "bank_card", "id_card")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Penalty(_Strict):
    """What breaking the rule costs, as the seed states it.

    `basis` says who imposes it: the platform, advertising law, or a shop-internal policy quoted
    by a seed (an outsourcing firm's own fines are not platform fines).
    """

    text: str = Field(min_length=1, description="the penalty in the seed's words (Chinese)")
    basis: Literal["platform", "law", "shop_policy"] = "platform"
    points: float | None = Field(default=None, ge=0, description="扣分 per violation")
    fine_yuan: float | None = Field(default=None, ge=0, description="fine or deduction per violation")
    buyer_compensation_yuan: float | None = Field(default=None, ge=0, description="paid to the buyer")
    deposit_yuan: float | None = Field(default=None, ge=0, description="保证金 deducted/frozen")
    listing_ban_days: list[int] = Field(default_factory=list, description="days listings go down, by tier")


class Source(_Strict):
    """Where the rule comes from: a seed file and the sentence quoted from it."""

    file: str = Field(pattern=r"^\d{3}_[0-9a-f]+\.txt$|^[A-Za-z0-9_.\-/]+$")
    quote: str = Field(min_length=4)


class PatternMatcher(_Strict):
    """A regular expression run on the normalised text.

    `anchors` are literal strings of which at least one must be present (in the normalised text)
    for the regex to run at all; they keep regexes off the hot path of clean messages.
    """

    regex: str
    anchors: list[str] = Field(default_factory=list)


class DetectorRef(_Strict):
    """A named detector (phone, qq, url, …) with its per-rule options."""

    name: Literal["phone", "qq", "wechat_id", "email", "url", "bank_card", "id_card"]
    allow_domains: list[str] = Field(default_factory=list)


class Matchers(_Strict):
    keywords: list[str] = Field(default_factory=list)
    keyword_files: list[str] = Field(
        default_factory=list,
        description="word lists (one term per line, # comments) in kefuguard/rules/data/, merged into keywords",
    )
    patterns: list[PatternMatcher] = Field(default_factory=list)
    detectors: list[DetectorRef] = Field(default_factory=list)

    @field_validator("detectors", mode="before")
    @classmethod
    def _names_as_refs(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Matchers:
        if not (self.keywords or self.keyword_files or self.patterns or self.detectors):
            raise ValueError("a rule needs at least one keyword, pattern or detector")
        if any(not k.strip() for k in self.keywords):
            raise ValueError("empty keyword")
        return self


class Examples(_Strict):
    hit: list[str] = Field(min_length=1)
    miss: list[str] = Field(min_length=1)


class Rule(_Strict):
    """One prohibition. Field order follows the docs page generated from it (what/why/example/instead)."""

    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    platforms: list[str] | None = None
    category: Category
    severity: Severity
    title: str = Field(min_length=2, description="Chinese title")
    explanation: str = Field(min_length=2, description="Chinese: what it catches and why it costs the shop")
    penalty: Penalty
    source: Source
    match: Matchers
    exceptions: list[str] = Field(default_factory=list, description="contexts in which a hit does not count")
    refusal_aware: bool = Field(
        default=True,
        description="a mention inside a refusal (不能加微信) is reported one severity lower, not dropped",
    )
    suggestion: str = Field(min_length=2, description="what a good agent says instead")
    replacement: str | None = Field(default=None, description="text that replaces the flagged span in rewrite()")
    examples: Examples

    @field_validator("platforms")
    @classmethod
    def _known_platforms(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        for p in value:
            if p != "all" and p not in PLATFORMS:
                raise ValueError(f"unknown platform {p!r}; use one of {', '.join(PLATFORMS)} or 'all'")
        return value


class RuleOverride(_Strict):
    """A platform pack's adjustment of a rule defined elsewhere (usually the common pack).

    The matchers stay shared; what the platform charges for it, how severe it is there and the
    platform's own seed sentence differ. Applied only when checking for this pack's platforms.
    """

    rule: str = Field(description="id of the rule being adjusted")
    severity: Severity | None = None
    penalty: Penalty | None = None
    source: Source | None = None
    suggestion: str | None = None
    title: str | None = None


class PackInfo(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_\-]+$")
    version: str = Field(min_length=1)
    effective_date: dt.date
    title: str
    platforms: list[str] = Field(min_length=1)
    description: str = ""

    @field_validator("platforms")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for p in value:
            if p != "all" and p not in PLATFORMS:
                raise ValueError(f"unknown platform {p!r}")
        return value


class RulePack(_Strict):
    pack: PackInfo
    rules: Annotated[list[Rule], Field(default_factory=list)]
    overrides: Annotated[list[RuleOverride], Field(default_factory=list)]

    @model_validator(mode="after")
    def _unique_ids(self) -> RulePack:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        return self

    def platforms_of(self, rule: Rule) -> list[str]:
        """The platforms a rule applies to (its own list, else the pack's), with 'all' expanded."""
        listed = rule.platforms or self.pack.platforms
        return list(PLATFORMS) if "all" in listed else listed

    @property
    def label(self) -> str:
        return f"{self.pack.id}@{self.pack.version}"
