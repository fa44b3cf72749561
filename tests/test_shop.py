"""Per-shop settings: a runtime overlay on the shared platform checker (kefuguard.shop)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from kefuguard.rules.model import Severity
from kefuguard.shop import ShopChecker, ShopSettings, ShopSettingsError, ShopWord


@pytest.fixture()
def shop(checkers) -> ShopChecker:
    return ShopChecker(ShopSettings(shop_id="s001", platform="pinduoduo"), checkers["pinduoduo"])


def _shop_findings(result, shop: ShopChecker):
    return [f for f in result.findings if f.rule_id == shop.rule_id]


def _rules(result) -> set[str]:
    return {f.rule_id for f in result.findings}


# ------------------------------------------------------------------ words
def test_added_word_is_found_with_tags_pack_and_shop_policy(shop):
    assert shop.check("别去竞品店买").ok
    rev = shop.add_words([ShopWord(text="竞品店", tags=["竞品", "导购"])])
    assert rev == shop.revision == 2
    result = shop.check("别去竞品店买")
    (f,) = _shop_findings(result, shop)
    assert (f.start, f.end, f.matched) == (2, 5, "竞品店")
    assert f.tags == ["竞品", "导购"]
    assert f.pack == "shop:s001@2" and result.packs[-1] == "shop:s001@2"
    assert f.penalty.basis == "shop_policy"
    assert f.source.file == "shop-settings/s001" and "竞品店" in f.source.quote
    assert f.rule_id == "shop.s001.word"


@pytest.mark.parametrize(
    ("message", "matched"),
    [
        ("别去竞 品 店买", "竞 品 店"),  # spaces between the characters
        ("别去競品店买", "競品店"),  # traditional
        ("别去竞-品*店买", "竞-品*店"),  # punctuation between
        ("来ＡＢＣ商城看看", "ＡＢＣ商城"),  # full-width Latin
        ("来Abc 商城看看", "Abc 商城"),  # case
    ],
)
def test_evasive_spellings_point_back_into_the_original(shop, message, matched):
    shop.add_words(["竞品店", "abc商城"])
    (f,) = _shop_findings(shop.check(message), shop)
    assert message[f.start : f.end] == f.matched == matched


def test_latin_word_needs_its_own_word(shop):
    shop.add_words(["abc"])
    assert _shop_findings(shop.check("去abc问问"), shop)
    assert not _shop_findings(shop.check("the abcde plan"), shop)


def test_remove_words_by_any_spelling(shop):
    shop.add_words(["竞品店", {"text": "返.{0,2}现", "regex": True}])
    assert _shop_findings(shop.check("竞品店返个现"), shop)
    shop.remove_words(["競 品 店"])  # another spelling of the same word
    assert [f.matched for f in _shop_findings(shop.check("竞品店返个现"), shop)] == ["返个现"]
    shop.remove_words(["返.{0,2}现"])  # a regex by its text
    assert not _shop_findings(shop.check("竞品店返个现"), shop)
    with pytest.raises(ShopSettingsError, match="not a banned word"):
        shop.remove_words(["竞品店"])


def test_adding_a_word_again_replaces_it(shop):
    shop.add_words([ShopWord(text="竞品店", tags=["a"])])
    shop.add_words([ShopWord(text="竞 品 店", tags=["b"], severity="critical")])
    assert len(shop.settings.banned_words) == 1
    (f,) = _shop_findings(shop.check("竞品店"), shop)
    assert f.tags == ["b"] and f.severity is Severity.critical


def test_regex_word_and_its_category(shop):
    shop.add_words([{"text": "原价\\d+", "regex": True, "category": "superlative", "severity": "minor", "tags": ["价格"]}])
    (f,) = _shop_findings(shop.check("原价 199 现在 99"), shop)
    assert f.matched == "原价 199" and f.category.value == "superlative" and f.severity is Severity.minor


# ------------------------------------------------------------------ built-in rules
def test_disable_and_enable_rule(shop):
    assert "pdd.wording.baobei" in _rules(shop.check("这个宝贝很好"))
    shop.disable_rule("pdd.wording.baobei")
    assert shop.check("这个宝贝很好").ok
    shop.enable_rule("pdd.wording.baobei")
    assert "pdd.wording.baobei" in _rules(shop.check("这个宝贝很好"))


def test_severity_override(shop):
    shop.set_severity("pdd.wording.baobei", "info")
    (f,) = [f for f in shop.check("这个宝贝很好").findings if f.rule_id == "pdd.wording.baobei"]
    assert f.severity is Severity.info
    shop.set_severity("pdd.wording.baobei", None)
    (f,) = [f for f in shop.check("这个宝贝很好").findings if f.rule_id == "pdd.wording.baobei"]
    assert f.severity is not Severity.info


def test_allowed_phrase_excuses_findings_inside_it(shop):
    shop.add_words(["竞品"])
    message = "欢迎光临宝贝竞品屋，这个宝贝很好"
    before = shop.check(message)
    assert {"pdd.wording.baobei", shop.rule_id} <= _rules(before)
    shop.allow_phrases(["宝贝竞品屋"])  # the shop's own name
    after = shop.check(message)
    assert [(f.rule_id, f.start) for f in after.findings] == [("pdd.wording.baobei", 12)]
    shop.disallow_phrases(["宝贝竞品屋"])
    assert len(shop.check(message).findings) == len(before.findings)


def test_rule_exception_excuses_only_that_rule(shop):
    shop.add_words(["宝贝"])
    shop.add_exceptions("pdd.wording.baobei", ["宝贝计划"])
    rules = _rules(shop.check("参加宝贝计划"))
    assert "pdd.wording.baobei" not in rules and shop.rule_id in rules
    assert "pdd.wording.baobei" in _rules(shop.check("这个宝贝很好"))
    shop.remove_exceptions("pdd.wording.baobei")
    assert "pdd.wording.baobei" in _rules(shop.check("参加宝贝计划"))


def test_base_checker_is_untouched(shop, checkers):
    shop.disable_rule("pdd.wording.baobei")
    shop.add_words(["竞品店"])
    base = checkers["pinduoduo"].check("这个宝贝在竞品店")
    assert _rules(base) == {"pdd.wording.baobei"}
    assert not any(p.startswith("shop:") for p in base.packs)


# ------------------------------------------------------------------ rewrite, files, history
def test_rewrite_masks_shop_words_with_the_mask_char(shop):
    shop.add_words(["竞品店", ShopWord(text="老地方", replacement="本店")])
    shop.set_mask_char("●")
    result = shop.rewrite("去竞 品 店还是老地方")
    assert result.text == "去● ● ●还是本店"
    assert result.complete


def test_settings_round_trip_through_yaml_and_json(tmp_path, checkers):
    settings = ShopSettings(
        shop_id="s-2",
        platform="pinduoduo",
        banned_words=[ShopWord(text="竞品店", tags=["竞品"])],
        allowed_phrases=["最美衣橱"],
        disabled_rules=["pdd.wording.baobei"],
        severity_overrides={"common.diversion.wechat": "minor"},
        rule_exceptions={"pdd.wording.baobei": ["宝贝计划"]},
        mask_char="×",
    )
    for name in ("s.yaml", "s.json"):
        settings.save(tmp_path / name)
        loaded = ShopChecker.from_file(tmp_path / name, checkers["pinduoduo"])
        assert loaded.settings == settings
    json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))


def test_history_records_who_and_what(shop):
    shop.add_words(["竞品店"], by="alice")
    shop.disable_rule("pdd.wording.baobei", by="bob")
    with pytest.raises(ShopSettingsError):
        shop.disable_rule("no.such.rule", by="eve")
    log = shop.history
    assert [(c.revision, c.by, c.action) for c in log[1:]] == [(2, "alice", "add_words"), (3, "bob", "disable_rule")]
    assert log[-1].at >= log[1].at


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    ("word", "field_text"),
    [
        ({"text": "(微信", "regex": True}, "does not compile"),
        ({"text": ".*", "regex": True}, "empty string"),
        ({"text": "微?", "regex": True}, "empty string"),
        ({"text": ".", "regex": True}, "single common character"),
        ({"text": "\\w", "regex": True}, "single common character"),
        ({"text": "[\\u4e00-\\u9fff]+", "regex": True}, "single common character"),
        ({"text": "，。 ！"}, "normalises to nothing"),
        ({"text": "的"}, "single common character"),
        ({"text": "Ａ"}, "single common character"),
        ({"text": "您"}, "single common character"),
        ({"text": "的", "regex": True}, "single common character"),
        ({"text": "亲，"}, "single common character"),
    ],
)
def test_bad_words_are_refused_and_change_nothing(shop, word, field_text):
    shop.add_words(["竞品店"])
    before = (shop.revision, shop.settings)
    with pytest.raises(ShopSettingsError, match=field_text) as info:
        shop.add_words([word])
    assert "banned_words" in str(info.value) and info.value.zh and info.value.en
    assert (shop.revision, shop.settings) == before


@pytest.mark.parametrize("pattern", ["[\\u4e00-\\u9fff]{2}", "\\D\\D", "..+"])
def test_too_broad_regex_is_refused(shop, pattern):
    with pytest.raises(ShopSettingsError, match="too broad"):
        shop.add_words([{"text": pattern, "regex": True}])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.disable_rule("no.such.rule"), "no rule 'no.such.rule'"),
        (lambda s: s.disable_rule("dy.review_invite.ask_review"), "platform pinduoduo"),
        (lambda s: s.set_severity("pdd.wording.baobei", "fatal"), "unknown severity"),
        (lambda s: s.set_severity("no.such.rule", "minor"), "no rule"),
        (lambda s: s.add_exceptions("no.such.rule", ["x"]), "no rule"),
        (lambda s: s.add_exceptions("pdd.wording.baobei", [" ，"]), "normalises to nothing"),
        (lambda s: s.allow_phrases(["  "]), "normalises to nothing"),
        (lambda s: s.set_mask_char("**"), "mask_char"),
        (lambda s: s.set_mask_char("a"), "mask_char"),
        (lambda s: s.set_mask_char("口"), "mask_char"),
        (lambda s: s.set_mask_char(" "), "mask_char"),
        (lambda s: s.disallow_phrases(["没有这个"]), "not an allowed phrase"),
        (lambda s: s.enable_rule("no.such.rule"), "no rule"),
    ],
)
def test_bad_changes_are_refused(shop, change, message):
    before = shop.revision
    with pytest.raises(ShopSettingsError, match=message):
        change(shop)
    assert shop.revision == before


def test_bad_settings_are_refused_at_load(tmp_path, checkers):
    with pytest.raises(ShopSettingsError, match="unknown platform"):
        ShopSettings.from_file(_write(tmp_path / "a.yaml", "shop_id: a\nplatform: amazon\n"))
    with pytest.raises(ShopSettingsError, match=r"b\.yaml.*banned_words\[1\]"):
        ShopSettings.from_file(_write(tmp_path / "b.yaml", "shop_id: b\nplatform: jd\nbanned_words: [{text: 竞品}, {text: '('}]\n"))
    with pytest.raises(ShopSettingsError, match="duplicate banned word"):
        ShopSettings.from_file(_write(tmp_path / "c.yaml", "shop_id: c\nplatform: jd\nbanned_words: [{text: 竞品}, {text: 競品}]\n"))
    with pytest.raises(ShopSettingsError, match="not valid YAML"):
        ShopSettings.from_file(_write(tmp_path / "d.yaml", "shop_id: [\n"))
    with pytest.raises(ShopSettingsError, match=r"e\.yaml.*no rule 'x\.y'"):
        ShopChecker.from_file(_write(tmp_path / "e.yaml", "shop_id: e\nplatform: jd\ndisabled_rules: [x.y]\n"), checkers["jd"])
    with pytest.raises(ShopSettingsError, match="shop_id"):
        ShopSettings(shop_id="店 铺", platform="jd")
    with pytest.raises(ShopSettingsError, match="differs"):
        ShopChecker(ShopSettings(shop_id="x", platform="jd"), checkers["douyin"])


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ concurrency
def test_settings_changed_while_eight_threads_check(shop):
    """Every result matches exactly the settings of the revision it reports (never half a change)."""
    message = "这个宝贝在竞品店和隔壁店都有，加我威信"
    expected: dict[int, frozenset[str]] = {}
    states = [
        (["竞品店"], False),
        (["隔壁店"], True),
        (["竞品店", "隔壁店"], False),
        ([], True),
    ]
    shop.replace(ShopSettings(shop_id="s001", platform="pinduoduo"))

    def matched_for(words: list[str], baobei_off: bool) -> frozenset[str]:
        return frozenset(words) | (frozenset() if baobei_off else {"宝贝"})

    expected[shop.revision] = matched_for([], False)
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[tuple[int, frozenset[str]]] = []
    lock = threading.Lock()

    def reader() -> None:
        local = []
        try:
            while not stop.is_set():
                r = shop.check(message)
                rev = int(r.packs[-1].rsplit("@", 1)[1])
                relevant = {f.matched for f in r.findings if f.rule_id in (shop.rule_id, "pdd.wording.baobei")}
                assert all(f.pack == r.packs[-1] for f in r.findings if f.rule_id == shop.rule_id)
                local.append((rev, frozenset(relevant)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        with lock:
            seen.extend(local)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        for changes in range(60):
            words, baobei_off = states[changes % len(states)]
            data = {"shop_id": "s001", "platform": "pinduoduo",
                    "banned_words": [{"text": w, "tags": [str(changes)]} for w in words],
                    "disabled_rules": ["pdd.wording.baobei"] if baobei_off else []}
            # replace() swaps the whole settings at once; record the expectation before readers can see it
            rev = shop.revision + 1
            expected[rev] = matched_for(words, baobei_off)
            assert shop.replace(data) == rev
            if changes % 5 == 0:  # a fine-grained mutator too (the exception excuses nothing here)
                expected[rev + 1] = expected[rev]
                assert shop.add_exceptions("pdd.wording.baobei", ["宝贝店"]) == rev + 1
            time.sleep(0.002)  # let the readers check between changes
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[0]
    assert len(seen) > 100
    revisions = {rev for rev, _ in seen}
    assert len(revisions) > 5  # readers really saw the settings change under them
    for rev, matched in seen:
        assert matched == expected[rev], (rev, matched)
    print(f"{len(seen)} checks over {len(revisions)} revisions")


def test_concurrent_changes_lose_no_update(shop):
    words = [[f"店{t}号{i}" for i in range(15)] for t in range(4)]

    def writer(mine: list[str]) -> None:
        for w in mine:
            shop.add_words([w])

    threads = [threading.Thread(target=writer, args=(w,)) for w in words]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert shop.revision == 1 + 60
    assert {w.text for w in shop.settings.banned_words} == {w for ws in words for w in ws}
    assert [c.revision for c in shop.history] == list(range(1, 62))


def test_overlay_compiles_in_milliseconds(shop):
    shop.add_words([f"禁用词{i}" for i in range(50)] + [{"text": f"返{i}.?现", "regex": True} for i in range(5)])
    assert shop.last_compile_ms < 50


@pytest.mark.parametrize(
    ("pattern", "message", "matched"),
    [
        ("VX\\d{3,}", "加vx12345", "vx12345"),  # upper case in the regex, lower case in the message
        ("VX\\d{3,}", "加ＶＸ 123 45", "ＶＸ 123 45"),  # full-width, spaces
        ("[竞对]手.{0,2}店", "去对 手的店", "对 手的店"),  # no single literal: runs on every message
        ("(?:老|旧)地址", "寄到旧地址", "旧地址"),
    ],
)
def test_regex_words_run_on_the_keyword_view(shop, pattern, message, matched):
    shop.add_words([{"text": pattern, "regex": True}])
    (f,) = _shop_findings(shop.check(message), shop)
    assert f.matched == matched == message[f.start : f.end]


def test_the_guide_example_loads(tmp_path, checkers):
    from pathlib import Path

    guide = (Path(__file__).parents[1] / "docs" / "shop-settings.md").read_text(encoding="utf-8")
    example = guide.split("```yaml\n", 1)[1].split("```", 1)[0]
    shop = ShopChecker.from_file(_write(tmp_path / "shop.yaml", example), checkers["pinduoduo"])
    result = shop.check("别去竞 品 店，好评就给返现")
    assert [(f.matched, f.tags) for f in _shop_findings(result, shop)] == [("竞 品 店", ["竞品"]), ("好评就给返现", ["邀评", "售后"])]
    assert shop.rewrite("别去竞品店").text == "别去●●●"


def test_latin_shop_word_inside_a_full_width_word_is_not_flagged():
    shop = ShopChecker({"shop_id": "fw", "platform": "jd", "banned_words": [{"text": "abc"}]})
    assert [f.matched for f in shop.check("ａｂｃ").findings] == ["ａｂｃ"]
    assert not shop.check("ｘａｂｃｙ").findings
