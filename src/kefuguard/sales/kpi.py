"""Sales and after-sales KPIs per agent, shop, platform and day (询单转化率, 落实率, 客单价, 售后时长 …).

Definitions (docs/kpi.md has them in full, in Chinese and English):

* 询单人数 consulted: distinct buyers in pre-sales consultations (see `profiles`), by consultation day.
* 询单转化率 conversion_rate: consulted buyers with a paid order credited to that consultation
  (to that agent, on agent rows) / consulted buyers.
* 下单人数 ordered / 付款人数 paid: distinct buyers with an order / a paid order, by the order's
  creation day; on agent rows only orders credited to the agent. 落实率 fulfilment_rate = paid / ordered.
* 销售额 sales: sum of paid orders' amounts; 客单价 avg_order_value = sales / paid buyers;
  items_per_order = items in paid orders / paid orders (关联销售).
* 静默下单 silent: orders without a crediting consultation; counted apart, in shop/platform rows only.
* After-sales, grouped like their order: 售后处理时长 handling_hours = mean request→finish hours
  of finished after-sales records; 退款完结时长 refund_hours = the same for those whose status is a
  completed refund; 品质退款率 quality_refund_rate and dispute_rate = paid orders with a quality /
  disputed record / paid orders.

A row with `day=None` totals all days (distinct buyers over the period).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from sys import intern
from typing import Any

from kefuguard.conversation.model import SHANGHAI, Conversation, Message, Role
from kefuguard.conversation.results import KpiReport, KpiRow, MetricResult
from kefuguard.sales.models import Order, Refund
from kefuguard.sales.profiles import AttributionProfile, get_profile

Buyer = tuple[str, str, str]  # platform, shop, buyer
UnitKey = tuple[str, str, str, dt.date]

METRIC_TITLES = {
    "conversion_rate": "询单转化率", "fulfilment_rate": "落实率", "avg_order_value": "客单价",
    "items_per_order": "件/单", "handling_hours": "售后处理时长", "refund_hours": "退款完结时长",
    "quality_refund_rate": "品质退款率", "dispute_rate": "纠纷率",
}


_UTC8 = 8 * 3600
_EPOCH_DAY = dt.date(1970, 1, 1)


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


@dataclass(slots=True)
class _Unit:
    """One buyer in one shop on one day: what the KPIs need of their chats (mergeable)."""

    key: UnitKey
    first_buyer_at: float | None = None  # epoch seconds of the buyer's first message that day
    asks_after_sales: bool = False  # a buyer message that day holds an after-sales keyword
    replies: list[tuple[float, str]] = field(default_factory=list)  # manual replies: (epoch s, agent)
    after_sales: bool = False  # decided at `finish`, when the orders are known

    @property
    def agents(self) -> set[str]:
        return {agent for _, agent in self.replies}

    def merge(self, other: _Unit) -> None:
        if other.first_buyer_at is not None and (self.first_buyer_at is None or other.first_buyer_at < self.first_buyer_at):
            self.first_buyer_at = other.first_buyer_at
        self.asks_after_sales |= other.asks_after_sales
        self.replies.extend(other.replies)


@dataclass
class _Acc:
    consulted: set[tuple[str, str]] = field(default_factory=set)
    converted: set[tuple[str, str]] = field(default_factory=set)
    after_sales: set[tuple[str, str]] = field(default_factory=set)
    ordered: set[tuple[str, str]] = field(default_factory=set)
    paid: set[tuple[str, str]] = field(default_factory=set)
    silent: set[tuple[str, str]] = field(default_factory=set)
    orders: int = 0
    paid_orders: int = 0
    items: int = 0
    sales: float = 0.0
    silent_sales: float = 0.0
    refunds: int = 0
    handling: list[float] = field(default_factory=list)
    refund_done: list[float] = field(default_factory=list)
    quality_orders: set[str] = field(default_factory=set)
    dispute_orders: set[str] = field(default_factory=set)

    def tally(self) -> _Tally:
        return _Tally(
            len(self.consulted), len(self.converted), len(self.after_sales), len(self.ordered), len(self.paid),
            len(self.silent), self.orders, self.paid_orders, self.items, self.sales, self.silent_sales, self.refunds,
            sum(self.handling), len(self.handling), sum(self.refund_done), len(self.refund_done),
            len(self.quality_orders), len(self.dispute_orders),
        )


@dataclass
class _Tally:
    """An accumulator's counts. Buyers are (shop, buyer) and orders belong to one shop, so a
    platform's distinct counts are its shops' counts added up: only the counts outlive a shop."""

    consulted: int = 0
    converted: int = 0
    after_sales: int = 0
    ordered: int = 0
    paid: int = 0
    silent: int = 0
    orders: int = 0
    paid_orders: int = 0
    items: int = 0
    sales: float = 0.0
    silent_sales: float = 0.0
    refunds: int = 0
    handling_sum: float = 0.0
    handling_n: int = 0
    refund_sum: float = 0.0
    refund_n: int = 0
    quality: int = 0
    dispute: int = 0

    def add(self, other: _Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _ratio(num: float, den: float) -> float | None:
    return None if not den else num / den


def _keys(platform: str, shop: str, agent: str | None, day: dt.date) -> list[tuple[str, str, str, str, Any]]:
    """The shop's and the agent's rows, daily and for the whole period (platform rows add up shops)."""
    out: list[tuple[str, str, str, str, Any]] = []
    for d in (day, None):
        out.append(("shop", platform, shop, "", d))
        if agent:
            out.append(("agent", platform, shop, agent, d))
    return out


class KpiCollector:
    """What the KPIs need of the chats, collected conversation by conversation and mergeable, so
    the audit's workers each collect their share and the parent joins the orders once (`finish`)."""

    def __init__(self, profile: AttributionProfile | str | None = None) -> None:
        self.profile = get_profile(profile) if isinstance(profile, str) else (profile or get_profile())
        self.units: dict[UnitKey, _Unit] = {}
        self._packed: list[_Packed] = []  # collectors that arrived pickled from the workers
        words = self.profile.after_sales_keywords
        self._after_sales = re.compile("|".join(map(re.escape, words))) if words else None

    def add_conversation(self, conv: Conversation) -> None:
        """Collect one conversation: every message is its buyer's (an export may leave the buyer id
        off the agent's rows), and a message's day comes from its timestamp at UTC+8 (China has
        kept that offset all year since 1991), looked up once per day, not per message."""
        buyer = next((m.buyer_id for m in conv.messages if m.buyer_id), "")
        if not buyer:
            return
        platform, shop = intern(conv.platform), intern(conv.shop)
        units, after_sales = self.units, self._after_sales
        buyer_role, agent_role = Role.buyer, Role.agent
        day = -1
        unit: _Unit | None = None
        for m in conv.messages:
            ts = m.sent_at.timestamp()
            if (ts + _UTC8) // 86400 != day or unit is None:
                day = (ts + _UTC8) // 86400
                key = (platform, shop, buyer, _EPOCH_DAY + dt.timedelta(days=int(day)))
                unit = units.get(key)
                if unit is None:
                    unit = units[key] = _Unit(key)
            role = m.role
            if role is buyer_role:
                if unit.first_buyer_at is None or ts < unit.first_buyer_at:
                    unit.first_buyer_at = ts
                if not unit.asks_after_sales and after_sales is not None:
                    unit.asks_after_sales = after_sales.search(m.text) is not None
            elif role is agent_role and not m.auto_reply and m.agent_id:
                unit.replies.append((ts, intern(m.agent_id)))

    def add(self, messages: Iterable[Message]) -> None:
        """Collect loose messages, each its own buyer's (`add_conversation` for a conversation). Shop, platform and agent texts are interned:
        one copy each per process, and per pickled partial on the way to the parent."""
        units, after_sales = self.units, self._after_sales
        for m in messages:
            if not m.buyer_id:
                continue
            key = (intern(m.platform), intern(m.shop), m.buyer_id, _day(m.sent_at))
            unit = units.get(key)
            if unit is None:
                unit = units[key] = _Unit(key)
            if m.role is Role.buyer:
                ts = m.sent_at.timestamp()
                if unit.first_buyer_at is None or ts < unit.first_buyer_at:
                    unit.first_buyer_at = ts
                if not unit.asks_after_sales and after_sales is not None:
                    unit.asks_after_sales = after_sales.search(m.text) is not None
            elif m.is_manual_reply and m.agent_id:
                unit.replies.append((m.sent_at.timestamp(), intern(m.agent_id)))

    def __getstate__(self) -> dict[str, Any]:
        """Columns instead of an object per unit and per reply: a worker's partial pickles with a
        few hundred thousand objects fewer (pickle's memo of them cost ~100 MB at 1M messages)."""
        units = [u for shop in self._shops() for u in self._units_of(shop)]
        replies = [r for u in units for r in u.replies]
        return {
            "profile": self.profile,
            "platforms": [u.key[0] for u in units],
            "shops": [u.key[1] for u in units],
            "buyers": [u.key[2] for u in units],
            "days": array("i", (u.key[3].toordinal() for u in units)),
            "first": array("d", (math.nan if u.first_buyer_at is None else u.first_buyer_at for u in units)),
            "asks": bytes(u.asks_after_sales for u in units),
            "counts": array("i", (len(u.replies) for u in units)),
            "times": array("d", (t for t, _ in replies)),
            "agents": [intern(a) for _, a in replies],
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Kept as columns (~6× smaller than the objects) until `finish` needs a shop's units."""
        self.__init__(state["profile"])  # type: ignore[misc]
        self._packed.append(_Packed(state))

    def merge(self, other: KpiCollector) -> None:
        units = self.units
        for key, unit in other.units.items():
            mine = units.get(key)
            if mine is None:
                units[key] = unit
            else:
                mine.merge(unit)
        self._packed.extend(other._packed)

    def finish(self, orders: Iterable[Order], refunds: Iterable[Refund] = ()) -> KpiReport:
        """Join the orders and refunds and compute every KPI row (see the module docstring)."""
        return _compute(self._shops(), self._units_of, list(orders), list(refunds), self.profile)

    def _shops(self) -> list[tuple[str, str]]:
        shops = {key[:2] for key in self.units}
        for packed in self._packed:
            shops |= packed.shops()
        return sorted(shops)

    def _units_of(self, shop: tuple[str, str]) -> list[_Unit]:
        """One shop's units: fresh objects, the collected ones and the packed ones merged by key."""
        out: dict[UnitKey, _Unit] = {}
        for key, u in self.units.items():
            if key[:2] == shop:
                out[key] = _Unit(key, u.first_buyer_at, u.asks_after_sales, list(u.replies))
        for packed in self._packed:
            for unit in packed.units_of(shop):
                mine = out.get(unit.key)
                if mine is None:
                    out[unit.key] = unit
                else:
                    mine.merge(unit)
        return list(out.values())


class _Packed:
    """A pickled collector's columns (`KpiCollector.__getstate__`), read one shop at a time."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.starts = array("q", [0])  # where each unit's replies start in the reply columns
        for n in state["counts"]:
            self.starts.append(self.starts[-1] + n)
        self._rows: dict[tuple[str, str], list[int]] | None = None

    def _index(self) -> dict[tuple[str, str], list[int]]:
        if self._rows is None:
            rows: dict[tuple[str, str], list[int]] = defaultdict(list)
            for i, shop in enumerate(zip(self.state["platforms"], self.state["shops"], strict=True)):
                rows[shop].append(i)
            self._rows = dict(rows)
        return self._rows

    def shops(self) -> set[tuple[str, str]]:
        return set(self._index())

    def units_of(self, shop: tuple[str, str]) -> Iterator[_Unit]:
        st, starts = self.state, self.starts
        times, agents = st["times"], st["agents"]
        for i in self._index().get(shop, ()):
            key = (shop[0], shop[1], st["buyers"][i], dt.date.fromordinal(st["days"][i]))
            first = st["first"][i]
            a, b = starts[i], starts[i + 1]
            yield _Unit(key, None if math.isnan(first) else first, bool(st["asks"][i]),
                        list(zip(times[a:b], agents[a:b], strict=True)))


def compute_kpis(chats: Iterable[Message | Conversation], orders: Iterable[Order], refunds: Iterable[Refund] = (),
                 profile: AttributionProfile | str | None = None) -> KpiReport:
    """Join chats, orders and refunds and compute every KPI row (see the module docstring)."""
    collector = KpiCollector(profile)
    loose: list[Message] = []
    for item in chats:
        if isinstance(item, Conversation):
            collector.add_conversation(item)
        else:
            loose.append(item)
    collector.add(loose)
    return collector.finish(orders, refunds)


def _compute(shops: list[tuple[str, str]], units_of: Callable[[tuple[str, str]], list[_Unit]], order_list: list[Order],
             refund_list: list[Refund], prof: AttributionProfile) -> KpiReport:
    """Shop by shop (each shop's units and buyer sets are freed before the next), platform rows from
    the shops' counts."""
    shops_orders: dict[tuple[str, str], list[Order]] = defaultdict(list)
    by_id: dict[str, Order] = {}
    for o in order_list:
        shops_orders[(o.platform, o.shop)].append(o)
        by_id.setdefault(o.order_id, o)
    shops_refunds: dict[tuple[str, str], list[tuple[Refund, Order]]] = defaultdict(list)
    unmatched = 0
    for r in refund_list:
        order = by_id.get(r.order_id)
        if order is None:
            unmatched += 1
        else:
            shops_refunds[(order.platform, order.shop)].append((r, order))
    del by_id
    rows: list[KpiRow] = []
    platforms: dict[tuple[str, Any], _Tally] = defaultdict(_Tally)
    silent_orders = 0
    for shop in sorted(set(shops) | shops_orders.keys()):
        acc, silent = _shop_accumulators(units_of(shop), shops_orders.pop(shop, []), shops_refunds.pop(shop, []), prof)
        silent_orders += silent
        for key, a in acc.items():
            tally = a.tally()
            rows.append(_row(key, tally, prof))
            if key[0] == "shop":
                platforms[(key[1], key[4])].add(tally)
        del acc
    rows.extend(_row(("platform", platform, "", "", day), tally, prof) for (platform, day), tally in platforms.items())
    order = {"platform": 0, "shop": 1, "agent": 2}
    rows.sort(key=lambda r: (order[r.level], r.platform, r.shop, r.agent_id, r.day is None, r.day or dt.date.min))
    return KpiReport(profile=prof.name, profile_title=prof.title, rows=rows, orders=len(order_list),
                     silent_orders=silent_orders, refunds=len(refund_list), unmatched_refunds=unmatched)


def _shop_accumulators(consultations_in: list[_Unit], order_list: list[Order], refunds: list[tuple[Refund, Order]],
                       prof: AttributionProfile) -> tuple[dict[tuple[str, str, str, str, Any], _Acc], int]:
    """One shop's shop and agent accumulators (daily and whole period), and its silent orders."""
    paid_at: dict[str, list[float]] = defaultdict(list)
    for o in order_list:
        if o.paid_at is not None:
            paid_at[o.buyer_id].append(o.paid_at.timestamp())

    consultations = [u for u in consultations_in if u.first_buyer_at is not None and u.replies]
    replies: dict[str, list[tuple[float, str, UnitKey]]] = defaultdict(list)
    for u in consultations:
        buyer = u.key[2]
        prior = any(t < u.first_buyer_at for t in paid_at.get(buyer, ()))  # type: ignore[operator]
        u.after_sales = u.asks_after_sales and (prior or not prof.after_sales_needs_prior_order)
        if not u.after_sales:
            replies[buyer].extend((t, agent, u.key) for t, agent in u.replies)
    times: dict[str, list[float]] = {}
    for buyer, lst in replies.items():
        lst.sort(key=lambda r: r[0])
        times[buyer] = [r[0] for r in lst]

    credited: dict[str, tuple[str, UnitKey] | None] = {}
    converted_pairs: set[tuple[UnitKey, str]] = set()
    for o in order_list:
        hit = None
        seen = times.get(o.buyer_id)
        if seen:
            last = bisect_right(seen, o.created_at.timestamp()) - 1  # the last reply at or before the order
            if last >= 0 and seen[last] >= prof.window_start(o.created_at).timestamp():
                _, agent, ukey = replies[o.buyer_id][last]
                hit = (agent, ukey)
        credited[o.order_id] = hit
        if hit is not None and o.paid:
            converted_pairs.add((hit[1], hit[0]))
    converted_units = {ukey for ukey, _ in converted_pairs}
    del replies, times

    acc: dict[tuple[str, str, str, str, Any], _Acc] = defaultdict(_Acc)
    for u in consultations:
        platform, shop, buyer, day = u.key
        who = (shop, buyer)
        for k in _keys(platform, shop, None, day):
            a = acc[k]
            if u.after_sales:
                a.after_sales.add(who)
            else:
                a.consulted.add(who)
                if u.key in converted_units:
                    a.converted.add(who)
        for agent in u.agents:
            for d in (day, None):
                a = acc[("agent", platform, shop, agent, d)]
                if u.after_sales:
                    a.after_sales.add(who)
                else:
                    a.consulted.add(who)
                    if (u.key, agent) in converted_pairs:
                        a.converted.add(who)

    silent_orders = 0
    for o in order_list:
        hit = credited[o.order_id]
        silent_orders += hit is None
        who = (o.shop, o.buyer_id)
        for k in _keys(o.platform, o.shop, hit[0] if hit else None, _day(o.created_at)):
            a = acc[k]
            a.ordered.add(who)
            a.orders += 1
            if hit is None:
                a.silent.add(who)
            if o.paid:
                a.paid.add(who)
                a.paid_orders += 1
                a.items += o.items
                a.sales += o.amount
                if hit is None:
                    a.silent_sales += o.amount

    for r, order in refunds:
        hit = credited[order.order_id]
        done = any(w in r.status.lower() for w in prof.refund_done_words)
        for k in _keys(order.platform, order.shop, hit[0] if hit else None, _day(order.created_at)):
            a = acc[k]
            a.refunds += 1
            if r.hours is not None:
                a.handling.append(r.hours)
                if done:
                    a.refund_done.append(r.hours)
            if r.is_quality and order.paid:
                a.quality_orders.add(order.order_id)
            if r.dispute and order.paid:
                a.dispute_orders.add(order.order_id)
    return acc, silent_orders


def _row(key: tuple[str, str, str, str, Any], a: _Tally, prof: AttributionProfile) -> KpiRow:
    level, platform, shop, agent, day = key
    row = KpiRow(
        level=level, platform=platform, shop=shop, agent_id=agent, day=day,
        consulted=a.consulted, converted=a.converted, after_sales_consulted=a.after_sales,
        ordered=a.ordered, paid=a.paid, silent_ordered=a.silent, orders=a.orders,
        paid_orders=a.paid_orders, items=a.items, sales=round(a.sales, 2), silent_sales=round(a.silent_sales, 2),
        conversion_rate=_ratio(a.converted, a.consulted),
        fulfilment_rate=_ratio(a.paid, a.ordered),
        avg_order_value=None if not a.paid else round(a.sales / a.paid, 2),
        items_per_order=_ratio(a.items, a.paid_orders),
        refunds=a.refunds, handling_hours=_ratio(a.handling_sum, a.handling_n),
        refund_hours=_ratio(a.refund_sum, a.refund_n),
        quality_refund_rate=_ratio(a.quality, a.paid_orders),
        dispute_rate=_ratio(a.dispute, a.paid_orders),
    )
    nums = {"conversion_rate": (a.converted, a.consulted)}
    for t in prof.thresholds:
        if day is None or t.platform != platform or level not in t.levels:
            continue
        value = getattr(row, t.metric)
        num, den = nums.get(t.metric, (None, None))
        row.results.append(MetricResult(
            metric=t.metric, title=METRIC_TITLES.get(t.metric, t.metric), platform=platform, shop=shop,
            agent_id=agent or None, day=day, value=value, threshold=t.threshold, comparison=t.comparison,
            passed=None if value is None else t.judge(value), numerator=num, denominator=den, note=t.source,
        ))
    return row
