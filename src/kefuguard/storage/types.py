"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no time zones and no native JSON, PostgreSQL has both; the server must read back what
it wrote whichever one a shop runs. These types keep the difference out of every query.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: JSON documents: jsonb on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")

#: Row ids of the big tables: 64-bit on PostgreSQL; on SQLite only INTEGER PRIMARY KEY autoincrements
#: (and is 64-bit anyway).
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC (what every timestamp column holds)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime, stored in UTC, returned aware in UTC on both databases.

    Naive datetimes are refused: chat exports are in Beijing time, the server in UTC, and a naive
    value would silently shift by eight hours on one of them.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: attach a time zone")
        value = value.astimezone(dt.UTC)
        # SQLite stores text; a fixed offset-free UTC form keeps comparisons and ORDER BY right
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
