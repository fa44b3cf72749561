"""The audit with the parallel reader (issue 13, items 1-2) reports what the serial audit reports;
Parquet in and out."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kefuguard.audit import PARQUET_FILES, AuditOptions, run_audit
from kefuguard.cli import app
from kefuguard.io.parquet import TABLES, read_sorted
from kefuguard.sample import sample_dir
from kefuguard.sample.commerce import ORDERS_CSV, ORDERS_XLSX, REFUNDS_CSV, commerce_dir

from .messy import write_messy_csv, write_messy_jsonl

TABLE_NAMES = [name.removesuffix(".parquet") for name in PARQUET_FILES]


def comparable(report) -> dict:
    """A report without what differs by design between two runs: when it ran, where rejects went."""
    data = report.model_dump(exclude={"generated_at"})
    data["imports"].pop("rejects_path")
    for summary in (data.get("kpis") or {}).get("imports", {}).values():
        summary.pop("rejects_path")
    return data


def findings_csv(out: Path) -> Counter:
    with (out / "findings.csv").open(encoding="utf-8-sig", newline="") as fh:
        return Counter(tuple(row) for row in csv.reader(fh))


def assert_same_outputs(a_out: Path, a, b_out: Path, b, tables: bool = True) -> None:
    assert comparable(b) == comparable(a)
    assert findings_csv(b_out) == findings_csv(a_out)  # row order is not part of findings.csv
    assert (b_out / "rejects.csv").read_bytes() == (a_out / "rejects.csv").read_bytes()
    if tables:
        for name in TABLE_NAMES:
            assert read_sorted(b_out / f"{name}.parquet") == read_sorted(a_out / f"{name}.parquet"), name


def sample_commerce() -> dict[str, list[Path]]:
    """The bundled order and refund exports: KPIs and the order-based checks on in the comparisons."""
    root = commerce_dir()
    return {"orders": [root / ORDERS_CSV, root / ORDERS_XLSX], "refunds": [root / REFUNDS_CSV]}


@pytest.fixture(scope="module")
def serial_sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    report = run_audit([sample_dir()], AuditOptions(out_dir=out, workers=1, reader="serial", parquet=True,
                                                    **sample_commerce()))
    assert report.kpis is not None and report.kpis.rows
    return out, report


@pytest.mark.parametrize("workers", [1, 2])
def test_parallel_reader_audit_equals_serial_on_the_sample(serial_sample, tmp_path, workers):
    out = tmp_path / "par"
    report = run_audit([sample_dir()], AuditOptions(out_dir=out, workers=workers, reader="parallel", parquet=True,
                                                    split_bytes=20_000, partition_bytes=60_000, **sample_commerce()))
    assert_same_outputs(*serial_sample, out, report)


def test_parallel_reader_audit_equals_serial_on_messy_inputs(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    write_messy_csv(logs / "a.csv", 400, 31)
    write_messy_csv(logs / "b.gbk.csv", 300, 32, crlf=True, encoding="gb18030")
    write_messy_jsonl(logs / "c.jsonl", 400, 33)
    serial = run_audit([logs], AuditOptions(out_dir=tmp_path / "s", workers=1, parquet=True))
    assert serial.imports.rejected > 20 and serial.imports.duplicates > 0
    parallel = run_audit([logs], AuditOptions(out_dir=tmp_path / "p", workers=2, parquet=True, split_bytes=700,
                                              partition_bytes=3000))
    assert_same_outputs(tmp_path / "s", serial, tmp_path / "p", parallel)


def test_report_keeps_the_first_finding_rows_in_a_fixed_order(serial_sample):
    _, report = serial_sample
    rows = [tuple(r.values()) for r in report.all_findings]
    assert rows == sorted(rows) and rows


def test_parquet_tables_have_the_documented_schema(serial_sample):
    out, report = serial_sample
    for name, schema in TABLES.items():
        table = pq.read_table(out / name)
        assert table.schema.equals(schema, check_metadata=False), name
    assert pq.read_table(out / "findings.parquet").num_rows == sum(findings_csv(out).values()) - 1
    assert pq.read_table(out / "scores.parquet").num_rows == report.conversations
    assert pq.read_table(out / "agents.parquet").num_rows == len(report.agents)
    metrics = pq.read_table(out / "metrics.parquet").to_pylist()
    shop_total = [m for m in metrics if (m["level"], m["period"]) == ("shop", "total")]
    assert len(shop_total) == sum(len(s.metrics) for s in report.shops)
    scores = read_sorted(out / "scores.parquet", key=lambda r: (r["score"], r["conversation_id"]))
    worst = min(report.flagged, key=lambda c: (c.score, c.conversation_id))
    assert scores[0]["score"] == worst.score
    first = scores[0]
    assert isinstance(first["day"], dt.date) and first["started_at"].tzinfo is not None


def _sample_rows() -> list[dict]:
    rows = []
    for line in (sample_dir() / "chat_tmall_pinduoduo.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            rows.append({"conversation_id": "broken", "platform": "tmall", "shop": "x", "role": "buyer",
                         "sent_at": None, "text": line[:20]})
    return rows


def test_parquet_input_audits_like_the_jsonl_it_was_made_from(tmp_path):
    """Typed Parquet columns (timestamps with a zone, booleans, floats) go through the same checks."""
    rows = _sample_rows()

    def when(value):
        try:
            return dt.datetime.fromisoformat(value) if value else None
        except (TypeError, ValueError):
            return None

    def col(name, kind=None):
        return pa.array([r.get(name) for r in rows], kind)

    table = pa.table({
        "conversation_id": col("conversation_id"), "platform": col("platform"), "shop": col("shop"),
        "agent_id": col("agent_id"), "buyer_id": col("buyer_id"), "role": col("role"),
        "sent_at": pa.array([when(r.get("sent_at")) for r in rows], pa.timestamp("s", tz="Asia/Shanghai")),
        "text": col("text"), "quick_reply": col("quick_reply", pa.bool_()), "auto_reply": col("auto_reply", pa.bool_()),
        "buyer_reported": col("buyer_reported", pa.bool_()),
        "order_time": pa.array([when(r.get("order_time")) for r in rows], pa.timestamp("s", tz="Asia/Shanghai")),
        "paid_amount": pa.array([r.get("paid_amount") if isinstance(r.get("paid_amount"), float | int) else None
                                 for r in rows], pa.float64()),
    })
    jsonl = tmp_path / "in.jsonl"
    with jsonl.open("w", encoding="utf-8") as fh:
        for r in table.to_pylist():
            fh.write(json.dumps({k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in r.items()},
                                ensure_ascii=False) + "\n")
    parquet = tmp_path / "in.parquet"
    pq.write_table(table, parquet, row_group_size=200)
    a = run_audit([jsonl], AuditOptions(out_dir=tmp_path / "a", workers=1, parquet=True))
    b = run_audit([parquet], AuditOptions(out_dir=tmp_path / "b", workers=2, parquet=True, split_bytes=4000))
    assert b.imports.files[0]["format"] == "parquet"
    assert (b.messages, b.imports.rejected, b.imports.duplicates) == (a.messages, a.imports.rejected,
                                                                      a.imports.duplicates)
    for name in TABLE_NAMES:
        assert read_sorted(tmp_path / "b" / f"{name}.parquet") == read_sorted(tmp_path / "a" / f"{name}.parquet")


def test_parquet_outputs_in_the_input_folder_are_not_read_back(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    write_messy_jsonl(logs / "c.jsonl", 200, 3)
    first = run_audit([logs], AuditOptions(out_dir=logs, workers=2, parquet=True))
    assert all((logs / name).is_file() for name in PARQUET_FILES)
    second = run_audit([logs], AuditOptions(out_dir=logs, workers=2, parquet=True))
    assert (second.imports.read, second.messages) == (first.imports.read, first.messages)
    assert {Path(f["path"]).name for f in second.imports.files if f["status"] == "skipped"} >= set(PARQUET_FILES)


def test_cli_parquet_flag_and_option_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["audit", str(sample_dir()), "--out", str(tmp_path / "o"), "--workers", "2",
                                 "--parquet", "--formats", "json"])
    assert result.exit_code == 0, result.output
    printed = result.output.replace("\n", "")
    for name in PARQUET_FILES:
        assert (tmp_path / "o" / name).is_file() and name in printed
    result = runner.invoke(app, ["audit", str(sample_dir()), "--out", str(tmp_path / "x"), "--scheduler", "tcp://h:1"])
    assert result.exit_code == 2 and "--engine dask" in result.output
    result = runner.invoke(app, ["audit", str(sample_dir()), "--out", str(tmp_path / "x"), "--engine", "spark",
                                 "--lang", "en"])
    assert result.exit_code == 2 and "local or dask" in result.output
