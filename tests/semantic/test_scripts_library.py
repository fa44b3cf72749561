"""The 话术 library: quoted from the seeds, compliant on every platform it serves, found by meaning or by words."""

from __future__ import annotations

import re

import pytest

from kefuguard.checker import get_checker
from kefuguard.rules.model import PLATFORMS
from kefuguard.semantic.scripts import compliant_entries, load_library, scripts_for_finding, search_scripts

from ..conftest import SEEDS_DIR

LIB = load_library()


def _collapse(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_library_is_complete_and_unique() -> None:
    kinds = {e.kind for e in LIB}
    assert kinds == {"script", "stage", "standard", "abusive_step"}
    assert len([e for e in LIB if e.kind == "script"]) >= 30
    assert [e.id for e in LIB if e.kind == "abusive_step"] == [
        "abusive_buyer.calm", "abusive_buyer.respect", "abusive_buyer.ask", "abusive_buyer.offer", "abusive_buyer.act"]
    assert all(e.questions for e in LIB if e.kind == "script")


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason="../shared/seeds not present")
def test_every_entry_quotes_its_seed_verbatim() -> None:
    seeds: dict[str, str] = {}
    for e in LIB:
        seed = seeds.setdefault(e.source_file, _collapse((SEEDS_DIR / e.source_file).read_text(encoding="utf-8")))
        assert _collapse(e.source_quote) in seed, (e.id, e.source_quote)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_scripts_written_for_a_platform_break_none_of_its_rules(platform: str) -> None:
    checker = get_checker(platform)
    for e in LIB:
        if e.kind == "script" and e.applies_to(platform):
            assert checker.check(e.text).ok, (platform, e.id, [f.rule_id for f in checker.check(e.text).findings])
    assert compliant_entries(platform)


@pytest.mark.parametrize("semantic", [False, True])
def test_search_finds_the_script_for_the_question(semantic: bool, request) -> None:
    if semantic:
        request.getfixturevalue("encoder")
    for query, expected in [("发票怎么开", "invoice"), ("退货运费谁出", "return_postage"), ("我要给差评", "complaint"),
                            ("今天能发货吗", "ship_time")]:
        matches = search_scripts(query, "pinduoduo", semantic=semantic)
        assert matches and matches[0].entry.id == expected, (query, [(m.entry.id, m.score) for m in matches])
        assert matches[0].method == ("semantic" if semantic else "lexical")
        assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_semantic_search_understands_paraphrases(encoder) -> None:
    [first, *_] = search_scripts("这东西是真的吗，会不会是假货", "douyin")
    assert first.entry.id == "authentic"
    steps = search_scripts("你们就是一群骗子，垃圾店", "douyin", kinds=["abusive_step"])
    assert [m.entry.id.split(".")[1] for m in steps] == ["calm", "respect", "ask", "offer", "act"]
    assert search_scripts("   ", "douyin") == []


def test_results_are_compliant_for_the_platform(encoder) -> None:
    checker = get_checker("pinduoduo")
    for query in ("帮我核对一下地址", "拍下付款后没货怎么办", "能不能晚几天发货", "你们家发货怎么这么慢呀"):
        for m in search_scripts(query, "pinduoduo", top=10):
            assert m.entry.applies_to("pinduoduo") and checker.check(m.entry.text).ok
    # a script meant for Pinduoduo only is never offered on Douyin
    assert all(m.entry.id != "extend_shipping" for m in search_scripts("能不能晚几天发货", "douyin", top=10))


def test_scripts_for_a_finding(encoder) -> None:
    finding = get_checker("douyin").check("特价商品不开发票哦").findings[0]
    ids = [m.entry.id for m in scripts_for_finding(finding, "douyin")]
    assert "invoice" in ids
