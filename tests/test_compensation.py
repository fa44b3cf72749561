"""Compensation calculators against the rule exam's worked answers (seed 000) and the rule texts."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from kefuguard.cli_calc import calc_app
from kefuguard.penalties import (
    douyin_fake_tracking,
    douyin_late_shipment,
    money,
    pdd_logistics_timeout,
    pdd_reply_rate_fine,
    tmall_late_shipment,
)

D = Decimal


# ------------------------------------------------------------------ Douyin late shipment (exam Q3, Q4, Q14, Q15)


@pytest.mark.parametrize(
    ("paid", "expected"),
    [
        ("301", "3.01"),  # Q3: paid over 300 → 1% …
        ("2999", "29.99"),
        ("3000", "30.00"),
        ("10000", "30.00"),  # … at most 30 yuan
        ("300", "3.00"),
        ("100", "3.00"),  # 1 yuan, raised to the 3-yuan minimum
        ("3", "3.00"),  # not "under 3 yuan", so the minimum applies
        ("2.99", "0"),  # Q4: under 3 yuan → no compensation
        ("0", "0"),
        ("456.78", "4.57"),  # 4.5678 rounds half-up to the fen
        ("456.50", "4.57"),  # 4.565 → 4.57
    ],
)
def test_douyin_late_shipment_amounts(paid, expected):
    assert douyin_late_shipment(paid).amount == D(expected)


def test_exam_q14_voucher_basis_is_the_paid_amount():
    # 售价300元，支付280元，同时使用了20元代金券 → A、3元 (not 30, not nothing)
    c = douyin_late_shipment(D("280"), price=D("300"))
    assert c.amount == D("3.00")
    assert c.basis == D("280")
    assert "280" in c.explanation and "代金券" in c.explanation


def test_exam_q15_late_pickup_too_is_still_one_compensation():
    once = douyin_late_shipment("500")
    both = douyin_late_shipment("500", pickup_late=True)
    assert both.times == 1 and both.amount == once.amount == D("5.00")
    assert "只赔付 1 次" in both.explanation


def test_exam_q4_small_order_is_not_compensated():
    c = douyin_late_shipment("2.5")
    assert c.amount == 0 and c.times == 0
    assert "小于 3 元" in c.explanation


def test_douyin_late_shipment_with_times_uses_48_hours():
    paid_at = dt.datetime(2024, 5, 1, 10, 0)
    on_time = douyin_late_shipment("500", paid_at=paid_at, shipped_at=paid_at + dt.timedelta(hours=48))
    late = douyin_late_shipment("500", paid_at=paid_at, shipped_at=paid_at + dt.timedelta(hours=48, seconds=1))
    assert (on_time.late, on_time.amount) == (False, 0)
    assert (late.late, late.amount) == (True, D("5.00"))
    with pytest.raises(ValueError):
        douyin_late_shipment("500", paid_at=paid_at)


# ------------------------------------------------------------------ Douyin fake tracking (exam Q5)


@pytest.mark.parametrize(
    ("paid", "expected"),
    [("1", "5.00"), ("99.99", "5.00"), ("100", "5.00"), ("200", "10.00"), ("123.45", "6.17"),
     ("2000", "100.00"), ("5000", "100.00")],
)
def test_douyin_fake_tracking_5_percent_min_5_max_100(paid, expected):
    c = douyin_fake_tracking(paid)
    assert c.amount == D(expected)
    assert c.rate == D("0.05") and c.minimum == 5 and c.maximum == 100


# ------------------------------------------------------------------ Tmall late shipment (seed 003, art. 72)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("100", "30.00"), ("1000", "300.00"), ("1666.66", "500.00"), ("2000", "500.00"), ("33.33", "10.00")],
)
def test_tmall_late_shipment_30_percent_capped_at_500_as_points(amount, expected):
    c = tmall_late_shipment(amount)
    assert c.amount == D(expected)
    assert c.form == "tmall_points" and c.payee == "buyer"
    assert "天猫积分" in c.explanation


def test_tmall_72_hour_edge_and_agreed_time():
    paid_at = dt.datetime(2024, 5, 1, 10, 0)
    assert tmall_late_shipment("100", paid_at=paid_at, shipped_at=paid_at + dt.timedelta(hours=72)).amount == 0
    assert tmall_late_shipment("100", paid_at=paid_at,
                               shipped_at=paid_at + dt.timedelta(hours=72, minutes=1)).amount == D("30.00")
    presale = tmall_late_shipment("100", paid_at=paid_at, shipped_at=paid_at + dt.timedelta(days=5), agreed_hours=240)
    assert presale.late is False and presale.amount == 0


# ------------------------------------------------------------------ Pinduoduo


def test_pdd_logistics_timeout_5_yuan_per_order():
    assert pdd_logistics_timeout().amount == D("5.00")
    assert pdd_logistics_timeout(3).amount == D("15.00")
    assert pdd_logistics_timeout(0).amount == 0
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError):
            pdd_logistics_timeout(bad)


@pytest.mark.parametrize(
    ("buyers", "replied", "fine"),
    [(100, 10, 0), (101, 50, 1000), (101, 51, 0), (0, 0, 0), (500, 249, 1000), (500, 250, 0)],
)
def test_pdd_reply_rate_fine(buyers, replied, fine):
    c = pdd_reply_rate_fine(buyers, replied)
    assert c.amount == D(fine) and c.payee == "platform"


def test_pdd_reply_rate_fine_rejects_impossible_counts():
    with pytest.raises(ValueError):
        pdd_reply_rate_fine(10, 11)
    with pytest.raises(ValueError):
        pdd_reply_rate_fine(-1, 0)


# ------------------------------------------------------------------ money input


def test_money_parsing_is_exact_and_strict():
    assert money(0.1) == D("0.1")  # through str, not the binary float
    assert money(" 12.30 ") == D("12.30")
    assert douyin_late_shipment(300.1).amount == D("3.00")
    for bad in ("abc", "-1", "NaN", "Infinity", ""):
        with pytest.raises(ValueError):
            money(bad)


def test_every_result_quotes_its_seed():
    for c in (douyin_late_shipment(100), douyin_fake_tracking(100), tmall_late_shipment(100),
              pdd_logistics_timeout(1), pdd_reply_rate_fine(101, 1)):
        assert c.source[:3] in {"000", "002", "003"}


# ------------------------------------------------------------------ CLI


runner = CliRunner()


def test_cli_douyin_late_exam_q14():
    out = runner.invoke(calc_app, ["douyin-late", "--paid", "280", "--price", "300"])
    assert out.exit_code == 0, out.output
    assert "3.00 元" in out.output


def test_cli_json_output():
    out = runner.invoke(calc_app, ["tmall-late", "--amount", "2000", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["amount"] == "500.00" and data["form"] == "tmall_points"
    out = runner.invoke(calc_app, ["pdd-logistics", "--orders", "4", "--json"])
    assert json.loads(out.stdout)["amount"] == "20.00"
    out = runner.invoke(calc_app, ["pdd-reply-fine", "--buyers", "101", "--replied", "50", "--json"])
    assert json.loads(out.stdout)["amount"] == "1000.00"
    out = runner.invoke(calc_app, ["douyin-fake-tracking", "--paid", "50", "--json"])
    assert json.loads(out.stdout)["amount"] == "5.00"


def test_cli_times_and_errors():
    out = runner.invoke(calc_app, ["douyin-late", "--paid", "500", "--paid-at", "2024-05-01 10:00",
                                   "--shipped-at", "2024-05-03 09:00"])
    assert out.exit_code == 0 and "否" in out.output and "0 元" in out.output
    bad = runner.invoke(calc_app, ["douyin-late", "--paid", "-5"])
    assert bad.exit_code == 2 and "不能为负数" in bad.output
    bad = runner.invoke(calc_app, ["tmall-late", "--amount", "100", "--paid-at", "昨天", "--shipped-at", "今天"])
    assert bad.exit_code == 2 and "格式不对" in bad.output


def test_cli_profile_show_and_override(tmp_path):
    out = runner.invoke(calc_app, ["profile", "pinduoduo"])
    assert out.exit_code == 0 and "依据 pdd.reply_3min_rate" in out.output
    out = runner.invoke(calc_app, ["profile", "jd", "--yaml"])
    assert "session_gap_seconds: 600" in out.stdout
    custom = tmp_path / "pdd.yaml"
    custom.write_text("platform: pinduoduo\nmetrics:\n  pdd.reply_3min_rate:\n    threshold: 0.7\n", encoding="utf-8")
    out = runner.invoke(calc_app, ["profile", "--file", str(custom), "--yaml"])
    assert out.exit_code == 0 and "threshold: 0.7" in out.stdout
    custom.write_text("platform: pinduoduo\nmetrics:\n  pdd.reply_3min_rate:\n    threshhold: 0.7\n", encoding="utf-8")
    bad = runner.invoke(calc_app, ["profile", "--file", str(custom)])
    assert bad.exit_code == 2 and "不是有效的指标口径" in bad.output
    assert runner.invoke(calc_app, ["profile", "amazon"]).exit_code == 2


# ------------------------------------------------------------------ input validation (issue 9)


@pytest.mark.parametrize("paid", ["1e999999", "99999999999", "1E+30", D("1e50")])
def test_huge_amounts_are_a_clear_error(paid):
    for fn in (douyin_late_shipment, douyin_fake_tracking, tmall_late_shipment):
        with pytest.raises(ValueError, match="过大"):
            fn(paid)


def test_shipped_before_paid_is_an_error_not_negative_hours():
    paid_at, shipped_at = dt.datetime(2024, 5, 3, 10), dt.datetime(2024, 5, 1, 10)
    with pytest.raises(ValueError, match="早于付款时间"):
        douyin_late_shipment(100, paid_at=paid_at, shipped_at=shipped_at)
    with pytest.raises(ValueError, match="早于付款时间"):
        tmall_late_shipment(100, paid_at=paid_at, shipped_at=shipped_at)
    with pytest.raises(ValueError, match="发货时效"):
        tmall_late_shipment(100, paid_at=shipped_at, shipped_at=paid_at, agreed_hours=-5)


def test_huge_counts_are_a_clear_error():
    with pytest.raises(ValueError, match="过大"):
        pdd_logistics_timeout(10**30)
    with pytest.raises(ValueError, match="过大"):
        pdd_reply_rate_fine(10**30, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["douyin-late", "--paid", "1e999999"], "过大"),
        (["douyin-fake-tracking", "--paid", "9" * 40], "过大"),
        (["douyin-late", "--paid", "100", "--paid-at", "2024-05-03 10:00", "--shipped-at", "2024-05-01 10:00"],
         "早于付款时间"),
        (["tmall-late", "--amount", "100", "--paid-at", "2024-05-03 10:00", "--shipped-at", "2024-05-01 10:00"],
         "早于付款时间"),
        (["pdd-logistics", "--orders", "9" * 30], "过大"),
    ],
)
def test_cli_bad_inputs_are_one_clear_line(args, message):
    result = CliRunner().invoke(calc_app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output and "InvalidOperation" not in result.output
