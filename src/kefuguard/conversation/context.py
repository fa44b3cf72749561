"""The per-conversation context every conversation check reads, computed in one walk.

`build_context` is the audit's hot loop: it walks a conversation once, splits it into buyer turns
(consecutive buyer messages up to the next *manual* agent reply — bots and auto-replies never
answer a turn, the platforms' "人工回复"), times each turn, runs the message checker on what the
shop sent (bots and auto-replies included) and screens buyer messages for abuse. The checks
themselves (`kefuguard.conversation.units`) are small functions over the finished context, so
they stay cheap and never walk the messages with a checker again.

The context also records what the platform metrics leave out — a reported/blocked buyer, a turn a
bot answered first, a turn started outside the assessment hours — with the reason
(`ConversationContext.scope`), so a check skips what the metrics exclude and says why.

`CompiledConfig` is an `AuditConfig`'s word lists compiled to regexes, built once per config.
Pure: nothing here touches the outside world.
"""

from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import ahocorasick_rs
from pydantic import BaseModel

from kefuguard.checker import Checker, category_checker
from kefuguard.conversation.check_data import AUDIT_CHECK_IDS, ResolvedCheck, load_audit_checks
from kefuguard.conversation.commerce import CommerceFacts
from kefuguard.conversation.config import AuditConfig
from kefuguard.conversation.model import Conversation, Message, Role
from kefuguard.conversation.results import ConversationFinding, ConversationResult
from kefuguard.rules.model import PLATFORMS, Severity

if TYPE_CHECKING:
    from kefuguard.conversation.metrics import Turn as MetricTurn
    from kefuguard.conversation.profiles import MetricProfile

# ---------------------------------------------------------------------------------------- text
_NONWORD = re.compile(r"[\W_]+")
_CLAUSE = re.compile(r"[^，,。.！!？?~～；;…\s]+")
_QUESTION = re.compile(r"[?？]|吗|么|怎么|什么|哪|几|多少|能不能|可不可以|有没有|是不是|咋")
UTC8 = 28800  # Asia/Shanghai wall clock: UTC+8, no DST


def alternation(words: Iterable[str], *, flags: int = 0) -> re.Pattern[str] | None:
    items = sorted({w for w in words if w}, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in items), flags) if items else None


def seconds_of_day(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def in_window(tod: float, start: int, end: int) -> bool:
    """Seconds-of-day in [start, end), wrapping midnight when start > end."""
    if start <= end:
        return start <= tod < end
    return tod >= start or tod < end


def minutes(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}秒"
    if seconds < 3600:
        return f"{seconds / 60:.1f}分钟"
    return f"{seconds / 3600:.1f}小时"


def clip(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bare(text: str) -> str:
    """The text without punctuation, symbols and spaces (what counts as characters)."""
    return _NONWORD.sub("", text)


def tally(
    texts: Iterable[str], *, by_clause: bool, ack: re.Pattern[str] | None = None, ack_max: int = 0
) -> tuple[int, int]:
    """(句, characters) of `texts`: a 句 is a clause (`by_clause`) or a message; with `ack`, a message
    that only acknowledges (`is_ack`) counts its characters but no 句."""
    units = chars = 0
    ack_search = ack.search if ack is not None else None
    ack_len = ack_max * 3
    question, nonword, clause = _QUESTION.search, _NONWORD.sub, _CLAUSE.findall
    for text in texts:
        n = len(text)
        chars += n
        if (
            ack_search is not None
            and n <= ack_len
            and ack_search(text) is not None
            and not question(text)
            and len(nonword("", text)) <= ack_max
        ):
            continue
        units += (len(clause(text)) or 1) if by_clause else 1
    return units, chars


def asks(text: str) -> bool:
    return _QUESTION.search(text) is not None


def is_ack(text: str, ack: re.Pattern[str] | None, max_chars: int) -> bool:
    """好的/谢谢/ok/那我拍了…: short, asks nothing, acknowledges."""
    return (
        ack is not None
        and len(text) <= max_chars * 3
        and ack.search(text) is not None
        and not _QUESTION.search(text)
        and len(_NONWORD.sub("", text)) <= max_chars
    )


# ---------------------------------------------------------------------------------------- compiled
class CompiledConfig:
    """A config's word lists compiled to regexes and its checks resolved per platform, once per config."""

    def __init__(self, config: AuditConfig) -> None:
        data = load_audit_checks()
        ci = re.IGNORECASE
        self.greeting = alternation(config.greeting_words, flags=ci)
        self.closing = alternation(config.closing_words, flags=ci)
        curt = "|".join(re.escape(w) for w in sorted(config.curt_words, key=len, reverse=True))
        particles = "|".join(re.escape(w) for w in config.curt_particles)
        self.curt_only = re.compile(f"^(?:亲)?(?:{curt})+(?:{particles})*$") if curt else None
        self.curt_exempt = alternation(config.curt_exempt_words, flags=ci)
        self.ack = alternation(config.acknowledgement_words, flags=ci)
        self.refund_intent = alternation(config.refund_intent_words)
        self.refund_handled = alternation(config.refund_handled_words)
        self.order_confirm = alternation(config.order_confirm_words)
        topics = config.topics if config.topics is not None else data.topics
        groups = config.topic_groups if config.topic_groups is not None else data.topic_groups
        self.group_of = {t: g for g, members in groups.items() for t in members}
        self.topic_of: dict[str, frozenset[str]] = {}  # keyword → the topics it names
        for topic, words in topics.items():
            for w in words:
                self.topic_of[w.lower()] = self.topic_of.get(w.lower(), frozenset()) | {topic}
        self.topics = alternation(self.topic_of, flags=ci)
        # The same leftmost-longest, non-overlapping matches, found by Aho-Corasick at a fraction of
        # the regex's cost; only when no keyword has a case (the default lists: Chinese and digits),
        # so that ignoring case cannot change a match.
        uncased = all(w == w.upper() for w in self.topic_of)
        self._topic_ac = (
            ahocorasick_rs.AhoCorasick(sorted(self.topic_of), matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
            if self.topic_of and uncased
            else None
        )
        abuse_words = config.buyer_abuse_words if config.buyer_abuse_words is not None else data.buyer_abuse_words
        self.abuse_words = alternation(abuse_words, flags=ci)
        self.abuse_categories = frozenset(config.buyer_abuse_categories)
        self.abuse_exclude = frozenset(config.buyer_abuse_exclude_rules)
        self.night_start = seconds_of_day(config.night_start)
        self.night_end = seconds_of_day(config.night_end)
        hours = config.assessment_hours
        self.hours: tuple[int, int] | None = (
            (seconds_of_day(hours[0]), seconds_of_day(hours[1])) if hours is not None else None
        )
        self.initiated_gap = config.agent_initiated_gap_minutes * 60
        self.follow_start = config.follow_up_window_minutes[0] * 60
        self.follow_end = config.follow_up_window_minutes[1] * 60
        self.deduction = {s: config.severity_deductions[s] for s in Severity}
        self.checks: dict[str, dict[str, ResolvedCheck | None]] = {}
        for platform in PLATFORMS:
            per: dict[str, ResolvedCheck | None] = {}
            for cid, check in AUDIT_CHECK_IDS.items():
                platforms = config.check_platforms.get(cid)
                applies = (
                    ("all" in platforms or platform in platforms) if platforms is not None else check.applies_to(platform)
                )
                if not applies or cid in config.disabled_checks:
                    per[cid] = None
                    continue
                resolved = check.on(platform)
                severity = config.check_severities.get(cid)
                if severity is not None and severity is not resolved.severity:
                    resolved = ResolvedCheck(**{**resolved.__dict__, "severity": severity})
                per[cid] = resolved
            self.checks[platform] = per
        #: platform → the units to run there, with their resolved check (filled by the runner)
        self.plans: dict[str, list] = {}

    def topics_in(self, text: str) -> set[str]:
        """The topic groups `text` names."""
        found: set[str] = set()
        if self.topics is not None:
            topic_of = self.topic_of
            words = self._topic_ac.find_matches_as_strings(text) if self._topic_ac is not None else (
                self.topics.findall(text)
            )
            for word in words:
                found |= topic_of[word.lower()]
        return found


_COMPILED: dict[int, tuple[AuditConfig, CompiledConfig]] = {}


def compiled(config: AuditConfig) -> CompiledConfig:
    hit = _COMPILED.get(id(config))
    if hit is not None and hit[0] is config:
        return hit[1]
    built = CompiledConfig(config)
    if len(_COMPILED) >= 64:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[id(config)] = (config, built)
    return built


# ---------------------------------------------------------------------------------------- findings
_FINDING_DEFAULTS = {
    name: (f.default if f.default_factory is None else f.default_factory())
    for name, f in ConversationFinding.model_fields.items()
    if not f.is_required()
}
_FINDING_FIELDS = set(ConversationFinding.model_fields)
_RESULT_FIELDS = set(ConversationResult.model_fields)
_new_finding = ConversationFinding.__new__
_new_result = ConversationResult.__new__
_SET_FIELDS_SET = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__


def new_finding(**values) -> ConversationFinding:
    """A ConversationFinding from already-valid values, skipping validation (hot path)."""
    obj = _new_finding(ConversationFinding)
    d = dict(_FINDING_DEFAULTS)
    d.update(values)
    obj.__dict__.update(d)
    _SET_FIELDS_SET(obj, _FINDING_FIELDS)
    _SET_EXTRA(obj, None)
    _SET_PRIVATE(obj, None)
    return obj


def new_result(**values) -> ConversationResult:
    obj = _new_result(ConversationResult)
    obj.__dict__.update(values)
    _SET_FIELDS_SET(obj, _RESULT_FIELDS)
    _SET_EXTRA(obj, None)
    _SET_PRIVATE(obj, None)
    return obj


# ---------------------------------------------------------------------------------------- context
@dataclass(slots=True)
class Turn:
    """Consecutive buyer messages up to the manual reply that answers them (positions in `messages`)."""

    number: int
    first: int  #: the turn's first buyer message (the turn is timed from it)
    last: int  #: its last buyer message
    start: float  #: epoch seconds of the first buyer message
    reply: int | None = None  #: the manual reply that closed it; None: never answered by a person
    bot_reply: int | None = None  #: the first bot message inside the turn (metrics may time or drop the turn)
    auto_reply: int | None = None  #: the first agent-side auto-reply inside the turn
    wait: float | None = None  #: seconds from `start` to the manual reply


@dataclass(slots=True)
class ConversationContext:
    """Everything the conversation checks read, computed once per conversation by `build_context`."""

    conversation: Conversation
    messages: list[Message]
    platform: str
    config: AuditConfig
    words: CompiledConfig  #: the config's word lists as regexes
    checks: dict[str, ResolvedCheck | None]  #: audit.* id → the check as it applies here (None: off)
    times: list[float]  #: epoch seconds of every message
    turns: list[Turn]
    buyer: list[int]  #: positions of buyer messages
    manual: list[int]  #: positions of manual agent replies (人工回复)
    buyer_before: list[float | None]  #: per manual reply: when the buyer last wrote before it (None: never)
    message_findings: list[ConversationFinding]  #: message rules on what the shop sent, in message order
    attitude_flagged: set[int]  #: positions of shop messages a message rule flagged for attitude
    quick: list[int]  #: positions of manual replies sent as quick replies
    agent_messages: int  #: agent messages, auto-replies included (bots not)
    agent_counts: dict[str, int]  #: agent id → manual replies
    first_agent: str  #: the first agent id seen on an agent message
    order_time: dt.datetime | None  #: the first order time the messages carry
    refund_from: int | None  #: the first buyer message asking for a refund (when refund_handling is on)
    repeats: dict[str, list[int]]  #: manual reply text (stripped) → positions (when repeated_message is on)
    abuse_hits: list[str]  #: what the buyer said that is abuse, in order
    abuse_index: int | None  #: position of the first abusive buyer message
    buyer_reported: bool  #: the buyer was reported/blocked (the platform then drops their messages)
    profile: MetricProfile | None = None  #: the platform's metric profile (None: its built-in one)
    metric_turns: tuple[MetricTurn, ...] | None = None  #: `reply_turns()`, once computed or given
    turn_firsts: list[int] | None = None  #: first buyer message of each turn, for `turn_number`
    skipped: list[tuple[str, int, int, str]] = field(default_factory=list)
    """(check id, turn number, first buyer message, reason): turns a check skipped (`run_checks` fills it)"""
    commerce: CommerceFacts | None = None  #: the buyer's orders/refunds from the exports (None: none given)

    @property
    def is_reception(self) -> bool:
        """The buyer came to the shop (wrote before any manual reply); 催付/回访 chats are not receptions."""
        return bool(self.buyer) and bool(self.manual) and self.buyer[0] < self.manual[0]

    @property
    def response_seconds(self) -> list[float]:
        return [t.wait for t in self.turns if t.wait is not None]

    @property
    def first_response_seconds(self) -> float | None:
        return self.turns[0].wait if self.turns else None

    @property
    def agent_id(self) -> str:
        """The agent with most manual replies, else the first agent id seen; "" (unassigned) when none."""
        counts = self.agent_counts
        aid = max(counts, key=counts.__getitem__) if counts else self.first_agent
        return aid if aid.strip() else ""

    def in_assessment_hours(self, start: dt.datetime) -> bool:
        """Did a turn starting at `start` begin inside `AuditConfig.assessment_hours` (Shanghai wall
        clock)? Always true when the config sets none: the metrics' windows (`scope`) decide."""
        hours = self.words.hours
        return hours is None or in_window((start.timestamp() + UTC8) % 86400, hours[0], hours[1])

    def metric_profile(self) -> MetricProfile | None:
        """The platform's metric profile the turn checks follow (the context's, else the built-in one)."""
        if self.profile is not None:
            return self.profile
        from kefuguard.conversation.profiles import DEFAULT_PROFILES

        return DEFAULT_PROFILES.get(self.platform)

    def reply_turns(self) -> tuple[MetricTurn, ...]:
        """The conversation's turns exactly as the platform's reply metrics cut and time them.

        `audit.reply_time` and `audit.missed_reply` judge these, not `turns`, so a bot or an
        auto-reply, a session gap and the start of a turn are treated the same way by the checks as
        by the metrics (docs/metrics.md): a turn a bot closed under `bot_reply: exclude_turn` has
        outcome ``bot``, and a buyer writing again after the bot starts a turn timed from that
        message. The audit passes the turns its metrics already computed (`build_context`'s
        `reply_turns`); otherwise they are computed here once.
        """
        got = self.metric_turns
        if got is None:
            from kefuguard.conversation.metrics import segment

            profile = self.metric_profile()
            got = self.metric_turns = tuple(segment(self.conversation, profile)[0]) if profile is not None else ()
        return got

    def at_or_after(self, moment: float) -> int | None:
        """The first message sent at or after `moment` (epoch seconds); None: all were before it."""
        i = bisect_left(self.times, moment)
        return i if i < len(self.times) else None

    def turn_number(self, position: int) -> int:
        """The number of the turn (in `turns`) holding the buyer message at `position`."""
        turns = self.turns
        if len(turns) < 2:
            return 0
        firsts = self.turn_firsts
        if firsts is None:
            firsts = self.turn_firsts = [t.first for t in turns]
        return max(bisect_right(firsts, position) - 1, 0)

    def scope_of(self, turn: MetricTurn) -> str | None:
        """Why the platform's reply metrics leave this reply turn out; None: some metric counts it.

        Reasons, as the metrics name them (`UnitOutcome.excluded`): ``bot`` (the profile's
        `bot_reply` is ``exclude_turn`` and a bot closed the turn), ``window`` (the turn starts —
        or, for metrics anchored on the session start such as JD's, its session starts — outside
        the time window of every metric of the platform), ``reported`` (the buyer was reported or
        blocked and every metric that would count the turn drops such buyers).
        """
        from kefuguard.conversation.profiles import BotReply

        profile = self.metric_profile()
        if profile is None:
            return None
        if turn.outcome == "bot" and profile.bot_reply is BotReply.exclude_turn:
            return "bot"
        reason = None
        for s in profile.metrics.values():
            anchor = turn.session_start if s.window_on == "session_start" else turn.start
            if s.window is not None and not s.window.contains(anchor):
                reason = reason or "window"
                continue
            if self.buyer_reported and s.exclude_reported_buyers:
                reason = "reported"
                continue
            return None  # this metric counts the turn
        return reason

    def scope(self) -> dict[int, str]:
        """Reply-turn index (`reply_turns`) → why the metrics leave that turn out; absent: counted."""
        out: dict[int, str] = {}
        for t in self.reply_turns():
            reason = self.scope_of(t)
            if reason is not None:
                out[t.index] = reason
        return out


def build_context(
    conv: Conversation,
    checker: Checker,
    config: AuditConfig,
    profile: MetricProfile | None = None,
    reply_turns: Iterable[MetricTurn] | None = None,
    commerce: CommerceFacts | None = None,
) -> ConversationContext:
    """Walk the conversation once (the audit's hot loop) and return its context.

    `profile` is the platform's metric profile the turn checks follow (None: the built-in one);
    `reply_turns` are the turns its metrics cut the conversation into, when already computed;
    `commerce`: the buyer's orders and refunds from the shop's exports, when given."""
    cc = compiled(config)
    msgs = conv.messages
    check_text = checker.check
    check_buyers = config.check_buyer_messages
    # buyers are screened for abuse only: a checker holding just those rules is much cheaper
    check_buyer_text = category_checker(checker, cc.abuse_categories).check if check_buyers else None
    abuse_words = cc.abuse_words
    abuse_categories = cc.abuse_categories
    abuse_exclude = cc.abuse_exclude
    checks = cc.checks[conv.platform]
    # per-message facts only the checks that are on read, computed in this one walk
    # the refund export, when given, says when refunds were asked for: no guessing from the words
    refund_export = commerce is not None and commerce.refunds is not None
    intent = cc.refund_intent if checks["audit.refund_handling"] is not None and not refund_export else None
    repeats_on = checks["audit.repeated_message"] is not None
    refund_from: int | None = None
    repeats: dict[str, list[int]] = {}

    buyer_role, agent_role, bot_role = Role.buyer, Role.agent, Role.bot
    times: list[float] = []
    turns: list[Turn] = []
    open_turn: Turn | None = None
    buyer: list[int] = []
    manual: list[int] = []
    buyer_before: list[float | None] = []
    findings: list[ConversationFinding] = []
    attitude_flagged: set[int] = set()
    quick: list[int] = []
    agent_counts: dict[str, int] = {}
    abuse_hits: list[str] = []
    abuse_index: int | None = None
    order_time: dt.datetime | None = None
    last_buyer_ts: float | None = None
    first_agent = ""
    agent_n = 0
    reported = False

    for i, m in enumerate(msgs):
        role = m.role
        text = m.text
        ts = m.sent_at.timestamp()
        times.append(ts)
        if order_time is None and m.order_time is not None:
            order_time = m.order_time
        if m.buyer_reported:
            reported = True
        if role == buyer_role:
            buyer.append(i)
            if open_turn is None:
                open_turn = Turn(len(turns), i, i, ts)
                turns.append(open_turn)
            else:
                open_turn.last = i
            last_buyer_ts = ts
            if intent is not None and refund_from is None and intent.search(text):
                refund_from = i
            if check_buyers:
                hit = abuse_words.search(text) if abuse_words is not None else None
                if hit is not None:
                    abuse_hits.append(hit.group())
                    abuse_index = i if abuse_index is None else abuse_index
                else:
                    for f in check_buyer_text(text).findings:
                        if f.category.value in abuse_categories and f.rule_id not in abuse_exclude:
                            abuse_hits.append(f.matched)
                            abuse_index = i if abuse_index is None else abuse_index
                            break
            continue
        if role != agent_role and role != bot_role:
            continue  # system messages: order placed, transfers, timeouts
        # the shop sent it: message rules apply, to bots and auto-replies as well
        for f in check_text(text).findings:
            findings.append(
                new_finding(
                    check_id=f.rule_id,
                    kind="message",
                    category=f.category.value,
                    severity=f.severity,
                    title=f.title,
                    message_index=i,
                    start=f.start,
                    end=f.end,
                    matched=f.matched,
                    suggestion=f.suggestion,
                    penalty=f.penalty,
                    pack=f.pack,
                    refusal=f.refusal,
                )
            )
            if f.category.value == "attitude":
                attitude_flagged.add(i)
        if role == bot_role:
            if open_turn is not None and open_turn.bot_reply is None:
                open_turn.bot_reply = i
            continue
        if m.auto_reply:
            agent_n += 1
            if m.agent_id and not first_agent:
                first_agent = m.agent_id
            if open_turn is not None and open_turn.auto_reply is None:
                open_turn.auto_reply = i
            continue
        agent_n += 1
        aid = m.agent_id
        if aid:
            if not first_agent:
                first_agent = aid
            agent_counts[aid] = agent_counts.get(aid, 0) + 1
        # ---- a manual reply
        manual.append(i)
        buyer_before.append(last_buyer_ts)
        if open_turn is not None:
            open_turn.reply = i
            open_turn.wait = ts - open_turn.start
            open_turn = None
        if m.quick_reply:
            quick.append(i)
        if repeats_on:
            key = text.strip()
            seen = repeats.get(key)
            if seen is None:
                repeats[key] = [i]
            else:
                seen.append(i)

    return ConversationContext(
        conversation=conv,
        messages=msgs,
        platform=conv.platform,
        config=config,
        words=cc,
        checks=checks,
        times=times,
        turns=turns,
        buyer=buyer,
        manual=manual,
        buyer_before=buyer_before,
        message_findings=findings,
        attitude_flagged=attitude_flagged,
        quick=quick,
        agent_messages=agent_n,
        agent_counts=agent_counts,
        first_agent=first_agent,
        order_time=order_time,
        refund_from=refund_from,
        repeats=repeats,
        abuse_hits=abuse_hits,
        abuse_index=abuse_index,
        buyer_reported=reported,
        profile=profile,
        metric_turns=tuple(reply_turns) if reply_turns is not None else None,
        commerce=commerce,
    )
