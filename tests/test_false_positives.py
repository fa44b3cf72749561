"""Ordinary customer-service sentences must raise nothing, with every pack loaded.

tests/fixtures/clean/<platform>.txt is checked on that platform; common.txt on every platform.
"""

from __future__ import annotations

import pytest

from kefuguard.rules.model import PLATFORMS

from .conftest import FIXTURES


def _lines(path):
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]


def _cases():
    for path in sorted((FIXTURES / "clean").glob("*.txt")):
        platforms = PLATFORMS if path.stem == "common" else (path.stem,)
        for platform in platforms:
            for line in _lines(path):
                yield pytest.param(platform, line, id=f"{path.stem}:{platform}:{line[:16]}")


@pytest.mark.parametrize(("platform", "sentence"), list(_cases()))
def test_clean_sentence_raises_nothing(checkers, platform, sentence):
    findings = checkers[platform].check(sentence).findings
    assert not findings, [(f.rule_id, f.matched) for f in findings]


def test_clean_tables_are_big_enough():
    common = _lines(FIXTURES / "clean" / "common.txt")
    assert len(common) >= 60
    per_platform = sum(len(_lines(p)) for p in (FIXTURES / "clean").glob("*.txt") if p.stem != "common")
    assert per_platform >= 100
