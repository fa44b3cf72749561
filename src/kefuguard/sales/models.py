"""Orders and after-sales (refund) records as exported by the shop back-ends.

Naive times are Asia/Shanghai, like chat messages. Validated pydantic dataclasses with slots, not
models: an audit's parent keeps every order for the KPIs, and 200,000 orders take ~100 MB so
instead of ~250 MB.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator
from pydantic.dataclasses import dataclass

from kefuguard.conversation.model import as_shanghai
from kefuguard.rules.model import platform_code


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """One order. Paid when `paid_at` is set (the status column is kept as read, not interpreted)."""

    order_id: str = Field(min_length=1)
    buyer_id: str = Field(min_length=1)
    shop: str = Field(min_length=1)
    platform: str
    created_at: dt.datetime
    paid_at: dt.datetime | None = None
    amount: float = Field(default=0.0, ge=0)
    items: int = Field(default=1, ge=0)
    status: str = ""
    source: str = ""

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        return platform_code(value)

    @field_validator("created_at", "paid_at")
    @classmethod
    def _tz(cls, value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else as_shanghai(value)

    @property
    def paid(self) -> bool:
        return self.paid_at is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Refund:
    """One after-sales / refund record, joined to its order by `order_id`."""

    order_id: str = Field(min_length=1)
    reason: str = ""
    is_quality: bool = False
    requested_at: dt.datetime
    finished_at: dt.datetime | None = None
    status: str = ""
    dispute: bool = False
    source: str = ""

    @field_validator("requested_at", "finished_at")
    @classmethod
    def _tz(cls, value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else as_shanghai(value)

    @property
    def hours(self) -> float | None:
        """Hours from request to completion; None while not finished."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.requested_at).total_seconds() / 3600
