"""The audit report as JSON: the whole AuditReport, readable Chinese (no \\u escapes)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from kefuguard.conversation.results import AuditReport
from kefuguard.masking import mask_report


def report_dict(report: AuditReport, *, mask_pii: bool = True) -> dict:
    """The report as plain JSON types, masked unless `mask_pii` is False."""
    if mask_pii:
        report = mask_report(report)
    return report.model_dump(mode="json")


def write_json(report: AuditReport, path: str | os.PathLike[str], *, mask_pii: bool = True) -> Path:
    """Write the report as UTF-8 JSON (indent 2); returns the path written."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report_dict(report, mask_pii=mask_pii), ensure_ascii=False, indent=2)
    out.write_text(text + "\n", encoding="utf-8")
    return out
