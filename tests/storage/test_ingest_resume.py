"""A process killed (SIGKILL) in the middle of an import leaves whole batches only; running the
same import again completes it, and the counts equal those of an uninterrupted import."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, select

from kefuguard.storage import Database, ImportBatch, ImportReject, Message, create_tenant, ingest_file
from tests.storage.chats import bad_rows, chat_rows, write_jsonl
from tests.storage.db_fixtures import url_text

BATCH = 50
# commits of an import: 1 creates the import row, then one per batch; the child stops inside the
# 4th, after executing its inserts and before committing them
STOP_AT_COMMIT = 4

CHILD = textwrap.dedent("""
    import sys, time
    from sqlalchemy import event
    from sqlalchemy.orm import Session
    from kefuguard.storage import Database, ingest_file

    url, tenant_id, path, batch, stop_at = sys.argv[1:6]
    commits = 0

    @event.listens_for(Session, "before_commit")
    def pause_mid_batch(session):
        global commits
        commits += 1
        if commits == int(stop_at):
            session.flush()
            print("PAUSED", flush=True)  # this batch's rows are written, not committed
            time.sleep(120)

    ingest_file(Database(url), int(tenant_id), path, batch_size=int(batch))
    print("FINISHED", flush=True)
""")


def _wait_for(proc: subprocess.Popen, word: str, timeout: float = 60.0) -> None:
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        proc.kill()
        raise AssertionError(f"child did not say {word} in {timeout}s: {proc.stderr.read()}")
    line = proc.stdout.readline().strip()
    assert line == word, (line, proc.stderr.read() if line == "" else "")


def _counts(database: Database, tenant_id: int) -> tuple[int, int]:
    with database.session() as s:
        messages = s.scalar(select(func.count()).select_from(Message).where(Message.tenant_id == tenant_id))
        rejects = s.scalar(select(func.count()).select_from(ImportReject).where(ImportReject.tenant_id == tenant_id))
    return messages, rejects


def test_killed_import_resumes_to_the_same_counts(database: Database, tmp_path: Path) -> None:
    messages = chat_rows(40, 8)
    rows = list(messages)
    # rejects spread over the file, so most batches hold some; 30 messages repeated at the end
    for i, bad in enumerate(bad_rows() * 4):
        rows.insert(25 * (i + 1), bad)
    rows += messages[100:130]
    path = write_jsonl(tmp_path / "big.jsonl", rows)
    with database.session() as s:
        killed, clean = create_tenant(s, "killed").id, create_tenant(s, "clean").id

    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, url_text(database.url), str(killed), str(path), str(BATCH), str(STOP_AT_COMMIT)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        _wait_for(proc, "PAUSED")
        # mid-batch: other connections see the two committed batches, nothing of the third
        committed_rows = (STOP_AT_COMMIT - 2) * BATCH
        with database.session() as s:
            batch = s.scalars(select(ImportBatch).where(ImportBatch.tenant_id == killed)).one()
            assert (batch.status, batch.position, batch.read) == ("running", committed_rows, committed_rows)
            stored_before_kill = _counts(database, killed)
            assert stored_before_kill == (batch.added, batch.rejected) and batch.added > 0 and batch.rejected > 0
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)  # reaped: its pid is gone, so the import counts as abandoned
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert _counts(database, killed) == stored_before_kill  # the killed batch left nothing behind

    resumed = ingest_file(database, killed, path, batch_size=BATCH)
    reference = ingest_file(database, clean, path, batch_size=BATCH)
    assert resumed.resumed and not reference.resumed
    assert resumed.import_id == batch.id  # the same import, completed
    assert (resumed.status, resumed.read, resumed.added, resumed.duplicates, resumed.rejected) == (
        reference.status, reference.read, reference.added, reference.duplicates, reference.rejected)
    assert resumed.read == len(rows) and resumed.rejected == 12 and resumed.duplicates == 30
    assert _counts(database, killed) == _counts(database, clean) == (reference.added, 12)
    with database.session() as s:
        def reject_rows(tenant_id: int) -> list[tuple]:
            return s.execute(select(ImportReject.line, ImportReject.seq, ImportReject.reason)
                             .where(ImportReject.tenant_id == tenant_id).order_by(ImportReject.seq)).all()
        assert reject_rows(killed) == reject_rows(clean)
        done = s.get(ImportBatch, batch.id)
        assert (done.status, done.owner, done.position) == ("done", None, len(rows))
    # and once done, the file imports as all duplicates, in a new import
    again = ingest_file(database, killed, path, batch_size=BATCH)
    assert not again.resumed and again.added == 0 and again.duplicates == reference.added + reference.duplicates
