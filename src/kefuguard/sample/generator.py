"""Seeded generator of realistic multi-day customer-service chat logs, and the bundled sample set.

Why: the audit, the importers and the benchmark need chat logs that look like real exports (good and
bad agents, bots, night messages, slow and missing replies, every violation category) without
shipping anyone's real conversations. Everything is driven by one `random.Random(seed)`, so a seed
always gives the same rows, and the sample files under `data/` can be rebuilt byte for byte with

    python -m kefuguard.sample.generator --out DIR --seed 7

Rows are plain dicts with the canonical columns (`COLUMNS`); `sent_at`/`order_time` are ISO 8601
strings with +08:00. With `labels=True` each row also carries `label`: the issue the generator
planted in that message ("" when clean) — a rule category (`diversion`, `abuse`, …) or one of
`curt`, `late_reply`, `no_reply`, `night_contact`, `repeat`, `buyer_abuse`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kefuguard.io.columns import CANONICAL_FIELDS
from kefuguard.sample import phrases as ph

COLUMNS: tuple[str, ...] = CANONICAL_FIELDS

# Labels that mark a message as planted-bad but are not a text rule category.
TIMING_LABELS: tuple[str, ...] = ("curt", "late_reply", "no_reply", "night_contact", "repeat", "buyer_abuse")

DEFAULT_START = dt.date(2025, 6, 16)  # the 618 sale week: busy shops, realistic volume

# --- shops and agents ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Agent:
    """A customer-service sub-account; `habits` are the violation categories a bad agent leans to."""

    nickname: str
    good: bool = True
    habits: tuple[str, ...] = ()


_ASCII_ID = re.compile(r"[A-Za-z0-9_-]+")  # lets the JSONL writer skip escaping ids


@dataclass(frozen=True)
class Shop:
    """A fictional shop: where it sells, what it sells, who answers and how busy it is."""

    name: str
    short: str
    code: str
    platform: str
    kind: str  # key of phrases.KIND_TOPICS
    products: tuple[tuple[str, float], ...]
    agents: tuple[Agent, ...]
    bot: str = ""
    auto_greet: bool = False
    conversations_per_day: int = 30
    buyer_prefix: str = "buyer_"

    def __post_init__(self) -> None:
        for value in (self.code, self.buyer_prefix):
            if not _ASCII_ID.fullmatch(value):
                raise ValueError(f"shop code and buyer prefix must be ASCII letters/digits/_/-: {value!r}")

    def agent_id(self, agent: Agent) -> str:
        return f"{self.short}:{agent.nickname}"


SHOPS: tuple[Shop, ...] = (
    Shop(
        name="小鹿家居旗舰店",
        short="小鹿家居",
        code="xiaolu",
        platform="tmall",
        kind="goods",
        products=(
            ("北欧实木床头柜", 299.0),
            ("记忆棉枕头", 89.0),
            ("全棉四件套", 259.0),
            ("折叠收纳箱", 39.9),
            ("护眼落地灯", 168.0),
        ),
        agents=(
            Agent("阿青"),
            Agent("小雨"),
            Agent("大鹏", False, ("diversion", "superlative", "broken_promise", "stockout")),
        ),
        bot="店小蜜",
        auto_greet=True,
        buyer_prefix="tb_",
    ),
    Shop(
        name="山野茶铺",
        short="山野茶铺",
        code="shanye",
        platform="pinduoduo",
        kind="goods",
        products=(
            ("明前龙井250g", 128.0),
            ("云南普洱茶饼", 66.0),
            ("福鼎白茶", 88.0),
            ("正山小种", 45.0),
            ("茉莉花茶", 19.9),
        ),
        agents=(Agent("茶茶"), Agent("老周", False, ("wording", "diversion", "abuse", "pii")), Agent("小林")),
        auto_greet=True,
        buyer_prefix="pdd_",
    ),
    Shop(
        name="潮童服饰",
        short="潮童服饰",
        code="chaotong",
        platform="douyin",
        kind="apparel",
        products=(
            ("儿童防晒衣", 79.0),
            ("男童纯棉T恤", 39.0),
            ("女童连衣裙", 99.0),
            ("儿童运动鞋", 129.0),
            ("宝宝连体衣", 59.0),
        ),
        agents=(
            Agent("糖糖"),
            Agent("阿杰", False, ("review_invite", "overpromise", "attitude", "negative_refusal")),
            Agent("小美"),
        ),
        buyer_prefix="dy_",
    ),
    Shop(
        name="极客数码",
        short="极客数码",
        code="jike",
        platform="jd",
        kind="goods",
        products=(
            ("无线蓝牙耳机", 199.0),
            ("65W氮化镓充电器", 119.0),
            ("机械键盘", 349.0),
            ("移动电源20000mAh", 129.0),
            ("Type-C数据线", 29.9),
        ),
        agents=(Agent("小K"), Agent("阿涛", False, ("superlative", "attitude", "broken_promise"))),
        bot="京小智",
        buyer_prefix="jd_",
    ),
    Shop(
        name="暖暖母婴",
        short="暖暖母婴",
        code="nuannuan",
        platform="kuaishou",
        kind="goods",
        products=(
            ("婴儿纸尿裤L码", 109.0),
            ("婴儿湿巾80抽", 29.9),
            ("宝宝辅食米粉", 49.0),
            ("电动吸奶器", 399.0),
            ("轻便婴儿推车", 599.0),
        ),
        agents=(
            Agent("暖暖"),
            Agent("小芳", False, ("diversion", "fraud", "abuse")),
            Agent("阿敏"),
        ),
        buyer_prefix="ks_",
    ),
    Shop(
        name="花间美妆",
        short="花间美妆",
        code="huajian",
        platform="taobao",
        kind="goods",
        products=(
            ("玻尿酸补水面膜", 69.0),
            ("丝绒哑光口红", 129.0),
            ("氨基酸洗面奶", 59.0),
            ("清爽防晒霜SPF50", 89.0),
            ("气垫BB霜", 139.0),
        ),
        agents=(
            Agent("花花"),
            Agent("小蝶", False, ("overpromise", "superlative", "diversion", "privacy")),
            Agent("阿紫"),
        ),
        bot="店小蜜",
        auto_greet=True,
        buyer_prefix="tb_",
    ),
)


@dataclass(frozen=True)
class Behaviour:
    """Rates (per message or per conversation) that make an agent good or bad."""

    violation: float  # an answer breaks a text rule
    curt: float  # an answer is 嗯/哦
    slow: float  # a reply comes after 3–15 minutes
    miss: float  # a buyer question is never answered (漏回复)
    skip_greeting: float
    skip_closing: float
    repeat: float  # the same message sent three times
    night: float  # an agent-initiated message goes out at night
    quick: float  # an answer is a quick reply (快捷回复)


GOOD = Behaviour(
    violation=0.015,
    curt=0.01,
    slow=0.04,
    miss=0.01,
    skip_greeting=0.05,
    skip_closing=0.1,
    repeat=0.0,
    night=0.0,
    quick=0.25,
)
BAD = Behaviour(
    violation=0.35,
    curt=0.1,
    slow=0.3,
    miss=0.08,
    skip_greeting=0.5,
    skip_closing=0.6,
    repeat=0.1,
    night=0.6,
    quick=0.55,
)

# Buyer traffic by hour of day (relative weights): quiet nights, peaks late morning and evening.
HOUR_WEIGHTS = (3, 2, 1, 1, 1, 1, 2, 4, 8, 12, 14, 13, 10, 10, 12, 12, 11, 10, 10, 13, 16, 17, 14, 8)

AGENT_ON_DUTY = (8 * 3600, 24 * 3600)  # agents answer 08:00–24:00; at other hours only bots do

_TIMES: list[str] = []


def _times() -> list[str]:
    """'HH:MM:SS' for every second of a day, built once: string formatting is the hot path."""
    if not _TIMES:
        _TIMES.extend(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))
    return _TIMES


# --- per-shop plans: phrase banks expanded once, indexed by product ----------------------------------


def _expand(templates: Iterable[str], **values: object) -> list[str]:
    return [t.format(**values) for t in templates]


@dataclass
class _AgentPlan:
    agent_id: str
    behaviour: Behaviour
    greetings: list[str]
    closings: list[str]
    violations: list[list[tuple[str, str]]]  # per product: (text, category), habits weighted
    habits: list[list[tuple[str, str]]]  # per product: habit phrases interleaved across categories
    cursor: int = 0  # bad agents work through their habits in turn, so each one shows up


@dataclass
class _ShopPlan:
    shop: Shop
    agents: list[_AgentPlan]
    questions: list[list[tuple[str, list[str]]]]  # per product: (question, answers)
    followups: list[list[str]]
    night_texts: list[list[str]]
    auto: list[str]
    bot: list[str]
    seen_buyers: list[str] = field(default_factory=list)


def _phrases(category: str, platform: str) -> list[str]:
    return [t for t in ph.VIOLATIONS[category] if platform not in ph.PHRASE_NOT_ON.get(t, ())]


def _plan(shop: Shop) -> _ShopPlan:
    topics = ph.KIND_TOPICS[shop.kind]
    categories = [
        c for c in ph.VIOLATIONS if shop.platform in ph.VIOLATION_PLATFORMS.get(c, (shop.platform,))
    ]
    questions, followups, night_texts = [], [], []
    for product, price in shop.products:
        vals = {"p": product, "price": f"{price:g}", "shop": shop.name}
        pairs = []
        for topic in topics:
            for q, answers in ph.TOPICS[topic]:
                size = ph.SIZES[len(pairs) % len(ph.SIZES)]
                pairs.append((q.format(size=size, **vals), _expand(answers, size=size, **vals)))
        questions.append(pairs)
        followups.append(_expand(ph.AGENT_FOLLOWUPS, **vals))
        night_texts.append(_expand(ph.HARASSMENT_NIGHT, **vals))
    agents = []
    for agent in shop.agents:
        vals = {"shop": shop.name, "name": agent.nickname}
        per_product = []
        for product, _price in shop.products:
            bank = []
            for cat in categories:
                if agent.good and cat not in ph.MILD_CATEGORIES:
                    continue
                weight = 6 if cat in agent.habits else 1
                bank.extend(
                    (t.format(p=product), cat) for t in _phrases(cat, shop.platform) for _ in range(weight)
                )
            per_product.append(bank)
        habits = []
        for product, _price in shop.products:
            banks = [
                [(t.format(p=product), c) for t in _phrases(c, shop.platform)]
                for c in agent.habits
                if c in categories
            ]
            longest = max((len(b) for b in banks), default=0)
            # every run of len(banks) consecutive picks covers each habit category once
            habits.append([b[i % len(b)] for i in range(longest) for b in banks])
        agents.append(
            _AgentPlan(
                agent_id=shop.agent_id(agent),
                behaviour=GOOD if agent.good else BAD,
                greetings=_expand(ph.AGENT_GREETINGS, **vals),
                closings=_expand(ph.AGENT_CLOSINGS, **vals),
                violations=per_product,
                habits=habits,
                cursor=sum(map(ord, agent.nickname)),  # agents start their habits at different phrases
            )
        )
    return _ShopPlan(
        shop=shop,
        agents=agents,
        questions=questions,
        followups=followups,
        night_texts=night_texts,
        auto=_expand(ph.AUTO_REPLIES, shop=shop.name),
        bot=_expand(ph.BOT_REPLIES, bot=shop.bot) if shop.bot else [],
    )


# A message while a conversation is built: (seconds since start-date midnight, role, agent_id, text,
# quick_reply, auto_reply, label).
_Msg = tuple[int, str, str, str, bool, bool, str]


def _pick(rnd, seq):
    return seq[int(rnd() * len(seq))]


def _conversation(
    rng: random.Random, plan: _ShopPlan, t0: int
) -> tuple[list[_Msg], str, int | None, float | None, bool]:
    """One conversation's messages plus its buyer, order time, paid amount and reported flag."""
    rnd = rng.random
    shop = plan.shop
    agent = _pick(rnd, plan.agents)
    b = agent.behaviour
    aid = agent.agent_id
    prod = int(rnd() * len(shop.products))
    msgs: list[_Msg] = []
    add = msgs.append

    # Buyer: some come back on a later day (same buyer id, new conversation).
    seen = plan.seen_buyers
    if seen and rnd() < 0.15:
        buyer = _pick(rnd, seen)
    else:
        buyer = f"{shop.buyer_prefix}{rng.randrange(10_000_000, 99_999_999)}"
        seen.append(buyer)

    order_time: int | None = None
    paid: float | None = None
    if rnd() < 0.45:  # most after-sales chats and some pre-sales chats carry order facts
        price = shop.products[prod][1]
        qty = 1 if rnd() < 0.8 else 2
        paid = round(price * qty - (int(rnd() * 4) * 5 if price > 40 else 0), 2)
        order_time = t0 - int(rnd() * 5 * 86400) - 600

    tod = t0 % 86400
    if rnd() < 0.06:  # agent-initiated: 催付 or a follow-up; bad agents send them at night (骚扰)
        if rnd() < b.night:
            t = (
                t0
                - tod
                + (22 * 3600 + int(rnd() * 2.5 * 3600) if rnd() < 0.6 else 6 * 3600 + int(rnd() * 7000))
            )
            add((t, "agent", aid, _pick(rnd, plan.night_texts[prod]), False, False, "night_contact"))
        else:
            t = t0 - tod + 10 * 3600 + int(rnd() * 10 * 3600)
            add((t, "agent", aid, _pick(rnd, plan.followups[prod]), rnd() < b.quick, False, ""))
        if rnd() < 0.5:
            t += 60 + int(rnd() * 1800)
            add((t, "buyer", aid, _pick(rnd, ph.BUYER_THANKS), False, False, ""))
        return msgs, buyer, order_time, paid, False

    t = t0
    if rnd() < 0.55:
        add((t, "buyer", aid, _pick(rnd, ph.BUYER_OPENERS), False, False, ""))
        t += 3 + int(rnd() * 40)
    on_duty = AGENT_ON_DUTY[0] <= tod
    if plan.bot and rnd() < 0.5:
        add((t + 1, "bot", "", _pick(rnd, plan.bot), False, False, ""))
    elif shop.auto_greet or not on_duty:
        bank = plan.auto if on_duty else ph.NIGHT_AUTO_REPLIES
        add((t + 1, "agent", aid, _pick(rnd, bank), False, True, ""))

    greeted = rnd() >= b.skip_greeting
    abusive = rnd() < (0.03 if b is GOOD else 0.08)
    reported = abusive and shop.platform == "pinduoduo" and rnd() < 0.6
    questions = plan.questions[prod]
    turns = 1 + int(rnd() * rnd() * 4.5)
    answered_all = True
    for turn in range(turns):
        q, answers = _pick(rnd, questions)
        add((t, "buyer", aid, q, False, False, ""))
        if not on_duty:  # nobody there: answered next morning, or never
            if rnd() < 0.3:
                msgs[-1] = (*msgs[-1][:6], "no_reply")
                answered_all = False
                break
            t = max(t, t0 - tod + AGENT_ON_DUTY[0] + int(rnd() * 5400))
            add((t, "agent", aid, _pick(rnd, ph.AGENT_NEXT_MORNING), False, False, ""))
            on_duty = True
            tod = AGENT_ON_DUTY[0]
        if rnd() < b.miss:  # 漏回复: the buyer nudges, nobody answers
            msgs[-1] = (*msgs[-1][:6], "no_reply")
            if rnd() < 0.6:
                t += 60 + int(rnd() * 400)
                add((t, "buyer", aid, _pick(rnd, ph.BUYER_NUDGES), False, False, "no_reply"))
            answered_all = False
            break
        slow = rnd() < b.slow
        t += 181 + int(rnd() * 720) if slow else 4 + int(rnd() * rnd() * 150)
        late = "late_reply" if slow else ""
        if turn == 0 and greeted:
            add((t, "agent", aid, _pick(rnd, agent.greetings), rnd() < b.quick, False, late))
            late = ""
            t += 5 + int(rnd() * 30)
        r = rnd()
        if r < b.violation:
            cycle = agent.habits[prod]
            if cycle and rnd() < 0.7:
                text, label = cycle[agent.cursor % len(cycle)]
                agent.cursor += 1
            else:
                text, label = _pick(rnd, agent.violations[prod])
            if label in ph.APPENDABLE_CATEGORIES and rnd() < 0.5:
                text = _pick(rnd, answers).rstrip("~") + "，" + text
            add((t, "agent", aid, text, False, False, label))
        elif r < b.violation + b.curt:
            add((t, "agent", aid, _pick(rnd, ph.CURT_REPLIES), False, False, "curt"))
        else:
            add((t, "agent", aid, _pick(rnd, answers), rnd() < b.quick, False, late))
        if rnd() < b.repeat:
            text = _pick(rnd, ph.HARASSMENT_REPEAT)
            for _ in range(3):
                t += 5 + int(rnd() * 20)
                add((t, "agent", aid, text, True, False, "repeat"))
        if abusive and turn == turns - 1:
            t += 20 + int(rnd() * 90)
            add((t, "buyer", aid, _pick(rnd, ph.BUYER_ABUSE), False, False, "buyer_abuse"))
            t += 15 + int(rnd() * 60)
            if b is GOOD or rnd() < 0.5:
                add((t, "agent", aid, _pick(rnd, ph.AGENT_CALM), False, False, ""))
            else:
                add((t, "agent", aid, _pick(rnd, ph.VIOLATIONS["abuse"]), False, False, "abuse"))
        if turn == 0 and order_time is not None and order_time > t0 - 600 - 86400 and rnd() < 0.3:
            # buyer orders while chatting; a sale-time order is also handed to after-sales sometimes
            order_time = t + 30 + int(rnd() * 300)
            t = order_time
            add((t, "system", "", ph.SYSTEM_ORDER.format(amount=f"{paid:.2f}"), False, False, ""))
        t += 15 + int(rnd() * 120)

    if answered_all:
        if len(plan.agents) > 1 and rnd() < 0.05:  # transfer to a colleague
            add((t, "agent", aid, _pick(rnd, ph.AGENT_TRANSFER), True, False, ""))
            other = _pick(rnd, [a for a in plan.agents if a is not agent])
            t += 5
            add((t, "system", "", ph.SYSTEM_TRANSFER.format(agent=other.agent_id), False, False, ""))
            t += 20 + int(rnd() * 60)
            add((t, "agent", other.agent_id, _pick(rnd, ph.AGENT_CALM), False, False, ""))
            agent, aid = other, other.agent_id
            t += 15
        if rnd() < 0.7:
            add((t, "buyer", aid, _pick(rnd, ph.BUYER_THANKS), False, False, ""))
            t += 5 + int(rnd() * 40)
        if rnd() >= agent.behaviour.skip_closing:
            add((t, "agent", aid, _pick(rnd, agent.closings), rnd() < agent.behaviour.quick, False, ""))
        elif rnd() < 0.3:
            add((t + 1800, "system", "", ph.SYSTEM_TIMEOUT, False, False, ""))
    return msgs, buyer, order_time, paid, reported


def _raw(
    seed: int,
    days: int | None,
    shops: Sequence[Shop],
    start: dt.date,
    conversations_per_day: int | None,
) -> Iterator[tuple[tuple, list[_Msg], list[str]]]:
    """The generator core, one conversation at a time: (conversation tuple, messages, sent_at strings).

    The conversation tuple is (id, platform, shop, buyer, reported, order_time ISO, paid amount).
    """
    rng = random.Random(seed)
    rnd = rng.random
    plans = [_plan(s) for s in shops]
    times = _times()
    hour_slots = [h for h, w in enumerate(HOUR_WEIGHTS) for _ in range(w)]
    prefixes: list[str] = []
    day = 0
    while days is None or day < days:
        convs = []
        for plan in plans:
            per_day = conversations_per_day or plan.shop.conversations_per_day
            n = max(1, int(per_day * (0.8 + 0.4 * rnd())))
            for _ in range(n):
                t0 = day * 86400 + _pick(rnd, hour_slots) * 3600 + int(rnd() * 3600)
                convs.append((t0, plan))
        convs.sort(key=lambda c: c[0])
        ymd = (start + dt.timedelta(days=day)).strftime("%Y%m%d")
        for seq, (t0, plan) in enumerate(convs, 1):
            msgs, buyer, order_t, paid, reported = _conversation(rng, plan, t0)
            msgs.sort(key=lambda m: m[0])
            shop = plan.shop
            order_iso = None if order_t is None else _iso(order_t, start, prefixes, times)
            sent = []
            for m in msgs:
                t = m[0]
                d = t // 86400
                if d >= len(prefixes):
                    _iso(t, start, prefixes, times)
                sent.append(prefixes[d] + times[t - d * 86400] + "+08:00")
            yield (
                (f"{shop.code}-{ymd}-{seq:04d}", shop.platform, shop.name, buyer, reported, order_iso, paid),
                msgs,
                sent,
            )
        day += 1


def _iso(t: int, start: dt.date, prefixes: list[str], times: list[str]) -> str:
    d = t // 86400
    if d < 0:
        return (start + dt.timedelta(days=d)).isoformat() + "T" + times[t - d * 86400] + "+08:00"
    while d >= len(prefixes):
        prefixes.append((start + dt.timedelta(days=len(prefixes))).isoformat() + "T")
    return prefixes[d] + times[t - d * 86400] + "+08:00"


def generate_messages(
    seed: int = 7,
    days: int | None = 3,
    shops: Sequence[Shop] = SHOPS,
    start: dt.date = DEFAULT_START,
    conversations_per_day: int | None = None,
    labels: bool = False,
) -> Iterator[dict]:
    """Stream chat messages as dicts with `COLUMNS`, deterministic for (seed, days, shops, start).

    `days=None` streams without end (slice it); the first N days never depend on how many follow.
    `conversations_per_day` overrides each shop's own volume. `labels=True` adds the planted issue.
    """
    for conv, msgs, sent in _raw(seed, days, shops, start, conversations_per_day):
        cid, platform, shop, buyer, reported, order_time, paid = conv
        for m, sent_at in zip(msgs, sent, strict=True):
            row = {
                "conversation_id": cid,
                "platform": platform,
                "shop": shop,
                "agent_id": m[2],
                "buyer_id": buyer,
                "role": m[1],
                "sent_at": sent_at,
                "text": m[3],
                "quick_reply": m[4],
                "auto_reply": m[5],
                "buyer_reported": reported,
                "order_time": order_time,
                "paid_amount": paid,
            }
            if labels:
                row["label"] = m[6]
            yield row


def row_to_json(row: dict) -> str:
    """The JSONL form of one row (compact, UTF-8 text); `generate_to_jsonl` writes exactly this."""
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def generate_to_jsonl(
    path: str | Path,
    n_messages: int,
    seed: int = 7,
    shops: Sequence[Shop] = SHOPS,
    start: dt.date = DEFAULT_START,
) -> int:
    """Write the first `n_messages` of the endless stream to a JSONL file; returns rows written.

    Built for the 1,000,000-message audit benchmark: conversation-level JSON is encoded once per
    conversation and message texts once per distinct text, so lines are mostly string joins.
    """
    dumps = json.dumps
    enc: dict[str, str] = {}

    def esc(value: str) -> str:
        e = enc.get(value)
        if e is None:
            e = enc[value] = dumps(value, ensure_ascii=False)
        return e

    left = n_messages
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for conv, msgs, sent in _raw(seed, None, shops, start, None):
            if left <= 0:
                break
            cid, platform, shop, buyer, reported, order_time, paid = conv
            # ids, platform codes and ISO times are plain ASCII (Shop checks its code and prefix)
            head = f'{{"conversation_id":"{cid}","platform":"{platform}","shop":{esc(shop)},"agent_id":'
            mid = f',"buyer_id":"{buyer}","role":"'
            tail = (
                f',"buyer_reported":{"true" if reported else "false"},'
                f'"order_time":{"null" if order_time is None else chr(34) + order_time + chr(34)},'
                f'"paid_amount":{"null" if paid is None else repr(paid)}}}\n'
            )
            lines = [
                f'{head}{esc(m[2])}{mid}{m[1]}","sent_at":"{sent_at}","text":{esc(m[3])},'
                f'"quick_reply":{"true" if m[4] else "false"},"auto_reply":{"true" if m[5] else "false"}{tail}'
                for m, sent_at in zip(msgs[:left], sent, strict=False)
            ]
            left -= len(lines)
            fh.write("".join(lines))
    return n_messages - left


# --- the bundled sample set ---------------------------------------------------------------------------

SAMPLE_DAYS = 3
SAMPLE_FILES: dict[str, tuple[str, ...]] = {  # file → shops in it
    "chat_tmall_pinduoduo.jsonl": ("小鹿家居旗舰店", "山野茶铺"),
    "chat_douyin_jd.gbk.csv": ("潮童服饰", "极客数码"),
    "chat_kuaishou_taobao.xlsx": ("暖暖母婴", "花间美妆"),
}
ROLE_ZH = {"buyer": "买家", "agent": "客服", "bot": "机器人", "system": "系统"}
CSV_HEADERS = (
    "会话ID",
    "平台",
    "店铺",
    "客服",
    "买家",
    "角色",
    "发送时间",
    "消息内容",
    "快捷回复",
    "自动回复",
    "买家被举报",
    "下单时间",
    "实付金额",
)
# The spreadsheet lists the same columns in another order, as exports from other tools do.
XLSX_HEADERS = (
    "发送时间",
    "会话ID",
    "店铺",
    "平台",
    "买家",
    "客服",
    "角色",
    "消息内容",
    "自动回复",
    "快捷回复",
    "下单时间",
    "实付金额",
    "买家被举报",
)
BAD_ROLE = "robot?"


def sample_dir() -> Path:
    """Where the shipped sample files live (inside the installed package)."""
    return Path(__file__).with_name("data")


@dataclass
class _Defect:
    reason: str
    rejected: bool


def _inject_defects(rows: list[dict], rng: random.Random) -> list[tuple[dict, _Defect | None]]:
    """Mix deliberately bad rows into a file: what a real export throws at an importer."""
    starts = [
        i for i, r in enumerate(rows) if i == 0 or r["conversation_id"] != rows[i - 1]["conversation_id"]
    ]
    bounds = [(s, e) for s, e in zip(starts, [*starts[1:], len(rows)], strict=True) if e - s >= 5]
    while True:  # the swapped pair must really be out of order afterwards
        picks = sorted(rng.sample(range(len(bounds)), 6))
        s = bounds[picks[0]][0]
        if rows[s + 2]["sent_at"] < rows[s + 3]["sent_at"]:
            break
    (swap, late, dup, notime, badrole, empty) = (bounds[i] for i in picks)
    out: list[tuple[dict, _Defect | None]] = [(r, None) for r in rows]
    moved = None

    # Walk from the back so earlier indices stay valid while inserting.
    def agent_of(start: int, end: int) -> str:
        """The conversation's serving agent (buyer rows carry it too)."""
        return next((r["agent_id"] for r in rows[start:end] if r["agent_id"]), "")

    # Injected rows copy a neighbour's conversation facts and set the rest to what such a row holds.
    plain = {"quick_reply": False, "auto_reply": False, "label": ""}
    s, e = empty
    out.insert(
        s + 3,
        (
            {**rows[s + 2], **plain, "role": "agent", "agent_id": agent_of(s, e), "text": ""},
            _Defect("消息内容为空（图片/表情消息导出后为空白）", True),
        ),
    )
    s, _e = badrole
    out.insert(
        s + 2,
        (
            {
                **rows[s + 1],
                **plain,
                "role": BAD_ROLE,
                "text": "您好，我是智能客服，请问有什么可以帮您？",
                "agent_id": "",
            },
            _Defect(f"未知角色 '{BAD_ROLE}'", True),
        ),
    )
    s, e = notime
    out.insert(
        s + 2,
        (
            {
                **rows[s + 1],
                **plain,
                "role": "buyer",
                "agent_id": agent_of(s, e),
                "sent_at": None,
                "text": "还在吗？",
            },
            _Defect("缺少发送时间", True),
        ),
    )
    s, _e = dup
    out.insert(
        s + 2, (dict(rows[s + 1]), _Defect(f"与上一行完全重复（{rows[s + 1]['conversation_id']}）", True))
    )
    s, _e = late
    moved = out.pop(s + 2)[0]
    out.append((moved, _Defect(f"乱序：{moved['conversation_id']} 的一条消息被导出到文件末尾", False)))
    s, _e = swap
    out[s + 2], out[s + 3] = out[s + 3], out[s + 2]
    out[s + 2] = (
        out[s + 2][0],
        _Defect(f"乱序：与下一行（同一会话 {rows[s]['conversation_id']}）时间顺序颠倒", False),
    )
    return out


def _naive(iso: str | None) -> str:
    return "" if not iso else f"{iso[:10]} {iso[11:19]}"


def _yes(v: bool) -> str:
    return "是" if v else "否"


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(row_to_json(r) + "\n" for r in rows)


def _zh_row(r: dict) -> dict[str, object]:
    return {
        "会话ID": r["conversation_id"],
        "平台": r["platform"],
        "店铺": r["shop"],
        "客服": r["agent_id"],
        "买家": r["buyer_id"],
        "角色": ROLE_ZH.get(r["role"], r["role"]),
        "发送时间": _naive(r["sent_at"]),
        "消息内容": r["text"],
        "快捷回复": _yes(r["quick_reply"]),
        "自动回复": _yes(r["auto_reply"]),
        "买家被举报": _yes(r["buyer_reported"]),
        "下单时间": _naive(r["order_time"]),
        "实付金额": "" if r["paid_amount"] is None else f"{r['paid_amount']:.2f}",
    }


def _write_gbk_csv(path: Path, rows: list[dict]) -> int:
    """GBK CSV with Chinese headers; characters GBK lacks (emoji, ❤) become '?' as in real exports."""
    lossy = 0
    with open(path, "w", encoding="gbk", errors="replace", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_HEADERS)
        for r in rows:
            zh = _zh_row(r)
            try:
                str(zh["消息内容"]).encode("gbk")
            except UnicodeEncodeError:
                lossy += 1
            w.writerow([zh[h] for h in CSV_HEADERS])
    return lossy


def _write_xlsx(path: Path, rows: list[dict]) -> None:
    """Excel export: real datetime cells, fixed document date so the file is byte-reproducible."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
    wb.set_properties(
        {
            "created": dt.datetime(2025, 6, 19, 9, 0, 0),
            "author": "kefuguard sample",
            "title": "客服聊天记录导出",
        }
    )
    ws = wb.add_worksheet("聊天记录")
    bold = wb.add_format({"bold": True})
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    ws.write_row(0, 0, XLSX_HEADERS, bold)
    ws.set_column(0, 0, 20)
    ws.set_column(7, 7, 60)
    for i, r in enumerate(rows, 1):
        zh = _zh_row(r)
        for j, h in enumerate(XLSX_HEADERS):
            v = zh[h]
            if h in ("发送时间", "下单时间"):
                if v:
                    ws.write_datetime(i, j, dt.datetime.fromisoformat(str(v)), when)
            elif h == "实付金额":
                if v != "":
                    ws.write_number(i, j, float(v))
            elif v != "":
                ws.write_string(i, j, str(v))
    wb.close()


def write_sample_set(out: str | Path, seed: int = 7) -> dict[str, list[dict]]:
    """Write the three sample exports and their README into `out`; returns each file's rows.

    Row dicts carry `label` (planted issue) and `defect` (why a row is deliberately bad, or None),
    for the README and the tests; neither is written to the files.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = list(generate_messages(seed=seed, days=SAMPLE_DAYS, labels=True))
    files: dict[str, list[dict]] = {}
    lossy: dict[str, int] = {}
    for i, (name, shops) in enumerate(SAMPLE_FILES.items()):
        mine = [r for r in rows if r["shop"] in shops]
        mixed = _inject_defects(mine, random.Random(seed * 1000 + i))
        plain = [{k: r[k] for k in COLUMNS} for r, _d in mixed]
        if name.endswith(".jsonl"):
            _write_jsonl(out / name, plain)
        elif name.endswith(".csv"):
            lossy[name] = _write_gbk_csv(out / name, plain)
        else:
            _write_xlsx(out / name, plain)
        files[name] = [{**r, "defect": d} for r, d in mixed]
    (out / "README.md").write_text(_readme(files, seed, lossy), encoding="utf-8", newline="\n")
    return files


def _readme(files: dict[str, list[dict]], seed: int, lossy: dict[str, int]) -> str:
    first = DEFAULT_START.isoformat()
    last = (DEFAULT_START + dt.timedelta(days=SAMPLE_DAYS - 1)).isoformat()
    lines = [
        "# 示例聊天记录（kefuguard sample set）",
        "",
        f"由 `python -m kefuguard.sample.generator --out DIR --seed {seed}` 生成，逐字节可复现；请勿手工修改。",
        f"全部内容为虚构：6 家虚构店铺、{first} 至 {last} 共 {SAMPLE_DAYS} 天的客服聊天，`make demo` 审核的就是这些文件。",
        "大部分消息是正常服务；少数客服是\u201c问题客服\u201d，会导流、辱骂、用极限词、回复慢、漏回复、深夜打扰、刷屏等，",
        "也有辱骂客服的买家（拼多多上部分被标记为已举报）。",
        "",
        "| 文件 | 格式 | 店铺（平台） | 行数 | 会话数 |",
        "|---|---|---|---|---|",
    ]
    fmt = {
        ".jsonl": "UTF-8 JSONL，英文列名，时间为 ISO 8601（+08:00）",
        ".csv": "GBK 编码 CSV，中文表头，时间为 `YYYY-MM-DD HH:MM:SS`（北京时间，无时区）",
        ".xlsx": "Excel（工作表\u201c聊天记录\u201d），中文表头且列顺序不同，时间为日期单元格",
    }
    for name, rows in files.items():
        shops = "、".join(f"{s.name}（{s.platform}）" for s in SHOPS if s.name in SAMPLE_FILES[name])
        convs = len({r["conversation_id"] for r in rows})
        lines.append(f"| `{name}` | {fmt[Path(name).suffix]} | {shops} | {len(rows)} | {convs} |")
    lines += [
        "",
        "CSV/XLSX 的列：" + "、".join(CSV_HEADERS) + "。角色取值：买家、客服、机器人、系统；"
        "快捷回复/自动回复/买家被举报取值：是/否。JSONL 的列：" + ", ".join(f"`{c}`" for c in COLUMNS) + "。",
        "消息内容里没有换行，所以 CSV 的记录号就是行号。",
    ]
    for name, n in lossy.items():
        lines.append(
            f"`{name}` 中有 {n} 条消息含 GBK 无法表示的字符（emoji、❤），已按真实导出的做法写成 `?`。"
        )
    lines += [
        "",
        "## 故意放入的问题行",
        "",
        "行号：JSONL 为文件行号；CSV 为文件行号（第 1 行是表头）；XLSX 为 Excel 行号（第 1 行是表头）。",
        "\u201c应拒绝\u201d的行导入时应报告行号和原因；乱序行是合法数据，导入后按时间排序即可。",
        "",
        "| 文件 | 行号 | 问题 | 导入时 |",
        "|---|---|---|---|",
    ]
    for name, rows in files.items():
        offset = 1 if name.endswith(".jsonl") else 2
        for i, r in enumerate(rows):
            d = r["defect"]
            if d is not None:
                lines.append(
                    f"| `{name}` | {i + offset} | {d.reason} | {'应拒绝' if d.rejected else '接受'} |"
                )
    lines += ["", "| 文件 | 数据行 | 应接受 | 应拒绝 |", "|---|---|---|---|"]
    for name, rows in files.items():
        rejected = sum(1 for r in rows if r["defect"] is not None and r["defect"].rejected)
        lines.append(f"| `{name}` | {len(rows)} | {len(rows) - rejected} | {rejected} |")
    lines += [
        "",
        "## 各店铺埋入的问题（按消息计）",
        "",
        "类别代码即规则类别（`kefuguard.rules.model.Category`）；另有 curt 敷衍短回复、late_reply 超 3 分钟回复、",
        "no_reply 漏回复、night_contact 深夜主动联系、repeat 重复刷屏、buyer_abuse 买家辱骂。",
        "",
    ]
    all_rows = [r for rows in files.values() for r in rows if r["defect"] is None or not r["defect"].rejected]
    labels = sorted({r["label"] for r in all_rows if r["label"]})
    shops = [s.name for s in SHOPS if any(r["shop"] == s.name for r in all_rows)]
    lines.append("| 店铺 | 消息数 | 无问题 | " + " | ".join(labels) + " |")
    lines.append("|---|---|---|" + "---|" * len(labels))
    for shop in shops:
        mine = [r for r in all_rows if r["shop"] == shop]
        c = Counter(r["label"] for r in mine)
        lines.append(f"| {shop} | {len(mine)} | {c['']} | " + " | ".join(str(c[x]) for x in labels) + " |")
    lines += ["", "## 客服", ""]
    for shop in SHOPS:
        if shop.name in shops:
            desc = "；".join(
                f"{shop.agent_id(a)}（{'规范' if a.good else '问题客服：' + '、'.join(a.habits)}）"
                for a in shop.agents
            )
            lines.append(f"- {shop.name}：{desc}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kefuguard.sample.generator", description="生成示例客服聊天记录"
    )
    parser.add_argument("--out", type=Path, help="写出示例文件集（JSONL、GBK CSV、XLSX、README）的目录")
    parser.add_argument("--seed", type=int, default=7, help="随机种子（默认 7，即随包发布的示例）")
    parser.add_argument("--jsonl", type=Path, help="改为写一个大 JSONL 文件（基准测试用）")
    parser.add_argument("--messages", type=int, default=1_000_000, help="--jsonl 时的消息条数")
    args = parser.parse_args(argv)
    if args.jsonl:
        n = generate_to_jsonl(args.jsonl, args.messages, seed=args.seed)
        print(f"{n} 条消息 → {args.jsonl}")
        return 0
    if not args.out:
        parser.error("需要 --out 或 --jsonl")
    files = write_sample_set(args.out, seed=args.seed)
    for name, rows in files.items():
        print(f"{args.out / name}: {len(rows)} 行")
    return 0


if __name__ == "__main__":
    sys.exit(main())
