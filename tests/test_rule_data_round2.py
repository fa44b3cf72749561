"""Round-2 rule data: penalties that stay on their own platform, and the rule gaps closed in the packs.

Every sentence here is written for this file (none is a rule's own example), so these tests check
that the rules generalise beyond the sentences they were written against.
"""

from __future__ import annotations

import pytest

from kefuguard.checker import Checker
from kefuguard.rules.model import PLATFORMS

# How each platform is named in Chinese penalty texts.
PLATFORM_WORDS: dict[str, tuple[str, ...]] = {
    "pinduoduo": ("拼多多",),
    "douyin": ("抖音", "抖店"),
    "tmall": ("天猫",),
    "taobao": ("淘宝",),
    "jd": ("京东",),
    "kuaishou": ("快手",),
}


def ids(checker: Checker, text: str) -> set[str]:
    return {f.rule_id for f in checker.check(text).findings}


# ---------------------------------------------------------------------------------------------
# 1. penalty leak: a platform's own penalty never shows up in another platform's findings


@pytest.fixture(scope="module")
def own_checkers() -> dict[str, Checker]:
    return {p: Checker(p) for p in PLATFORMS}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_no_penalty_names_another_platform(own_checkers, platform):
    checker = own_checkers[platform]
    leaks = []
    for i, cr in enumerate(checker.rules):
        text = checker.rules[i].penalty.text
        for other, words in PLATFORM_WORDS.items():
            if other == platform:
                continue
            leaks += [f"{cr.id}: {w!r} in {text!r}" for w in words if w in text]
    assert not leaks, f"penalties on {platform} name other platforms:\n" + "\n".join(leaks)


def test_shared_packs_name_no_platform_in_penalties(packs):
    """Rules in the all-platform packs carry platform-neutral penalties; platforms add theirs as overrides."""
    words = [w for ws in PLATFORM_WORDS.values() for w in ws]
    named = [
        f"{rule.id}: {rule.penalty.text}"
        for pack in packs
        if "all" in pack.pack.platforms
        for rule in pack.rules
        if any(w in rule.penalty.text for w in words)
    ]
    assert not named, "shared rules whose penalty names a platform:\n" + "\n".join(named)


@pytest.mark.parametrize("platform", [p for p in PLATFORMS if p != "pinduoduo"])
def test_pinduoduo_deposit_stays_on_pinduoduo(own_checkers, platform):
    for cr in own_checkers[platform].rules:
        assert "10万" not in cr.penalty.text and "10w" not in cr.penalty.text.lower(), cr.id
        assert cr.penalty.deposit_yuan != 100000, cr.id


@pytest.mark.parametrize(
    ("platform", "text", "rule_id"),
    [
        ("douyin", "这款是全网最低价哦", "conduct.superlative.zui"),
        ("tmall", "我们家销量全网第一", "conduct.superlative.whole_network"),
        ("jd", "绝对正品，放心拍", "conduct.superlative.absolute"),
        ("kuaishou", "顶级工艺，手感超好", "conduct.superlative.grade"),
        ("taobao", "独家设计，别家没有", "conduct.superlative.exclusive"),
    ],
)
def test_superlative_off_pinduoduo_carries_the_law_fine_only(own_checkers, platform, text, rule_id):
    finding = next(f for f in own_checkers[platform].check(text).findings if f.rule_id == rule_id)
    assert finding.penalty.basis == "law"
    assert "广告法" in finding.penalty.text and "二十万元" in finding.penalty.text
    assert finding.penalty.deposit_yuan is None


def test_platform_penalties_still_apply_on_their_own_platform(own_checkers):
    pdd = own_checkers["pinduoduo"].rule("conduct.superlative.zui").penalty
    assert "10万" in pdd.text and pdd.deposit_yuan == 100000
    assert own_checkers["pinduoduo"].rule("conduct.abuse.insult").penalty.buyer_compensation_yuan == 100
    assert own_checkers["douyin"].rule("conduct.attitude.sarcasm").penalty.buyer_compensation_yuan == 20
    assert own_checkers["douyin"].rule("conduct.wording.hey_speak").penalty.buyer_compensation_yuan == 20
    for p in ("tmall", "taobao"):
        sarcasm = own_checkers[p].rule("conduct.attitude.sarcasm").penalty
        assert (sarcasm.basis, sarcasm.fine_yuan) == ("shop_policy", 100)
    # the shared sarcasm rule no longer carries the Tmall/Taobao shop fine elsewhere
    assert own_checkers["jd"].rule("conduct.attitude.sarcasm").penalty.fine_yuan is None
    invoice = own_checkers["taobao"].rule("tmall.broken_promise.no_invoice")
    assert invoice.penalty.points == 6 and "天猫" not in invoice.penalty.text
    assert "淘宝" not in own_checkers["tmall"].rule("tmall.broken_promise.no_invoice").penalty.text


# ---------------------------------------------------------------------------------------------
# 2a. good-review cashback in other words (every platform)

CASHBACK_HITS = [
    "五星好评送您一张优惠券哦",
    "追评加图返3元，截图发我",
    "给个五星，下次来打九折",
    "评价截图找客服领红包🧧",
    "晒单返现2元，记得带图",
    "hp返5元哈亲",
    "给我hp送小礼品一份",
    "好评之后联系客服领赠品",
]
CASHBACK_MISSES = [
    "感谢您的评价，我们会继续努力的",
    "评价区有很多买家秀，您可以参考一下",
    "这款好评率98%，今天领券下单更划算",
    "五星级酒店同款枕头，今天有现货",
    "hp墨盒和打印机都有现货，下单送数据线",
    "好评如潮的爆款今天补货啦",
]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_review_cashback_hits(checkers, platform):
    missed = [s for s in CASHBACK_HITS if "conduct.fraud.review_cashback" not in ids(checkers[platform], s)]
    assert not missed, f"review cashback missed on {platform}: {missed}"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_review_cashback_misses(checkers, platform):
    fired = [s for s in CASHBACK_MISSES if "conduct.fraud.review_cashback" in ids(checkers[platform], s)]
    assert not fired, f"review cashback fired on ordinary review talk on {platform}: {fired}"


def test_douyin_review_invite_phrases(checkers):
    douyin = checkers["douyin"]
    for s in ["求个五星呀亲", "收到后帮忙追评一下哦", "亲亲 给hp嘛"]:
        assert "douyin.review_invite.good_review" in ids(douyin, s), s
    for s in ["这款五星好评率很高", "您的评价我们都有认真看", "好评如潮的款今天补货了"]:
        assert "douyin.review_invite.good_review" not in ids(douyin, s), s


# ---------------------------------------------------------------------------------------------
# 2b. refusing 七天无理由 / returns, where the seeds bind it

RETURN_RULES = {
    "tmall": {"tmall.broken_promise.refuse_7day_return", "tmall.broken_promise.refuse_refund"},
    "taobao": {"tmall.broken_promise.refuse_7day_return", "tmall.broken_promise.refuse_refund"},
    "jd": {"jd.broken_promise.refuse_return"},
    "kuaishou": {"kuaishou.broken_promise.refund_refusal"},
}
RETURN_HITS = [
    "亲，这个不支持七天无理由的哈",
    "不退不换哦亲",
    "拆开了就不退了哈",
    "特价款不退的亲",
    "秒杀商品概不退换",
    "活动价不支持退货哦",
    "七天无理由用不了的亲",
]
RETURN_MISSES = [
    "支持七天无理由退货，收到不满意可以退",
    "定制款拆封后不退，下单前请核对尺寸哦",
    "特价款也可以七天无理由退换哦",
    "不影响二次销售的话拆封了也能退",
]


@pytest.mark.parametrize("platform", sorted(RETURN_RULES))
def test_refuse_return_hits(checkers, platform):
    missed = [s for s in RETURN_HITS if not ids(checkers[platform], s) & RETURN_RULES[platform]]
    assert not missed, f"return refusal missed on {platform}: {missed}"


@pytest.mark.parametrize("platform", sorted(RETURN_RULES))
def test_refuse_return_misses(checkers, platform):
    fired = [s for s in RETURN_MISSES if ids(checkers[platform], s) & RETURN_RULES[platform]]
    assert not fired, f"return refusal fired on a compliant answer on {platform}: {fired}"


# ---------------------------------------------------------------------------------------------
# 2c. someone else's address (every platform)

ADDRESS_HITS = [
    "她的地址是南京市鼓楼区中山路8号，您去找她吧",
    "把你邻居的地址发你，你自己去拿",
    "你同事的收货地址我发你了哈",
    "您闺蜜家地址在滨江区江南大道，我截图给您",
    "别的客户的电话是13900001111",
]
ADDRESS_MISSES = [
    "您的收货地址我已经帮您改好了",
    "您邻居代收也可以，到时候给您打个备注",
    "别人的地址是隐私，我们不能告诉您哦",
    "请您用下单账号把地址发给我核对",
]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_third_party_address(checkers, platform):
    rid = "conduct.privacy.third_party_info"
    missed = [s for s in ADDRESS_HITS if rid not in ids(checkers[platform], s)]
    fired = [s for s in ADDRESS_MISSES if rid in ids(checkers[platform], s)]
    assert not missed, f"third-party info missed on {platform}: {missed}"
    assert not fired, f"third-party info fired on {platform}: {fired}"


# ---------------------------------------------------------------------------------------------
# 2d. insults, threats and contempt without a profane word (every platform)

RUDE = {
    "你有毛病吧，问个不停": {"conduct.abuse.insult"},
    "你脑子进水了吗": {"conduct.abuse.profanity", "conduct.abuse.insult"},
    "不要就滚吧": {"conduct.abuse.insult"},
    "你个乡巴佬": {"conduct.abuse.insult"},
    "爱买不买，就这价": {"conduct.attitude.cold"},
    "穷就别买了亲": {"conduct.attitude.sarcasm"},
    "没钱还买啥": {"conduct.attitude.sarcasm"},
    "买不起就别问了": {"conduct.attitude.sarcasm"},
    "有本事你投诉啊": {"conduct.attitude.sarcasm"},
    "咱们走着瞧": {"conduct.abuse.threat"},
    "你给我等着！": {"conduct.abuse.threat"},
    "再差评有你好看的": {"conduct.abuse.threat"},
    "你算老几啊": {"conduct.abuse.profanity", "conduct.abuse.insult"},
}
RUDE_FAMILIES = ("conduct.abuse.", "conduct.attitude.")
POLITE = [
    "这款杀毒软件能查出有病毒的文件",
    "发货了，您等着收货吧",
    "您稍等着急了吧，马上给您查",
    "滚筒洗衣机可以直接洗的",
    "您如果不满意可以申请售后，我们一定处理好",
    "预算有限的话这款平价的也很好用",
]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_rude_short_phrases(checkers, platform):
    missed = {s: want for s, want in RUDE.items() if not ids(checkers[platform], s) & want}
    assert not missed, f"rude phrases missed on {platform}: {missed}"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_polite_phrases_stay_clean(checkers, platform):
    fired = {s: sorted(i for i in ids(checkers[platform], s) if i.startswith(RUDE_FAMILIES)) for s in POLITE}
    fired = {s: v for s, v in fired.items() if v}
    assert not fired, f"abuse/attitude rules fired on ordinary phrases on {platform}: {fired}"


# ---------------------------------------------------------------------------------------------
# 2e. other platforms' names and nicknames: each platform whose seeds ban naming other platforms
# cites its own sentence; nicknames are engine aliases (engine.yaml), tested where they exist.

OWN_PLATFORM_SEED = {
    "pinduoduo": "严禁说淘宝、天猫、京东等其他购物平台的字眼",
    "douyin": "其他平台的第三方链接",
    "tmall": "除天猫店铺外其他店铺的链接",
    "taobao": "引导买家在tmall.com(天猫)外进行交易",
}


@pytest.mark.parametrize("platform", sorted(OWN_PLATFORM_SEED))
def test_platform_mention_cites_own_seed(own_checkers, platform):
    cr = own_checkers[platform].rule("common.diversion.platform")
    assert OWN_PLATFORM_SEED[platform] in cr.source.quote


NICKNAMES_NOW = [  # (text, the platforms on which it is the checked platform's own name)
    ("某东上也有这款", ("jd",)),
    ("狗东上便宜十块", ("jd",)),
    ("去拼夕夕看看吧", ("pinduoduo",)),
    ("马云家也有同款", ("taobao", "tmall")),
    ("小红薯上有测评", ()),
    ("某鱼上有二手的", ()),
    ("咸鱼上有人卖二手", ()),
    ("去1688上拿货更便宜", ()),
]


@pytest.mark.parametrize(("text", "own"), NICKNAMES_NOW)
def test_nicknames_fire_off_their_own_platform(checkers, text, own):
    for platform in PLATFORMS:
        found = ids(checkers[platform], text)
        if platform in own:
            assert "common.diversion.platform" not in found, (text, platform)
        else:
            assert "common.diversion.platform" in found, (text, platform)


@pytest.mark.parametrize("text", ["咸鱼炖豆腐很好吃哦", "这款1688元，今天有券", "candy色很显白"])
def test_ambiguous_nicknames_stay_quiet_in_everyday_use(checkers, text):
    for platform in PLATFORMS:
        assert "common.diversion.platform" not in ids(checkers[platform], text), (text, platform)


# Nicknames added to engine.yaml `aliases:` in this round.
NICKNAMES_ADDED = [
    ("东哥家也有卖", "douyin"),
    ("猫超有活动", "jd"),
    ("ks上也有我们店", "jd"),
    ("块手上有直播", "jd"),
    ("红书上有测评", "jd"),
    ("毒app上验货", "jd"),
]


@pytest.mark.parametrize(("text", "platform"), NICKNAMES_ADDED)
def test_added_nicknames(checkers, text, platform):
    assert "common.diversion.platform" in ids(checkers[platform], text)
