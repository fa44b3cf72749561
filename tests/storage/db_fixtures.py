"""Database fixtures for any test that needs storage: each runs on SQLite and on PostgreSQL.

A plain module (no conftest magic) so other test folders can use it: register it with
`pytest_plugins = ["tests.storage.db_fixtures"]` in the top-level tests/conftest.py, or import
the fixtures by name.

* `db_url`   — the URL of an empty database (no tables), fresh for each test.
* `database` — a `kefuguard.storage.Database` migrated to head, empty, fresh for each test;
  disposed afterwards.
* `pg_admin_url` — the PostgreSQL server's URL (session); skips the test when there is none.

The PostgreSQL half needs a server: $KEFUGUARD_TEST_PG_URL names one the tests may create and
drop databases on (`.ci/run` starts a throwaway one with scripts/pg_throwaway.sh). Each test
session — each xdist worker — gets its own databases, named after the worker and process, and
drops them at the end. Without the variable the PostgreSQL half is skipped, with a reason the
test summary shows (`-ra`), never silently.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from kefuguard.storage import Base, Database
from kefuguard.storage.db import normalize_url

PG_ENV = "KEFUGUARD_TEST_PG_URL"
PG_SKIP_REASON = f"{PG_ENV} not set: PostgreSQL half skipped; .ci/run starts a throwaway server"
BACKENDS = ("sqlite", "postgresql")


def pg_url_from_env() -> URL | None:
    raw = os.environ.get(PG_ENV, "").strip()
    return normalize_url(raw) if raw else None


def url_text(url: URL | str) -> str:
    """A URL as a string a subprocess can connect with (password included)."""
    return url if isinstance(url, str) else url.render_as_string(hide_password=False)


class PgDatabases:
    """Databases of this test session on the PostgreSQL server; all dropped by `drop_all`."""

    def __init__(self, admin_url: URL) -> None:
        self.admin_url = admin_url
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.stem = f"kgtest_{worker}_{os.getpid()}_{secrets.token_hex(3)}"
        self.engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.created: list[str] = []

    def create(self, suffix: str) -> URL:
        name = f"{self.stem}_{suffix}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.admin_url.set(database=name)

    def drop_all(self) -> None:
        with self.engine.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


@pytest.fixture(scope="session")
def pg_admin_url() -> URL:
    url = pg_url_from_env()
    if url is None:
        pytest.skip(PG_SKIP_REASON)
    return url


@pytest.fixture(scope="session")
def pg_databases(pg_admin_url: URL) -> Iterator[PgDatabases]:
    dbs = PgDatabases(pg_admin_url)
    try:
        yield dbs
    finally:
        dbs.drop_all()


@pytest.fixture(scope="session")
def _pg_empty_url(pg_databases: PgDatabases) -> URL:
    return pg_databases.create("empty")


@pytest.fixture(scope="session")
def _pg_migrated_url(pg_databases: PgDatabases) -> URL:
    url = pg_databases.create("db")
    with Database(url) as db:
        db.upgrade()
    return url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once per session; each test gets a copy (faster than migrating)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "kefuguard.db"
    with Database(f"sqlite:///{path}") as db:
        db.upgrade()
    return path


def _reset_schema(url: URL) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def _empty_tables(db: Database) -> None:
    with db.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database (no tables at all), on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kefuguard.db'}"
    url = request.getfixturevalue("_pg_empty_url")
    _reset_schema(url)
    return url_text(url)


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A Database migrated to head with no rows, on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "kefuguard.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
    else:
        db = Database(request.getfixturevalue("_pg_migrated_url"))
        _empty_tables(db)
    try:
        yield db
    finally:
        db.dispose()


__all__ = [
    "BACKENDS",
    "PG_ENV",
    "PG_SKIP_REASON",
    "PgDatabases",
    "_pg_empty_url",
    "_pg_migrated_url",
    "_sqlite_template",
    "database",
    "db_url",
    "pg_admin_url",
    "pg_databases",
    "pg_url_from_env",
    "url_text",
]
