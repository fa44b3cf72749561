"""Conversation-level audit: message rules on every agent/bot message plus the audit.* checks.

`audit_conversation` walks a conversation once. It splits it into buyer turns (consecutive buyer
messages up to the next *manual* agent reply — bots and auto-replies never answer a turn, the
platforms' "人工回复"), times each turn, runs the message checker on what the shop sent, and
evaluates the conversation checks of `rules/data/audit_checks.yaml`: reply time, 漏回复, 答问比,
quick replies, follow-up of a silent buyer, greeting/closing 敬语, curt replies, order
confirmation, refund handling, night contact, repeated messages, 答非所问 and buyer abuse.

What each check costs (fine, points, who imposes it) and where the seed says so is data in the
YAML; every threshold is in `AuditConfig`. Pure: the YAML is read once per process and nothing
else touches the outside world. The loop avoids pydantic validation: results are built from
values that are already valid.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kefuguard.checker import Checker, category_checker
from kefuguard.conversation.config import AuditConfig, default_config
from kefuguard.conversation.model import SHANGHAI, Conversation, Role
from kefuguard.conversation.results import ConversationFinding, ConversationResult
from kefuguard.rules.model import PLATFORMS, Penalty, Severity, Source

BUYER_ABUSE_TAG = "买家辱骂"
BUYER_REPORTED_TAG = "买家已举报"
#: Findings about the buyer, not the agent: no deduction, not in the agent's finding counts.
NOT_CHARGED_TO_AGENT = frozenset({"audit.buyer_abuse"})


# ---------------------------------------------------------------------------------------- data
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuditCheckOverride(_Strict):
    """How one platform differs for a check: what it costs there and the seed sentence saying so."""

    title: str | None = None
    severity: Severity | None = None
    penalty: Penalty | None = None
    source: Source | None = None
    suggestion: str | None = None


class AuditCheck(_Strict):
    """One conversation-level check (audit.*), documented like a message rule."""

    id: str = Field(pattern=r"^audit\.[a-z_]+$")
    title: str = Field(min_length=2)
    category: str = Field(min_length=2)
    severity: Severity
    penalty: Penalty
    source: Source
    suggestion: str = Field(min_length=2)
    platforms: tuple[str, ...] = ("all",)
    overrides: dict[str, AuditCheckOverride] = Field(default_factory=dict)

    @field_validator("platforms")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for p in value:
            if p != "all" and p not in PLATFORMS:
                raise ValueError(f"unknown platform {p!r}")
        return value

    @field_validator("overrides")
    @classmethod
    def _override_platforms(cls, value: dict[str, AuditCheckOverride]) -> dict[str, AuditCheckOverride]:
        for p in value:
            if p not in PLATFORMS:
                raise ValueError(f"override for unknown platform {p!r}")
        return value

    def applies_to(self, platform: str) -> bool:
        return "all" in self.platforms or platform in self.platforms

    def on(self, platform: str) -> ResolvedCheck:
        """The check as it applies on `platform` (its override merged in)."""
        ov = self.overrides.get(platform) or AuditCheckOverride()
        return ResolvedCheck(
            id=self.id,
            title=ov.title or self.title,
            category=self.category,
            severity=ov.severity or self.severity,
            penalty=ov.penalty or self.penalty,
            source=ov.source or self.source,
            suggestion=ov.suggestion or self.suggestion,
        )


@dataclass(frozen=True)
class ResolvedCheck:
    id: str
    title: str
    category: str
    severity: Severity
    penalty: Penalty
    source: Source
    suggestion: str


class AuditChecksFile(_Strict):
    version: str
    checks: dict[str, AuditCheck]
    topics: dict[str, tuple[str, ...]]
    topic_groups: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    buyer_abuse_words: tuple[str, ...]


def data_path() -> Path:
    return Path(str(resources.files("kefuguard.rules") / "data" / "audit_checks.yaml"))


@lru_cache(maxsize=1)
def load_audit_checks() -> AuditChecksFile:
    """The packaged audit_checks.yaml, validated once per process."""
    path = data_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        for cid, entry in (raw.get("checks") or {}).items():
            entry.setdefault("id", cid)
        data = AuditChecksFile.model_validate(raw)
    except (OSError, AttributeError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"{path}: invalid audit check data: {exc}") from exc
    for cid, check in data.checks.items():
        if cid != check.id:
            raise ValueError(f"{path}: check key {cid!r} differs from its id {check.id!r}")
    return data


AUDIT_CHECK_IDS: dict[str, AuditCheck] = dict(load_audit_checks().checks)


@lru_cache(maxsize=1)
def abusive_buyer_script() -> str:
    """The five-step handling of an abusive buyer (002_…), from the service-language library."""
    from kefuguard.service_language import load_service_language

    steps = sorted(load_service_language().abusive_buyer_steps, key=lambda s: s.order)
    return "；".join(f"第{s.order}步 {s.name}：{s.example}" for s in steps)


TOPIC_ZH = {
    "size": "尺码", "shipping": "发货物流", "invoice": "发票", "refund": "退换货/退款", "price": "价格优惠",
    "color": "颜色", "material": "材质", "quality": "质量", "stock": "库存", "usage": "使用方法",
}

PDD_REPORT_NOTE = (
    "拼多多：遇到无理取闹的顾客，可在客服聊天页面举报或拉黑；举报成功后，该买家发送的消息不计入回复率"
    "（不要向买家发送“我要举报你”等威胁语句）。"
)
PDD_REPORTED_NOTE = "本会话买家已被举报：其消息不计入回复率的分母。"


# ---------------------------------------------------------------------------------------- compiled
def _alternation(words: Iterable[str], *, flags: int = 0) -> re.Pattern[str] | None:
    items = sorted({w for w in words if w}, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in items), flags) if items else None


_NONWORD = re.compile(r"[\W_]+")
_CLAUSE = re.compile(r"[^，,。.！!？?~～；;…\s]+")
_QUESTION = re.compile(r"[?？]|吗|么|怎么|什么|哪|几|多少|能不能|可不可以|有没有|是不是|咋")


class _Compiled:
    """A config's word lists compiled to regexes, built once per config object."""

    def __init__(self, config: AuditConfig) -> None:
        data = load_audit_checks()
        ci = re.IGNORECASE
        self.greeting = _alternation(config.greeting_words, flags=ci)
        self.closing = _alternation(config.closing_words, flags=ci)
        curt = "|".join(re.escape(w) for w in sorted(config.curt_words, key=len, reverse=True))
        particles = "|".join(re.escape(w) for w in config.curt_particles)
        self.curt_only = re.compile(f"^(?:亲)?(?:{curt})+(?:{particles})*$") if curt else None
        self.curt_exempt = _alternation(config.curt_exempt_words, flags=ci)
        self.ack = _alternation(config.acknowledgement_words, flags=ci)
        self.refund_intent = _alternation(config.refund_intent_words)
        self.refund_handled = _alternation(config.refund_handled_words)
        self.order_confirm = _alternation(config.order_confirm_words)
        topics = config.topics if config.topics is not None else data.topics
        groups = config.topic_groups if config.topic_groups is not None else data.topic_groups
        self.group_of = {t: g for g, members in groups.items() for t in members}
        self.topic_of: dict[str, frozenset[str]] = {}  # keyword → the topics it names
        for topic, words in topics.items():
            for w in words:
                self.topic_of[w.lower()] = self.topic_of.get(w.lower(), frozenset()) | {topic}
        self.topics = _alternation(self.topic_of, flags=ci)
        abuse_words = config.buyer_abuse_words if config.buyer_abuse_words is not None else data.buyer_abuse_words
        self.abuse_words = _alternation(abuse_words, flags=ci)
        self.abuse_categories = frozenset(config.buyer_abuse_categories)
        self.abuse_exclude = frozenset(config.buyer_abuse_exclude_rules)
        self.night_start = _seconds(config.night_start)
        self.night_end = _seconds(config.night_end)
        self.hours_start = _seconds(config.assessment_hours[0])
        self.hours_end = _seconds(config.assessment_hours[1])
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

    def topics_in(self, text: str) -> set[str]:
        """The topic groups `text` names."""
        found: set[str] = set()
        if self.topics is not None:
            for m in self.topics.finditer(text):
                found |= self.topic_of[m.group().lower()]
        return found


def _seconds(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


_COMPILED: dict[int, tuple[AuditConfig, _Compiled]] = {}


def _compiled(config: AuditConfig) -> _Compiled:
    hit = _COMPILED.get(id(config))
    if hit is not None and hit[0] is config:
        return hit[1]
    compiled = _Compiled(config)
    if len(_COMPILED) >= 32:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[id(config)] = (config, compiled)
    return compiled


def _in_window(tod: float, start: int, end: int) -> bool:
    """Seconds-of-day in [start, end), wrapping midnight when start > end."""
    if start <= end:
        return start <= tod < end
    return tod >= start or tod < end


# ---------------------------------------------------------------------------------------- building
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


def _finding(**values) -> ConversationFinding:
    """A ConversationFinding from already-valid values, skipping validation (hot path)."""
    obj = _new_finding(ConversationFinding)
    d = dict(_FINDING_DEFAULTS)
    d.update(values)
    obj.__dict__.update(d)
    _SET_FIELDS_SET(obj, _FINDING_FIELDS)
    _SET_EXTRA(obj, None)
    _SET_PRIVATE(obj, None)
    return obj


def _result(**values) -> ConversationResult:
    obj = _new_result(ConversationResult)
    obj.__dict__.update(values)
    _SET_FIELDS_SET(obj, _RESULT_FIELDS)
    _SET_EXTRA(obj, None)
    _SET_PRIVATE(obj, None)
    return obj


class _Out:
    """Findings and the score deduction of one conversation."""

    __slots__ = ("checks", "config", "deduction", "findings")

    def __init__(self, checks: dict[str, ResolvedCheck | None], config: AuditConfig) -> None:
        self.checks = checks
        self.config = config
        self.findings: list[ConversationFinding] = []
        self.deduction = 0.0

    def conv(self, cid: str, detail: str, index: int | None, *, suggestion: str | None = None) -> None:
        check = self.checks[cid]
        if check is None:
            return
        self.findings.append(
            _finding(
                check_id=cid,
                kind="conversation",
                category=check.category,
                severity=check.severity,
                title=check.title,
                detail=detail,
                message_index=index,
                suggestion=check.suggestion if suggestion is None else suggestion,
                penalty=check.penalty,
            )
        )
        self.deduction += self.config.deduction(cid, check.severity)


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}秒"
    if seconds < 3600:
        return f"{seconds / 60:.1f}分钟"
    return f"{seconds / 3600:.1f}小时"


# ---------------------------------------------------------------------------------------- audit
def audit_conversation(
    conv: Conversation, checker: Checker, config: AuditConfig | None = None
) -> ConversationResult:
    """Audit one conversation: message findings, conversation checks, timings and the QA score."""
    config = config or default_config()
    if checker.platform != conv.platform:
        raise ValueError(f"checker is for {checker.platform}, conversation {conv.conversation_id} is {conv.platform}")
    cc = _compiled(config)
    platform = conv.platform
    checks = cc.checks[platform]
    out = _Out(checks, config)
    findings = out.findings
    msgs = conv.messages
    check_text = checker.check
    # buyers are screened for abuse only: a checker holding just those rules is much cheaper
    check_buyer_text = category_checker(checker, cc.abuse_categories).check
    ded = cc.deduction
    check_deductions = config.check_deductions

    buyer, agent, bot = Role.buyer, Role.agent, Role.bot
    times: list[float] = []
    turns: list[list] = []  # [first index, last index, start ts, reply index or None]
    open_turn: list | None = None
    manual: list[int] = []
    last_buyer_ts: float | None = None
    buyer_n = agent_n = 0
    buyer_chars = agent_chars = 0
    buyer_units = agent_units = 0
    by_clause = config.answer_ratio_unit == "clause"
    quick = 0
    quick_flag_index: int | None = None
    repeats: dict[str, list[int]] = {}
    attitude_flagged: set[int] = set()
    refund_pending: tuple[int, float] | None = None
    refund_limit = config.refund_handling_minutes * 60
    abuse_hits: list[str] = []
    abuse_index: int | None = None
    order_time: dt.datetime | None = None
    agent_counts: dict[str, int] = {}
    first_agent = ""
    check_buyers = config.check_buyer_messages
    night_on = checks["audit.night_contact"] is not None
    curt_on = checks["audit.curt_reply"] is not None
    refund_on = checks["audit.refund_handling"] is not None
    curt_min = config.curt_min_chars
    curt_gate = curt_min * 4
    ack_max = config.acknowledgement_max_chars
    first_buyer: int | None = None
    first_manual: int | None = None

    for i, m in enumerate(msgs):
        role = m.role
        text = m.text
        ts = m.sent_at.timestamp()
        times.append(ts)
        if order_time is None and m.order_time is not None:
            order_time = m.order_time
        if role == buyer:
            buyer_n += 1
            if first_buyer is None:
                first_buyer = i
            buyer_chars += len(text)
            if not _is_ack(text, cc.ack, ack_max):  # 好的/谢谢 asks nothing: it does not count as a 句
                buyer_units += (len(_CLAUSE.findall(text)) or 1) if by_clause else 1
            if open_turn is None:
                open_turn = [i, i, ts, None]
                turns.append(open_turn)
            else:
                open_turn[1] = i
            last_buyer_ts = ts
            if refund_on and refund_pending is None and cc.refund_intent is not None and cc.refund_intent.search(text):
                refund_pending = (i, ts)
            if check_buyers:
                hit = cc.abuse_words.search(text) if cc.abuse_words is not None else None
                if hit is not None:
                    abuse_hits.append(hit.group())
                    abuse_index = i if abuse_index is None else abuse_index
                else:
                    for f in check_buyer_text(text).findings:
                        if f.category.value in cc.abuse_categories and f.rule_id not in cc.abuse_exclude:
                            abuse_hits.append(f.matched)
                            abuse_index = i if abuse_index is None else abuse_index
                            break
            continue
        if role != agent and role != bot:
            continue  # system messages: order placed, transfers, timeouts
        # the shop sent it: message rules apply, to bots and auto-replies as well
        for f in check_text(text).findings:
            sev = f.severity
            findings.append(
                _finding(
                    check_id=f.rule_id,
                    kind="message",
                    category=f.category.value,
                    severity=sev,
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
            points = check_deductions.get(f.rule_id)
            out.deduction += ded[sev] if points is None else points
            if f.category.value == "attitude":
                attitude_flagged.add(i)
        if role == bot:
            continue
        agent_n += 1
        aid = m.agent_id
        if aid and not first_agent:
            first_agent = aid
        if m.auto_reply:
            continue
        # ---- a manual reply
        if aid:
            agent_counts[aid] = agent_counts.get(aid, 0) + 1
        manual.append(i)
        if first_manual is None:
            first_manual = i
        agent_chars += len(text)
        agent_units += (len(_CLAUSE.findall(text)) or 1) if by_clause else 1
        if open_turn is not None:
            open_turn[3] = i
            open_turn = None
        if m.quick_reply:
            quick += 1
            if quick == config.max_quick_replies + 1:
                quick_flag_index = i
        key = text.strip()
        seen = repeats.get(key)
        if seen is None:
            repeats[key] = [i]
        else:
            seen.append(i)
        if night_on and (last_buyer_ts is None or ts - last_buyer_ts > cc.initiated_gap):
            tod = (ts + 28800) % 86400  # Asia/Shanghai wall clock (UTC+8, no DST)
            if _in_window(tod, cc.night_start, cc.night_end):
                clock = dt.datetime.fromtimestamp(ts, SHANGHAI).strftime("%H:%M")
                out.conv("audit.night_contact", f"{clock} 主动联系买家（此前{_minutes(config.agent_initiated_gap_minutes * 60)}内买家无消息）", i)
        if curt_on and last_buyer_ts is not None and len(text) < curt_gate and i not in attitude_flagged:
            bare = _NONWORD.sub("", text)
            if (bare and cc.curt_only is not None and cc.curt_only.match(bare)) or (
                len(bare) < curt_min
                and not (cc.curt_exempt is not None and cc.curt_exempt.search(text))
                and not _QUESTION.search(text)  # 亲，在吗？ asks the buyer; it answers nothing
            ):
                out.conv("audit.curt_reply", f"回复“{text}”仅{len(bare)}个字", i)
        if refund_pending is not None and cc.refund_handled is not None and cc.refund_handled.search(text):
            idx, since = refund_pending
            if ts - since > refund_limit:
                out.conv("audit.refund_handling", f"退款诉求{_minutes(ts - since)}后才处理（应在{config.refund_handling_minutes:g}分钟内）", idx)
            refund_pending = None

    # ---- after the walk: per turn
    response: list[float] = []
    first_response: float | None = None
    slow_limit = config.slow_reply_seconds(platform)
    slow_on = checks["audit.reply_time"] is not None
    missed_on = checks["audit.missed_reply"] is not None
    off_topic_on = checks["audit.off_topic"] is not None
    ack = cc.ack
    for n, (first, last, start, reply) in enumerate(turns):
        if reply is None:
            if missed_on and not _acknowledgement(msgs, first, last, ack, config.acknowledgement_max_chars):
                out.conv("audit.missed_reply", f"买家消息“{_clip(msgs[first].text)}”始终没有人工回复", first)
            continue
        wait = times[reply] - start
        response.append(wait)
        if n == 0:
            first_response = wait
        if slow_on and wait > slow_limit and _in_window((start + 28800) % 86400, cc.hours_start, cc.hours_end):
            out.conv("audit.reply_time", f"买家等待{_minutes(wait)}才获人工回复（标准{_minutes(slow_limit)}）", reply)
        if off_topic_on and cc.topics is not None:
            _off_topic(out, cc, msgs, first, last, reply)

    if refund_pending is not None:
        idx, _ = refund_pending
        out.conv("audit.refund_handling", f"退款诉求“{_clip(msgs[idx].text)}”未见处理", idx)

    if first_buyer is not None and first_manual is not None and first_buyer < first_manual:
        # a reception (the buyer came to the shop); agent-initiated 催付/回访 chats are not judged
        if checks["audit.greeting"] is not None and not any(
            cc.greeting is not None and cc.greeting.search(msgs[j].text) for j in manual[: config.greeting_scope]
        ):
            out.conv("audit.greeting", "开场的人工回复没有问候语/敬语", manual[0])
        if checks["audit.closing"] is not None and not any(
            cc.closing is not None and cc.closing.search(msgs[j].text) for j in manual[-config.closing_scope :]
        ):
            out.conv("audit.closing", "结束时的人工回复没有结束语/敬语", manual[-1])

    if checks["audit.answer_ratio"] is not None and buyer_n >= config.answer_ratio_min_buyer_messages:
        ratio = agent_units / buyer_units if buyer_units else 0.0
        unit = "句" if by_clause else "条"
        if ratio < config.answer_ratio_min or (config.flag_high_answer_ratio and ratio > config.answer_ratio_max):
            out.conv(
                "audit.answer_ratio",
                f"答问比{ratio:.0%}（客服{agent_units}{unit}/买家{buyer_units}{unit}），"
                f"应在{config.answer_ratio_min:.0%}-{config.answer_ratio_max:.0%}",
                None,
            )
        elif agent_chars < buyer_chars:
            out.conv("audit.answer_ratio", f"客服回复字数{agent_chars}少于买家{buyer_chars}", None)

    if quick_flag_index is not None:
        out.conv("audit.quick_replies", f"一次会话使用快捷回复{quick}次（不超过{config.max_quick_replies}次）", quick_flag_index)

    if checks["audit.repeated_message"] is not None:
        threshold = config.repeated_message_threshold
        for text, where in repeats.items():
            if len(where) >= threshold:
                out.conv("audit.repeated_message", f"同一内容“{_clip(text)}”发送了{len(where)}次", where[threshold - 1])

    if checks["audit.order_confirm"] is not None and order_time is not None and msgs:
        _order_confirm(out, cc, config, msgs, times, order_time)

    if checks["audit.follow_up"] is not None and order_time is None and not abuse_hits and turns:
        _follow_up(out, cc, config, msgs, times, turns, manual)

    buyer_reported = any(m.buyer_reported for m in msgs)
    tags: list[str] = []
    if abuse_hits:
        tags.append(BUYER_ABUSE_TAG)
        detail = "买家消息含辱骂：" + "、".join(dict.fromkeys(abuse_hits))
        if platform == "pinduoduo":
            detail += "。" + PDD_REPORT_NOTE + (PDD_REPORTED_NOTE if buyer_reported else "")
        out.conv("audit.buyer_abuse", detail, abuse_index, suggestion=abusive_buyer_script())
    if buyer_reported:
        tags.append(BUYER_REPORTED_TAG)

    agent_id = max(agent_counts, key=agent_counts.__getitem__) if agent_counts else first_agent
    started = msgs[0].sent_at if msgs else None
    day = dt.datetime.fromtimestamp(times[0], SHANGHAI).date() if msgs else None
    return _result(
        conversation_id=conv.conversation_id,
        platform=platform,
        shop=conv.shop,
        agent_id=agent_id,
        day=day,
        started_at=started,
        message_count=len(msgs),
        buyer_messages=buyer_n,
        agent_messages=agent_n,
        first_response_seconds=first_response,
        response_seconds=response,
        findings=findings,
        score=max(config.score_floor, 100.0 - out.deduction),
        buyer_abuse=bool(abuse_hits),
        tags=tags,
        messages=None,
    )


def _clip(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_ack(text: str, ack: re.Pattern[str] | None, max_chars: int) -> bool:
    """好的/谢谢/ok/那我拍了…: short, asks nothing, acknowledges."""
    return (
        ack is not None
        and len(text) <= max_chars * 3
        and ack.search(text) is not None
        and not _QUESTION.search(text)
        and len(_NONWORD.sub("", text)) <= max_chars
    )


def _acknowledgement(msgs, first: int, last: int, ack: re.Pattern[str] | None, max_chars: int) -> bool:
    """A buyer turn of only acknowledgements: it closes the talk and needs no answer."""
    return all(_is_ack(msgs[j].text, ack, max_chars) for j in range(first, last + 1) if msgs[j].role == Role.buyer)


def _off_topic(out: _Out, cc: _Compiled, msgs, first: int, last: int, reply: int) -> None:
    """答非所问, conservatively: both sides name a topic and the topics do not meet."""
    buyer_text = "".join(msgs[j].text for j in range(first, last + 1) if msgs[j].role == Role.buyer)
    asked = cc.topics_in(buyer_text)
    if not asked:
        return
    answered: set[str] = set()
    where = reply
    for j in range(reply, len(msgs)):
        m = msgs[j]
        if m.role == Role.buyer:
            break
        if m.is_manual_reply:
            topics = cc.topics_in(m.text)
            if topics and not answered:
                where = j
            answered |= topics
    if not answered:
        return
    group = cc.group_of
    if {group.get(t, t) for t in asked} & {group.get(t, t) for t in answered}:
        return  # related topics (材质 asked, 做工 answered) are an answer
    out.conv(
        "audit.off_topic",
        f"买家问的是{'/'.join(TOPIC_ZH.get(t, t) for t in sorted(asked))}，"
        f"回复说的是{'/'.join(TOPIC_ZH.get(t, t) for t in sorted(answered))}",
        where,
    )


def _order_confirm(out: _Out, cc: _Compiled, config: AuditConfig, msgs, times, order_time: dt.datetime) -> None:
    """Tmall/Taobao: an order placed during the chat is confirmed (订单信息核对) within 10 minutes."""
    placed = order_time.timestamp()
    window = config.order_confirm_minutes * 60
    if not times[0] - window <= placed <= times[-1]:
        return  # an order from before this chat (after-sales): nothing to confirm here
    at = None
    for j, m in enumerate(msgs):
        ts = times[j]
        if ts < placed:
            continue
        if at is None:
            at = j
        if ts - placed > window:
            break
        if m.is_manual_reply and cc.order_confirm is not None and cc.order_confirm.search(m.text):
            return
    out.conv("audit.order_confirm", f"买家下单后{config.order_confirm_minutes:g}分钟内未核对订单信息", at)


def _follow_up(out: _Out, cc: _Compiled, config: AuditConfig, msgs, times, turns, manual) -> None:
    """003: a pre-sale buyer who stops answering is asked again within 10-20 minutes."""
    first, last, _start, reply = turns[-1]
    if reply is None:
        return  # unanswered: that is 漏回复, not a missing follow-up
    if _acknowledgement(msgs, first, last, cc.ack, config.acknowledgement_max_chars):
        return  # the buyer closed the talk (好的/谢谢): nobody went silent
    after = [j for j in manual if j >= reply]
    if cc.closing is not None and cc.closing.search(msgs[after[-1]].text):
        return  # the agent said goodbye: the talk was closed, not abandoned
    answered_at = times[reply]
    gap = config.follow_up_min_gap_seconds
    later = [times[j] - answered_at for j in after if times[j] - answered_at > gap]
    if any(d <= cc.follow_end for d in later):
        return
    lo, hi = config.follow_up_window_minutes
    if later:
        detail = f"买家无回应，{_minutes(later[0])}后才再次询问（应在{lo:g}-{hi:g}分钟内）"
    else:
        detail = f"买家无回应，客服未在{lo:g}-{hi:g}分钟内再次询问"
    out.conv("audit.follow_up", detail, after[-1])
