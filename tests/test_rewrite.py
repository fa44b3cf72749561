"""rewrite(): masks and replacements, the re-check promise, honest fixed/unfixed, the mask option.

The promise under test: a rewrite never carries a finding (by rule id) its input did not, and
`complete` is true exactly when the rewritten text checks clean. Most tests are about that
invariant rather than exact outputs, so the checker can learn new detections without breaking
them; tests/test_fuzz.py runs the same invariant over generated messages.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefuguard.checker import get_checker
from kefuguard.findings import CheckResult, Finding
from kefuguard.rewrite import _Layout, check_mask_char, mask_all, mask_digits, mask_pii, rewrite
from kefuguard.rules.loader import load_packs
from kefuguard.rules.model import PLATFORMS

PACKS = load_packs()
HIT_EXAMPLES = sorted({s for p in PACKS for r in p.rules for s in r.examples.hit})


def assert_promise(checker, text: str, result) -> None:
    """No new rule, `complete` iff clean, and every finding is either fixed or unfixed, once."""
    before = checker.check(text).findings
    after = checker.check(result.text).findings
    new = {f.rule_id for f in after} - {f.rule_id for f in before}
    assert not new, f"rewrite of {text!r} → {result.text!r} added {sorted(new)}"
    assert result.complete == (not after), f"{text!r} → {result.text!r}: complete={result.complete}, left {after}"
    assert len(result.fixed) + len(result.unfixed) == len(before)
    # an unfixed rule is one the re-check still reports; every rule it still reports is unfixed
    assert {f.rule_id for f in after} == {f.rule_id for f in result.unfixed}
    assert result.original == text


# ---------------------------------------------------------------- clear cases
@pytest.mark.parametrize("platform", PLATFORMS)
def test_masked_phone_is_not_read_as_qq(checkers, platform):
    """加13812345678 → 加138****5678 read as a QQ number (the issue): the rewrite now re-checks."""
    checker = checkers[platform]
    result = rewrite("加13812345678", platform, checker)
    assert result.complete and checker.check(result.text).ok
    assert "13812345678" not in result.text and result.fixed and not result.unfixed
    assert_promise(checker, "加13812345678", result)


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(
    "text", ["看这个 www.example.com 就知道了", "打开 https://t.cn/abc 领券", "扫这个二维码付款", "收款码发你了"]
)
def test_links_and_qr_codes_are_fixed(checkers, platform, text):
    checker = checkers[platform]
    result = rewrite(text, platform, checker)
    assert result.complete and checker.check(result.text).ok, result
    assert {f.rule_id for f in result.fixed} >= {"common.diversion.link"} or "码" in text
    for word in ("example", "t.cn", "二维码", "收款码"):
        assert word not in result.text
    assert_promise(checker, text, result)


def test_known_rewrites_still_read_naturally(checkers):
    assert rewrite("这个宝贝很好", "pinduoduo", checkers["pinduoduo"]).text == "这个商品很好"
    masked = rewrite("收件人号码13800138000", "douyin", checkers["douyin"])
    assert masked.text == "收件人号码138****8000" and masked.complete
    email = rewrite("发到 shop_service@163.com 就行", "douyin", checkers["douyin"])
    assert email.complete and "shop_service" not in email.text


def test_rude_tone_stays_unfixed(checkers):
    result = rewrite("你自己不会看吗", "pinduoduo", checkers["pinduoduo"])
    assert not result.complete and result.unfixed and result.text == "你自己不会看吗"
    assert_promise(checkers["pinduoduo"], "你自己不会看吗", result)


def test_clean_message_is_returned_as_is(checkers):
    result = rewrite("好的呢，马上为您安排发货", "jd", checkers["jd"])
    assert result.text == "好的呢，马上为您安排发货" and result.complete and not result.fixed


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_rule_example_keeps_the_promise(checkers, platform):
    checker = checkers[platform]
    for text in HIT_EXAMPLES:
        assert_promise(checker, text, rewrite(text, platform, checker))


@pytest.mark.parametrize(
    "text",
    [
        "亲加我微信13812345678哦，qq 12345678 5678 也行",
        "微www.a.com信",
        "打我电话 138 0013 8000 或者 ①③⑧-0013-8000",
        "身份证号 110005199001011237，身份证 11010519491231002X",
        "加138****5678",
        "卡号 6222 0212 3456 7890 128 直接转，vx1928681197",
    ],
)
def test_tricky_neighbours_keep_the_promise(checkers, text):
    for platform, checker in checkers.items():
        assert_promise(checker, text, rewrite(text, platform, checker))


# ---------------------------------------------------------------- mask character
def test_mask_char_option(checkers):
    result = rewrite("收件人号码13800138000", "douyin", checkers["douyin"], mask_char="●")
    assert result.text == "收件人号码138●●●●8000" and result.complete
    link = rewrite("看这个 www.example.com 就知道了", "douyin", checkers["douyin"], mask_char="×")
    assert "×" in link.text and "*" not in link.text and link.complete


@pytest.mark.parametrize("bad", ["", "**", "a", "Z", "1", "一", "①", " ", "\n", "+", "＋"])
def test_mask_char_must_be_one_symbol_the_checker_ignores(checkers, bad):
    with pytest.raises(ValueError):
        rewrite("电话13800138000", "douyin", checkers["douyin"], mask_char=bad)
    with pytest.raises(ValueError):
        check_mask_char(bad)


def test_mask_functions_keep_their_defaults():
    assert mask_digits("138 0013 8000", 3, 4) == "138 **** 8000"
    assert mask_digits("13800138000", 3, 4, "#") == "138####8000"
    assert mask_pii("phone", "13800138000") == "138****8000"
    assert mask_pii("phone", "13800138000", mask_char="●") == "138●●●●8000"
    assert mask_pii("email", "service@163.com", "#") == "s###@163.com"
    assert mask_pii("qq", "12345678", "#") == "12####78"
    assert mask_all("www.a.com 二维码", "#") == "######### ###"


# ---------------------------------------------------------------- the fallbacks, with a hostile checker
class _HostileChecker:
    """Reports rule `x.digits` for every ASCII digit run and `x.mask` for every run of mask
    characters: any masking adds a rule, so only the last resort (the text unchanged) keeps the
    promise."""

    platform = "douyin"

    def __init__(self) -> None:
        self.calls = 0

    def check(self, text: str):
        self.calls += 1
        findings = [self._finding("x.digits", m, "phone") for m in re.finditer(r"[0-9]+", text)]
        findings += [self._finding("x.mask", m, None) for m in re.finditer(r"\*+", text)]
        findings.sort(key=lambda f: f.start)
        return CheckResult(text=text, platform=self.platform, findings=findings)

    @staticmethod
    def _finding(rule_id, m, detector):
        base = get_checker("douyin").check("加我微信").findings[0]
        return base.model_copy(
            update={"rule_id": rule_id, "start": m.start(), "end": m.end(), "matched": m.group(), "detector": detector}
        )


def test_last_resort_returns_the_text_unchanged():
    checker = _HostileChecker()
    result = rewrite("电话13800138000", "douyin", checker)
    assert result.text == "电话13800138000"
    assert not result.complete and not result.fixed and [f.rule_id for f in result.unfixed] == ["x.digits"]
    assert checker.calls <= 12  # bounded rounds


def test_recheck_count_is_bounded_on_a_long_message(checkers):
    class Counting:
        platform = "pinduoduo"
        calls = 0

        def check(self, text):
            Counting.calls += 1
            return checkers["pinduoduo"].check(text)

    text = "亲加我微信13812345678哦，打我电话 138 0013 8000，看 www.example.com，" * 200
    result = rewrite(text, "pinduoduo", Counting())
    assert Counting.calls <= 3 and result.complete
    assert_promise(checkers["pinduoduo"], text, result)


# ---------------------------------------------------------------- offset bookkeeping
@st.composite
def _text_and_edits(draw):
    text = draw(st.text(alphabet="ab微信12", max_size=30))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    edits, prev = [], 0
    for a, b in zip(cuts[::2], cuts[1::2], strict=False):
        if a >= prev and b > a:
            edits.append((a, b, draw(st.text(alphabet="*平台", max_size=5))))
            prev = b
    return text, edits


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(_text_and_edits())
def test_layout_maps_output_spans_back(case):
    text, edits = case
    layout = _Layout(text, edits)
    expected = list(text)
    for s, e, new in reversed(edits):
        expected[s:e] = list(new)
    assert layout.text == "".join(expected)
    n = len(layout.text)
    for start in range(n):
        for end in range(start + 1, n + 1):
            o_s, o_e = layout.original_span(start, end)
            assert 0 <= o_s < o_e <= len(text)
            # an output span untouched by any edit maps to the same characters
            if not layout.touching(start, end) or all(
                layout.out_ends[k] <= start or layout.out_starts[k] >= end for k in layout.touching(start, end)
            ):
                assert text[o_s:o_e] == layout.text[start:end]


def test_finding_model_unchanged():
    # rewrite builds nothing but RewriteResult; Finding keeps its offsets contract
    assert {"start", "end", "matched", "rule_id", "replacement", "detector"} <= set(Finding.model_fields)
