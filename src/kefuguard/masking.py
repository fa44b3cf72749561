"""PII masking: buyer phone numbers, ID numbers, bank cards and house numbers.

One implementation shared by every output that people read — reports (HTML/JSON/XLSX),
findings.csv, rejects.csv, storage and logs — next to the rewrite/privacy code it builds on.
Reports are read by supervisors, trainers and sometimes the shop owner; none of them needs a
buyer's full phone number or address. Numbers are found by the project's own detectors (the
same spans the checker reports) and masked the way platforms show them (138****8000). Every
mask has the length of what it hides — one `*` per hidden character — so the start/end offsets
of findings keep pointing at the same characters after masking.

Core module: imports only the engine (checker, detectors, normalize, rewrite), never io/, cli,
audit or conversation/ — `mask_report` works on any report-shaped pydantic model.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from kefuguard.checker import shared_detector_context, shared_tables
from kefuguard.detectors import find_numbers
from kefuguard.detectors.numbers import is_phone_number, separated_before_from_offsets
from kefuguard.normalize import Views
from kefuguard.rewrite import mask_pii

MASKED_KINDS = frozenset({"phone", "id_card", "bank_card"})

# A buyer's mobile number is masked whatever stands before it (the detector's order/tracking
# vetoes exist to avoid false diversion alarms, not to protect a number printed in a report).
_MOBILE = re.compile(r"(?<![0-9０-９])(?:\+?86[-\s]?)?(1[3-9]\d(?:[-\s]?\d){8})(?![0-9０-９])")

# A resident ID number likewise, whatever stands before it ("、11010519491231002X"), when its check
# character is right (GB 11643, ISO 7064 MOD 11-2).
_ID_CARD = re.compile(
    r"(?<![0-9０-９A-Za-z])([1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx])"
    r"(?![0-9０-９A-Za-z])"
)


def is_resident_id(value: str) -> bool:
    """Whether an 18-character mainland resident ID number has a valid check character (python-
    stdnum's GB 11643 check digit; unlike its full validation, birth place is not looked up)."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    from stdnum.cn import ric

    return ric.calc_check_digit(value) == value[17].upper()  # it reads the first 17 digits


# Addresses: a road/estate word, then house numbering (478号, 3栋, 2单元501室, A座1502).
_ROAD = re.compile(
    r"(?<=[\u4e00-\u9fff0-9A-Za-z])(?:大街|大道|街道|胡同|小区|花园|公寓|大厦|广场|家园|新村|号院|路|街|巷|弄|村|苑)"
)
_CLAUSE_END = set("，,。！!？?；;\n")
_ADDRESS_WINDOW = 40
_NUM = r"[0-9０-９]+(?:[-－][0-9０-９]+)*|[一二三四五六七八九十百零〇两]{1,4}"
_UNIT = r"号楼|号院|号|栋|幢|座|单元|室|楼|层|户|弄"
_HOUSE_PARTS = re.compile(
    rf"(?:{_NUM})(?=(?:{_UNIT}))"  # 478号, 3栋, 十八号楼
    r"|(?:(?<=单元)|(?<=[栋幢座楼层号]))[0-9０-９]+(?:[-－][0-9０-９]+)*"  # 单元501, 座1502
    r"|[A-Za-zＡ-Ｚａ-ｚ](?=[座栋幢区])"  # A座
)
_HAS_HOUSE_NUMBER = re.compile(rf"[0-9０-９一二三四五六七八九十百零〇两]\s*(?:{_UNIT})")


def _same_length(kind: str, value: str) -> str:
    """mask_pii's format when it keeps the length, else one `*` per character."""
    masked = mask_pii(kind, value)
    return masked if len(masked) == len(value) else "*" * len(value)


def _number_spans(text: str) -> list[tuple[int, int, str]]:
    tables = shared_tables()
    views = Views(text, tables)
    spans: list[tuple[int, int, str]] = []
    if tables.numeral_runs.search(views.keyword):
        separated = separated_before_from_offsets(lambda: views.offsets)  # call me 138…: not glued
        for det in find_numbers(views.digits, shared_detector_context(), separated):
            if det.kind in MASKED_KINDS:
                start, end = (det.start, det.end) if det.in_original else views.span(det.start, det.end)
                spans.append((start, end, det.kind))
    for m in _MOBILE.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        if is_phone_number(digits):
            spans.append((m.start(1), m.end(1), "phone"))
    for m in _ID_CARD.finditer(text):
        if is_resident_id(m.group(1)):
            spans.append((m.start(1), m.end(1), "id_card"))
    return spans


def _address_spans(text: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for road in _ROAD.finditer(text):
        end = road.end()
        limit = min(len(text), end + _ADDRESS_WINDOW)
        stop = end
        while stop < limit and text[stop] not in _CLAUSE_END:
            stop += 1
        segment = text[end:stop]
        if not _HAS_HOUSE_NUMBER.search(segment):
            continue
        for part in _HOUSE_PARTS.finditer(segment):
            spans.append((end + part.start(), end + part.end(), "address"))
    return spans


def pii_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every piece of personal data `mask_text` hides, in text order."""
    if not text:
        return []
    return sorted(set(_number_spans(text) + _address_spans(text)))


@lru_cache(maxsize=16384)
def mask_text(text: str) -> str:
    """`text` with phone, ID-card and bank-card numbers and house numbers masked, same length.

    Cached: an audit masks the same quick replies and templates thousands of times.
    """
    spans = pii_spans(text)
    if not spans:
        return text
    chars = list(text)
    for start, end, kind in spans:
        value = text[start:end]
        masked = "*" * len(value) if kind == "address" else _same_length(kind, value)
        for i, ch in enumerate(masked):
            if ch == "*":
                chars[start + i] = "*"
    result = "".join(chars)
    assert len(result) == len(text)  # offsets of findings must stay valid
    return result


def mask_optional(text: str | None) -> str | None:
    return None if text is None else mask_text(text)


_FILE_TEXT_KEYS = frozenset({"error", "error_en", "reason", "warning"})
_ROW_TEXT_KEYS = frozenset({"text", "matched", "detail", "message", "context", "excerpt", "quote", "raw"})


def mask_report(report: Any) -> Any:
    """A copy of `report` with every message text, matched text and finding-row text masked.

    A finding's `matched` is re-read from the masked message at its offsets when they are valid,
    so the highlighted text and the reported text always agree.
    """
    flagged = []
    for conv in report.flagged:
        messages = None
        if conv.messages is not None:
            messages = [m.model_copy(update={"text": mask_text(m.text)}) for m in conv.messages]
        findings = []
        for f in conv.findings:
            update = {"detail": mask_text(f.detail), "matched": mask_optional(f.matched)}
            text = _message_text(messages, f.message_index)
            if (
                text is not None
                and f.start is not None
                and f.end is not None
                and 0 <= f.start < f.end <= len(text)
            ):
                update["matched"] = text[f.start : f.end]
            findings.append(f.model_copy(update=update))
        flagged.append(conv.model_copy(update={"messages": messages, "findings": findings}))
    rows = [
        {k: mask_text(v) if k in _ROW_TEXT_KEYS and isinstance(v, str) else v for k, v in row.items()}
        for row in report.all_findings
    ]
    update: dict[str, Any] = {"flagged": flagged, "all_findings": rows}
    imports = getattr(report, "imports", None)
    if getattr(imports, "files", None):  # a file-level error may quote the file's first line
        update["imports"] = _mask_import_files(imports)
    kpis = getattr(report, "kpis", None)
    if kpis is not None and kpis.imports:  # the order and refund exports' file lists, likewise
        update["kpis"] = kpis.model_copy(update={"imports": {k: _mask_import_files(v) for k, v in kpis.imports.items()}})
    return report.model_copy(update=update)


def _mask_import_files(imports: Any) -> Any:
    masked = [
        {k: mask_text(v) if k in _FILE_TEXT_KEYS and isinstance(v, str) else v for k, v in f.items()}
        for f in imports.files
    ]
    return imports.model_copy(update={"files": masked})


def mask_cells(cells: list[str] | tuple[str, ...]) -> list[str]:
    """Each cell masked (rejects.csv rows, log lines)."""
    return [mask_text(c) if isinstance(c, str) else c for c in cells]


def _message_text(messages: list[Any] | None, index: int | None) -> str | None:
    if messages is None or index is None or not 0 <= index < len(messages):
        return None
    return messages[index].text
