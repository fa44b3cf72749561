"""Property tests over generated risky messages (tests/fuzzing.py), on all six platforms.

Bounded (derandomized, a fixed number of examples) so the file runs in seconds; the benchmark
bench/bench_fuzz.py runs the same grammar over 100,000 messages per platform.

* Checker.check never raises, and every finding's offsets slice its `matched` text;
* the number detectors never raise on generated digit strings (a validator's failure means
  "not valid", e.g. python-stdnum's KeyError on some ID numbers' county codes);
* rewrite never raises, never adds a finding (by rule id), and says `complete` only when the
  rewritten text checks clean.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefuguard.checker import shared_detector_context
from kefuguard.detectors import find_numbers
from kefuguard.detectors.numbers import _valid_id_card, _valid_luhn, is_phone_number
from kefuguard.rewrite import rewrite
from kefuguard.rules.model import PLATFORMS

from .fuzzing import ID_AREAS, digit_strings, id_check_digit, luhn_check_digit, messages

FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None)
DIGIT_FUZZ = settings(max_examples=400, deadline=None, derandomize=True, database=None)


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@pytest.mark.parametrize("platform", PLATFORMS)
@FUZZ
@given(text=messages())
def test_check_never_raises_and_offsets_slice_matched(checkers, platform, text):
    result = checkers[platform].check(text)
    assert result.text == text
    for f in result.findings:
        assert 0 <= f.start < f.end <= len(text), f
        assert text[f.start : f.end] == f.matched, f


@pytest.mark.parametrize("platform", PLATFORMS)
@FUZZ
@given(text=messages())
def test_rewrite_never_adds_a_finding(checkers, platform, text):
    checker = checkers[platform]
    before = {f.rule_id for f in checker.check(text).findings}
    result = rewrite(text, platform, checker)
    after = checker.check(result.text).findings
    added = {f.rule_id for f in after} - before
    assert not added, f"{text!r} → {result.text!r} added {sorted(added)}"
    assert result.complete == (not after), f"{text!r} → {result.text!r}: complete={result.complete}, left {after}"
    assert {f.rule_id for f in result.unfixed} == {f.rule_id for f in after}


@DIGIT_FUZZ
@given(view=digit_strings())
def test_number_detectors_never_raise(view):
    for det in find_numbers(view, shared_detector_context()):
        assert 0 <= det.start < det.end <= len(view)
        assert det.kind in {"phone", "qq", "bank_card", "id_card"}


@DIGIT_FUZZ
@given(digits=st.text(alphabet="0123456789", min_size=1, max_size=25), tail=st.sampled_from(["", "x", "X"]))
def test_validators_answer_false_instead_of_raising(digits, tail):
    number = digits + tail
    assert isinstance(is_phone_number(number), bool)
    assert isinstance(_valid_id_card(number.upper()), bool)
    assert isinstance(_valid_luhn(number), bool)
    for prefix in ("", "身份证", "卡号", "qq", "加", "订单号"):
        find_numbers(prefix + number.lower(), shared_detector_context())


@DIGIT_FUZZ
@given(
    area=st.one_of(st.sampled_from(ID_AREAS), _digits(6)),
    birth=st.one_of(st.dates(date(1900, 1, 1), date(2030, 12, 31)).map(lambda d: f"{d:%Y%m%d}"), _digits(8)),
    seq=_digits(3),
    valid=st.booleans(),
)
def test_id_like_numbers_never_raise(area, birth, seq, valid):
    body = area + birth + seq
    number = body + (id_check_digit(body) if valid else "0")
    assert isinstance(_valid_id_card(number), bool)
    dets = find_numbers("身份证号" + number.lower(), shared_detector_context())
    assert all(d.end <= len("身份证号") + 18 for d in dets)


def test_stdnum_county_keyerror_is_not_valid(checkers):
    """python-stdnum raises KeyError('county') for this one; it must simply not be an ID number."""
    assert _valid_id_card("110005199001011237") is False
    for platform, checker in checkers.items():
        checker.check("身份证号 110005199001011237")
        rewrite("身份证号 110005199001011237", platform, checker)


def test_generator_check_digits():
    assert id_check_digit("11010519491231002") == "X"
    assert luhn_check_digit("622202123456789012") == "8"
