"""Schema and size checks for the labelled accuracy set in bench/accuracy/.

The set is a held-out test set: these tests check its shape only, never the checker's scores.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1] / "bench" / "accuracy"

PLATFORMS = {"douyin", "pinduoduo", "tmall", "taobao", "jd", "kuaishou"}
CATEGORIES = {
    "diversion",
    "abuse",
    "harassment",
    "attitude",
    "superlative",
    "broken_promise",
    "stockout",
    "privacy",
    "overpromise",
    "review_invite",
    "negative_refusal",
    "wording",
    "pii",
    "fraud",
}
EVASIONS = {
    "plain",
    "spacing_symbols",
    "plus_joiner",
    "fullwidth",
    "traditional",
    "unicode_digits",
    "chinese_numerals",
    "repeated_letters",
    "pinyin_mixed",
    "homophone",
    "platform_nickname",
    "written_link",
    "ip_address",
    "english_before_number",
    "split_number",
    "glued_aliases",
    "refusal_mention",
    "paraphrase",
    "short_phrase",
}
TRAPS = {
    "keyword_inside_word",
    "straddles_punctuation",
    "payment_talk",
    "own_platform_link",
    "numbers",
    "superlative_ordinary",
    "english_words",
    "polite_refusal",
    "negation_ok",
    "other",
}
MIN_CASES = 420


def _load(name: str) -> list[dict]:
    with (ROOT / name).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, list), f"{name} must be a YAML list"
    return data


@pytest.fixture(scope="module")
def violations() -> list[dict]:
    return _load("violations.yaml")


@pytest.fixture(scope="module")
def clean() -> list[dict]:
    return _load("clean.yaml")


def _platforms(case: dict) -> set[str]:
    return PLATFORMS if case["platform"] == "all" else {case["platform"]}


def test_violation_fields(violations):
    for case in violations:
        assert isinstance(case, dict), case
        assert set(case) <= {"platform", "category", "evasion", "text", "note"}, case
        assert {"platform", "category", "evasion", "text"} <= set(case), case
        assert case["platform"] in PLATFORMS | {"all"}, case
        assert case["category"] in CATEGORIES, case
        assert case["evasion"] in EVASIONS, case
        assert isinstance(case["text"], str) and case["text"].strip(), case
        assert isinstance(case.get("note", ""), str), case


def test_clean_fields(clean):
    for case in clean:
        assert isinstance(case, dict), case
        assert set(case) <= {"platform", "trap", "text", "note"}, case
        assert {"platform", "trap", "text"} <= set(case), case
        assert case["platform"] in PLATFORMS | {"all"}, case
        assert case["trap"] in TRAPS, case
        assert isinstance(case["text"], str) and case["text"].strip(), case
        assert isinstance(case.get("note", ""), str), case


def test_sizes(violations, clean):
    assert len(violations) >= MIN_CASES
    assert len(clean) >= MIN_CASES


def test_no_duplicate_texts(violations, clean):
    texts = [c["text"] for c in violations] + [c["text"] for c in clean]
    dupes = [t for t, n in Counter(texts).items() if n > 1]
    assert not dupes, dupes


def test_every_evasion_class_covered(violations):
    counts = Counter(c["evasion"] for c in violations)
    thin = {e: counts[e] for e in EVASIONS if counts[e] < 8}
    assert not thin, thin


def test_every_category_covered(violations):
    counts = Counter(c["category"] for c in violations)
    thin = {c: counts[c] for c in CATEGORIES if counts[c] < 8}
    assert not thin, thin


def test_every_trap_class_covered(clean):
    counts = Counter(c["trap"] for c in clean)
    thin = {t: counts[t] for t in TRAPS if counts[t] < 25}
    assert not thin, thin


def test_every_platform_present(violations, clean):
    for cases in (violations, clean):
        seen = {p for c in cases if c["platform"] != "all" for p in _platforms(c)}
        assert seen == PLATFORMS, PLATFORMS - seen
