"""Hand-computed KPIs (inputs and working in tests/sales/data.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from kefuguard.io.importers import import_logs
from kefuguard.io.orders import read_orders, read_refunds
from kefuguard.sales import compute_kpis, get_profile
from tests.sales.data import write_all

D1, D2, APR28, APR29 = dt.date(2024, 5, 1), dt.date(2024, 5, 2), dt.date(2024, 4, 28), dt.date(2024, 4, 29)


@pytest.fixture
def inputs(tmp_path):
    chats, orders, refunds = write_all(tmp_path)
    convs, _ = import_logs([chats])
    messages = [m for c in convs for m in c.messages]
    order_list, _ = read_orders([orders])
    refund_list, _ = read_refunds([refunds])
    return messages, order_list, refund_list


def test_pinduoduo_day(inputs):
    report = compute_kpis(*inputs)
    assert report.profile == "last_manual_24h"
    # orders 10; silent: o4, o5, o6 (pdd) + o9 (tmall) = 4; refunds 3, X999 unmatched
    assert (report.orders, report.silent_orders, report.refunds, report.unmatched_refunds) == (10, 4, 3, 1)
    shop = report.row("shop", "pinduoduo", "拼店", day=D1)
    # consulted b1 b2 b3 b7 (b5 after-sales, b6 on 04-29); converted b1 b2 → 2/4
    assert (shop.consulted, shop.converted, shop.after_sales_consulted) == (4, 2, 1)
    assert shop.conversion_rate == 0.5
    # ordered b1 b2 b4 b6 b7 = 5, paid 4 → 落实率 0.8; sales 100+50+30+40 = 220, 客单价 55, items 5/4
    assert (shop.ordered, shop.paid, shop.orders, shop.paid_orders) == (5, 4, 5, 4)
    assert shop.fulfilment_rate == 0.8
    assert (shop.sales, shop.avg_order_value, shop.items_per_order) == (220, 55, 1.25)
    # silent: o4 (b4, ¥30) and o6 (b6, 49 h after its consultation, ¥40)
    assert (shop.silent_ordered, shop.silent_sales) == (2, 70)
    assert shop.refunds == 0  # r5 belongs to o5, created 04-28
    (res,) = shop.results  # PDD ≥ 50% daily (seed 002)
    assert (res.metric, res.value, res.threshold, res.passed) == ("conversion_rate", 0.5, 0.5, True)
    assert "这个询单是去掉售后等问题的人" in res.note
    assert report.row("platform", "pinduoduo", day=D1).conversion_rate == 0.5


def test_pinduoduo_agents(inputs):
    report = compute_kpis(*inputs)
    a1 = report.row("agent", "pinduoduo", "拼店", "A1", D1)
    # A1 replied to b1 b2 b3 b7; only o1 (b1) converted for A1 (o2 went to A2) → 1/4, fails 50%
    assert (a1.consulted, a1.converted, a1.conversion_rate) == (4, 1, 0.25)
    assert (a1.ordered, a1.paid, a1.fulfilment_rate, a1.sales, a1.avg_order_value) == (2, 1, 0.5, 100, 100)
    assert [r.passed for r in a1.results] == [False]
    a2 = report.row("agent", "pinduoduo", "拼店", "A2", D1)
    # A2: b2 pre-sales (converted), b5 after-sales only
    assert (a2.consulted, a2.converted, a2.after_sales_consulted, a2.conversion_rate) == (1, 1, 1, 1.0)
    assert (a2.ordered, a2.paid, a2.sales, a2.silent_ordered) == (1, 1, 50, 0)
    assert [r.passed for r in a2.results] == [True]
    a1_29 = report.row("agent", "pinduoduo", "拼店", "A1", APR29)
    assert (a1_29.consulted, a1_29.converted, a1_29.conversion_rate) == (1, 0, 0.0)


def test_pinduoduo_period_and_refunds(inputs):
    report = compute_kpis(*inputs)
    total = report.row("shop", "pinduoduo", "拼店")
    # consulted b1 b2 b3 b7 b6 = 5, converted 2; ordered 6 buyers, paid 5 (b1 b2 b4 b6 b5), ¥300, 6 items
    assert (total.consulted, total.converted, total.conversion_rate) == (5, 2, 0.4)
    assert (total.ordered, total.paid, total.sales, total.avg_order_value, total.items_per_order) == (6, 5, 300, 60, 1.2)
    assert (total.silent_ordered, total.silent_sales) == (3, 150)
    # r5: 24 h, refund completed, quality → 品质退款率 1/5 paid orders, no dispute
    assert (total.refunds, total.handling_hours, total.refund_hours) == (1, 24.0, 24.0)
    assert (total.quality_refund_rate, total.dispute_rate) == (0.2, 0.0)
    assert total.results == []  # thresholds judge daily rows only
    apr28 = report.row("shop", "pinduoduo", "拼店", day=APR28)
    assert (apr28.ordered, apr28.paid, apr28.silent_ordered, apr28.refunds, apr28.quality_refund_rate) == (1, 1, 1, 1, 1.0)


def test_tmall_window_profiles(inputs):
    report = compute_kpis(*inputs)
    d1 = report.row("shop", "tmall", "天店", day=D1)
    assert (d1.consulted, d1.converted, d1.conversion_rate, d1.results) == (1, 1, 1.0, [])  # no tmall threshold
    d2 = report.row("shop", "tmall", "天店", day=D2)
    # b9 only got an auto-reply: not a consultation; o8 → T1 (11 h window), o9 silent
    assert (d2.consulted, d2.ordered, d2.paid, d2.sales, d2.avg_order_value, d2.items_per_order) == (0, 2, 2, 299, 149.5, 2.0)
    assert (d2.silent_ordered, d2.silent_sales) == (1, 99)
    # r8: 6 h, not quality, disputed → dispute rate 1/2 paid orders
    assert (d2.refunds, d2.handling_hours, d2.refund_hours, d2.quality_refund_rate, d2.dispute_rate) == (
        1, 6.0, 6.0, 0.0, 0.5)
    t1 = report.row("agent", "tmall", "天店", "T1", D2)
    assert (t1.ordered, t1.paid, t1.sales, t1.refunds, t1.dispute_rate) == (1, 1, 200, 1, 1.0)
    assert report.row("agent", "tmall", "天店", "T2", D2) is None

    same = compute_kpis(*inputs, profile="same_day")
    assert same.profile == "same_day"
    # o8 (05-02 09:00) has no reply on 05-02 → silent; the 05-01 consultation no longer converts
    assert same.row("shop", "tmall", "天店", day=D2).silent_ordered == 2
    assert same.row("shop", "tmall", "天店", day=D1).conversion_rate == 0.0
    assert same.row("agent", "tmall", "天店", "T1", D2) is None
    # a 72 h window credits o6 (49 h after b6's consultation) to A1 and converts the 04-29 consultation
    wide = compute_kpis(*inputs, profile=get_profile(window_hours=72))
    assert wide.row("agent", "pinduoduo", "拼店", "A1", APR29).conversion_rate == 1.0
    assert wide.row("shop", "pinduoduo", "拼店", day=D1).silent_ordered == 1


def test_douyin_two_agents_and_after_sales_rule(inputs):
    report = compute_kpis(*inputs)
    shop = report.row("shop", "douyin", "抖店", day=D1)
    # consulted b10 b11 (b11's 质量 has no earlier order), converted b10 → 0.5; 1 buyer, 2 orders, 1 paid
    assert (shop.consulted, shop.converted, shop.conversion_rate) == (2, 1, 0.5)
    assert (shop.ordered, shop.orders, shop.paid, shop.paid_orders, shop.fulfilment_rate) == (1, 2, 1, 1, 1.0)
    assert (shop.sales, shop.avg_order_value, shop.items_per_order) == (58.8, 58.8, 2.0)
    d1 = report.row("agent", "douyin", "抖店", "D1", D1)
    d2 = report.row("agent", "douyin", "抖店", "D2", D1)
    assert (d1.consulted, d1.converted, d1.ordered, d1.fulfilment_rate) == (2, 0, 0, None)
    assert (d2.consulted, d2.converted, d2.ordered, d2.orders, d2.paid) == (1, 1, 1, 2, 1)
    # keyword alone → after-sales: b11 leaves 询单
    loose = compute_kpis(*inputs, profile=get_profile(after_sales_needs_prior_order=False))
    row = loose.row("shop", "douyin", "抖店", day=D1)
    assert (row.consulted, row.after_sales_consulted, row.conversion_rate) == (1, 1, 1.0)


def test_unknown_profile():
    with pytest.raises(ValueError, match="unknown attribution profile"):
        get_profile("nope")


def test_a_conversations_agent_rows_without_buyer_id_are_that_buyers(tmp_path):
    """Exports often name the buyer on the buyer's rows only: the replies still count for them."""
    from tests.sales.data import CHAT_HEADER, write_csv

    rows = [
        ["c1", "拼多多", "拼店", "", "b1", "买家", "2024-05-01 10:00:00", "有货吗", "否"],
        ["c1", "拼多多", "拼店", "A1", "", "客服", "2024-05-01 10:01:00", "有的亲", "否"],
    ]
    chats = write_csv(tmp_path / "c.csv", CHAT_HEADER, rows)
    orders = write_csv(tmp_path / "o.csv", ["订单编号", "买家昵称", "店铺名称", "平台", "下单时间", "付款时间", "实付金额"],
                       [["o1", "b1", "拼店", "拼多多", "2024-05-01 10:30:00", "2024-05-01 10:31:00", "10"]])
    convs, _ = import_logs([chats])
    report = compute_kpis(convs, read_orders([orders])[0])
    agent = report.row("agent", "pinduoduo", "拼店", "A1", D1)
    assert (agent.consulted, agent.converted, agent.paid) == (1, 1, 1)
    assert report.silent_orders == 0


def test_collectors_pickled_from_workers_merge_to_the_same_kpis(inputs, tmp_path):
    """The audit's path: each worker's collector travels pickled (as columns), one buyer-day may be
    split across workers, the parent merges and joins — the same rows as one pass, and twice over."""
    import pickle

    from kefuguard.conversation.model import Conversation
    from kefuguard.sales import KpiCollector
    from tests.sales.data import write_all

    messages, orders, refunds = inputs
    expected = compute_kpis(messages, orders, refunds)
    chats, _, _ = write_all(tmp_path)
    convs, _ = import_logs([chats])
    halves = []  # b2's day (A1 then A2) split between two workers, the rest dealt alternately
    for conv in convs:
        if conv.conversation_id == "p2":
            halves += [conv.model_copy(update={"messages": conv.messages[:2]}),
                       conv.model_copy(update={"messages": conv.messages[2:]})]
        else:
            halves.append(conv)
    workers = [KpiCollector(), KpiCollector()]
    for i, conv in enumerate(halves):
        workers[i % 2].add_conversation(conv)
    parent = KpiCollector()
    parent.add_conversation(Conversation(conversation_id="none", platform="tmall", shop="天店", messages=[]))
    for w in workers:
        parent.merge(pickle.loads(pickle.dumps(w)))
    assert not parent.units and len(parent._packed) == 2
    assert parent.finish(orders, refunds).rows == expected.rows
    assert parent.finish(orders, refunds).rows == expected.rows  # finishing reads, never consumes
    assert pickle.loads(pickle.dumps(parent)).finish(orders, refunds).rows == expected.rows
