"""The database object and the migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select

from kefuguard.storage import Base, Database, Tenant, create_tenant, downgrade, head_revision, upgrade
from kefuguard.storage.db import ENV_URL, default_url, normalize_url

TABLES = {t.name for t in Base.metadata.sorted_tables}


def test_migrations_up_down_up(db_url: str) -> None:
    with Database(db_url) as db:
        assert db.current_revision() is None
        db.upgrade()
        assert db.current_revision() == head_revision()
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        with db.session() as s:
            create_tenant(s, "租户甲")
        db.upgrade()  # repeating is harmless (the server calls it at every start)
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Tenant)) == 1

        db.downgrade("base")
        assert db.current_revision() is None
        assert not TABLES & set(inspect(db.engine).get_table_names())

        db.upgrade()
        assert db.current_revision() == head_revision()
        with db.session() as s:
            create_tenant(s, "租户甲")  # the unique name is free again: the tables were recreated empty


def test_module_level_helpers(db_url: str) -> None:
    upgrade(db_url)
    with Database(db_url) as db:
        assert db.current_revision() == head_revision()
    downgrade(db_url, "base")
    with Database(db_url) as db:
        assert db.current_revision() is None


def test_models_match_the_migrations(database: Database) -> None:
    """Nothing for autogenerate to do: the migrations create exactly what the models declare."""
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_url_rewriting_and_default(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    assert normalize_url("postgresql://u:p@h:5/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"
    assert "secret" not in repr(Database("postgresql://u:secret@127.0.0.1:1/db"))

    monkeypatch.setenv(ENV_URL, "sqlite:///from-env.db")
    assert default_url() == "sqlite:///from-env.db"
    monkeypatch.delenv(ENV_URL)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = default_url()
    assert url == f"sqlite:///{tmp_path / 'data' / 'kefuguard' / 'kefuguard.db'}"
    assert (tmp_path / "data" / "kefuguard").is_dir()
    with Database() as db:
        db.upgrade()
        assert (tmp_path / "data" / "kefuguard" / "kefuguard.db").is_file()


def test_sqlite_is_set_up_for_a_web_server(tmp_path) -> None:
    with Database(f"sqlite:///{tmp_path / 'k.db'}") as db, db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


def test_session_commits_or_rolls_back(database: Database) -> None:
    with database.session() as s:
        kept = create_tenant(s, "kept")
    with pytest.raises(RuntimeError), database.session() as s:
        create_tenant(s, "rolled back")
        raise RuntimeError("boom")
    with database.session() as s:
        assert s.scalars(select(Tenant.name)).all() == ["kept"]
    assert kept.id is not None and kept.name == "kept"  # usable after the session closed
    assert kept.created_at.tzinfo is not None and kept.created_at.utcoffset() == dt.timedelta(0)


def test_concurrent_writers_wait_instead_of_failing(database: Database) -> None:
    """Threads writing at once (as a web server's do): none gets 'database is locked'."""
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                with database.session(immediate=True) as s:
                    s.scalars(select(Tenant.id)).all()  # read, then write: the case that fails without it
                    create_tenant(s, f"t{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Tenant)) == 40


def test_migration_0002_keeps_the_dispatchers_outcomes(db_url: str) -> None:
    """0001 stored deduplicated/rate-limited deliveries as failed with the outcome in last_error;
    0002 widens the status CHECK and moves those rows to their real status, and back on downgrade."""
    from sqlalchemy import text

    from kefuguard.storage.models import AlertDelivery, AlertWebhook

    with Database(db_url) as db:
        db.upgrade("0001")
        with db.session() as s:
            tenant = create_tenant(s, "告警租户")
            s.flush()
            hook = AlertWebhook(tenant_id=tenant.id, kind="wecom", url="https://qyapi.weixin.qq.com/x", enabled=True)
            s.add(hook)
            s.flush()
            now = dt.datetime.now(dt.UTC)
            for key, error in (("e1", "deduplicated"), ("e2", "rate_limited: 20/min"), ("e3", "HTTP 500")):
                s.execute(text(
                    "INSERT INTO alert_deliveries (tenant_id, webhook_id, event_key, status, attempts, last_error, "
                    "payload, created_at) VALUES (:t, :w, :k, 'failed', 1, :e, '{}', :c)"
                ), {"t": tenant.id, "w": hook.id, "k": key, "e": error, "c": now})
        db.upgrade()
        with db.session() as s:
            got = dict(s.execute(select(AlertDelivery.event_key, AlertDelivery.status)).all())
        assert got == {"e1": "deduplicated", "e2": "rate_limited", "e3": "failed"}
        db.downgrade("0001")
        with db.session() as s:
            assert set(s.scalars(select(AlertDelivery.status))) == {"failed"}
