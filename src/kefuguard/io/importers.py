"""Streaming chat-log importers: JSONL, CSV/TSV, XLSX and Parquet → validated `Message` objects.

Files are read in 1 MiB chunks (XLSX through openpyxl's read-only mode), so a multi-gigabyte export
never sits in memory. Every data row ends up as exactly one of: a Message, or a `Reject` (file,
line as an editor shows it, bilingual reason, raw row) handed to the caller's sink. Fully blank
rows and title lines above the header are counted, not read. Duplicates are dropped later, by the
conversation assembler, which counts them into the same `ImportStats`.

Validation is done here, field by field, and the Message is then built without pydantic's
validator (`conversation.assemble.record_message`): the checks here are the model's constraints,
and skipping a second validation pass is what keeps million-row audits fast.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

from kefuguard.conversation.assemble import (
    DEFAULT_MEMORY_BUDGET,
    Record,
    assemble_records,
    record_message,
)
from kefuguard.conversation.model import Conversation, Message
from kefuguard.io.columns import (
    CANONICAL_FIELDS,
    FIELD_NAMES_ZH,
    PLATFORM_ALIASES,
    ROLE_ALIASES,
    CellError,
    ColumnError,
    canonical_platform,
    cell_text,
    check_mapping,
    missing_fields,
    parse_amount,
    parse_bool,
    parse_platform,
    parse_role,
    parse_time,
    resolve_header,
)
from kefuguard.masking import mask_text

CHUNK_SIZE = 1 << 20
MAX_LINE_BYTES = 32 << 20
HEADER_SCAN_ROWS = 20
RAW_LIMIT = 2000
_CACHE_LIMIT = 500_000
SAMPLE_REJECTS = 50
# A quoted CSV field spanning more physical lines than this is a broken (unclosed) quote.
MAX_RECORD_LINES = 100
SUPPORTED_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "csv",
                      ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet"}

# --- rejects and statistics -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reject:
    """A row that did not become a message, with what a person needs to find and fix it."""

    file: str
    line: int
    reason: str
    raw: str
    sheet: str = ""


RejectSink = Callable[[Reject], None]

# Reasons read "<Chinese> <English>": the English part starts at the first space that follows a
# non-ASCII character (or ')') and precedes a lowercase ASCII letter.
_REASON_SPLIT = re.compile(r"(?<=[^\x00-\x28\x2a-\x7f]) (?=[a-z])")


def reason_in(reason: str, lang: str | None) -> str:
    """One language of a bilingual reason ('zh' or 'en'); None keeps both."""
    if lang is None:
        return reason
    m = _REASON_SPLIT.search(reason)
    if m is None:
        return reason
    return reason[m.end():] if lang == "en" else reason[:m.start()]


class RejectsWriter:
    """Writes rejects to a CSV in UTF-8 with BOM (Excel opens it without mojibake).

    Personal data (phone, ID and bank-card numbers, house numbers) in the raw row and the reason
    is masked by default, like every other output; `mask=False` keeps the rows as read (the
    audit's explicit `--no-mask`). `lang` ('zh'/'en') writes each reason in one language (the
    command line's `--lang`); by default both. Callable, so it can be passed wherever a reject sink
    is expected.
    """

    HEADER = ("文件 file", "工作表 sheet", "行号 line", "原因 reason", "原始内容 raw")

    def __init__(self, path: str | os.PathLike[str], *, mask: bool = True, lang: str | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a lone surrogate or other unencodable text is written escaped, never aborts the audit
        self._fh = self.path.open("w", encoding="utf-8-sig", newline="", errors="backslashreplace")
        self._writer = csv.writer(self._fh)
        self._writer.writerow(self.HEADER)
        self.mask = mask
        self.lang = lang  # None: reasons in both languages; 'zh'/'en': in that one
        self.count = 0

    def __call__(self, reject: Reject) -> None:
        reason, raw = reason_in(reject.reason, self.lang), reject.raw
        if self.mask:
            reason, raw = mask_text(reason), mask_text(raw)
        self._writer.writerow((reject.file, reject.sheet, reject.line, reason, raw))
        self.count += 1

    write = __call__

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class FileStats:
    """Counts for one input file. read = parsed + rejected; accepted = parsed − duplicates."""

    path: str
    format: str = ""
    encoding: str = ""
    # ok | unreadable (the whole file is one reject, line 0) | skipped (not a chat log: listed,
    # not counted) | empty (no data at all: a warning)
    status: str = "ok"
    error: str = ""  # why, in Chinese (error_en: in English)
    error_en: str = ""
    read: int = 0
    parsed: int = 0
    rejected: int = 0
    duplicates: int = 0
    blank: int = 0
    preamble: int = 0
    bytes_total: int = 0
    bytes_read: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    skipped_sheets: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    samples: list[Reject] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.parsed - self.duplicates

    @property
    def balanced(self) -> bool:
        return self.read == self.accepted + self.duplicates + self.rejected

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "format": self.format, "encoding": self.encoding, "status": self.status,
            "error": self.error, "error_en": self.error_en, "read": self.read,
            "accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected,
            "blank": self.blank, "preamble": self.preamble, "bytes": self.bytes_total,
            "ignored_columns": list(self.ignored_columns), "skipped_sheets": list(self.skipped_sheets),
            "reasons": dict(self.reasons),
        }


@dataclass
class ImportStats:
    """Live counts of an import, per file and in total; updated while the iterators run.

    `on_progress(bytes_read, bytes_total)` is called about once per MiB read (the CLI drives a
    progress bar from it). After the conversations are fully consumed, `verify()` holds:
    read = accepted + duplicates + rejected for every file, and every accepted message came out.
    """

    files: dict[str, FileStats] = field(default_factory=dict)
    on_progress: Callable[[int, int], None] | None = None
    unattributed_duplicates: int = 0
    emitted: int = 0
    finished: bool = False
    _sources: dict[str, FileStats] = field(default_factory=dict, repr=False)

    def add_file(self, path: str | os.PathLike[str]) -> FileStats:
        key = str(path)
        stats = self.files.get(key)
        if stats is None:
            stats = self.files[key] = FileStats(path=key)
            try:
                stats.bytes_total = os.path.getsize(path)
            except OSError:
                stats.bytes_total = 0
        return stats

    def register_source(self, prefix: str, stats: FileStats) -> None:
        """Messages whose `source` is '<prefix>:<line>' belong to `stats` (for duplicate counts)."""
        self._sources[prefix] = stats

    def _owner(self, source: str) -> FileStats | None:
        return self._sources.get(source.rpartition(":")[0])

    def count_duplicate(self, source: str) -> None:
        owner = self._owner(source)
        if owner is None:
            self.unattributed_duplicates += 1
        else:
            owner.duplicates += 1

    def count_emitted(self, n: int) -> None:
        self.emitted += n

    def advance(self, stats: FileStats, nbytes: int) -> None:
        stats.bytes_read += nbytes
        if self.on_progress is not None:
            self.on_progress(self.bytes_read, self.bytes_total)

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files.values())

    @property
    def parsed(self) -> int:
        return sum(f.parsed for f in self.files.values())

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files.values())

    @property
    def blank(self) -> int:
        return sum(f.blank for f in self.files.values())

    @property
    def preamble(self) -> int:
        return sum(f.preamble for f in self.files.values())

    @property
    def bytes_total(self) -> int:
        return sum(f.bytes_total for f in self.files.values())

    @property
    def bytes_read(self) -> int:
        return sum(f.bytes_read for f in self.files.values())

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files.values()) + self.unattributed_duplicates

    @property
    def accepted(self) -> int:
        return self.parsed - self.duplicates

    @property
    def balanced(self) -> bool:
        return all(f.balanced for f in self.files.values())

    def verify(self) -> None:
        """Raise if any row is unaccounted for (a bug, never a data problem)."""
        for f in self.files.values():
            if f.read != f.parsed + f.rejected:
                raise RuntimeError(f"{f.path}: read {f.read} != parsed {f.parsed} + rejected {f.rejected}")
        if self.finished and self.emitted != self.accepted:
            raise RuntimeError(f"emitted {self.emitted} != accepted {self.accepted}")

    def summary_zh(self) -> str:
        return (
            f"读取 {self.read} 行：接受 {self.accepted}，重复 {self.duplicates}，拒绝 {self.rejected}"
            f"（空行 {self.blank}，表头前说明行 {self.preamble}）"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read, "accepted": self.accepted, "duplicates": self.duplicates,
            "rejected": self.rejected, "blank": self.blank, "preamble": self.preamble,
            "files": [f.as_dict() for f in self.files.values()],
        }


_REASON_KIND = re.compile(r"[^\s(（：「]+")


def _reason_kind(reason: str) -> str:
    """'列数不符(应为 12 列…) wrong column count…' → '列数不符'."""
    m = _REASON_KIND.match(reason)
    return m.group() if m else reason[:20]


class _Rejects:
    """Per-file reject handling: count, keep a few samples, forward to the caller's sink."""

    __slots__ = ("file", "sink", "stats")

    def __init__(self, file: str, stats: FileStats, sink: RejectSink | None) -> None:
        self.file, self.stats, self.sink = file, stats, sink

    def __call__(self, line: int, reason: str, raw: str, sheet: str = "") -> None:
        stats = self.stats
        stats.rejected += 1
        stats.reasons[_reason_kind(reason)] += 1  # the Chinese head names the kind of problem
        if len(raw) > RAW_LIMIT:
            raw = raw[:RAW_LIMIT] + "…"
        reject = Reject(self.file, line, reason, raw, sheet)
        if len(stats.samples) < SAMPLE_REJECTS:
            stats.samples.append(reject)
        if self.sink is not None:
            self.sink(reject)


# --- row conversion ---------------------------------------------------------------------------

# Only str/None keys: a JSON true/1 must not hit the "1" entry by hash equality (it doesn't: 1 != "1").
_BOOL_FAST: dict[object, bool] = {None: False, "": False, "0": False, "1": True, "false": False, "true": True,
                                  "False": False, "True": True, "否": False, "是": True, "N": False, "Y": True}


class _Converter:
    """Turns one row (a list of cells, in file column order) into a record or a CellError."""

    def __init__(self, columns: Mapping[str, int], width: int, *, platform: str | None, shop: str | None,
                 source_prefix: str) -> None:
        # Absent columns read a None appended at index `width`.
        self.width = width
        self.get = itemgetter(*(columns.get(f, width) for f in CANONICAL_FIELDS))
        self.platform = platform
        self.shop = shop or ""
        self.prefix = source_prefix + ":"
        # Repeated values (shop, agent, buyer, conversation id, timestamp) share one object: less
        # memory while conversations are held, and a dict hit instead of a parse for times.
        self.names: dict[str, str] = {}
        self.times: dict[str, dt.datetime] = {}

    def __call__(self, row: list[Any], line: int) -> Record:
        (cid, platform, shop, agent, buyer, role, sent, text, quick, auto, reported, otime,
         paid) = self.get(row)
        names = self.names
        if len(names) > _CACHE_LIMIT:
            names.clear()

        cid = cid.strip() if type(cid) is str else cell_text(cid)
        if not cid:
            raise CellError("会话ID为空 empty conversation_id")
        # Fast paths are plain dict lookups; anything unusual falls through to the full parsers.
        # (An unhashable JSON value raises TypeError here, which the caller turns into a reject.)
        platform = PLATFORM_ALIASES.get(platform) or parse_platform(platform, self.platform)
        shop = shop.strip() if type(shop) is str else cell_text(shop)
        if not shop:
            if not self.shop:
                raise CellError("店铺为空 empty shop")
            shop = self.shop
        agent = agent.strip() if type(agent) is str else cell_text(agent)
        buyer = buyer.strip() if type(buyer) is str else cell_text(buyer)
        role, implied_auto = ROLE_ALIASES.get(role) or parse_role(role)
        times = self.times
        when = times.get(sent)
        if when is None:
            if len(times) > _CACHE_LIMIT:
                times.clear()
            when = times[sent] = parse_time(sent, "sent_at")
        text = text.strip() if type(text) is str else cell_text(text)
        if not text:
            raise CellError("消息内容为空 empty text")
        b = _BOOL_FAST.get(quick)
        quick = parse_bool(quick, "quick_reply") if b is None else b
        b = _BOOL_FAST.get(auto)
        auto = (parse_bool(auto, "auto_reply") if b is None else b) or implied_auto
        b = _BOOL_FAST.get(reported)
        reported = parse_bool(reported, "buyer_reported") if b is None else b
        if otime is None or otime == "":
            otime = None
        else:  # order times repeat on every message of an order: cache like sent times
            key = ("order", otime) if type(otime) is str else None
            cached = times.get(key) if key is not None else None
            if cached is None:
                cached = parse_time(otime, "order_time", need_clock=False)
                if key is not None:
                    times[key] = cached
            otime = cached
        paid = None if paid is None or paid == "" else parse_amount(paid)
        intern = names.setdefault
        # A record: the Message field values in MESSAGE_FIELDS order (see conversation.assemble).
        return (intern(cid, cid), platform, intern(shop, shop), intern(agent, agent), intern(buyer, buyer),
                role, when, text, quick, auto, reported, otime, paid, self.prefix + str(line))


def _exc_name(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text[:80]}" if text else name


def _reason(exc: Exception) -> str:
    if isinstance(exc, CellError):
        return str(exc)
    return f"值类型无效 invalid cell value: {exc}"


def _is_blank(row: Iterable[Any]) -> bool:
    return all(cell is None or (type(cell) is str and not cell.strip()) for cell in row)


def _raw_cells(row: Iterable[Any]) -> str:
    return "\t".join(cell_text(c) for c in row)


# --- encodings and lines ----------------------------------------------------------------------

_GB_FAMILY = {"gb18030", "gbk", "gb2312", "cp936", "hz", "hz_gb_2312", "gb_2312", "euc_cn", "ms936"}


def sniff_encoding(sample: bytes) -> str:
    """Pick the codec of a text export from a prefix of it.

    UTF-8 (with or without BOM) is checked strictly first; otherwise charset-normalizer decides,
    and any GB-family answer (or none) becomes gb18030, the superset of gb2312 and gbk, so
    characters outside gbk still decode.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ColumnError("不支持 UTF-16 编码，请另存为 UTF-8 或 GBK 的 CSV；UTF-16 exports are not supported")
    cut = sample.rfind(b"\n") + 1 or len(sample)
    sample = sample[:cut]
    if sample.isascii():
        return "utf-8"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    # Mostly UTF-8 with a few broken lines stays UTF-8 (the broken lines become rejects): Chinese
    # text in GBK practically never happens to be valid UTF-8 as well.
    valid = invalid = 0
    for line in sample.split(b"\n"):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            valid += 1
        except UnicodeDecodeError:
            invalid += 1
    if valid > invalid:
        return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:262_144]).best()
    guess = best.encoding.lower() if best is not None else None
    if guess is None or guess in _GB_FAMILY:
        return "gb18030"
    if guess.startswith("big5") or guess == "cp950":
        return "big5hkscs"
    try:
        sample.decode("gb18030")
    except UnicodeDecodeError:
        return guess
    # Chinese shop exports that are not UTF-8 are GBK in practice; charset-normalizer sometimes
    # names a single-byte code page for short samples that gb18030 decodes cleanly.
    return "gb18030"


def _read_sample(fh: io.BufferedReader, limit: int = 8 * CHUNK_SIZE) -> bytes:
    """The first MiB, or — for an ASCII-only start — the MiB where the first non-ASCII byte is."""
    head = fh.read(CHUNK_SIZE)
    if head.isascii() and len(head) == CHUNK_SIZE:
        while fh.tell() < limit:
            chunk = fh.read(CHUNK_SIZE)
            if not chunk:
                break
            if not chunk.isascii():
                start = chunk.find(b"\n") + 1
                head = head[:1024] + b"\n" + chunk[start:]
                break
    fh.seek(0)
    return head


# Two UTF-8 encoded CJK characters in a row: where a GB18030 file may hold a line written as UTF-8.
# (unrolled: six times faster than a repeated group on GB18030 bytes)
_UTF8_CJK_RUN = re.compile(rb"[\xe3-\xe9][\x80-\xbf][\x80-\xbf][\xe3-\xe9][\x80-\xbf][\x80-\xbf]")


def _utf8_lines(data: bytes, first_line: int, mixed: set[int]) -> None:
    """Add to `mixed` the numbers of the lines of `data` (a GB18030 file's bytes, whole lines,
    the first numbered `first_line`) that are valid UTF-8 with CJK text: UTF-8 rows pasted into a
    GBK export, which GB18030 would decode as mojibake (加我微信 → 鍔犳垜寰…) instead of failing.
    Chinese GBK text practically never is valid UTF-8 too."""
    pos = counted = 0
    lineno = first_line
    search = _UTF8_CJK_RUN.search
    while True:
        m = search(data, pos)
        if m is None:
            return
        start = data.rfind(b"\n", 0, m.start()) + 1
        stop = data.find(b"\n", m.end())
        stop = len(data) if stop < 0 else stop
        lineno += data.count(b"\n", counted, start)
        counted = start
        try:
            data[start:stop].decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            mixed.add(lineno)
        pos = stop + 1


def _decoded_lines(fh: io.BufferedReader, codec: str, bad: set[int], advance: Callable[[int], None],
                   mixed: set[int] | None = None, first_line: int = 1, limit: int | None = None) -> Iterator[str]:
    """Lines (with their '\\n') of a binary file, decoded chunk-wise.

    A line that does not decode is yielded with its bad bytes escaped (\\xNN) and its 1-based number
    added to `bad`, so the row that contains it is rejected instead of crashing the import. With
    `mixed` (GB18030 files), lines that are UTF-8 instead are numbered there (see `_utf8_lines`).
    The parallel reader starts at a line boundary inside the file: `first_line` is the number of the
    line there, and `limit` the bytes to read (its span ends on a line boundary too). Every check is
    line-local, so a span reads each of its lines exactly as a pass over the whole file does.
    """
    lineno = first_line - 1
    tail = b""
    while True:
        if limit is None:
            chunk = fh.read(CHUNK_SIZE)
        elif limit > 0:
            chunk = fh.read(min(CHUNK_SIZE, limit))
            limit -= len(chunk)
        else:
            chunk = b""
        if chunk:
            advance(len(chunk))
            data = tail + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if len(data) < MAX_LINE_BYTES:
                    tail = data
                    continue
                cut = len(data)  # no newline for MAX_LINE_BYTES: not a line-based file; don't hoard it
            tail, data = data[cut:], data[:cut]
        else:
            data, tail = tail, b""
            if not data:
                return
        if mixed is not None and not data.isascii():
            _utf8_lines(data, lineno + 1, mixed)
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            pieces = data.split(b"\n")
            last = len(pieces) - 1
            for i, piece in enumerate(pieces):
                if i == last:
                    if not piece:
                        break
                else:
                    piece += b"\n"
                lineno += 1
                try:
                    yield piece.decode(codec)
                except UnicodeDecodeError:
                    bad.add(lineno)
                    yield piece.decode(codec, "backslashreplace")
        else:
            lineno += text.count("\n") + (0 if text.endswith("\n") else 1)
            yield from io.StringIO(text, newline="\n")


def _open_text(path: Path, encoding: str | None, stats: FileStats) -> tuple[io.BufferedReader, str]:
    fh = path.open("rb")
    try:
        sample = _read_sample(fh)
        if b"\x00" in sample[:65536] and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ColumnError(f"{path}: 不是文本文件（含二进制数据）", "not a text file (binary data)")
        codec = encoding or sniff_encoding(sample)
        if codec.replace("_", "-").lower() in ("utf-8-sig", "utf8-sig") or sample.startswith(codecs.BOM_UTF8):
            if sample.startswith(codecs.BOM_UTF8):
                fh.seek(3)
                stats.bytes_read += 3
            codec = "utf-8"
        if codecs.lookup(codec).name in _GB_FAMILY:
            codec = "gb18030"  # superset of gbk/gb2312: also decodes what those cannot
    except BaseException:
        fh.close()
        raise
    stats.encoding = "utf-8-sig" if fh.tell() == 3 else codec
    return fh, codec


def detect_format(path: Path) -> str:
    fmt = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if fmt is not None:
        return fmt
    with path.open("rb") as fh:
        head = fh.read(64).lstrip(codecs.BOM_UTF8).lstrip()
    if head.startswith(b"PK"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"{"):
        return "jsonl"
    return "csv"


def _choose_delimiter(path: Path, first_line: str) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


# --- header detection ---------------------------------------------------------------------------


@dataclass
class _Header:
    columns: dict[str, int]
    ignored: list[str]
    line: int
    width: int


def _find_header(rows: Iterator[tuple[int, list[Any]]], mapping: dict[str, str], *, has_platform: bool,
                 has_shop: bool, stats: FileStats, where: str) -> _Header | None:
    """Consume rows up to and including the header: the first row mapping every required field.

    Title lines above it (导出时间…, 店铺…) are counted as preamble. None when the first
    HEADER_SCAN_ROWS non-blank rows hold no header (the caller decides whether that is fatal).
    """
    first: tuple[list[Any], list[str]] | None = None
    seen = 0
    for line, cells in rows:
        if _is_blank(cells):
            stats.blank += 1
            continue
        columns, ignored = resolve_header(cells, mapping)
        missing = missing_fields(columns, has_platform=has_platform, has_shop=has_shop)
        if not missing:
            stats.preamble += seen
            return _Header(columns, ignored, line, len(cells))
        if first is None:
            first = (cells, missing)
        seen += 1
        if seen >= HEADER_SCAN_ROWS:
            break
    if first is None:
        return None
    cells, missing = first
    names = "、".join(f"{FIELD_NAMES_ZH[f]}({f})" for f in missing)
    preview = preview_text(_raw_cells(cells))
    raise ColumnError(
        f"{where}: 找不到表头，缺少必需列 {names}；首行为 {preview}。"
        f"可用 --map 指定列名对应关系（如 --map 聊天记录=text），或用 --platform/--shop 提供平台/店铺默认值。",
        f"no header row with the required columns ({', '.join(missing)}) in the first {HEADER_SCAN_ROWS} rows; "
        f"first row: {preview}. Map your column names with --map (e.g. --map 聊天记录=text) "
        f"or give --platform/--shop defaults.",
    )


PREVIEW_CHARS = 80


def preview_text(text: str, limit: int = PREVIEW_CHARS) -> str:
    """A quoted excerpt for a message: at most `limit` characters, control and undecodable
    characters escaped, personal data masked — never a dump of a binary file."""
    out: list[str] = []
    size = 0
    masked = mask_text(text[:limit])
    for i, ch in enumerate(masked):
        piece = ch if ch.isprintable() else ascii(ch)[1:-1]
        if size + len(piece) > limit:
            masked = masked[:i]
            break
        out.append(piece)
        size += len(piece)
    more = len(text) > len(masked)
    return f"「{''.join(out)}{'…' if more else ''}」"


# --- readers ------------------------------------------------------------------------------------


def _open_file(path, platform, shop, mapping, encoding, rejects, stats):
    """What reading one file (or one span of it) starts with: its stats entry, format, options
    and reject sink; shared by `read_messages` and the span reader."""
    path = Path(path)
    stats = stats if stats is not None else ImportStats()
    fstats = stats.add_file(path)
    fmt = detect_format(path)
    fstats.format = fmt
    options = _Options(
        platform=canonical_platform(platform), shop=(shop or "").strip() or None,
        mapping=check_mapping(mapping), encoding=encoding,
    )
    return path, stats, fstats, fmt, options, _Rejects(str(path), fstats, rejects)


def read_messages(
    path: str | os.PathLike[str],
    *,
    platform: str | None = None,
    shop: str | None = None,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    rejects: RejectSink | None = None,
    stats: ImportStats | None = None,
) -> MessageStream:
    """Stream the messages of one export file (format from the suffix, encoding sniffed).

    `platform`/`shop` fill rows whose column is missing or blank; `mapping` maps the file's own
    column names to canonical fields ({'聊天记录': 'text'}); `encoding` overrides sniffing. Each
    bad row goes to `rejects`; counts go to `stats` (pass one to read them afterwards).
    Raises ColumnError before yielding anything if the file has no usable header.
    """
    path, stats, fstats, fmt, options, sink = _open_file(path, platform, shop, mapping, encoding, rejects, stats)
    if fmt == "xlsx":
        return _read_xlsx(path, options, stats, fstats, sink)
    if fmt == "parquet":
        return _read_parquet(path, options, stats, fstats, sink)
    if fmt == "jsonl":
        return _read_jsonl(path, options, stats, fstats, sink)
    return _read_csv(path, options, stats, fstats, sink)


@dataclass(frozen=True)
class Span:
    """A part of one file for the parallel reader (`kefuguard.io.parallel_read`).

    Text files: bytes [start, end) starting on a line boundary, the line there numbered
    `first_line`. A CSV span reads every record that *starts* before `stop_line` (the next span's
    first line), whole, even when its quoted field runs past; `skip` lines at `start` are passed over
    when the previous span's last record turned out to cover them (a re-read). `start == 0` reads
    from the file's start as `read_messages` does (BOM, header). Parquet: the row groups
    `row_groups`, whose first row is row `first_line`. XLSX: always the whole workbook.
    """

    start: int = 0
    end: int | None = None
    first_line: int = 1
    stop_line: int | None = None
    skip: int = 0
    codec: str | None = None
    encoding_label: str = ""
    delimiter: str = ","
    header: _Header | None = None
    row_groups: tuple[int, ...] | None = None


class SpanEnd:
    """Filled while a CSV span is read: the last physical line its records consumed."""

    __slots__ = ("line",)

    def __init__(self) -> None:
        self.line: int | None = None


def read_span(
    path: str | os.PathLike[str],
    span: Span,
    *,
    platform: str | None = None,
    shop: str | None = None,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    rejects: RejectSink | None = None,
    stats: ImportStats | None = None,
) -> tuple[MessageStream, SpanEnd]:
    """Stream the messages of one span of a file (see `Span`); row for row what `read_messages`
    yields for those lines, with the same line numbers, rejects and counts."""
    path, stats, fstats, fmt, options, sink = _open_file(path, platform, shop, mapping, encoding, rejects, stats)
    end = SpanEnd()
    if fmt == "xlsx":
        return _read_xlsx(path, options, stats, fstats, sink), end
    if fmt == "parquet":
        return _read_parquet(path, options, stats, fstats, sink, span.row_groups, span.first_line), end
    if span.start == 0 and span.skip == 0:
        if fmt == "jsonl":
            return _read_jsonl(path, options, stats, fstats, sink, end=span.end), end
        return _read_csv(path, options, stats, fstats, sink, stop_line=span.stop_line, span_end=end), end
    if span.codec is None or (fmt == "csv" and span.header is None):
        raise ValueError("a span inside a file needs the codec (and a CSV file's header) from the planner")
    fh = path.open("rb")
    fh.seek(span.start)
    codec = span.codec
    fstats.encoding = span.encoding_label or codec
    where = str(path)
    limit = None if span.end is None else span.end - span.start
    advance = (lambda k: stats.advance(fstats, k))  # noqa: E731
    if fmt == "jsonl":
        stats.register_source(where, fstats)
        return MessageStream(_jsonl_rows(fh, codec, options, stats, fstats, sink, where, first_line=span.first_line,
                                         limit=limit), fh.close), end
    bad: set[int] = set()
    mixed: set[int] = set()
    lines = _decoded_lines(fh, codec, bad, advance, mixed if codec == "gb18030" else None, span.first_line)
    for _ in range(span.skip):
        if next(lines, None) is None:
            break
    source = _LineSource(lines)
    source.lineno = span.first_line - 1 + span.skip
    reader = csv.reader(source, delimiter=span.delimiter)
    assert span.header is not None
    f = _CsvFile(reader, source, span.header, span.delimiter, bad, mixed, where)
    return MessageStream(_csv_rows(fh, f, options, stats, fstats, sink, stop_line=span.stop_line, span_end=end),
                         fh.close), end


class MessageStream:
    """The messages of one file. `close()` releases the file even if iteration never started.

    `records` iterates the same rows as plain field tuples (what the assembler consumes). `info`
    holds what the parallel reader's planner needs to know about the file (codec, CSV header and
    delimiter, Parquet row groups), read while the header was checked.
    """

    def __init__(self, records: Iterator[Record], release: Callable[[], None],
                 info: dict[str, Any] | None = None) -> None:
        self.records = records
        self._messages = map(record_message, records)
        self._release = release
        self.info = info or {}

    def __iter__(self) -> Iterator[Message]:
        return self._messages

    def __next__(self) -> Message:
        return next(self._messages)

    def close(self) -> None:
        self.records.close()  # type: ignore[attr-defined]
        self._release()

    def __enter__(self) -> MessageStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class _Options:
    platform: str | None
    shop: str | None
    mapping: dict[str, str]
    encoding: str | None


class _RecordTooLong(csv.Error):
    """A CSV record has consumed more than MAX_RECORD_LINES physical lines: a broken quote."""


class _LineSource:
    """The physical lines a csv.reader consumes, numbered, with the current record's lines kept
    (`pending`) and a push-back stack: after a broken quote the lines it swallowed are read again."""

    __slots__ = ("back", "it", "limit", "lineno", "pending")

    def __init__(self, lines: Iterator[str]) -> None:
        self.it = lines
        self.back: list[str] = []  # last line first
        self.pending: list[str] = []
        self.lineno = 0  # physical number of the last line handed out
        self.limit = MAX_RECORD_LINES

    def __iter__(self) -> _LineSource:
        return self

    def __next__(self) -> str:
        line = self.back.pop() if self.back else next(self.it)
        self.lineno += 1
        pending = self.pending
        pending.append(line)
        if len(pending) > self.limit:
            raise _RecordTooLong(f"record spans more than {self.limit} lines")
        return line

    def push_back(self, lines: list[str]) -> None:
        self.back.extend(reversed(lines))
        self.lineno -= len(lines)


def _read_csv(path: Path, opt: _Options, stats: ImportStats, fstats: FileStats, reject: _Rejects,
              stop_line: int | None = None, span_end: SpanEnd | None = None) -> MessageStream:
    fh, codec = _open_text(path, opt.encoding, fstats)
    bad: set[int] = set()
    mixed: set[int] = set()

    def advance(n: int) -> None:
        stats.advance(fstats, n)

    lines = _decoded_lines(fh, codec, bad, advance, mixed if codec == "gb18030" else None)
    # Peek the first non-blank line to choose the delimiter (exports also come tab-separated).
    head: list[str] = []
    for line in lines:
        head.append(line)
        if line.strip():
            break
    delimiter = _choose_delimiter(path, head[-1] if head else "")
    source = _LineSource(chain(head, lines))
    reader = csv.reader(source, delimiter=delimiter)
    where = str(path)

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        end = 0
        source.pending.clear()
        for row in reader:
            start, end = end + 1, source.lineno
            yield start, row
            source.pending.clear()

    try:
        header = _find_header(numbered(), opt.mapping, has_platform=opt.platform is not None,
                              has_shop=opt.shop is not None, stats=fstats, where=where)
    except csv.Error as exc:
        fh.close()
        raise ColumnError(f"{where}: 表头无法解析：{exc}", f"unreadable header: {exc}") from None
    except BaseException:
        fh.close()
        raise
    if header is None:
        fh.close()
        raise ColumnError(f"{where}: 文件为空（没有表头行）", "empty file (no header row)")
    csv_file = _CsvFile(reader, source, header, delimiter, bad, mixed, where)
    info = {"codec": codec, "delimiter": delimiter, "header": header, "data_line": source.lineno + 1}
    kwargs: dict[str, Any] = {}
    if stop_line is not None or span_end is not None:  # only then: tests wrap _csv_rows with the plain arguments
        kwargs = {"stop_line": stop_line, "span_end": span_end}
    return MessageStream(_csv_rows(fh, csv_file, opt, stats, fstats, reject, **kwargs), fh.close, info)


@dataclass
class _CsvFile:
    reader: Any
    source: _LineSource
    header: _Header
    delimiter: str
    bad: set[int]
    mixed: set[int]
    where: str


def _field_names(header: _Header) -> dict[int, str]:
    return {index: f"{FIELD_NAMES_ZH[f]}({f})" for f, index in header.columns.items()}


def _looks_like_row(line: str, delimiter: str, header: _Header) -> bool:
    """Whether one physical line is, on its own, a complete data row (width cells, a valid sent_at)."""
    if delimiter not in line:
        return False
    try:
        cells = next(csv.reader((line,), delimiter=delimiter))
    except (csv.Error, StopIteration):
        return False
    width = header.width
    if len(cells) < width or (len(cells) > width and not _is_blank(cells[width:])):
        return False
    try:
        parse_time(cells[header.columns["sent_at"]], "sent_at")
    except (CellError, TypeError, KeyError, IndexError):
        return False
    return True


def _broken_quote(f: _CsvFile, row: list[Any] | None) -> tuple[str, str] | None:
    """(zh, en) reason when the record just read is a broken quote, else None."""
    lines = f.source.pending
    n = len(lines)
    if n <= 1:
        return None
    rowlike = next((i for i in range(1, n) if _looks_like_row(lines[i], f.delimiter, f.header)), None)
    if row is not None and n <= MAX_RECORD_LINES and rowlike is None:
        return None  # an ordinary multi-line message
    names = _field_names(f.header)
    if row is None:  # the record never ended: the field the first line leaves open is its last cell
        try:
            index: int | None = len(next(csv.reader((lines[0],), delimiter=f.delimiter))) - 1
        except (csv.Error, StopIteration):
            index = None
    else:
        index = next((i for i, cell in enumerate(row) if "\n" in cell or "\r" in cell), None)
    field = names.get(index, f"第 {index + 1} 列" if index is not None else "某个")
    where = f"其后第 {rowlike} 行是一条完整数据行" if rowlike is not None else f"跨越 {n} 行"
    return (f"引号未闭合：{field}字段的引号到行尾没有闭合，{where}；只拒收此行，下一行起重新读取",
            f"broken quote: a quoted field never closes ({'holds whole rows' if rowlike else f'{n} lines'}); "
            "only this line rejected, reading resumes on the next line")


def _csv_rows(fh: io.BufferedReader, f: _CsvFile, opt: _Options, stats: ImportStats, fstats: FileStats,
              reject: _Rejects, stop_line: int | None = None, span_end: SpanEnd | None = None) -> Iterator[Record]:
    """The data rows of a CSV file. With `stop_line` (the parallel reader), stop before the record
    that would start on that line or later: a record that starts earlier is read whole, however
    far past it its quoted field runs; `span_end.line` gets the last line consumed."""
    reader, source, header, bad, mixed, where = f.reader, f.source, f.header, f.bad, f.mixed, f.where
    pending = source.pending
    fstats.ignored_columns = header.ignored
    stats.register_source(where, fstats)
    width = header.width
    convert = _Converter(header.columns, width, platform=opt.platform, shop=opt.shop, source_prefix=where)
    end = source.lineno
    stop = stop_line if stop_line is not None else float("inf")
    try:
        while True:
            if end + 1 >= stop:
                break
            pending.clear()
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                start = end + 1
                fstats.read += 1
                broken = _broken_quote(f, None) if len(pending) > 1 else None
                if broken is not None:
                    reject(start, f"{broken[0]} {broken[1]}", pending[0].rstrip("\r\n"))
                    source.push_back(pending[1:])
                else:
                    reject(start, f"格式错误(CSV) malformed CSV: {exc}", "".join(pending))
                end = source.lineno
                continue
            start, end = end + 1, source.lineno
            if end > start:
                broken = _broken_quote(f, row)
                if broken is not None:
                    fstats.read += 1
                    reject(start, f"{broken[0]} {broken[1]}", pending[0].rstrip("\r\n"))
                    source.push_back(pending[1:])
                    end = source.lineno
                    continue
            if not any(row):  # all cells empty (a row of mere spaces is read, and rejected)
                fstats.blank += 1
                continue
            fstats.read += 1
            if bad and not bad.isdisjoint(range(start, end + 1)):
                reject(start, f"编码错误(无法按{fstats.encoding}解码) undecodable bytes for {fstats.encoding}",
                       "".join(pending).rstrip("\r\n"))
                continue
            if mixed and not mixed.isdisjoint(range(start, end + 1)):
                reject(start, f"编码混杂(此行是UTF-8，文件其余部分按{fstats.encoding}读取) mixed encoding: "
                       f"a UTF-8 line in a {fstats.encoding} file", "".join(pending).rstrip("\r\n"))
                continue
            if len(row) != width:
                if len(row) < width or not _is_blank(row[width:]):
                    reject(start, f"列数不符(应为 {width} 列，实际 {len(row)} 列) wrong column count: expected {width}, got {len(row)}",
                           "".join(pending).rstrip("\r\n"))
                    continue
                del row[width:]
            row.append(None)
            try:
                message = convert(row, start)
            except (CellError, TypeError) as exc:
                reject(start, _reason(exc), "".join(pending).rstrip("\r\n"))
                continue
            fstats.parsed += 1
            yield message
    finally:
        if span_end is not None:
            span_end.line = end
        fh.close()


def _read_jsonl(path: Path, opt: _Options, stats: ImportStats, fstats: FileStats, reject: _Rejects,
                end: int | None = None) -> MessageStream:
    fh, codec = _open_text(path, opt.encoding, fstats)
    where = str(path)
    start = fh.tell()
    head = fh.read(4096).lstrip()
    fh.seek(start)
    if head.startswith(b"["):
        fh.close()
        raise ColumnError(f"{where}: 这是 JSON 数组，请导出为每行一个对象的 JSONL",
                          "a JSON array cannot be streamed, export JSON Lines (one object per line)")
    stats.register_source(where, fstats)
    limit = None if end is None else max(0, end - start)
    return MessageStream(_jsonl_rows(fh, codec, opt, stats, fstats, reject, where, limit=limit), fh.close,
                         {"codec": codec, "data_start": start})


def _jsonl_rows(fh: io.BufferedReader, codec: str, opt: _Options, stats: ImportStats, fstats: FileStats,
                reject: _Rejects, where: str, first_line: int = 1, limit: int | None = None) -> Iterator[Record]:
    bad: set[int] = set()
    mixed: set[int] = set()
    # One converter per distinct key order: the row is then simply the object's values.
    converters: dict[tuple[str, ...], _Converter] = {}
    ignored: dict[str, None] = {}
    scan = json.JSONDecoder().scan_once  # the C scanner, without raw_decode's Python wrapper
    lines = _decoded_lines(fh, codec, bad, lambda k: stats.advance(fstats, k),
                           mixed if codec == "gb18030" else None, first_line, limit)
    try:
        for lineno, line in enumerate(lines, first_line):
            if line.isspace() or not line:
                fstats.blank += 1
                continue
            fstats.read += 1
            if bad and lineno in bad:
                reject(lineno, f"编码错误(无法按{fstats.encoding}解码) undecodable bytes for {fstats.encoding}",
                       line.strip())
                continue
            if mixed and lineno in mixed:
                reject(lineno, f"编码混杂(此行是UTF-8，文件其余部分按{fstats.encoding}读取) mixed encoding: "
                       f"a UTF-8 line in a {fstats.encoding} file", line.strip())
                continue
            try:
                try:
                    obj, end = scan(line, 0)
                except StopIteration:  # leading whitespace (or no value at all)
                    line = line.strip()
                    obj, end = scan(line, 0)
                if end != len(line) and not line[end:].isspace():
                    raise ValueError(f"extra data after the object (char {end})")
            except StopIteration as exc:
                reject(lineno, f"格式错误(JSON) malformed JSON: expecting value (char {exc.value})", line)
                continue
            except ValueError as exc:
                reject(lineno, f"格式错误(JSON) malformed JSON: {exc}", line.strip())
                continue
            except RecursionError:
                reject(lineno, "格式错误(JSON嵌套过深) malformed JSON: nested too deeply", line.strip())
                continue
            if type(obj) is not dict:
                reject(lineno, f"非JSON对象 not a JSON object: {type(obj).__name__}", line.strip())
                continue
            if "\\u" in line and _ESCAPED_SURROGATE.search(line):
                field = _lone_surrogate(obj)
                if field is not None:
                    reject(lineno, f"无效字符(字段「{field}」含孤立的 UTF-16 代理项) invalid text: lone surrogate "
                           f"in field {field}", line.strip())
                    continue
            keys = tuple(obj)
            convert = converters.get(keys)
            if convert is None:
                columns, extra = resolve_header(keys, opt.mapping)
                convert = _Converter(columns, len(keys), platform=opt.platform, shop=opt.shop,
                                     source_prefix=where)
                for name in extra:
                    if len(ignored) < 100:
                        ignored.setdefault(name, None)
                fstats.ignored_columns = list(ignored)
                if len(converters) < 1000:
                    converters[keys] = convert
            row = list(obj.values())
            row.append(None)
            try:
                message = convert(row, lineno)
            except (CellError, TypeError) as exc:
                reject(lineno, _reason(exc), line.strip())
                continue
            fstats.parsed += 1
            yield message
    finally:
        fh.close()


_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(obj: dict[str, Any]) -> str | None:
    """The first key (or key of a value) holding a lone surrogate ("\\ud800" in JSON), which no
    output can encode; None when every string is valid Unicode (a \\ud83d\\ude00 pair is)."""
    for key, value in obj.items():
        if _SURROGATE.search(key):
            return ascii(key)
        if isinstance(value, str) and _SURROGATE.search(value):
            return key
        if isinstance(value, dict | list):
            try:
                if _SURROGATE.search(json.dumps(value, ensure_ascii=False)):
                    return key
            except (RecursionError, ValueError):
                return key
    return None


def _formula_sheet_class() -> type:
    """openpyxl's read-only worksheet, noting formula cells that have no cached value.

    With data_only=True openpyxl reads such a cell as None — indistinguishable from an empty cell,
    so a workbook saved by a tool that never calculated would be rejected as "empty text". This
    subclass records them per row (`formulas_without_value`: {row: [(column, formula)]}) so the
    row is rejected with the real reason. Same code path as openpyxl 3.1's _cells_by_row (pinned).
    """
    global _FORMULA_SHEET
    if _FORMULA_SHEET is not None:
        return _FORMULA_SHEET
    from openpyxl.cell.read_only import EMPTY_CELL
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class _Parser(WorkSheetParser):
        missing: dict[int, list[tuple[int, str]]]

        def parse_cell(self, element: Any) -> dict[str, Any]:
            cell = super().parse_cell(element)
            if cell["value"] is None and self.data_only:
                formula = element.findtext(FORMULA_TAG)
                if formula is not None:
                    self.missing.setdefault(cell["row"], []).append((cell["column"], "=" + formula))
            return cell

    class FormulaSheet(ReadOnlyWorksheet):
        formulas_without_value: dict[int, list[tuple[int, str]]]

        def _cells_by_row(self, min_col, min_row, max_col, max_row, values_only=False):
            filler = None if values_only else EMPTY_CELL
            max_col = max_col or self.max_column
            max_row = max_row or self.max_row
            empty_row: tuple = ()
            if max_col is not None:
                empty_row = (filler,) * (max_col + 1 - min_col)
            counter = min_row
            idx = 1
            with self._get_source() as src:
                parser = _Parser(src, self._shared_strings, data_only=self.parent.data_only,
                                 epoch=self.parent.epoch, date_formats=self.parent._date_formats,
                                 timedelta_formats=self.parent._timedelta_formats)
                parser.missing = self.formulas_without_value = {}
                for idx, row in parser.parse():
                    if max_row is not None and idx > max_row:
                        break
                    for _ in range(counter, idx):
                        counter += 1
                        yield empty_row
                    if counter <= idx:
                        yield self._get_row(row, min_col, max_col, values_only)
                        counter += 1
            if max_row is not None and max_row < idx:
                for _ in range(counter, max_row + 1):
                    yield empty_row

    _FORMULA_SHEET = FormulaSheet
    return FormulaSheet


_FORMULA_SHEET: type | None = None


def _read_xlsx(path: Path, opt: _Options, stats: ImportStats, fstats: FileStats, reject: _Rejects
               ) -> MessageStream:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # BadZipFile, KeyError (a missing part), XML errors: a damaged workbook
        raise ColumnError(f"{path}: 不是有效的 Excel 工作簿（文件损坏或不完整：{_exc_name(exc)}）",
                          f"not a valid .xlsx workbook (damaged or incomplete: {_exc_name(exc)})") from None
    fstats.encoding = "xlsx"
    first_error: ColumnError | None = None
    sheet_class = _formula_sheet_class()
    try:
        sheets = []
        for ws in wb.worksheets:
            if type(ws).__name__ == "ReadOnlyWorksheet":
                ws.__class__ = sheet_class
                ws.formulas_without_value = {}
            total_rows = ws.max_row if isinstance(ws.max_row, int) else None
            # Some exporters write a wrong <dimension>; read-only mode would truncate to it.
            ws.reset_dimensions()
            rows = enumerate(ws.iter_rows(min_row=1, values_only=True), 1)
            try:
                header = _find_header(rows, opt.mapping, has_platform=opt.platform is not None,
                                      has_shop=opt.shop is not None, stats=fstats, where=f"{path}[{ws.title}]")
            except ColumnError as exc:
                # A notes/summary sheet next to the data: listed in the stats, not imported.
                first_error = first_error or exc
                header = None
            if header is None:
                fstats.skipped_sheets.append(ws.title)
                continue
            sheets.append((ws, header, rows, total_rows))
        if not sheets:
            if first_error is not None:
                raise first_error
            raise ColumnError(f"{path}: 工作簿中没有含表头的工作表", "no sheet with a header row")
    except ColumnError:
        wb.close()
        raise
    except Exception as exc:
        wb.close()
        raise ColumnError(f"{path}: 不是有效的 Excel 工作簿（文件损坏或不完整：{_exc_name(exc)}）",
                          f"not a valid .xlsx workbook (damaged or incomplete: {_exc_name(exc)})") from None
    except BaseException:
        wb.close()
        raise
    return MessageStream(_xlsx_rows(wb, path, sheets, opt, stats, fstats, reject), wb.close)


def _xlsx_rows(wb: Any, path: Path, sheets: list[tuple[Any, _Header, Any, int | None]], opt: _Options,
               stats: ImportStats, fstats: FileStats, reject: _Rejects) -> Iterator[Record]:
    size = fstats.bytes_total
    done = 0.0
    share = 1.0 / len(sheets)
    try:
        for ws, header, rows, total_rows in sheets:
            where = f"{path}[{ws.title}]"
            stats.register_source(where, fstats)
            for name in header.ignored:
                if name not in fstats.ignored_columns:
                    fstats.ignored_columns.append(name)
            width = header.width
            convert = _Converter(header.columns, width, platform=opt.platform, shop=opt.shop,
                                 source_prefix=where)
            formulas = getattr(ws, "formulas_without_value", None)  # filled as rows are parsed
            names = _field_names(header)
            for line, cells in rows:
                if formulas and line in formulas:  # a mapped column holds a formula never calculated
                    used = [(c, f) for c, f in formulas[line] if c - 1 in names]
                    if used:
                        fstats.read += 1
                        col, formula = used[0]
                        reject(line, f"公式没有缓存值({names[col - 1]}: {formula[:80]})，请在 Excel 中打开并保存后再导出 "
                               f"formula cell without a cached value in {names[col - 1]}", _raw_cells(cells), ws.title)
                        continue
                if _is_blank(cells):
                    fstats.blank += 1
                    continue
                fstats.read += 1
                row = list(cells)
                if len(row) < width:
                    row.extend([None] * (width - len(row)))
                elif len(row) > width:
                    if not _is_blank(row[width:]):
                        reject(line, f"列数不符(应为 {width} 列，实际 {len(row)} 列) wrong column count: expected {width}, got {len(row)}",
                               _raw_cells(row), ws.title)
                        continue
                    del row[width:]
                row.append(None)
                try:
                    message = convert(row, line)
                except (CellError, TypeError) as exc:
                    reject(line, _reason(exc), _raw_cells(cells), ws.title)
                    continue
                fstats.parsed += 1
                yield message
                if total_rows and line % 2000 == 0:
                    target = int(size * (done + share * min(line / total_rows, 1.0)))
                    if target > fstats.bytes_read:
                        stats.advance(fstats, target - fstats.bytes_read)
            done += share
        stats.advance(fstats, max(0, size - fstats.bytes_read))
    finally:
        wb.close()


PARQUET_BATCH_ROWS = 16384


def _read_parquet(path: Path, opt: _Options, stats: ImportStats, fstats: FileStats, reject: _Rejects,
                  row_groups: tuple[int, ...] | None = None, first_row: int = 1) -> MessageStream:
    """A Parquet file (pyarrow): column names are the header (mapped like CSV headers, `--map`
    included); typed cells (timestamps, booleans, numbers) go through the same field checks. Rows
    are numbered from 1 (the first data row), in file order across row groups."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        names = [str(n) for n in pf.schema_arrow.names]
        sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)]
    except Exception as exc:  # ArrowInvalid, OSError: not Parquet, or a damaged file
        raise ColumnError(f"{path}: 不是有效的 Parquet 文件（文件损坏或不完整：{_exc_name(exc)}）",
                          f"not a valid Parquet file (damaged or incomplete: {_exc_name(exc)})") from None
    fstats.encoding = "parquet"
    try:
        header = _find_header(iter([(0, names)]), opt.mapping, has_platform=opt.platform is not None,
                              has_shop=opt.shop is not None, stats=fstats, where=str(path))
    except BaseException:
        _close_parquet(pf)
        raise
    if header is None:
        _close_parquet(pf)
        raise ColumnError(f"{path}: Parquet 文件没有列", "Parquet file without columns")
    groups = tuple(range(len(sizes))) if row_groups is None else tuple(row_groups)
    info = {"row_groups": sizes, "header": header}
    return MessageStream(_parquet_rows(pf, path, header, groups, sizes, first_row, opt, stats, fstats, reject),
                         lambda: _close_parquet(pf), info)


def _close_parquet(pf: Any) -> None:
    close = getattr(pf, "close", None)
    if close is not None:
        close()


def _parquet_rows(pf: Any, path: Path, header: _Header, groups: tuple[int, ...], sizes: list[int], first_row: int,
                  opt: _Options, stats: ImportStats, fstats: FileStats, reject: _Rejects) -> Iterator[Record]:
    where = str(path)
    stats.register_source(where, fstats)
    fstats.ignored_columns = header.ignored
    width = header.width
    convert = _Converter(header.columns, width, platform=opt.platform, shop=opt.shop, source_prefix=where)
    total = sum(sizes[g] for g in groups) or 1
    share = fstats.bytes_total * len(groups) / max(1, len(sizes))
    line = first_row - 1
    done = 0
    try:
        if groups:
            for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, row_groups=list(groups), use_threads=False):
                columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                for cells in zip(*columns, strict=True):
                    line += 1
                    if _is_blank(cells):
                        fstats.blank += 1
                        continue
                    fstats.read += 1
                    row = list(cells)
                    row.append(None)
                    try:
                        message = convert(row, line)
                    except (CellError, TypeError) as exc:
                        reject(line, _reason(exc), _raw_cells(cells))
                        continue
                    fstats.parsed += 1
                    yield message
                done += batch.num_rows
                target = int(share * min(done / total, 1.0))
                if target > fstats.bytes_read:
                    stats.advance(fstats, target - fstats.bytes_read)
    finally:
        _close_parquet(pf)


# --- whole imports ------------------------------------------------------------------------------


class InputNotFoundError(FileNotFoundError):
    """A file or folder named by the user does not exist."""

    def __init__(self, path: Path) -> None:
        self.zh, self.en = f"找不到文件或目录: {path}", f"file or folder not found: {path}"
        super().__init__(f"{self.zh} {self.en}")

    def text(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class _Input:
    path: Path
    in_folder: bool  # found by scanning a folder (not named by the user)


def _expand(paths: Iterable[str | os.PathLike[str]], stats: ImportStats,
            exclude: Iterable[str | os.PathLike[str]] = ()) -> list[_Input]:
    """The files to read. In a folder, files of other types (.bin, .md, …), Excel lock files and
    files that are (or lie under) a path of `exclude` (the audit's own outputs) are listed in
    `stats` as skipped, with the reason; a named file that does not exist is an error."""
    out: list[_Input] = []
    excluded = [Path(e).resolve() for e in exclude]
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for q in sorted(q for q in path.rglob("*") if q.is_file()):
                if excluded and any(q.resolve().is_relative_to(e) for e in excluded):
                    _skip(stats, q, "kefuguard 自己的输出文件", "one of kefuguard's own output files")
                elif q.name.startswith("~$"):
                    _skip(stats, q, "Excel 锁文件（工作簿正被打开）", "an Excel lock file (the workbook is open)")
                elif q.suffix.lower() in SUPPORTED_SUFFIXES:
                    out.append(_Input(q, True))
                else:
                    _skip(stats, q, f"不支持的文件类型（{q.suffix or '无扩展名'}）",
                          f"unsupported file type ({q.suffix or 'no extension'})")
        elif path.exists():
            out.append(_Input(path, False))
        else:
            raise InputNotFoundError(path)
    return out


def _skip(stats: ImportStats, path: Path, zh: str, en: str, status: str = "skipped") -> FileStats:
    fstats = stats.add_file(path)
    fstats.status, fstats.error, fstats.error_en = status, zh, en
    fstats.bytes_total = 0  # not read: the progress bar still ends at 100%
    fstats.format = fstats.format or SUPPORTED_SUFFIXES.get(path.suffix.lower(), "")
    return fstats


def _is_empty_text(path: Path) -> bool:
    """A text export holding nothing but whitespace (or a BOM): no header, no rows."""
    try:
        size = path.stat().st_size
        if size > CHUNK_SIZE:
            return False
        with path.open("rb") as fh:
            data = fh.read()
    except OSError:
        return False
    return not data.replace(codecs.BOM_UTF8, b"").strip()


def _file_error(exc: BaseException) -> tuple[str, str]:
    """(zh, en) of why a file cannot be read at all."""
    if isinstance(exc, ColumnError):
        return exc.zh, exc.en
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        return f"{exc.filename or ''}: 无法读取文件（{reason}）", f"cannot read the file ({reason})"
    return f"无法读取文件（{_exc_name(exc)}）", f"cannot read the file ({_exc_name(exc)})"


def _guarded(records: Iterator[Record], fstats: FileStats, sink: _Rejects) -> Iterator[Record]:
    """A file's records; a failure part-way (a truncated workbook, a read error) ends that file
    with one reject naming the line reached, and the other files are still read."""
    try:
        yield from records
    except Exception as exc:  # any reader failure: one bad file, never the audit
        zh, en = _file_error(exc)
        failed_part_way(fstats, sink, zh, en)


def import_logs(
    paths: Iterable[str | os.PathLike[str]],
    *,
    platform: str | None = None,
    shop: str | None = None,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    rejects: RejectSink | str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    spill_dir: str | os.PathLike[str] | None = None,
    raw: bool = False,
    mask_rejects: bool = True,
    exclude: Iterable[str | os.PathLike[str]] = (),
    rejects_lang: str | None = None,
) -> tuple[Iterator[Conversation], ImportStats]:
    """Import files (or folders of them) as conversations, with live statistics.

    Headers of every file are checked first, before any work is done. A file that cannot be read
    at all (no usable header, a damaged workbook, binary data) is listed in `stats` with
    status 'unreadable' and its reason, and written to the rejects as one record (line 0): it
    counts as read 1, rejected 1, so read = accepted + duplicates + rejected still holds, and
    the other files are read. Only when no file is readable at all is ColumnError raised. Files
    of other types found in a folder are listed as 'skipped'; empty text files as 'empty'
    (neither counts as a row). A bad mapping, platform or missing named file raises at once.
    `rejects` is a sink or a CSV path (written by RejectsWriter, masked unless `mask_rejects`
    is False, reasons in `rejects_lang` when given, closed when the iterator ends). `progress(bytes_read, bytes_total)` fires about
    once per MiB. Conversations come out as the assembler produces them (as `(key, records)`
    pairs with `raw`); `stats` is complete once the iterator is exhausted. Files in a folder
    that are (or lie under) a path of `exclude` (the audit's own outputs) are skipped.
    """
    stats = ImportStats(on_progress=progress)
    kwargs = {"platform": platform, "shop": shop, "mapping": mapping, "encoding": encoding}
    checked = check_inputs(paths, stats, exclude=exclude, **kwargs)
    readable = [item.path for item in checked.readable]
    unreadable = checked.unreadable

    def conversations() -> Iterator[Conversation]:
        writer = None
        sink: RejectSink | None
        if rejects is None or callable(rejects):
            sink = rejects
        else:
            writer = sink = RejectsWriter(rejects, mask=mask_rejects, lang=rejects_lang)
        try:
            for path, zh, en in unreadable:
                if sink is not None:
                    sink(unreadable_reject(path, zh, en))

            def records() -> Iterator[Record]:
                for p in readable:
                    fstats = stats.files[str(p)]
                    sink_for_file = _Rejects(str(p), fstats, sink)
                    stream = read_messages(p, rejects=sink, stats=stats, **kwargs)
                    yield from _guarded(stream.records, fstats, sink_for_file)

            yield from assemble_records(
                records(), stats=stats, spill_dir=spill_dir,
                memory_budget=memory_budget, raw=raw,
            )
            stats.finished = True
            stats.verify()
        finally:
            if writer is not None:
                writer.close()

    return conversations(), stats


@dataclass
class ReadableFile:
    """A file whose header checked out, with what its reader learned (`MessageStream.info`)."""

    path: Path
    format: str
    encoding: str
    info: dict[str, Any]


@dataclass
class CheckedInputs:
    readable: list[ReadableFile]
    unreadable: list[tuple[Path, str, str]]  # path, why (zh), why (en)


def check_inputs(
    paths: Iterable[str | os.PathLike[str]],
    stats: ImportStats,
    *,
    platform: str | None = None,
    shop: str | None = None,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
    exclude: Iterable[str | os.PathLike[str]] = (),
) -> CheckedInputs:
    """What `import_logs` does before reading a row (shared with the parallel reader's planner):
    expand folders, list skipped/empty/unreadable files in `stats`, check every header. Raises
    ColumnError when no file is readable, like `import_logs`."""
    check_mapping(mapping)
    canonical_platform(platform)
    inputs = _expand(paths, stats, exclude)
    kwargs = {"platform": platform, "shop": shop, "mapping": mapping, "encoding": encoding}
    readable: list[ReadableFile] = []
    unreadable: list[tuple[Path, str, str]] = []
    for item in inputs:
        path = item.path
        fmt = _format_or_none(path)
        if fmt in ("csv", "jsonl") and _is_empty_text(path):
            _skip(stats, path, "文件为空，没有可读取的内容", "empty file, nothing to read", status="empty")
            continue
        # Opening a reader checks the header; close it straight away, the real pass comes later.
        probe = ImportStats()
        try:
            stream = read_messages(path, stats=probe, **kwargs)
            stream.close()
        except Exception as exc:  # listed with its reason; the other files go on
            zh, en = _file_error(exc)
            if item.in_folder and path.suffix.lower() == ".txt" and isinstance(exc, ColumnError):
                _skip(stats, path, f"不是聊天记录（{zh}）", f"not a chat log ({en})")
                continue
            unreadable.append((path, zh, en))
            continue
        stats.add_file(path)
        fprobe = probe.files[str(path)]
        readable.append(ReadableFile(path, fprobe.format, fprobe.encoding, stream.info))
    if unreadable and not readable:
        if len(unreadable) == 1:
            _, zh, en = unreadable[0]
            raise ColumnError(zh, en)
        raise ColumnError("没有可读取的文件：" + "；".join(zh for _, zh, _ in unreadable),
                          "no readable file: " + "; ".join(en for _, _, en in unreadable))
    for path, zh, en in unreadable:
        fstats = _skip(stats, path, zh, en, status="unreadable")
        fstats.read = fstats.rejected = 1
        fstats.reasons["无法读取的文件"] += 1
    return CheckedInputs(readable, unreadable)


def unreadable_reject(path: Path, zh: str, en: str) -> Reject:
    """The one reject that stands for a file that cannot be read at all (line 0)."""
    return Reject(str(path), 0, f"无法读取的文件：{zh} unreadable file: {en}", "")


def failed_part_way(fstats: FileStats, sink: Callable[[int, str, str], None], zh: str, en: str) -> None:
    """A file whose reader failed part-way: one reject naming about the line reached (`_guarded`)."""
    fstats.read += 1
    line = fstats.read + fstats.blank + fstats.preamble + 1
    sink(line, f"文件读到约第 {line} 行后无法继续（{zh}） file unreadable from about line {line} ({en})", "")


def _format_or_none(path: Path) -> str | None:
    try:
        return detect_format(path)
    except OSError:
        return None


__all__ = [
    "CheckedInputs",
    "FileStats",
    "ImportStats",
    "InputNotFoundError",
    "MessageStream",
    "Reject",
    "RejectSink",
    "RejectsWriter",
    "Span",
    "SpanEnd",
    "check_inputs",
    "detect_format",
    "import_logs",
    "read_messages",
    "read_span",
    "reason_in",
    "sniff_encoding",
]
