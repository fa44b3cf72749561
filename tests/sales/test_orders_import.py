"""Order and after-sales importers: GBK CSV, XLSX, rejects with reasons, counts, --map."""

from __future__ import annotations

import pytest

from kefuguard.io.columns import ColumnError
from kefuguard.io.orders import read_orders, read_refunds
from tests.sales.data import ORDER_HEADER, ORDERS, REFUND_HEADER, REFUNDS, write_csv, write_xlsx


def test_gbk_csv_chinese_headers(tmp_path):
    path = write_csv(tmp_path / "o.csv", ORDER_HEADER, ORDERS, encoding="gbk")
    orders, stats = read_orders([path])
    f = stats.files[str(path)]
    assert f.encoding == "gb18030" and f.format == "csv"
    assert len(orders) == 10 and (f.read, f.accepted, f.duplicates, f.rejected) == (10, 10, 0, 0)
    o1 = orders[0]
    assert (o1.order_id, o1.buyer_id, o1.shop, o1.platform, o1.amount, o1.items) == ("o1", "b1", "拼店", "pinduoduo", 100, 2)
    assert o1.paid and not orders[5].paid and orders[8].amount == 58.8


def test_xlsx_refunds(tmp_path):
    path = write_xlsx(tmp_path / "r.xlsx", REFUND_HEADER, REFUNDS)
    refunds, stats = read_refunds([path])
    assert stats.files[str(path)].encoding == "xlsx" and stats.accepted == 3
    r5, r8, r12 = refunds
    assert r5.is_quality and not r5.dispute and r5.hours == 24.0 and r5.reason == "破损"
    assert r8.dispute and not r8.is_quality and r8.status == "退款成功"
    assert r12.finished_at is None and r12.hours is None


def test_rejects_and_counts(tmp_path):
    # line 1 preamble, 2 header, 3 good, 4 bad time, 5 bad amount, 6 no buyer, 7 blank, 8 duplicate of o1
    path = tmp_path / "o.csv"
    path.write_text(
        "导出时间：2024-05-02\n"
        "订单号,买家,店铺,下单时间,付款时间,订单金额,商品数量\n"
        "o1,b1,店A,2024-05-01 10:00,2024-05-01 10:01,10,1\n"
        "o2,b2,店A,昨天,,10,1\n"
        "o3,b3,店A,2024-05-01 10:00,,十块,1\n"
        "o4,,店A,2024-05-01 10:00,,10,1\n"
        "\n"
        "o1,b1,店A,2024-05-01 10:00,2024-05-01 10:01,10,1\n",
        encoding="utf-8",
    )
    seen = []
    orders, stats = read_orders([path], platform="拼多多", rejects=seen.append)
    f = stats.files[str(path)]
    assert [o.order_id for o in orders] == ["o1"] and orders[0].platform == "pinduoduo"
    # read 5 = accepted 1 + duplicates 1 + rejected 3; blank and preamble counted apart
    assert (f.read, f.accepted, f.duplicates, f.rejected, f.blank, f.preamble) == (5, 1, 1, 3, 1, 1)
    assert f.balanced
    assert [(r.file, r.line) for r in seen] == [(str(path), 4), (str(path), 5), (str(path), 6)]
    assert seen[0].reason.startswith("下单时间（created_at）不是时间「昨天」") and "created_at: not a time" in seen[0].reason
    assert "实付金额（amount）不是数字" in seen[1].reason
    assert seen[2].reason.startswith("买家（buyer_id）为空") and "o4" in seen[2].raw

    en = []
    read_orders([path], platform="pdd", rejects=en.append, lang="en")
    assert [r.reason for r in en] == ["created_at: not a time '昨天'", "amount: not a number '十块'", "buyer_id: missing"]
    zh = []
    read_orders([path], platform="pdd", rejects=zh.append, lang="zh")
    assert zh[2].reason == "买家（buyer_id）为空"


def test_missing_platform_is_a_reject(tmp_path):
    path = write_csv(tmp_path / "o.csv", ["订单号", "买家", "店铺", "下单时间", "实付金额"],
                     [["o1", "b1", "店A", "2024-05-01 10:00", "5"]])
    seen = []
    orders, stats = read_orders([path], rejects=seen.append)
    assert orders == [] and stats.rejected == 1 and "平台（platform）为空" in seen[0].reason


def test_map_unknown_headers(tmp_path):
    path = write_csv(tmp_path / "o.csv", ["单号", "客户", "shop", "platform", "成交时间", "金额"],
                     [["o1", "b1", "店A", "tmall", "2024-05-01 10:00", "5"]])
    with pytest.raises(ColumnError, match="order_id"):
        read_orders([path])
    orders, _ = read_orders([path], mapping={"单号": "order_id", "客户": "buyer_id", "成交时间": "created_at",
                                                 "金额": "amount"})
    assert [(o.order_id, o.buyer_id, o.amount) for o in orders] == [("o1", "b1", 5.0)]
    with pytest.raises(ColumnError, match="invalid mapping target"):
        read_orders([path], mapping={"单号": "nope"})


def test_unreadable_file_next_to_a_good_one(tmp_path):
    good = write_csv(tmp_path / "good.csv", ORDER_HEADER, ORDERS[:2])
    bad = write_csv(tmp_path / "bad.csv", ["甲", "乙"], [["1", "2"]])
    seen = []
    orders, stats = read_orders([good, bad], rejects=seen.append)
    assert len(orders) == 2
    b = stats.files[str(bad)]
    assert (b.status, b.read, b.rejected) == ("unreadable", 1, 1) and seen[0].line == 0
    assert stats.read == stats.accepted + stats.duplicates + stats.rejected == 3


def test_xlsx_orders_on_a_later_sheet_after_a_notes_sheet(tmp_path):
    """Shop back-ends often put a 说明 sheet first: the data sheet is found, the notes sheet listed as skipped."""
    from openpyxl import Workbook

    wb = Workbook()
    notes = wb.active
    notes.title = "说明"
    notes.append(["本表由店铺后台导出"])
    notes.append(["金额单位：元"])
    data = wb.create_sheet("订单")
    data.append(["订单编号", "买家昵称", "店铺名称", "平台", "下单时间", "付款时间", "实付金额"])
    data.append(["o1", "b1", "拼店", "拼多多", "2024-05-01 10:30:00", "2024-05-01 10:31:00", "100"])
    data.append(["o2", "b2", "拼店", "拼多多", "", "", "-1"])
    path = tmp_path / "orders.xlsx"
    wb.save(path)
    found = []
    orders, stats = read_orders([path], rejects=found.append)
    assert [o.order_id for o in orders] == ["o1"]
    (file_stats,) = stats.files.values()
    assert file_stats.skipped_sheets == ["说明"]
    (reject,) = found
    assert (reject.sheet, reject.line) == ("订单", 3)
    assert stats.read == stats.accepted + stats.duplicates + stats.rejected == 2
