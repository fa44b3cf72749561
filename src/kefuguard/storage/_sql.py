"""Dialect-specific statements kept in one place."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


def insert_ignore(session: Session, table: Table, conflict: Sequence[str]) -> Insert:
    """INSERT … ON CONFLICT (conflict columns) DO NOTHING, on SQLite and PostgreSQL alike.

    Insert-if-absent in one statement: concurrent writers of the same row never fail, and with
    RETURNING the caller learns which rows were new.
    """
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported databases reach here
        raise NotImplementedError(f"unsupported database {name!r}")
    return insert(table).on_conflict_do_nothing(index_elements=list(conflict))
