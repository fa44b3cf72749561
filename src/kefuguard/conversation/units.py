"""The conversation checks (audit.*), one small registered unit per id of audit_checks.yaml.

Ruff's shape: each check is a function registered under its stable id with `@check(...)`. It
receives the per-conversation context (`kefuguard.conversation.context.ConversationContext`:
turns, reply gaps, manual replies, message findings, abuse hits, what the metrics exclude) and
the `AuditConfig` holding its thresholds, and yields `Hit`s: where (message index) and what
(detail). What a hit costs — title, category, severity, penalty, seed citation, suggestion, per
platform — is the YAML entry's, attached by the runner (`kefuguard.conversation.checks`); a unit
only runs where its check is on. `fields` names the `AuditConfig` fields a unit reads: a shop may
override exactly those under `checks: {<id>: {...}}` (see `AuditConfig`).

Adding a check: an entry in rules/data/audit_checks.yaml (id, title, seed quote, penalty,
suggestion), its thresholds in `AuditConfig`, and one function here. `tests/conversation/
test_units.py` keeps the YAML ids and this registry in step.

Scope: `audit.reply_time` and `audit.missed_reply` judge the turns exactly as the platform's reply
metrics cut and time them (`ConversationContext.reply_turns`: same bot and auto-reply handling,
same session gaps). A turn the metrics exclude (`ConversationContext.scope_of`: a reported buyer,
a bot-closed turn, a turn outside every metric's window) yields its hit with `skip` set to the
reason and `index` at the turn's first buyer message; the runner records it on the result
(`ConversationResult.skipped`), not as a finding.

Report order: findings keep the order the audit always reported them in. A hit's `order` key
sorts it: `(AT_MESSAGE, i, n)` with the message findings of message i, `(AT_TURN, turn, n)` with
its turn; a hit without a key sorts after those, by the unit's place in this module.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from kefuguard.conversation.config import AuditConfig
from kefuguard.conversation.context import (
    UTC8,
    ConversationContext,
    Turn,
    asks,
    bare,
    clip,
    in_window,
    is_ack,
    minutes,
    tally,
)
from kefuguard.conversation.model import SHANGHAI, Role

AT_MESSAGE, AT_TURN, AT_END = 0, 1, 2

BUYER_ABUSE_TAG = "买家辱骂"
BUYER_REPORTED_TAG = "买家已举报"
#: Findings about the buyer, not the agent: no deduction, not in the agent's finding counts.
NOT_CHARGED_TO_AGENT = frozenset({"audit.buyer_abuse"})

TOPIC_ZH = {
    "size": "尺码", "shipping": "发货物流", "invoice": "发票", "refund": "退换货/退款", "price": "价格优惠",
    "color": "颜色", "material": "材质", "quality": "质量", "stock": "库存", "usage": "使用方法",
}

PDD_REPORT_NOTE = (
    "拼多多：遇到无理取闹的顾客，可在客服聊天页面举报或拉黑；举报成功后，该买家发送的消息不计入回复率"
    "（不要向买家发送“我要举报你”等威胁语句）。"
)
PDD_REPORTED_NOTE = "本会话买家已被举报：其消息不计入回复率的分母。"


class Hit(NamedTuple):
    """One finding of a unit: the message it points at, what happened, and optionally its own suggestion."""

    index: int | None
    detail: str
    suggestion: str | None = None
    order: tuple[int, ...] | None = None
    #: not a finding: the turn `order[1]` would be flagged but the platform's metrics exclude it, for this
    #: reason (`ConversationContext.scope`); the runner records it on the result instead
    skip: str | None = None


UnitFn = Callable[[ConversationContext, AuditConfig], Sequence[Hit]]
NO_HITS: tuple[Hit, ...] = ()


@dataclass(frozen=True)
class CheckUnit:
    id: str
    fn: UnitFn
    rank: int  #: place in this module: the report order of hits without their own key
    fields: tuple[str, ...]  #: the AuditConfig fields (thresholds, word lists) the unit reads


REGISTRY: dict[str, CheckUnit] = {}


def check(check_id: str, *, fields: tuple[str, ...] = ()) -> Callable[[UnitFn], UnitFn]:
    """Register `fn` as the unit of conversation check `check_id` (one unit per id)."""

    def register(fn: UnitFn) -> UnitFn:
        if check_id in REGISTRY:
            raise ValueError(f"conversation check {check_id!r} registered twice")
        unknown = [f for f in fields if f not in AuditConfig.model_fields]
        if unknown:
            raise ValueError(f"{check_id}: unknown AuditConfig fields {unknown}")
        REGISTRY[check_id] = CheckUnit(check_id, fn, len(REGISTRY), tuple(fields))
        return fn

    return register


@lru_cache(maxsize=1)
def abusive_buyer_script() -> str:
    """The five-step handling of an abusive buyer (002_…), from the service-language library."""
    from kefuguard.service_language import load_service_language

    steps = sorted(load_service_language().abusive_buyer_steps, key=lambda s: s.order)
    return "；".join(f"第{s.order}步 {s.name}：{s.example}" for s in steps)


def acknowledgement(ctx: ConversationContext, turn: Turn) -> bool:
    """A buyer turn of only acknowledgements (好的/谢谢): it closes the talk and needs no answer."""
    msgs, ack, max_chars = ctx.messages, ctx.words.ack, ctx.config.acknowledgement_max_chars
    if turn.first == turn.last:
        return is_ack(msgs[turn.first].text, ack, max_chars)
    buyer = Role.buyer
    return all(
        is_ack(msgs[j].text, ack, max_chars) for j in range(turn.first, turn.last + 1) if msgs[j].role == buyer
    )


# ---------------------------------------------------------------------------------------- per turn
@check("audit.reply_time", fields=("reply_limit_seconds", "slow_reply_flag_seconds", "assessment_hours"))
def reply_time(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """A turn answered later than the platform's limit, cut and timed as the platform's metrics do
    (`ConversationContext.reply_turns`). A turn the metrics exclude is recorded with the reason.

    One event, one finding: a turn never answered is `audit.missed_reply`'s, never this check's."""
    hits: list[Hit] = []
    limit = config.slow_reply_seconds(ctx.platform)
    times = ctx.times
    for t in ctx.reply_turns():
        if t.outcome == "unanswered":
            continue
        number = ctx.turn_number(t.first_message)
        if t.outcome == "answered":
            wait, at = t.response_seconds, t.reply_message
        else:  # a bot closed it and the metrics drop it; was the person who came after the bot late?
            reply = ctx.turns[number].reply
            if reply is None or reply < t.first_message:
                continue  # never answered by a person: missed_reply records the skip
            wait, at = times[reply] - t.start.timestamp(), reply
        if wait is None or wait <= limit or not ctx.in_assessment_hours(t.start):
            continue
        detail = f"买家等待{minutes(wait)}才获回复（标准{minutes(limit)}）"
        if t.first_message != ctx.turns[number].first:
            detail += "；机器人接待后买家再次询问，从该消息起计时"
        skip = ctx.scope_of(t)
        hits.append(Hit(t.first_message if skip else at, detail, order=(AT_TURN, number, 0), skip=skip))
    return hits


@check("audit.missed_reply", fields=("acknowledgement_words", "acknowledgement_max_chars"))
def missed_reply(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """漏回复: a turn nobody answered the way the platform's metrics count replies (a bot reply does
    not answer unless the profile says `bot_reply: valid`); a turn of only 好的/谢谢 needs no answer."""
    hits: list[Hit] = []
    msgs = ctx.messages
    for t in ctx.reply_turns():
        if t.outcome == "answered":
            continue
        if t.outcome == "bot":
            reply = ctx.turns[ctx.turn_number(t.first_message)].reply
            if reply is not None and reply > t.first_message:
                continue  # a person answered after the bot: reply_time's to judge
        if _acknowledges(ctx, t.first_message, t.buyer_messages):
            continue
        hits.append(Hit(
            t.first_message, f"买家消息“{clip(msgs[t.first_message].text)}”始终没有得到回复",
            order=(AT_TURN, ctx.turn_number(t.first_message), 0), skip=ctx.scope_of(t),
        ))
    return hits


def _acknowledges(ctx: ConversationContext, first: int, count: int) -> bool:
    """Are the `count` buyer messages from position `first` on only acknowledgements (好的/谢谢)?"""
    msgs, ack, max_chars = ctx.messages, ctx.words.ack, ctx.config.acknowledgement_max_chars
    buyer = Role.buyer
    seen = 0
    for j in range(first, len(msgs)):
        if msgs[j].role == buyer:
            if not is_ack(msgs[j].text, ack, max_chars):
                return False
            seen += 1
            if seen == count:
                break
    return True


@check("audit.off_topic", fields=("topics", "topic_groups"))
def off_topic(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """答非所问, conservatively: both sides name a topic and the topics (or their groups) do not meet."""
    hits: list[Hit] = []
    if ctx.words.topics is None:
        return hits
    for t in ctx.turns:
        mismatch = _topic_mismatch(ctx, t)
        if mismatch is None:
            continue
        asked, answered, where = mismatch
        hits.append(Hit(
            where,
            f"买家问的是{'/'.join(TOPIC_ZH.get(x, x) for x in sorted(asked))}，"
            f"回复说的是{'/'.join(TOPIC_ZH.get(x, x) for x in sorted(answered))}",
            order=(AT_TURN, t.number, 1),
        ))
    return hits


def _topic_mismatch(ctx: ConversationContext, t: Turn) -> tuple[set[str], set[str], int] | None:
    """(topics asked, topics answered, first reply naming a topic) when the turn's topics do not meet, else None."""
    words = ctx.words
    if t.reply is None or words.topics is None:
        return None
    msgs = ctx.messages
    buyer, agent = Role.buyer, Role.agent
    if t.first == t.last:
        buyer_text = msgs[t.first].text
    else:
        buyer_text = "".join(msgs[j].text for j in range(t.first, t.last + 1) if msgs[j].role == buyer)
    asked = words.topics_in(buyer_text)
    if not asked:
        return None
    answered: set[str] = set()
    where = t.reply
    for j in range(t.reply, len(msgs)):
        m = msgs[j]
        if m.role == buyer:
            break
        if m.role is agent and not m.auto_reply:  # a manual reply
            topics = words.topics_in(m.text)
            if topics and not answered:
                where = j
            answered |= topics
    if not answered:
        return None
    group = words.group_of
    if {group.get(x, x) for x in asked} & {group.get(x, x) for x in answered}:
        return None  # related topics (材质 asked, 做工 answered) are an answer
    return asked, answered, where


@check(
    "audit.off_topic_semantic",
    fields=("semantic_checks", "off_topic_threshold", "acknowledgement_words", "acknowledgement_max_chars"),
)
def off_topic_semantic(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """答非所问 by meaning (`kefuguard.semantic.off_topic`), only with `semantic_checks` on.

    A turn is flagged when none of its manual replies answers any buyer message of the turn that
    asks something: relevance below the threshold and no topic group (the `topics` lists) named on
    both sides. Not judged: buyer messages that only acknowledge (好的/那我拍了) or abuse (the five-step
    reply is right there), holding templates (稍等，马上为您查询), and a turn the keyword check
    `audit.off_topic` already flags. One encoder batch per conversation."""
    if not config.semantic_checks or not ctx.turns:
        return NO_HITS
    from kefuguard.semantic.off_topic import (
        asks_something,
        is_template,
        off_topic_threshold,
        relevance_scores,
    )

    msgs = ctx.messages
    words = ctx.words
    buyer, agent = Role.buyer, Role.agent
    ack, ack_max, abuse = words.ack, config.acknowledgement_max_chars, words.abuse_words
    keyword_on = ctx.checks.get("audit.off_topic") is not None
    plans: list[tuple[Turn, list[int], list[int]]] = []
    pairs: list[tuple[str, str]] = []
    for t in ctx.turns:
        if t.reply is None:
            continue
        asked = [
            j for j in range(t.first, t.last + 1)
            if msgs[j].role == buyer and asks_something(msgs[j].text) and not is_ack(msgs[j].text, ack, ack_max)
            and j != ctx.abuse_index and not (abuse is not None and abuse.search(msgs[j].text))
        ]
        if not asked:
            continue
        replies = []
        for j in range(t.reply, len(msgs)):
            m = msgs[j]
            if m.role == buyer:
                break
            if m.role is agent and not m.auto_reply and m.text.strip() and not is_template(m.text):
                replies.append(j)
        if not replies or (keyword_on and _topic_mismatch(ctx, t) is not None):
            continue
        if words.topics is not None:
            group = words.group_of
            asked_groups = {group.get(x, x) for q in asked for x in words.topics_in(msgs[q].text)}
            if asked_groups & {group.get(x, x) for r in replies for x in words.topics_in(msgs[r].text)}:
                continue  # both sides name the same topic: an answer, whatever the similarity
        plans.append((t, asked, replies))
        pairs.extend((msgs[q].text, msgs[r].text) for q in asked for r in replies)
    if not pairs:
        return NO_HITS
    threshold = config.off_topic_threshold if config.off_topic_threshold is not None else off_topic_threshold()
    scores = iter(relevance_scores(pairs))
    hits: list[Hit] = []
    for t, asked, replies in plans:
        best = max(next(scores) for _ in range(len(asked) * len(replies)))
        if best >= threshold:
            continue
        question = "／".join(clip(msgs[q].text, 40) for q in asked)
        answer = "／".join(clip(msgs[r].text, 40) for r in replies)
        hits.append(Hit(
            replies[0],
            f"买家问：“{question}”｜客服答：“{answer}”（语义相关度{best:.2f}，低于{threshold:.2f}）",
            order=(AT_TURN, t.number, 2),
        ))
    return hits


# ---------------------------------------------------------------------------------------- per reply
@check("audit.night_contact", fields=("night_start", "night_end", "agent_initiated_gap_minutes"))
def night_contact(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """A manual message in the night window with no buyer message shortly before it (agent-initiated)."""
    hits: list[Hit] = []
    words = ctx.words
    gap, start, end = words.initiated_gap, words.night_start, words.night_end
    times = ctx.times
    for i, before in zip(ctx.manual, ctx.buyer_before, strict=True):
        ts = times[i]
        if (before is None or ts - before > gap) and in_window((ts + UTC8) % 86400, start, end):
            clock = dt.datetime.fromtimestamp(ts, SHANGHAI).strftime("%H:%M")
            hits.append(Hit(
                i,
                f"{clock} 主动联系买家（此前{minutes(config.agent_initiated_gap_minutes * 60)}内买家无消息）",
                order=(AT_MESSAGE, i, 1),
            ))
    return hits


@check("audit.curt_reply", fields=("curt_min_chars", "curt_words", "curt_particles", "curt_exempt_words"))
def curt_reply(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """A reply to the buyer of only 哦/嗯/不知道…, or under `curt_min_chars` characters with no courtesy word."""
    hits: list[Hit] = []
    words = ctx.words
    curt_min = config.curt_min_chars
    gate = curt_min * 4
    flagged = ctx.attitude_flagged
    msgs = ctx.messages
    for i, before in zip(ctx.manual, ctx.buyer_before, strict=True):
        text = msgs[i].text
        if before is None or len(text) >= gate or i in flagged:
            continue
        b = bare(text)
        if (b and words.curt_only is not None and words.curt_only.match(b)) or (
            len(b) < curt_min
            and not (words.curt_exempt is not None and words.curt_exempt.search(text))
            and not asks(text)  # 亲，在吗？ asks the buyer; it answers nothing
        ):
            hits.append(Hit(i, f"回复“{text}”仅{len(b)}个字", order=(AT_MESSAGE, i, 2)))
    return hits


@check("audit.refund_handling", fields=("refund_handling_minutes", "refund_intent_words", "refund_handled_words",
                                       "refund_export_reasons"))
def refund_handling(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """A refund request (拍错/重拍/不想买了) handled later than `refund_handling_minutes`, or never.

    With a refund export (`ctx.commerce.refunds`) each request of the buyer's made during the chat
    (or up to the limit before it) is judged by its own request and completion times; otherwise the
    buyer's words start the clock and an agent's handling words stop it."""
    if ctx.commerce is not None and ctx.commerce.refunds is not None:
        return _refunds_from_export(ctx, config)
    hits: list[Hit] = []
    start = ctx.refund_from
    if start is None:
        return NO_HITS  # nobody asked for a refund (most chats)
    intent, handled = ctx.words.refund_intent, ctx.words.refund_handled
    msgs = ctx.messages
    limit = config.refund_handling_minutes * 60
    times = ctx.times
    pending: tuple[int, float] | None = None
    for i in range(start, len(msgs)):
        m = msgs[i]
        if m.role == Role.buyer:
            if pending is None and intent.search(m.text):
                pending = (i, times[i])
        elif pending is not None and m.is_manual_reply and handled is not None and handled.search(m.text):
            idx, since = pending
            if times[i] - since > limit:
                hits.append(Hit(
                    idx,
                    f"退款诉求{minutes(times[i] - since)}后才处理（应在{config.refund_handling_minutes:g}分钟内）",
                    order=(AT_MESSAGE, i, 3),
                ))
            pending = None
    if pending is not None:
        idx, _ = pending
        hits.append(Hit(idx, f"退款诉求“{clip(ctx.messages[idx].text)}”未见处理"))
    return hits


def _refunds_from_export(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """One hit per exported refund request in scope that took longer than the limit or is unfinished."""
    times = ctx.times
    if not times:
        return NO_HITS
    limit = config.refund_handling_minutes * 60
    reasons = config.refund_export_reasons
    hits: list[Hit] = []
    for refund in ctx.commerce.refunds:  # type: ignore[union-attr]
        asked = refund.requested
        if not times[0] - limit <= asked <= times[-1]:
            continue  # asked for outside this chat: another conversation's (or nobody's) event
        if refund.reason and not any(word in refund.reason for word in reasons):
            continue  # 质量问题/七天无理由 need a return first: the 30-minute rule covers 拍错/重拍/不想买了
        at = ctx.at_or_after(asked)
        clock = dt.datetime.fromtimestamp(asked, SHANGHAI).strftime("%m-%d %H:%M")
        label = f"订单{refund.order_id}的退款申请（{refund.reason or '未注明原因'}，{clock}）"
        if refund.finished is None:
            hits.append(Hit(at, f"{label}导出时仍未完结（{refund.status or '无状态'}）"))
        elif refund.finished - asked > limit:
            hits.append(Hit(at, f"{label}{minutes(refund.finished - asked)}后才完结"
                                f"（应在{config.refund_handling_minutes:g}分钟内）"))
    return hits


# ---------------------------------------------------------------------------------------- whole conversation
@check("audit.greeting", fields=("greeting_words", "greeting_scope"))
def greeting(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """A reception whose first manual replies carry no greeting/敬语."""
    if not ctx.is_reception or _says(ctx, ctx.words.greeting, ctx.manual[: config.greeting_scope]):
        return NO_HITS
    return [Hit(ctx.manual[0], "开场的人工回复没有问候语/敬语")]


@check("audit.closing", fields=("closing_words", "closing_scope"))
def closing(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """A reception whose last manual replies carry no closing/敬语."""
    if not ctx.is_reception or _says(ctx, ctx.words.closing, ctx.manual[-config.closing_scope :]):
        return NO_HITS
    return [Hit(ctx.manual[-1], "结束时的人工回复没有结束语/敬语")]


def _says(ctx: ConversationContext, pattern: re.Pattern[str] | None, positions: Sequence[int]) -> bool:
    """Does any message at `positions` hold the word list's pattern (None: an empty list, never)?"""
    if pattern is None:
        return False
    msgs = ctx.messages
    return any(pattern.search(msgs[j].text) for j in positions)


@check(
    "audit.answer_ratio",
    fields=(
        "answer_ratio_min", "answer_ratio_max", "flag_high_answer_ratio", "answer_ratio_unit",
        "answer_ratio_min_buyer_messages", "acknowledgement_words", "acknowledgement_max_chars",
    ),
)
def answer_ratio(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """答问比: agent 句 per buyer 句 below the range (or above it, if set), else fewer characters than the buyer."""
    if len(ctx.buyer) < config.answer_ratio_min_buyer_messages:
        return NO_HITS
    msgs = ctx.messages
    by_clause = config.answer_ratio_unit == "clause"
    # 好的/谢谢 asks nothing: it does not count as a 句
    buyer_units, buyer_chars = tally(
        [msgs[j].text for j in ctx.buyer], by_clause=by_clause, ack=ctx.words.ack,
        ack_max=config.acknowledgement_max_chars,
    )
    agent_units, agent_chars = tally([msgs[j].text for j in ctx.manual], by_clause=by_clause)
    ratio = agent_units / buyer_units if buyer_units else 0.0
    unit = "句" if by_clause else "条"
    if ratio < config.answer_ratio_min or (config.flag_high_answer_ratio and ratio > config.answer_ratio_max):
        return [Hit(
            None,
            f"答问比{ratio:.0%}（客服{agent_units}{unit}/买家{buyer_units}{unit}），"
            f"应在{config.answer_ratio_min:.0%}-{config.answer_ratio_max:.0%}",
        )]
    if agent_chars < buyer_chars:
        return [Hit(None, f"客服回复字数{agent_chars}少于买家{buyer_chars}")]
    return NO_HITS


@check("audit.quick_replies", fields=("max_quick_replies",))
def quick_replies(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """More quick replies in one conversation than `max_quick_replies`; flagged at the first one too many."""
    limit = config.max_quick_replies
    if len(ctx.quick) > limit:
        return [Hit(ctx.quick[limit], f"一次会话使用快捷回复{len(ctx.quick)}次（不超过{limit}次）")]
    return NO_HITS


@check("audit.repeated_message", fields=("repeated_message_threshold",))
def repeated_message(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """The same manual message sent `repeated_message_threshold` times or more."""
    threshold = config.repeated_message_threshold
    if len(ctx.repeats) > len(ctx.manual) - threshold + 1:
        return NO_HITS  # too few replies share a text to reach the threshold
    hits: list[Hit] = []
    for text, where in ctx.repeats.items():
        if len(where) >= threshold:
            hits.append(Hit(where[threshold - 1], f"同一内容“{clip(text)}”发送了{len(where)}次"))
    return hits


@check("audit.order_confirm", fields=("order_confirm_minutes", "order_confirm_words"))
def order_confirm(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """Tmall/Taobao: an order placed during the chat is confirmed (订单信息核对) within 10 minutes.

    With an order export (`ctx.commerce.orders`) every order of the buyer's placed during the chat
    (or up to the window before it) is one event; otherwise the first order time the chat carries."""
    if not ctx.messages:
        return NO_HITS
    if ctx.commerce is not None and ctx.commerce.orders is not None:
        placed = [(o.created, f"订单{o.order_id}") for o in ctx.commerce.orders]
    elif ctx.order_time is not None:
        placed = [(ctx.order_time.timestamp(), "")]
    else:
        return NO_HITS
    times, pattern = ctx.times, ctx.words.order_confirm
    window = config.order_confirm_minutes * 60
    hits: list[Hit] = []
    for at_time, label in placed:
        if not times[0] - window <= at_time <= times[-1]:
            continue  # an order from before this chat (after-sales) or after it: nothing to confirm here
        if not _confirmed(ctx, pattern, at_time, window):
            clock = f"（{dt.datetime.fromtimestamp(at_time, SHANGHAI):%H:%M}下单）" if label else ""
            hits.append(Hit(ctx.at_or_after(at_time),
                            f"买家{label}下单后{config.order_confirm_minutes:g}分钟内未核对订单信息{clock}"))
    return hits


def _confirmed(ctx: ConversationContext, pattern, placed: float, window: float) -> bool:
    """A manual reply confirming the order within `window` seconds after it was placed."""
    if pattern is None:
        return False
    msgs, times = ctx.messages, ctx.times
    first = ctx.at_or_after(placed)
    for j in range(len(msgs) if first is None else first, len(msgs)):
        if times[j] - placed > window:
            break
        if msgs[j].is_manual_reply and pattern.search(msgs[j].text):
            return True
    return False


@check(
    "audit.follow_up",
    fields=("follow_up_window_minutes", "follow_up_min_gap_seconds", "acknowledgement_words",
            "acknowledgement_max_chars", "closing_words"),
)
def follow_up(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """003: a pre-sale buyer who stops answering is asked again within 10-20 minutes."""
    hits: list[Hit] = []
    if ctx.order_time is not None or ctx.abuse_hits or not ctx.turns:
        return hits
    turn = ctx.turns[-1]
    if turn.reply is None:
        return hits  # unanswered: that is 漏回复, not a missing follow-up
    if acknowledgement(ctx, turn):
        return hits  # the buyer closed the talk (好的/谢谢): nobody went silent
    after = [j for j in ctx.manual if j >= turn.reply]
    closing_words = ctx.words.closing
    if closing_words is not None and closing_words.search(ctx.messages[after[-1]].text):
        return hits  # the agent said goodbye: the talk was closed, not abandoned
    times = ctx.times
    answered_at = times[turn.reply]
    gap = config.follow_up_min_gap_seconds
    later = [times[j] - answered_at for j in after if times[j] - answered_at > gap]
    if any(d <= ctx.words.follow_end for d in later):
        return hits
    lo, hi = config.follow_up_window_minutes
    if later:
        detail = f"买家无回应，{minutes(later[0])}后才再次询问（应在{lo:g}-{hi:g}分钟内）"
    else:
        detail = f"买家无回应，客服未在{lo:g}-{hi:g}分钟内再次询问"
    hits.append(Hit(after[-1], detail))
    return hits


@check("audit.tone", fields=("semantic_checks", "tone_threshold", "curt_min_chars"))
def tone(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """Rude or unfriendly tone without a listed word (`kefuguard.semantic.tone`), only with `semantic_checks` on.

    Judges the manual replies no message rule already flagged (the rule's finding is the more specific
    one); replies shorter than `curt_min_chars` are `audit.curt_reply`'s. One encoder batch per conversation."""
    if not config.semantic_checks or not ctx.manual:
        return NO_HITS
    from kefuguard.semantic.tone import TONE_SUGGESTION, TONE_ZH, check_tones

    msgs = ctx.messages
    ruled = {f.message_index for f in ctx.message_findings}
    todo = [i for i in ctx.manual if i not in ruled and len(bare(msgs[i].text)) >= config.curt_min_chars]
    if not todo:
        return NO_HITS
    hits: list[Hit] = []
    for i, result in zip(todo, check_tones([msgs[i].text for i in todo], threshold=config.tone_threshold), strict=True):
        if result.rude and result.category is not None:
            hits.append(Hit(
                i,
                f"语气疑似{TONE_ZH[result.category]}（语义模型，概率{result.probability:.0%}）：“{clip(msgs[i].text, 40)}”",
                suggestion=TONE_SUGGESTION[result.category],
                order=(AT_MESSAGE, i, 4),
            ))
    return hits


@check(
    "audit.buyer_abuse",
    fields=("check_buyer_messages", "buyer_abuse_categories", "buyer_abuse_exclude_rules", "buyer_abuse_words"),
)
def buyer_abuse(ctx: ConversationContext, config: AuditConfig) -> Sequence[Hit]:
    """The buyer insulted the agent (no deduction for the agent): the five-step handling as suggestion."""
    if not ctx.abuse_hits:
        return NO_HITS
    detail = "买家消息含辱骂：" + "、".join(dict.fromkeys(ctx.abuse_hits))
    if ctx.platform == "pinduoduo":
        detail += "。" + PDD_REPORT_NOTE + (PDD_REPORTED_NOTE if ctx.buyer_reported else "")
    return [Hit(ctx.abuse_index, detail, suggestion=abusive_buyer_script())]
