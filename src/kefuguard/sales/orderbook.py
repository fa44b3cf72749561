"""The order and refund exports indexed by buyer, for the audit's order-based checks (issue 15).

An audit given order (and refund) exports hands each conversation the facts about its buyer in
that shop (`kefuguard.conversation.commerce.CommerceFacts`): the order-confirmation check then
judges every exported order placed during the chat, the refund-handling check every exported
refund request, by their own times. A shop that appears in no order export keeps the chat-based
checks; refunds are joined to buyers through their orders, so they need the order export too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable

from kefuguard.conversation.commerce import CommerceFacts, OrderFact, RefundFact
from kefuguard.conversation.model import Conversation
from kefuguard.sales.models import Order, Refund

BuyerKey = tuple[str, str, str]  # platform, shop, buyer id


class OrderBook:
    """Orders and refunds by (platform, shop, buyer), as compact as the workers' memory wants:
    per buyer the order times and ids as two tuples (the facts are built per conversation)."""

    def __init__(self, orders: Iterable[Order], refunds: Iterable[Refund] | None = None,
                 order_platforms: Collection[str] | None = None) -> None:
        """`order_platforms`: the platforms whose order times a check reads (None: all); the
        others' orders still mark their shops as covered and join their refunds to buyers."""
        by_buyer: dict[BuyerKey, list[tuple[float, str]]] = defaultdict(list)
        buyer_of: dict[str, BuyerKey] = {}
        shops: set[tuple[str, str]] = set()
        for o in orders:
            key = (o.platform, o.shop, o.buyer_id)
            shops.add(key[:2])
            buyer_of.setdefault(o.order_id, key)
            if order_platforms is None or o.platform in order_platforms:
                by_buyer[key].append((o.created_at.timestamp(), o.order_id))
        self.order_shops = frozenset(shops)
        self.orders: dict[BuyerKey, tuple[tuple[float, ...], tuple[str, ...]]] = {}
        for key, pairs in by_buyer.items():
            pairs.sort()
            self.orders[key] = (tuple(t for t, _ in pairs), tuple(i for _, i in pairs))
        self.refund_shops: frozenset[tuple[str, str]] = frozenset()
        self.refunds: dict[BuyerKey, tuple[RefundFact, ...]] = {}
        if refunds is not None:
            refunds_of: dict[BuyerKey, list[RefundFact]] = defaultdict(list)
            for r in refunds:
                key = buyer_of.get(r.order_id)
                if key is not None:  # a refund of an order not in the export: no buyer to join it to
                    refunds_of[key].append(RefundFact(
                        r.requested_at.timestamp(), None if r.finished_at is None else r.finished_at.timestamp(),
                        r.order_id, r.reason, r.status,
                    ))
            self.refund_shops = self.order_shops
            self.refunds = {key: tuple(sorted(facts)) for key, facts in refunds_of.items()}

    def facts(self, conv: Conversation) -> CommerceFacts | None:
        """What the exports say about this conversation's buyer; None when no export covers its shop."""
        shop = (conv.platform, conv.shop)
        if shop not in self.order_shops:
            return None
        buyer = next((m.buyer_id for m in conv.messages if m.buyer_id), "")
        key = (conv.platform, conv.shop, buyer)
        times, ids = self.orders.get(key, ((), ()))
        return CommerceFacts(
            orders=tuple(map(OrderFact, times, ids)),
            refunds=self.refunds.get(key, ()) if shop in self.refund_shops else None,
        )
