"""Penalty and compensation calculators (pure functions on Decimal yuan)."""

from kefuguard.penalties.compensation import (
    Compensation,
    douyin_fake_tracking,
    douyin_late_shipment,
    money,
    pdd_logistics_timeout,
    pdd_reply_rate_fine,
    tmall_late_shipment,
)

__all__ = [
    "Compensation",
    "douyin_fake_tracking",
    "douyin_late_shipment",
    "money",
    "pdd_logistics_timeout",
    "pdd_reply_rate_fine",
    "tmall_late_shipment",
]
