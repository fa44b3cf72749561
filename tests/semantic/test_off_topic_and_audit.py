"""答非所问 by meaning, and both semantic checks wired into the conversation audit (off by default)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from kefuguard.checker import get_checker
from kefuguard.conversation.checks import audit_conversation
from kefuguard.conversation.config import AuditConfig
from kefuguard.conversation.model import SHANGHAI, Conversation, Message

DATA = Path(__file__).resolve().parents[2] / "src" / "kefuguard" / "rules" / "data"
T0 = dt.datetime(2025, 6, 16, 10, 0, tzinfo=SHANGHAI)


def test_seed_example_is_off_topic_and_a_real_answer_is_not(encoder) -> None:
    from kefuguard.semantic.off_topic import judge_replies, judge_reply, relevance

    # 000_…: 客户问的是否自销自产,客服居然说转给售后处理
    off = judge_reply("你们是不是自销自产的？", "亲，已经帮您转给售后处理了哦")
    assert off.off_topic and off.verdict == "off" and off.score is not None
    on = judge_reply("这个什么时候发货", "亲，今天16点前付款的订单当天发，之后的第二天上午发哦")
    assert on.verdict == "on" and on.score >= on.threshold
    # negation is not judged: both answer the shipping question
    assert judge_reply("发货了吗", "亲，还没有发货哦，明天上午发").verdict == "on"
    hold, ack = judge_replies([("发票怎么开", "亲，请稍等，我这就为您查询！"), ("好的谢谢", "不客气~")])
    assert (hold.verdict, hold.score) == ("template", None)
    assert ack.verdict == "no_question"
    assert relevance("发票怎么开", "亲，发票可以在订单详情里申请开具哦") > relevance("发票怎么开", "亲，这款是纯棉的")


def test_shipped_threshold_reproduces_the_held_out_metrics(encoder) -> None:
    from kefuguard.semantic.off_topic import off_topic_threshold, relevance_scores

    stored = json.loads((DATA.parent.parent / "semantic" / "data" / "off_topic.json").read_text(encoding="utf-8"))
    assert off_topic_threshold() == stored["threshold"]
    rows = [ln.split("\t") for ln in (DATA / "off_topic_pairs.tsv").read_text(encoding="utf-8").splitlines()
            if ln and not ln.startswith("#")][1:]
    assert len(rows) >= 200
    held = [r for r in rows if r[0] != "hold" and int(hashlib.md5(f"{r[1]}\t{r[2]}".encode()).hexdigest(), 16) % 10 < 4]
    scores = relevance_scores([(r[1], r[2]) for r in held])
    tp = sum(r[0] == "off" and s < stored["threshold"] for r, s in zip(held, scores, strict=True))
    fp = sum(r[0] == "on" and s < stored["threshold"] for r, s in zip(held, scores, strict=True))
    assert (tp, fp) == (stored["held_out"]["tp"], stored["held_out"]["fp"])
    assert stored["held_out"]["f1"] >= 0.8


def test_templates() -> None:
    from kefuguard.semantic.off_topic import asks_something, is_template

    for t in ("亲，请稍等，我这就为您查询！", "在的亲，请问有什么可以帮您？", "好的亲，稍等一下，我帮您查一下~", "收到亲，马上帮您看"):
        assert is_template(t), t
    for t in ("亲，已经发货了，顺丰SF123", "亲，这款是纯棉的", "亲，已经帮您转给售后处理了哦"):
        assert not is_template(t), t
    assert not asks_something("好的") and not asks_something("在吗？") and asks_something("在吗，这个有货吗")


def _conv(rows, platform: str = "douyin") -> Conversation:
    messages = [
        Message(conversation_id="c", platform=platform, shop="店A", buyer_id="b", agent_id="a" if r == "agent" else "",
                role=r, sent_at=T0 + dt.timedelta(seconds=s), text=t)
        for r, s, t in rows
    ]
    return Conversation(conversation_id="c", platform=platform, shop="店A", messages=messages)


CHAT = [
    ("buyer", 0, "你们是不是自销自产的？"),
    ("agent", 20, "亲，您好，已经帮您转给售后处理了哦"),
    ("buyer", 60, "详情页没写尺码啊，我170穿什么码"),
    ("agent", 80, "您自己看详情页吧，写着呢"),
    ("buyer", 120, "那什么时候发货"),
    ("agent", 130, "亲，请稍等，我这就为您查询！"),
    ("agent", 150, "亲，今天16点前付款的订单当天发，明天就能到哦"),
    ("buyer", 200, "太贵了"),
    ("agent", 210, "爱买不买，就这个价"),
    ("buyer", 260, "这个杯子能装开水吗"),
    ("agent", 270, "亲，这款有黑白粉三个颜色可以选哦"),
    ("buyer", 300, "好的谢谢"),
    ("agent", 310, "感谢您的支持，祝您购物愉快，再见~"),
]


def _by_check(result) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in result.findings:
        out.setdefault(f.check_id, []).append(f)
    return out


def test_semantic_checks_are_off_by_default_and_cost_nothing() -> None:
    result = audit_conversation(_conv(CHAT), get_checker("douyin"), AuditConfig())
    found = _by_check(result)
    assert "audit.tone" not in found and "audit.off_topic_semantic" not in found


def test_semantic_checks_in_the_audit(encoder) -> None:
    config = AuditConfig(semantic_checks=True)
    result = audit_conversation(_conv(CHAT), get_checker("douyin"), config)
    found = _by_check(result)
    [tone] = found["audit.tone"]
    assert tone.message_index == 3 and "高冷" in tone.detail and tone.category == "attitude"
    assert tone.severity == "minor" and tone.suggestion.startswith("不要高冷")
    # 爱买不买 is the rule conduct.attitude.cold's: no second, semantic finding on it
    assert any(f.check_id == "conduct.attitude.cold" and f.message_index == 8 for f in result.findings)
    # the seed's example (自销自产 → 转给售后) is the keyword check's: the semantic check leaves that turn to it
    assert [f.message_index for f in found["audit.off_topic"]] == [1]
    semantic = {f.message_index: f for f in found["audit.off_topic_semantic"]}
    assert 1 not in semantic
    # no topic word on the buyer's side: only the semantic check sees that the answer misses the question
    assert "能装开水" in semantic[10].detail and "三个颜色" in semantic[10].detail  # side by side
    # the holding template of turn 3 is not judged, and the real answer after it is on topic
    assert 5 not in semantic and 6 not in semantic
    plain = audit_conversation(_conv(CHAT), get_checker("douyin"), AuditConfig())
    assert result.score < plain.score


def test_per_check_settings_and_thresholds(encoder) -> None:
    conv = _conv(CHAT)
    on = AuditConfig.from_yaml("checks:\n  audit.tone: {semantic_checks: true, tone_threshold: 0.999}\n")
    ids = {f.check_id for f in audit_conversation(conv, get_checker("douyin"), on).findings}
    assert "audit.off_topic_semantic" in ids  # the flag is shared
    lenient = AuditConfig(semantic_checks=True, tone_threshold=1.0, off_topic_threshold=-1.0)
    ids = {f.check_id for f in audit_conversation(conv, get_checker("douyin"), lenient).findings}
    assert not ids & {"audit.tone", "audit.off_topic_semantic"}
    off = AuditConfig.from_mapping({"semantic_checks": True, "checks": {"audit.off_topic_semantic": {"enabled": False}}})
    ids = {f.check_id for f in audit_conversation(conv, get_checker("douyin"), off).findings}
    assert "audit.tone" in ids and "audit.off_topic_semantic" not in ids
    with pytest.raises(ValueError):
        AuditConfig(tone_threshold=1.5)


def test_acknowledgements_abuse_and_shared_topics_are_not_off_topic(encoder) -> None:
    chat = [
        ("buyer", 0, "机械键盘能开发票吗？"),
        ("agent", 20, "亲，我们支持开具增值税普通发票，您把抬头和税号发我，我帮您登记"),  # same topic: an answer
        ("buyer", 60, "什么垃圾客服，问半天不回"),
        ("agent", 80, "亲，真的很抱歉，您的问题我已经记录下来了，一定给您一个满意的答复"),  # the five steps, not 答非所问
        ("buyer", 120, "好的，那我拍了"),
        ("agent", 130, "感谢您的支持，祝您生活愉快，有问题随时联系我哦~"),  # nothing was asked
        ("buyer", 160, "在？"),
        ("agent", 170, "亲，这款是今年的新款哦"),
    ]
    result = audit_conversation(_conv(chat, "jd"), get_checker("jd"), AuditConfig(semantic_checks=True))
    assert not [f for f in result.findings if f.check_id in ("audit.off_topic_semantic", "audit.tone")]


def test_tone_leaves_messages_the_rules_flag_to_them(encoder) -> None:
    chat = [("buyer", 0, "能开发票吗"), ("agent", 20, "特价商品不开发票哦，爱要不要")]
    result = audit_conversation(_conv(chat), get_checker("douyin"), AuditConfig(semantic_checks=True))
    assert any(f.kind == "message" for f in result.findings)
    assert not any(f.check_id == "audit.tone" for f in result.findings)
