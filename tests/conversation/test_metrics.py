"""Reply metrics on small hand-computed conversations: edges of windows, turns, bots, exclusions."""

from __future__ import annotations

import datetime as dt
import pickle
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from kefuguard.conversation.metrics import (
    MetricsAggregator,
    aggregate,
    conversation_metrics,
    histogram_bucket,
    segment,
)
from kefuguard.conversation.model import Conversation, Message
from kefuguard.conversation.profiles import (
    DEFAULT_PROFILES,
    TimeWindow,
    get_profile,
    load_profile,
    profile_from_yaml,
    profile_to_yaml,
)
from kefuguard.penalties import pdd_reply_rate_fine

SH = ZoneInfo("Asia/Shanghai")


def at(stamp: str) -> dt.datetime:
    """'10:00:00' is 2024-05-01 10:00:00 Shanghai; '02 00:01:00' is 2024-05-02 00:01:00."""
    day, _, clock = stamp.rpartition(" ")
    return dt.datetime.fromisoformat(f"2024-05-{day or '01'}T{clock}").replace(tzinfo=SH)


def conv(platform: str, *script: tuple, cid: str = "c1", shop: str = "s1", buyer: str = "b1",
         reported: bool = False) -> Conversation:
    """Script items: (role, time) or (role, time, agent). Roles: buyer, agent, auto (agent auto reply), bot."""
    messages = []
    for n, item in enumerate(script):
        role, stamp, agent = (*item, "")[:3]
        messages.append(
            Message(
                conversation_id=cid, platform=platform, shop=shop, buyer_id=buyer,
                agent_id=agent if role in ("agent", "auto") else "",
                role="agent" if role == "auto" else role, auto_reply=role == "auto",
                sent_at=at(stamp), text=f"消息{n}", buyer_reported=reported and n == 0,
            )
        )
    return Conversation(conversation_id=cid, platform=platform, shop=shop, messages=messages)


def result(results, metric, agent=None, day=None):
    found = [r for r in results if r.metric == metric and r.agent_id == agent and (day is None or r.day == day)]
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------------ turns


def test_four_buyer_messages_one_reply_is_one_turn_timed_from_the_first():
    c = conv("douyin", ("buyer", "10:00:00"), ("buyer", "10:01:00"), ("buyer", "10:02:00"),
             ("buyer", "10:02:30"), ("agent", "10:03:30", "a1"))
    cm = conversation_metrics(c)
    assert len(cm.turns) == 1
    turn = cm.turns[0]
    assert turn.buyer_messages == 4
    assert turn.response_seconds == 210  # from 10:00:00, not from 10:02:30 (60 s)
    [unit] = cm.units["douyin.reply_3min_rate"]
    assert unit.hit is False


def test_messages_out_of_order_are_sorted_by_time():
    c = conv("douyin", ("agent", "10:01:00", "a1"), ("buyer", "10:00:00"))
    assert conversation_metrics(c).response_seconds == [60]


def test_bot_and_auto_replies_are_not_manual_replies():
    c = conv("pinduoduo", ("buyer", "10:00:00"), ("auto", "10:00:01", "a1"), ("bot", "10:00:05"),
             ("agent", "10:04:00", "a1"))
    cm = conversation_metrics(c)
    assert cm.response_seconds == [240]
    res = cm.results()
    assert result(res, "pdd.reply_3min_rate", "a1").value == 0.0
    assert result(res, "pdd.reply_5min_rate", "a1").value == 1.0


def test_turn_answered_only_by_bot_is_unanswered_where_bots_do_not_count():
    c = conv("douyin", ("buyer", "10:00:00"), ("bot", "10:00:02"))
    cm = conversation_metrics(c)
    assert [t.outcome for t in cm.turns] == ["unanswered"]
    assert result(cm.results(), "douyin.no_reply_rate", "").value == 1.0


def test_profile_may_count_bot_replies():
    profile = load_profile({"platform": "pinduoduo", "bot_reply": "valid"})
    c = conv("pinduoduo", ("buyer", "10:00:00"), ("bot", "10:00:05"))
    assert conversation_metrics(c, profile).response_seconds == [5]


def test_first_response_and_response_list():
    c = conv("douyin", ("buyer", "10:00:00"), ("agent", "10:00:40", "a1"), ("buyer", "10:05:00"),
             ("agent", "10:07:00", "a1"), ("buyer", "10:20:00"))
    cm = conversation_metrics(c)
    assert cm.first_response_seconds == 40
    assert cm.response_seconds == [40, 120]
    assert cm.unanswered_turns == 1


# ------------------------------------------------------------------ windows and days


def test_douyin_window_edge_225959_counted_230000_not():
    inside = conv("douyin", ("buyer", "22:59:59"), ("agent", "23:01:00", "a1"), cid="in")
    outside = conv("douyin", ("buyer", "23:00:00"), ("agent", "23:01:00", "a1"), cid="out")
    [u_in] = conversation_metrics(inside).units["douyin.reply_3min_rate"]
    [u_out] = conversation_metrics(outside).units["douyin.reply_3min_rate"]
    assert u_in.counted and u_in.hit is True  # 61 s
    assert u_out.excluded == "window"
    res = aggregate([inside, outside]).results()
    r = result(res, "douyin.reply_3min_rate")
    assert (r.numerator, r.denominator, r.value) == (1, 1, 1.0)
    assert "时段外 1" in r.note


def test_douyin_window_starts_at_0800():
    early = conv("douyin", ("buyer", "07:59:59"), ("agent", "08:00:30", "a1"))
    on_time = conv("douyin", ("buyer", "08:00:00"), ("agent", "08:00:30", "a1"), cid="c2")
    assert conversation_metrics(early).units["douyin.reply_3min_rate"][0].excluded == "window"
    assert conversation_metrics(on_time).units["douyin.reply_3min_rate"][0].counted


def test_reply_crossing_midnight_counts_on_the_buyers_day():
    # Taobao's 5-minute reception rule has no assessment hours, so a wait can straddle midnight.
    fast = conv("taobao", ("buyer", "23:58:30"), ("agent", "02 00:01:00", "a1"), cid="fast")  # 150 s
    slow = conv("taobao", ("buyer", "23:59:00"), ("agent", "02 00:05:00", "a1"), cid="slow")  # 360 s
    agg = aggregate([fast, slow])
    assert agg.days == [dt.date(2024, 5, 1)]
    r = result(agg.results(), "tb.reply_5min_rate", day=dt.date(2024, 5, 1))
    assert (r.numerator, r.denominator) == (1, 2)
    assert r.fine_yuan == 0.0  # the 20 yuan per late reply is audit.reply_time's, charged once per event
    # Douyin: asked at 22:59:59 (in hours), answered after midnight: a miss on the 1st, yet not a no-reply.
    dy = aggregate([conv("douyin", ("buyer", "22:59:59"), ("agent", "02 00:00:30", "a1"))]).results()
    late = result(dy, "douyin.reply_3min_rate", day=dt.date(2024, 5, 1))
    assert (late.numerator, late.denominator) == (0, 1)
    assert result(dy, "douyin.no_reply_rate", day=dt.date(2024, 5, 1)).value == 0.0


def test_aware_utc_timestamps_use_the_shanghai_day():
    utc = ZoneInfo("UTC")
    msgs = [
        Message(conversation_id="u", platform="pinduoduo", shop="s1", role="buyer", buyer_id="b",
                sent_at=dt.datetime(2024, 5, 1, 16, 30, tzinfo=utc), text="在吗"),
        Message(conversation_id="u", platform="pinduoduo", shop="s1", role="agent", agent_id="a1",
                sent_at=dt.datetime(2024, 5, 1, 16, 31, tzinfo=utc), text="您好"),
    ]
    cm = conversation_metrics(Conversation(conversation_id="u", platform="pinduoduo", shop="s1", messages=msgs))
    [u] = cm.units["pdd.reply_3min_rate"]
    assert u.day == dt.date(2024, 5, 2)
    assert u.excluded == "window"  # 00:30 in Shanghai


def test_time_window_wrapping_midnight():
    night = TimeWindow(start=dt.time(23), end=dt.time(9))
    assert night.contains(at("23:00:00"))
    assert night.contains(at("02 03:00:00"))
    assert not night.contains(at("09:00:00"))
    inclusive = TimeWindow(start=dt.time(8), end=dt.time(22, 59, 59), end_inclusive=True)
    assert inclusive.contains(at("22:59:59")) and not inclusive.contains(at("23:00:00"))


# ------------------------------------------------------------------ Pinduoduo


def test_pdd_buyer_effective_only_if_every_turn_within_3_minutes():
    b1 = conv("pinduoduo", ("buyer", "10:00:00"), ("agent", "10:01:00", "a1"), ("buyer", "11:00:00"),
              ("agent", "11:04:00", "a1"), cid="c1", buyer="b1")
    b2 = conv("pinduoduo", ("buyer", "10:00:00"), ("agent", "10:00:30", "a1"), cid="c2", buyer="b2")
    r = result(aggregate([b1, b2]).results(), "pdd.reply_3min_rate")
    assert (r.numerator, r.denominator, r.value) == (1, 2, 0.5)
    assert r.passed is True  # ≥ 50%
    r5 = result(aggregate([b1, b2]).results(), "pdd.reply_5min_rate")
    assert (r5.numerator, r5.denominator) == (2, 2)


def test_pdd_buyer_in_two_conversations_is_one_consulting_buyer():
    ok = conv("pinduoduo", ("buyer", "10:00:00"), ("agent", "10:01:00", "a1"), cid="c1", buyer="b1")
    late = conv("pinduoduo", ("buyer", "15:00:00"), ("agent", "15:10:00", "a2"), cid="c2", buyer="b1")
    agg = aggregate([ok, late])
    shop = result(agg.results(), "pdd.reply_3min_rate")
    assert (shop.numerator, shop.denominator) == (0, 1)
    per_agent = agg.results(level="agent")
    assert result(per_agent, "pdd.reply_3min_rate", "a1").value == 1.0
    assert result(per_agent, "pdd.reply_3min_rate", "a2").value == 0.0


def test_pdd_first_turn_rule_is_configurable():
    profile = load_profile({"platform": "pinduoduo", "metrics": {"pdd.reply_3min_rate": {"buyer_rule": "first_turn"}}})
    ok = conv("pinduoduo", ("buyer", "10:00:00"), ("agent", "10:01:00", "a1"), cid="c1")
    late = conv("pinduoduo", ("buyer", "15:00:00"), ("agent", "15:10:00", "a1"), cid="c2")
    agg = aggregate([late, ok], {"pinduoduo": profile})
    assert result(agg.results(), "pdd.reply_3min_rate").value == 1.0


def test_pdd_reported_buyer_leaves_the_denominator():
    abusive = conv("pinduoduo", ("buyer", "10:00:00"), ("agent", "10:20:00", "a1"), cid="c1", buyer="bad",
                   reported=True)
    again = conv("pinduoduo", ("buyer", "12:00:00"), cid="c2", buyer="bad")  # same buyer, not flagged here
    fine = conv("pinduoduo", ("buyer", "10:00:00"), ("agent", "10:00:30", "a1"), cid="c3", buyer="good")
    r = result(aggregate([abusive, again, fine]).results(), "pdd.reply_3min_rate")
    assert (r.numerator, r.denominator, r.value) == (1, 1, 1.0)
    assert "举报/拉黑买家 1" in r.note


def _pdd_day(buyers: int, replied: int, day: str = "01") -> list[Conversation]:
    out = []
    for n in range(buyers):
        script = [("buyer", f"{day} 10:00:00")]
        if n < replied:
            script.append(("agent", f"{day} 10:01:00", "a1" if n % 2 else "a2"))
        out.append(conv("pinduoduo", *script, cid=f"{day}-{n}", buyer=f"b{n}"))
    return out


@pytest.mark.parametrize(
    ("buyers", "replied", "fine"),
    [(100, 49, 0.0), (101, 50, 1000.0), (101, 51, 0.0), (100, 0, 0.0), (150, 74, 1000.0)],
)
def test_pdd_fine_needs_more_than_100_buyers_and_rate_below_half(buyers, replied, fine):
    r = result(aggregate(_pdd_day(buyers, replied)).results(), "pdd.reply_3min_rate")
    assert (r.numerator, r.denominator) == (replied, buyers)
    assert r.fine_yuan == fine
    assert float(pdd_reply_rate_fine(buyers, replied).amount) == fine  # calculator agrees


def test_pdd_fine_is_per_shop_day_not_per_agent_and_adds_up_over_a_period():
    agg = aggregate(_pdd_day(101, 50, "01") + _pdd_day(101, 50, "02") + _pdd_day(101, 60, "03"))
    daily = [r for r in agg.results() if r.metric == "pdd.reply_3min_rate"]
    assert [r.fine_yuan for r in daily] == [1000.0, 1000.0, 0.0]
    total = result(agg.results(period="total"), "pdd.reply_3min_rate")
    assert total.fine_yuan == 2000.0 and total.day is None and total.denominator == 303
    assert all(r.fine_yuan == 0 for r in agg.results(level="agent") if r.metric == "pdd.reply_3min_rate")


# ------------------------------------------------------------------ JD


def test_jd_sessions_split_after_10_minutes_and_first_30_seconds():
    c = conv("jd", ("buyer", "10:00:00"), ("agent", "10:00:20", "a1"),
             ("buyer", "10:05:00"), ("agent", "10:06:00", "a1"),  # within 10 min of 10:00:20: same session
             ("buyer", "10:30:00"), ("agent", "10:31:00", "a1"))  # 24 min after 10:06: new session
    cm = conversation_metrics(c)
    assert [s.turns for s in cm.sessions] == [(0, 1), (2,)]
    res = cm.results()
    first = result(res, "jd.first_30s_rate", "a1")
    assert (first.numerator, first.denominator) == (1, 2)
    mean = result(res, "jd.mean_response", "a1")
    assert mean.value == pytest.approx((20 + 60 + 60) / 3)
    assert mean.unit == "s"


@pytest.mark.parametrize(("gap", "sessions"), [("10:10:00", 1), ("10:10:01", 2)])
def test_jd_session_gap_edge(gap, sessions):
    c = conv("jd", ("buyer", "10:00:00"), ("buyer", gap), ("agent", "10:10:05", "a1"))
    _, found = segment(c, get_profile("jd"))
    assert len(found) == sessions


def test_jd_sessions_started_23_to_09_are_excluded_even_when_they_continue():
    night = conv("jd", ("buyer", "08:59:59"), ("agent", "09:00:10", "a1"), ("buyer", "09:05:00"),
                 ("agent", "09:05:10", "a1"), cid="night")
    morning = conv("jd", ("buyer", "09:00:00"), ("agent", "09:00:40", "a1"), cid="morning")
    late = conv("jd", ("buyer", "22:55:00"), ("agent", "22:55:10", "a1"), ("buyer", "23:02:00"),
                ("agent", "23:02:50", "a1"), cid="late")
    res = aggregate([night, morning, late]).results()
    first = result(res, "jd.first_30s_rate")
    assert (first.numerator, first.denominator) == (1, 2)  # late (10 s) hits, morning (40 s) misses
    mean = result(res, "jd.mean_response")
    assert mean.denominator == 3  # morning 40, late 10 and 50; night's two turns excluded
    assert mean.value == pytest.approx((40 + 10 + 50) / 3)


def test_jd_unanswered_turns_stay_out_of_the_mean():
    c = conv("jd", ("buyer", "10:00:00"), ("agent", "10:01:00", "a1"), ("buyer", "10:30:00"))
    mean = result(conversation_metrics(c).results(), "jd.mean_response", "a1")
    assert (mean.value, mean.denominator) == (60, 1)


# ------------------------------------------------------------------ Taobao / Tmall


def test_taobao_manual_average_caps_at_10_minutes_and_unanswered_counts_10():
    c = conv("taobao", ("buyer", "10:00:00"), ("agent", "10:01:00", "a1"),
             ("buyer", "11:00:00"), ("agent", "11:15:00", "a1"),
             ("buyer", "12:00:00"))
    mean = result(conversation_metrics(c).results(), "tb.manual_avg_response", "a1")
    assert mean.value == pytest.approx((60 + 600 + 600) / 3)


def test_taobao_fully_automatic_bot_turn_is_excluded_from_both_sides():
    c = conv("tmall", ("buyer", "10:00:00"), ("bot", "10:00:03"),
             ("buyer", "10:05:00"), ("agent", "10:06:00", "a1"))
    cm = conversation_metrics(c)
    assert [t.outcome for t in cm.turns] == ["bot", "answered"]
    res = cm.results()
    mean = result(res, "tb.manual_avg_response", "a1")
    assert (mean.value, mean.denominator) == (60, 1)
    rate = result(res, "tb.manual_3min_rate", "a1")
    assert (rate.numerator, rate.denominator) == (1, 1)
    assert "机器人接待 1" in rate.note
    assert aggregate([c]).histogram()["未回复"] == 0


def test_taobao_window_excludes_2300():
    counted = conv("taobao", ("buyer", "22:59:59"), ("agent", "23:00:30", "a1"), cid="a")
    dropped = conv("taobao", ("buyer", "23:00:00"), ("agent", "23:00:30", "a1"), cid="b")
    r = result(aggregate([counted, dropped]).results(), "tb.manual_3min_rate")
    assert (r.numerator, r.denominator) == (1, 1)
    five = result(aggregate([counted, dropped]).results(), "tb.reply_5min_rate")
    assert five.denominator == 2  # the reception rule applies all day


def test_a_per_miss_charge_on_a_metric_counts_each_miss():
    c = conv("taobao", ("buyer", "10:00:00"), ("agent", "10:04:59", "a1"),
             ("buyer", "11:00:00"), ("agent", "11:05:01", "a1"),
             ("buyer", "12:00:00"))
    r = result(aggregate([c]).results(level="agent"), "tb.reply_5min_rate", "a1")
    assert (r.numerator, r.denominator) == (1, 3)
    assert r.fine_yuan == 0.0  # by default the turn checks charge these events, not the metric
    per_miss = load_profile({"platform": "taobao", "metrics": {
        "tb.reply_5min_rate": {"fine_per_miss_yuan": 20, "fine_scope": "internal"}}})
    r = result(aggregate([c], {"taobao": per_miss}).results(level="agent"), "tb.reply_5min_rate", "a1")
    assert r.fine_yuan == 40.0
    assert "店内规定：2 次 × 20 元" in r.note


def test_taobao_first_response_is_per_conversation():
    a = conv("taobao", ("buyer", "10:00:00"), ("agent", "10:00:20", "a1"), ("buyer", "10:30:00"),
             ("agent", "10:40:00", "a1"), cid="a")
    b = conv("taobao", ("buyer", "10:00:00"), ("agent", "10:01:00", "a1"), cid="b")
    r = result(aggregate([a, b]).results(), "tb.first_response")
    assert r.value == pytest.approx(40)


# ------------------------------------------------------------------ Kuaishou


def test_kuaishou_counts_only_buyers_routed_to_a_human():
    bot_only = conv("kuaishou", ("buyer", "10:00:00"), ("bot", "10:00:02"), cid="k1", buyer="x")
    fast = conv("kuaishou", ("buyer", "10:00:00"), ("agent", "10:02:00", "a1"), cid="k2", buyer="y")
    slow = conv("kuaishou", ("buyer", "10:00:00"), ("agent", "10:04:00", "a1"), cid="k3", buyer="z")
    night = conv("kuaishou", ("buyer", "23:30:00"), ("agent", "23:31:00", "a1"), cid="k4", buyer="w")
    r = result(aggregate([bot_only, fast, slow, night]).results(), "ks.manual_3min_rate")
    assert (r.numerator, r.denominator) == (1, 2)
    ignored = conv("kuaishou", ("buyer", "10:00:00"), cid="k5", buyer="v")  # no bot, no human: waited for one
    r = result(aggregate([bot_only, fast, slow, night, ignored]).results(), "ks.manual_3min_rate")
    assert (r.numerator, r.denominator) == (1, 3)
    assert r.passed is None  # no published threshold in the seeds


# ------------------------------------------------------------------ Douyin rates


def test_douyin_no_reply_rate_must_be_below_20_percent():
    answered = [conv("douyin", ("buyer", "10:00:00"), ("agent", "10:01:00", "a1"), cid=f"c{n}") for n in range(4)]
    silent = conv("douyin", ("buyer", "10:00:00"), cid="silent")
    r = result(aggregate([*answered, silent]).results(), "douyin.no_reply_rate")
    assert (r.numerator, r.denominator, r.value) == (1, 5, 0.2)
    assert r.passed is False  # 20% is not < 20%
    rate = result(aggregate([*answered, silent]).results(), "douyin.reply_3min_rate")
    assert (rate.value, rate.passed) == (0.8, False)  # 80% is not > 80%
    more = conv("douyin", ("buyer", "10:00:00"), ("agent", "10:00:10", "a1"), cid="more")
    ok = result(aggregate([*answered, silent, more]).results(), "douyin.no_reply_rate")
    assert ok.value == pytest.approx(1 / 6) and ok.passed is True


def test_buyer_asking_again_before_any_reply_stays_in_the_same_turn():
    c = conv("douyin", ("buyer", "10:00:00"), ("buyer", "11:00:00"), ("agent", "11:01:00", "a1"))
    cm = conversation_metrics(c)
    assert len(cm.turns) == 1 and cm.turns[0].response_seconds == 3660
    res = cm.results()
    assert result(res, "douyin.no_reply_rate", "a1").value == 0.0
    assert result(res, "douyin.reply_3min_rate", "a1").value == 0.0


def test_douyin_three_minute_boundary_is_inclusive():
    exact = conv("douyin", ("buyer", "10:00:00"), ("agent", "10:03:00", "a1"), cid="a")
    over = conv("douyin", ("buyer", "10:00:00"), ("agent", "10:03:01", "a1"), cid="b")
    assert conversation_metrics(exact).units["douyin.reply_3min_rate"][0].hit is True
    assert conversation_metrics(over).units["douyin.reply_3min_rate"][0].hit is False


# ------------------------------------------------------------------ aggregation


def _mixed() -> list[Conversation]:
    return [
        conv("douyin", ("buyer", "10:00:00"), ("agent", "10:01:00", "a1"), cid="d1", buyer="x"),
        conv("douyin", ("buyer", "10:00:00"), ("agent", "10:05:00", "a2"), cid="d2", buyer="y"),
        conv("douyin", ("buyer", "02 10:00:00"), ("agent", "02 10:00:10", "a1"), cid="d3", buyer="z"),
        conv("pinduoduo", ("buyer", "10:00:00"), ("agent", "10:01:00", "p1"), cid="p1", shop="s2"),
        conv("pinduoduo", ("buyer", "10:00:00"), cid="p2", shop="s2", buyer="q"),
        conv("jd", ("buyer", "10:00:00"), ("agent", "10:00:10", "j1"), cid="j1", shop="s3"),
        conv("taobao", ("buyer", "10:00:00"), ("bot", "10:00:01"), ("buyer", "10:02:00"),
             ("agent", "10:03:00", "t1"), cid="t1", shop="s4"),
    ]


def _dump(agg: MetricsAggregator, **kw) -> list[dict]:
    return [r.model_dump() for r in agg.results(**kw)]


def test_per_agent_shop_and_day_results():
    agg = aggregate(_mixed())
    agents = agg.results(level="agent")
    day1 = dt.date(2024, 5, 1)
    assert result(agents, "douyin.reply_3min_rate", "a1", day1).value == 1.0
    assert result(agents, "douyin.reply_3min_rate", "a2", day1).value == 0.0
    shop_day1 = result(agg.results(), "douyin.reply_3min_rate", day=day1)
    assert (shop_day1.numerator, shop_day1.denominator) == (1, 2)
    total = result(agg.results(period="total"), "douyin.reply_3min_rate")
    assert (total.numerator, total.denominator) == (2, 3)
    unanswered = result(agents, "pdd.reply_3min_rate", "", day1)  # nobody took buyer q
    assert unanswered.value == 0.0
    assert {r.shop for r in agg.results()} == {"s1", "s2", "s3", "s4"}


def test_merge_of_partial_aggregators_equals_one_pass_and_survives_pickle():
    convs = _mixed() * 2
    whole = aggregate(convs)
    left, right = aggregate(convs[::2]), aggregate(convs[1::2])
    merged = pickle.loads(pickle.dumps(left)).merge(pickle.loads(pickle.dumps(right)))
    for kw in ({}, {"level": "agent"}, {"period": "total"}):
        assert _dump(merged, **kw) == _dump(whole, **kw)
    assert merged.histogram() == whole.histogram()


def test_merge_refuses_different_profiles():
    changed = load_profile({"platform": "douyin", "metrics": {"douyin.reply_3min_rate": {"threshold": 0.9}}})
    with pytest.raises(ValueError, match="different douyin"):
        MetricsAggregator().merge(MetricsAggregator({**DEFAULT_PROFILES, "douyin": changed}))


def test_histogram_buckets():
    assert histogram_bucket(30) == "0-30s"
    assert histogram_bucket(31) == "30s-1m"
    assert histogram_bucket(600) == "5-10m"
    assert histogram_bucket(601) == ">10m"
    assert histogram_bucket(None) == "未回复"
    h = aggregate(_mixed()).histogram()
    assert h["0-30s"] == 2 and h["30s-1m"] == 3 and h["3-5m"] == 1 and h["未回复"] == 1
    assert sum(h.values()) == 7  # the Taobao bot-handled turn is left out


def test_accumulator_cells_are_small_and_keyed_by_shop_agent_day():
    agg = aggregate(_mixed())
    assert ("douyin", "s1", "a1", dt.date(2024, 5, 2)) in agg.cells
    assert all(len(k) == 4 for k in agg.cells)


# ------------------------------------------------------------------ profiles


def test_profile_override_from_yaml_changes_only_what_is_given():
    text = """
platform: pinduoduo
metrics:
  pdd.reply_3min_rate:
    threshold: 0.6
    window: {start: 8:00, end: 23:00}
  pdd.reply_5min_rate: null
"""
    p = profile_from_yaml(text)
    spec = p.metrics["pdd.reply_3min_rate"]
    assert spec.threshold == 0.6
    assert spec.window == TimeWindow(start=dt.time(8), end=dt.time(23))
    assert spec.limit_seconds == 180 and spec.fine is not None  # untouched
    assert "pdd.reply_5min_rate" not in p.metrics
    r = result(aggregate([conv("pinduoduo", ("buyer", "10:00:00"), ("agent", "10:02:00", "a"))],
                         {"pinduoduo": p}).results(), "pdd.reply_3min_rate")
    assert r.threshold == 0.6 and r.passed is True


def test_the_override_example_in_the_docs_parses():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    p = profile_from_yaml(example)
    assert p.metrics["pdd.reply_3min_rate"].threshold == 0.6
    assert list(p.metrics) == ["pdd.reply_3min_rate"]


def test_profile_yaml_round_trip_and_rejects_unknown_keys():
    for profile in DEFAULT_PROFILES.values():
        assert profile_from_yaml(profile_to_yaml(profile)) == profile
    with pytest.raises(ValidationError):
        load_profile({"platform": "douyin", "metrics": {"douyin.reply_3min_rate": {"limit_secs": 120}}})
    with pytest.raises(ValidationError):
        load_profile({"platform": "douyin", "metrics": {"x": {"title": "t", "kind": "within_rate", "unit": "turn"}}})
    with pytest.raises(ValueError, match=r"unknown platform|no metric profile"):
        load_profile({"platform": "amazon"})


def test_changed_response_limit_takes_effect():
    p = load_profile({"platform": "douyin", "metrics": {"douyin.reply_3min_rate": {"limit_seconds": 60}}})
    c = conv("douyin", ("buyer", "10:00:00"), ("agent", "10:02:00", "a1"))
    assert conversation_metrics(c, p).units["douyin.reply_3min_rate"][0].hit is False
    assert conversation_metrics(c).units["douyin.reply_3min_rate"][0].hit is True


def test_every_platform_has_a_profile_with_sources():
    from kefuguard.rules.model import PLATFORMS

    assert set(DEFAULT_PROFILES) == set(PLATFORMS)
    for profile in DEFAULT_PROFILES.values():
        assert profile.metrics
        for spec in profile.metrics.values():
            assert spec.source
    assert get_profile("douyin").assessment_cycle_days == 7
    with pytest.raises(ValueError):
        conversation_metrics(conv("douyin", ("buyer", "10:00:00")), get_profile("jd"))
