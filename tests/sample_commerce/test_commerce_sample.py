"""The shipped order and after-sales exports (src/kefuguard/sample/commerce) and the benchmark's generator.

The files are read back with the real importers and joined with the sample chats, so a change to
either side that breaks the designed cases (silent orders, disputes, in-chat orders and refunds …)
fails here. The checks on the order-based rules are written out independently of the generator.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest

from kefuguard.conversation.config import AuditConfig
from kefuguard.io.importers import import_logs
from kefuguard.io.orders import read_orders, read_refunds
from kefuguard.sales import compute_kpis
from kefuguard.sample import generate_to_jsonl, sample_dir
from kefuguard.sample.commerce import (
    ORDER_CSV_HEADERS,
    ORDER_SHEET,
    ORDER_XLSX_HEADERS,
    ORDERS_CSV,
    ORDERS_XLSX,
    REFUND_HEADERS,
    REFUNDS_CSV,
    commerce_dir,
    main,
    write_bench_commerce,
)

DATA = commerce_dir()
FILES = (ORDERS_CSV, ORDERS_XLSX, REFUNDS_CSV)
PLATFORMS = {"tmall", "taobao", "pinduoduo", "douyin", "jd", "kuaishou"}
ORDER_ID = {
    "tmall": r"\d{19}", "taobao": r"\d{19}", "pinduoduo": r"\d{6}-\d{15}", "jd": r"3\d{11}",
    "douyin": r"69\d{17}", "kuaishou": r"24\d{14}",
}
# README: | `file` | line | problem | 应拒绝/重复 |  and  | `file` | format | shops | rows | accepted | dups | rejects |
BAD_ROW = re.compile(r"^\| `([^`]+)` \| (\d+) \| (.+?) \| (应拒绝|重复) \|$")
FILE_ROW = re.compile(r"^\| `([^`]+)` \| .+? \| .+? \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$")


def _readme() -> list[str]:
    return (DATA / "README.md").read_text(encoding="utf-8").splitlines()


def _documented(outcome: str) -> set[tuple[str, int]]:
    return {(m[1], int(m[2])) for line in _readme() if (m := BAD_ROW.match(line)) and m[4] == outcome}


@pytest.fixture(scope="module")
def chats():
    conversations, _stats = import_logs([sample_dir()])
    return list(conversations)


@pytest.fixture(scope="module")
def imported():
    rejects: list = []
    orders, order_stats = read_orders([DATA / ORDERS_CSV, DATA / ORDERS_XLSX], rejects=rejects.append)
    refunds, refund_stats = read_refunds([DATA / REFUNDS_CSV], rejects=rejects.append)
    return orders, refunds, {**order_stats.files, **refund_stats.files}, rejects


# --- the files ---------------------------------------------------------------------------------------------


def test_the_folder_holds_the_exports_and_data_holds_none_of_them():
    assert sorted(p.name for p in DATA.iterdir()) == sorted([*FILES, "README.md"])
    # the audit reads every file in data/ as a chat export
    assert not {p.name for p in sample_dir().iterdir()} & {*FILES}


def test_formats_are_those_of_real_exports():
    raw = (DATA / ORDERS_CSV).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gbk").splitlines()[0] == ",".join(ORDER_CSV_HEADERS)
    text = (DATA / REFUNDS_CSV).read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and text.decode("utf-8-sig").splitlines()[0] == ",".join(REFUND_HEADERS)
    wb = openpyxl.load_workbook(DATA / ORDERS_XLSX, read_only=True)
    try:
        ws = wb.worksheets[0]
        assert ws.title == ORDER_SHEET
        rows = list(ws.iter_rows(values_only=True))
    finally:
        wb.close()
    assert rows[0] == ORDER_XLSX_HEADERS
    assert isinstance(rows[1][1], dt.datetime) and isinstance(rows[1][6], int | float)
    # amounts as the platforms print them: two decimals in the CSV
    with open(DATA / ORDERS_CSV, encoding="gbk", newline="") as fh:
        amounts = [r["实付金额"] for r in csv.DictReader(fh)]
    assert amounts and all(re.fullmatch(r"-?\d+\.\d\d", a) for a in amounts)


def test_rejects_are_exactly_the_documented_rows(imported):
    *_, rejects = imported
    documented = _documented("应拒绝")
    assert {(Path(r.file).name, r.line) for r in rejects} == documented
    assert {name for name, _line in documented} == set(FILES)  # one bad row in each file


def test_counts_add_up_and_match_the_readme(imported):
    *_, files, _rejects = imported
    stats = {Path(path).name: f for path, f in files.items()}
    assert set(stats) == set(FILES)
    table = {m[1]: tuple(map(int, m.groups()[1:])) for line in _readme() if (m := FILE_ROW.match(line))}
    duplicates = _documented("重复")
    for name, f in stats.items():
        assert f.status == "ok" and f.ignored_columns == []
        assert f.read == f.accepted + f.duplicates + f.rejected
        assert table[name] == (f.read, f.accepted, f.duplicates, f.rejected)
        assert f.duplicates == sum(1 for file, _line in duplicates if file == name)
    assert stats[ORDERS_CSV].duplicates == 1


def test_order_ids_look_like_each_platforms(imported):
    orders, refunds, _files, _rejects = imported
    assert {o.platform for o in orders} == PLATFORMS
    for o in orders:
        assert re.fullmatch(ORDER_ID[o.platform], o.order_id), (o.platform, o.order_id)
    by_id = {o.order_id: o for o in orders}
    assert len(by_id) == len(orders)
    for r in refunds:
        order = by_id[r.order_id]  # every refund belongs to an exported order
        assert order.paid and r.requested_at >= order.paid_at
        assert r.finished_at is None or r.finished_at > r.requested_at
        assert (r.finished_at is None) == (r.status == "待商家处理")


def test_every_chat_order_is_in_the_export(chats, imported):
    orders, *_ = imported
    exported = {(o.shop, o.buyer_id, o.created_at): o for o in orders}
    carried = 0
    for conv in chats:
        m = next((m for m in conv.messages if m.order_time is not None), None)
        if m is None:
            continue
        carried += 1
        order = exported[(m.shop, m.buyer_id, m.order_time)]
        assert order.amount == pytest.approx(m.paid_amount) and order.paid
    assert carried > 100


# --- reproducible ------------------------------------------------------------------------------------------


def test_regenerating_gives_identical_bytes(tmp_path):
    assert main(["--out", str(tmp_path), "--seed", "7"]) == 0
    for name in (*FILES, "README.md"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


# --- what the KPIs and the order-based checks see ---------------------------------------------------------


def test_kpis_show_every_case(chats, imported):
    orders, refunds, _files, _rejects = imported
    report = compute_kpis(chats, orders, refunds)
    shops = [r for r in report.rows if r.level == "shop" and r.day is None]
    assert {r.platform for r in shops} == PLATFORMS
    assert report.unmatched_refunds == 0 and report.refunds == len(refunds)
    assert report.silent_orders > 0 and all(r.silent_ordered > 0 for r in shops)
    assert all(r.after_sales_consulted > 0 for r in shops)
    assert any(r.dispute_rate for r in shops)
    assert all(0 < r.conversion_rate < 1 for r in shops)
    assert any(r.fulfilment_rate < 1 for r in shops)  # some orders were never paid
    assert any(r.items_per_order > 1 for r in shops)  # related items (关联销售)
    assert all(r.refund_hours is not None and r.quality_refund_rate for r in shops)
    assert len({r.day for r in report.rows if r.day is not None and r.orders}) >= 2
    # Pinduoduo's daily 询单转化率 ≥ 50%: the demo shows it met and missed
    judged = [m.passed for r in report.rows if r.platform == "pinduoduo" and r.day for m in r.results
              if m.passed is not None]
    assert True in judged and False in judged


def test_silent_and_out_of_window_orders(chats, imported):
    orders, *_ = imported
    replies = defaultdict(list)  # (shop, buyer) → manual reply times
    for conv in chats:
        for m in conv.messages:
            if m.is_manual_reply and m.agent_id:
                replies[(m.shop, m.buyer_id)].append(m.sent_at)
    for shop in {o.shop for o in orders}:
        mine = [o for o in orders if o.shop == shop]
        assert any((shop, o.buyer_id) not in replies for o in mine), f"{shop}: no buyer who never chatted"
        window = dt.timedelta(hours=24)
        assert any(
            replies.get((shop, o.buyer_id))
            and not any(o.created_at - window <= t <= o.created_at for t in replies[(shop, o.buyer_id)])
            and any(o.created_at - 2 * window <= t for t in replies[(shop, o.buyer_id)] if t <= o.created_at)
            for o in mine
        ), f"{shop}: no order placed a day or more after its consultation"


def _spans(chats):
    spans = defaultdict(list)  # (shop, buyer) → conversations
    for conv in chats:
        buyer = next(m.buyer_id for m in conv.messages if m.buyer_id)
        spans[(conv.shop, buyer)].append(conv)
    return spans


def test_tmall_and_taobao_orders_placed_during_chats_are_confirmed_and_missed(chats, imported):
    orders, *_ = imported
    config = AuditConfig()
    window = dt.timedelta(minutes=config.order_confirm_minutes)
    outcomes = defaultdict(set)  # platform → confirmed?
    export_only = set()
    for o in orders:
        if o.platform not in ("tmall", "taobao"):
            continue
        for conv in _spans(chats)[(o.shop, o.buyer_id)]:
            times = [m.sent_at for m in conv.messages]
            if not times[0] - window <= o.created_at <= times[-1]:
                continue
            outcomes[o.platform].add(any(
                m.is_manual_reply and o.created_at <= m.sent_at <= o.created_at + window
                and any(w in m.text for w in config.order_confirm_words) for m in conv.messages))
            if all(m.order_time is None for m in conv.messages):
                export_only.add(o.platform)
    assert outcomes == {"tmall": {True, False}, "taobao": {True, False}}
    assert export_only == {"tmall", "taobao"}  # orders only the export knows of, on both


def test_tmall_and_taobao_refunds_requested_during_chats_take_every_outcome(chats, imported):
    orders, refunds, *_ = imported
    config = AuditConfig()
    limit = dt.timedelta(minutes=config.refund_handling_minutes)
    by_id = {o.order_id: o for o in orders}
    spans = _spans(chats)
    outcomes = defaultdict(set)
    for r in refunds:
        o = by_id[r.order_id]
        if o.platform not in ("tmall", "taobao") or not any(w in r.reason for w in config.refund_export_reasons):
            continue
        for conv in spans[(o.shop, o.buyer_id)]:
            if conv.messages[0].sent_at - limit <= r.requested_at <= conv.messages[-1].sent_at:
                done = r.finished_at
                outcomes[o.shop].add("open" if done is None else "in_time" if done - r.requested_at <= limit else "late")
    assert outcomes == {"小鹿家居旗舰店": {"in_time", "late", "open"}, "花间美妆": {"in_time", "late", "open"}}


def _section(title: str) -> list[list[str]]:
    """The rows of the README table under the heading `title`."""
    lines = _readme()
    start = lines.index(title)
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if line.startswith("| ") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # without the header


def test_after_sales_only_buyers_are_left_out_of_consultations(chats, imported):
    orders, *_ = imported
    rows = _section("### 只问售后的买家（售后咨询，不计入询单）")
    assert len(rows) == 6
    spans = _spans(chats)
    for shop, buyer, _conversation, _orders in rows:
        mine = [o for o in orders if o.shop == shop and o.buyer_id == buyer]
        report = compute_kpis(spans[(shop, buyer)], mine)
        total = report.row("shop", mine[0].platform, shop)
        assert (total.consulted, total.after_sales_consulted) == (0, 1), (shop, buyer)


# --- the benchmark's generator -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bench_chats(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "chats.jsonl"
    assert generate_to_jsonl(path, 3000, seed=11) == 3000
    return path


@pytest.mark.parametrize("wanted", [700, 40])
def test_bench_writes_exactly_the_orders_asked_for(bench_chats, tmp_path, wanted):
    orders_out, refunds_out = tmp_path / "orders.csv", tmp_path / "refunds.csv"
    counts = write_bench_commerce(bench_chats, orders_out, refunds_out, orders=wanted, seed=7)
    rejects: list = []
    orders, order_stats = read_orders([orders_out], rejects=rejects.append)
    refunds, refund_stats = read_refunds([refunds_out], rejects=rejects.append)
    assert rejects == [] and order_stats.duplicates == 0 and refund_stats.duplicates == 0
    assert len(orders) == counts["orders"] == wanted
    assert counts["chat_orders"] + counts["converted_orders"] + counts["silent_orders"] == wanted
    assert len(refunds) == counts["refunds"]
    assert {r.order_id for r in refunds} <= {o.order_id for o in orders}
    assert orders_out.read_bytes().decode("utf-8").splitlines()[0] == ",".join(ORDER_CSV_HEADERS)
    if wanted == 700:  # more than the 3000 messages carry: silent orders fill up, ~5% refunds
        assert counts["silent_orders"] > 0 and counts["chat_orders"] > 100 and 10 <= counts["refunds"] <= 70
    else:  # fewer: the first of the chats' orders, no silent ones
        assert counts["silent_orders"] == 0


def test_bench_keeps_the_chats_orders_in_file_order_and_is_reproducible(bench_chats, tmp_path):
    import json

    first = next(json.loads(line) for line in bench_chats.open(encoding="utf-8") if json.loads(line)["order_time"])
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        out.mkdir()
        write_bench_commerce(bench_chats, out / "o.csv", out / "r.csv", orders=300, seed=5)
    assert (a / "o.csv").read_bytes() == (b / "o.csv").read_bytes()
    assert (a / "r.csv").read_bytes() == (b / "r.csv").read_bytes()
    orders, _stats = read_orders([a / "o.csv"])
    chat_orders = [o for o in orders if o.buyer_id == first["buyer_id"] and o.shop == first["shop"]]
    assert dt.datetime.fromisoformat(first["order_time"]) in {o.created_at for o in chat_orders}
