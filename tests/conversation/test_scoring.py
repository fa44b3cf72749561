"""Agent totals, exposure and ranking: arithmetic, merging partials, pickling."""

from __future__ import annotations

import datetime as dt
import pickle
import random

import pytest

from kefuguard.conversation.checks import audit_conversation
from kefuguard.conversation.config import AuditConfig
from kefuguard.conversation.model import SHANGHAI, Message
from kefuguard.conversation.results import AgentSummary, ConversationFinding, ConversationResult
from kefuguard.conversation.scoring import (
    AgentAccumulator,
    AuditTotals,
    ExposureAccumulator,
    rank_agents,
)
from kefuguard.rules.model import Penalty, Severity

DAY = dt.date(2025, 6, 16)
START = dt.datetime(2025, 6, 16, 10, 0, tzinfo=SHANGHAI)


def finding(check_id: str, severity: str = "minor", category: str = "diversion", refusal: bool = False,
            **penalty) -> ConversationFinding:
    return ConversationFinding(
        check_id=check_id,
        kind="conversation" if check_id.startswith("audit.") else "message",
        category=category,
        severity=severity,
        title="t",
        penalty=Penalty(text="罚", **penalty) if penalty else None,
        refusal=refusal,
    )


def result(agent: str = "a1", score: float = 100.0, findings=(), first: float | None = None, messages: int = 4,
           shop: str = "店", platform: str = "pinduoduo") -> ConversationResult:
    return ConversationResult(
        conversation_id=f"c{random.random()}",
        platform=platform,
        shop=shop,
        agent_id=agent,
        day=DAY,
        started_at=START,
        message_count=messages,
        buyer_messages=2,
        agent_messages=2,
        first_response_seconds=first,
        findings=list(findings),
        score=score,
    )


# ---------------------------------------------------------------------------------------- agents
def test_agent_accumulator_summary():
    acc = AgentAccumulator("店", "pinduoduo", "a1")
    acc.add(result(score=80, first=30, messages=6, findings=[
        finding("common.diversion.wechat", "critical"), finding("audit.missed_reply", "major", "missed_reply"),
    ]))
    acc.add(result(score=100, first=None, messages=4))
    acc.add(result(score=90, first=60, findings=[finding("audit.buyer_abuse", "info", "buyer_abuse")]))
    s = acc.summary()
    assert (s.conversations, s.messages, s.findings) == (3, 14, 2)  # buyer abuse is not the agent's
    assert s.findings_by_severity == {"critical": 1, "major": 1}
    assert s.findings_by_category == {"diversion": 1, "missed_reply": 1}
    assert s.mean_score == 90.0 and s.min_score == 80.0
    assert s.mean_first_response_seconds == 45.0
    empty = AgentAccumulator("店", "pinduoduo", "a2").summary()
    assert empty.mean_score == 100.0 and empty.mean_first_response_seconds is None


def test_agent_accumulator_rejects_other_agents():
    acc = AgentAccumulator("店", "pinduoduo", "a1")
    with pytest.raises(ValueError):
        acc.add(result(agent="a2"))
    with pytest.raises(ValueError):
        acc.merge(AgentAccumulator("店", "taobao", "a1"))


def test_rank_agents():
    summaries = [
        AgentSummary(shop="店", platform="pinduoduo", agent_id="mid", conversations=5, mean_score=90, findings=3),
        AgentSummary(shop="店", platform="pinduoduo", agent_id="best", conversations=5, mean_score=98, findings=1),
        AgentSummary(shop="店", platform="pinduoduo", agent_id="tie_more", conversations=5, mean_score=90, findings=5),
        AgentSummary(shop="店", platform="pinduoduo", agent_id="tie_same", conversations=9, mean_score=90, findings=3),
    ]
    ranked = rank_agents(summaries)
    assert [s.agent_id for s in ranked] == ["best", "tie_same", "mid", "tie_more"]
    assert [s.rank for s in ranked] == [1, 2, 2, 4]  # equal score and findings share a rank


# ---------------------------------------------------------------------------------------- exposure
def test_exposure_arithmetic():
    exp = ExposureAccumulator("店", "pinduoduo")
    exp.add(result(findings=[
        finding("pdd.diversion.other_platform", "critical", deposit_yuan=100000),
        finding("pdd.diversion.other_platform", "critical", deposit_yuan=100000),
        finding("pdd.diversion.ads", "critical", deposit_yuan=50000, listing_ban_days=[3, 7]),
        finding("conduct.abuse.insult", "critical", category="abuse", buyer_compensation_yuan=100),
        finding("common.diversion.wechat", "minor", refusal=True, fine_yuan=10),
        finding("audit.reply_time", "minor", "slow_reply", basis="shop_policy", fine_yuan=20),
        finding("audit.reply_time", "minor", "slow_reply", basis="shop_policy", fine_yuan=20),
        finding("tmall.broken_promise.x", "major", points=6),
        finding("audit.greeting", "minor", "greeting"),  # no penalty at all
    ]))
    exp.add_metric_fine("pdd.effective_reply_rate", 1000)
    e = exp.exposure()
    assert e.deposit_at_risk_yuan == 100000  # the largest deposit, not 250000
    assert e.buyer_compensation_yuan == 100
    assert e.fine_yuan == 1010  # 10 (refusal mention, counted) + 1000 metric; shop-policy 40 kept apart
    assert e.points == 6
    assert e.by_rule == {
        "pdd.effective_reply_rate": 1000, "conduct.abuse.insult": 100, "audit.reply_time": 40,
        "common.diversion.wechat": 10,
    }
    assert exp.shop_policy_yuan == 40
    text = " ".join(e.notes)
    assert "估算" in text and "店铺内部规定" in text and "40元" in text
    assert "拒绝语境" in text and "保证金" in text and "下架" in text and "1000元" in text
    if "shop_policy_yuan" in type(e).model_fields:
        assert e.shop_policy_yuan == 40


def test_exposure_from_a_real_audit(checkers):
    msgs = [
        Message(conversation_id="c", platform="pinduoduo", shop="店", agent_id="a1", role=role, text=text,
                sent_at=START + dt.timedelta(seconds=t))
        for t, role, text in [(0, "buyer", "在吗"), (10, "agent", "亲，您好，淘宝上也有卖，加我微信聊"),
                              (20, "agent", "我们不能加微信哦")]
    ]
    from kefuguard.conversation.model import Conversation

    res = audit_conversation(Conversation(conversation_id="c", platform="pinduoduo", shop="店", messages=msgs),
                             checkers["pinduoduo"], AuditConfig())
    exp = ExposureAccumulator.for_result(res)
    exp.add(res)
    e = exp.exposure()
    assert e.deposit_at_risk_yuan == 100000
    assert exp.refusal_occurrences >= 1


def test_add_metric_fine_validation():
    exp = ExposureAccumulator("店", "pinduoduo")
    exp.add_metric_fine("m", 0)
    assert exp.exposure().by_rule == {}
    with pytest.raises(ValueError):
        exp.add_metric_fine("m", -1)
    with pytest.raises(ValueError):
        exp.add(result(shop="别的店"))


# ---------------------------------------------------------------------------------------- merging
@pytest.fixture(scope="module")
def audited(checkers) -> list[ConversationResult]:
    from kefuguard.conversation.assemble import assemble_conversations
    from kefuguard.sample.generator import generate_messages

    messages = [Message.model_validate(row) for row in generate_messages(seed=3, days=1)]
    config = AuditConfig()
    return [audit_conversation(c, checkers[c.platform], config) for c in assemble_conversations(messages)]


def _state(totals: AuditTotals):
    agents = {k: a.summary().model_dump() for k, a in totals.agents.items()}
    exposures = {k: e.exposure().model_dump() for k, e in totals.exposures.items()}
    for e in exposures.values():  # float sums may differ in the last bit with the order of addition
        for key in ("fine_yuan", "buyer_compensation_yuan", "points"):
            e[key] = round(e[key], 6)
    return agents, exposures, [s.model_dump() for s in totals.agent_summaries()]


def test_merge_equals_single_accumulation(audited):
    assert len(audited) > 50 and any(r.findings for r in audited)
    single = AuditTotals()
    for r in audited:
        single.add(r)
    single.add_metric_fine("拼多多店", "pinduoduo", "pdd.effective_reply_rate", 1000)
    rng = random.Random(5)
    parts = [AuditTotals() for _ in range(4)]
    for r in audited:
        parts[rng.randrange(4)].add(r)
    parts[2].add_metric_fine("拼多多店", "pinduoduo", "pdd.effective_reply_rate", 1000)
    merged = AuditTotals()
    for p in parts:
        merged.merge(pickle.loads(pickle.dumps(p)))  # partials travel between processes
    assert _state(merged) == _state(single)
    assert len(single.agent_summaries()) == len(single.agents) > 1
    assert single.agent_summaries()[0].rank == 1


def test_accumulators_pickle(audited):
    agent = AgentAccumulator.for_result(audited[0])
    exposure = ExposureAccumulator.for_result(audited[0])
    for r in audited:
        if (r.shop, r.platform, r.agent_id) == agent.key:
            agent.add(r)
        if (r.shop, r.platform) == exposure.key:
            exposure.add(r)
    assert pickle.loads(pickle.dumps(agent)) == agent
    assert pickle.loads(pickle.dumps(exposure)) == exposure
    assert pickle.loads(pickle.dumps(agent)).summary() == agent.summary()


def test_merge_pairwise_equals_add():
    a, b, both = (AgentAccumulator("店", "pinduoduo", "a1") for _ in range(3))
    r1 = result(score=70, first=10, findings=[finding("x.y", "major")])
    r2 = result(score=95, first=None, findings=[finding("x.z", "minor", "attitude")])
    a.add(r1)
    b.add(r2)
    both.add(r1)
    both.add(r2)
    assert a.merge(b) == both
    assert both.summary().findings_by_severity == {"major": 1, "minor": 1}
    assert Severity.major.value in both.summary().findings_by_severity
