"""Checker and metric results → alert events."""

from __future__ import annotations

import datetime as dt

import pytest

from kefuguard.alerts import AlertKind, events_from_check, events_from_metrics
from kefuguard.checker import Checker
from kefuguard.conversation.results import MetricResult
from kefuguard.findings import CheckResult
from kefuguard.rules.model import Severity

MESSAGE = "亲，加我V❤信发你优惠券，电话13812345678"


@pytest.fixture(scope="module")
def pdd() -> Checker:
    return Checker("pinduoduo")


def test_one_event_per_message_with_every_critical_rule(pdd):
    result = pdd.check(MESSAGE)
    critical = [f for f in result.findings if f.severity is Severity.critical]
    assert len(critical) >= 2 and any(f.severity is not Severity.critical for f in result.findings)
    at = dt.datetime(2026, 5, 9, 4, 0, tzinfo=dt.UTC)
    (event,) = events_from_check(
        result, tenant="t1", shop="旗舰店", agent="小美", conversation_id="c9", message_id="m3", occurred_at=at
    )
    assert event.kind is AlertKind.critical_finding
    assert (event.tenant, event.shop, event.platform, event.agent) == ("t1", "旗舰店", "pinduoduo", "小美")
    assert (event.conversation_id, event.message_id, event.occurred_at) == ("c9", "m3", at)
    first = min(critical, key=lambda f: f.start)
    assert event.subject == first.rule_id and event.title == first.title
    assert event.severity == "critical"
    assert {r.rule_id for r in event.rules} == {f.rule_id for f in critical}
    assert all(r.severity == "critical" for r in event.rules)  # major findings left out
    # buyer PII is masked everywhere in the event
    dumped = event.model_dump_json()
    assert "13812345678" not in dumped
    assert event.excerpt == "亲，加我V❤信发你优惠券，电话138****5678"
    phone = next(r for r in event.rules if r.rule_id == "common.diversion.phone")
    assert phone.matched == "138****5678"


def test_dedupe_key_is_stable_for_the_same_message_and_differs_otherwise(pdd):
    result = pdd.check(MESSAGE)
    key = events_from_check(result, tenant="t1", shop="s", agent="a")[0].dedupe_key
    assert events_from_check(pdd.check(MESSAGE), tenant="t1", shop="s", agent="a")[0].dedupe_key == key
    assert events_from_check(result, tenant="t1", shop="s", agent="b")[0].dedupe_key != key
    assert events_from_check(result, tenant="t2", shop="s", agent="a")[0].dedupe_key != key
    other = pdd.check("亲，加我V❤信哦")
    assert events_from_check(other, tenant="t1", shop="s", agent="a")[0].dedupe_key != key
    assert "13812345678" not in key


def test_no_event_without_a_critical_finding(pdd):
    clean = pdd.check("亲，您好，请问有什么可以帮您？")
    assert clean.ok and events_from_check(clean, tenant="t", shop="s") == []
    result = pdd.check(MESSAGE)
    majors = [f.model_copy(update={"severity": Severity.major}) for f in result.findings]
    downgraded = CheckResult(text=result.text, platform=result.platform, findings=majors)
    assert events_from_check(downgraded, tenant="t", shop="s") == []
    (event,) = events_from_check(downgraded, tenant="t", shop="s", min_severity=Severity.major)
    assert event.severity == "major"


def test_long_message_excerpt_is_a_window_around_the_finding(pdd):
    text = "您好" * 100 + "加我V❤信" + "谢谢" * 100
    (event,) = events_from_check(pdd.check(text), tenant="t", shop="s")
    assert event.excerpt is not None and event.excerpt.startswith("…") and event.excerpt.endswith("…")
    assert "加我V❤信" in event.excerpt and len(event.excerpt) < 150


def metric(**kw) -> MetricResult:
    base = dict(
        metric="pdd.reply_3min_rate", title="3分钟有效回复率", platform="pinduoduo", shop="旗舰店", agent_id=None,
        day=dt.date(2026, 5, 9), value=0.4, threshold=0.5, comparison=">=", passed=False, numerator=40,
        denominator=100, unit="%",
    )
    base.update(kw)
    return MetricResult(**base)


def test_metric_events_only_for_failed_thresholds():
    results = [
        metric(),
        metric(metric="pdd.reply_5min_rate", value=0.9, threshold=0.8, passed=True),
        metric(metric="tb.first_response", value=80.0, threshold=None, comparison="none", passed=None, unit="s"),
        metric(metric="douyin.no_reply_rate", platform="douyin", value=0.3, threshold=0.2, comparison="<",
               passed=False, agent_id="a7"),
        metric(metric="pdd.tiny", value=0.0, passed=False, numerator=0, denominator=2),
    ]
    events = events_from_metrics(results, tenant="t1", min_units=5)
    assert [e.subject for e in events] == ["pdd.reply_3min_rate", "douyin.no_reply_rate"]
    low, no_reply = events
    assert low.kind is AlertKind.metric_below_threshold
    assert (low.shop, low.platform, low.agent, low.title) == ("旗舰店", "pinduoduo", None, "3分钟有效回复率")
    assert low.metric is not None
    assert (low.metric.value, low.metric.threshold, low.metric.comparison) == (0.4, 0.5, ">=")
    assert (low.metric.numerator, low.metric.denominator, low.metric.day) == (40, 100, dt.date(2026, 5, 9))
    assert no_reply.agent == "a7" and no_reply.metric is not None and no_reply.metric.comparison == "<"
    assert low.dedupe_key != no_reply.dedupe_key
    # the same metric on the same shop-day dedupes; another day does not
    again = events_from_metrics([metric(value=0.35)], tenant="t1")[0]
    assert again.dedupe_key == low.dedupe_key
    assert events_from_metrics([metric(day=dt.date(2026, 5, 10))], tenant="t1")[0].dedupe_key != low.dedupe_key
    # overrides
    (named,) = events_from_metrics([metric()], tenant="t1", shop="店A", agent="小美")
    assert (named.shop, named.agent) == ("店A", "小美")
