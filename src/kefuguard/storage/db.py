"""The database: where it is, how connections are set up, transactions, and migrations.

One `Database` per process, shared by the server's threads. SQLite (the default: a file in the
user's data folder, nothing to install) is set up for a web server's concurrent use: WAL, so
readers never wait for the writer; a busy timeout, so a second writer waits instead of failing;
foreign keys on; and SQLAlchemy, not the sqlite3 driver, emitting BEGIN, so a transaction really
starts where the session starts. PostgreSQL is used through psycopg 3.

The schema is Alembic's business: `Database.upgrade()` (the server calls it at start) runs the
migrations bundled in this package; no alembic.ini is needed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

ENV_URL = "KEFUGUARD_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30.0
# any constant: the key of the PostgreSQL advisory lock that serialises concurrent upgrades
_MIGRATION_LOCK = 0x6B656675  # "kefu"
_BEGIN_OPTION = "kefuguard_sqlite_begin"


def default_url() -> str:
    """$KEFUGUARD_DATABASE_URL, else an SQLite file `kefuguard.db` in the user's data folder."""
    env = os.environ.get(ENV_URL, "").strip()
    if env:
        return env
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("kefuguard"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'kefuguard.db'}"


def normalize_url(url: str | URL) -> URL:
    """The URL with the driver this project ships: postgresql:// and postgres:// → postgresql+psycopg://."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine set up as described in the module docstring (for SQLite: WAL, busy timeout, FKs)."""
    url = normalize_url(url)
    # SQL errors and echo never print parameter values: they hold buyers' messages
    kwargs.setdefault("hide_parameters", True)
    if url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)  # a server outlives database restarts
        return create_engine(url, **kwargs)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
    connect_args.setdefault("check_same_thread", False)  # the pool hands a connection to one thread at a time
    if _is_memory(url):
        kwargs.setdefault("poolclass", StaticPool)  # one connection, or every session sees an empty database
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver stops emitting BEGIN; SQLAlchemy does it
        cursor = dbapi_connection.cursor()
        try:
            if not _is_memory(url):
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")  # durable against crashes; WAL keeps it consistent
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(_BEGIN_OPTION, '')}".strip())

    return engine


class Database:
    """The application's database: an engine, sessions, and the schema's migrations.

    `Database()` uses $KEFUGUARD_DATABASE_URL or the default SQLite file; plain postgresql://
    URLs are accepted. Create one per process and share it; `dispose()` closes its connections.
    """

    def __init__(self, url: str | URL | None = None, **engine_kwargs: Any) -> None:
        self.url: URL = normalize_url(url if url is not None else default_url())
        self.engine: Engine = make_engine(self.url, **engine_kwargs)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        if self.dialect == "sqlite":
            immediate = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        else:
            immediate = self.engine
        self._immediate_sessions = sessionmaker(bind=immediate, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.url.get_backend_name()

    @contextmanager
    def session(self, *, immediate: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back if it raises.

        Objects stay usable after the block (no expiry on commit), so a request handler can
        return what it created. `immediate=True` takes SQLite's write lock at the start: use it
        for transactions that read and then write while other writers run (otherwise SQLite may
        refuse the write when another commit came in between); no effect on PostgreSQL.
        """
        factory = self._immediate_sessions if immediate else self._sessions
        with factory() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema up to `revision` (the server calls this at start; safe to repeat)."""
        _run_alembic(self.engine, "upgrade", revision)

    def downgrade(self, revision: str) -> None:
        """Migrate the schema down to `revision` ('base': no tables at all)."""
        _run_alembic(self.engine, "downgrade", revision)

    def current_revision(self) -> str | None:
        """The schema's Alembic revision, None before the first upgrade."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def dispose(self) -> None:
        """Close every pooled connection (tests, and before a database is dropped)."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()


def alembic_config(connection: Connection | None = None, url: str | URL | None = None) -> Any:
    """An Alembic Config built in code: this package's migrations, on `connection` (or `url`)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        config.set_main_option(
            "sqlalchemy.url", normalize_url(url).render_as_string(hide_password=False).replace("%", "%%")
        )
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration bundled with this version of kefuguard."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _run_alembic(engine: Engine, action: str, revision: str) -> None:
    from alembic import command

    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            # Rebuilding a table (Alembic's batch mode) drops the old one; with foreign keys on,
            # SQLite would first delete its rows and cascade into every child table.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    # two server processes starting at once: the second waits, then finds nothing to do
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                getattr(command, action)(alembic_config(conn), revision)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left rows breaking foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def upgrade(url: str | URL | None = None, revision: str = "head") -> None:
    """Migrate the database at `url` (default: as `Database()`) up to `revision`."""
    with Database(url) as db:
        db.upgrade(revision)


def downgrade(url: str | URL | None, revision: str) -> None:
    """Migrate the database at `url` down to `revision` ('base' removes every table)."""
    with Database(url) as db:
        db.downgrade(revision)
