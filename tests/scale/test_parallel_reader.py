"""The parallel reader (issue 13, item 1) reads exactly what the serial reader reads.

Spans are read here in this process (the workers run the same functions), so every split size can
be tried quickly: the same conversations with the same records in the same order, the same
rejects in the same order, the same counts per file (read = accepted + duplicates + rejected) —
on the bundled sample and on inputs with multi-line quoted CSV fields, broken and stray quotes,
blank lines, CRLF, GBK, BOMs, duplicates and rejects of every kind.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefuguard.io import importers, parallel_read
from kefuguard.io.importers import import_logs
from kefuguard.io.parallel_read import (
    PartitionCounts,
    SpanMerger,
    group_partition,
    partition_frames,
    plan_reads,
    read_task,
)
from kefuguard.sample import sample_dir

from .messy import write_messy_csv, write_messy_jsonl


def serial_read(paths):
    rejects = []
    conversations, stats = import_logs(paths, rejects=rejects.append, raw=True)
    return dict(conversations), stats, rejects


def parallel_read_all(paths, split_bytes, partitions=5, in_memory=False):
    rejects = []
    plan = plan_reads(paths, split_bytes=split_bytes)
    merger = SpanMerger(plan, rejects.append)
    with tempfile.TemporaryDirectory() as tmp:
        out = None if in_memory else tmp

        def read(task):
            return read_task(task, plan.options, partitions, out)

        for task in plan.tasks():
            merger.add(read(task))
        accepted = merger.resolve(read)
        counts = PartitionCounts()
        groups = {}
        for p in range(partitions):
            for key, records in group_partition(partition_frames(accepted, p), counts):
                assert key not in groups, "a conversation split across partitions"
                groups[key] = records
        stats = merger.finish(counts)
    return groups, stats, rejects, merger, plan


def assert_same(serial, parallel):
    groups, stats, rejects = serial
    p_groups, p_stats, p_rejects = parallel[:3]
    assert p_groups == groups  # every conversation, its records in the same order
    assert p_rejects == rejects  # every reject, in the order rejects.csv lists them
    assert p_stats.as_dict() == stats.as_dict()
    assert [f.samples for f in p_stats.files.values()] == [f.samples for f in stats.files.values()]
    assert p_stats.balanced and p_stats.accepted == sum(len(r) for r in p_groups.values())


@pytest.mark.parametrize("split_bytes", [64, 700, 5000, 10**9])
def test_sample_reads_the_same_at_any_split(split_bytes):
    paths = [sample_dir()]
    parallel = parallel_read_all(paths, split_bytes)
    assert_same(serial_read(paths), parallel)
    if split_bytes < 10**9:
        assert len(parallel[3].results) > 3  # the JSONL and the CSV really were cut into spans


@pytest.mark.parametrize(("seed", "crlf", "encoding"), [(1, False, "utf-8"), (2, True, "utf-8"), (3, False, "gb18030")])
@pytest.mark.parametrize("split_bytes", [64, 300, 2500])
def test_messy_csv_reads_the_same(tmp_path, seed, crlf, encoding, split_bytes):
    path = write_messy_csv(tmp_path / "messy.csv", 250, seed, crlf=crlf, encoding=encoding)
    serial = serial_read([path])
    assert serial[1].rejected > 10 and serial[1].duplicates > 0 and serial[1].blank > 0
    assert any(len({r[-1].rsplit(":", 1)[1] for r in recs}) for recs in serial[0].values())
    assert_same(serial, parallel_read_all([path], split_bytes))


def test_a_span_that_starts_inside_a_quoted_field_is_read_again(tmp_path):
    """A stray quote flips the quote count, so the scan places boundaries inside real multi-line
    fields; the span before knows where its last record ended, and the misplaced span is re-read."""
    lines = ["会话ID,平台,店铺,客服账号,角色,发送时间,消息内容"]
    for i in range(40):
        lines.append(f'C{i % 7},拼多多,店,kf,买家,2024-05-01 10:{i:02d}:00,他说"好的')  # a stray quote
        lines.append(f'C{i % 5},拼多多,店,kf,客服,2024-05-01 11:{i:02d}:00,"第一行')
        lines.append("第二行：一段足够长的文字，让边界落在这个带引号的字段里面")
        lines.append('第三行"')
    path = tmp_path / "stray.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    serial = serial_read([path])
    parallel = parallel_read_all([path], 150)
    assert parallel[3].reruns > 0
    assert_same(serial, parallel)


def test_messy_jsonl_with_bom_reads_the_same(tmp_path):
    path = write_messy_jsonl(tmp_path / "m.jsonl", 400, 5, bom=True)
    serial = serial_read([path])
    assert serial[1].files[str(path)].encoding == "utf-8-sig" and serial[1].rejected > 5
    for split_bytes in (64, 999, 4000):
        assert_same(serial, parallel_read_all([path], split_bytes))


def test_in_memory_blocks_read_the_same(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    write_messy_csv(folder / "a.csv", 200, 11)
    write_messy_jsonl(folder / "b.jsonl", 200, 12)
    assert_same(serial_read([folder]), parallel_read_all([folder], 500, in_memory=True))


def test_a_line_longer_than_the_scan_chunk_reads_the_file_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel_read, "SCAN_CHUNK", 256)
    path = write_messy_csv(tmp_path / "long.csv", 120, 4)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("C1,拼多多,店,kf,买家,2024-05-01 10:00:00," + "很长的一行" * 40 + "\n")
        fh.write("".join(f"C{i},拼多多,店,kf,客服,2024-05-01 11:00:{i:02d},好的\n" for i in range(30)))
    serial = serial_read([path])
    parallel = parallel_read_all([path], 200)
    assert parallel[4].whole == {0}
    assert_same(serial, parallel)


def test_parquet_row_groups_read_the_same(tmp_path):
    rows = []
    for line in (sample_dir() / "chat_tmall_pinduoduo.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    def when(value):
        try:
            return dt.datetime.fromisoformat(value) if value else None
        except (TypeError, ValueError):
            return None
    table = pa.table({
        "conversation_id": [r["conversation_id"] for r in rows],
        "platform": [r["platform"] for r in rows],
        "shop": [r["shop"] for r in rows],
        "agent_id": [r.get("agent_id") for r in rows],
        "role": [r["role"] for r in rows],
        "sent_at": pa.array([when(r.get("sent_at")) for r in rows], pa.timestamp("s", tz="Asia/Shanghai")),
        "text": [r.get("text") for r in rows],
        "paid_amount": pa.array([r.get("paid_amount") for r in rows], pa.float64()),
    })
    path = tmp_path / "chats.parquet"
    pq.write_table(table, path, row_group_size=100)
    serial = serial_read([path])
    assert serial[1].files[str(path)].format == "parquet" and serial[1].rejected >= 1
    parallel = parallel_read_all([path], 5000)
    assert len(parallel[3].results) > 3
    assert_same(serial, parallel)


def test_a_reader_failing_part_way_ends_that_file_as_the_serial_reader_does(tmp_path, monkeypatch):
    a = write_messy_csv(tmp_path / "a.csv", 150, 21)
    b = write_messy_csv(tmp_path / "b.csv", 150, 22)
    real = importers._csv_rows

    def failing(fh, f, *args, **kwargs):
        rows = real(fh, f, *args, **kwargs)
        if f.where == str(a):
            yield next(rows)
            raise OSError(5, "Input/output error")
        yield from rows

    monkeypatch.setattr(importers, "_csv_rows", failing)
    serial = serial_read([a, b])
    parallel = parallel_read_all([a, b], 300)
    assert any("无法继续" in r.reason for r in parallel[2])
    assert_same(serial, parallel)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), split_bytes=st.integers(64, 3000), crlf=st.booleans())
def test_any_csv_any_split(tmp_path, seed, split_bytes, crlf):
    path = write_messy_csv(tmp_path / f"h{seed}.csv", 120, seed, crlf=crlf)
    assert_same(serial_read([path]), parallel_read_all([path], split_bytes, partitions=3))
