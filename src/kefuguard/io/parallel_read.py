"""Parallel reading of chat logs: files cut into spans read by the workers, records shuffled to
partitions by conversation, so no process ever holds the whole input.

Three steps, each usable from any executor (the local process pool in `kefuguard.audit`, Dask in
`kefuguard.audit_dask`, or inline):

1. **Plan** (`plan_reads`, in the coordinating process): the same input checks as `import_logs`
   (folders expanded, headers checked, unreadable files listed), then every large JSONL/CSV file
   is cut into spans of about `split_bytes` that start on a line boundary. The boundaries come from
   one pass of `bytes.count` over the file (newlines for line numbers; for CSV, double quotes: a
   newline after an even number of them is outside any quoted field). Parquet files are cut at
   row groups; an XLSX workbook is one span.
2. **Read** (`read_task`, in a worker): a span is read by the ordinary importers (`read_span`:
   same checks, rejects, line numbers) and its records are hash-partitioned by conversation key
   (a stable CRC-32, the same in every process and on every machine) into pickled frames, one
   per partition, written to one file (or returned as bytes for Dask).
3. **Merge** (`SpanMerger`, in the coordinator): span results are checked in file order and their
   counts and rejects merged, so `ImportStats` and rejects.csv come out as a serial read makes
   them. A CSV span guesses that its first line starts a record; the span before it knows (it
   read its last record to the end), and where the guess was wrong — a quoted field with line
   breaks across the boundary that the quote count misjudged, say after a broken quote — the
   span is read again from where that record really ended. The report never depends on a guess.

Then each partition — every record of its conversations, in input order — is grouped by
`conversation.assemble.assemble_records` (sorted, de-duplicated exactly like the serial path)
in the worker that audits it (`group_partition`).
"""

from __future__ import annotations

import math
import os
import pickle
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kefuguard.conversation.assemble import DEFAULT_MEMORY_BUDGET, Record, assemble_records
from kefuguard.io.importers import (
    CheckedInputs,
    ImportStats,
    ReadableFile,
    Reject,
    Span,
    _file_error,
    _Rejects,
    check_inputs,
    failed_part_way,
    read_span,
    unreadable_reject,
)

#: Bytes of input per span read by one task (a span's records are held until they are partitioned).
DEFAULT_SPLIT_BYTES = 16 << 20
#: Bytes of input per shuffle partition (a partition's records are held while it is grouped and
#: audited; small partitions also even out the workers' last tasks).
DEFAULT_PARTITION_BYTES = 12 << 20
MAX_PARTITIONS = 4096
SCAN_CHUNK = 8 << 20
# Codecs where '\n' and '"' are never part of a multi-byte character, so byte counts are exact.
_SPLITTABLE_CODECS = {"utf-8", "utf_8", "utf8", "ascii", "gb18030", "big5hkscs", "latin-1", "latin_1", "iso8859-1"}
SAMPLE_REJECTS = 50
MAX_IGNORED = 100


def partition_of(key: Record, partitions: int) -> int:
    """The partition of a conversation key (conversation_id, platform, shop): stable everywhere."""
    data = f"{key[0]}\x1f{key[1]}\x1f{key[2]}".encode("utf-8", "surrogatepass")
    return zlib.crc32(data) % partitions


@dataclass(frozen=True)
class ReadOptions:
    """The reader arguments every span of an import shares (as `import_logs` takes them)."""

    platform: str | None = None
    shop: str | None = None
    mapping: Mapping[str, str] | None = None
    encoding: str | None = None

    def kwargs(self) -> dict[str, Any]:
        return {"platform": self.platform, "shop": self.shop, "mapping": self.mapping, "encoding": self.encoding}


@dataclass(frozen=True)
class ReadTask:
    """One span of one file. `seq` orders all spans of an import (file order, then position):
    partitions load their frames in this order, which is input order."""

    seq: int
    file_index: int
    path: str
    fmt: str
    span_index: int
    span: Span
    nbytes: int  # input bytes this span stands for (progress)
    attempt: int = 0


@dataclass
class SpanResult:
    """What reading one span produced: counts, rejects, and where its partition frames are."""

    task: ReadTask
    read: int = 0
    parsed: int = 0
    rejected: int = 0
    blank: int = 0
    preamble: int = 0
    reasons: Counter = field(default_factory=Counter)
    rejects: list[Reject] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    skipped_sheets: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    end_line: int | None = None  # CSV: the last physical line its records consumed
    failed: tuple[str, str] | None = None  # the reader failed part-way: why (zh, en)
    records: int = 0
    frame_path: str | None = None
    frames: list[tuple[int, int]] = field(default_factory=list)  # (offset, length) per partition (in a file or a block)
    blocks: list[bytes] | None = None  # frames in memory instead of a file (the Dask engine)

    def without_blocks(self) -> SpanResult:
        return replace(self, blocks=None)


# ---------------------------------------------------------------- planning


@dataclass
class ReadPlan:
    """The checked inputs of an import and the spans to read them in."""

    stats: ImportStats
    checked: CheckedInputs
    options: ReadOptions
    split_bytes: int
    # files found (while planning) to hold a line longer than the scan chunk: read whole instead
    whole: set[int] = field(default_factory=set)

    @property
    def files(self) -> list[ReadableFile]:
        return self.checked.readable

    @property
    def unreadable(self) -> list[tuple[Path, str, str]]:
        return self.checked.unreadable

    @property
    def total_bytes(self) -> int:
        return sum(self.stats.files[str(f.path)].bytes_total for f in self.files)

    def partitions(self, workers: int, partition_bytes: int = DEFAULT_PARTITION_BYTES) -> int:
        """Enough partitions that each holds about `partition_bytes` of input, at least two per worker."""
        wanted = math.ceil(self.total_bytes / max(1, partition_bytes))
        return max(1, min(MAX_PARTITIONS, max(2 * max(1, workers), wanted)))

    def tasks(self) -> Iterator[ReadTask]:
        """Every span, file by file; large text files are scanned for boundaries as this goes, so a
        caller that submits each task at once has workers reading while the rest is planned."""
        seq = 0
        for index, item in enumerate(self.files):
            size = self.stats.files[str(item.path)].bytes_total
            long_line: list[bool] = []
            spans = 0
            for span_index, (span, nbytes) in enumerate(_spans(item, size, self.split_bytes, long_line)):
                yield ReadTask(seq, index, str(item.path), item.format, span_index, span, nbytes)
                seq += 1
                spans += 1
            if long_line and spans > 1:
                self.whole.add(index)

    def whole_file_task(self, file_index: int, seq: int) -> ReadTask:
        item = self.files[file_index]
        return ReadTask(seq, file_index, str(item.path), item.format, 0, Span(), 0, attempt=1000)


def plan_reads(
    paths: Iterable[str | os.PathLike[str]],
    options: ReadOptions | None = None,
    *,
    exclude: Iterable[str | os.PathLike[str]] = (),
    split_bytes: int = DEFAULT_SPLIT_BYTES,
    progress: Callable[[int, int], None] | None = None,
) -> ReadPlan:
    """Check the inputs as `import_logs` does (same errors, same skipped/unreadable listing)."""
    options = options or ReadOptions()
    stats = ImportStats(on_progress=progress)
    checked = check_inputs(paths, stats, exclude=exclude, **options.kwargs())
    for item in checked.readable:
        fstats = stats.files[str(item.path)]
        fstats.format, fstats.encoding = item.format, item.encoding
    return ReadPlan(stats, checked, options, max(64, split_bytes))


def _spans(item: ReadableFile, size: int, split_bytes: int, long_line: list[bool]) -> Iterator[tuple[Span, int]]:
    info = item.info
    if item.format == "parquet":
        yield from _parquet_spans(info.get("row_groups") or [], size, split_bytes)
        return
    codec = info.get("codec")
    if (item.format not in ("csv", "jsonl") or size <= split_bytes or codec is None
            or codec.replace("-", "_").lower() not in {c.replace("-", "_") for c in _SPLITTABLE_CODECS}):
        yield Span(), size
        return
    quote = item.format == "csv"
    header = info.get("header")
    delimiter = info.get("delimiter", ",")
    first_data_line = int(info.get("data_line", 1))
    common = {"codec": codec, "encoding_label": item.encoding, "delimiter": delimiter, "header": header}
    start, line = 0, 1
    for offset, boundary_line in _boundaries(item.path, size, split_bytes, quote, first_data_line, long_line):
        yield Span(start=start, end=offset, first_line=line, stop_line=boundary_line, **common), offset - start
        start, line = offset, boundary_line
    yield Span(start=start, end=None, first_line=line, **common), size - start


def _boundaries(path: Path, size: int, split_bytes: int, quote: bool, first_data_line: int,
                long_line: list[bool]) -> Iterator[tuple[int, int]]:
    """(byte offset, line number) of line starts about every `split_bytes`, each after an even
    number of double quotes (CSV) and after the header. A file with a line longer than the scan
    chunk must be read whole (the line reader cuts such lines at places counted from the file's
    start): scanning stops and `long_line` says so."""
    with open(path, "rb") as fh:
        pos = 0  # file offset of the chunk
        lines_before = 0  # newlines before the chunk
        quotes_before = 0  # double quotes before the chunk
        target = split_bytes
        while True:
            chunk = fh.read(SCAN_CHUNK)
            if not chunk:
                return
            if b"\n" not in chunk and len(chunk) == SCAN_CHUNK:
                long_line.append(True)
                return
            end = pos + len(chunk)
            # newlines and quotes counted so far inside the chunk, up to `seen`
            seen = lines = quotes = 0
            found: list[tuple[int, int]] = []
            done = False
            while target < end:
                nl = chunk.find(b"\n", max(0, target - pos))
                hit = None
                while nl != -1:
                    lines += chunk.count(b"\n", seen, nl + 1)
                    if quote:
                        quotes += chunk.count(b'"', seen, nl + 1)
                    seen = nl + 1
                    line = lines_before + lines + 1
                    if (not quote or (quotes_before + quotes) % 2 == 0) and line > first_data_line:
                        hit = (pos + nl + 1, line)
                        break
                    nl = chunk.find(b"\n", nl + 1)
                if hit is None:
                    target = end  # keep looking in the next chunk
                    break
                if hit[0] >= size:
                    done = True
                    break
                found.append(hit)
                target = hit[0] + split_bytes
            yield from found  # boundaries are final once found: a caller may start reading the spans
            if done:
                return
            lines_before += chunk.count(b"\n")
            if quote:
                quotes_before += chunk.count(b'"')
            pos = end


def _parquet_spans(sizes: list[int], size: int, split_bytes: int) -> Iterator[tuple[Span, int]]:
    rows = sum(sizes)
    if not sizes or rows == 0:
        yield Span(row_groups=tuple(range(len(sizes)))), size
        return
    per_row = size / rows
    group: list[int] = []
    group_rows = 0
    first = 1
    for i, n in enumerate(sizes):
        group.append(i)
        group_rows += n
        if group_rows * per_row >= split_bytes:
            yield Span(first_line=first, row_groups=tuple(group)), int(group_rows * per_row)
            first += group_rows
            group, group_rows = [], 0
    if group:
        yield Span(first_line=first, row_groups=tuple(group)), int(group_rows * per_row)


# ---------------------------------------------------------------- reading (worker side)


def read_task(task: ReadTask, options: ReadOptions, partitions: int, out_dir: str | os.PathLike[str] | None
              ) -> SpanResult:
    """Read one span and partition its records: frames written to a file in `out_dir`, or kept
    as bytes in the result when `out_dir` is None."""
    stats = ImportStats()
    rejects: list[Reject] = []
    result = SpanResult(task)
    buckets: list[list[Record]] = [[] for _ in range(partitions)]
    cache: dict[Record, int] = {}
    stream = None
    end = None
    try:
        stream, end = read_span(task.path, task.span, rejects=rejects.append, stats=stats, **options.kwargs())
        for record in stream.records:
            key = record[:3]
            p = cache.get(key)
            if p is None:
                if len(cache) > 200_000:
                    cache.clear()
                p = cache[key] = partition_of(key, partitions)
            buckets[p].append(record)
            result.records += 1
    except Exception as exc:  # a reader failing part-way: the coordinator rejects the rest of the file
        result.failed = _file_error(exc)
    finally:
        if stream is not None:
            stream.close()
    fstats = stats.files.get(str(Path(task.path)))
    if fstats is not None:
        result.read, result.parsed, result.rejected = fstats.read, fstats.parsed, fstats.rejected
        result.blank, result.preamble = fstats.blank, fstats.preamble
        result.reasons = Counter(fstats.reasons)
        result.ignored_columns = list(fstats.ignored_columns)
        result.skipped_sheets = list(fstats.skipped_sheets)
    result.rejects = rejects
    result.sources = list(stats._sources)
    result.end_line = end.line if end is not None else None
    if out_dir is None:
        result.blocks = [pickle.dumps(b, protocol=pickle.HIGHEST_PROTOCOL) if b else b"" for b in buckets]
        result.frames = [(0, len(b)) for b in result.blocks]  # sizes, so a result without blocks still tells
    else:
        path = os.path.join(out_dir, f"span-{task.seq:06d}-{task.attempt}.pkl")
        with open(path, "wb") as fh:
            for bucket in buckets:
                if not bucket:
                    result.frames.append((0, 0))
                    continue
                data = pickle.dumps(bucket, protocol=pickle.HIGHEST_PROTOCOL)
                result.frames.append((fh.tell(), len(data)))
                fh.write(data)
        result.frame_path = path
    return result


# ---------------------------------------------------------------- partitions (worker side)

Frame = bytes | tuple[str, int, int]  # in memory, or (file, offset, length)


def partition_frames(results: Iterable[SpanResult], partition: int) -> list[Frame]:
    """The frames of one partition from accepted span results, in input order."""
    out: list[Frame] = []
    for r in results:
        if r.blocks is not None:
            if r.blocks[partition]:
                out.append(r.blocks[partition])
        elif r.frame_path is not None and r.frames and r.frames[partition][1]:
            out.append((r.frame_path, *r.frames[partition]))
    return out


def frames_size(frames: Iterable[Frame]) -> int:
    """Pickled bytes of a partition's frames (to hand out the largest partitions first)."""
    return sum(len(f) if isinstance(f, bytes | bytearray | memoryview) else f[2] for f in frames)


def partition_records(frames: Iterable[Frame]) -> Iterator[Record]:
    """Every record of a partition, in input order."""
    handles: dict[str, Any] = {}
    try:
        for frame in frames:
            if isinstance(frame, bytes | bytearray | memoryview):
                data = bytes(frame)
            else:
                path, offset, length = frame
                fh = handles.get(path)
                if fh is None:
                    fh = handles[path] = open(path, "rb")  # noqa: SIM115 - closed below
                fh.seek(offset)
                data = fh.read(length)
            yield from pickle.loads(data)
    finally:
        for fh in handles.values():
            fh.close()


class PartitionCounts:
    """Grouping's counts in a worker (`conversation.assemble.ImportStats` protocol): duplicates
    per source file prefix and messages emitted; the coordinator adds them to the real stats."""

    def __init__(self) -> None:
        self.duplicates: Counter[str] = Counter()
        self.emitted = 0

    def count_duplicate(self, source: str) -> None:
        self.duplicates[source.rpartition(":")[0]] += 1

    def count_emitted(self, n: int) -> None:
        self.emitted += n

    def merge(self, other: PartitionCounts) -> None:
        self.duplicates.update(other.duplicates)
        self.emitted += other.emitted


def group_partition(frames: Iterable[Frame], counts: PartitionCounts, *, memory_budget: int = DEFAULT_MEMORY_BUDGET,
                    spill_dir: str | os.PathLike[str] | None = None) -> Iterator[tuple[Record, list[Record]]]:
    """(key, sorted de-duplicated records) of every conversation in a partition, grouped as the
    serial importer groups them (a partition larger than `memory_budget` spills to disk)."""
    return assemble_records(partition_records(frames), stats=counts, raw=True, memory_budget=memory_budget,
                            spill_dir=spill_dir)


# ---------------------------------------------------------------- merging (coordinator side)


class SpanMerger:
    """Collects span results, then checks them in file order and merges counts and rejects.

    `sink` receives every reject in the order a serial read writes them (a RejectsWriter).
    """

    def __init__(self, plan: ReadPlan, sink: Callable[[Reject], None] | None) -> None:
        self.plan = plan
        self.sink = sink
        self.results: dict[tuple[int, int], SpanResult] = {}
        self.discarded: list[SpanResult] = []
        self.reruns = 0

    def add(self, result: SpanResult) -> None:
        self.results[(result.task.file_index, result.task.span_index)] = result
        stats = self.plan.stats
        stats.advance(stats.files[result.task.path], result.task.nbytes)

    def resolve(self, rerun: Callable[[ReadTask], SpanResult]) -> list[SpanResult]:
        """The accepted spans in input order; counts and rejects merged into the plan's stats.

        `rerun(task)` reads a span again (synchronously) where the span before it ended past its
        first line; rare (a quoted field the boundary scan misjudged)."""
        stats = self.plan.stats
        for path, zh, en in self.plan.unreadable:
            if self.sink is not None:
                self.sink(unreadable_reject(path, zh, en))
        accepted: list[SpanResult] = []
        by_file: dict[int, list[SpanResult]] = {}
        for (file_index, _), r in sorted(self.results.items()):
            by_file.setdefault(file_index, []).append(r)
        for file_index, item in enumerate(self.plan.files):
            spans = by_file.get(file_index, [])
            fstats = stats.files[str(item.path)]
            stats.register_source(str(item.path), fstats)
            chosen = None if file_index in self.plan.whole else self._check_file(spans, rerun)
            if chosen is None:  # read the file whole, as the serial reader does
                self.discarded.extend(spans)
                self.reruns += 1
                chosen = [rerun(self.plan.whole_file_task(file_index, spans[0].task.seq if spans else 0))]
            for r in chosen:
                self._merge(r, item, fstats)
                accepted.append(r)
                if r.failed is not None:
                    zh, en = r.failed
                    failed_part_way(fstats, _Rejects(str(item.path), fstats, self.sink), zh, en)
                    break
            fstats.bytes_read = fstats.bytes_total
        return accepted

    def _check_file(self, spans: list[SpanResult], rerun: Callable[[ReadTask], SpanResult]
                    ) -> list[SpanResult] | None:
        """The spans of one file that a serial read agrees with, re-reading a CSV span whose first
        record the span before it had already read; None when the file must be read whole."""
        chosen: list[SpanResult] = []
        expected: int | None = None
        for i, r in enumerate(spans):
            task = r.task
            if task.span_index != i:
                return None  # a span is missing: never expected
            if task.fmt == "csv" and i > 0 and expected is not None:
                first = task.span.first_line + task.span.skip
                if expected != first:
                    self.discarded.append(r)
                    stop = task.span.stop_line
                    if stop is not None and expected >= stop:
                        continue  # the previous span's last record covers this whole span
                    if expected < task.span.first_line:
                        return None
                    self.reruns += 1
                    r = rerun(replace(task, span=replace(task.span, skip=expected - task.span.first_line),
                                      attempt=task.attempt + 1))
            chosen.append(r)
            if r.failed is not None:
                self.discarded.extend(spans[i + 1:])
                break
            if task.fmt == "csv":
                if r.end_line is None:
                    return None
                expected = r.end_line + 1
        return chosen

    def _merge(self, r: SpanResult, item: ReadableFile, fstats: Any) -> None:
        fstats.read += r.read
        fstats.parsed += r.parsed
        fstats.rejected += r.rejected
        fstats.blank += r.blank
        fstats.preamble += r.preamble
        fstats.reasons.update(r.reasons)
        room = SAMPLE_REJECTS - len(fstats.samples)
        if room > 0:
            fstats.samples.extend(r.rejects[:room])
        if self.sink is not None:
            for reject in r.rejects:
                self.sink(reject)
        if item.format == "jsonl":
            seen = dict.fromkeys(fstats.ignored_columns)
            for name in r.ignored_columns:
                if len(seen) >= MAX_IGNORED:
                    break
                seen.setdefault(name, None)
            fstats.ignored_columns = list(seen)
        elif r.task.span_index == 0 or not fstats.ignored_columns:
            fstats.ignored_columns = list(r.ignored_columns)
        for sheet in r.skipped_sheets:
            if sheet not in fstats.skipped_sheets:
                fstats.skipped_sheets.append(sheet)
        for prefix in r.sources:
            self.plan.stats.register_source(prefix, fstats)

    def finish(self, counts: PartitionCounts) -> ImportStats:
        """Add grouping's counts (duplicates per file, messages emitted) and check the balance."""
        stats = self.plan.stats
        for prefix, n in counts.duplicates.items():
            owner = stats._sources.get(prefix)
            if owner is None:
                stats.unattributed_duplicates += n
            else:
                owner.duplicates += n
        stats.count_emitted(counts.emitted)
        stats.finished = True
        stats.verify()
        return stats


__all__ = [
    "DEFAULT_PARTITION_BYTES",
    "DEFAULT_SPLIT_BYTES",
    "PartitionCounts",
    "ReadOptions",
    "ReadPlan",
    "ReadTask",
    "SpanMerger",
    "SpanResult",
    "group_partition",
    "partition_frames",
    "partition_of",
    "partition_records",
    "plan_reads",
    "read_task",
]
