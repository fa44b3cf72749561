"""Group a stream of messages into conversations, in bounded memory.

Messages of one conversation may be scattered over a whole export (and over several files), so
grouping has to see everything before it can yield. Up to `memory_budget` (estimated bytes) the
groups live in a dict; past it, everything is hash-partitioned by conversation onto temporary
files and read back one partition at a time. A partition that is still too big is split again
with another hash, so memory stays near the budget whatever the input size.

A conversation is identified by (conversation_id, platform, shop): exports number sessions per
shop, so bare ids from two shops may collide. Within it, messages are sorted by sent_at (stable:
equal times keep their input order) and duplicates — same role, sent_at, text and agent_id — are
dropped and counted; the duplicate key contains the conversation id, so per-conversation
de-duplication is de-duplication across the whole input.

Internally a message travels as a plain tuple of its field values in model order (a "record"):
a third of the memory of a Message and no second construction. The importers feed records
straight in (`assemble_records`); `assemble_conversations` accepts Message objects.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import Any, Protocol

from pydantic import BaseModel

from kefuguard.conversation.model import Conversation, Message, Role


class ImportStats(Protocol):
    """What grouping reports back: duplicates dropped (by the message's source) and messages emitted.

    `kefuguard.io.importers.ImportStats` is one; the conversation layer only needs these two
    methods, so it names this protocol instead of importing the importers (a dependency cycle).
    """

    def count_duplicate(self, source: str) -> None: ...

    def count_emitted(self, n: int) -> None: ...

#: Estimated bytes of held messages before spilling to disk; keeps RSS well under 1 GiB.
DEFAULT_MEMORY_BUDGET = 512 * 2**20
DEFAULT_PARTITIONS = 64
MAX_SPLIT_DEPTH = 3

MESSAGE_FIELDS: tuple[str, ...] = tuple(Message.model_fields)
Record = tuple[Any, ...]
_AS_RECORD = itemgetter(*MESSAGE_FIELDS)
_CID, _ROLE, _SENT_AT, _TEXT, _AGENT, _SOURCE = (MESSAGE_FIELDS.index(f) for f in (
    "conversation_id", "role", "sent_at", "text", "agent_id", "source"))
_BY_TIME = itemgetter(_SENT_AT)
_DUP_KEY = itemgetter(_ROLE, _SENT_AT, _TEXT, _AGENT)
_ROLES = {r.value: r for r in Role}
# tracemalloc-measured bytes of one held record beyond its text and source characters (tuple, list
# slot, datetime, string headers), and of one conversation (key tuple, dict slot, list).
_RECORD_COST = 400
_GROUP_COST = 260
# In-memory bytes per pickled byte when a partition is loaded back (measured about 3).
_LOAD_EXPANSION = 4

_SHARED_FIELDS_SET = set(MESSAGE_FIELDS)
_new = Message.__new__
# BaseModel's slot descriptors: setting them directly skips the frozen model's __setattr__.
_SET_FIELDS_SET = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__


def record_message(record: Record) -> Message:
    """Build a Message from a validated record (field values in MESSAGE_FIELDS order).

    Equivalent to `Message.model_validate(...)` for values that passed the importers' checks
    (a test holds the two equal) at a fraction of the cost. All messages share one fields-set:
    the model is frozen, so nothing mutates it.
    """
    message = _new(Message)
    message.__dict__.update(zip(MESSAGE_FIELDS, record, strict=True))
    _SET_FIELDS_SET(message, _SHARED_FIELDS_SET)
    _SET_EXTRA(message, None)
    _SET_PRIVATE(message, None)
    return message


def _cost(record: Record) -> int:
    return _RECORD_COST + 2 * len(record[_TEXT]) + len(record[_SOURCE])


def assemble_conversations(
    messages: Iterable[Message],
    *,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    spill_dir: str | os.PathLike[str] | None = None,
    partitions: int = DEFAULT_PARTITIONS,
    stats: ImportStats | None = None,
) -> Iterator[Conversation]:
    """Yield conversations with messages sorted by (sent_at, input order), duplicates dropped.

    In memory, conversations come out in order of first appearance; after a spill, partition by
    partition (each conversation still whole). `stats` receives duplicate (per file, via each
    message's source) and emitted counts. Temporary files go to `spill_dir` (default: the system
    temp dir) and are removed at the end, also when the consumer stops early.
    """
    records = (_AS_RECORD(m.__dict__) for m in messages)
    return assemble_records(records, memory_budget=memory_budget, spill_dir=spill_dir,
                            partitions=partitions, stats=stats)


def assemble_records(
    records: Iterable[Record],
    *,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    spill_dir: str | os.PathLike[str] | None = None,
    partitions: int = DEFAULT_PARTITIONS,
    stats: ImportStats | None = None,
    raw: bool = False,
) -> Iterator[Conversation]:
    """`assemble_conversations` for validated records (field values in MESSAGE_FIELDS order).

    With `raw`, yield `(conversation key, records)` instead of Conversation objects: the parallel
    audit ships records to worker processes and builds the messages there.
    """
    groups: dict[Record, list[Record]] = {}
    used = 0
    spill: _Spill | None = None
    try:
        for record in records:
            if spill is not None:
                spill.add(record)
                continue
            key = record[:3]
            group = groups.get(key)
            if group is None:
                groups[key] = [record]
                used += _GROUP_COST + _cost(record)
            else:
                group.append(record)
                used += _cost(record)
            if used > memory_budget:
                spill = _Spill(spill_dir, partitions, memory_budget)
                for gkey in list(groups):
                    for held in groups.pop(gkey):
                        spill.add(held)
        if spill is None:
            for gkey in list(groups):
                yield _conversation(gkey, groups.pop(gkey), stats, raw)
        else:
            yield from spill.drain(stats, raw)
    finally:
        groups.clear()
        if spill is not None:
            spill.cleanup()


def _conversation(key: Record, records: list[Record], stats: ImportStats | None, raw: bool = False):
    records.sort(key=_BY_TIME)
    seen: set[Record] = set()
    kept: list[Record] = []
    for record in records:
        dup = _DUP_KEY(record)
        if dup in seen:
            if stats is not None:
                stats.count_duplicate(record[_SOURCE])
            continue
        seen.add(dup)
        kept.append(record)
    if stats is not None:
        stats.count_emitted(len(kept))
    if raw:
        return key, kept
    return conversation_from_records(key, kept)


def conversation_from_records(key: Record, records: list[Record]) -> Conversation:
    """A Conversation from its key and its sorted, de-duplicated records."""
    return Conversation.model_construct(
        conversation_id=key[0], platform=key[1], shop=key[2], messages=[record_message(r) for r in records]
    )


class _Spill:
    """Hash partitions of held records on disk, as pickled batches.

    Roles are stored as their string value (unpickling an enum member costs a class call).
    """

    def __init__(self, parent: str | os.PathLike[str] | None, partitions: int, budget: int, depth: int = 0,
                 directory: str | None = None, parent_size: float = float("inf")) -> None:
        self.owner = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="kefuguard-spill-", dir=parent)
        self.n = max(2, partitions)
        self.budget = budget
        self.depth = depth
        self.parent_size = parent_size
        self.paths = [os.path.join(self.dir, f"d{depth}-{id(self):x}-{i:03d}.pkl") for i in range(self.n)]
        self.files = [open(p, "wb") for p in self.paths]  # noqa: SIM115 - closed in drain/cleanup
        self.buffers: list[list[Record]] = [[] for _ in range(self.n)]
        self.buffered = 0
        # Flush often enough that the write buffers stay a small part of the budget.
        self.flush_at = max(1 << 20, min(budget // 8, 64 << 20))

    def add(self, record: Record) -> None:
        stored = (*record[:_ROLE], record[_ROLE].value, *record[_ROLE + 1:])
        self.buffers[hash((self.depth, record[:3])) % self.n].append(stored)
        self.buffered += _cost(record)
        if self.buffered >= self.flush_at:
            self.flush()

    def flush(self) -> None:
        for fh, buf in zip(self.files, self.buffers, strict=True):
            if buf:
                pickle.dump(buf, fh, protocol=pickle.HIGHEST_PROTOCOL)
                buf.clear()
        self.buffered = 0

    def drain(self, stats: ImportStats | None, raw: bool = False) -> Iterator[Conversation]:
        self.flush()
        self.close()
        for path in self.paths:
            size = os.path.getsize(path)
            # Split a partition that would not fit, unless splitting stopped helping (one huge
            # conversation keeps landing in one partition whatever the hash).
            if (size * _LOAD_EXPANSION > self.budget and self.depth < MAX_SPLIT_DEPTH
                    and size < 0.9 * self.parent_size):
                sub = _Spill(None, self.n, self.budget, self.depth + 1, directory=self.dir, parent_size=size)
                try:
                    for record in _load(path):
                        sub.add(record)
                    os.remove(path)
                    yield from sub.drain(stats, raw)
                finally:
                    sub.close()
                continue
            groups: dict[Record, list[Record]] = {}
            for record in _load(path):
                key = record[:3]
                group = groups.get(key)
                if group is None:
                    groups[key] = [record]
                else:
                    group.append(record)
            os.remove(path)
            for key in list(groups):
                yield _conversation(key, groups.pop(key), stats, raw)

    def close(self) -> None:
        for fh in self.files:
            fh.close()

    def cleanup(self) -> None:
        self.close()
        if self.owner:
            shutil.rmtree(self.dir, ignore_errors=True)


def _load(path: str) -> Iterator[Record]:
    roles = _ROLES
    with open(path, "rb") as fh:
        while True:
            try:
                batch = pickle.load(fh)
            except EOFError:
                return
            for stored in batch:
                yield (*stored[:_ROLE], roles[stored[_ROLE]], *stored[_ROLE + 1:])


__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "MESSAGE_FIELDS",
    "assemble_conversations",
    "assemble_records",
    "record_message",
]
