"""The checker's shortcuts must never change a verdict.

The fast path skips the full check when the screening automaton, the digit-run length gate and the
link gate see nothing; regexes run only where their derived literals occur; offsets come from a
C-level pass where no character expanded. Each is compared here with the slow, obvious way on
every example sentence the packs and fixtures hold, plus cases built to break each shortcut.
"""

from __future__ import annotations

import random
import re

import pytest

from kefuguard.checker import Checker, shared_detector_context, shared_tables
from kefuguard.detectors.numbers import find_numbers, has_plausible_run, separated_before_from_offsets
from kefuguard.normalize import Views, keyword_view
from kefuguard.regex_prefilter import min_digit_run, required_factors
from kefuguard.rules.loader import load_pack_file
from kefuguard.rules.model import PLATFORMS

from .conftest import FIXTURES
from .test_evasion import EVASIONS


class _EverythingRelevant:
    """Stands in for the screening automaton: reports one relevant hit for every message."""

    def find_matches_as_indexes(self, text, overlapping=False):
        return [(0, 0, 0)]


def _unscreened(packs, platform: str) -> Checker:
    """The reference: every message takes the full path, and a regex runs wherever one of its
    hand-written anchors occurs (no derived literals), or always if it has none."""
    checker = Checker(platform, packs=packs)
    checker._screen = _EverythingRelevant()
    checker._screen_relevant = 1
    checker._screen_gates = [None]  # its one hit always takes the full path (no regex-gate shortcut)
    checker._needs_factor = set()
    checker._always_patterns = [
        (i, j) for i, cr in enumerate(checker.rules) for j, pat in enumerate(cr.rule.match.patterns) if not pat.anchors
    ]
    return checker


def _corpus(packs) -> list[str]:
    texts = [s for p in packs for r in p.rules for s in (*r.examples.hit, *r.examples.miss)]
    texts += [text for text, _, _ in EVASIONS]
    for path in sorted((FIXTURES / "clean").glob("*.txt")):
        texts += [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    # built to defeat the shortcuts: a keyword starting inside an exception phrase (唯一的区别 +
    # 别家卖的), doubled characters, digit runs of every length, links and e-mail
    texts += [
        "两款唯一的区别家卖的都是假货",
        "唯一的区别家卖的",
        "第一次排第一",
        "最近卖得最好",
        "支支付付宝宝",
        "加加微微信信",
        "扫扫码",
        "联系 abc@example.com",
        "看这个 t.cn/abc",
        "订单号 123456-123456789012345",
        "SF1234567890123 明天到",
        "一三八零零一三八零零零",
        "加12345678",
        "加我 1234567",
        "🏴\U000e0067\U000e0062\U000e007f加微信",
        "138\U000e0067001380000",
        # regex gates that could hide a keyword, and doubled characters next to gates
        "质量问题你自己看",
        "qqq联系",
        "核对对公账户",
        "官方客服说了算",
        "24小时内发货，每天催你也没用",
        "您的地址是幸福路12号，她的地址也一样",
        "一点点加加微微信信",
        "绿泡泡聊",
        "收货信息是张三13812345678",
    ]
    texts += ["号码" + "1" * n for n in range(3, 22)] + ["0" * n for n in range(3, 22)]
    return texts


@pytest.mark.parametrize("platform", PLATFORMS)
def test_fast_path_never_changes_a_verdict(packs, checkers, platform):
    reference = _unscreened(packs, platform)
    checker = checkers[platform]
    for text in _corpus(packs):
        got, want = checker.check(text), reference.check(text)
        assert got.model_dump() == want.model_dump(), text


def test_the_comparison_covers_both_paths(packs, checkers):
    """Guard for the test above: the real screen must wave many corpus messages through (else the
    two checkers would take the same path and the comparison would prove nothing)."""
    checker = checkers["pinduoduo"]
    waved = 0
    for text in _corpus(packs):
        screen = checker._screen.find_matches_as_indexes(text.translate(checker._keyword_list))
        waved += not (screen and min(screen)[0] < checker._screen_relevant)
    assert waved > 200


_PACK = """
pack: {{id: screen, version: "1", effective_date: 2026-01-01, title: 测试, platforms: [all]}}
rules:
{rules}
"""
_RULE = """
  - id: screen.{name}
    category: wording
    severity: minor
    title: 测试
    explanation: 测试
    penalty: {{text: 测试, basis: shop_policy}}
    source: {{file: test.md, quote: 本店测试规则}}
    match: {{keywords: [{keyword}]}}
    exceptions: [{exceptions}]
    suggestion: 测试
    examples: {{hit: [x], miss: [y]}}
"""


def _pack_checker(tmp_path, rules: dict[str, tuple[str, str]]) -> Checker:
    body = "".join(_RULE.format(name=n, keyword=k, exceptions=x) for n, (k, x) in rules.items())
    (tmp_path / "screen.yaml").write_text(_PACK.format(rules=body), encoding="utf-8")
    return Checker("jd", packs=[load_pack_file(tmp_path / "screen.yaml")])


def test_keyword_running_out_of_an_exception_phrase_is_still_checked(tmp_path):
    # 唯一的区别 hides 唯一 (excused); 别家货 starts inside it and runs past its end
    checker = _pack_checker(tmp_path, {"only": ("唯一", "唯一的区别"), "other": ("别家货", "")})
    assert [f.rule_id for f in checker.check("两款唯一的区别家货更差").findings] == ["screen.other"]
    assert checker.check("两款唯一的区别是颜色").ok
    kw = "两款唯一的区别是颜色".translate(checker._keyword_list)
    assert min(checker._screen.find_matches_as_indexes(kw))[0] >= checker._screen_relevant  # fast path


def test_exception_phrase_holding_another_rules_keyword_is_not_neutral(tmp_path):
    # 的区 lies inside 唯一的区别 but that phrase excuses only the first rule
    checker = _pack_checker(tmp_path, {"only": ("唯一", "唯一的区别"), "inner": ("的区", "")})
    assert "唯一的区别" not in checker._screen_patterns[checker._screen_relevant :]
    assert [f.rule_id for f in checker.check("唯一的区别").findings] == ["screen.inner"]


@pytest.mark.parametrize(
    ("regex", "expected"),
    [
        (r"(卖|做)得最(好|火)", {"卖得最好", "卖得最火", "做得最好", "做得最火"}),
        (r"(?<!不)改价", {"改价"}),
        (r"加(?:我|个)?\d{5,}", {f"加{a}{d}" for a in ("", "我", "个") for d in "0123456789"}),
        (r"第一(名|梯队)?", {"第一"}),
        (r"abc|xyz", {"abc", "xyz"}),
        (r".*", None),
        (r"(?i)abc", None),
        (r"a?b?", None),
    ],
)
def test_required_factors(regex, expected):
    assert required_factors(regex) == expected


def test_required_factors_hold_for_every_bundled_pattern(packs):
    """Every hit example a pattern matches contains one of its factors (else gating would miss it)."""
    table = shared_tables().keyword_list
    checked = 0
    for pack in packs:
        for rule in pack.rules:
            sentences = [s.translate(table) for s in (*rule.examples.hit, *rule.examples.miss)]
            for pat in rule.match.patterns:
                factors = required_factors(pat.regex)
                if not factors:
                    continue
                regex = re.compile(pat.regex)
                for kw in sentences:
                    if regex.search(kw):
                        checked += 1
                        assert any(f in kw for f in factors), (rule.id, pat.regex, kw)
    assert checked > 100


@pytest.mark.parametrize(
    ("regex", "expected"),
    [
        (r"(?:收货|地址)\D{0,40}?(?<!\d)1[3-9]\d{9}(?!\d)", 11),
        (r"加(?:我|个)?\d{5,}", 5),
        (r"1[3-9]\d{2,9}", 4),
        (r"\d+x\d{4}", 4),
        (r"(1\d{10})", 0),  # inside a group: not read (a lower bound)
        (r"最(好|低)", 0),
        (r"\d{0,3}[0-9]{2}", 2),
    ],
)
def test_min_digit_run(regex, expected):
    assert min_digit_run(regex) == expected


def test_min_digit_run_holds_for_every_bundled_pattern(packs):
    """Every example a pattern matches holds a digit run as long as the one the checker requires
    before running it (else the digit pre-check would hide a match)."""
    table = shared_tables().keyword_list
    extra = ["收货地址核对一下13812345678", "加我12345678", "电话是 138 1234 5678 地址幸福路", "确认手机13800138000收件"]
    checked = 0
    for pack in packs:
        for rule in pack.rules:
            sentences = [s.translate(table) for s in (*rule.examples.hit, *rule.examples.miss, *extra)]
            for pat in rule.match.patterns:
                need = min_digit_run(pat.regex)
                if need < 3:
                    continue
                regex = re.compile(pat.regex)
                for kw in sentences:
                    if regex.search(kw):
                        checked += 1
                        assert re.search(f"[0-9]{{{need}}}", kw), (rule.id, pat.regex, kw)
    assert checked > 5


def test_digit_run_gate_agrees_with_the_number_detectors():
    tables, ctx = shared_tables(), shared_detector_context()
    rng = random.Random(5)
    numerals = "0123456789一二三四五六七八九零"
    cases = ["".join(rng.choice(numerals) for _ in range(n)) for n in range(1, 24) for _ in range(40)]
    cases += [f"{p}{'1' * n}" for p in ("86", "0", "86138", "") for n in range(1, 20)]
    cases += [f"{p}{'5' * n}" for p in ("400", "800", "1", "13", "0571", "62") for n in range(1, 17)]
    prefixes = ("", "电话", "订单", "qq", "加", "加我", "扣扣号", "q", "价格", "订单号是", "联系", "hello ", "tel", "金额¥")
    for body in cases:
        for text in (*(f"{p}{body}" for p in prefixes), f"订单{body}号", f"{body}元", f"亲{body}，加我"):
            kw = text.translate(tables.keyword_list)
            views = Views(text, tables, kw)
            separated = separated_before_from_offsets(lambda views=views: views.offsets)
            for found in (find_numbers(views.digits, ctx), find_numbers(views.digits, ctx, separated)):
                if found:
                    assert has_plausible_run(kw, tables.numeral_runs, tables.digits_list), text
                    # with the context, the gate also rules out runs after order words and QQ-length
                    # runs without a QQ word, but never one the detector accepts
                    assert has_plausible_run(kw, tables.numeral_runs, tables.digits_list, ctx), (text, found)


@pytest.mark.parametrize(
    "text",
    [
        "亲，您好！请问有什么可以帮您？",
        "加 微 信",
        "V❤信",
        "ﬁne ㎏ 好",  # ligatures expand to two characters
        "𠀀𠀁 加我",  # characters beyond the translate tables
        "🏴\U000e0067\U000e0062\U000e007f好",  # tag characters, deleted by the second pass
        "",
        "，。！",
        "Ａｂｃ１２３",
    ],
)
def test_offsets_fast_pass_equals_character_walk(text):
    tables = shared_tables()
    fast = Views(text, tables).offsets
    # the walk, one character at a time: each index repeated as often as its keyword view is long
    walked = [i for i, ch in enumerate(text) for _ in keyword_view(ch, tables)] + [len(text)]
    assert fast == walked
    assert len(fast) == len(Views(text, tables).keyword) + 1


def test_gates_reject_the_usual_clean_digit_runs(checkers):
    checker = checkers["pinduoduo"]
    for text in ("订单号 123456-123456789012345", "2024-05-01 14:30", "快递单号SF166848452803"):
        kw = text.translate(checker._keyword_list)
        assert not has_plausible_run(kw, checker._numeral_runs, checker.tables.digits_list), text


def test_screen_keeps_exception_phrases_that_hide_nothing(checkers):
    checker = checkers["pinduoduo"]
    neutral = set(checker._screen_patterns[checker._screen_relevant :])
    assert "唯一的区别" in neutral  # hides 唯一, a keyword it excuses


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f加微信", "加微信"),  # a flag emoji's tags
        ("微\U000e0067信联系", "微\U000e0067信"),  # invisible tag characters as separators
    ],
)
def test_characters_past_the_translate_list_are_normalised(checkers, text, matched):
    findings = [f for f in checkers["pinduoduo"].check(text).findings if f.rule_id == "common.diversion.wechat"]
    assert findings and matched in findings[0].matched
    assert text[findings[0].start : findings[0].end] == findings[0].matched


def test_flag_emoji_alone_is_clean(checkers):
    assert checkers["pinduoduo"].check("好的🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f").ok
