"""The service-language library: complete, quoted from the seeds, and wired to the conduct rules.

Taboo phrases must trip the rule that names them on every platform; the standard phrases, the
scripts and the abusive-buyer examples are what agents are told to say, so they must raise nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from kefuguard.rules.loader import load_packs
from kefuguard.rules.model import PLATFORMS
from kefuguard.service_language import STAGES, ServiceLanguage, load_service_language

SEEDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds"
LIB = load_service_language()
RULES = {r.id: r for p in load_packs() for r in p.rules}


def _collapse(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_courtesy_set_is_the_ten_characters():
    assert LIB.courtesy.words == ("您好", "请", "谢谢", "对不起", "再见")
    assert len("".join(LIB.courtesy.words)) == 10
    assert len(LIB.courtesy.seed_wording) == len(LIB.courtesy.words)


def test_every_stage_has_scripts_in_order():
    for stage in STAGES:
        lines = LIB.scripts_for(stage)
        assert lines, stage
        assert all(s.stage == stage for s in lines)
    assert LIB.scripts_for("opening")[0].text.startswith("您好")
    assert LIB.scripts_for("closing")[0].stage_zh == "结束对话"
    with pytest.raises(ValueError, match="unknown stage"):
        LIB.scripts_for("greeting")


def test_abusive_buyer_steps_are_calm_respect_ask_offer_act():
    steps = LIB.abusive_buyer_steps
    assert [s.key for s in steps] == ["calm", "respect", "ask", "offer", "act"]
    assert [s.order for s in steps] == [1, 2, 3, 4, 5]
    assert steps[0].name == "让顾客冷静"


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason="../shared/seeds not present")
def test_every_entry_quotes_its_seed_verbatim():
    entries = [LIB.courtesy, *LIB.taboos, *LIB.scripts, *LIB.abusive_buyer_steps]
    for entry in entries:
        seed = _collapse((SEEDS_DIR / entry.source.file).read_text(encoding="utf-8"))
        assert _collapse(entry.source.quote) in seed, entry.source.quote


def test_phrase_taboos_name_a_conduct_rule_whose_suggestion_is_the_standard():
    phrases = [t for t in LIB.taboos if t.kind == "phrase"]
    assert {t.id for t in phrases} >= {"hey_speak", "hey_say", "hangup_threat", "louder", "shirk"}
    for taboo in phrases:
        rule = RULES.get(taboo.rule)
        assert rule is not None, f"{taboo.id}: unknown rule {taboo.rule}"
        assert rule.suggestion == taboo.standard, taboo.id
    assert [t.id for t in LIB.taboos_for_rule("conduct.wording.hey_speak")] == ["hey_speak", "hey_say"]
    assert all(t.rule is None for t in LIB.taboos if t.kind != "phrase")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_taboo_phrases_trip_their_rule(checkers, platform):
    for taboo in (t for t in LIB.taboos if t.kind == "phrase"):
        ids = {f.rule_id for f in checkers[platform].check(taboo.taboo).findings}
        assert taboo.rule in ids, (taboo.taboo, sorted(ids))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_recommended_wording_raises_nothing(checkers, platform):
    said = [t.standard for t in LIB.taboos]
    said += [s.text for s in LIB.scripts]
    said += [s.example for s in LIB.abusive_buyer_steps]
    for text in said:
        findings = checkers[platform].check(text).findings
        assert not findings, (text, [(f.rule_id, f.matched) for f in findings])


def test_search_finds_taboos_scripts_and_steps():
    assert any(getattr(e, "id", None) == "louder" for e in LIB.search("大声一点儿"))
    assert any(getattr(e, "stage", None) == "closing" for e in LIB.search("生活愉快"))
    assert any(getattr(e, "key", None) == "calm" for e in LIB.search("和气生财"))
    assert LIB.search("  ") == []


def _raw() -> dict:
    return LIB.model_dump(mode="json")


def test_incomplete_library_is_rejected():
    raw = _raw()
    raw["courtesy"]["words"] = ["您好", "请", "谢谢", "对不起"]
    with pytest.raises(ValidationError, match="ten characters"):
        ServiceLanguage.model_validate(raw)

    raw = _raw()
    raw["scripts"] = [s for s in raw["scripts"] if s["stage"] != "listening"]
    with pytest.raises(ValidationError, match="listening"):
        ServiceLanguage.model_validate(raw)

    raw = _raw()
    raw["abusive_buyer_steps"] = list(reversed(raw["abusive_buyer_steps"]))
    with pytest.raises(ValidationError, match="calm"):
        ServiceLanguage.model_validate(raw)

    raw = _raw()
    raw["taboos"][0]["rule"] = None
    with pytest.raises(ValidationError, match="needs the rule"):
        ServiceLanguage.model_validate(raw)
