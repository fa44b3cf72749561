"""Importing chat logs into the database: counts, idempotence, rejects, PII at rest, tenants."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from kefuguard.io.importers import import_logs
from kefuguard.sample import sample_dir
from kefuguard.storage import (
    Agent,
    Conversation,
    Database,
    ImportBatch,
    ImportInProgressError,
    ImportReject,
    Message,
    Shop,
    Tenant,
    create_tenant,
    ingest_file,
    utcnow,
)
from kefuguard.storage.ingest import _HOST, _PROCESS_TOKEN, STALE_AFTER, _owner_alive
from tests.storage.chats import ID_NUMBER, PHONE, bad_rows, chat_rows, write_csv, write_jsonl

SAMPLES = sorted(p for p in sample_dir().iterdir() if p.name.startswith("chat_"))


def _tenant(database: Database, name: str = "甲", *, mask_pii: bool = True) -> int:
    with database.session() as s:
        return create_tenant(s, name, mask_pii=mask_pii).id


def _count(database: Database, model, tenant_id: int) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(model.tenant_id == tenant_id))


def _everything(database: Database) -> str:
    """Every stored row of the tables a person's data could reach, as one text."""
    with database.engine.connect() as conn:
        return "\n".join(repr(conn.execute(text(f"SELECT * FROM {t}")).fetchall())
                         for t in ("messages", "conversations", "import_rejects", "import_batches", "agents"))


def test_sample_files_count_like_the_audit(database: Database) -> None:
    tenant_id = _tenant(database)
    total = 0
    for path in SAMPLES:
        result = ingest_file(database, tenant_id, path, batch_size=500)
        conversations, stats = import_logs([path])
        sum(1 for _ in conversations)
        assert (result.status, result.read, result.added, result.duplicates, result.rejected) == (
            "done", stats.read, stats.accepted, stats.duplicates, stats.rejected), path.name
        assert result.balanced and not result.resumed
        total += result.added
    assert _count(database, Message, tenant_id) == total
    with database.session() as s:
        # conversations carry their message counts and first/last times
        assert s.scalar(select(func.sum(Conversation.message_count))) == total
        first = s.scalar(select(func.min(Message.sent_at)).where(Message.tenant_id == tenant_id))
        assert s.scalar(select(func.min(Conversation.started_at))) == first
        assert {p for (p,) in s.execute(select(Shop.platform))} == {
            "douyin", "jd", "kuaishou", "taobao", "tmall", "pinduoduo"}
        assert s.scalar(select(func.count()).select_from(Agent)) > 6
        done = s.scalars(select(ImportBatch)).all()
        assert all(b.status == "done" and b.owner is None and b.finished_at is not None for b in done)
        assert {b.format for b in done} == {"csv", "xlsx", "jsonl"}


def test_reimport_adds_nothing(database: Database, tmp_path: Path) -> None:
    tenant_id = _tenant(database)
    rows = chat_rows(12, 5)
    jsonl = write_jsonl(tmp_path / "chats.jsonl", rows + rows[:3])  # three rows twice in the file
    first = ingest_file(database, tenant_id, jsonl, batch_size=7)
    assert (first.read, first.added, first.duplicates, first.rejected) == (63, 60, 3, 0)
    again = ingest_file(database, tenant_id, jsonl, batch_size=7)
    assert (again.read, again.added, again.duplicates, again.rejected) == (63, 0, 63, 0)
    assert again.import_id != first.import_id
    # the same messages exported as a GBK CSV, plus two new ones: only those are added
    extra = chat_rows(14, 5)[60:62]
    csv_file = write_csv(tmp_path / "chats.csv", list(reversed(rows)) + extra, encoding="gbk")
    third = ingest_file(database, tenant_id, csv_file)
    assert (third.read, third.added, third.duplicates) == (62, 2, 60)
    assert _count(database, Message, tenant_id) == 62
    with database.session() as s:
        assert s.scalar(select(func.sum(Conversation.message_count))) == 62
        assert s.scalar(select(func.count()).select_from(Conversation)) == 13


def test_rejects_are_stored_with_reasons(database: Database, tmp_path: Path) -> None:
    tenant_id = _tenant(database)
    path = write_jsonl(tmp_path / "mixed.jsonl", chat_rows(2, 2) + bad_rows() + ["not json"])  # type: ignore[list-item]
    result = ingest_file(database, tenant_id, path)
    assert (result.read, result.added, result.rejected) == (8, 4, 4)
    with database.session() as s:
        rejects = s.scalars(select(ImportReject).order_by(ImportReject.line)).all()
    assert [(r.line, r.field, r.file) for r in rejects] == [
        (5, "sent_at", "mixed.jsonl"), (6, "role", "mixed.jsonl"), (7, "text", "mixed.jsonl"), (8, None, "mixed.jsonl")]
    assert "missing sent_at" in rejects[0].reason and "发送时间" in rejects[0].reason
    assert "unknown role" in rejects[1].reason
    assert all(r.import_id == result.import_id and r.reason for r in rejects)
    assert "没有时间的消息" in rejects[0].raw and PHONE not in rejects[0].raw  # the raw row, masked


def test_an_unreadable_file_is_a_failed_import(database: Database, tmp_path: Path) -> None:
    tenant_id = _tenant(database)
    path = tmp_path / "notes.csv"
    path.write_text("这不是聊天记录\n只是一些笔记\n", encoding="utf-8")
    result = ingest_file(database, tenant_id, path)
    assert (result.status, result.read, result.rejected, result.added) == ("failed", 1, 1, 0)
    assert "header" in result.error
    with database.session() as s:
        batch = s.get(ImportBatch, result.import_id)
        assert batch.status == "failed" and batch.error == result.error
        assert s.scalars(select(ImportReject.line)).all() == [0]
    with pytest.raises(ValueError, match="unknown platform"):
        ingest_file(database, tenant_id, path, platform="amazon")


def test_pii_is_masked_at_rest_unless_the_tenant_turns_it_off(database: Database, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger; SQLAlchemy's too, statements and result rows
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    database = Database(database.url)  # an engine created with SQL logging on
    rows = chat_rows(3, 4)
    for row in rows[:4]:
        row["buyer_id"] = PHONE  # some exports use the buyer's phone as the buyer id
    path = write_jsonl(tmp_path / "pii.jsonl", rows + bad_rows())
    masked_tenant = _tenant(database, "masked")
    ingest_file(database, masked_tenant, path)
    stored = _everything(database)
    assert PHONE not in stored and ID_NUMBER not in stored and "478号" not in stored
    assert "139****5678" in stored  # masked the way platforms show numbers
    with database.session() as s:
        texts = s.scalars(select(Message.text).where(Message.tenant_id == masked_tenant)).all()
    assert any("南京东路***号*栋" in t for t in texts)
    assert PHONE not in caplog.text and ID_NUMBER not in caplog.text
    assert "import" in caplog.text and "INSERT INTO messages" in caplog.text  # logging was on

    plain_tenant = _tenant(database, "plain", mask_pii=False)
    caplog.clear()
    result = ingest_file(database, plain_tenant, path)
    assert result.added == 12  # its own copy: natural keys are unique per tenant only
    # stored as is, yet the import logged no number (reading them back below logs rows, of course)
    assert "INSERT INTO messages" in caplog.text and PHONE not in caplog.text and ID_NUMBER not in caplog.text
    with database.session() as s:
        texts = s.scalars(select(Message.text).where(Message.tenant_id == plain_tenant)).all()
        raws = s.scalars(select(ImportReject.raw).where(ImportReject.tenant_id == plain_tenant)).all()
        buyers = s.scalars(select(Conversation.buyer_id).where(Conversation.tenant_id == plain_tenant)).all()
    assert sum(PHONE in t for t in texts) == 3 and any(ID_NUMBER in t for t in texts)
    assert any(PHONE in r for r in raws) and PHONE in buyers

    # switching masking on later: the same file still adds nothing (keys never depend on the setting)
    with database.session() as s:
        s.get(Tenant, plain_tenant).mask_pii = True
    assert ingest_file(database, plain_tenant, path).added == 0
    database.dispose()


def test_tenants_are_kept_apart(database: Database, tmp_path: Path) -> None:
    a, b = _tenant(database, "甲"), _tenant(database, "乙")
    path = write_jsonl(tmp_path / "c.jsonl", chat_rows(4, 3))
    ingest_file(database, a, path)
    assert ingest_file(database, b, path).added == 12  # not duplicates of A's messages
    for model in (Message, Conversation, Shop, Agent, ImportBatch):
        assert _count(database, model, a) == _count(database, model, b) > 0
    with database.session() as s:
        shop_a = s.scalars(select(Shop.id).where(Shop.tenant_id == a)).one()
        # every message of A lies in A's shop and A's conversations
        foreign = s.scalar(
            select(func.count()).select_from(Message).join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.tenant_id == a, (Conversation.tenant_id != a) | (Message.shop_id != shop_a)))
        assert foreign == 0


def test_a_live_import_of_the_same_file_is_not_taken_over(database: Database, tmp_path: Path) -> None:
    tenant_id = _tenant(database)
    path = write_jsonl(tmp_path / "c.jsonl", chat_rows(2, 2))
    first = ingest_file(database, tenant_id, path)

    def pretend_running(owner: str) -> None:
        with database.session() as s:
            batch = s.get(ImportBatch, first.import_id)
            batch.status, batch.owner = "running", owner

    pretend_running(f"{_HOST}:{os.getpid()}:{_PROCESS_TOKEN}:x")  # another thread of this process
    with pytest.raises(ImportInProgressError):
        ingest_file(database, tenant_id, path)
    pretend_running("other-host:123:abcd:x")  # another machine, wrote just now
    with pytest.raises(ImportInProgressError):
        ingest_file(database, tenant_id, path)
    # this pid, but an earlier process (a restarted container): abandoned, so resumed
    pretend_running(f"{_HOST}:{os.getpid()}:0000:x")
    resumed = ingest_file(database, tenant_id, path)
    assert resumed.resumed and resumed.import_id == first.import_id and resumed.read == first.read
    with pytest.raises(FileNotFoundError):
        ingest_file(database, tenant_id, tmp_path / "missing.jsonl")


def test_owner_liveness() -> None:
    now, old = utcnow(), utcnow() - STALE_AFTER * 2
    assert not _owner_alive(None, now)
    assert _owner_alive("elsewhere:1:t:r", now) and not _owner_alive("elsewhere:1:t:r", old)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: the pid is free
    assert not _owner_alive(f"{_HOST}:{dead.pid}:t:r", now)
    if os.getpid() != 1:
        assert _owner_alive(f"{_HOST}:1:t:r", now)  # pid 1 lives


def test_progress_is_reported(database: Database, tmp_path: Path) -> None:
    tenant_id = _tenant(database)
    path = write_jsonl(tmp_path / "c.jsonl", chat_rows(5, 4))
    calls: list[tuple[int, int]] = []
    ingest_file(database, tenant_id, path, progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert calls and calls[-1][1] == size and calls[-1][0] == size
    with database.session() as s:
        assert s.scalars(select(ImportBatch.bytes_read)).one() == size


def test_a_storage_error_is_not_taken_for_a_bad_file(database: Database, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects flushed from inside the reader (a long run of bad rows) that fail to store raise the
    real error; the import is left resumable and the next run completes it."""
    from kefuguard.storage import ingest

    tenant_id = _tenant(database)
    path = write_jsonl(tmp_path / "bad.jsonl", chat_rows(1, 2) + bad_rows() * 4 + chat_rows(2, 2)[2:])
    real = ingest._Ingest._store_rejects
    calls = {"n": 0}

    def failing(self, session, rejects):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(self, session, rejects)

    monkeypatch.setattr(ingest._Ingest, "_store_rejects", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(database, tenant_id, path, batch_size=4)
    with database.session() as s:
        batch = s.scalars(select(ImportBatch)).one()
        assert (batch.status, batch.owner, batch.error) == ("running", None, "interrupted: RuntimeError")
        assert (batch.position, batch.read, batch.added, batch.rejected) == (6, 6, 2, 4)  # the first batch only
    monkeypatch.setattr(ingest._Ingest, "_store_rejects", real)
    result = ingest_file(database, tenant_id, path, batch_size=4)
    assert result.resumed and (result.read, result.added, result.rejected) == (16, 4, 12)
    with database.session() as s:
        assert s.scalars(select(func.count()).select_from(ImportReject)).one() == 12
