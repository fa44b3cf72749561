"""Detector round 2: numbers after English words, phone numbers split by words, links and e-mails
written out, IPv4 addresses, the platforms' own domains, and detectors that never raise.

The detectors are called directly; the checker is used only for what it already does (clean
sentences stay clean, plain contacts are caught). Cases that need the checker to call the new
detectors are skipped until `kefuguard.checker` imports them.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kefuguard.checker as checker_module
from kefuguard.checker import Checker, shared_detector_context, shared_tables
from kefuguard.detectors import (
    find_emails,
    find_numbers,
    find_split_phones,
    find_urls,
    find_wechat_ids,
    find_written_links,
    might_hold_split_phone,
    might_hold_written_link,
    separated_before_from_offsets,
)
from kefuguard.detectors.numbers import has_plausible_run, split_phone_gate, wechat_prefix_pattern
from kefuguard.normalize import Views

TABLES = shared_tables()
CTX = shared_detector_context()


def _views(text: str) -> Views:
    return Views(text, TABLES)


def _numbers(text: str, separated: bool = True) -> list[tuple[str, str]]:
    """(kind, original substring) of every number `find_numbers` reports."""
    views = _views(text)
    sep = separated_before_from_offsets(views.offsets) if separated else None
    out = []
    for det in find_numbers(views.digits, CTX, sep):
        start, end = views.span(det.start, det.end)
        out.append((det.kind, text[start:end]))
    return out


PDD = Checker("pinduoduo")


def _split(text: str) -> list[str]:
    views = _views(text)
    out = []
    for det in find_split_phones(views.digits, CTX):
        assert det.kind == "phone" and not det.in_original
        start, end = views.span(det.start, det.end)
        out.append(text[start:end])
    return out


def _split_gate(text: str) -> bool:
    return might_hold_split_phone(_views(text).keyword)


def _written(text: str, allowed: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    link = _views(text).link
    out = []
    for det in find_written_links(link, allowed):
        assert det.in_original and det.kind in ("url", "email")
        out.append((det.kind, text[det.start : det.end]))
    return out


# ------------------------------------------------------------------ 1. English words before numbers
@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("call me 13800138000", "13800138000"),
        ("phone 13800138000", "13800138000"),
        ("mobile: 13088889999", "13088889999"),
        ("Mobile：13088889999", "13088889999"),
        ("PHONE 13800138000 thanks", "13800138000"),
        ("hello 13800138000", "13800138000"),  # the o of hello reads as 0 in the digit view
        ("tel13800138000", "13800138000"),
        ("phone:13800138000", "13800138000"),
        ("call13800138000", "13800138000"),
        ("phone13800138000", "13800138000"),
        ("mobile13088889999", "13088889999"),
        ("whatsapp13800138000", "13800138000"),
        ("wechat13800138000", "13800138000"),
        ("contact 138-0013-8000", "138-0013-8000"),
        ("ｃａｌｌ　１３８００１３８０００", "１３８００１３８０００"),
        ("my cell is 13800138000", "13800138000"),
        ("vx13800138000", "13800138000"),
    ],
)
def test_english_word_before_a_number_does_not_hide_it(text, number):
    assert ("phone", number) in _numbers(text)


@pytest.mark.parametrize(
    "text",
    [
        "SF13800138000",  # letters glued in the original text: a tracking number's prefix
        "jd13800138000",
        "YT13800138000",
        "abc13800138000",
        "sku13800138000",
        "快递单号 SF 13800138000",  # negative context still vetoes
        "订单号: 13800138000",
    ],
)
def test_letters_glued_in_the_original_still_veto(text):
    assert _numbers(text) == []


def test_without_separator_information_the_old_behaviour_holds():
    assert _numbers("call me 13800138000", separated=False) == []  # glued in the digit view
    assert _numbers("tel13800138000", separated=False) == [("phone", "13800138000")]
    assert _numbers("SF13800138000", separated=False) == []
    assert _numbers("电话 138 0013 8000", separated=False) == [("phone", "138 0013 8000")]


def test_separator_aware_path_agrees_with_the_old_one_on_chinese_text():
    rng = random.Random(11)
    parts = [
        "电话",
        "订单号",
        "加q",
        "卡号",
        "快递",
        " ",
        "，",
        "sf",
        "亲",
        "一三八",
        "13800138000",
        "6222021234567890128",
        "110101199003074514",
        "12345678",
        "2024-05-01",
        "vx",
        "-",
    ]
    for _ in range(400):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(1, 6)))
        if any(c.isascii() and c.isalpha() for c in text):
            continue  # only letters behave differently
        assert _numbers(text) == _numbers(text, separated=False), text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ab", [False, False]),
        ("a b", [False, True]),
        (" ab", [True, False]),
        ("a: b", [False, True]),
        ("ﬁx", [False, False, False]),  # ﬁ expands to two view characters: no separator inside
        ("a❤b", [False, True]),
    ],
)
def test_separated_before_from_offsets(text, expected):
    views = _views(text)
    sep = separated_before_from_offsets(views.offsets)
    assert [sep(i) for i in range(len(views.keyword))] == expected
    assert sep(10_000) is False  # out of range: no separator, no exception


# ------------------------------------------------------------------ 2. phone numbers split by words
@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("号码前三位是139，后面是1234 5678", "139，后面是1234 5678"),
        ("手机号前三位139，中间四位1234，后四位5678", "139，中间四位1234，后四位5678"),
        ("电话：139 然后 1234 再 5678", "139 然后 1234 再 5678"),
        ("打我电话一三九，后面一二三四五六七八", "一三九，后面一二三四五六七八"),
        ("call me 139 then 12345678", "139 then 12345678"),
        ("联系我：139---1234---5678", None),  # one run in the digit view: find_numbers' business
        ("+86 139 后面 12345678", "86 139 后面 12345678"),
        ("尾号5678，前面是139 1234", None),  # 5678 + 1391234 is no mobile number
        ("手机前7位1391234，后4位5678", "1391234，后4位5678"),
    ],
)
def test_split_phone_found(text, span):
    found = _split(text)
    if span is None:
        assert found == []
    else:
        assert found == [span]
        assert _split_gate(text)


@pytest.mark.parametrize(
    "text",
    [
        "订单号230512 487596，金额199元",
        "2024-05-01 14:30",
        "2024年05月01日 14:30 到 2024年05月07日",
        "身高175体重130",
        "满300减30",
        "139和12345678",  # no phone context
        "价格139，库存12345678",
        "139元 12345678件",
        "打折139元，满12345678",
        "货号139-1234-5678",
        "快递单号SF139 12345678",
        "电话13912345678",  # a single run
        "尺码170/92A 165/88A",
        "亲，衣服已经发货了，期待您的好评，依旧是138包邮",
        "打包好了，第139单，1234 5678",
    ],
)
def test_split_phone_leaves_numbers_that_are_no_phone(text):
    assert _split(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "满300减30",
        "2024-05-01 14:30",
        "身高175体重130",
        "亲，您好！请问有什么可以帮您？",
        "今天下单明天发货",
        "满199减20",
    ],
)
def test_split_phone_gate_stays_quiet(text):
    assert not _split_gate(text)


def test_split_phone_gate_covers_every_split_phone():
    """Whatever `find_split_phones` reports, the gate lets through (random compositions)."""
    rng = random.Random(3)
    pieces = [
        "139",
        "1234",
        "5678",
        "12345678",
        "一三九",
        "一二三四",
        "号码",
        "电话",
        "前三位",
        "后面",
        "，",
        " ",
        "是",
        "中间四位",
        "尾号",
        "86",
        "1",
        "12",
        "打",
        "元",
        "订单",
        "a",
    ]
    found = 0
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(2, 9)))
        if _split(text):
            found += 1
            assert _split_gate(text), text
            assert PDD._split_phone_possible(_views(text).keyword), text  # the checker's stricter gate
    assert found > 30


def test_split_phone_gate_built_from_given_numerals_and_words():
    gate = split_phone_gate(["一", "二", "三"], ["找我"])
    assert gate.search("号码一三二")
    assert not gate.search("号码九九九")  # 九 is no numeral for this gate
    assert gate.search("找我：139")  # a phone word of the caller's context
    assert not gate.search("找你：139")
    assert might_hold_split_phone("号码一三二后面12345678", gate)


def test_split_phone_gate_needs_context_before_a_group():
    assert not _split_gate("139和12345678")
    assert _split_gate("号码139和12345678")
    assert _split_gate("139，尾号12345678")  # context in the gap
    assert not _split_gate("号码是什么呢亲亲，我们这边查一下再回复您139")  # too far


# ------------------------------------------------------------------ 3. links written out, IPv4
@pytest.mark.parametrize(
    ("text", "kind", "span"),
    [
        ("h t t p s : / / w w w . a b c . c o m", "url", "h t t p s : / / w w w . a b c . c o m"),
        ("看这个 w w w . a b c . c o m 哦", "url", "w w w . a b c . c o m"),
        ("w w w . abc . com", "url", "w w w . abc . com"),
        ("abc点com", "url", "abc点com"),
        ("去abc點com看看", "url", "abc點com"),
        ("abc dot com", "url", "abc dot com"),
        ("ABC DOT COM", "url", "ABC DOT COM"),
        ("shop123点cn", "url", "shop123点cn"),
        ("www点abc点com", "url", "www点abc点com"),
        ("abc 点 com", "url", "abc 点 com"),
        ("abc(.)com", "url", "abc(.)com"),
        ("abc[.]com", "url", "abc[.]com"),
        ("abc (dot) com", "url", "abc (dot) com"),
        ("163点com", "url", "163点com"),
        ("abc点top", "url", "abc点top"),
        ("m点abc点shop", "url", "m点abc点shop"),
        ("https:// www.abc.com", "url", "https:// www.abc.com"),
        ("Ｗ Ｗ Ｗ．ａｂｃ．ｃｏｍ", "url", "Ｗ Ｗ Ｗ．ａｂｃ．ｃｏｍ"),
        ("abc123艾特qq点com", "email", "abc123艾特qq点com"),
        ("加我abc123艾特qq点com哦", "email", "abc123艾特qq点com"),
        ("lily#163.com", "email", "lily#163.com"),
        ("email: Lily#163.com thanks", "email", "Lily#163.com"),
        ("service at 163 dot com", "email", "service at 163 dot com"),
        ("abc(at)qq.com", "email", "abc(at)qq.com"),
        ("abc[at]qq点com", "email", "abc[at]qq点com"),
        ("abc圈aqq点com", "email", "abc圈aqq点com"),
        ("a b c @ q q . c o m", "email", "a b c @ q q . c o m"),
        ("访问47.96.1.2:8080/shop看看", "url", "47.96.1.2:8080/shop"),
        ("ip 8.8.8.8", "url", "8.8.8.8"),
        ("服务器47.96.1.2。", "url", "47.96.1.2"),
        ("http://47.96.1.2/a", "url", "47.96.1.2/a"),
    ],
)
def test_written_link_found(text, kind, span):
    found = _written(text)
    assert any(k == kind and span in s for k, s in found), found
    assert might_hold_written_link(text)
    assert might_hold_written_link(_views(text).link)


@pytest.mark.parametrize(
    "text",
    [
        "亲，下午3点发货",
        "两点半到",
        "3点到5点之间",
        "一点com",  # no Latin label before 点: not a written domain
        "#3号色",
        "款式#3",
        "12.5元",
        "14:30",
        "Bluetooth 5.3",
        "iPhone15",
        "iPhone 15 Pro 256G",
        "8点live直播",  # a time before a word that happens to be a TLD
        "晚上10点shop开门",
        "打开app点shop按钮",  # 点 as "tap"
        "在app点me页面",
        "sorry. me too",
        "look at jd.com",  # English "at": no e-mail unless the domain is written out or a mail host
        "see you at 3 pm",
        "颜色A#3.5寸",
        "v1.2.3.4",
        "版本1.2.3.4",
        "版本号：1.2.3.4",
        "路由器后台192.168.1.1",
        "127.0.0.1:8080",
        "1.2.3.4.5",
        "2024.05.01",
        "256.1.1.1",
        "www.abc.com",  # plain: find_urls reports it
        "abc@qq.com",  # plain: find_emails reports it
        "尺码 S M L",
    ],
)
def test_written_link_leaves_ordinary_text(text):
    assert _written(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "亲，下午3点发货",
        "两点半",
        "#3号色",
        "12.5元",
        "14:30",
        "Bluetooth 5.3",
        "iPhone15",
        "一点com",
        "好的亲",
    ],
)
def test_written_link_gate_stays_quiet(text):
    assert not might_hold_written_link(text)


def test_written_links_respect_allowed_domains():
    allowed = ("jd.com", "360buy.com")
    assert _written("item点jd点com", allowed) == []
    assert _written("item点jd点com/100012.html", allowed) == []
    assert _written("www点360buy点com", allowed) == []
    assert _written("evil点jd点com点cn", allowed) == [("url", "evil点jd点com点cn")]
    assert _written("notjd点com", allowed) == [("url", "notjd点com")]
    assert _written("item点jd点com") == [("url", "item点jd点com")]


_LINK_ALPHABET = [
    *"abcq123 .#@:/",
    "点",
    "艾特",
    "dot",
    "at",
    "com",
    "cn",
    " . ",
    "(.)",
    "圈a",
    "，",
    "元",
    "www",
    "http",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_LINK_ALPHABET), min_size=1, max_size=12))
def test_written_link_gate_covers_every_written_link(pieces):
    text = "".join(pieces)
    if find_written_links(_views(text).link):
        assert might_hold_written_link(text), text


# ------------------------------------------------------------------ 4. the platforms' own domains
def _urls(text: str, allowed: tuple[str, ...]) -> list[str]:
    return [d.value for d in find_urls(_views(text).link, allowed)]


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        (
            "商品页 https://item.jd.com/100012.html",
            ("jd.com", "3.cn", "jd.hk", "360buyimg.com", "360buy.com"),
        ),
        ("https://www.360buy.com/product/1.html", ("jd.com", "360buy.com")),
        ("img14.360buyimg.com/n1/abc.jpg", ("jd.com", "360buyimg.com")),
        ("ITEM.JD.COM/100012.html", ("jd.com",)),
        ("https://detail.tmall.com/item.htm?id=1", ("tmall.com", "taobao.com", "tb.cn")),
        ("https://m.tb.cn/h.abc", ("tmall.com", "taobao.com", "tb.cn")),
        ("https://mobile.yangkeduo.com/goods.html", ("pinduoduo.com", "yangkeduo.com")),
        ("www.douyin.com/video/1", ("douyin.com", "jinritemai.com")),
        ("haohuo.jinritemai.com/views/product", ("douyin.com", "jinritemai.com")),
        ("www.kuaishou.com/short-video/1", ("kuaishou.com", "gifshow.com")),
    ],
)
def test_own_domains_and_subdomains_allowed(text, allowed):
    assert _urls(text, allowed) == []
    assert _urls(text, ()) != []  # and reported where the domain is not allowed


@pytest.mark.parametrize(
    "text", ["jd.com.evil.cn", "evil-jd.com", "notjd.com", "https://item.jd.com.cn/1", "www.360buy.co/1"]
)
def test_look_alike_domains_not_allowed(text):
    assert _urls(text, ("jd.com", "360buy.com")) != []


# ------------------------------------------------------------------ 5. no detector raises
_WECHAT = wechat_prefix_pattern(["微信", "vx", "wx", "v"])


def _every_detector(text: str) -> None:
    views = _views(text)
    for sep in (None, separated_before_from_offsets(views.offsets)):
        find_numbers(views.digits, CTX, sep)
    find_split_phones(views.digits, CTX)
    might_hold_split_phone(views.keyword)
    find_written_links(views.link, ("jd.com",))
    find_written_links(text)
    might_hold_written_link(text)
    find_urls(views.link, ("jd.com",))
    find_emails(views.link)
    find_wechat_ids(views.keyword, _WECHAT)
    has_plausible_run(views.keyword, TABLES.numeral_runs, TABLES.digits_list)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_no_detector_raises_on_any_text(text):
    _every_detector(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="0123456789xX一三八零点.@#: -艾特abcoqv号码电话", max_size=60))
def test_no_detector_raises_on_digit_heavy_text(text):
    _every_detector(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "0" * 200,
        "1" * 18 + "x",
        "999999999999999999",
        "1" * 5000,
        "a " * 2000,
        "点" * 500,
        "1." * 300,
        "#" * 50,
    ],
)
def test_no_detector_raises_on_edge_cases(text):
    _every_detector(text)


def test_detectors_stay_fast_on_long_input():
    import time

    text = ("亲，下午3点发货，订单号230512 487596，金额199元，iPhone 15 Pro，abc点com " * 60)[:4000]
    start = time.perf_counter()
    _every_detector(text)
    assert time.perf_counter() - start < 2.0


# ------------------------------------------------------------------ through the checker
@pytest.mark.parametrize(
    "text",
    [
        "亲，下午3点发货",
        "订单号230512 487596，金额199元",
        "2024-05-01 14:30",
        "身高175体重130",
        "满300减30",
        "Bluetooth 5.3 耳机已发货",
        "#3号色有货哦",
        "两点半前下单当天发",
        "iPhone15 现货",
        "路由器后台192.168.1.1",
        "12.5元一件",
    ],
)
def test_checker_keeps_ordinary_sentences_clean(checkers, text):
    assert checkers["pinduoduo"].check(text).ok, [
        (f.rule_id, f.matched) for f in checkers["pinduoduo"].check(text).findings
    ]


@pytest.mark.parametrize(
    ("text", "rule_id", "span"),
    [
        ("电话 138 0013 8000", "common.diversion.phone", "138 0013 8000"),
        ("tel13800138000", "common.diversion.phone", "13800138000"),
        ("mail: service@163.com", "common.diversion.email", "service@163.com"),
    ],
)
def test_checker_still_catches_plain_contacts(checkers, text, rule_id, span):
    hits = [f for f in checkers["pinduoduo"].check(text).findings if f.rule_id == rule_id]
    assert hits and any(text[f.start : f.end] == f.matched and span in f.matched for f in hits)


_WIRED = all(
    hasattr(checker_module, name)
    for name in ("find_split_phones", "find_written_links", "separated_before_from_offsets")
)


@pytest.mark.skipif(not _WIRED, reason="the checker does not call the round-2 detectors yet")
@pytest.mark.parametrize(
    ("text", "rule_id", "span"),
    [
        ("call me 13800138000", "common.diversion.phone", "13800138000"),
        ("phone 13800138000", "common.diversion.phone", "13800138000"),
        ("mobile: 13088889999", "common.diversion.phone", "13088889999"),
        ("号码前三位是139，后面是1234 5678", "common.diversion.phone", "139，后面是1234 5678"),
        ("h t t p s : / / w w w . a b c . c o m", "common.diversion.link", "w w w . a b c . c o m"),
        ("abc点com", "common.diversion.link", "abc点com"),
        ("abc123艾特qq点com", "common.diversion.email", "abc123艾特qq点com"),
        ("lily#163.com", "common.diversion.email", "lily#163.com"),
        ("访问47.96.1.2:8080", "common.diversion.link", "47.96.1.2:8080"),
    ],
)
def test_checker_catches_round_two_evasions(checkers, text, rule_id, span):
    hits = [f for f in checkers["pinduoduo"].check(text).findings if f.rule_id == rule_id]
    assert hits, [(f.rule_id, f.matched) for f in checkers["pinduoduo"].check(text).findings]
    assert any(text[f.start : f.end] == f.matched and span in f.matched for f in hits)
