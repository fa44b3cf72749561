"""Conversation-level audit: every audit.* check firing and not firing, turns, abuse, score."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml

from kefuguard.conversation.checks import (
    AUDIT_CHECK_IDS,
    BUYER_ABUSE_TAG,
    BUYER_REPORTED_TAG,
    audit_conversation,
    load_audit_checks,
)
from kefuguard.conversation.config import AuditConfig
from kefuguard.conversation.model import SHANGHAI, Conversation, Message
from kefuguard.rules.model import Severity

from ..conftest import SEEDS_DIR

T0 = dt.datetime(2025, 6, 16, 10, 0, tzinfo=SHANGHAI)  # a Monday morning, inside working hours

EXPECTED_IDS = {
    "audit.reply_time", "audit.missed_reply", "audit.answer_ratio", "audit.quick_replies", "audit.follow_up",
    "audit.greeting", "audit.closing", "audit.curt_reply", "audit.order_confirm", "audit.refund_handling",
    "audit.night_contact", "audit.repeated_message", "audit.off_topic", "audit.buyer_abuse",
    "audit.tone", "audit.off_topic_semantic",  # semantic checks: off unless AuditConfig.semantic_checks
}

GREET = "亲，您好，欢迎光临，很高兴为您服务~"
BYE = "感谢您的支持，祝您购物愉快，再见~"


class Chat:
    """Terse conversation builder: offsets are seconds after `start`."""

    def __init__(self, platform: str = "pinduoduo", start: dt.datetime = T0, **common) -> None:
        self.platform = platform
        self.start = start
        self.common = common
        self.messages: list[Message] = []

    def _add(self, role: str, t: float, text: str, **extra) -> Chat:
        values = {
            "conversation_id": "c1",
            "platform": self.platform,
            "shop": "测试店",
            "buyer_id": "b1",
            "agent_id": extra.pop("agent_id", "" if role in ("buyer", "bot", "system") else "a1"),
            "role": role,
            "sent_at": self.start + dt.timedelta(seconds=t),
            "text": text,
            **self.common,
            **extra,
        }
        self.messages.append(Message.model_validate(values))
        return self

    def b(self, t: float, text: str, **extra) -> Chat:
        return self._add("buyer", t, text, **extra)

    def a(self, t: float, text: str, **extra) -> Chat:
        return self._add("agent", t, text, **extra)

    def bot(self, t: float, text: str) -> Chat:
        return self._add("bot", t, text)

    def sys(self, t: float, text: str) -> Chat:
        return self._add("system", t, text)

    def conv(self) -> Conversation:
        return Conversation(conversation_id="c1", platform=self.platform, shop="测试店", messages=self.messages)


@pytest.fixture(scope="module")
def config() -> AuditConfig:
    return AuditConfig()


@pytest.fixture
def audit(checkers, config):
    def run(chat: Chat, cfg: AuditConfig | None = None):
        conv = chat.conv()
        return audit_conversation(conv, checkers[conv.platform], cfg or config)

    return run


def ids(result) -> list[str]:
    return [f.check_id for f in result.findings if f.kind == "conversation"]


def good_chat(platform: str = "pinduoduo") -> Chat:
    """A model reception: greeted, answered fast and fully, closed politely."""
    return (
        Chat(platform)
        .b(0, "你好，在吗")
        .a(15, GREET)
        .b(40, "这款连衣裙今天能发货吗？")
        .a(60, "亲，今天16点前付款当天就能发出，16点后次日发出哦，发货后会有物流信息更新~")
        .b(90, "好的，那我拍了")
        .a(100, BYE)
    )


# ---------------------------------------------------------------------------------------- data
def test_check_ids_are_exactly_the_published_ones():
    assert set(AUDIT_CHECK_IDS) == EXPECTED_IDS
    for cid, check in AUDIT_CHECK_IDS.items():
        assert check.id == cid
        assert re.search(r"[\u4e00-\u9fff]", check.title), cid


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason="../shared/seeds not present")
def test_every_source_quote_is_verbatim_in_its_seed():
    def seed(name: str) -> str:
        return re.sub(r"\s+", "", (SEEDS_DIR / name).read_text(encoding="utf-8"))

    for check in AUDIT_CHECK_IDS.values():
        sources = [check.source] + [ov.source for ov in check.overrides.values() if ov.source]
        for src in sources:
            assert re.sub(r"\s+", "", src.quote) in seed(src.file), f"{check.id}: {src.quote}"


def test_platform_overrides_carry_the_seed_penalties():
    courtesy = AUDIT_CHECK_IDS["audit.greeting"].on("taobao").penalty
    assert (courtesy.basis, courtesy.fine_yuan) == ("shop_policy", 10)
    assert AUDIT_CHECK_IDS["audit.greeting"].on("pinduoduo").penalty.fine_yuan is None
    curt = AUDIT_CHECK_IDS["audit.curt_reply"].on("douyin")
    assert (curt.penalty.basis, curt.penalty.buyer_compensation_yuan, curt.severity) == ("platform", 20, Severity.major)
    assert AUDIT_CHECK_IDS["audit.refund_handling"].on("tmall").penalty.fine_yuan == 30
    assert AUDIT_CHECK_IDS["audit.follow_up"].on("taobao").penalty.fine_yuan == 20
    assert AUDIT_CHECK_IDS["audit.night_contact"].on("pinduoduo").penalty.listing_ban_days == [7]
    assert AUDIT_CHECK_IDS["audit.order_confirm"].applies_to("tmall")
    assert not AUDIT_CHECK_IDS["audit.order_confirm"].applies_to("pinduoduo")
    assert set(load_audit_checks().topics) >= {"size", "shipping", "invoice", "refund", "price", "quality"}


# ---------------------------------------------------------------------------------------- turns
def test_good_conversation_has_no_findings(audit):
    for platform in ("pinduoduo", "taobao", "tmall", "douyin", "jd", "kuaishou"):
        result = audit(good_chat(platform))
        assert result.findings == [], (platform, [(f.check_id, f.detail) for f in result.findings])
        assert result.score == 100.0


def test_turns_and_response_seconds(audit):
    result = audit(
        Chat().b(0, "在吗").b(10, "这款有现货吗").a(40, GREET).a(45, "亲，有现货的，今天拍今天发~").b(100, "发什么快递")
        .a(130, "亲，默认发中通快递，一般2-4天送达哦").b(150, "好的，谢谢").a(160, BYE)
    )
    assert result.response_seconds == [40.0, 30.0, 10.0]
    assert result.first_response_seconds == 40.0
    assert (result.message_count, result.buyer_messages, result.agent_messages) == (8, 4, 4)


def test_bot_and_auto_replies_are_not_manual_replies(audit):
    result = audit(
        Chat("taobao").b(0, "这款什么时候发货？")
        .bot(1, "【店小蜜】亲，常见问题：发货时间、尺码推荐，点击即可查看~")
        .a(2, "您好，欢迎光临！客服正在快马加鞭赶来，请稍等片刻~", auto_reply=True)
        .a(400, "亲，您好，让您久等了，今天16点前付款当天发货哦~").b(420, "好的，谢谢").a(430, BYE)
    )
    assert result.response_seconds[0] == 400.0  # the bot at 1 s and the auto-reply at 2 s do not count
    # Taobao's metrics drop a turn a bot answered first (bot_reply: exclude_turn): skipped, with the reason
    assert "audit.reply_time" not in ids(result)
    assert [(s.check_id, s.reason) for s in result.skipped] == [("audit.reply_time", "bot")]
    assert "audit.missed_reply" not in ids(result)
    # Pinduoduo ignores bot replies and times the turn from the buyer's message: late
    result = audit(
        Chat("pinduoduo").b(0, "这款什么时候发货？")
        .bot(1, "亲，常见问题：发货时间、尺码推荐，点击即可查看~")
        .a(2, "您好，欢迎光临！客服正在快马加鞭赶来，请稍等片刻~", auto_reply=True)
        .a(400, "亲，您好，让您久等了，今天16点前付款当天发货哦~").b(420, "好的，谢谢").a(430, BYE)
    )
    assert "audit.reply_time" in ids(result) and result.skipped == []
    assert "audit.missed_reply" not in ids(result)


def test_turn_answered_only_by_a_bot_is_missed(audit):
    result = audit(
        Chat("jd").b(0, "发票怎么开？").bot(1, "【京小智】您好，我是智能助手，请问有什么可以帮您？")
        .a(2, "您好，客服正在赶来~", auto_reply=True)
    )
    assert ids(result).count("audit.missed_reply") == 1
    assert result.response_seconds == [] and result.first_response_seconds is None
    missed = next(f for f in result.findings if f.check_id == "audit.missed_reply")
    assert missed.message_index == 0 and missed.severity is Severity.major


def test_missed_reply_not_for_a_closing_acknowledgement(audit):
    assert "audit.missed_reply" not in ids(audit(good_chat().b(120, "好的👌")))
    assert "audit.missed_reply" in ids(audit(good_chat().b(120, "那发什么快递呢？")))


def test_reply_time_per_platform_limit(audit):
    def chat(platform: str, wait: float, start: dt.datetime = T0) -> Chat:
        return Chat(platform, start).b(0, "这款有现货吗？").a(wait, "亲，您好，有现货的，今天拍今天发哦~").b(
            wait + 20, "好的，谢谢").a(wait + 30, BYE)

    assert "audit.reply_time" in ids(audit(chat("pinduoduo", 200)))  # 3 minutes
    assert "audit.reply_time" not in ids(audit(chat("pinduoduo", 170)))
    assert "audit.reply_time" not in ids(audit(chat("taobao", 290)))  # 5 minutes
    assert "audit.reply_time" in ids(audit(chat("taobao", 310)))
    assert "audit.reply_time" not in ids(audit(chat("jd", 100)))  # JD flags a turn only past 180 s
    assert "audit.reply_time" in ids(audit(chat("jd", 200)))
    night = T0.replace(hour=2)
    assert "audit.reply_time" not in ids(audit(chat("pinduoduo", 3600, night)))  # outside 08:00-23:00
    strict = AuditConfig(slow_reply_flag_seconds={})
    assert "audit.reply_time" in ids(audit(chat("jd", 100), strict))
    slow = next(f for f in audit(chat("taobao", 310)).findings if f.check_id == "audit.reply_time")
    assert slow.penalty.fine_yuan == 20 and slow.penalty.basis == "shop_policy" and slow.message_index == 1


# ---------------------------------------------------------------------------------------- message rules
def test_message_findings_on_agent_and_bot_messages_only(audit):
    result = audit(
        Chat().b(0, "能加我微信吗").a(10, "亲，您好，加我微信：abc12345").bot(20, "【小助手】加我微信领券哦")
        .b(30, "好的，谢谢").a(40, BYE)
    )
    msg = [f for f in result.findings if f.kind == "message"]
    assert {f.message_index for f in msg} == {1, 2}  # the buyer's own 微信 is not a violation
    f = next(f for f in msg if f.message_index == 1 and f.check_id == "common.diversion.wechat")
    assert "亲，您好，加我微信：abc12345"[f.start : f.end] == f.matched
    assert f.pack and f.penalty is not None and f.suggestion and f.category == "diversion"


def test_refusal_mentions_are_kept_at_lower_severity(audit):
    result = audit(Chat().b(0, "加个微信吧").a(10, "亲，您好，平台规定我们不能加微信哦").b(20, "好的").a(30, BYE))
    wechat = [f for f in result.findings if f.check_id == "common.diversion.wechat"]
    assert wechat and all(f.refusal for f in wechat)
    assert all(f.severity is not Severity.critical for f in wechat)


# ---------------------------------------------------------------------------------------- courtesy
def test_greeting_and_closing(audit):
    bare = Chat().b(0, "这款有现货吗").a(10, "有现货的，今天拍今天发的").b(30, "那发什么快递").a(40, "默认发中通快递的")
    assert {"audit.greeting", "audit.closing"} <= set(ids(audit(bare)))
    polite = Chat().b(0, "这款有现货吗").a(10, "亲，有现货的，今天拍今天发的").b(30, "那发什么快递").a(
        40, "默认发中通快递的，有问题随时联系我哦")
    assert not {"audit.greeting", "audit.closing"} & set(ids(audit(polite)))
    taobao = next(f for f in audit(Chat("taobao").b(0, "在").a(10, "有现货的，今天拍今天发的")).findings
                  if f.check_id == "audit.greeting")
    assert taobao.penalty.fine_yuan == 10 and taobao.penalty.basis == "shop_policy"


def test_agent_initiated_chat_is_not_judged_for_courtesy(audit):
    result = audit(Chat().a(0, "看到您浏览了连衣裙，今天下单有店铺优惠券可以用").b(600, "嗯嗯，辛苦了"))
    assert not {"audit.greeting", "audit.closing"} & set(ids(result))


def test_curt_reply(audit):
    def chat(reply: str, platform: str = "pinduoduo") -> Chat:
        return Chat(platform).b(0, "你好").a(5, GREET).b(20, "这款能用优惠券吗").a(30, reply).b(40, "好的").a(50, BYE)

    for reply in ("可以", "嗯", "好的亲", "不知道😅", "哦哦哦哦哦哦"):
        assert "audit.curt_reply" in ids(audit(chat(reply))), reply
    for reply in ("可以的亲，结算时会自动抵扣~", "亲，在吗？", "谢谢您", "请稍等"):
        assert "audit.curt_reply" not in ids(audit(chat(reply))), reply
    # a message rule that already caught the curt reply is not charged twice
    taobao = audit(chat("嗯", "taobao"))
    assert "tmall.attitude.curt_reply" in [f.check_id for f in taobao.findings]
    assert "audit.curt_reply" not in ids(taobao)
    assert "audit.curt_reply" in ids(audit(chat("可以", "taobao")))


def test_answer_ratio(audit):
    terse = (
        Chat().b(0, "你好，这款连衣裙有现货吗，什么时候发货，发什么快递，能开发票吗").a(20, "亲，您好，有现货")
        .b(40, "那尺码怎么选，我身高160体重100斤，平时穿M码，腰围比较粗").a(60, "亲，拍M码就可以")
        .b(80, "颜色会不会掉色，面料是纯棉的吗，会不会起球").a(100, "谢谢亲，再见")
    )
    found = [f for f in audit(terse).findings if f.check_id == "audit.answer_ratio"]
    assert len(found) == 1 and "答问比" in found[0].detail
    fewer_chars = (
        Chat().b(0, "你好，这款连衣裙有现货吗？什么时候发货？").a(10, "亲，您好，有的，今天发，中通，放心").b(
            20, "那尺码怎么选呢？我身高一百六十公分").a(30, "亲，拍M，合身，不紧，放心").b(
            40, "会掉色吗？面料是纯棉的吗？").a(50, "亲，不会，纯棉，透气，放心，谢谢")
    )
    found = [f for f in audit(fewer_chars).findings if f.check_id == "audit.answer_ratio"]
    assert len(found) == 1 and "字数" in found[0].detail
    assert "audit.answer_ratio" not in ids(audit(good_chat()))
    two = Chat().b(0, "这款连衣裙有现货吗，什么时候发货，发什么快递").a(10, "亲，有").b(20, "好的").a(30, BYE)
    assert "audit.answer_ratio" not in ids(audit(two))  # judged from 3 buyer messages


def test_quick_replies(audit):
    def chat(n: int) -> Chat:
        c = Chat().b(0, "你好").a(5, GREET)
        for k in range(n):
            c.b(10 + 20 * k, f"第{k + 1}个问题：这款什么时候发货呢").a(
                20 + 20 * k, f"亲，现在下单48小时内为您发货哦（{k + 1}）", quick_reply=True)
        return c.b(500, "好的").a(510, BYE)

    assert "audit.quick_replies" not in ids(audit(chat(5)))
    assert ids(audit(chat(6))).count("audit.quick_replies") == 1


def test_follow_up(audit):
    base = Chat("taobao").b(0, "你好").a(5, GREET).b(20, "这款连衣裙有M码吗？").a(30, "亲，M码有现货的，您喜欢可以直接拍哦")
    silent = audit(base)
    found = [f for f in silent.findings if f.check_id == "audit.follow_up"]
    assert len(found) == 1 and found[0].penalty.fine_yuan == 20
    asked = Chat("taobao").b(0, "你好").a(5, GREET).b(20, "这款连衣裙有M码吗？").a(30, "亲，M码有现货的，您喜欢可以直接拍哦")
    asked.a(30 + 15 * 60, "亲，刚才的连衣裙您考虑得怎么样啦？")
    assert "audit.follow_up" not in ids(audit(asked))
    late = Chat("taobao").b(0, "你好").a(5, GREET).b(20, "这款连衣裙有M码吗？").a(30, "亲，M码有现货的，您喜欢可以直接拍哦")
    late.a(30 + 40 * 60, "亲，刚才的连衣裙您考虑得怎么样啦？")
    late_found = [f for f in audit(late).findings if f.check_id == "audit.follow_up"]
    assert len(late_found) == 1 and "后才再次询问" in late_found[0].detail
    ordered = Chat("taobao", order_time=T0 + dt.timedelta(seconds=40)).b(0, "你好").a(5, GREET).b(
        20, "这款连衣裙有M码吗？").a(30, "亲，M码有现货的，您喜欢可以直接拍哦")
    assert "audit.follow_up" not in ids(audit(ordered))  # the buyer ordered: nothing to chase
    assert "audit.follow_up" not in ids(audit(good_chat("taobao")))  # the buyer closed the talk


def test_night_contact(audit):
    night = T0.replace(hour=23, minute=30)
    pushed = audit(Chat(start=night).a(0, "亲，您拍下的连衣裙还没有付款哦，需要帮您保留库存吗？"))
    found = [f for f in pushed.findings if f.check_id == "audit.night_contact"]
    assert len(found) == 1 and found[0].penalty.listing_ban_days == [7] and "23:30" in found[0].detail
    early = audit(Chat(start=T0.replace(hour=6)).a(0, "亲，您拍下的连衣裙还没有付款哦"))
    assert "audit.night_contact" in ids(early)
    replying = audit(Chat(start=night).b(0, "还在吗，这款有现货吗").a(60, "亲，您好，有现货的哦~").b(90, "好的").a(100, BYE))
    assert "audit.night_contact" not in ids(replying)  # answering the buyer at night is fine
    day = audit(Chat(start=T0.replace(hour=15)).a(0, "亲，您拍下的连衣裙还没有付款哦"))
    assert "audit.night_contact" not in ids(day)


def test_repeated_message(audit):
    c = good_chat()
    for k in range(3):
        c.a(200 + 10 * k, "亲，在吗？")
    found = [f for f in audit(c).findings if f.check_id == "audit.repeated_message"]
    assert len(found) == 1 and found[0].message_index == 8
    c2 = good_chat()
    for k in range(2):
        c2.a(200 + 10 * k, "亲，在吗？")
    assert "audit.repeated_message" not in ids(audit(c2))


def test_order_confirm_on_tmall_and_taobao(audit):
    def chat(platform: str, confirm_after: float | None) -> Chat:
        c = Chat(platform, order_time=T0 + dt.timedelta(seconds=60)).b(0, "你好，这款连衣裙我拍了").a(10, GREET)
        c.sys(60, "系统消息：买家已下单，实付¥199.00")
        if confirm_after is not None:
            c.a(60 + confirm_after, "亲，跟您核对一下订单信息：收货地址是上海市浦东新区，规格M码，确认无误就给您发货啦")
        return c.b(60 + (confirm_after or 0) + 30, "好的，谢谢").a(60 + (confirm_after or 0) + 40, BYE)

    assert "audit.order_confirm" not in ids(audit(chat("taobao", 300)))
    assert "audit.order_confirm" in ids(audit(chat("taobao", 900)))
    found = [f for f in audit(chat("tmall", None)).findings if f.check_id == "audit.order_confirm"]
    assert len(found) == 1 and found[0].penalty.fine_yuan == 10 and found[0].message_index == 2
    assert "audit.order_confirm" not in ids(audit(chat("pinduoduo", None)))  # a Tmall/Taobao shop rule
    old_order = Chat("taobao", order_time=T0 - dt.timedelta(days=2)).b(0, "我的快递到哪了").a(
        10, "亲，您好，已经帮您催件了，明天就到哦").b(20, "好的").a(30, BYE)
    assert "audit.order_confirm" not in ids(audit(old_order))  # after-sales: the order predates the chat


def test_refund_handling(audit):
    def chat(reply_after: float | None, platform: str = "taobao") -> Chat:
        c = Chat(platform).b(0, "你好").a(5, GREET).b(20, "我拍错了，不想要了")
        if reply_after is not None:
            c.a(20 + reply_after, "好的亲，马上为您处理退款，请您在订单页申请一下哦")
        return c

    assert "audit.refund_handling" not in ids(audit(chat(300)))
    late = [f for f in audit(chat(40 * 60)).findings if f.check_id == "audit.refund_handling"]
    assert len(late) == 1 and late[0].penalty.fine_yuan == 30 and late[0].message_index == 2
    never = [f for f in audit(chat(None)).findings if f.check_id == "audit.refund_handling"]
    assert len(never) == 1 and "未见处理" in never[0].detail
    assert AUDIT_CHECK_IDS["audit.refund_handling"].on("pinduoduo").penalty.fine_yuan is None
    assert "audit.refund_handling" in ids(audit(chat(None, "pinduoduo")))


# ---------------------------------------------------------------------------------------- off topic
def test_off_topic_seed_example(audit):
    # 000_…: 客户问的是否自销自产,客服居然说转给售后处理
    result = audit(Chat().b(0, "你好，你们是自销自产吗？").a(10, "亲，您好，这个问题我帮您转给售后处理哦").b(30, "好的").a(40, BYE))
    found = [f for f in result.findings if f.check_id == "audit.off_topic"]
    assert len(found) == 1 and found[0].severity is Severity.info and found[0].message_index == 1
    assert "质量" in found[0].detail and "退换货" in found[0].detail


def test_off_topic_is_conservative(audit):
    from kefuguard.sample import phrases as ph

    for topic, pairs in ph.TOPICS.items():
        for question, answers in pairs:
            for answer in answers:
                values = {"p": "纯棉连衣裙", "size": "M", "price": "99"}
                q, a = question.format(**values), answer.format(**values)
                result = audit(Chat().b(0, q).a(10, "亲，您好~").a(20, a).b(30, "好的").a(40, BYE))
                assert "audit.off_topic" not in ids(result), (topic, q, a)
    # a reply that names no topic (请稍等) is never off topic
    wait = audit(Chat().b(0, "能开发票吗").a(10, "亲，您好，请稍等，我帮您查一下哦").b(30, "好的").a(40, BYE))
    assert "audit.off_topic" not in ids(wait)


def test_generated_clean_conversations_do_not_trip_off_topic(checkers, config):
    """On generated chats, 答非所问 is only ever raised where the generator planted a bad reply."""
    from kefuguard.conversation.assemble import assemble_conversations
    from kefuguard.sample.generator import generate_messages

    rows = list(generate_messages(seed=11, days=1, labels=True))
    planted: dict[str, bool] = {}
    messages = []
    for row in rows:
        label = row.pop("label")
        planted[row["conversation_id"]] = planted.get(row["conversation_id"], False) or bool(label)
        messages.append(Message.model_validate(row))
    clean = 0
    for conv in assemble_conversations(messages):
        result = audit_conversation(conv, checkers[conv.platform], config)
        if not planted[conv.conversation_id]:
            clean += 1
            assert "audit.off_topic" not in ids(result), conv.conversation_id
    assert clean > 50


# ---------------------------------------------------------------------------------------- buyer abuse
def test_buyer_abuse_on_pinduoduo(audit):
    result = audit(
        Chat().b(0, "傻X客服，浪费我时间").a(10, "您好，您的心情我们也非常理解，我们一定为您妥善解决问题").b(30, "好的").a(40, BYE)
    )
    assert result.buyer_abuse and BUYER_ABUSE_TAG in result.tags
    found = [f for f in result.findings if f.check_id == "audit.buyer_abuse"]
    assert len(found) == 1 and found[0].severity is Severity.info and found[0].message_index == 0
    assert "让顾客冷静" in found[0].suggestion and "第5步" in found[0].suggestion
    assert "不计入回复率" in found[0].detail
    assert result.score == 100.0  # the buyer's abuse costs the agent nothing
    assert not [f for f in result.findings if f.kind == "message"]  # buyer text is not a message finding


def test_buyer_abuse_reported_buyer(audit):
    result = audit(Chat(buyer_reported=True).b(0, "你们是骗子吧").a(10, "您好，非常抱歉给您带来不好的体验，我马上为您处理"))
    assert result.buyer_abuse and BUYER_REPORTED_TAG in result.tags
    detail = next(f.detail for f in result.findings if f.check_id == "audit.buyer_abuse")
    assert "已被举报" in detail


def test_buyer_abuse_elsewhere_and_non_abuse(audit):
    taobao = audit(Chat("taobao").b(0, "滚吧，什么破东西").a(10, "您好，非常抱歉给您带来不好的体验，我马上为您处理"))
    finding = next(f for f in taobao.findings if f.check_id == "audit.buyer_abuse")
    assert "回复率" not in finding.detail  # the report note is Pinduoduo's
    complaint = audit(Chat().b(0, "再不发货我要投诉你").a(10, "亲，您好，非常抱歉，今天一定为您发出"))
    assert not complaint.buyer_abuse and "audit.buyer_abuse" not in ids(complaint)
    off = audit(Chat().b(0, "傻X客服").a(10, "您好，非常抱歉"), AuditConfig(check_buyer_messages=False))
    assert not off.buyer_abuse


# ---------------------------------------------------------------------------------------- result fields
def test_score_arithmetic(audit, config):
    result = audit(Chat().b(0, "在吗").a(10, "加我微信").b(20, "这款什么时候发货？"))
    expected = 100 - sum(config.deduction(f.check_id, f.severity) for f in result.findings)
    assert result.score == pytest.approx(expected) and result.score < 100
    custom = AuditConfig(
        severity_deductions={"critical": 7, "major": 3, "minor": 2, "info": 0},
        check_deductions={"audit.missed_reply": 50, "audit.buyer_abuse": 0},
    )
    custom_result = audit(Chat().b(0, "在吗").a(10, "加我微信").b(20, "这款什么时候发货？"), custom)
    points = {"critical": 7, "major": 3, "minor": 2, "info": 0}
    expected = 100 - sum(
        50 if f.check_id == "audit.missed_reply" else points[f.severity.value] for f in custom_result.findings
    )
    assert custom_result.score == pytest.approx(expected)
    assert "audit.missed_reply" in ids(custom_result)


def test_score_floor(audit):
    chat = Chat().b(0, "在吗")
    for k in range(12):
        chat.a(10 + k, f"加我微信{k}，vx同号")
    assert audit(chat).score == 0.0
    assert audit(chat, AuditConfig(score_floor=40)).score == 40.0


def test_agent_and_day(audit):
    late_utc = dt.datetime(2025, 6, 16, 15, 30, tzinfo=dt.UTC)  # 23:30 in Shanghai
    c = Chat(start=late_utc).b(0, "这款有现货吗？").a(10, "亲，您好，有的", agent_id="a2").a(
        20, "今天拍明天发哦", agent_id="a1").a(30, "有问题随时联系我哦", agent_id="a1")
    result = audit(c)
    assert result.agent_id == "a1"
    assert result.day == dt.date(2025, 6, 16)
    late_night = Chat(start=dt.datetime(2025, 6, 16, 16, 30, tzinfo=dt.UTC)).b(0, "在吗").a(5, "亲，在的呢")
    assert audit(late_night).day == dt.date(2025, 6, 17)  # 00:30 in Shanghai is the next day
    only_auto = Chat().b(0, "在吗").a(1, "您好，客服正在赶来", auto_reply=True, agent_id="a9")
    assert audit(only_auto).agent_id == "a9"


def test_result_round_trips_through_json(audit):
    from kefuguard.conversation.results import ConversationResult

    result = audit(Chat("taobao").b(0, "我拍错了，不想要了").a(400, "嗯").a(500, "加我微信"))
    again = ConversationResult.model_validate_json(result.model_dump_json())
    assert again == result


def test_checker_platform_must_match(checkers, config):
    with pytest.raises(ValueError, match="checker is for"):
        audit_conversation(good_chat("taobao").conv(), checkers["pinduoduo"], config)


# ---------------------------------------------------------------------------------------- config
def test_config_loading():
    cfg = AuditConfig.from_yaml(
        "audit:\n  night_start: '21:30'\n  night_end: '7:00'\n  max_quick_replies: 3\n"
        "  reply_limit_seconds: {taobao: 60}\n  disabled_checks: [audit.off_topic]\n"
    )
    assert cfg.night_start == dt.time(21, 30) and cfg.night_end == dt.time(7, 0)
    assert cfg.slow_reply_seconds("taobao") == 60 and cfg.slow_reply_seconds("jd") == 180
    assert AuditConfig.from_mapping({"max_quick_replies": 3}) == AuditConfig(max_quick_replies=3)
    assert AuditConfig.from_mapping(yaml.safe_load(AuditConfig().model_dump_json())) == AuditConfig()
    with pytest.raises(ValueError):
        AuditConfig.from_mapping({"max_quick_reply": 3})  # typo
    with pytest.raises(ValueError, match="unknown conversation check"):
        AuditConfig(disabled_checks={"audit.nope"})
    with pytest.raises(ValueError, match="unknown platform"):
        AuditConfig(reply_limit_seconds={"amazon": 30})
    with pytest.raises(ValueError):
        AuditConfig(answer_ratio_min=2, answer_ratio_max=1.5)


def test_disabled_checks_and_platform_overrides(audit):
    bare = Chat().b(0, "这款有现货吗").a(10, "有现货的，今天拍今天发的")
    off = audit(bare, AuditConfig(disabled_checks={"audit.greeting", "audit.closing"}))
    assert not {"audit.greeting", "audit.closing"} & set(ids(off))
    pdd_order = Chat(order_time=T0 + dt.timedelta(seconds=30)).b(0, "我拍了").a(10, GREET).sys(30, "系统消息：买家已下单")
    everywhere = AuditConfig(check_platforms={"audit.order_confirm": ("all",)})
    assert "audit.order_confirm" in ids(audit(pdd_order, everywhere))
    major = audit(bare, AuditConfig(check_severities={"audit.greeting": "major"}))
    assert next(f for f in major.findings if f.check_id == "audit.greeting").severity is Severity.major
