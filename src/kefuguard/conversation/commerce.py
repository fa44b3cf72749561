"""What the shop's order and after-sales exports say about one conversation's buyer (issue 15).

The audit's order-based checks (`audit.order_confirm`, `audit.refund_handling`) judge these times
when exports were given, instead of the order time a chat export may carry or a refund request
guessed from the buyer's words. Built per conversation by `kefuguard.sales.orderbook.OrderBook`;
plain tuples of epoch seconds, so a worker process gets them cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class OrderFact(NamedTuple):
    """One order of the buyer in this shop: when it was created, and its id (named in findings)."""

    created: float
    order_id: str


class RefundFact(NamedTuple):
    """One after-sales record of the buyer's orders in this shop."""

    requested: float
    finished: float | None  # None: not finished when the export was taken
    order_id: str
    reason: str
    status: str


@dataclass(frozen=True, slots=True)
class CommerceFacts:
    """The buyer's orders and refunds; None for a kind no export covers in this shop (then the
    check falls back to the chat: its order-time column, the buyer's refund words)."""

    orders: tuple[OrderFact, ...] | None = None
    refunds: tuple[RefundFact, ...] | None = None
