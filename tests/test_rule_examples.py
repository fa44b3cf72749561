"""Every rule's own hit/miss examples, run on every platform the rule applies to.

The examples live in the packs; this file only runs them, so a rule cannot ship without proof.
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from kefuguard.rules.loader import load_packs

from .conftest import SEEDS_DIR

PACKS = load_packs()
CASES = [
    pytest.param(pack, rule, platform, id=f"{rule.id}[{platform}]")
    for pack in PACKS
    for rule in pack.rules
    for platform in pack.platforms_of(rule)
]


@pytest.mark.parametrize(("pack", "rule", "platform"), CASES)
def test_hit_examples_fire(checkers, pack, rule, platform):
    checker = checkers[platform]
    for sentence in rule.examples.hit:
        result = checker.check(sentence)
        ids = {f.rule_id for f in result.findings}
        assert rule.id in ids, f"{rule.id} missed hit example {sentence!r} on {platform}; found {sorted(ids)}"
        for f in result.findings:
            assert 0 <= f.start < f.end <= len(sentence)
            assert sentence[f.start : f.end] == f.matched


@pytest.mark.parametrize(("pack", "rule", "platform"), CASES)
def test_miss_examples_stay_clean(checkers, pack, rule, platform):
    checker = checkers[platform]
    for sentence in rule.examples.miss:
        ids = {f.rule_id for f in checker.check(sentence).findings}
        assert rule.id not in ids, f"{rule.id} fired on miss example {sentence!r} on {platform}"


def _collapse(text: str) -> str:
    return re.sub(r"\s+", "", text)


@cache
def _seed(name: str) -> str:
    return _collapse((SEEDS_DIR / name).read_text(encoding="utf-8"))


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason="../shared/seeds not present")
@pytest.mark.parametrize(
    "rule", [pytest.param(r, id=r.id) for p in PACKS for r in p.rules] + [
        pytest.param(o, id=f"override:{p.pack.id}:{o.rule}") for p in PACKS for o in p.overrides if o.source
    ]
)
def test_source_quote_is_verbatim_in_seed(rule):
    source = rule.source
    assert (SEEDS_DIR / source.file).is_file(), f"unknown seed file {source.file}"
    assert _collapse(source.quote) in _seed(source.file), f"quote not found in {source.file}: {source.quote!r}"


def test_every_rule_has_enough_examples():
    thin = [r.id for p in PACKS for r in p.rules if len(r.examples.hit) < 3 or len(r.examples.miss) < 3]
    assert not thin, f"rules with fewer than 3 hit or 3 miss examples: {thin}"
