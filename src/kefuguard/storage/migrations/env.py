"""Alembic environment: run by `kefuguard.storage.db` on a connection it hands over.

`Database.upgrade()` puts its own connection in `config.attributes["connection"]` (already set
up: SQLite pragmas, the PostgreSQL migration lock). The `alembic` command line works too, with
`-x url=...` or `sqlalchemy.url` in its config, or $KEFUGUARD_DATABASE_URL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from kefuguard.storage.db import default_url, make_engine, normalize_url
from kefuguard.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by rebuilding them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url") or default_url()


if context.is_offline_mode():
    context.configure(url=normalize_url(_url()), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _configure(given)
    else:
        engine = make_engine(_url())
        try:
            with engine.begin() as conn:
                _configure(conn)
        finally:
            engine.dispose()
