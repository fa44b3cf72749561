"""One charge per event (issue 9, item 1): hand-computed exposure for each platform's late and
unanswered turns, through the whole audit (importer → metrics → checks → exposure → reports).

Each log is small enough to compute by hand; the expected amounts below come from the seed rules,
not from running the code:

- Tmall/Taobao (003, 店铺接待规则): "超过5分钟应答或无应答每次扣除20元" — a shop-policy charge per
  event: a late reply by `audit.reply_time`, an unanswered turn by `audit.missed_reply`, never by
  the 5-minute-rate metric as well.
- Douyin (000, exam question 9): "商家不回复……每次还需赔付20元" — buyer compensation per unanswered
  turn; a late reply costs no money.
- Pinduoduo (002): "若当天咨询人数超过100,且有效回复率低于50%,就会罚款1000元" — one platform fine
  per shop-day, charged by the metric; the turn checks charge nothing.
- JD and Kuaishou: the seeds state no fixed amount for a late or unanswered reply: 0 yuan.

Bot replies: Tmall, Taobao and Kuaishou drop a turn a bot closed (`bot_reply: exclude_turn`) and
time the buyer's next message as a new turn; Douyin, Pinduoduo and JD ignore bots (the turn waits
for a person). The checks follow the same cut as the metrics.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kefuguard.audit import AuditOptions, run_audit
from kefuguard.conversation.model import SHANGHAI
from kefuguard.conversation.results import AuditReport, Exposure
from kefuguard.io.reports.html_report import render_html
from kefuguard.io.reports.xlsx_report import write_xlsx

DAY = dt.datetime(2025, 6, 16, tzinfo=SHANGHAI)
GREETING = "亲，您好，有现货的哦，今天下单今天发货"
ANSWER = "亲，默认发中通快递，感谢您的耐心等待"


def _row(platform: str, cid: str, role: str, clock: str, text: str, *, agent: str = "客服A", buyer: str = "b1") -> dict:
    h, m, s = (int(x) for x in (clock + ":00").split(":")[:3])
    return {
        "conversation_id": cid, "platform": platform, "shop": f"{platform}店", "buyer_id": buyer,
        "agent_id": agent if role == "agent" else "", "role": role,
        "sent_at": (DAY + dt.timedelta(hours=h, minutes=m, seconds=s)).isoformat(), "text": text,
    }


def _audit(tmp_path: Path, rows: list[dict]) -> AuditReport:
    log = tmp_path / "chats.jsonl"
    log.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return run_audit([log], AuditOptions(out_dir=tmp_path / "out", workers=1))


def _exposure(report: AuditReport) -> Exposure:
    (shop,) = report.shops
    assert shop.exposure is not None
    return shop.exposure


def _charges(e: Exposure) -> dict[tuple[str, str], tuple[int, float]]:
    return {(c.rule, c.basis): (c.events, c.yuan) for c in e.charges}


def _late_and_unanswered(platform: str) -> list[dict]:
    """c1: turn 0 answered in 20 s; turn 1 answered after 7 minutes (late everywhere); turn 2 asked
    at 10:10, asked again at 10:20 and never answered — late first, then unanswered: one event."""
    return [
        _row(platform, "c1", "buyer", "10:00:00", "你好，这款有现货吗？"),
        _row(platform, "c1", "agent", "10:00:20", GREETING),
        _row(platform, "c1", "buyer", "10:01:00", "发什么快递"),
        _row(platform, "c1", "agent", "10:08:00", ANSWER),
        _row(platform, "c1", "buyer", "10:10:00", "能便宜点吗"),
        _row(platform, "c1", "buyer", "10:20:00", "还在吗？"),
    ]


def _bot_interrupted(platform: str) -> list[dict]:
    """c2: a bot answers at 11:00:03; the buyer asks again at 11:02 and a person answers at 11:05:30 —
    3.5 minutes after the buyer's second message, 5.5 minutes after the first."""
    return [
        _row(platform, "c2", "buyer", "11:00:00", "在吗", buyer="b2"),
        _row(platform, "c2", "bot", "11:00:03", "您好，机器人小助手为您服务", buyer="b2"),
        _row(platform, "c2", "buyer", "11:02:00", "转人工，问下尺码怎么选", buyer="b2"),
        _row(platform, "c2", "agent", "11:05:30", "亲，您好，尺码按平时穿的拍就可以，感谢支持", buyer="b2"),
    ]


@pytest.mark.parametrize("platform", ["tmall", "taobao"])
def test_tmall_taobao_charge_each_late_or_unanswered_turn_once(tmp_path: Path, platform: str) -> None:
    report = _audit(tmp_path, _late_and_unanswered(platform) + _bot_interrupted(platform))
    e = _exposure(report)
    # c1: one late reply (7 min > 5 min) → 20; one unanswered turn (late, then never answered) → 20.
    # c2: the bot closes the 11:00 turn (dropped, as the metric drops it); the 11:02 turn is answered in
    # 210 s < 300 s → not late. The 5-minute metric charges nothing on top. Total 40 yuan, shop policy.
    assert _charges(e) == {
        ("audit.reply_time", "shop_policy"): (1, 20.0),
        ("audit.missed_reply", "shop_policy"): (1, 20.0),
    }
    assert (e.shop_policy_yuan, e.fine_yuan, e.buyer_compensation_yuan) == (40.0, 0.0, 0.0)
    assert e.by_rule == {"audit.missed_reply": 20.0, "audit.reply_time": 20.0}
    assert not any("平台指标未达标罚款" in n for n in e.notes)
    # the metric sees the same four counted turns: 20 s, 7 min, unanswered, 210 s (the bot turn left out)
    (rate,) = [m for m in report.shops[0].metrics if m.metric == "tb.reply_5min_rate"]
    assert (rate.numerator, rate.denominator, rate.fine_yuan) == (2, 4, 0.0)
    # the bot-closed 11:00 turn (a person came 330 s later) is recorded as skipped with the reason, not charged
    assert report.scope_skips == {"audit.reply_time": {"bot": 1}}


def test_a_custom_per_miss_metric_charge_does_not_double_charge(tmp_path: Path) -> None:
    from kefuguard.conversation.profiles import DEFAULT_PROFILES, load_profile

    per_miss = load_profile({"platform": "tmall", "metrics": {
        "tb.reply_5min_rate": {"fine_per_miss_yuan": 20, "fine_scope": "internal"}}})
    log = tmp_path / "chats.jsonl"
    log.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in _late_and_unanswered("tmall")) + "\n")
    profiles = dict(DEFAULT_PROFILES) | {"tmall": per_miss}
    report = run_audit([log], AuditOptions(out_dir=tmp_path / "out", workers=1, profiles=profiles))
    e = _exposure(report)
    # the metric's 2 misses × 20 are the same two events the checks charge: 40 yuan, not 80
    assert e.shop_policy_yuan == 40.0
    assert set(_charges(e)) == {("audit.reply_time", "shop_policy"), ("audit.missed_reply", "shop_policy")}
    assert any("未重复计入" in n for n in e.notes)


def test_douyin_compensates_each_unanswered_turn_and_ignores_bots(tmp_path: Path) -> None:
    report = _audit(tmp_path, _late_and_unanswered("douyin") + _bot_interrupted("douyin"))
    e = _exposure(report)
    # c1: the 7-minute reply costs no money (rate metric only); the unanswered turn → 20 yuan to the buyer.
    # c2: Douyin ignores the bot: one turn from 11:00:00 answered after 330 s → late, no money.
    assert _charges(e) == {("audit.missed_reply", "buyer_compensation"): (1, 20.0)}
    assert (e.buyer_compensation_yuan, e.fine_yuan, e.shop_policy_yuan) == (20.0, 0.0, 0.0)
    late = [f for c in report.flagged for f in c.findings if f.check_id == "audit.reply_time"]
    assert sorted(f.detail.split("（")[0] for f in late) == ["买家等待5.5分钟才获回复", "买家等待7.0分钟才获回复"]


def test_pinduoduo_charges_one_daily_fine_from_the_metric(tmp_path: Path) -> None:
    rows: list[dict] = []
    # 101 buyers on one day: 50 answered in 1 minute, 51 after 4 minutes → 3-minute rate 50/101 = 49.5%
    for n in range(101):
        cid, wait = f"p{n}", 60 if n < 50 else 240
        rows.append(_row("pinduoduo", cid, "buyer", "10:00:00", "这个有货吗？", buyer=f"b{n}"))
        rows.append(_row("pinduoduo", cid, "agent", f"10:{wait // 60:02d}:00", GREETING, buyer=f"b{n}"))
    report = _audit(tmp_path, rows)
    e = _exposure(report)
    # > 100 buyers and < 50%: 1000 yuan, once for the day; the 51 late turns cost nothing more
    assert _charges(e) == {("pdd.reply_3min_rate", "platform_fine"): (1, 1000.0)}
    assert (e.fine_yuan, e.shop_policy_yuan, e.buyer_compensation_yuan) == (1000.0, 0.0, 0.0)
    assert any("平台指标未达标罚款：pdd.reply_3min_rate 1000元" in n for n in e.notes)
    assert sum(1 for c in report.flagged for f in c.findings if f.check_id == "audit.reply_time") > 0


def test_pinduoduo_at_100_buyers_is_not_fined(tmp_path: Path) -> None:
    rows: list[dict] = []
    for n in range(100):  # exactly 100 buyers: "超过100" is not met
        cid, wait = f"p{n}", 60 if n < 10 else 240
        rows.append(_row("pinduoduo", cid, "buyer", "10:00:00", "这个有货吗？", buyer=f"b{n}"))
        rows.append(_row("pinduoduo", cid, "agent", f"10:{wait // 60:02d}:00", GREETING, buyer=f"b{n}"))
    e = _exposure(_audit(tmp_path, rows))
    assert (e.fine_yuan, e.charges) == (0.0, [])


@pytest.mark.parametrize("platform", ["jd", "kuaishou"])
def test_jd_and_kuaishou_state_no_amount_for_late_or_unanswered(tmp_path: Path, platform: str) -> None:
    report = _audit(tmp_path, _late_and_unanswered(platform) + _bot_interrupted(platform))
    e = _exposure(report)
    flagged = {f.check_id for c in report.flagged for f in c.findings}
    assert {"audit.reply_time", "audit.missed_reply"} <= flagged  # judged, and shown…
    assert (e.fine_yuan, e.buyer_compensation_yuan, e.shop_policy_yuan, e.charges) == (0.0, 0.0, 0.0, [])


def test_kuaishou_times_the_turn_after_the_bot_like_its_metric(tmp_path: Path) -> None:
    report = _audit(tmp_path, _bot_interrupted("kuaishou"))
    # Kuaishou drops bot-closed turns: the 11:02 turn is answered in 210 s (> 180 s): late, timed from 11:02
    late = [f for c in report.flagged for f in c.findings if f.check_id == "audit.reply_time"]
    assert [f.detail for f in late] == ["买家等待3.5分钟才获回复（标准3.0分钟）；机器人接待后买家再次询问，从该消息起计时"]
    (rate,) = [m for m in report.shops[0].metrics if m.metric == "ks.manual_3min_rate"]
    assert (rate.numerator, rate.denominator) == (0, 1)


def test_reports_name_the_rule_and_basis(tmp_path: Path) -> None:
    report = _audit(tmp_path, _late_and_unanswered("tmall") + _late_and_unanswered("douyin"))
    page = render_html(report)
    assert 'data-rule="audit.reply_time" data-basis="shop_policy"' in page
    assert 'data-rule="audit.missed_reply" data-basis="buyer_compensation"' in page
    assert "店铺内部规定扣款" in page and "买家赔付" in page
    assert "平台指标未达标罚款" not in page
    book = load_workbook(write_xlsx(report, tmp_path / "r.xlsx"), read_only=True)
    rows = [tuple(r) for r in book["处罚明细"].iter_rows(values_only=True)]
    assert rows[0][:7] == ("店铺", "平台", "规则", "名称", "依据", "次数", "金额（元）")
    assert {(r[0], r[2], r[4], r[5], r[6]) for r in rows[1:]} == {
        ("tmall店", "audit.reply_time", "店铺内部规定扣款", 1, 20),
        ("tmall店", "audit.missed_reply", "店铺内部规定扣款", 1, 20),
        ("douyin店", "audit.missed_reply", "买家赔付", 1, 20),
    }
    dumped = json.loads(report.model_dump_json())
    charges = {(s["shop"], c["rule"], c["basis"]) for s in dumped["shops"] for c in s["exposure"]["charges"]}
    assert charges == {
        ("tmall店", "audit.reply_time", "shop_policy"), ("tmall店", "audit.missed_reply", "shop_policy"),
        ("douyin店", "audit.missed_reply", "buyer_compensation"),
    }
