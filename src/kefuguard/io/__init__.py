"""Reading and writing files: chat-log importers (CSV, JSONL, XLSX) and their rejects/statistics.

Engine code stays pure; everything that touches the file system lives in this package.
"""

from kefuguard.io.columns import CANONICAL_FIELDS, ColumnError
from kefuguard.io.importers import (
    FileStats,
    ImportStats,
    MessageStream,
    Reject,
    RejectSink,
    RejectsWriter,
    detect_format,
    import_logs,
    read_messages,
    sniff_encoding,
)

__all__ = [
    "CANONICAL_FIELDS",
    "ColumnError",
    "FileStats",
    "ImportStats",
    "MessageStream",
    "Reject",
    "RejectSink",
    "RejectsWriter",
    "detect_format",
    "import_logs",
    "read_messages",
    "sniff_encoding",
]
