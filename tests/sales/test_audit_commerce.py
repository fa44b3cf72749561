"""The audit with order and refund exports (issue 15, items 4–5): KPIs in the report, and the
order-confirmation / refund-handling checks judged on the exports' times, worked out by hand.

Tmall 天店 (2024-05-06, the 10-minute order-confirmation rule, 10 元 shop policy each):
  c1 buyer t1: chats 10:00–10:30. The chat's own order-time column says 10:00 (ignored once an
     order export covers the shop). Export: o101 10:05, confirmed by T1 at 10:08 ("核对订单信息") → fine;
     o102 10:12, nothing that confirms it until 10:22 (10:25 is too late) → one hit naming o102;
     o103 at 14:00, long after the chat → not this chat's event.
Taobao 淘店 (2024-05-06, refunds within 30 minutes, 30 元 shop policy each):
  c2 buyer u1: "我拍错了，想退款" 14:00; agent "已经帮您处理了" 14:01 (the words-based check would pass).
     Export (orders o201 13:30, o202 05-01, o203 13:40 of u1 — all placed over 10 minutes before the
     chat, so no order-confirmation event here): o201 拍错/多拍 requested 14:00, finished 15:30 → late (90 min);
     o202 质量问题 requested 14:05, unfinished → out of the rule's scope (a return comes first);
     o203 不想要了 requested 14:10, unfinished → 未完结; o201's record is one event even though
     the buyer also wrote about it.
Taobao 淘店二 (no order in the export): c3 buyer u2 says "不想买了" 09:00 and nobody handles it →
  the words-based check still runs there (one hit).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kefuguard.audit import AuditOptions, run_audit
from kefuguard.cli import app
from kefuguard.io.importers import import_logs
from kefuguard.io.orders import read_orders, read_refunds
from kefuguard.sales import compute_kpis
from tests.sales.data import CHAT_HEADER, ORDER_HEADER, REFUND_HEADER, write_all, write_csv

HEADER = [*CHAT_HEADER, "order_time"]
CHATS = [
    ["c1", "天猫", "天店", "", "t1", "买家", "2024-05-06 10:00:00", "这款沙发有现货吗", "否", "2024-05-06 10:00:00"],
    ["c1", "天猫", "天店", "T1", "t1", "客服", "2024-05-06 10:01:00", "亲，有现货的哦", "否", ""],
    ["c1", "天猫", "天店", "", "t1", "买家", "2024-05-06 10:06:00", "我拍好了", "否", ""],
    ["c1", "天猫", "天店", "T1", "t1", "客服", "2024-05-06 10:08:00", "亲，跟您核对一下订单信息，地址没问题吧", "否", ""],
    ["c1", "天猫", "天店", "", "t1", "买家", "2024-05-06 10:12:30", "又拍了一个靠垫", "否", ""],
    ["c1", "天猫", "天店", "T1", "t1", "客服", "2024-05-06 10:13:00", "好的亲亲", "否", ""],
    ["c1", "天猫", "天店", "", "t1", "买家", "2024-05-06 10:20:00", "什么时候发货", "否", ""],
    ["c1", "天猫", "天店", "T1", "t1", "客服", "2024-05-06 10:21:00", "48小时内发出哦", "否", ""],
    ["c1", "天猫", "天店", "T1", "t1", "客服", "2024-05-06 10:25:00", "靠垫的收货地址也帮您核对好了", "否", ""],
    ["c1", "天猫", "天店", "", "t1", "买家", "2024-05-06 10:30:00", "谢谢", "否", ""],
    ["c2", "淘宝", "淘店", "", "u1", "买家", "2024-05-06 14:00:00", "我拍错了，想退款", "否", ""],
    ["c2", "淘宝", "淘店", "U1", "u1", "客服", "2024-05-06 14:01:00", "好的亲，已经帮您处理了", "否", ""],
    ["c2", "淘宝", "淘店", "", "u1", "买家", "2024-05-06 14:20:00", "好的", "否", ""],
    ["c2", "淘宝", "淘店", "U1", "u1", "客服", "2024-05-06 14:21:00", "亲还有其他问题随时找我哦", "否", ""],
    ["c3", "淘宝", "淘店二", "", "u2", "买家", "2024-05-06 09:00:00", "不想买了", "否", ""],
    ["c3", "淘宝", "淘店二", "V1", "u2", "客服", "2024-05-06 09:01:00", "亲亲在的", "否", ""],
]
ORDERS = [
    ["o101", "t1", "天店", "天猫", "2024-05-06 10:05:00", "2024-05-06 10:05:30", "1999", "1", "已付款"],
    ["o102", "t1", "天店", "天猫", "2024-05-06 10:12:00", "2024-05-06 10:12:20", "59.9", "2", "已付款"],
    ["o103", "t1", "天店", "天猫", "2024-05-06 14:00:00", "2024-05-06 14:01:00", "20", "1", "已付款"],
    ["o201", "u1", "淘店", "淘宝", "2024-05-06 13:30:00", "2024-05-06 13:31:00", "88", "1", "退款中"],
    ["o202", "u1", "淘店", "淘宝", "2024-05-01 13:50:00", "2024-05-01 13:51:00", "66", "1", "已签收"],
    ["o203", "u1", "淘店", "淘宝", "2024-05-06 13:40:00", "2024-05-06 13:41:00", "45", "1", "退款中"],
]
REFUNDS = [
    ["o201", "拍错/多拍", "否", "2024-05-06 14:00:00", "2024-05-06 15:30:00", "退款成功", "否"],
    ["o202", "质量问题", "是", "2024-05-06 14:05:00", "", "待商家处理", "否"],
    ["o203", "不想要了", "否", "2024-05-06 14:10:00", "", "待商家处理", "否"],
]


@pytest.fixture
def files(tmp_path):
    chats = write_csv(tmp_path / "chats.csv", HEADER, CHATS)
    orders = write_csv(tmp_path / "orders.csv", ORDER_HEADER, ORDERS)
    refunds = write_csv(tmp_path / "refunds.csv", REFUND_HEADER, REFUNDS)
    return chats, orders, refunds


def _audit(tmp_path, chats, orders=(), refunds=(), **kw):
    options = AuditOptions(out_dir=tmp_path / "out", workers=kw.pop("workers", 1), orders=list(orders),
                           refunds=list(refunds), **kw)
    return run_audit([chats], options)


def _findings(report, check_id: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for conv in report.flagged:
        for f in conv.findings:
            if f.check_id == check_id:
                out.setdefault(conv.conversation_id, []).append(f.detail)
    return out


def test_order_confirmation_judges_every_exported_order_in_the_chat(tmp_path, files):
    chats, orders, refunds = files
    report = _audit(tmp_path, chats, [orders], [refunds])
    found = _findings(report, "audit.order_confirm")
    assert list(found) == ["c1"]
    (detail,) = found["c1"]
    assert "o102" in detail and "10:12" in detail
    tmall = next(s for s in report.shops if s.platform == "tmall")
    assert tmall.exposure.by_rule["audit.order_confirm"] == 10.0  # one event, 10 元 shop policy


def test_without_exports_the_chat_order_time_is_used(tmp_path, files):
    chats, _, _ = files
    report = _audit(tmp_path, chats)
    # the chat's column says 10:00 and T1 confirmed at 10:08: nothing to flag; no KPIs without orders
    assert _findings(report, "audit.order_confirm") == {}
    assert report.kpis is None


def test_refund_handling_judges_the_exported_times(tmp_path, files):
    chats, orders, refunds = files
    report = _audit(tmp_path, chats, [orders], [refunds])
    found = _findings(report, "audit.refund_handling")
    assert sorted(found) == ["c2", "c3"]
    late, open_ = sorted(found["c2"])
    assert "o201" in late and "1.5小时后才完结" in late
    assert "o203" in open_ and "未完结" in open_
    assert all("o202" not in d for d in found["c2"])  # 质量问题: outside the 30-minute rule
    # 淘店二 is in no export: the buyer's words still start the clock there
    assert found["c3"] == ["退款诉求“不想买了”未见处理"]
    taobao = {s.shop: s for s in report.shops if s.platform == "taobao"}
    assert taobao["淘店"].exposure.by_rule["audit.refund_handling"] == 60.0  # two events × 30 元
    assert taobao["淘店二"].exposure.by_rule["audit.refund_handling"] == 30.0


def test_refunds_without_their_orders_follow_the_words(tmp_path, files):
    chats, orders, _ = files
    report = _audit(tmp_path, chats, [orders])  # no refund export: words-based, and the agent answered in time
    assert "c2" not in _findings(report, "audit.refund_handling")


@pytest.mark.parametrize("workers,reader", [(1, "serial"), (1, "parallel"), (2, "parallel"), (2, "serial")])
def test_report_kpis_equal_the_kpi_computation(tmp_path, workers, reader):
    """However the audit reads and splits the chats, its KPIs are compute_kpis' (hand-checked in test_kpi.py)."""
    chats, orders, refunds = write_all(tmp_path)
    report = _audit(tmp_path, chats, [orders], [refunds], workers=workers, reader=reader)
    convs, _ = import_logs([chats])
    expected = compute_kpis(convs, read_orders([orders])[0], read_refunds([refunds])[0])
    assert report.kpis is not None
    assert report.kpis.rows == expected.rows
    assert (report.kpis.orders, report.kpis.silent_orders, report.kpis.unmatched_refunds) == (10, 4, 1)
    assert report.kpis.imports["orders"].accepted == 10 and report.kpis.imports["refunds"].accepted == 3
    pdd = report.kpis.row("shop", "pinduoduo", "拼店", day=None)
    assert pdd.consulted == 5 and pdd.after_sales_consulted == 1


def test_refunds_alone_and_missing_files_are_clear_errors(tmp_path, files):
    chats, _, refunds = files
    with pytest.raises(ValueError, match="--orders"):
        _audit(tmp_path, chats, refunds=[refunds])
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        _audit(tmp_path, chats, [tmp_path / "nope.csv"])


def test_cli_audit_with_orders_writes_kpis_and_order_rejects(tmp_path, files):
    chats, orders, refunds = files
    with orders.open("a", encoding="utf-8") as fh:
        fh.write("o999,t9,天店,天猫,,,-5,1,待付款\n")  # no order time, negative amount: rejected with its line
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["audit", str(chats), "--orders", str(orders), "--refunds", str(refunds),
                                      "--out", str(out), "--workers", "1", "--formats", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    kpis = data["kpis"]
    assert kpis["orders"] == 6 and kpis["imports"]["orders"]["rejected"] == 1
    rejects = (out / "order_rejects.csv").read_text(encoding="utf-8-sig")
    assert "orders.csv" in rejects and ",8," in rejects
    assert "order_rejects.csv" in result.output.replace("\n", "")  # the console wraps long paths


def test_cli_audit_refuses_an_unknown_attribution(tmp_path, files):
    chats, orders, _ = files
    result = CliRunner().invoke(app, ["audit", str(chats), "--orders", str(orders), "--attribution", "nope",
                                      "--out", str(tmp_path / "x"), "--workers", "1"])
    assert result.exit_code == 2
    assert "nope" in result.output


def test_order_import_errors_are_masked_in_the_json_report(tmp_path, files):
    from kefuguard.io.reports import write_json

    chats, orders, _ = files
    bad = tmp_path / "客户13812345678.csv"
    bad.write_text("备注\n随便\n", encoding="utf-8")  # no order header: unreadable, its path in the error
    report = _audit(tmp_path, chats, [orders, bad])
    assert any("13812345678" in f["error"] for f in report.kpis.imports["orders"].files if "error" in f)
    write_json(report, tmp_path / "report.json", mask_pii=True)
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    (unreadable,) = [f for f in data["kpis"]["imports"]["orders"]["files"] if f["status"] == "unreadable"]
    # the error texts are masked like the chat import's (the file's own path is kept, as there)
    assert "13812345678" not in unreadable["error"] + unreadable["error_en"] and "找不到订单表头" in unreadable["error"]


def test_a_shop_that_turns_order_confirmation_on_elsewhere_gets_its_order_times(tmp_path):
    """The workers carry order times only for platforms where the check runs — for any shop."""
    from kefuguard.audit_commerce import checked_platforms
    from kefuguard.conversation.config import AuditConfig

    assert checked_platforms(AuditConfig(), "audit.order_confirm") == {"tmall", "taobao"}
    config = AuditConfig.from_yaml(
        "shops:\n  拼店:\n    checks:\n      audit.order_confirm: {platforms: [pinduoduo]}\n")
    assert checked_platforms(config, "audit.order_confirm") == {"tmall", "taobao", "pinduoduo"}
    rows = [
        ["p1", "拼多多", "拼店", "", "b1", "买家", "2024-05-06 10:00:00", "拍好了", "否", ""],
        ["p1", "拼多多", "拼店", "P1", "b1", "客服", "2024-05-06 10:30:00", "好的亲", "否", ""],
    ]
    chats = write_csv(tmp_path / "c.csv", HEADER, rows)
    orders = write_csv(tmp_path / "o.csv", ORDER_HEADER,
                       [["o9", "b1", "拼店", "拼多多", "2024-05-06 10:01:00", "2024-05-06 10:01:00", "9", "1", ""]])
    report = run_audit([chats], AuditOptions(out_dir=tmp_path / "out", workers=2, config=config, orders=[orders]))
    assert "o9" in _findings(report, "audit.order_confirm")["p1"][0]
