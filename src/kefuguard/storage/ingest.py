"""Import a chat-log file into the database: idempotent, atomic per batch, resumable.

The audit's own importers (`kefuguard.io.importers.read_messages`) read the file — same formats,
encodings, column names and reasons for rejecting a row. Their rows, messages and rejects, are
stored in batches; each batch is one transaction that also advances the import's `position`
(how many of the file's rows are stored). So:

* a process killed mid-import leaves whole batches only, and running the same import again (same
  tenant, same file contents, same options) resumes after the last stored row — the counts then
  equal those of an uninterrupted import;
* re-importing a file, or the same messages from another file, adds nothing: every message has a
  natural key (see `message_key`) that is unique per tenant, and rows are inserted with
  insert-if-absent; those already stored count as duplicates;
* buyer phone numbers, ID numbers and addresses are masked before they are written (unless the
  tenant turned `mask_pii` off), rejected rows included; logs carry counts and file names only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy import text as sql
from sqlalchemy.orm import Session
from sqlalchemy.sql import bindparam

from kefuguard.conversation.assemble import MESSAGE_FIELDS
from kefuguard.io.columns import CANONICAL_FIELDS, ColumnError, canonical_platform, check_mapping
from kefuguard.io.importers import ImportStats, Reject, read_messages
from kefuguard.masking import mask_text
from kefuguard.storage._sql import insert_ignore
from kefuguard.storage.db import Database
from kefuguard.storage.errors import ImportInProgressError, NotFoundError
from kefuguard.storage.models import Agent, Conversation, ImportBatch, ImportReject, Message, Shop, Tenant
from kefuguard.storage.types import UTCDateTime, utcnow

log = logging.getLogger("kefuguard.storage")

DEFAULT_BATCH_SIZE = 2000
#: an import whose owner runs on another host and has not written for this long is abandoned
STALE_AFTER = dt.timedelta(minutes=5)
_HOST = socket.gethostname().replace(":", "_")
_PROCESS_TOKEN = secrets.token_hex(4)  # tells this process from an earlier one with the same pid

(_CID, _PLATFORM, _SHOP, _AGENT, _BUYER, _ROLE, _SENT_AT, _TEXT, _QUICK, _AUTO, _REPORTED, _ORDER_TIME,
 _PAID, _SOURCE) = (MESSAGE_FIELDS.index(f) for f in (
    "conversation_id", "platform", "shop", "agent_id", "buyer_id", "role", "sent_at", "text", "quick_reply",
    "auto_reply", "buyer_reported", "order_time", "paid_amount", "source"))
_FIELD_IN_REASON = re.compile(r"\b(" + "|".join(sorted(CANONICAL_FIELDS, key=len, reverse=True)) + r")\b")


@dataclass
class IngestResult:
    """What one ingest did. read = added + duplicates + rejected (rows of the file, blank lines
    and title rows above the header not counted), like the audit's import counts."""

    import_id: int
    status: str  # done | failed (the file could not be read at all: `error` says why)
    read: int = 0
    added: int = 0
    duplicates: int = 0
    rejected: int = 0
    resumed: bool = False
    error: str | None = None
    seconds: float = 0.0

    @property
    def balanced(self) -> bool:
        return self.read == self.added + self.duplicates + self.rejected

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _storable(value: str) -> str:
    """Text both databases accept: PostgreSQL refuses NUL, neither driver encodes lone surrogates."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def message_key(platform: str, shop: str, conversation_id: str, sent_at: dt.datetime, role: str, agent_id: str,
                text: str) -> str:
    """The natural key of a message: hex SHA-256 of where, when, who and what (unique per tenant).

    The text enters masked whatever the tenant stores, so the key neither encodes a phone number
    masking removed nor changes when a tenant switches masking; two messages differing only in a
    masked number at the same second from the same sender count as one.
    """
    when = sent_at.astimezone(dt.UTC).isoformat()
    parts = (platform, shop, conversation_id, when, role, agent_id, mask_text(text))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _reject_field(reason: str) -> str | None:
    m = _FIELD_IN_REASON.search(reason)
    return m.group(1) if m else None


# ---------------------------------------------------------------- ownership of an import


def _owner_alive(owner: str | None, updated_at: dt.datetime) -> bool:
    """Whether the process that owns an import may still be writing it.

    Owners read host:pid:process-token:run-token. On this host a dead pid settles it (a killed
    process must have been reaped: a zombie keeps its pid); our own pid with another process
    token is an earlier process that had the same pid (a restarted container). Otherwise the
    owner is live while it wrote within STALE_AFTER (every batch writes).
    """
    if not owner:
        return False
    host, pid_text, token = [*owner.split(":"), "", ""][:3]
    fresh = utcnow() - updated_at < STALE_AFTER
    if host != _HOST or not pid_text.isdigit():
        return fresh
    pid = int(pid_text)
    if pid == os.getpid():
        return token == _PROCESS_TOKEN  # True: another thread of this very process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return fresh


def _claim(session: Session, tenant_id: int, sha: str, options_key: str, me: str) -> ImportBatch | None:
    """An unfinished import of the same file and options whose process is gone, now ours."""
    candidates = session.scalars(
        select(ImportBatch)
        .where(ImportBatch.tenant_id == tenant_id, ImportBatch.file_sha256 == sha,
               ImportBatch.options_key == options_key, ImportBatch.status == "running")
        .order_by(ImportBatch.id.desc())
    ).all()
    for batch in candidates:
        if _owner_alive(batch.owner, batch.updated_at):
            raise ImportInProgressError(batch.id, batch.owner)
        taken = session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch.id, ImportBatch.owner.is_not_distinct_from(batch.owner),
                   ImportBatch.status == "running")
            .values(owner=me, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            session.refresh(batch)
            return batch
        raise ImportInProgressError(batch.id, None)  # another process claimed it a moment ago
    return None


# ---------------------------------------------------------------- the import


class _StoreFailed(Exception):
    """Storing a batch failed while the reader was running (the cause is the real error)."""


class _Ingest:
    """State of one running import: id caches, pending rows, the committed position."""

    def __init__(self, db: Database, tenant_id: int, batch: ImportBatch, *, mask: bool, filename: str, me: str,
                 path: Path, batch_size: int) -> None:
        self.db, self.tenant_id, self.import_id = db, tenant_id, batch.id
        self.mask, self.filename, self.me, self.batch_size = mask, filename, me, batch_size
        self.path_prefix = str(path)
        self.skip = batch.position  # rows stored by an earlier, interrupted run
        self.position = 0  # rows of the file seen in this run
        self.records: list[tuple] = []
        self.rejects: list[tuple[int, Reject]] = []
        self.shops: dict[tuple[str, str], int] = {}
        self.agents: dict[tuple[int, str], int] = {}
        self.conversations: dict[tuple[int, str], int] = {}
        self.counts = {"read": batch.read, "added": batch.added, "duplicates": batch.duplicates,
                       "rejected": batch.rejected}
        self.stats: ImportStats | None = None
        self.analyzed = db.dialect != "postgresql"

    # rows arrive here, in file order ---------------------------------------------------------
    def on_reject(self, reject: Reject) -> None:
        self.position += 1
        if self.position > self.skip:
            self.rejects.append((self.position, reject))
            if len(self.rejects) >= self.batch_size:  # a long run of bad rows: memory stays bounded
                try:
                    self.flush()
                except Exception as exc:  # called from inside the reader: must not pass for a read error
                    raise _StoreFailed() from exc

    def on_record(self, record: tuple) -> None:
        self.position += 1
        if self.position > self.skip:
            self.records.append(record)
            if len(self.records) + len(self.rejects) >= self.batch_size:
                self.flush()

    # one batch, one transaction --------------------------------------------------------------
    def flush(self, *, final: bool = False, fstats: Any = None) -> None:
        records, rejects = self.records, self.rejects
        self.records, self.rejects = [], []
        with self.db.session(immediate=True) as session:
            new_ids: dict[str, dict] = {"shops": {}, "agents": {}, "conversations": {}}
            added, duplicates = self._store_messages(session, records, new_ids)
            self._store_rejects(session, rejects)
            counts = self.counts
            values: dict[str, Any] = {
                "position": max(self.position, self.skip),
                "read": counts["read"] + len(records) + len(rejects),
                "added": counts["added"] + added,
                "duplicates": counts["duplicates"] + duplicates,
                "rejected": counts["rejected"] + len(rejects),
                "bytes_read": self.stats.bytes_read if self.stats is not None else 0,
                "updated_at": utcnow(),
            }
            if fstats is not None:
                values.update(format=fstats.format or "", encoding=fstats.encoding or "")
            if final:
                values.update(status="done", owner=None, finished_at=utcnow(), error=None)
            done = session.execute(
                update(ImportBatch).where(ImportBatch.id == self.import_id, ImportBatch.owner == self.me)
                .values(**values).execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:  # someone judged us dead and took over: stop, store nothing
                raise ImportInProgressError(self.import_id, "another process")
        self.counts = {k: values[k] for k in counts}
        self.shops.update(new_ids["shops"])
        self.agents.update(new_ids["agents"])
        self.conversations.update(new_ids["conversations"])
        if not self.analyzed:
            self.analyzed = True
            _analyze_if_never_analyzed(self.db)

    def _store_messages(self, session: Session, records: list[tuple], new_ids: dict[str, dict]) -> tuple[int, int]:
        if not records:
            return 0, 0
        tenant_id, mask = self.tenant_id, self.mask
        shop_ids = self._ensure_shops(session, {(r[_PLATFORM], _storable(r[_SHOP])) for r in records},
                                      new_ids["shops"])
        agent_keys: set[tuple[int, str]] = set()
        conv_buyers: dict[tuple[int, str], str] = {}
        for r in records:
            shop_id = shop_ids[(r[_PLATFORM], _storable(r[_SHOP]))]
            if r[_AGENT]:
                agent_keys.add((shop_id, _storable(r[_AGENT])))
            conv_buyers.setdefault((shop_id, _storable(r[_CID])), r[_BUYER])
        agent_ids = self._ensure_agents(session, agent_keys, new_ids["agents"])
        conv_ids = self._ensure_conversations(session, conv_buyers, new_ids["conversations"])

        rows: dict[str, dict[str, Any]] = {}
        prefix, name = self.path_prefix, self.filename
        for r in records:
            platform, shop, cid = r[_PLATFORM], _storable(r[_SHOP]), _storable(r[_CID])
            agent, text = _storable(r[_AGENT]), _storable(r[_TEXT])
            shop_id = shop_ids[(platform, shop)]
            role = r[_ROLE].value
            key = message_key(platform, shop, cid, r[_SENT_AT], role, agent, text)
            if key in rows:
                continue  # the same message twice in one batch: a duplicate
            source = r[_SOURCE]
            if source.startswith(prefix):
                source = name + source[len(prefix):]
            rows[key] = {
                "tenant_id": tenant_id, "conversation_id": conv_ids[(shop_id, cid)], "shop_id": shop_id,
                "agent_id": agent_ids.get((shop_id, agent)) if agent else None, "import_id": self.import_id,
                "role": role, "sent_at": r[_SENT_AT], "text": mask_text(text) if mask else text,
                "quick_reply": r[_QUICK], "auto_reply": r[_AUTO], "buyer_reported": r[_REPORTED],
                "order_time": r[_ORDER_TIME], "paid_amount": r[_PAID], "source": _storable(source)[:700],
                "natural_key": key,
            }
        inserted = _insert_messages(session, list(rows.values()))
        self._update_conversations(session, [rows[k] for k in inserted])
        return len(inserted), len(records) - len(inserted)

    def _ensure_shops(self, session: Session, keys: set[tuple[str, str]], new: dict) -> dict[tuple[str, str], int]:
        ids = {k: self.shops[k] for k in keys if k in self.shops}
        missing = keys - ids.keys()
        if missing:
            now = utcnow()
            session.execute(
                insert_ignore(session, Shop.__table__, ("tenant_id", "platform", "external_id")),
                [{"tenant_id": self.tenant_id, "platform": p, "external_id": s, "name": s, "created_at": now}
                 for p, s in sorted(missing)],
            )
            found = session.execute(
                select(Shop.id, Shop.platform, Shop.external_id)
                .where(Shop.tenant_id == self.tenant_id, Shop.external_id.in_({s for _, s in missing}))
            )
            for shop_id, platform, external in found:
                if (platform, external) in missing:
                    ids[(platform, external)] = new[(platform, external)] = shop_id
        return ids

    def _ensure_agents(self, session: Session, keys: set[tuple[int, str]], new: dict) -> dict[tuple[int, str], int]:
        ids = {k: self.agents[k] for k in keys if k in self.agents}
        missing = keys - ids.keys()
        if missing:
            now = utcnow()
            session.execute(
                insert_ignore(session, Agent.__table__, ("tenant_id", "shop_id", "external_id")),
                [{"tenant_id": self.tenant_id, "shop_id": s, "external_id": a, "name": a, "created_at": now}
                 for s, a in sorted(missing)],
            )
            for shop_id in {s for s, _ in missing}:
                names = {a for s, a in missing if s == shop_id}
                found = session.execute(
                    select(Agent.id, Agent.external_id)
                    .where(Agent.tenant_id == self.tenant_id, Agent.shop_id == shop_id, Agent.external_id.in_(names))
                )
                for agent_id, external in found:
                    ids[(shop_id, external)] = new[(shop_id, external)] = agent_id
        return ids

    def _ensure_conversations(self, session: Session, buyers: dict[tuple[int, str], str], new: dict
                              ) -> dict[tuple[int, str], int]:
        ids = {k: self.conversations[k] for k in buyers if k in self.conversations}
        missing = [k for k in buyers if k not in ids]
        if missing:
            now, mask = utcnow(), self.mask
            rows = []
            for shop_id, cid in missing:
                buyer = _storable(buyers[(shop_id, cid)])
                rows.append({"tenant_id": self.tenant_id, "shop_id": shop_id, "external_id": cid,
                             "buyer_id": (mask_text(buyer) if mask else buyer)[:200], "message_count": 0,
                             "created_at": now})
            session.execute(
                insert_ignore(session, Conversation.__table__, ("tenant_id", "shop_id", "external_id")), rows)
            for shop_id in {s for s, _ in missing}:
                wanted = {c for s, c in missing if s == shop_id}
                found = session.execute(
                    select(Conversation.id, Conversation.external_id)
                    .where(Conversation.tenant_id == self.tenant_id, Conversation.shop_id == shop_id,
                           Conversation.external_id.in_(wanted))
                )
                for conv_id, external in found:
                    ids[(shop_id, external)] = new[(shop_id, external)] = conv_id
        return ids

    def _update_conversations(self, session: Session, inserted: list[dict[str, Any]]) -> None:
        """Message counts and first/last times of the conversations that got new messages."""
        spans: dict[int, list] = {}
        for row in inserted:
            span = spans.get(row["conversation_id"])
            when = row["sent_at"]
            if span is None:
                spans[row["conversation_id"]] = [1, when, when]
            else:
                span[0] += 1
                span[1] = min(span[1], when)
                span[2] = max(span[2], when)
        if not spans:
            return
        table = Conversation.__table__
        first = bindparam("b_first", type_=UTCDateTime())
        last = bindparam("b_last", type_=UTCDateTime())
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                message_count=table.c.message_count + bindparam("b_n"),
                started_at=case((table.c.started_at.is_(None) | (table.c.started_at > first), first),
                                else_=table.c.started_at),
                last_message_at=case((table.c.last_message_at.is_(None) | (table.c.last_message_at < last), last),
                                     else_=table.c.last_message_at),
            )
        )
        session.execute(stmt, [{"b_id": cid, "b_n": n, "b_first": lo, "b_last": hi}
                               for cid, (n, lo, hi) in sorted(spans.items())])

    def _store_rejects(self, session: Session, rejects: list[tuple[int, Reject]]) -> None:
        if not rejects:
            return
        mask = self.mask
        rows = []
        for seq, rej in rejects:
            reason, raw = _storable(rej.reason), _storable(rej.raw)
            if mask:
                reason, raw = mask_text(reason), mask_text(raw)
            file = self.filename if rej.file == self.path_prefix else _storable(rej.file)
            rows.append({"tenant_id": self.tenant_id, "import_id": self.import_id, "seq": seq, "file": file[:500],
                         "sheet": _storable(rej.sheet)[:200], "line": rej.line, "field": _reject_field(rej.reason),
                         "reason": reason, "raw": raw})
        session.execute(insert_ignore(session, ImportReject.__table__, ("import_id", "seq")), rows)


_ANALYZED_TABLES = ("shops", "agents", "conversations", "messages")


def _analyze_if_never_analyzed(db: Database) -> None:
    """PostgreSQL: give the planner statistics once the first batch of a new database is in.

    Without them it plans the foreign-key checks of `messages` blind, and may look conversations
    up through the (tenant_id, started_at) index — a scan of the whole tenant per message (a
    100k-message import ran ten times slower). Autovacuum would analyze a minute later; an
    import cannot wait that long. Runs once per import, and only while a table has never been
    analyzed.
    """
    with db.engine.connect() as conn:
        never = conn.execute(sql(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(:names) "
            "AND last_analyze IS NULL AND last_autoanalyze IS NULL"), {"names": list(_ANALYZED_TABLES)}).scalars().all()
        if never:
            try:
                conn.execute(sql("ANALYZE " + ", ".join(t for t in _ANALYZED_TABLES if t in never)))
                conn.commit()
            except Exception as exc:  # not the tables' owner: slower, not wrong
                log.info("could not analyze %s: %s", ", ".join(never), type(exc).__name__)


_MESSAGE_COLUMNS = ("tenant_id", "conversation_id", "shop_id", "agent_id", "import_id", "role", "sent_at", "text",
                    "quick_reply", "auto_reply", "buyer_reported", "order_time", "paid_amount", "source", "natural_key")


def _insert_messages(session: Session, rows: list[dict[str, Any]]) -> list[str]:
    """Insert-if-absent; returns the natural keys of the rows that were new.

    PostgreSQL: COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING —
    eight times faster than a multi-row INSERT through the driver. SQLite: a multi-row INSERT.
    """
    if session.get_bind().dialect.name != "postgresql":
        stmt = insert_ignore(session, Message.__table__, ("tenant_id", "natural_key")).returning(
            Message.__table__.c.natural_key)
        return [k for (k,) in session.execute(stmt, rows)]
    cols = ", ".join(_MESSAGE_COLUMNS)
    session.execute(sql(f"CREATE TEMPORARY TABLE kefuguard_incoming ON COMMIT DROP AS "
                         f"SELECT {cols} FROM messages WITH NO DATA"))
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY kefuguard_incoming ({cols}) FROM STDIN") as copy:
            get = itemgetter(*_MESSAGE_COLUMNS)
            for row in rows:
                copy.write_row(get(row))
    finally:
        cursor.close()
    result = session.execute(sql(
        f"INSERT INTO messages ({cols}) SELECT {cols} FROM kefuguard_incoming "
        "ON CONFLICT (tenant_id, natural_key) DO NOTHING RETURNING natural_key"))
    keys = [k for (k,) in result]
    session.execute(sql("DROP TABLE kefuguard_incoming"))
    return keys


def ingest_file(
    db: Database,
    tenant_id: int,
    path: str | os.PathLike[str],
    *,
    platform: str | None = None,
    shop: str | None = None,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
    filename: str | None = None,
    who: str | None = None,
) -> IngestResult:
    """Import one chat-log file (JSONL, CSV/TSV, XLSX) into the tenant's messages.

    `platform`/`shop` fill rows whose column is missing or blank, `mapping` maps the file's own
    column names, `encoding` overrides sniffing — as for the audit. Shops, agents and conversations
    are created as needed. `batch_size` rows (messages and rejects) are stored per transaction;
    `progress(bytes_read, bytes_total)` fires about once per MiB. `filename` is the name recorded
    (default: the file's name; the server passes the uploaded name, not its temp path).

    Returns the counts of this import (for a resumed import, of the whole file). A file that
    cannot be read at all (no header, damaged workbook) gives status 'failed' with the reason and
    one reject; a bad `platform` or `mapping` raises ValueError before anything is stored; the
    same file being imported by a live process raises ImportInProgressError.
    """
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"找不到文件 file not found: {path}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    platform = canonical_platform(platform)
    mapping = check_mapping(mapping)
    shop = (shop or "").strip() or None
    filename = filename or path.name
    options = {"platform": platform, "shop": shop, "mapping": dict(mapping) or None, "encoding": encoding}
    options_key = hashlib.sha256(json.dumps(options, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    sha = _file_sha256(path)
    me = f"{_HOST}:{os.getpid()}:{_PROCESS_TOKEN}:{secrets.token_hex(4)}"

    with db.session(immediate=True) as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFoundError(f"没有租户 {tenant_id} no tenant {tenant_id}")
        mask = tenant.mask_pii
        batch = _claim(session, tenant_id, sha, options_key, me)
        resumed = batch is not None
        if batch is None:
            batch = ImportBatch(tenant_id=tenant_id, filename=filename[:500], file_sha256=sha,
                                file_size=path.stat().st_size, options=options, options_key=options_key,
                                status="running", owner=me, created_by=who)
            session.add(batch)
            session.flush()
    log.info("import %s: %s %s (%d bytes)", batch.id, "resuming" if resumed else "reading", filename,
             batch.file_size)

    job = _Ingest(db, tenant_id, batch, mask=mask, filename=filename, me=me, path=path, batch_size=batch_size)
    try:
        stats = ImportStats(on_progress=progress)
        job.stats = stats
        try:
            stream = read_messages(path, platform=platform, shop=shop, mapping=mapping, encoding=encoding,
                                   rejects=job.on_reject, stats=stats)
        except (ColumnError, OSError, UnicodeError) as exc:
            return _unreadable(db, job, exc, started, resumed)
        fstats = stats.files[str(path)]
        records = iter(stream.records)
        try:
            while True:
                try:
                    record = next(records)
                except StopIteration:
                    break
                except _StoreFailed as exc:  # a batch flushed from inside the reader failed
                    raise exc.__cause__ from None  # type: ignore[misc]
                except Exception as exc:
                    # a file unreadable part-way (truncated workbook, read error): one reject, as the audit does
                    line = fstats.read + fstats.blank + fstats.preamble + 1
                    job.on_reject(Reject(str(path), line, f"文件读到约第 {line} 行后无法继续 file unreadable from "
                                         f"about line {line} ({type(exc).__name__})", ""))
                    break
                job.on_record(record)
        finally:
            stream.close()
        job.flush(final=True, fstats=fstats)
    except BaseException as exc:
        _release(db, job, exc)
        raise
    counts = job.counts
    result = IngestResult(import_id=job.import_id, status="done", resumed=resumed,
                          seconds=round(time.perf_counter() - started, 3), **counts)
    log.info("import %s: done, read %d, added %d, duplicates %d, rejected %d in %.2fs", result.import_id,
             result.read, result.added, result.duplicates, result.rejected, result.seconds)
    return result


def _unreadable(db: Database, job: _Ingest, exc: BaseException, started: float, resumed: bool) -> IngestResult:
    """The whole file is one reject (line 0) and the import failed, with the reason."""
    if isinstance(exc, ColumnError):
        zh, en = exc.zh, exc.en
    else:
        zh, en = "无法读取文件", f"cannot read the file ({type(exc).__name__})"
    reason = f"无法读取的文件：{zh} unreadable file: {en}"
    if job.skip == 0:
        job.on_reject(Reject(job.path_prefix, 0, reason, ""))
    job.flush()
    error = mask_text(f"{zh} {en}") if job.mask else f"{zh} {en}"
    with db.session() as session:
        session.execute(update(ImportBatch).where(ImportBatch.id == job.import_id)
                        .values(status="failed", owner=None, error=error, finished_at=utcnow(), updated_at=utcnow())
                        .execution_options(synchronize_session=False))
    log.warning("import %s: unreadable file %s", job.import_id, job.filename)
    return IngestResult(import_id=job.import_id, status="failed", resumed=resumed, error=error,
                        seconds=round(time.perf_counter() - started, 3), **job.counts)


def _release(db: Database, job: _Ingest, exc: BaseException) -> None:
    """Interrupted (an error, Ctrl-C): leave the import resumable and say why, without PII."""
    if isinstance(exc, ImportInProgressError):
        return
    log.warning("import %s interrupted at row %d: %s", job.import_id, job.position, type(exc).__name__)
    try:
        with db.session() as session:
            session.execute(update(ImportBatch).where(ImportBatch.id == job.import_id, ImportBatch.owner == job.me)
                            .values(owner=None, error=f"interrupted: {type(exc).__name__}", updated_at=utcnow())
                            .execution_options(synchronize_session=False))
    except Exception:  # the database itself may be what failed; the owner check covers the rest
        log.warning("import %s: could not record the interruption", job.import_id)


__all__ = ["DEFAULT_BATCH_SIZE", "IngestResult", "ingest_file", "message_key"]
