"""Evasive spellings of diversion words and contact numbers are caught, with exact offsets.

Each case: (message, rule id, the substring of the ORIGINAL message the finding must cover).
"""

from __future__ import annotations

import pytest

EVASIONS = [
    ("加我微信吧", "common.diversion.wechat", "微信"),
    ("加 微 信 聊", "common.diversion.wechat", "微 信"),
    ("有事加微*信", "common.diversion.wechat", "微*信"),
    ("V❤信同号", "common.diversion.wechat", "V❤信"),
    ("v信发你图", "common.diversion.wechat", "v信"),
    ("Ｖ信联系", "common.diversion.wechat", "Ｖ信"),
    ("薇信聊更方便", "common.diversion.wechat", "薇信"),
    ("威信上说", "common.diversion.wechat", "威信"),
    ("徽信号多少", "common.diversion.wechat", "徽信"),
    ("加vx", "common.diversion.wechat", "加vx"),
    ("加VX哈", "common.diversion.wechat", "加VX"),
    ("wx同号", "common.diversion.wechat", "wx"),
    ("加weixin", "common.diversion.wechat", "weixin"),
    ("微\u200b信联系", "common.diversion.wechat", "微\u200b信"),
    ("微.信号", "common.diversion.wechat", "微.信"),
    ("微微信信", "common.diversion.wechat", "微信"),
    ("支支付付宝宝转我", "common.diversion.alipay", "支付付宝"),
    ("+v 详聊", "common.diversion.wechat", "+v"),
    ("＋ＶＸ有优惠", "common.diversion.wechat", "＋ＶＸ"),
    ("微信號給你", "common.diversion.wechat", "微信號"),
    ("vx1928681197", "common.diversion.wechat", "vx"),
    ("扣扣联系", "common.diversion.qq", "扣扣"),
    ("ＱＱ号发你", "common.diversion.qq", "ＱＱ"),
    ("加q 12345678", "common.diversion.qq", "12345678"),
    ("企鹅号 87654321", "common.diversion.qq", "企鹅"),
    ("某宝搜一下更便宜", "common.diversion.platform", "某宝"),
    ("淘-宝有同款", "common.diversion.platform", "淘-宝"),
    ("tb上买", "common.diversion.platform", "tb"),
    ("淘bao店铺", "common.diversion.platform", "淘bao"),
    ("zfb转我", "common.diversion.alipay", "zfb"),
    ("支 付 宝 付款", "common.diversion.alipay", "支 付 宝"),
    ("吱付宝也行", "common.diversion.alipay", "吱付宝"),
    ("支付寶轉賬", "common.diversion.alipay", "支付寶"),
    ("电话 138 0013 8000", "common.diversion.phone", "138 0013 8000"),
    ("打13800138000", "common.diversion.phone", "13800138000"),
    ("一三八零零一三八零零零", "common.diversion.phone", "一三八零零一三八零零零"),
    ("电话١٣٨٠٠١٣٨٠٠٠", "common.diversion.phone", "١٣٨٠٠١٣٨٠٠٠"),  # Arabic-Indic digits (NFKC keeps them)
    ("①③⑧⓪⓪①③⑧⓪⓪⓪", "common.diversion.phone", "①③⑧⓪⓪①③⑧⓪⓪⓪"),
    ("壹叁捌零零壹叁捌零零零", "common.diversion.phone", "壹叁捌零零壹叁捌零零零"),
    ("138-0013-8000找我", "common.diversion.phone", "138-0013-8000"),
    ("１３８００１３８０００", "common.diversion.phone", "１３８００１３８０００"),
    ("+86 138 0013 8000", "common.diversion.phone", "86 138 0013 8000"),
    ("座机 010-62345678", "common.diversion.phone", "010-62345678"),
    ("扫这个二維碼", "common.diversion.qrcode", "二維碼"),
    ("www.shop-example.com 看看", "common.diversion.link", "www.shop-example.com"),
    ("ｍｙｓｈｏｐ．ｃｏｍ", "common.diversion.link", "ｍｙｓｈｏｐ．ｃｏｍ"),
    ("mail: service@163.com", "common.diversion.email", "service@163.com"),
    ("卡号6222021234567890128", "common.diversion.bank", "6222021234567890128"),
    ("轉賬給我", "common.diversion.transfer", "轉賬"),
    ("线 下 交 易", "common.diversion.offline", "线 下 交 易"),
]


@pytest.mark.parametrize(("text", "rule_id", "span"), EVASIONS, ids=[e[0] for e in EVASIONS])
def test_evasion_caught_with_original_offsets(checkers, text, rule_id, span):
    result = checkers["pinduoduo"].check(text)
    hits = [f for f in result.findings if f.rule_id == rule_id]
    assert hits, f"{rule_id} missed {text!r}; found {[(f.rule_id, f.matched) for f in result.findings]}"
    start = text.index(span)
    covering = [f for f in hits if f.start <= start and start + len(span) <= f.end]
    assert covering, f"no finding covers {span!r}: {[(f.start, f.end, f.matched) for f in hits]}"
    for f in hits:
        assert text[f.start : f.end] == f.matched


def test_table_is_large():
    assert len(EVASIONS) >= 40


def test_refusal_is_reported_lower(checkers):
    plain = checkers["pinduoduo"].check("加我微信吧")
    refusal = checkers["pinduoduo"].check("亲，我们不能加微信哦")
    assert plain.findings[0].severity.rank > refusal.findings[0].severity.rank
    assert refusal.findings[0].refusal and not plain.findings[0].refusal
    assert "微信" not in refusal.findings[0].suggestion


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("不能加微信哦", True),
        ("我们这边不可以加微信的", True),
        ("不能退。加微信吧", False),  # the negation is in an earlier clause
        ("不行，加微信", False),
        ("真的真的真的真的真的不能加微信", True),
        ("不能" + "真的" * 9 + "加微信", False),  # further back than the look-back window
    ],
)
def test_refusal_looks_back_within_the_clause_only(checkers, text, refusal):
    findings = [f for f in checkers["pinduoduo"].check(text).findings if f.rule_id == "common.diversion.wechat"]
    assert findings and findings[0].refusal is refusal


def test_platform_own_name_is_not_diversion(checkers):
    assert not [f for f in checkers["taobao"].check("淘宝官方活动价").findings if f.category == "diversion"]
    assert [f for f in checkers["jd"].check("淘宝官方活动价").findings if f.rule_id == "common.diversion.platform"]


def test_own_domain_link_allowed(checkers):
    assert not checkers["jd"].check("商品页 https://item.jd.com/100012.html").findings
    assert checkers["pinduoduo"].check("商品页 https://item.jd.com/100012.html").findings
