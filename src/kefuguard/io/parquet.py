"""Audit results as Parquet tables (pyarrow), for pandas, polars, DuckDB and Spark users.

Four tables, schemas below and in docs/scale.md; times are timestamps in Asia/Shanghai, days are
dates, money is yuan. Personal data is masked exactly as in findings.csv (unless `--no-mask`).

- findings.parquet — one row per finding (the columns of findings.csv)
- scores.parquet   — one row per conversation: its QA score, counts and first response
- metrics.parquet  — every platform metric per shop and per agent, per day and over the period
- agents.parquet   — one row per agent: mean/min score, findings, rank

Rows are written as the audit produces them; their order is not part of the format (sort by
the key columns). Parquet is written with pyarrow (a dependency); reading it back needs nothing
from kefuguard.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

TZ = "Asia/Shanghai"
TIMESTAMP = pa.timestamp("us", tz=TZ)

FINDINGS_SCHEMA = pa.schema([
    pa.field("shop", pa.string(), nullable=False),
    pa.field("platform", pa.string(), nullable=False),
    pa.field("agent_id", pa.string(), nullable=False),
    pa.field("conversation_id", pa.string(), nullable=False),
    pa.field("sent_at", TIMESTAMP),
    pa.field("check_id", pa.string(), nullable=False),
    pa.field("title", pa.string()),
    pa.field("severity", pa.string()),
    pa.field("category", pa.string()),
    pa.field("matched", pa.string()),
    pa.field("text", pa.string()),
    pa.field("suggestion", pa.string()),
    pa.field("penalty", pa.string()),
])

SCORES_SCHEMA = pa.schema([
    pa.field("shop", pa.string(), nullable=False),
    pa.field("platform", pa.string(), nullable=False),
    pa.field("conversation_id", pa.string(), nullable=False),
    pa.field("agent_id", pa.string(), nullable=False),
    pa.field("day", pa.date32()),
    pa.field("started_at", TIMESTAMP),
    pa.field("message_count", pa.int32()),
    pa.field("buyer_messages", pa.int32()),
    pa.field("agent_messages", pa.int32()),
    pa.field("first_response_seconds", pa.float64()),
    pa.field("findings", pa.int32()),
    pa.field("score", pa.float64()),
    pa.field("buyer_abuse", pa.bool_()),
    pa.field("tags", pa.list_(pa.string())),
])

METRICS_SCHEMA = pa.schema([
    pa.field("level", pa.string(), nullable=False),  # shop | agent
    pa.field("period", pa.string(), nullable=False),  # day | total
    pa.field("metric", pa.string(), nullable=False),
    pa.field("title", pa.string()),
    pa.field("platform", pa.string(), nullable=False),
    pa.field("shop", pa.string(), nullable=False),
    pa.field("agent_id", pa.string()),  # null at shop level
    pa.field("day", pa.date32()),  # null for the whole period
    pa.field("value", pa.float64()),
    pa.field("threshold", pa.float64()),
    pa.field("comparison", pa.string()),
    pa.field("passed", pa.bool_()),
    pa.field("numerator", pa.float64()),
    pa.field("denominator", pa.float64()),
    pa.field("unit", pa.string()),
    pa.field("fine_yuan", pa.float64()),
    pa.field("note", pa.string()),
])

AGENTS_SCHEMA = pa.schema([
    pa.field("shop", pa.string(), nullable=False),
    pa.field("platform", pa.string(), nullable=False),
    pa.field("agent_id", pa.string(), nullable=False),
    pa.field("rank", pa.int32()),  # 1 = best; 0 for the unassigned row
    pa.field("unassigned", pa.bool_()),
    pa.field("conversations", pa.int64()),
    pa.field("messages", pa.int64()),
    pa.field("findings", pa.int64()),
    pa.field("mean_score", pa.float64()),
    pa.field("min_score", pa.float64()),
    pa.field("mean_first_response_seconds", pa.float64()),
    pa.field("findings_by_severity", pa.string()),  # JSON object: severity → count
    pa.field("findings_by_category", pa.string()),  # JSON object: category → count
])

TABLES: dict[str, pa.Schema] = {
    "findings.parquet": FINDINGS_SCHEMA,
    "scores.parquet": SCORES_SCHEMA,
    "metrics.parquet": METRICS_SCHEMA,
    "agents.parquet": AGENTS_SCHEMA,
}
OUTPUT_FILES = tuple(TABLES)


def _columns(rows: Sequence[tuple], schema: pa.Schema) -> list[pa.Array]:
    if rows:
        cols: list[Any] = list(zip(*rows, strict=True))
    else:
        cols = [() for _ in schema]
    out = []
    for values, f in zip(cols, schema, strict=True):
        if f.type == TIMESTAMP and values and isinstance(next((v for v in values if v is not None), None), str):
            out.append(pa.array(values, pa.string()).cast(TIMESTAMP))  # ISO 8601 text with its offset
        else:
            out.append(pa.array(values, f.type))
    return out


class TableWriter:
    """Rows (tuples in schema order) streamed into one Parquet file, in row groups of `batch_rows`."""

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema, batch_rows: int = 65536) -> None:
        self.path = Path(path)
        self.schema = schema
        self.batch_rows = batch_rows
        self._rows: list[tuple] = []
        self._writer = pq.ParquetWriter(self.path, schema, compression="zstd")
        self.count = 0

    def write(self, rows: Iterable[tuple]) -> None:
        self._rows.extend(rows)
        if len(self._rows) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.Table.from_arrays(_columns(self._rows, self.schema), schema=self.schema))
            self.count += len(self._rows)
            self._rows = []

    def close(self) -> None:
        self.flush()
        self._writer.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_table(path: str | os.PathLike[str], schema: pa.Schema, rows: Sequence[tuple]) -> Path:
    with TableWriter(path, schema) as writer:
        writer.write(rows)
    return Path(path)


def metric_rows(results: Iterable[Any], level: str, period: str) -> list[tuple]:
    """`MetricResult`s as metrics.parquet rows."""
    return [
        (level, period, r.metric, r.title, r.platform, r.shop, r.agent_id, r.day, r.value, r.threshold,
         r.comparison, r.passed, r.numerator, r.denominator, r.unit, r.fine_yuan, r.note)
        for r in results
    ]


def agent_rows(agents: Iterable[Any]) -> list[tuple]:
    """`AgentSummary`s as agents.parquet rows."""
    return [
        (a.shop, a.platform, a.agent_id, a.rank, a.unassigned, a.conversations, a.messages, a.findings,
         a.mean_score, a.min_score, a.mean_first_response_seconds,
         json.dumps(a.findings_by_severity, ensure_ascii=False, sort_keys=True),
         json.dumps(a.findings_by_category, ensure_ascii=False, sort_keys=True))
        for a in agents
    ]


def write_summary_tables(out_dir: str | os.PathLike[str], metrics: Any, agents: Iterable[Any]) -> list[Path]:
    """metrics.parquet (from a `MetricsAggregator`) and agents.parquet (from `AgentSummary`s)."""
    out = Path(out_dir)
    rows: list[tuple] = []
    for level in ("shop", "agent"):
        for period in ("day", "total"):
            rows.extend(metric_rows(metrics.results(level=level, period=period), level, period))
    return [write_table(out / "metrics.parquet", METRICS_SCHEMA, rows),
            write_table(out / "agents.parquet", AGENTS_SCHEMA, agent_rows(agents))]


def read_sorted(path: str | os.PathLike[str], key: Callable[[dict], Any] | None = None) -> list[dict]:
    """A table's rows as dicts, sorted (by every column when no key is given): for comparisons."""
    rows = pq.read_table(path).to_pylist()
    return sorted(rows, key=key or (lambda r: json.dumps(r, default=_json_default, sort_keys=True,
                                                         ensure_ascii=False)))


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def schema_markdown() -> str:
    """The four schemas as Markdown tables (docs/scale.md holds this text)."""
    lines: list[str] = []
    for name, schema in TABLES.items():
        lines += [f"#### {name}", "", "| column | type | nullable |", "|---|---|---|"]
        lines += [f"| {f.name} | {f.type} | {'yes' if f.nullable else 'no'} |" for f in schema]
        lines.append("")
    return "\n".join(lines)


__all__ = [
    "AGENTS_SCHEMA",
    "FINDINGS_SCHEMA",
    "METRICS_SCHEMA",
    "OUTPUT_FILES",
    "SCORES_SCHEMA",
    "TABLES",
    "TableWriter",
    "read_sorted",
    "schema_markdown",
    "write_summary_tables",
    "write_table",
]
