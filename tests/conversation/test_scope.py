"""Scope (issue 9, item 3): the checks skip the buyers and turns the platform's metrics exclude, and say why;
a blank agent id is reported as unassigned (未分配), never ranked as an agent."""

from __future__ import annotations

import datetime as dt
import io

from rich.console import Console

from kefuguard.audit import _scope_skips, audit_batch
from kefuguard.checker import get_checker
from kefuguard.conversation.checks import audit_conversation
from kefuguard.conversation.config import AuditConfig
from kefuguard.conversation.model import SHANGHAI, Conversation, Message
from kefuguard.conversation.profiles import load_profile
from kefuguard.conversation.results import AuditReport, ConversationResult
from kefuguard.conversation.scoring import AuditTotals
from kefuguard.io.reports.common import UNASSIGNED_ZH, ranked_agents, unassigned_agents
from kefuguard.io.reports.html_report import render_html
from kefuguard.io.reports.terminal import print_summary

DAY = dt.datetime(2025, 6, 16, tzinfo=SHANGHAI)
TURN_CHECKS = ("audit.missed_reply", "audit.reply_time")


def _at(clock: str) -> dt.datetime:
    h, m, *s = (int(x) for x in clock.split(":"))
    return DAY + dt.timedelta(hours=h, minutes=m, seconds=s[0] if s else 0)


def _conv(platform: str, rows: list[tuple], *, reported: bool = False, agent: str = "客服A", cid: str = "c1") -> Conversation:
    """rows: (role, "HH:MM[:SS]", text)."""
    messages = [
        Message(
            conversation_id=cid, platform=platform, shop="店A", buyer_id="b1",
            agent_id=agent if role == "agent" else "", role=role, sent_at=_at(clock), text=text,
            buyer_reported=reported and role == "buyer",
        )
        for role, clock, text in rows
    ]
    return Conversation(conversation_id=cid, platform=platform, shop="店A", messages=messages)


def _audit(conv: Conversation, profile=None) -> ConversationResult:
    return audit_conversation(conv, get_checker(conv.platform), AuditConfig(), profile)


def _turn_findings(result: ConversationResult) -> list[tuple[str, int | None]]:
    return [(f.check_id, f.message_index) for f in result.findings if f.check_id in TURN_CHECKS]


def _skips(result: ConversationResult) -> list[tuple[str, int, int | None, str]]:
    return [(s.check_id, s.turn, s.message_index, s.reason) for s in result.skipped]


# ------------------------------------------------------------------------------------- reported buyer
REPORTED_ROWS = [
    ("buyer", "10:00", "这个有货吗"),  # turn 0: answered after 400 s (late on Pinduoduo: 180 s)
    ("agent", "10:06:40", "亲，有货的哦，您放心拍"),
    ("buyer", "10:10", "这个是什么材质的"),  # turn 1: never answered
]


def test_pinduoduo_reported_buyer_is_skipped_with_the_reason() -> None:
    result = _audit(_conv("pinduoduo", REPORTED_ROWS, reported=True))
    assert _turn_findings(result) == []
    assert _skips(result) == [
        ("audit.reply_time", 0, 0, "reported"),
        ("audit.missed_reply", 1, 2, "reported"),
    ]
    assert "买家已举报" in result.tags


def test_the_same_buyer_not_reported_is_flagged() -> None:
    result = _audit(_conv("pinduoduo", REPORTED_ROWS))
    assert _turn_findings(result) == [("audit.reply_time", 1), ("audit.missed_reply", 2)]
    assert result.skipped == []


def test_reported_buyer_counts_where_a_metric_still_counts_them() -> None:
    # Tmall's 5-minute reception rule (tb.reply_5min_rate) counts reported buyers: the checks flag as before
    rows = [("buyer", "10:00", "这个有货吗"), ("agent", "10:06:40", "亲，有货的哦"), ("buyer", "10:10", "便宜点")]
    result = _audit(_conv("tmall", rows, reported=True))
    assert _turn_findings(result) == [("audit.reply_time", 1), ("audit.missed_reply", 2)]
    assert result.skipped == []


# ------------------------------------------------------------------------------------- bot-only turn
def test_tmall_bot_only_turns_are_skipped() -> None:
    rows = [
        ("buyer", "10:00", "在吗"),  # turn 0: the bot answers, the agent only 7 minutes later
        ("bot", "10:00:05", "您好，机器人小助手为您服务"),
        ("agent", "10:07", "亲，久等了，请问有什么可以帮您"),
        ("buyer", "10:20", "发什么快递"),  # turn 1: only the bot ever answers
        ("bot", "10:20:03", "默认发中通快递哦"),
    ]
    result = _audit(_conv("tmall", rows))
    assert _turn_findings(result) == []
    assert _skips(result) == [("audit.reply_time", 0, 0, "bot"), ("audit.missed_reply", 1, 3, "bot")]


def test_buyer_writing_again_after_the_bot_is_counted() -> None:
    # the metrics close the bot turn and count the buyer's next message as a new turn: 漏回复 of that
    # message, as the metric counts it; the bot-closed turn is skipped with the reason
    rows = [("buyer", "10:00", "在吗"), ("bot", "10:00:05", "您好，机器人为您服务"), ("buyer", "10:01", "转人工")]
    result = _audit(_conv("tmall", rows))
    assert _turn_findings(result) == [("audit.missed_reply", 2)]
    assert _skips(result) == [("audit.missed_reply", 0, 0, "bot")]


def test_bot_only_turn_where_the_platform_ignores_bots_is_flagged() -> None:
    # Pinduoduo: bot replies are not replies (bot_reply: ignore); the buyer counts as unanswered
    rows = [("buyer", "10:00", "在吗"), ("bot", "10:00:05", "您好，机器人为您服务")]
    result = _audit(_conv("pinduoduo", rows))
    assert _turn_findings(result) == [("audit.missed_reply", 0)]
    assert result.skipped == []


def test_a_shop_profile_that_counts_bot_replies_as_valid_changes_the_scope() -> None:
    rows = [("buyer", "10:00", "在吗"), ("bot", "10:00:05", "您好，机器人为您服务")]
    lenient = load_profile({"platform": "tmall", "bot_reply": "ignore"})
    result = _audit(_conv("tmall", rows), lenient)
    assert _turn_findings(result) == [("audit.missed_reply", 0)]
    assert result.skipped == []


# ------------------------------------------------------------------------------------- outside the window
def test_turn_outside_the_window_is_skipped() -> None:
    rows = [
        ("buyer", "07:30", "在吗"),  # turn 0: before 08:00, never answered
        ("buyer", "10:00", "这个有货吗"),  # still turn 0 (no reply in between)
        ("agent", "10:00:20", "亲，有货的哦"),
        ("buyer", "10:05", "什么时候发货"),  # turn 1: late (4 min > 3 min)
        ("agent", "10:09", "亲，今天就发"),
        ("buyer", "10:30", "能便宜点吗"),  # turn 2: never answered, inside the window
        ("buyer", "23:30", "还在吗"),  # still turn 2
    ]
    result = _audit(_conv("douyin", rows))
    assert _turn_findings(result) == [("audit.reply_time", 4), ("audit.missed_reply", 5)]
    # turn 0 starts at 07:30, outside Douyin's 08:00-23:00 metrics: its 2.5-hour wait is recorded, not flagged
    assert _skips(result) == [("audit.reply_time", 0, 0, "window")]

    night = [("buyer", "23:30", "还在吗"), ("agent", "23:40", "亲，在的"), ("buyer", "23:45", "能便宜点吗")]
    result = _audit(_conv("douyin", night))
    assert _turn_findings(result) == []
    assert _skips(result) == [("audit.reply_time", 0, 0, "window"), ("audit.missed_reply", 1, 2, "window")]


def test_assessment_hours_set_by_a_shop_still_narrow_reply_time() -> None:
    # a shop that judges slow replies only 09:00-18:00: a late reply to a 19:00 question is not a candidate
    rows = [("buyer", "19:00", "还在吗"), ("agent", "19:10", "亲，在的")]
    config = AuditConfig(assessment_hours=("09:00", "18:00"))
    result = audit_conversation(_conv("tmall", rows), get_checker("tmall"), config)
    assert _turn_findings(result) == [] and result.skipped == []
    assert _turn_findings(_audit(_conv("tmall", rows))) == [("audit.reply_time", 1)]


def test_tmall_reception_rule_has_no_window() -> None:
    result = _audit(_conv("tmall", [("buyer", "23:30", "还在吗")]))
    assert _turn_findings(result) == [("audit.missed_reply", 0)]
    assert result.skipped == []


# ------------------------------------------------------------------------------------- ordinary turns
def test_ordinary_late_and_unanswered_turns_are_still_flagged() -> None:
    rows = [
        ("buyer", "10:00", "这个有货吗"),
        ("agent", "10:10", "亲，有货的哦"),  # 10 minutes: late everywhere
        ("buyer", "10:15", "什么时候发货"),  # never answered
    ]
    for platform in ("douyin", "pinduoduo", "tmall", "taobao", "kuaishou", "jd"):
        result = _audit(_conv(platform, rows))
        assert _turn_findings(result) == [("audit.reply_time", 1), ("audit.missed_reply", 2)], platform
        assert result.skipped == [], platform


def test_skips_are_serialised_and_counted_in_the_audit() -> None:
    convs = [
        _conv("pinduoduo", REPORTED_ROWS, reported=True, cid="r1"),
        _conv("tmall", [("buyer", "10:00", "在吗"), ("bot", "10:00:05", "您好")], cid="t1"),
        _conv("douyin", [("buyer", "23:30", "还在吗")], cid="d1"),
    ]
    partial = audit_batch(convs, AuditConfig())
    assert _scope_skips(partial.scope_skips) == {
        "audit.missed_reply": {"bot": 1, "reported": 1, "window": 1},
        "audit.reply_time": {"reported": 1},
    }
    result = _audit(convs[0])
    dumped = result.model_dump(mode="json")
    assert dumped["skipped"][0] == {
        "check_id": "audit.reply_time", "turn": 0, "message_index": 0, "reason": "reported",
    }
    assert ConversationResult.model_validate(dumped).skipped == result.skipped


# ------------------------------------------------------------------------------------- unassigned agent
def test_blank_agent_is_unassigned_not_ranked() -> None:
    good = _conv("douyin", [("buyer", "10:00", "有货吗"), ("agent", "10:00:10", "亲，有货的哦，欢迎下单，感谢支持")],
                 cid="g")
    bad = _conv("douyin", [("buyer", "10:00", "有货吗"), ("agent", "10:10", "有")], agent="小王", cid="b")
    nobody = _conv("douyin", [("buyer", "10:00", "有货吗"), ("buyer", "10:01", "人呢")], cid="n")
    blank = _conv("douyin", [("buyer", "10:00", "有货吗"), ("agent", "10:00:10", "亲，有货的哦，欢迎下单")],
                  agent="  ", cid="s")
    results = [_audit(c) for c in (good, bad, nobody, blank)]
    assert [r.agent_id for r in results] == ["客服A", "小王", "", ""]

    totals = AuditTotals()
    for r in results:
        totals.add(r)
    agents = totals.agent_summaries()
    ranked = [(a.agent_id, a.rank, a.unassigned) for a in agents]
    assert ranked == [("客服A", 1, False), ("小王", 2, False), ("", 0, True)]
    assert agents[-1].conversations == 2

    report = AuditReport(generated_at=dt.datetime.now(dt.UTC), agents=agents)
    assert [a.agent_id for a in ranked_agents(report)] == ["客服A", "小王"]
    assert [a.conversations for a in unassigned_agents(report)] == [2]
    out = io.StringIO()
    print_summary(report, Console(file=out, width=200))
    text = out.getvalue()
    assert "共 2 人" in text and UNASSIGNED_ZH in text
    html = render_html(report)
    assert UNASSIGNED_ZH in html
