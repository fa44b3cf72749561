"""Checker round 2: evasions other filters catch, and ordinary words that only contain a keyword.

Each table holds several cases of one defect class (none of them a rule's own example); offsets
are checked against the original text. Ambiguous terms are settled by segmentation or context,
tested here with sentences on both sides of the line.
"""

from __future__ import annotations

import pickle

import pytest

from kefuguard.checker import Checker

WECHAT, QQ, ALIPAY, PLATFORM = (
    "common.diversion.wechat",
    "common.diversion.qq",
    "common.diversion.alipay",
    "common.diversion.platform",
)
PHONE, QRCODE, PROFANITY = "common.diversion.phone", "common.diversion.qrcode", "conduct.abuse.profanity"


def _rules(checker: Checker, text: str) -> set[str]:
    result = checker.check(text)
    for f in result.findings:
        assert text[f.start : f.end] == f.matched
    return {f.rule_id for f in result.findings}


def _covering(checker: Checker, text: str, rule_id: str, span: str) -> bool:
    start = text.index(span)
    return any(
        f.rule_id == rule_id and f.start <= start and start + len(span) <= f.end for f in checker.check(text).findings
    )


CAUGHT = [
    # a '+' or another joiner inside a word
    ("pinduoduo", "有事加微+信聊", WECHAT, "微+信"),
    ("pinduoduo", "支付+宝转账就行", ALIPAY, "支付+宝"),
    ("pinduoduo", "你个傻+逼", PROFANITY, "傻+逼"),
    ("douyin", "V＋信同号", WECHAT, "V＋信"),
    ("jd", "淘﹢宝上有同款", PLATFORM, "淘﹢宝"),
    # digits with a numeric value but no NFKC decimal digit
    ("pinduoduo", "电话❶❸❽⓿⓿❶❸❽⓿⓿⓿", PHONE, "❶❸❽⓿⓿❶❸❽⓿⓿⓿"),
    ("douyin", "打➀➂➇⓪⓪➀➂➇⓪⓪⓪", PHONE, "➀➂➇"),
    ("jd", "手机⓵⓷⓼⓪⓪⓵⓷⓼⓪⓪⓪", PHONE, "⓵⓷⓼"),
    ("kuaishou", "电话ⅠⅢⅧ00ⅠⅢⅧ000", PHONE, "ⅠⅢⅧ00ⅠⅢⅧ000"),
    ("tmall", "号码𝟏𝟑𝟖𝟎𝟎𝟏𝟑𝟖𝟎𝟎𝟎", PHONE, "𝟏𝟑𝟖𝟎𝟎𝟏𝟑𝟖𝟎𝟎𝟎"),
    # Chinese numerals inside words
    ("pinduoduo", "扫这个贰维码付款", QRCODE, "贰维码"),
    ("douyin", "发你个2维码", QRCODE, "2维码"),
    ("jd", "你这个下3烂", PROFANITY, "下3烂"),
    ("kuaishou", "下叁烂的东西", PROFANITY, "下叁烂"),
    # repeated letters at the edge of a Latin alias
    ("pinduoduo", "加我vvx", WECHAT, "vvx"),
    ("pinduoduo", "QQQ联系", QQ, "QQQ"),
    ("douyin", "wxxxx同号", WECHAT, "wxxxx"),
    ("jd", "加vxxx详聊", WECHAT, "vxxx"),
    # mixed pinyin/Latin and accents
    ("pinduoduo", "加我W信", WECHAT, "W信"),
    ("pinduoduo", "Wxin上说", WECHAT, "Wxin"),
    ("douyin", "支fu宝转我", ALIPAY, "支fu宝"),
    ("jd", "加个wēi xìn吧", WECHAT, "wēi xìn"),
    ("kuaishou", "zhi付宝也行", ALIPAY, "zhi付宝"),
    ("pinduoduo", "去tao宝看看", PLATFORM, "tao宝"),
    ("pinduoduo", "有事打dian hua给我", "pdd.diversion.phone_word", "dian hua"),
    ("pinduoduo", "打个d话问问", "pdd.diversion.phone_word", "d话"),
    # nicknames of other platforms
    ("pinduoduo", "狗东卖得更贵", PLATFORM, "狗东"),
    ("douyin", "马云家也有这款", PLATFORM, "马云家"),
    ("jd", "小红薯上有测评", PLATFORM, "小红薯"),
    ("kuaishou", "咸鱼上有二手的", PLATFORM, "咸鱼"),
    ("pinduoduo", "去1688批发更便宜", PLATFORM, "1688"),
    ("jd", "拼夕夕上便宜", PLATFORM, "拼夕夕"),
    # Latin aliases glued together, in any width
    ("pinduoduo", "tbvx都行", WECHAT, "vx"),
    ("pinduoduo", "tbｖｘ都行", WECHAT, "ｖｘ"),
    ("douyin", "vxqq都可以", QQ, "qq"),
    # keywords split by punctuation where the pieces are words of their own
    ("pinduoduo", "加我微，信聊", WECHAT, "微，信"),
    ("douyin", "淘，宝搜一下", PLATFORM, "淘，宝"),
    # the ambiguous terms, used as the platform or contact
    ("douyin", "京东上买更贵", PLATFORM, "京东"),
    ("douyin", "快手上也有我们店", PLATFORM, "快手"),
    ("pinduoduo", "企鹅号发你了", QQ, "企鹅"),
    ("pinduoduo", "扣扣联系我", QQ, "扣扣"),
    ("douyin", "去转转上卖二手吧", PLATFORM, "转转"),
    ("jd", "你百度一下就知道", PLATFORM, "百度"),
    ("kuaishou", "微微信信", WECHAT, "微信"),
    ("douyin", "親，刷單一單給你10塊", "conduct.fraud.brushing", "刷單"),
]


@pytest.mark.parametrize(("platform", "text", "rule_id", "span"), CAUGHT, ids=[c[1] for c in CAUGHT])
def test_evasion_is_caught(checkers, platform, text, rule_id, span):
    checker = checkers[platform]
    assert _covering(checker, text, rule_id, span), (text, [(f.rule_id, f.matched) for f in checker.check(text).findings])


CLEAN = [
    # full-width Latin words are words too
    ("pinduoduo", "ｈｏｔｅｌ附近可以自提吗"),
    ("pinduoduo", "ｆｏｏｔｂａｌｌ款球衣"),
    ("douyin", "ＨＯＴＥＬ同款床品"),
    ("jd", "Ｆｏｏｔｂａｌｌ训练服"),
    # a keyword inside a longer ordinary word
    ("douyin", "门店在南京东路步行街"),
    ("pinduoduo", "北京东站附近可以自提"),
    ("kuaishou", "我们打包快手快脚的，放心"),
    ("douyin", "很快手机就能充满"),
    ("jd", "这款企鹅玩偶很可爱"),
    ("pinduoduo", "把扣子扣扣好就不会漏风"),
    ("douyin", "周末可以出去转转"),
    ("jd", "水温一百度也没问题"),
    ("tmall", "京东方的屏幕效果很好"),
    ("douyin", "东京东边的仓库发货"),
    # a keyword straddling punctuation
    ("douyin", "这件衣服不抖，音乐节穿正好"),
    ("pinduoduo", "稍微，信用卡也能付"),
    ("kuaishou", "面料不抖，音响效果也好"),
    # everyday aliases without a contact or platform word
    ("jd", "咸鱼干是真空包装的"),
    ("douyin", "活动价1688元"),
    ("kuaishou", "¥11688的那款已售罄"),
    ("tmall", "企鹅造型的水杯"),
    ("douyin", "这款牙刷单支装也有"),
    ("jd", "江苏宁波仓发货"),
    ("kuaishou", "每天猫粮喂两次就够"),
    ("pinduoduo", "宝宝贝壳造型的勺子"),
]


@pytest.mark.parametrize(("platform", "text"), CLEAN, ids=[c[1] for c in CLEAN])
def test_ordinary_words_raise_nothing(checkers, platform, text):
    assert not _rules(checkers[platform], text)


def test_plus_still_reads_add_between_words(checkers):
    assert _covering(checkers["pinduoduo"], "+v 详聊", WECHAT, "+v")
    assert _covering(checkers["pinduoduo"], "+微信有优惠", WECHAT, "微信")


def test_pickled_checker_gives_the_same_verdicts(checkers):
    original = checkers["pinduoduo"]
    once = pickle.loads(pickle.dumps(original))
    loaded = pickle.loads(pickle.dumps(once))  # pickled again before its regexes were compiled
    texts = [t for _, t, _, _ in CAUGHT] + [t for _, t in CLEAN] + ["全网最低价", "打我电话13800138000", "亲，在的"]
    for text in texts:
        assert loaded.check(text).model_dump() == original.check(text).model_dump(), text
