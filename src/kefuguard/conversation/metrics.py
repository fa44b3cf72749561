"""Reply metrics from chat timestamps, per platform profile, streamable and mergeable.

A conversation is cut into *turns* (a run of buyer messages up to the first valid reply; only the
first message of the run is timed) and *sessions* (turns grouped while the buyer comes back within
the profile's gap). Each metric of the profile (`profiles.py`) turns those into unit outcomes, which
fold into a small `MetricAccumulator` per (platform, shop, agent, day). Accumulators are plain
picklable data with `merge`, so an audit can process conversations one at a time, in worker
processes, and combine the partial results. A bot or auto reply is never a manual reply
(`Message.is_manual_reply`); days are Asia/Shanghai calendar days of the buyer's message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from kefuguard.conversation.model import SHANGHAI, Conversation, Message, Role
from kefuguard.conversation.profiles import (
    DEFAULT_PROFILES,
    BotReply,
    Kind,
    MetricProfile,
    MetricSpec,
    Unit,
)
from kefuguard.conversation.results import MetricResult

Outcome = Literal["answered", "unanswered", "bot"]
OUTCOME_ZH = {"answered": "已回复", "unanswered": "未回复", "bot": "机器人接待"}

HISTOGRAM_BUCKETS: tuple[tuple[str, float], ...] = (
    ("0-30s", 30),
    ("30s-1m", 60),
    ("1-3m", 180),
    ("3-5m", 300),
    ("5-10m", 600),
    (">10m", float("inf")),
)
UNANSWERED_BUCKET = "未回复"


def histogram_bucket(seconds: float | None) -> str:
    """The response-time bucket label of one turn's wait (None: never answered)."""
    if seconds is None:
        return UNANSWERED_BUCKET
    for label, upper in HISTOGRAM_BUCKETS:
        if seconds <= upper:
            return label
    return HISTOGRAM_BUCKETS[-1][0]  # pragma: no cover - inf catches everything


def local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


# --------------------------------------------------------------------------------------------------
# Segmentation: turns and sessions


def _set_timing(item: Turn | Session) -> None:
    """The local day a turn or session starts on, and its response time if it was answered."""
    item.day = local_day(item.start)
    item.response_seconds = (
        (item.reply_at - item.start).total_seconds() if item.outcome == "answered" and item.reply_at is not None else None
    )


@dataclass(slots=True)
class Turn:
    """Buyer messages up to the first valid reply; timed from the first buyer message only.

    Read-only by convention (not frozen: frozen dataclasses are slower to build, and the audit
    builds one per buyer turn).
    """

    index: int
    start: dt.datetime
    first_message: int  # index into conversation.messages
    buyer_messages: int
    buyer_id: str
    agent_id: str  # who answered; for unanswered turns, who was receiving
    outcome: Outcome
    reply_at: dt.datetime | None
    reply_message: int | None
    session: int
    session_start: dt.datetime
    day: dt.date = field(init=False)
    response_seconds: float | None = field(init=False)

    def __post_init__(self) -> None:
        _set_timing(self)


@dataclass(slots=True)
class Session:
    """Turns grouped while the buyer comes back within the profile's gap (JD 咚咚会话). Read-only."""

    index: int
    start: dt.datetime
    buyer_id: str
    agent_id: str
    outcome: Outcome
    reply_at: dt.datetime | None
    turns: tuple[int, ...]
    day: dt.date = field(init=False)
    response_seconds: float | None = field(init=False)

    def __post_init__(self) -> None:
        _set_timing(self)


def is_valid_reply(message: Message, profile: MetricProfile) -> bool:
    """Does this message answer the buyer under the profile? Manual replies always do."""
    if message.is_manual_reply:
        return True
    if message.role is Role.agent:  # an agent-side auto reply
        return profile.auto_reply_counts
    if message.role is Role.bot:
        return profile.bot_reply is BotReply.valid
    return False


class _OpenTurn:
    __slots__ = ("buyer_id", "count", "first", "hint", "session", "session_start", "start")

    def __init__(self, m: Message, i: int, session: int, session_start: dt.datetime, hint: str) -> None:
        self.start, self.first, self.count = m.sent_at, i, 1
        self.buyer_id, self.hint = m.buyer_id, m.agent_id or hint
        self.session, self.session_start = session, session_start


class _OpenSession:
    __slots__ = ("bot", "buyer_id", "hint", "reply", "reply_agent", "start", "turns")

    def __init__(self, m: Message, hint: str) -> None:
        self.start, self.buyer_id, self.hint = m.sent_at, m.buyer_id, m.agent_id or hint
        self.reply: dt.datetime | None = None
        self.reply_agent = ""
        self.bot = False
        self.turns: list[int] = []


def segment(conversation: Conversation, profile: MetricProfile) -> tuple[list[Turn], list[Session]]:
    """Cut a conversation into turns and sessions under the profile's reply and session rules."""
    order = sorted(range(len(conversation.messages)), key=lambda i: (conversation.messages[i].sent_at, i))
    fallback_agent = conversation.primary_agent
    gap = profile.session_gap_seconds
    turns: list[Turn] = []
    sessions: list[Session] = []
    open_turn: _OpenTurn | None = None
    sess: _OpenSession | None = None
    last_time: dt.datetime | None = None
    last_agent = ""

    def close_turn(outcome: Outcome, reply: Message | None = None, at: int | None = None) -> None:
        nonlocal open_turn
        t = open_turn
        assert t is not None
        agent = (reply.agent_id if reply is not None and reply.agent_id else "") or t.hint or fallback_agent
        turns.append(
            Turn(
                index=len(turns),
                start=t.start,
                first_message=t.first,
                buyer_messages=t.count,
                buyer_id=t.buyer_id,
                agent_id=agent,
                outcome=outcome,
                reply_at=reply.sent_at if reply is not None else None,
                reply_message=at,
                session=t.session,
                session_start=t.session_start,
            )
        )
        assert sess is not None
        sess.turns.append(len(turns) - 1)
        open_turn = None

    def close_session() -> None:
        s = sess
        assert s is not None
        outcome: Outcome = "answered" if s.reply is not None else ("bot" if s.bot else "unanswered")
        sessions.append(
            Session(
                index=len(sessions),
                start=s.start,
                buyer_id=s.buyer_id,
                agent_id=s.reply_agent or s.hint or fallback_agent,
                outcome=outcome,
                reply_at=s.reply,
                turns=tuple(s.turns),
            )
        )

    for i in order:
        m = conversation.messages[i]
        if m.role is Role.system:
            continue
        if m.role is Role.buyer:
            new_session = sess is None or (
                gap is not None and last_time is not None and (m.sent_at - last_time).total_seconds() > gap
            )
            if new_session:
                if open_turn is not None:
                    close_turn("unanswered")
                if sess is not None:
                    close_session()
                sess = _OpenSession(m, last_agent)
            assert sess is not None
            if open_turn is None:
                open_turn = _OpenTurn(m, i, len(sessions), sess.start, last_agent)
            else:
                open_turn.count += 1
            last_time = m.sent_at
            continue
        # agent or bot
        if sess is not None:
            last_time = m.sent_at
        if is_valid_reply(m, profile):
            if open_turn is not None:
                close_turn("answered", m, i)
            if sess is not None and sess.reply is None:
                sess.reply, sess.reply_agent = m.sent_at, m.agent_id
            if m.is_manual_reply and m.agent_id:
                last_agent = m.agent_id
        elif m.role is Role.bot and profile.bot_reply is BotReply.exclude_turn:
            if open_turn is not None:
                close_turn("bot")
            if sess is not None and sess.reply is None:
                sess.bot = True
    if open_turn is not None:
        close_turn("unanswered")
    if sess is not None:
        close_session()
    return turns, sessions


# --------------------------------------------------------------------------------------------------
# Unit outcomes


@dataclass(slots=True)
class UnitOutcome:
    """One unit of one metric: counted or excluded (with the reason), and how it fared. Read-only."""

    metric: str
    key: str  # buyer@day for buyer units; turn/session index otherwise
    start: dt.datetime
    day: dt.date
    agent_id: str
    excluded: str = ""  # "", "window", "reported", "bot"
    hit: bool | None = None  # within the limit (within_rate) / never answered (no_reply_rate)
    seconds: float | None = None  # mean_response: the (capped) wait that enters the mean
    reported: bool = False

    @property
    def counted(self) -> bool:
        return not self.excluded


def _buyer_key(conversation: Conversation, buyer_id: str, day: dt.date) -> str:
    """A consulting buyer is counted once per calendar day (conversation id when the export has no buyer)."""
    return f"{buyer_id or '~' + conversation.conversation_id}@{day.isoformat()}"


def unit_outcomes(
    spec_id: str, spec: MetricSpec, conversation: Conversation, profile: MetricProfile,
    turns: list[Turn], sessions: list[Session], reported: bool | None = None,
) -> list[UnitOutcome]:
    """Evaluate one metric's units in one conversation."""
    if reported is None:
        reported = conversation.buyer_reported
    out: list[UnitOutcome] = []
    items: Iterable[Turn | Session] = sessions if spec.unit is Unit.session else turns
    for u in items:
        anchor = u.session_start if (isinstance(u, Turn) and spec.window_on == "session_start") else u.start
        if u.outcome == "bot" and profile.bot_reply is BotReply.exclude_turn:
            excluded = "bot"
        elif spec.window is not None and not spec.window.contains(anchor):
            excluded = "window"
        elif reported and spec.exclude_reported_buyers and spec.unit is not Unit.buyer:
            excluded = "reported"
        else:
            excluded = ""
        wait = u.response_seconds
        day = u.day
        hit: bool | None = None
        seconds: float | None = None
        if not excluded:
            if spec.kind is Kind.within_rate:
                assert spec.limit_seconds is not None
                hit = wait is not None and wait <= spec.limit_seconds
            elif spec.kind is Kind.no_reply_rate:
                hit = wait is None
            elif wait is not None:
                seconds = min(wait, spec.cap_seconds) if spec.cap_seconds is not None else wait
            else:
                seconds = spec.unanswered_seconds
        key = _buyer_key(conversation, u.buyer_id, day) if spec.unit is Unit.buyer else str(u.index)
        out.append(
            UnitOutcome(
                metric=spec_id, key=key, start=u.start, day=day, agent_id=u.agent_id,
                excluded=excluded, hit=hit, seconds=seconds,
                reported=reported and spec.exclude_reported_buyers,
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# Tallies and accumulators


@dataclass(slots=True)
class BuyerState:
    """One buyer-day under one metric: every turn met the limit? the first one? reported?"""

    all_ok: bool
    first_at: dt.datetime
    first_ok: bool
    reported: bool

    def merge(self, other: BuyerState) -> None:
        self.all_ok = self.all_ok and other.all_ok
        if other.first_at < self.first_at:
            self.first_at, self.first_ok = other.first_at, other.first_ok
        self.reported = self.reported or other.reported


@dataclass(slots=True)
class Tally:
    """Counts for one metric in one cell. Seconds are kept as integer milliseconds so merging is exact."""

    units: int = 0
    hits: int = 0
    timed: int = 0
    millis: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    buyers: dict[str, BuyerState] = field(default_factory=dict)

    def add(self, unit: UnitOutcome, spec: MetricSpec) -> None:
        if unit.excluded:
            self.excluded[unit.excluded] = self.excluded.get(unit.excluded, 0) + 1
            return
        if spec.unit is Unit.buyer:
            state = BuyerState(bool(unit.hit), unit.start, bool(unit.hit), unit.reported)
            seen = self.buyers.get(unit.key)
            if seen is None:
                self.buyers[unit.key] = state
            else:
                seen.merge(state)
            return
        self.units += 1
        if unit.hit:
            self.hits += 1
        if unit.seconds is not None:
            self.timed += 1
            self.millis += round(unit.seconds * 1000)

    def merge(self, other: Tally) -> None:
        self.units += other.units
        self.hits += other.hits
        self.timed += other.timed
        self.millis += other.millis
        for reason, n in other.excluded.items():
            self.excluded[reason] = self.excluded.get(reason, 0) + n
        for key, state in other.buyers.items():
            seen = self.buyers.get(key)
            if seen is None:
                self.buyers[key] = BuyerState(state.all_ok, state.first_at, state.first_ok, state.reported)
            else:
                seen.merge(state)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A metric's value in one cell, against its threshold."""

    value: float | None
    numerator: float
    denominator: float
    passed: bool | None
    excluded: dict[str, int]


def _compare(value: float, comparison: str, threshold: float) -> bool:
    return {
        ">": value > threshold,
        ">=": value >= threshold,
        "<": value < threshold,
        "<=": value <= threshold,
    }[comparison]


def evaluate(spec: MetricSpec, tally: Tally) -> Evaluation:
    """Value, numerator, denominator and pass/fail of a metric from its tally."""
    excluded = dict(tally.excluded)
    if spec.unit is Unit.buyer:
        counted = [s for s in tally.buyers.values() if not (spec.exclude_reported_buyers and s.reported)]
        reported = len(tally.buyers) - len(counted)
        if reported:
            excluded["reported_buyers"] = reported
        den = float(len(counted))
        ok = (s.all_ok if spec.buyer_rule == "all_turns" else s.first_ok for s in counted)
        num = float(sum(1 for x in ok if x))
        value = num / den if den else None
    elif spec.kind is Kind.mean_response:
        num, den = tally.millis / 1000, float(tally.timed)
        value = num / den if den else None
    else:
        num, den = float(tally.hits), float(tally.units)
        value = num / den if den else None
    passed = None
    if value is not None and spec.threshold is not None and spec.comparison != "none":
        passed = _compare(value, spec.comparison, spec.threshold)
    return Evaluation(value=value, numerator=num, denominator=den, passed=passed, excluded=excluded)


def platform_fine(spec: MetricSpec, ev: Evaluation) -> float:
    """The platform fine one shop-day's evaluation triggers (PDD: > 100 buyers and rate < 50%)."""
    rule = spec.fine
    if rule is None or ev.value is None:
        return 0.0
    return rule.yuan if ev.denominator > rule.min_units and ev.value < rule.below else 0.0


def misses(spec: MetricSpec, ev: Evaluation) -> int:
    """Units that missed a within_rate limit (each charged under a per-miss internal rule)."""
    if spec.kind is not Kind.within_rate:
        return 0
    return int(ev.denominator - ev.numerator)


@dataclass(slots=True)
class MetricAccumulator:
    """Everything one (platform, shop, agent, day) cell needs; picklable, with `merge`."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    conversations: int = 0
    turns: int = 0
    histogram: dict[str, int] = field(default_factory=dict)

    def tally(self, metric_id: str) -> Tally:
        t = self.tallies.get(metric_id)
        if t is None:
            t = self.tallies[metric_id] = Tally()
        return t

    def merge(self, other: MetricAccumulator) -> MetricAccumulator:
        for metric_id, t in other.tallies.items():
            self.tally(metric_id).merge(t)
        self.conversations += other.conversations
        self.turns += other.turns
        for label, n in other.histogram.items():
            self.histogram[label] = self.histogram.get(label, 0) + n
        return self


CellKey = tuple[str, str, str, dt.date]  # platform, shop, agent, day


# --------------------------------------------------------------------------------------------------
# Per conversation


@dataclass(frozen=True, slots=True)
class ConversationMetrics:
    """Turns, sessions and every metric's unit outcomes of one conversation."""

    conversation_id: str
    platform: str
    shop: str
    profile: MetricProfile
    turns: tuple[Turn, ...]
    sessions: tuple[Session, ...]
    units: dict[str, tuple[UnitOutcome, ...]]

    @property
    def response_seconds(self) -> list[float]:
        """Each answered turn's wait (valid replies only), in order."""
        return [s for t in self.turns if (s := t.response_seconds) is not None]

    @property
    def first_response_seconds(self) -> float | None:
        """Wait from the conversation's first buyer message to the first valid reply."""
        return self.sessions[0].response_seconds if self.sessions else None

    @property
    def unanswered_turns(self) -> int:
        return sum(1 for t in self.turns if t.outcome == "unanswered")

    def cells(self) -> dict[CellKey, MetricAccumulator]:
        """This conversation folded into per-(platform, shop, agent, day) accumulators."""
        out: dict[CellKey, MetricAccumulator] = {}
        self.fold_into(out)
        return out

    def fold_into(self, cells: dict[CellKey, MetricAccumulator]) -> None:
        """Add this conversation to a mapping of accumulators (created as needed)."""

        def cell(agent: str, day: dt.date) -> MetricAccumulator:
            key = (self.platform, self.shop, agent, day)
            acc = cells.get(key)
            if acc is None:
                acc = cells[key] = MetricAccumulator()
            return acc

        for metric_id, units in self.units.items():
            spec = self.profile.metrics[metric_id]
            for u in units:
                cell(u.agent_id, u.day).tally(metric_id).add(u, spec)
        for t in self.turns:
            if t.outcome == "bot" and self.profile.bot_reply is BotReply.exclude_turn:
                continue
            acc = cell(t.agent_id, t.day)
            acc.turns += 1
            label = histogram_bucket(t.response_seconds)
            acc.histogram[label] = acc.histogram.get(label, 0) + 1
        if self.turns:
            first = self.turns[0]
            cell(first.agent_id, first.day).conversations += 1

    def results(self) -> list[MetricResult]:
        """Each metric's value over this conversation alone (no platform fine: that is per shop-day)."""
        agent = _main_agent(self.turns)
        day = self.turns[0].day if self.turns else None
        out = []
        for metric_id, units in self.units.items():
            spec = self.profile.metrics[metric_id]
            tally = Tally()
            for u in units:
                tally.add(u, spec)
            ev = evaluate(spec, tally)
            out.append(_result(metric_id, spec, self.platform, self.shop, agent, day, ev, 0.0, ""))
        return out


def _main_agent(turns: Iterable[Turn]) -> str:
    counts: dict[str, int] = {}
    for t in turns:
        if t.agent_id:
            counts[t.agent_id] = counts.get(t.agent_id, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else ""


def conversation_metrics(conversation: Conversation, profile: MetricProfile | None = None) -> ConversationMetrics:
    """Segment a conversation and evaluate every metric of its platform's profile."""
    profile = profile or DEFAULT_PROFILES[conversation.platform]
    if profile.platform != conversation.platform:
        raise ValueError(f"profile is for {profile.platform}, conversation is on {conversation.platform}")
    turns, sessions = segment(conversation, profile)
    reported = conversation.buyer_reported  # once per conversation, not once per metric
    units = {
        metric_id: tuple(unit_outcomes(metric_id, spec, conversation, profile, turns, sessions, reported))
        for metric_id, spec in profile.metrics.items()
    }
    return ConversationMetrics(
        conversation_id=conversation.conversation_id,
        platform=conversation.platform,
        shop=conversation.shop,
        profile=profile,
        turns=tuple(turns),
        sessions=tuple(sessions),
        units=units,
    )


# --------------------------------------------------------------------------------------------------
# Aggregation


def _note(spec: MetricSpec, ev: Evaluation, extra: str) -> str:
    parts = []
    if spec.window is not None:
        parts.append(f"考核时段 {spec.window.label()}")
    names = {"window": "时段外", "reported": "举报/拉黑买家", "reported_buyers": "举报/拉黑买家", "bot": "机器人接待"}
    dropped = [f"{names.get(k, k)} {n}" for k, n in sorted(ev.excluded.items()) if n]
    if dropped:
        parts.append("未计入：" + "、".join(dropped))
    if extra:
        parts.append(extra)
    return "；".join(parts)


def _result(
    metric_id: str, spec: MetricSpec, platform: str, shop: str, agent: str | None, day: dt.date | None,
    ev: Evaluation, fine: float, extra: str,
) -> MetricResult:
    return MetricResult(
        metric=metric_id,
        title=spec.title,
        platform=platform,
        shop=shop,
        agent_id=agent,
        day=day,
        value=ev.value,
        threshold=spec.threshold,
        comparison=spec.comparison,
        passed=ev.passed,
        numerator=ev.numerator,
        denominator=ev.denominator,
        unit=spec.unit_label,
        fine_yuan=fine,
        note=_note(spec, ev, extra),
    )


class MetricsAggregator:
    """Streams conversations into per-(platform, shop, agent, day) accumulators and reports them.

    Picklable; `merge` combines aggregators built in worker processes (same profiles required).
    """

    def __init__(self, profiles: Mapping[str, MetricProfile] | None = None) -> None:
        self.profiles: dict[str, MetricProfile] = dict(profiles or DEFAULT_PROFILES)
        self.cells: dict[CellKey, MetricAccumulator] = {}

    def add(self, conversation: Conversation) -> ConversationMetrics | None:
        """Fold one conversation in; returns its per-conversation metrics (None: no profile)."""
        profile = self.profiles.get(conversation.platform)
        if profile is None:
            return None
        cm = conversation_metrics(conversation, profile)
        self.add_metrics(cm)
        return cm

    def add_metrics(self, cm: ConversationMetrics) -> None:
        cm.fold_into(self.cells)

    def _cell(self, key: CellKey) -> MetricAccumulator:
        acc = self.cells.get(key)
        if acc is None:
            acc = self.cells[key] = MetricAccumulator()
        return acc

    def merge(self, other: MetricsAggregator) -> MetricsAggregator:
        for platform in set(self.profiles) & set(other.profiles):
            if self.profiles[platform] != other.profiles[platform]:
                raise ValueError(f"cannot merge metrics computed under different {platform} profiles")
        for platform, profile in other.profiles.items():
            self.profiles.setdefault(platform, profile)
        for key, acc in other.cells.items():
            self._cell(key).merge(acc)
        return self

    @property
    def days(self) -> list[dt.date]:
        return sorted({k[3] for k in self.cells})

    def histogram(self, shop: str | None = None) -> dict[str, int]:
        """Turns per response-time bucket ('0-30s' … '>10m', '未回复'), bot-handled turns left out."""
        out = {label: 0 for label, _ in HISTOGRAM_BUCKETS} | {UNANSWERED_BUCKET: 0}
        for (_, s, _, _), acc in self.cells.items():
            if shop is None or s == shop:
                for label, n in acc.histogram.items():
                    out[label] = out.get(label, 0) + n
        return out

    def grouped(
        self, level: Literal["shop", "agent"] = "shop", period: Literal["day", "total"] = "day"
    ) -> dict[tuple[str, str, str | None, dt.date | None], MetricAccumulator]:
        """Accumulators merged to (platform, shop, agent or None, day or None)."""
        out: dict[tuple[str, str, str | None, dt.date | None], MetricAccumulator] = {}
        for (platform, shop, agent, day), acc in self.cells.items():
            key = (platform, shop, agent if level == "agent" else None, day if period == "day" else None)
            target = out.get(key)
            if target is None:
                target = out[key] = MetricAccumulator()
            target.merge(acc)
        return out

    def _shop_day_fines(self) -> dict[tuple[str, str, str], dict[dt.date, float]]:
        fines: dict[tuple[str, str, str], dict[dt.date, float]] = {}
        for (platform, shop, _, day), acc in self.grouped("shop", "day").items():
            assert day is not None
            profile = self.profiles[platform]
            for metric_id, spec in profile.metrics.items():
                if spec.fine is None or metric_id not in acc.tallies:
                    continue
                fine = platform_fine(spec, evaluate(spec, acc.tallies[metric_id]))
                if fine:
                    fines.setdefault((platform, shop, metric_id), {})[day] = fine
        return fines

    def results(
        self, level: Literal["shop", "agent"] = "shop", period: Literal["day", "total"] = "day"
    ) -> list[MetricResult]:
        """Every metric per shop (or agent) per day (or over the whole period), against its threshold.

        Platform fines (PDD 1000 yuan) are judged per shop-day and reported at shop level; over a
        period they add up day by day. Per-miss internal charges apply at every level.
        """
        fines = self._shop_day_fines() if level == "shop" else {}
        out: list[MetricResult] = []
        groups = self.grouped(level, period)
        for key in sorted(groups, key=lambda k: (k[0], k[1], k[2] or "", k[3] or dt.date.min)):
            platform, shop, agent, day = key
            acc = groups[key]
            profile = self.profiles[platform]
            for metric_id, spec in profile.metrics.items():
                tally = acc.tallies.get(metric_id)
                if tally is None:
                    continue
                ev = evaluate(spec, tally)
                fine, extra = 0.0, ""
                if spec.fine is not None:
                    by_day = fines.get((platform, shop, metric_id), {})
                    if level == "shop":
                        fine = by_day.get(day, 0.0) if day is not None else sum(by_day.values())
                        if day is None and by_day:
                            extra = f"{len(by_day)} 天触发平台罚款（每天 {spec.fine.yuan:g} 元）"
                    else:
                        extra = "平台罚款按店铺每天计算"
                if spec.fine_per_miss_yuan:
                    n = misses(spec, ev)
                    fine += n * spec.fine_per_miss_yuan
                    if n:
                        scope = "店内规定" if spec.fine_scope == "internal" else "平台规定"
                        extra = "；".join(x for x in (extra, f"{scope}：{n} 次 × {spec.fine_per_miss_yuan:g} 元") if x)
                out.append(_result(metric_id, spec, platform, shop, agent, day, ev, fine, extra))
        return out


def aggregate(
    conversations: Iterable[Conversation], profiles: Mapping[str, MetricProfile] | None = None
) -> MetricsAggregator:
    """Convenience: stream conversations into a fresh aggregator."""
    agg = MetricsAggregator(profiles)
    for conversation in conversations:
        agg.add(conversation)
    return agg
