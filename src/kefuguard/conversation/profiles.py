"""Per-platform reply-metric profiles: the definitions the metrics engine evaluates, as data.

Platforms change their rules (assessment hours, limits, who is excluded) more often than the code
changes, so every number lives here in a pydantic model that a shop can override from YAML or a
dict (`load_profile`). Defaults follow the seeds (`../shared/seeds/00x_…`) and, where the seeds are
silent, the published definitions digested in SPEC.md; each metric quotes its source.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kefuguard.conversation.model import SHANGHAI
from kefuguard.rules.model import PLATFORMS, platform_code


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Unit(StrEnum):
    """What one unit of a metric is.

    turn: a run of buyer messages up to the first valid reply; only its first message is timed.
    session: turns grouped while the buyer comes back within `session_gap_seconds` (JD 咚咚会话);
        timed from the session's first buyer message to its first valid reply.
    buyer: one consulting buyer per calendar day (Pinduoduo, Kuaishou); judged over their turns.
    """

    turn = "turn"
    session = "session"
    buyer = "buyer"


class Kind(StrEnum):
    within_rate = "within_rate"  # units answered within limit_seconds / units
    no_reply_rate = "no_reply_rate"  # units never validly answered / units
    mean_response = "mean_response"  # mean seconds to the first valid reply (capped, unanswered rule)


class BotReply(StrEnum):
    """How a Role.bot message (fully automatic robot) treats an open turn.

    ignore: it is not a reply; the turn stays open until a human answers (the "人工回复" reading).
    exclude_turn: it closes the turn, which drops out of numerator and denominator (Taobao 平响:
        全自动机器人接待不计入; Kuaishou: only buyers routed to a human count).
    valid: it counts as a reply (for shops whose platform counts robot answers).
    """

    ignore = "ignore"
    exclude_turn = "exclude_turn"
    valid = "valid"


Comparison = Literal[">", ">=", "<", "<=", "none"]


class TimeWindow(_Strict):
    """Daily assessment hours, Asia/Shanghai wall clock. `end` is exclusive unless `end_inclusive`.

    A window with start > end wraps midnight (e.g. 23:00–09:00).
    """

    start: dt.time
    end: dt.time
    end_inclusive: bool = False

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> Any:
        """Accept '8:00' as well as '08:00' (people write both in YAML)."""
        if isinstance(value, str) and re.fullmatch(r"\d:\d\d(:\d\d)?", value.strip()):
            return "0" + value.strip()
        return value

    def contains(self, moment: dt.datetime) -> bool:
        local = moment.astimezone(SHANGHAI) if moment.tzinfo is not None else moment
        t = local.time()
        after_start = t >= self.start
        before_end = t <= self.end if self.end_inclusive else t < self.end
        if self.start <= self.end:
            return after_start and before_end
        return after_start or before_end

    def label(self) -> str:
        end = self.end.strftime("%H:%M:%S" if self.end.second else "%H:%M")
        return f"{self.start.strftime('%H:%M')}–{end}" + ("（含）" if self.end_inclusive else "（不含）")



class FineRule(_Strict):
    """A platform fine for one shop-day: more than `min_units` units and a value below `below`."""

    min_units: int = Field(ge=0, description="the fine applies only when units > min_units")
    below: float = Field(description="…and the value is strictly below this")
    yuan: float = Field(gt=0)
    source: str = ""


class MetricSpec(_Strict):
    """One metric of a profile."""

    title: str
    kind: Kind
    unit: Unit
    limit_seconds: float | None = Field(default=None, gt=0, description="within_rate: answered ≤ this counts")
    threshold: float | None = Field(default=None, description="rates as 0–1 fractions; mean_response in seconds")
    comparison: Comparison = "none"
    window: TimeWindow | None = Field(default=None, description="assessment hours on the unit's start; None = all day")
    window_on: Literal["start", "session_start"] = "start"
    cap_seconds: float | None = Field(default=None, gt=0, description="mean_response: each unit capped at this")
    unanswered_seconds: float | None = Field(
        default=None, ge=0, description="mean_response: an unanswered unit counts as this; None = left out of the mean"
    )
    buyer_rule: Literal["all_turns", "first_turn"] = Field(
        default="all_turns", description="buyer unit: every turn that day must meet the limit, or only the first"
    )
    exclude_reported_buyers: bool = Field(default=False, description="buyers reported/blocked drop out")
    fine: FineRule | None = None
    fine_per_miss_yuan: float | None = Field(
        default=None, ge=0, description="a per-unit charge for each unit that misses (shop-internal rules)"
    )
    fine_scope: Literal["platform", "internal"] = "platform"
    source: str = Field(default="", description="seed file and the sentence the definition comes from")
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> MetricSpec:
        if self.kind is Kind.within_rate and self.limit_seconds is None:
            raise ValueError(f"{self.title}: within_rate needs limit_seconds")
        if self.unit is Unit.buyer and self.kind is not Kind.within_rate:
            raise ValueError(f"{self.title}: the buyer unit supports within_rate only")
        if (self.threshold is None) != (self.comparison == "none"):
            raise ValueError(f"{self.title}: give both threshold and comparison, or neither")
        return self

    @property
    def unit_label(self) -> str:
        return "s" if self.kind is Kind.mean_response else "%"


class MetricProfile(_Strict):
    """The reply metrics one platform assesses a shop on."""

    platform: str
    name: str
    version: str = "1"
    bot_reply: BotReply = BotReply.ignore
    auto_reply_counts: bool = Field(
        default=False, description="whether an agent-side 自动回复 counts as a reply (never a manual one)"
    )
    session_gap_seconds: float | None = Field(
        default=None, gt=0, description="a buyer message more than this after the last one starts a new session"
    )
    assessment_cycle_days: int | None = Field(default=None, gt=0, description="platform's scoring cycle")
    metrics: dict[str, MetricSpec]
    note: str = ""

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        return platform_code(value)

    @field_validator("metrics")
    @classmethod
    def _ids(cls, value: dict[str, MetricSpec]) -> dict[str, MetricSpec]:
        for key in value:
            if not key or key.strip() != key:
                raise ValueError(f"bad metric id {key!r}")
        return value


# --------------------------------------------------------------------------------------------------
# Defaults

DAY_08_23 = TimeWindow(start=dt.time(8), end=dt.time(23))
DAY_09_23 = TimeWindow(start=dt.time(9), end=dt.time(23))

_SEED_DOUYIN_HOURS = "000 考试第10题：抖音平台对在线客服的考核工作时间? A、8:00-22:59:59(正确答案)"
_SEED_PDD_RATE = (
    "002：有效回复率=有效回复的消费者总人数/咨询该商家的消费者总人数,8:00到23:00时间段咨询的顾客,在3分钟内进行回复的"
    "才算是有效回复。若当天咨询人数超过100,且有效回复率低于50%,就会罚款1000元。(超过100人咨询才开始计算罚款)"
)
_SEED_PDD_REPORTED = "002：举报成功后,该买家发送的消息不计入您的回复率"
_SEED_JD_DD = "003：咚咚平均响应时长,是指客服人工回复的消息与顾客消息之间的时间差均值"
_SEED_JD_30 = "003：30秒应答率,是指当有人提问,在进入队列后人工回复在这个时间的咨询量占比"
_SPEC_JD = "SPEC（平台公开定义）：23:00–09:00 开始的会话不计；10分钟内的新提问算同一会话"
_SPEC_TB = (
    "SPEC（平台公开定义）：旺旺人工平响时长按 08:00–23:00（不含23:00）的对话轮次计算，一轮从买家首条消息到子账号首次"
    "有效回复，每轮最长按10分钟计，未回复按10分钟计，全自动机器人接待不计入分子分母"
)

DOUYIN = MetricProfile(
    platform="douyin",
    name="抖音/抖店 飞鸽客服考核",
    assessment_cycle_days=7,
    metrics={
        "douyin.reply_3min_rate": MetricSpec(
            title="3分钟回复率",
            kind=Kind.within_rate,
            unit=Unit.turn,
            limit_seconds=180,
            threshold=0.80,
            comparison=">",
            window=DAY_08_23,
            source="000 考试第12题：根据抖音服务标准3分钟回复率需要大于__% B、80%(正确答案)；" + _SEED_DOUYIN_HOURS,
            note="每轮咨询从买家首条消息计时；机器人/自动回复不算人工回复",
        ),
        "douyin.no_reply_rate": MetricSpec(
            title="飞鸽不回复率",
            kind=Kind.no_reply_rate,
            unit=Unit.turn,
            threshold=0.20,
            comparison="<",
            window=DAY_08_23,
            source="000 考试第13题：根据抖音服务标准飞鸽不回复率需要小于__% C、20%(正确答案)；" + _SEED_DOUYIN_HOURS,
            note="没有得到人工回复的咨询轮次占比",
        ),
    },
    note="000 考试第11题：店铺体验分考核周期 1周",
)

PINDUODUO = MetricProfile(
    platform="pinduoduo",
    name="拼多多 客服回复考核",
    metrics={
        "pdd.reply_3min_rate": MetricSpec(
            title="3分钟有效回复率",
            kind=Kind.within_rate,
            unit=Unit.buyer,
            limit_seconds=180,
            threshold=0.50,
            comparison=">=",
            window=DAY_08_23,
            exclude_reported_buyers=True,
            fine=FineRule(min_units=100, below=0.50, yuan=1000, source=_SEED_PDD_RATE),
            source=_SEED_PDD_RATE + "；" + _SEED_PDD_REPORTED,
            note="按消费者计：当天每次咨询都在3分钟内得到人工回复才算有效回复；被举报/拉黑的买家不计入",
        ),
        "pdd.reply_5min_rate": MetricSpec(
            title="5分钟回复率（日）",
            kind=Kind.within_rate,
            unit=Unit.buyer,
            limit_seconds=300,
            threshold=0.80,
            comparison=">=",
            window=DAY_08_23,
            exclude_reported_buyers=True,
            source="002：积极接待、响应客户对话,回复超五分钟时长延迟回复,每天的回复率至少要达到80%以上。；"
            + _SEED_PDD_REPORTED,
            note="种子未写考核时段，沿用 08:00–23:00",
        ),
    },
)

JD = MetricProfile(
    platform="jd",
    name="京东 咚咚客服考核",
    session_gap_seconds=600,
    metrics={
        "jd.first_30s_rate": MetricSpec(
            title="咚咚首次30秒应答率",
            kind=Kind.within_rate,
            unit=Unit.session,
            limit_seconds=30,
            window=DAY_09_23,
            window_on="session_start",
            source=_SEED_JD_30 + "；" + _SPEC_JD,
            note="每个会话只看首次人工应答；种子未给达标线",
        ),
        "jd.mean_response": MetricSpec(
            title="咚咚平均响应时长",
            kind=Kind.mean_response,
            unit=Unit.turn,
            window=DAY_09_23,
            window_on="session_start",
            source=_SEED_JD_DD + "；" + _SPEC_JD,
            note="每轮买家提问到人工回复的间隔取平均；未回复的轮次不参与平均",
        ),
    },
)

_TB_METRICS = {
    "tb.reply_5min_rate": MetricSpec(
        title="5分钟应答率（接待规则）",
        kind=Kind.within_rate,
        unit=Unit.turn,
        limit_seconds=300,
        threshold=1.0,
        comparison=">=",
        source="003 天猫淘宝客服接待规则：及时回答买家问题,反应时间控制在5分钟以内。处罚:买家询单,超过5分钟应答或无应答每次扣除20元",
        note="店铺内部规定（非平台罚款）：每次超时或无应答扣20元，按事件由 audit.reply_time（超时）或 audit.missed_reply"
        "（无应答）计一次；本指标只给比率，不再按次重复扣款",
    ),
    "tb.first_response": MetricSpec(
        title="首次响应时长",
        kind=Kind.mean_response,
        unit=Unit.session,
        source="000 聊天禁区1：客服响应时间慢……黄金30秒",
        note="每个会话买家首条消息到首次人工回复的平均间隔；未回复的会话不参与平均",
    ),
    "tb.golden_30s_rate": MetricSpec(
        title="30秒黄金回复率",
        kind=Kind.within_rate,
        unit=Unit.turn,
        limit_seconds=30,
        threshold=0.90,
        comparison=">=",
        source="000 聊天禁区1：黄金30秒……虽然不能保证100%在30s之内回复客客户,但是90%应该也是绰绰有余的",
        note="经验标准，非平台考核",
    ),
    "tb.manual_avg_response": MetricSpec(
        title="旺旺人工平响时长",
        kind=Kind.mean_response,
        unit=Unit.turn,
        window=DAY_08_23,
        cap_seconds=600,
        unanswered_seconds=600,
        source=_SPEC_TB,
        note="每轮最长按10分钟计，未回复按10分钟计；全自动机器人接待的轮次不计",
    ),
    "tb.manual_3min_rate": MetricSpec(
        title="旺旺3分钟人工响应率",
        kind=Kind.within_rate,
        unit=Unit.turn,
        limit_seconds=180,
        window=DAY_08_23,
        exclude_reported_buyers=True,
        source="SPEC（平台公开定义）：旺旺3分钟人工响应率 = 3分钟内人工回复的轮次 / 全部轮次，08:00–23:00，"
        "每轮只计首个问题，屏蔽买家不计",
        note="每轮只计首个问题；被屏蔽/举报的买家不计",
    ),
}

TMALL = MetricProfile(
    platform="tmall",
    name="天猫 旺旺接待考核",
    bot_reply=BotReply.exclude_turn,
    metrics=_TB_METRICS,
)
TAOBAO = MetricProfile(
    platform="taobao",
    name="淘宝 旺旺接待考核",
    bot_reply=BotReply.exclude_turn,
    metrics=_TB_METRICS,
)

KUAISHOU = MetricProfile(
    platform="kuaishou",
    name="快手 人工客服回复考核",
    bot_reply=BotReply.exclude_turn,
    metrics={
        "ks.manual_3min_rate": MetricSpec(
            title="人工客服3分钟回复率",
            kind=Kind.within_rate,
            unit=Unit.buyer,
            limit_seconds=180,
            window=DAY_08_23,
            source="SPEC（平台公开定义，2023-03起）：(进入人工的买家数 − 3分钟内未回复的买家数) / 进入人工的买家数，"
            "08:00–23:00；003：商户客服回复率不达标……情节严重的,处警告、强制考试、支付违约金100-150元",
            note="只计进入人工接待的买家；机器人接待的轮次不计；达标线由《快手小店商家客户服务管理规则》规定，种子未给出",
        ),
    },
)

DEFAULT_PROFILES: dict[str, MetricProfile] = {
    p.platform: p for p in (DOUYIN, PINDUODUO, TMALL, TAOBAO, JD, KUAISHOU)
}


def get_profile(platform: str) -> MetricProfile:
    """The default profile of a platform."""
    name = platform.strip().lower()
    if name not in DEFAULT_PROFILES:
        raise ValueError(f"no metric profile for platform {platform!r}; expected one of {', '.join(PLATFORMS)}")
    return DEFAULT_PROFILES[name]


def _deep_merge(base: dict[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in change.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_profile(data: Mapping[str, Any], *, base: MetricProfile | None = None) -> MetricProfile:
    """A profile from a dict. Unless `replace: true`, it overrides the platform's default profile:
    only the keys given change (metrics are matched by id; `metric_id: null` removes a metric).
    """
    if not isinstance(data, Mapping):
        raise ValueError("a metric profile must be a mapping")
    data = dict(data)
    replace = bool(data.pop("replace", False))
    if replace:
        return MetricProfile.model_validate(data)
    if "platform" not in data and base is None:
        raise ValueError("a metric profile needs 'platform'")
    base = base or get_profile(str(data["platform"]))
    merged = _deep_merge(base.model_dump(mode="json"), {k: v for k, v in data.items() if k != "metrics"})
    metrics = dict(merged.get("metrics", {}))
    for metric_id, change in (data.get("metrics") or {}).items():
        if change is None:
            metrics.pop(metric_id, None)
        elif metric_id in metrics and isinstance(change, Mapping):
            metrics[metric_id] = _deep_merge(metrics[metric_id], change)
        else:
            metrics[metric_id] = change
    merged["metrics"] = metrics
    return MetricProfile.model_validate(merged)


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 base-60 numbers, so `end: 23:00` stays a clock time, not 1380."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(0|[1-9][0-9_]*)$"), list("-+0123456789")
)
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?([0-9][0-9_]*)?\.[0-9_]+([eE][-+]?[0-9]+)?$|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def profile_from_yaml(text: str, *, base: MetricProfile | None = None) -> MetricProfile:
    """Parse a profile override written in YAML (see `load_profile`)."""
    data = yaml.load(text, Loader=_YamlLoader)  # a SafeLoader subclass: safe
    if not isinstance(data, Mapping):
        raise ValueError("a metric profile YAML must be a mapping at the top level")
    return load_profile(data, base=base)


def profile_to_yaml(profile: MetricProfile) -> str:
    """The full profile as YAML: a template a shop edits when a platform changes its rule."""
    return yaml.safe_dump(profile.model_dump(mode="json"), allow_unicode=True, sort_keys=False)


def profiles_with(overrides: list[MetricProfile] | None = None) -> dict[str, MetricProfile]:
    """Default profiles with some platforms' profiles replaced."""
    out = dict(DEFAULT_PROFILES)
    for p in overrides or []:
        out[p.platform] = p
    return out
