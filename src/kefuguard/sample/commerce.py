"""Sample order and after-sales (refund) exports that belong to the bundled sample chats, and a
streaming generator of large ones for the benchmark.

Why: the sales KPIs (`kefuguard.sales`: 询单转化率, 落实率, 客单价, 售后时长 …) and the order-based
checks (10-minute order confirmation, 30-minute refund handling) need order and refund exports for
the same buyers, shops and times as the chats in `data/`; real exports cannot be shipped. The
orders are derived from the chats (each conversation's 下单时间/实付金额), plus what a real shop's
export also holds: buyers who order after a consultation, orders placed long after one, buyers who
never chatted (静默下单), unpaid and multi-item orders, refunds with every outcome. Everything is
driven by one `random.Random(seed)`, so

    python -m kefuguard.sample.commerce --out DIR --seed 7

rebuilds the bundled files under `commerce/` byte for byte. They live beside `data/`, not in it:
the audit reads every file in `data/` as a chat export. `write_bench_commerce` streams orders and
refunds for the 1M-message benchmark from a chat JSONL written by `generator.generate_to_jsonl`.

Times are naive Beijing time (Asia/Shanghai), as the platforms export them.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from kefuguard.conversation.config import AuditConfig
from kefuguard.conversation.model import SHANGHAI, Conversation, Message, Role
from kefuguard.sales.profiles import AFTER_SALES_KEYWORDS
from kefuguard.sample.generator import DEFAULT_START, SHOPS, Shop, sample_dir

# --- what the exports look like ---------------------------------------------------------------------

ORDERS_CSV = "orders_tmall_taobao_pinduoduo.gbk.csv"
ORDERS_XLSX = "orders_douyin_jd_kuaishou.xlsx"
REFUNDS_CSV = "refunds.csv"
CSV_PLATFORMS = ("tmall", "taobao", "pinduoduo")  # the rest go to the workbook

# Taobao/Tmall-style export: the header names `kefuguard.io.orders` lists first.
ORDER_CSV_HEADERS = ("订单编号", "买家昵称", "店铺名称", "平台", "下单时间", "付款时间", "实付金额", "商品数量", "订单状态")
# Douyin/JD/Kuaishou-style workbook: other accepted spellings, another column order.
ORDER_XLSX_HEADERS = ("订单号", "订单创建时间", "店铺名", "渠道", "用户昵称", "购买数量", "支付金额", "支付完成时间", "交易状态")
ORDER_SHEET = "订单"
REFUND_HEADERS = ("订单编号", "退款申请时间", "退款原因", "是否品质问题", "退款状态", "退款完结时间", "平台介入")

PLATFORM_ZH = {"tmall": "天猫", "taobao": "淘宝", "pinduoduo": "拼多多", "douyin": "抖音", "jd": "京东", "kuaishou": "快手"}

EXPORT_END = dt.datetime(2025, 6, 18, 23, 59, 59)  # last moment the exports cover
EXPORTED_AT = dt.datetime(2025, 6, 19, 9, 0, 0)  # when they were downloaded: decides order statuses


class Statuses(NamedTuple):
    """How one platform words an order's stage."""

    unpaid: str
    closed: str
    to_ship: str
    shipped: str
    done: str


ORDER_STATUSES: dict[str, Statuses] = {
    "tmall": Statuses("等待买家付款", "交易关闭", "买家已付款，等待卖家发货", "卖家已发货，等待买家确认", "交易成功"),
    "taobao": Statuses("等待买家付款", "交易关闭", "买家已付款，等待卖家发货", "卖家已发货，等待买家确认", "交易成功"),
    "pinduoduo": Statuses("待支付", "已取消", "待发货", "已发货，待签收", "已签收"),
    "jd": Statuses("等待付款", "已取消", "等待出库", "等待确认收货", "完成"),
    "douyin": Statuses("待支付", "已关闭", "待发货", "已发货", "已完成"),
    "kuaishou": Statuses("待付款", "交易关闭", "待发货", "已发货", "交易成功"),
}

REFUND_DONE, REFUND_CLOSED, REFUND_OPEN = "退款成功", "退款关闭", "待商家处理"
REASON_WRONG, REASON_UNWANTED, REASON_QUALITY, REASON_SIZE, REASON_LATE_SHIPPING = (
    "拍错/多拍", "不想要了", "质量问题", "尺码不合适", "未按约定时间发货")
DISPUTE_PLATFORMS = ("pinduoduo", "kuaishou", "jd")  # where the seeds grade 纠纷率 / 平台介入

# The order-based checks' default rules (audit.order_confirm, audit.refund_handling), so the designed
# cases land on both sides of them, and the KPI profile's after-sales words (such chats earn no order).
_AUDIT = AuditConfig()
ORDER_CONFIRM = dt.timedelta(minutes=_AUDIT.order_confirm_minutes)
CONFIRM_WORDS = _AUDIT.order_confirm_words
REFUND_HANDLING = dt.timedelta(minutes=_AUDIT.refund_handling_minutes)
REFUND_RULE_REASONS = _AUDIT.refund_export_reasons  # 拍错/不想要了…: what the 30-minute rule covers


def commerce_dir() -> Path:
    """Where the shipped order and refund exports live (inside the installed package)."""
    return Path(__file__).with_name("commerce")


# --- small helpers ------------------------------------------------------------------------------------


def _seconds(rng: random.Random, low: float, high: float) -> dt.timedelta:
    """A random whole-second duration in [low, high] seconds."""
    return dt.timedelta(seconds=rng.randint(int(low), int(high)))


def _minutes(rng: random.Random, low: float, high: float) -> dt.timedelta:
    return _seconds(rng, low * 60, high * 60)


def _clock(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _yuan(cents: int) -> str:
    """59.90, -49.00: amounts as the platforms print them."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _cents(amount: float) -> int:
    return round(amount * 100)


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


class OrderIds:
    """Order numbers shaped like each platform's (long digit strings), never repeated."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _draw(self, platform: str, created: dt.datetime) -> str:
        randrange = self.rng.randrange
        if platform in ("tmall", "taobao"):
            return f"{self.rng.randint(1, 4)}{randrange(10**17, 10**18)}"  # 19 digits
        if platform == "pinduoduo":
            return f"{created:%y%m%d}-{randrange(10**14, 10**15)}"  # 250616-123456789012345
        if platform == "jd":
            return f"3{randrange(10**10, 10**11)}"  # 12 digits
        if platform == "douyin":
            return f"69{randrange(10**16, 10**17)}"  # 19 digits
        return f"24{randrange(10**13, 10**14)}"  # kuaishou: 16 digits

    def new(self, platform: str, created: dt.datetime) -> str:
        while True:
            order_id = self._draw(platform, created)
            if order_id not in self.used:
                self.used.add(order_id)
                return order_id


def order_status(platform: str, paid_at: dt.datetime | None, created: dt.datetime, refunded: bool,
                 now: dt.datetime = EXPORTED_AT) -> str:
    """The order's stage at export time in the platform's words (the importer keeps it as read)."""
    words = ORDER_STATUSES[platform]
    if paid_at is None:
        return words.unpaid if now - created < dt.timedelta(hours=24) else words.closed
    if refunded:
        return words.closed
    age = now - paid_at
    if age < dt.timedelta(hours=20):
        return words.to_ship
    return words.shipped if age < dt.timedelta(days=4) else words.done


# --- the chats, summarised ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chat:
    """One sample conversation, reduced to what orders and refunds are derived from (naive local times)."""

    conversation_id: str
    platform: str
    shop: str
    buyer_id: str
    messages: tuple[Message, ...]
    times: tuple[dt.datetime, ...]
    order_time: dt.datetime | None
    paid_amount: float | None

    @classmethod
    def of(cls, conversation: Conversation) -> Chat:
        msgs = tuple(conversation.messages)
        order_time = next((m.order_time for m in msgs if m.order_time is not None), None)
        paid = next((m.paid_amount for m in msgs if m.paid_amount is not None), None)
        return cls(
            conversation_id=conversation.conversation_id, platform=conversation.platform, shop=conversation.shop,
            buyer_id=next((m.buyer_id for m in msgs if m.buyer_id), ""), messages=msgs,
            times=tuple(_local(m.sent_at) for m in msgs),
            order_time=None if order_time is None else _local(order_time), paid_amount=paid,
        )

    @property
    def started(self) -> dt.datetime:
        return self.times[0]

    @property
    def ended(self) -> dt.datetime:
        return self.times[-1]

    @property
    def manual(self) -> list[int]:
        """Indices of human agents' replies (the KPIs' 人工回复: no bots, no auto-replies)."""
        return [i for i, m in enumerate(self.messages) if m.is_manual_reply and m.agent_id]

    @property
    def buyer_texts(self) -> list[str]:
        return [m.text for m in self.messages if m.role is Role.buyer]

    @property
    def after_sales(self) -> bool:
        return any(w in text for text in self.buyer_texts for w in AFTER_SALES_KEYWORDS)

    @property
    def pre_sales(self) -> bool:
        """A consultation the KPIs count as 询单: a manual reply, no after-sales words from the buyer."""
        return bool(self.manual) and not self.after_sales

    def last_agent(self) -> str:
        manual = self.manual
        return self.messages[manual[-1]].agent_id if manual else ""

    def confirmation(self, placed: dt.datetime) -> str | None:
        """How the 10-minute order confirmation judges an order placed at `placed` in this chat.

        'confirmed' (a manual reply with a confirmation word within 10 minutes), 'missed', or None
        when the order is not placed during the chat — the rule of `audit.order_confirm`.
        """
        if not self.started - ORDER_CONFIRM <= placed <= self.ended:
            return None
        for moment, message in zip(self.times, self.messages, strict=True):
            if moment < placed:
                continue
            if moment - placed > ORDER_CONFIRM:
                break
            if message.is_manual_reply and any(w in message.text for w in CONFIRM_WORDS):
                return "confirmed"
        return "missed"


def load_sample_chats() -> list[Chat]:
    """The bundled sample chats (src/kefuguard/sample/data), oldest first."""
    from kefuguard.io.importers import import_logs

    conversations, _stats = import_logs([sample_dir()])
    chats = [Chat.of(c) for c in conversations]
    chats.sort(key=lambda c: (c.started, c.conversation_id))
    return chats


# --- orders and refunds -------------------------------------------------------------------------------

# Designed cases: code → (short name, what it shows), in the README's words.
CASE_TITLES = {
    "chat": ("会话带出", "聊天记录里的下单时间/实付金额，多为售后会话所指的早先订单"),
    "chat_during": ("会话中下单", "聊天记录里有“买家已下单”系统消息"),
    "confirm": ("仅导出的会话中下单", "会话中下单，但聊天记录里没有下单信息，只在订单导出里（天猫/淘宝 10 分钟核对订单）"),
    "converted": ("咨询后下单", "24 小时内下单，归属最后一位人工客服；部分未付款"),
    "outside_window": ("超出窗口", "咨询 30 小时以后才下单，超出 24 小时归属窗口，算静默下单"),
    "bot_only": ("只问机器人", "只有机器人/自动回复、没有人工回复就下单，算静默下单"),
    "silent": ("静默下单", "从未咨询的买家"),
}


@dataclass
class SampleOrder:
    platform: str
    shop: str
    buyer_id: str
    created_at: dt.datetime
    paid_at: dt.datetime | None
    cents: int
    items: int
    case: str
    conversation_id: str = ""
    note: str = ""  # the designed case's detail, for the README
    order_id: str = ""
    status: str = ""

    @property
    def paid(self) -> bool:
        return self.paid_at is not None


@dataclass
class SampleRefund:
    order: SampleOrder
    reason: str
    requested_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    dispute: bool = False
    case: str = ""  # in_time / late / open for a request made during a chat, else empty
    conversation_id: str = ""

    @property
    def is_quality(self) -> bool:
        return self.reason == REASON_QUALITY


class FileRow(NamedTuple):
    """One data row of an export, with why it is deliberately bad ('' for a good row)."""

    cells: tuple[object, ...]
    problem: str = ""
    outcome: str = ""  # 应拒绝 (a reject) or 重复 (a duplicate)


@dataclass
class CommerceSample:
    orders: list[SampleOrder]
    refunds: list[SampleRefund]
    files: dict[str, list[FileRow]] = field(default_factory=dict)
    after_sales_buyers: list[tuple[str, str, str]] = field(default_factory=list)  # shop, buyer, conversation


def _shop(name: str) -> Shop:
    return next(s for s in SHOPS if s.name == name)


def _product_in(chat: Chat, shop: Shop) -> int:
    """Index of the first of the shop's products the chat mentions (-1 when none)."""
    for message in chat.messages:
        for index, (name, _price) in enumerate(shop.products):
            if name in message.text:
                return index
    return -1


def _items_bought(shop: Shop, paid: float, first: int = -1) -> int:
    """Pieces behind a chat's 实付金额: the generator pays price × 1 or 2, less a 0–15 yuan coupon.

    `first` is the product the chat mentions, tried before the others.
    """
    ranked = ([shop.products[first]] if first >= 0 else []) + list(shop.products)
    for _name, price in ranked:
        for qty in (1, 2):
            for off in (0, 5, 10, 15) if price > 40 else (0,):
                if abs(price * qty - off - paid) < 0.005:
                    return qty
    return 1


def _basket(rng: random.Random, shop: Shop, first: int) -> tuple[int, int]:
    """(items, cents) of a new order: mostly one piece, sometimes related items (关联销售), a coupon off."""
    main = first if first >= 0 else rng.randrange(len(shop.products))
    roll = rng.random()
    picks = [main] if roll < 0.72 else [main, main] if roll < 0.82 else [main, rng.randrange(len(shop.products))]
    if roll >= 0.93:
        picks.append(rng.randrange(len(shop.products)))
    cents = sum(_cents(shop.products[i][1]) for i in picks)
    if cents > 10_000 and rng.random() < 0.5:
        cents -= rng.choice((500, 1000, 2000))
    return len(picks), cents


def _chat_orders(chats: list[Chat], rng: random.Random) -> list[SampleOrder]:
    """One order per conversation that carries order facts (same buyer, shop, time and amount)."""
    orders: list[SampleOrder] = []
    seen: set[tuple[str, str, dt.datetime]] = set()
    for chat in chats:
        if chat.order_time is None or (chat.shop, chat.buyer_id, chat.order_time) in seen:
            continue
        seen.add((chat.shop, chat.buyer_id, chat.order_time))
        shop = _shop(chat.shop)
        during = chat.started <= chat.order_time <= chat.ended
        paid = chat.paid_amount
        items, cents = (_items_bought(shop, paid, _product_in(chat, shop)), _cents(paid)) if paid is not None else _basket(
            rng, shop, _product_in(chat, shop))
        orders.append(SampleOrder(
            platform=chat.platform, shop=chat.shop, buyer_id=chat.buyer_id, created_at=chat.order_time,
            paid_at=chat.order_time + _seconds(rng, 8, 240) if paid is not None else None, cents=cents, items=items,
            case="chat_during" if during else "chat", conversation_id=chat.conversation_id,
        ))
    return orders


def _confirm_cases(chats: list[Chat], rng: random.Random, used: set[str]) -> list[SampleOrder]:
    """Tmall/Taobao: per shop one order placed mid-chat and confirmed in time, one never confirmed.

    The chats hold no order facts for these: only the export tells the check when the order came.
    """
    orders: list[SampleOrder] = []
    for shop in (s for s in SHOPS if s.platform in ("tmall", "taobao")):
        pool = [c for c in chats if c.shop == shop.name and c.order_time is None and c.pre_sales
                and len(c.manual) >= 2 and c.conversation_id not in used]
        rng.shuffle(pool)
        for wanted in ("confirmed", "missed"):
            for chat in pool:
                if chat.conversation_id in used:
                    continue
                placed = _placement(chat, wanted, rng)
                if placed is None:
                    continue
                used.add(chat.conversation_id)
                items, cents = _basket(rng, shop, _product_in(chat, shop))
                orders.append(SampleOrder(
                    platform=shop.platform, shop=shop.name, buyer_id=chat.buyer_id, created_at=placed,
                    paid_at=placed + _seconds(rng, 10, 90), cents=cents, items=items, case="confirm",
                    conversation_id=chat.conversation_id,
                ))
                break
            else:
                raise RuntimeError(f"no chat in {shop.name} fits an order-confirmation case '{wanted}'")
    return orders


def _placement(chat: Chat, wanted: str, rng: random.Random) -> dt.datetime | None:
    """A moment after the first manual reply where an order is judged `wanted` ('confirmed'/'missed')."""
    first = chat.manual[0]
    for j in range(first + 1, len(chat.messages)):
        earliest = chat.times[j - 1] + dt.timedelta(seconds=1)
        if wanted == "confirmed":
            latest = chat.times[j] - dt.timedelta(seconds=15)
            message = chat.messages[j]
            if not (message.is_manual_reply and any(w in message.text for w in CONFIRM_WORDS)):
                continue
            earliest = max(earliest, chat.times[j] - dt.timedelta(minutes=8))
        else:
            latest = min(chat.times[j] - dt.timedelta(seconds=1), earliest + dt.timedelta(seconds=40))
        if earliest > latest:
            continue
        placed = earliest + _seconds(rng, 0, (latest - earliest).total_seconds())
        if chat.confirmation(placed) == wanted:
            return placed
    return None


def _outside_window(chats: list[Chat], rng: random.Random, used: set[str]) -> list[SampleOrder]:
    """Per shop one buyer who consulted on the first day and ordered 30–40 hours later (silent)."""
    orders: list[SampleOrder] = []
    visits = Counter((c.shop, c.buyer_id) for c in chats)
    for shop in SHOPS:
        pool = [c for c in chats if c.shop == shop.name and c.pre_sales and c.order_time is None
                and c.started.date() == DEFAULT_START and visits[(c.shop, c.buyer_id)] == 1
                and c.conversation_id not in used]
        chat = rng.choice(pool)
        used.add(chat.conversation_id)
        last_reply = chat.times[chat.manual[-1]]
        created = last_reply + _minutes(rng, 30 * 60, 40 * 60)
        items, cents = _basket(rng, shop, _product_in(chat, shop))
        hours = (created - last_reply).total_seconds() / 3600
        orders.append(SampleOrder(
            platform=shop.platform, shop=shop.name, buyer_id=chat.buyer_id, created_at=created,
            paid_at=created + _seconds(rng, 10, 300), cents=cents, items=items, case="outside_window",
            conversation_id=chat.conversation_id, note=f"最后人工回复 {_clock(last_reply)}，{hours:.1f} 小时后下单",
        ))
    return orders


def _conversions(chats: list[Chat], earlier: list[SampleOrder], rng: random.Random, used: set[str]
                 ) -> list[SampleOrder]:
    """Buyers who order after a pre-sales consultation: good agents convert most, problem agents a third.

    A chat is after-sales, and earns no order, by the KPI rule: after-sales words from a buyer who
    already paid an order in the shop. Some orders stay unpaid (落实率 below 1); buyers who only met
    a bot or an auto-reply may order too, which makes them silent orders.
    """
    good = {s.agent_id(a) for s in SHOPS for a in s.agents if a.good}
    first_paid: dict[tuple[str, str], dt.datetime] = {}
    for o in earlier:
        if o.paid_at is not None:
            key = (o.shop, o.buyer_id)
            first_paid[key] = min(first_paid.get(key, o.paid_at), o.paid_at)
    orders: list[SampleOrder] = []
    for chat in chats:
        paid_before = first_paid.get((chat.shop, chat.buyer_id), EXPORTED_AT) < chat.started
        if (chat.conversation_id in used or (chat.after_sales and paid_before)
                or (chat.order_time is not None and chat.order_time >= chat.started)):
            continue
        if chat.manual:
            case, chance = "converted", 0.7 if chat.last_agent() in good else 0.3
        else:
            case, chance = "bot_only", 0.15
        if rng.random() >= chance:
            continue
        roll = rng.random()
        delay = (_minutes(rng, 1, 40) if roll < 0.6 else _minutes(rng, 60, 360) if roll < 0.9
                 else _minutes(rng, 360, 1200))
        created = chat.ended + delay
        if created > EXPORT_END:
            continue
        shop = _shop(chat.shop)
        items, cents = _basket(rng, shop, _product_in(chat, shop))
        unpaid = rng.random() < 0.12
        orders.append(SampleOrder(
            platform=chat.platform, shop=chat.shop, buyer_id=chat.buyer_id, created_at=created,
            paid_at=None if unpaid else created + _seconds(rng, 10, 600), cents=cents, items=items, case=case,
            conversation_id=chat.conversation_id,
        ))
    return orders


def _silent(chats: list[Chat], rng: random.Random, per_shop: int = 8) -> list[SampleOrder]:
    """Buyers who never chatted (静默下单), spread over the chats' three days."""
    orders: list[SampleOrder] = []
    chatted = {c.buyer_id for c in chats}
    for shop in SHOPS:
        for _ in range(per_shop):
            while True:  # nine digits: the chats' buyers have eight, so no clash
                buyer = f"{shop.buyer_prefix}{rng.randrange(100_000_000, 999_999_999)}"
                if buyer not in chatted:
                    break
            day = DEFAULT_START + dt.timedelta(days=rng.randrange(3))
            created = dt.datetime(day.year, day.month, day.day, rng.randint(8, 23), rng.randrange(60), rng.randrange(60))
            items, cents = _basket(rng, shop, -1)
            unpaid = rng.random() < 0.1
            orders.append(SampleOrder(
                platform=shop.platform, shop=shop.name, buyer_id=buyer, created_at=created,
                paid_at=None if unpaid else created + _seconds(rng, 10, 600), cents=cents, items=items, case="silent",
            ))
    return orders


def _order_of(chat: Chat, orders: list[SampleOrder]) -> SampleOrder | None:
    return next((o for o in orders if o.conversation_id == chat.conversation_id and o.case == "chat"), None)


# What a buyer writes when asking for a refund in the sample chats → the reason the export records.
_REFUND_ASKS = {"破损": REASON_QUALITY, "不想要": REASON_UNWANTED, "换货": REASON_QUALITY, "退款": REASON_UNWANTED}
RULE_PLATFORMS = ("tmall", "taobao")  # where the shop rules fine a late order confirmation or refund
OUTCOMES = ("in_time", "late", "open")  # of a refund request: done within 30 minutes, later, not yet


def _chat_refunds(chats: list[Chat], orders: list[SampleOrder], rng: random.Random) -> list[SampleRefund]:
    """Refunds the after-sales chats talk about, requested while the buyer is in the chat.

    Requests the 30-minute rule covers (不想要了) on Tmall/Taobao take the outcomes in turn —
    handled in time, late, not at all — and each of those shops gets all three (a buyer who applies
    while asking about something else fills a gap); other outcomes are drawn. A buyer asking
    "退款怎么还没到账" gets a refund from before the chat.
    """
    refunds: list[SampleRefund] = []
    given: dict[str, list[str]] = {s.name: [] for s in SHOPS if s.platform in RULE_PLATFORMS}
    for chat in chats:
        order = _order_of(chat, orders)
        if order is None or not order.paid or order.paid_at >= chat.started:  # type: ignore[operator]
            continue
        if any("还没到账" in t for t in chat.buyer_texts):
            refunds.extend(_earlier_refund(chat, order, rng))
            continue
        asked = next(((i, m.text) for i, m in enumerate(chat.messages[:-1]) if m.role is Role.buyer
                      and any(w in m.text for w in _REFUND_ASKS)), None)
        if asked is None:
            continue
        index, text = asked
        reason = next(r for w, r in _REFUND_ASKS.items() if w in text)
        if reason == REASON_QUALITY and "换货" in text and _shop(chat.shop).kind == "apparel":
            reason = REASON_SIZE
        designed = chat.shop in given and _rule_covers(reason)
        outcome = OUTCOMES[len(given[chat.shop]) % 3] if designed else rng.choice(("in_time", "late", "late", "open"))
        refund = _in_chat_refund(chat, index, order, reason, outcome, rng)
        refunds.append(refund)
        if designed:
            given[chat.shop].append(refund.case)
    refunded = {id(r.order) for r in refunds}
    visits = Counter((c.shop, c.buyer_id) for c in chats)  # one chat only: the request falls in no other
    for shop, outcomes in given.items():
        missing = [o for o in OUTCOMES if o not in outcomes]
        pool = [(c, o) for c in chats if c.shop == shop and visits[(shop, c.buyer_id)] == 1
                and (o := _order_of(c, orders)) is not None and o.paid
                and id(o) not in refunded and o.paid_at < c.started  # type: ignore[operator]
                and any(m.role is Role.buyer for m in c.messages[:-1])]
        rng.shuffle(pool)
        for chat, order in pool:
            if not missing:
                break
            index = next(i for i, m in enumerate(chat.messages[:-1]) if m.role is Role.buyer)
            refund = _in_chat_refund(chat, index, order, REASON_UNWANTED, missing[0], rng)
            if refund.case == missing[0]:
                refunds.append(refund)
                refunded.add(id(order))
                missing.pop(0)
        if missing:
            raise RuntimeError(f"no chat in {shop} can show a refund handled: {', '.join(missing)}")
    return refunds


def _rule_covers(reason: str) -> bool:
    return any(word in reason for word in REFUND_RULE_REASONS)


def _in_chat_refund(chat: Chat, index: int, order: SampleOrder, reason: str, outcome: str, rng: random.Random
                    ) -> SampleRefund:
    """A refund applied for just after the buyer's message `index`, handled as `outcome` says.

    A late one that would end after the export is still open at export time.
    """
    requested = min(chat.times[index] + _seconds(rng, 20, 90), chat.ended)
    finished = {"in_time": requested + _minutes(rng, 6, 25), "late": requested + _minutes(rng, 125, 210),
                "open": None}[outcome]
    if finished is not None and finished > EXPORT_END:
        finished, outcome = None, "open"
    return SampleRefund(order=order, reason=reason, requested_at=requested, finished_at=finished,
                        status=REFUND_OPEN if finished is None else REFUND_DONE, case=outcome,
                        conversation_id=chat.conversation_id)


def _earlier_refund(chat: Chat, order: SampleOrder, rng: random.Random) -> list[SampleRefund]:
    """The refund a buyer asks after ("还没到账"): requested, and approved, before the chat."""
    room = (chat.started - order.paid_at).total_seconds()  # type: ignore[operator]
    if room < 3 * 3600:
        return []
    requested = order.paid_at + _seconds(rng, 600, room / 2)  # type: ignore[operator]
    finished = requested + _seconds(rng, 1800, (chat.started - requested).total_seconds() - 600)
    return [SampleRefund(order=order, reason=REASON_UNWANTED, requested_at=requested,
                         finished_at=finished, status=REFUND_DONE, conversation_id=chat.conversation_id)]


def _more_refunds(orders: list[SampleOrder], refunds: list[SampleRefund], rng: random.Random
                  ) -> list[SampleRefund]:
    """About one paid order in eight gets a refund; every shop shows each outcome, some with a dispute.

    Each shop's first refunds are a quality problem, a wrong order (退款 within 30 minutes) and a
    late shipment (and a wrong size for the clothes shop); on Pinduoduo, Kuaishou and JD the
    quality refund goes to the platform (平台介入).
    """
    out: list[SampleRefund] = []
    taken = {id(r.order) for r in refunds}
    for shop in SHOPS:
        pool = [o for o in orders if o.shop == shop.name and o.paid and id(o) not in taken
                and o.paid_at <= EXPORT_END - dt.timedelta(hours=3)]  # type: ignore[operator]
        first = [REASON_QUALITY, REASON_WRONG, REASON_LATE_SHIPPING] + ([REASON_SIZE] if shop.kind == "apparel" else [])
        wanted = max(len(first), round(len(pool) / 8))
        others = [REASON_UNWANTED, REASON_UNWANTED, REASON_WRONG, REASON_QUALITY] + (
            [REASON_SIZE, REASON_SIZE] if shop.kind == "apparel" else [])
        disputed = False
        for n, order in enumerate(rng.sample(pool, wanted)):
            reason = first[n] if n < len(first) else rng.choice(others)
            dispute = reason == REASON_QUALITY and shop.platform in DISPUTE_PLATFORMS and not disputed
            disputed = disputed or dispute
            out.append(_refund(order, reason, dispute, rng))
    return out


def _refund(order: SampleOrder, reason: str, dispute: bool, rng: random.Random) -> SampleRefund:
    """Request and outcome times that fit the reason (a wrong order is undone in minutes, a dispute takes a day)."""
    paid = order.paid_at
    assert paid is not None
    room = (EXPORT_END - paid).total_seconds()
    if reason == REASON_WRONG:
        requested = paid + _seconds(rng, 120, min(3600, room / 2))
    else:
        requested = paid + _seconds(rng, min(3600, room / 3), min(36 * 3600, room * 2 / 3))
    handling = {
        REASON_WRONG: (3, 28), REASON_UNWANTED: (20, 360), REASON_QUALITY: (120, 1200),
        REASON_SIZE: (180, 1800), REASON_LATE_SHIPPING: (10, 180),
    }[reason]
    if dispute:
        handling = (24 * 60, 40 * 60)
    finished: dt.datetime | None = requested + _minutes(rng, *handling)
    # the buyer withdrew it, or the shop refused after checking the returned goods
    closed = rng.random() < {REASON_UNWANTED: 0.3, REASON_SIZE: 0.3, REASON_QUALITY: 0.1}.get(reason, 0.0)
    if reason != REASON_WRONG and not dispute and rng.random() < 0.15:
        finished = None
    if finished is not None and finished > EXPORT_END:
        finished = None
    status = REFUND_OPEN if finished is None else REFUND_CLOSED if closed else REFUND_DONE
    return SampleRefund(order=order, reason=reason, requested_at=requested, finished_at=finished, status=status,
                        dispute=dispute)


def _after_sales_buyers(chats: list[Chat], orders: list[SampleOrder]) -> list[tuple[str, str, str]]:
    """Per shop, a buyer whose every chat is an after-sales consultation (left out of 询单)."""
    first_paid: dict[tuple[str, str], dt.datetime] = {}  # the KPI rule needs a paid order before the chat
    for o in orders:
        if o.paid_at is not None:
            key = (o.shop, o.buyer_id)
            first_paid[key] = min(first_paid.get(key, o.paid_at), o.paid_at)
    out = []
    for shop in SHOPS:
        by_buyer: dict[str, list[Chat]] = {}
        for c in chats:
            if c.shop == shop.name:
                by_buyer.setdefault(c.buyer_id, []).append(c)
        for buyer, mine in by_buyer.items():
            key = (shop.name, buyer)
            if key in first_paid and all(c.manual and c.after_sales and first_paid[key] < c.started for c in mine) \
                    and not any(o.buyer_id == buyer and o.shop == shop.name and o.created_at > mine[0].started
                                for o in orders):
                out.append((shop.name, buyer, mine[0].conversation_id))
                break
    return out


def build_sample_commerce(chats: list[Chat], seed: int = 7) -> CommerceSample:
    """Every order and refund of the bundled exports, with their designed cases (no files written)."""
    rng = random.Random(seed)
    orders = _chat_orders(chats, rng)
    used: set[str] = set()  # conversations a designed case has taken
    orders += _confirm_cases(chats, rng, used)
    orders += _outside_window(chats, rng, used)
    orders += _conversions(chats, orders, rng, used)
    orders += _silent(chats, rng)
    orders.sort(key=lambda o: (o.created_at, o.shop, o.buyer_id))
    ids = OrderIds(rng)
    for o in orders:
        o.order_id = ids.new(o.platform, o.created_at)
    refunds = _chat_refunds(chats, orders, rng)
    refunds += _more_refunds(orders, refunds, rng)
    refunds.sort(key=lambda r: (r.requested_at, r.order.order_id))
    refunded = {r.order.order_id for r in refunds if r.status == REFUND_DONE}
    for o in orders:
        o.status = order_status(o.platform, o.paid_at, o.created_at, o.order_id in refunded)
    sample = CommerceSample(orders=orders, refunds=refunds, after_sales_buyers=_after_sales_buyers(chats, orders))
    sample.files = _file_rows(sample, ids, rng)
    return sample


# --- the files ----------------------------------------------------------------------------------------


def _order_cells(o: SampleOrder, workbook: bool) -> tuple[object, ...]:
    if workbook:  # ORDER_XLSX_HEADERS: times as datetime cells, amounts as numbers
        return (o.order_id, o.created_at, o.shop, PLATFORM_ZH[o.platform], o.buyer_id, o.items, o.cents / 100,
                o.paid_at, o.status)
    return (o.order_id, o.buyer_id, o.shop, PLATFORM_ZH[o.platform], _clock(o.created_at), _clock(o.paid_at),
            _yuan(o.cents), o.items, o.status)


def _refund_cells(r: SampleRefund) -> tuple[object, ...]:
    return (r.order.order_id, _clock(r.requested_at), r.reason, "是" if r.is_quality else "否", r.status,
            _clock(r.finished_at), "已介入" if r.dispute else "未介入")


def _file_rows(sample: CommerceSample, ids: OrderIds, rng: random.Random) -> dict[str, list[FileRow]]:
    """Each export's rows in file order, with a few deliberately bad ones among them."""
    in_csv = [FileRow(_order_cells(o, False)) for o in sample.orders if o.platform in CSV_PLATFORMS]
    in_xlsx = [FileRow(_order_cells(o, True)) for o in sample.orders if o.platform not in CSV_PLATFORMS]
    refunds = [FileRow(_refund_cells(r)) for r in sample.refunds]

    # A group order that never formed (拼单未成团) is exported without its 下单时间.
    shanye = _shop("山野茶铺")
    when = dt.datetime(2025, 6, 17, 15, 42, 7)
    at = rng.randrange(len(in_csv) // 4, len(in_csv) // 2)
    in_csv.insert(at, FileRow(
        (ids.new("pinduoduo", when), f"{shanye.buyer_prefix}{rng.randrange(100_000_000, 999_999_999)}", shanye.name,
         "拼多多", "", "", _yuan(1990), 1, ORDER_STATUSES["pinduoduo"].closed),
        "下单时间为空（拼单未成团被取消的订单）", "应拒绝"))
    # The same order exported twice in a row.
    at = rng.randrange(len(in_csv) // 2, len(in_csv) * 3 // 4)
    in_csv.insert(at + 1, in_csv[at]._replace(problem=f"与上一行完全重复（订单 {in_csv[at].cells[0]} 导出了两次）",
                                              outcome="重复"))
    # A refund offset line with a negative amount (冲正).
    nuannuan = _shop("暖暖母婴")
    at = rng.randrange(len(in_xlsx) // 2, len(in_xlsx))
    when = dt.datetime(2025, 6, 18, 11, 20, 31)
    in_xlsx.insert(at, FileRow(
        (ids.new("kuaishou", when), when, nuannuan.name, "快手",
         f"{nuannuan.buyer_prefix}{rng.randrange(100_000_000, 999_999_999)}", 1, -49.0, when, "退款冲正"),
        "实付金额为负数 -49.00（退款冲正行，不是订单）", "应拒绝"))
    # A refund record whose request time did not make it into the export.
    refunded = {r.order.order_id for r in sample.refunds}
    order = rng.choice([o for o in sample.orders if o.paid and o.order_id not in refunded])
    at = rng.randrange(len(refunds) // 3, len(refunds) * 2 // 3)
    refunds.insert(at, FileRow((order.order_id, "", REASON_UNWANTED, "否", REFUND_OPEN, "", "未介入"),
                               "退款申请时间为空", "应拒绝"))
    return {ORDERS_CSV: in_csv, ORDERS_XLSX: in_xlsx, REFUNDS_CSV: refunds}


def _write_csv(path: Path, headers: Sequence[str], rows: list[FileRow], encoding: str) -> None:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows(row.cells for row in rows)


def _write_orders_xlsx(path: Path, rows: list[FileRow]) -> None:
    """The workbook export: datetime and number cells, a fixed document date so the bytes never change."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
    wb.set_properties({"created": EXPORTED_AT, "author": "kefuguard sample", "title": "订单导出"})
    ws = wb.add_worksheet(ORDER_SHEET)
    bold = wb.add_format({"bold": True})
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    money = wb.add_format({"num_format": "0.00"})
    ws.write_row(0, 0, ORDER_XLSX_HEADERS, bold)
    ws.set_column(0, 1, 21)
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row.cells):
            if isinstance(value, dt.datetime):
                ws.write_datetime(r, c, value, when)
            elif isinstance(value, float):
                ws.write_number(r, c, value, money)
            elif isinstance(value, int):
                ws.write_number(r, c, value)
            elif value:  # an unpaid order's 支付完成时间 stays empty
                ws.write_string(r, c, str(value))
    wb.close()


def write_sample_commerce(out: str | Path, seed: int = 7, chats: list[Chat] | None = None) -> CommerceSample:
    """Write the order and refund exports and their README into `out`; returns what they hold."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chats = load_sample_chats() if chats is None else chats
    sample = build_sample_commerce(chats, seed)
    _write_csv(out / ORDERS_CSV, ORDER_CSV_HEADERS, sample.files[ORDERS_CSV], "gbk")
    _write_orders_xlsx(out / ORDERS_XLSX, sample.files[ORDERS_XLSX])
    _write_csv(out / REFUNDS_CSV, REFUND_HEADERS, sample.files[REFUNDS_CSV], "utf-8-sig")
    (out / "README.md").write_text(_readme(sample, chats, seed), encoding="utf-8", newline="\n")
    return sample


# --- the README -----------------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return lines


def _mins(span: dt.timedelta) -> str:
    return f"{span.total_seconds() / 60:g}"


def _chats_by_buyer(chats: list[Chat]) -> dict[tuple[str, str], list[Chat]]:
    by_buyer: dict[tuple[str, str], list[Chat]] = {}
    for chat in chats:
        by_buyer.setdefault((chat.shop, chat.buyer_id), []).append(chat)
    return by_buyer


def order_confirmations(orders: list[SampleOrder], chats: list[Chat]) -> list[tuple[SampleOrder, Chat, str]]:
    """Tmall/Taobao orders placed during one of the buyer's chats in the shop, each with how the
    10-minute confirmation judges it there ('confirmed' or 'missed')."""
    by_buyer = _chats_by_buyer(chats)
    out = []
    for order in orders:
        if order.platform in RULE_PLATFORMS:
            for chat in by_buyer.get((order.shop, order.buyer_id), ()):
                outcome = chat.confirmation(order.created_at)
                if outcome is not None:
                    out.append((order, chat, outcome))
    return out


def refund_requests_in_chats(refunds: list[SampleRefund], chats: list[Chat]) -> list[tuple[SampleRefund, Chat, str]]:
    """Tmall/Taobao refunds requested during one of the buyer's chats (or up to 30 minutes before),
    each with how the 30-minute rule judges it: in_time, late, open or not_covered (its reason)."""
    by_buyer = _chats_by_buyer(chats)
    out = []
    for refund in refunds:
        order = refund.order
        if order.platform not in RULE_PLATFORMS:
            continue
        for chat in by_buyer.get((order.shop, order.buyer_id), ()):
            if not chat.started - REFUND_HANDLING <= refund.requested_at <= chat.ended:
                continue
            if not _rule_covers(refund.reason):
                outcome = "not_covered"
            elif refund.finished_at is None:
                outcome = "open"
            else:
                outcome = "in_time" if refund.finished_at - refund.requested_at <= REFUND_HANDLING else "late"
            out.append((refund, chat, outcome))
    return out


def _readme(sample: CommerceSample, chats: list[Chat], seed: int) -> str:
    orders, refunds = sample.orders, sample.refunds
    lines = [
        "# 示例订单与售后导出（kefuguard sample commerce）",
        "",
        f"由 `python -m kefuguard.sample.commerce --out DIR --seed {seed}` 生成，逐字节可复现；请勿手工修改。",
        "全部内容为虚构，与 `../data/` 的示例聊天记录配套：同样的 6 家店铺、同样的买家和时间。订单由聊天记录推出"
        "（会话的下单时间、实付金额），再加上真实店铺导出里也会有的订单：咨询后下单、咨询很久以后才下单、只问了机器人就下单、"
        "从未咨询的静默下单、未付款和一单多件（关联销售）；售后记录覆盖各种原因和结果，少数有平台介入。",
        "这些文件不放在 `data/` 里：审计会把 `data/` 中的每个文件都当作聊天记录读取。",
        "",
        "用法（`kefuguard audit` 接受同样的 `--orders`/`--refunds`，在审计报告中给出指标并按导出时间检查订单核对与退款处理）：",
        "",
        "```",
        "kefuguard kpi src/kefuguard/sample/data \\",
        f"    --orders src/kefuguard/sample/commerce/{ORDERS_CSV} \\",
        f"    --orders src/kefuguard/sample/commerce/{ORDERS_XLSX} \\",
        f"    --refunds src/kefuguard/sample/commerce/{REFUNDS_CSV}",
        "```",
        "",
        "## 文件",
        "",
    ]
    headers = {ORDERS_CSV: ORDER_CSV_HEADERS, ORDERS_XLSX: ORDER_XLSX_HEADERS, REFUNDS_CSV: REFUND_HEADERS}
    formats = {
        ORDERS_CSV: "订单，GBK 编码 CSV，中文表头（淘宝/天猫式列名），时间为 `YYYY-MM-DD HH:MM:SS`，金额两位小数",
        ORDERS_XLSX: f"订单，Excel（工作表“{ORDER_SHEET}”），另一套中文列名、列顺序不同，时间为日期单元格，金额为数字",
        REFUNDS_CSV: "售后/退款，UTF-8（带 BOM）CSV，中文表头",
    }
    platforms = {ORDERS_CSV: CSV_PLATFORMS, ORDERS_XLSX: tuple(p for p in PLATFORM_ZH if p not in CSV_PLATFORMS)}
    rows = []
    for name, file_rows in sample.files.items():
        shops = "全部 6 家" if name == REFUNDS_CSV else "、".join(
            f"{s.name}（{PLATFORM_ZH[s.platform]}）" for s in SHOPS if s.platform in platforms[name])
        rejected = sum(r.outcome == "应拒绝" for r in file_rows)
        duplicates = sum(r.outcome == "重复" for r in file_rows)
        rows.append((f"`{name}`", formats[name], shops, len(file_rows), len(file_rows) - rejected - duplicates,
                     duplicates, rejected))
    lines += _table(("文件", "格式", "店铺（平台）", "数据行", "应接受", "重复", "应拒绝"), rows)
    lines += [""]
    for name, cols in headers.items():
        lines.append(f"- `{name}` 的列：" + "、".join(cols))
    lines += [
        "",
        "列名都是 `kefuguard.io.orders` 认识的写法（docs/kpi.md），不需要 `--map`。平台列写中文（天猫、淘宝、拼多多、抖音、京东、快手）。",
        "付款时间为空 = 未付款。是否品质问题取 是/否；平台介入取 已介入/未介入。",
        "订单号格式：天猫/淘宝 19 位数字；拼多多 `YYMMDD-` 加 15 位数字；京东 12 位数字；抖音 `69` 开头 19 位；快手 `24` 开头 16 位。",
        "订单状态按导出时间 " + _clock(EXPORTED_AT) + " 给出（" + "；".join(
            f"{PLATFORM_ZH[p]}：" + "、".join(dict.fromkeys(s)) for p, s in ORDER_STATUSES.items() if p != "tmall") + "），"
        f"退款成功的订单为关闭状态；售后状态取 {REFUND_DONE}、{REFUND_CLOSED}、{REFUND_OPEN}（未完结，完结时间为空）。",
        "",
        "## 故意放入的问题行",
        "",
        "行号为文件行号（CSV）或 Excel 行号（XLSX），第 1 行是表头。“应拒绝”的行导入时报告行号和原因；“重复”的行计入重复数。",
        "读取 = 接受 + 重复 + 拒绝。",
        "",
    ]
    bad = [(f"`{name}`", i + 2, row.problem, row.outcome) for name, file_rows in sample.files.items()
           for i, row in enumerate(file_rows) if row.outcome]
    lines += _table(("文件", "行号", "问题", "导入时"), bad)
    lines += ["", "## 各店铺的订单", "", "按设计情形计数（每单只属一种情形）；关联销售 = 商品数量 ≥ 2 的订单。", ""]
    cases = list(CASE_TITLES)
    rows = []
    for shop in SHOPS:
        mine = [o for o in orders if o.shop == shop.name]
        count = Counter(o.case for o in mine)
        days = sorted({o.created_at.date() for o in mine})
        rows.append((shop.name, PLATFORM_ZH[shop.platform], len(mine), *(count[c] for c in cases),
                     sum(not o.paid for o in mine), sum(o.items >= 2 for o in mine),
                     f"{days[0]:%m-%d}～{days[-1]:%m-%d}",
                     sum(r.order.shop == shop.name for r in refunds)))
    lines += _table(("店铺", "平台", "订单", *(CASE_TITLES[c][0] for c in cases), "未付款", "关联销售", "下单日期", "售后"),
                    rows)
    lines += [""] + [f"- {short}：{title}" for short, title in CASE_TITLES.values()]
    lines += [
        "",
        "聊天记录里的订单多在会话之前下单（售后会话所指的订单，最早 " + f"{min(o.created_at for o in orders):%m-%d}），"
        "因此 06-16 之前的订单都没有咨询，算静默下单；这些买家在聊天中问退款、破损、换货时，按 KPI 口径算售后咨询，不计入询单。",
        "",
        "## 设计的情形",
        "",
        "### 超出 24 小时归属窗口",
        "",
    ]
    lines += _table(("店铺", "订单编号", "买家", "会话", "说明"), [
        (o.shop, o.order_id, o.buyer_id, o.conversation_id, o.note) for o in orders if o.case == "outside_window"])
    lines += ["", "### 只问售后的买家（售后咨询，不计入询单）", ""]
    lines += _table(("店铺", "买家", "会话", "售后前的订单"), [
        (shop, buyer, cid, "、".join(o.order_id for o in orders if o.shop == shop and o.buyer_id == buyer))
        for shop, buyer, cid in sample.after_sales_buyers])
    lines += ["", "### 天猫/淘宝：会话中下单，10 分钟内核对订单（`audit.order_confirm`）", "",
              f"买家在该店的订单，下单时间在其会话开始前 {_mins(ORDER_CONFIRM)} 分钟至会话结束之间的；按审计默认的核对词（"
              + "、".join(CONFIRM_WORDS) + f"）判定 {_mins(ORDER_CONFIRM)} 分钟内是否有人工回复核对。", ""]
    lines += _table(("店铺", "订单编号", "买家", "会话", "下单时间", "聊天记录里", "结果"), [
        (o.shop, o.order_id, o.buyer_id, chat.conversation_id, _clock(o.created_at),
         "也有下单消息" if chat.order_time == o.created_at else "没有下单信息（仅订单导出）",
         "按时核对" if outcome == "confirmed" else "未核对") for o, chat, outcome in order_confirmations(orders, chats)])
    lines += ["", "### 天猫/淘宝：会话中申请退款，30 分钟内处理（`audit.refund_handling`）", "",
              f"售后记录的申请时间在该买家会话开始前 {_mins(REFUND_HANDLING)} 分钟至会话结束之间的；处理时长 = 退款完结时间 − "
              f"退款申请时间。30 分钟规则只管 {'、'.join(REFUND_RULE_REASONS)} 等原因，质量问题需先退货，不在此列。"
              "其他平台也做这项检查，但只有天猫/淘宝按次罚款，下表只列这两家。", ""]
    judged = refund_requests_in_chats(refunds, chats)
    if len({id(r) for r, _chat, _outcome in judged}) < len(judged):
        lines += ["同一买家的两段会话时间重叠时，落在重叠处的记录在两段会话里各判一次（与审计相同），下表各列一行。", ""]
    outcome_zh = {"in_time": "30 分钟内完结", "late": "超过 30 分钟", "open": "导出时未完结（待商家处理）",
                  "not_covered": "不在 30 分钟规则内"}
    lines += _table(("店铺", "订单编号", "会话", "退款原因", "申请时间", "完结时间", "结果"), [
        (r.order.shop, r.order.order_id, chat.conversation_id, r.reason, _clock(r.requested_at),
         _clock(r.finished_at) or "—", outcome_zh[outcome]) for r, chat, outcome in judged])
    lines += ["", "### 平台介入（纠纷）", ""]
    lines += _table(("店铺", "订单编号", "退款原因", "申请时间", "完结时间", "售后状态"), [
        (r.order.shop, r.order.order_id, r.reason, _clock(r.requested_at), _clock(r.finished_at) or "—", r.status)
        for r in refunds if r.dispute])
    lines += ["", "### 售后记录", ""]
    rows = []
    for shop in SHOPS:
        mine = [r for r in refunds if r.order.shop == shop.name]
        hours = [(r.finished_at - r.requested_at).total_seconds() / 3600 for r in mine if r.finished_at]
        rows.append((shop.name, len(mine), *(sum(r.reason == reason for r in mine) for reason in
                                             (REASON_WRONG, REASON_UNWANTED, REASON_QUALITY, REASON_SIZE,
                                              REASON_LATE_SHIPPING)),
                     *(sum(r.status == s for r in mine) for s in (REFUND_DONE, REFUND_CLOSED, REFUND_OPEN)),
                     sum(h <= 0.5 for h in hours), sum(h > 2 for h in hours), sum(r.dispute for r in mine)))
    lines += _table(("店铺", "售后", REASON_WRONG, REASON_UNWANTED, REASON_QUALITY, REASON_SIZE, REASON_LATE_SHIPPING,
                     REFUND_DONE, REFUND_CLOSED, REFUND_OPEN, "30 分钟内完结", "超过 2 小时", "平台介入"), rows)
    return "\n".join(lines) + "\n"


# --- the benchmark's orders -------------------------------------------------------------------------

_CID_PREFIX = '{"conversation_id":"'  # how generate_to_jsonl starts every line

try:  # faster where installed; only each conversation's first line is parsed either way
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover - the default install
    from json import loads as _json_loads


def write_bench_commerce(chats_jsonl: Path, orders_out: Path, refunds_out: Path, orders: int = 200_000,
                         seed: int = 7) -> dict[str, int]:
    """Write exactly `orders` orders and about 5% refunds for a large chat JSONL (UTF-8 CSVs, Chinese headers).

    Orders come from the conversations' 下单时间/实付金额 and from some pre-sales conversations
    (the buyer orders within hours), in file order — the first ones when the chats hold more than
    `orders` — then silent orders fill up to `orders`. Streams: only each conversation's first
    line is parsed as JSON (the rest are skipped by their id prefix), nothing is kept per message,
    so 1M chat lines take seconds and little memory. Returns the counts written (orders by kind,
    refunds) and the conversations read.
    """
    rng = random.Random(seed)
    ids = OrderIds(rng)
    known = {s.name: s for s in SHOPS}
    shops: dict[str, str] = {}  # shop → platform, in order of appearance
    seen: set[str] = set()
    counts = Counter(conversations=0, chat_orders=0, converted_orders=0, silent_orders=0, refunds=0)
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None
    with (open(chats_jsonl, encoding="utf-8") as chats,
          open(orders_out, "w", encoding="utf-8", newline="") as orders_fh,
          open(refunds_out, "w", encoding="utf-8", newline="") as refunds_fh):
        order_writer = csv.writer(orders_fh, lineterminator="\n")
        refund_writer = csv.writer(refunds_fh, lineterminator="\n")
        order_writer.writerow(ORDER_CSV_HEADERS)
        refund_writer.writerow(REFUND_HEADERS)
        written = 0

        def write(platform: str, shop: str, buyer: str, created: dt.datetime, paid_at: dt.datetime | None,
                  cents: int, items: int) -> None:
            order_id = ids.new(platform, created)
            status = order_status(platform, paid_at, created, False, now=created + dt.timedelta(days=2))
            order_writer.writerow((order_id, buyer, shop, PLATFORM_ZH[platform], _clock(created), _clock(paid_at),
                                   _yuan(cents), items, status))
            if paid_at is not None and rng.random() < 0.055:
                refund_writer.writerow(_bench_refund(order_id, paid_at, rng))
                counts["refunds"] += 1

        last = ""  # a conversation's lines follow each other: most lines end at this comparison
        for line in chats:
            if line.startswith(_CID_PREFIX):
                cid = line[len(_CID_PREFIX):line.index('"', len(_CID_PREFIX))]
            elif line.strip():
                cid = _json_loads(line)["conversation_id"]
            else:
                continue
            if cid == last or cid in seen:
                continue
            last = cid
            seen.add(cid)
            counts["conversations"] += 1
            row = _json_loads(line)
            platform, shop, buyer = row["platform"], row["shop"], row["buyer_id"]
            shops.setdefault(shop, platform)
            started = _local(dt.datetime.fromisoformat(row["sent_at"]))
            first_at = started if first_at is None else min(first_at, started)
            last_at = started if last_at is None else max(last_at, started)
            if written >= orders:
                break  # the chats alone filled the order count: the first ones are kept
            known_shop = known.get(shop)
            product = _shop_product(known_shop, rng)
            if row.get("order_time"):
                created = _local(dt.datetime.fromisoformat(row["order_time"]))
                paid = row.get("paid_amount")
                items = _items_bought(known_shop, paid) if paid is not None and known_shop else 1
                write(platform, shop, buyer, created, created + _seconds(rng, 8, 240) if paid is not None else None,
                      _cents(paid) if paid is not None else product, items)
                counts["chat_orders"] += 1
            elif buyer and rng.random() < 0.2:
                created = started + _minutes(rng, 5, 480)
                write(platform, shop, buyer, created,
                      None if rng.random() < 0.1 else created + _seconds(rng, 10, 600), product, 1)
                counts["converted_orders"] += 1
            else:
                continue
            written += 1

        catalogue = [(name, platform, known.get(name)) for name, platform in shops.items()] or [
            (s.name, s.platform, s) for s in SHOPS]
        start = first_at or dt.datetime.combine(DEFAULT_START, dt.time())
        span = max(((last_at or start) - start).total_seconds(), 86400)
        while written < orders:
            name, platform, shop = catalogue[rng.randrange(len(catalogue))]
            prefix = shop.buyer_prefix if shop else "buyer_"
            created = start + _seconds(rng, 0, span)
            write(platform, name, f"{prefix}{rng.randrange(100_000_000, 999_999_999)}", created,
                  None if rng.random() < 0.08 else created + _seconds(rng, 10, 600), _shop_product(shop, rng), 1)
            counts["silent_orders"] += 1
            written += 1
    return {"orders": written, **counts}


def _shop_product(shop: Shop | None, rng: random.Random) -> int:
    """Cents of one of the shop's products (99.00 for a shop the generator does not know)."""
    if shop is None:
        return 9900
    return _cents(shop.products[rng.randrange(len(shop.products))][1])


def _bench_refund(order_id: str, paid_at: dt.datetime, rng: random.Random) -> tuple[str, ...]:
    """One refund row (REFUND_HEADERS) with a drawn reason, outcome and, rarely, a dispute."""
    roll = rng.random()
    reason = (REASON_WRONG if roll < 0.25 else REASON_UNWANTED if roll < 0.6 else REASON_QUALITY if roll < 0.85
              else REASON_LATE_SHIPPING)
    requested = paid_at + _minutes(rng, 5, 36 * 60)
    finished = None if rng.random() < 0.15 else requested + _minutes(rng, 3, 30 if reason == REASON_WRONG else 1800)
    status = REFUND_OPEN if finished is None else REFUND_CLOSED if rng.random() < 0.1 else REFUND_DONE
    return (order_id, _clock(requested), reason, "是" if reason == REASON_QUALITY else "否", status, _clock(finished),
            "已介入" if rng.random() < 0.03 else "未介入")


# --- command line -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kefuguard.sample.commerce",
                                     description="生成与示例聊天记录配套的订单、售后导出")
    parser.add_argument("--out", type=Path, help="写出示例订单/售后文件和 README 的目录（随包发布的在 sample/commerce/）")
    parser.add_argument("--seed", type=int, default=7, help="随机种子（默认 7，即随包发布的示例）")
    parser.add_argument("--chats", type=Path, help="改为按一个大的聊天 JSONL（generator --jsonl 写的）生成基准测试用订单")
    parser.add_argument("--orders", type=int, default=200_000, help="--chats 时的订单数")
    parser.add_argument("--orders-out", type=Path, default=Path("bench_orders.csv"), help="--chats 时的订单 CSV")
    parser.add_argument("--refunds-out", type=Path, default=Path("bench_refunds.csv"), help="--chats 时的售后 CSV")
    args = parser.parse_args(argv)
    if args.chats:
        counts = write_bench_commerce(args.chats, args.orders_out, args.refunds_out, args.orders, args.seed)
        print(f"{counts['orders']} 个订单 → {args.orders_out}，{counts['refunds']} 条售后 → {args.refunds_out}")
        return 0
    if not args.out:
        parser.error("需要 --out 或 --chats")
    sample = write_sample_commerce(args.out, seed=args.seed)
    for name, rows in sample.files.items():
        print(f"{args.out / name}: {len(rows)} 行")
    return 0


if __name__ == "__main__":
    sys.exit(main())
