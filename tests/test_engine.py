"""Engine behaviour beyond the rule examples: API, user packs, errors, offsets, rewrite, threads."""

from __future__ import annotations

import json
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from kefuguard.checker import Checker, check
from kefuguard.normalize import Views
from kefuguard.rewrite import mask_pii, rewrite
from kefuguard.rules.loader import RulePackError, load_pack_file, load_packs

USER_PACK = textwrap.dedent(
    """
    pack: {id: myshop, version: "1", effective_date: 2026-01-01, title: 本店违禁词, platforms: [all]}
    rules:
      - id: myshop.wording.competitor
        category: wording
        severity: minor
        title: 提及竞品品牌
        explanation: 本店规定不提竞品品牌名。
        penalty: {text: 店内扣绩效, basis: shop_policy}
        source: {file: shop_policy.md, quote: "客服不得提及竞品品牌"}
        match: {keywords: [大白兔]}
        suggestion: 亲，我们家的产品品质有保障哦~
        examples: {hit: ["比大白兔好吃"], miss: ["小白兔图案的"]}
    """
)


def test_check_api_and_json_roundtrip():
    result = check("亲，加我微信吧", platform="pinduoduo")
    assert not result.ok and result.platform == "pinduoduo"
    data = json.loads(result.to_json())
    first = data["findings"][0]
    assert {"rule_id", "category", "severity", "start", "end", "matched", "penalty", "suggestion", "source", "pack"} <= set(first)
    assert first["pack"].startswith("common@")
    assert all("@" in p for p in data["packs"])


def test_unknown_platform_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown platform"):
        Checker("amazon")


def test_non_string_input_rejected():
    with pytest.raises(TypeError):
        Checker("jd").check(b"bytes")  # type: ignore[arg-type]


def test_empty_message_is_clean():
    assert Checker("jd").check("").ok


def test_user_pack_adds_a_rule_without_code(tmp_path):
    (tmp_path / "myshop.yaml").write_text(USER_PACK, encoding="utf-8")
    checker = Checker("douyin", extra_pack_dirs=[tmp_path])
    ids = {f.rule_id for f in checker.check("这个比大白兔好吃").findings}
    assert "myshop.wording.competitor" in ids
    assert "myshop@1" in checker.pack_labels


def test_malformed_pack_names_file_rule_and_field(tmp_path):
    bad = USER_PACK.replace("severity: minor", "severity: catastrophic")
    path = tmp_path / "bad.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(RulePackError) as err:
        load_pack_file(path)
    message = str(err.value)
    assert "bad.yaml" in message and "myshop.wording.competitor" in message and "severity" in message


def test_duplicate_rule_id_across_packs_rejected(tmp_path):
    clash = USER_PACK.replace("myshop.wording.competitor", "common.diversion.wechat")
    (tmp_path / "clash.yaml").write_text(clash, encoding="utf-8")
    with pytest.raises(RulePackError, match=r"common\.diversion\.wechat"):
        load_packs([tmp_path])


def test_override_changes_penalty_only_on_its_platform(checkers):
    pdd = next(f for f in checkers["pinduoduo"].check("加我微信").findings if f.rule_id == "common.diversion.wechat")
    jd = next(f for f in checkers["jd"].check("加我微信").findings if f.rule_id == "common.diversion.wechat")
    assert pdd.penalty != jd.penalty
    assert "10万" in pdd.penalty.text


def test_offsets_map_back_through_deletions_and_width_changes():
    text = "亲～ ＶＸ：ａｂ 加 薇 信 吧"
    views = Views(text, Checker("jd").tables)
    for j, ch in enumerate(views.keyword):
        original = text[views.offsets[j]]
        assert views.keyword[j] == original.translate(Checker("jd").tables.keyword_list) or ch == "加"


def test_traditional_and_fullwidth_are_normalised(checkers):
    assert checkers["douyin"].check("請加ＷＸ：ａｂｃ１２３４５").findings


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        ("phone", "13800138000", "138****8000"),
        ("phone", "138 0013 8000", "138 **** 8000"),
        ("id_card", "11010519491231002X", "110105********002X"),
        ("bank_card", "6222021234567890128", "***************0128"),
        ("email", "service@163.com", "s***@163.com"),
    ],
)
def test_mask_pii(kind, value, masked):
    assert mask_pii(kind, value) == masked


def test_rewrite_masks_and_replaces_and_reports_the_rest():
    fixed = rewrite("这个宝贝很好", "pinduoduo")
    assert fixed.text == "这个商品很好" and fixed.complete and fixed.fixed
    masked = rewrite("收件人号码13800138000", "douyin")
    assert masked.text == "收件人号码138****8000" and masked.complete
    partial = rewrite("你自己不会看吗", "pinduoduo")
    assert not partial.complete and partial.unfixed
    assert partial.text == "你自己不会看吗"


def test_checker_is_thread_safe(checkers):
    checker = checkers["pinduoduo"]
    texts = ["加我微信", "你好呀，欢迎光临", "打我电话 138 0013 8000", "某宝更便宜"] * 200
    expected = [[(f.rule_id, f.start, f.end) for f in checker.check(t).findings] for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda t: [(f.rule_id, f.start, f.end) for f in checker.check(t).findings], texts))
    assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        "订单号 6924112312345678 已发货",
        "快递单号SF1234567890123",
        "¥199 两件包邮",
        "2024-05-01 14:30 前发货",
        "身高175体重140斤穿XL",
        "税号 91310115MA1H7XXXX5",
        "1TB的硬盘和2TB的都有货",
    ],
)
def test_numbers_that_are_not_contacts(checkers, text):
    assert not checkers["pinduoduo"].check(text).findings


@pytest.mark.parametrize(
    ("text", "detector"),
    [
        ("身份证 11010519491231002X", "id_card"),
        ("卡号 6222021234567890128", "bank_card"),
        ("联系 shop_service@163.com", "email"),
        ("微信号 abc_shop88", "wechat_id"),
        ("QQ 12345678", "qq"),
        ("座机 010-62345678", "phone"),
    ],
)
def test_detectors_find_contacts(checkers, text, detector):
    found = {f.detector for f in checkers["douyin"].check(text).findings}
    assert detector in found


def test_top_level_api():
    import kefuguard

    result = kefuguard.check("加我微信吧", platform="pinduoduo")
    assert "common.diversion.wechat" in {f.rule_id for f in result.findings}
    assert isinstance(kefuguard.Checker("jd"), kefuguard.Checker)


def test_results_can_be_changed_like_any_model_without_touching_others(checkers):
    checker = checkers["jd"]
    clean, flagged = checker.check("您好"), checker.check("加我微信")
    for result in (clean, flagged):
        result.platform = "changed"
        result.packs.append("mine@1")
        assert "platform" in result.model_fields_set
    again = checker.check("您好")
    assert again.platform == "jd" and "mine@1" not in again.packs
    assert "mine@1" not in checker.check("加我微信").packs


def test_fast_built_results_equal_validated_ones(checkers):
    """The checker builds results without validation; they must be indistinguishable from
    validated models (equality, fields set, JSON round trip)."""
    from kefuguard.findings import CheckResult

    for text in ("您好", "加我微信，电话13800138000", "全网最低价，绝对正品"):
        result = checkers["pinduoduo"].check(text)
        again = CheckResult.model_validate_json(result.model_dump_json())
        assert again == result
        assert result.model_fields_set == set(CheckResult.model_fields)
        for finding in result.findings:
            assert finding.model_fields_set == set(type(finding).model_fields)


def test_latin_wechat_alias_must_start_a_word(checkers):
    """The v of service@qq.com is not a WeChat mention (it reported ice@qq.com as a WeChat id)."""
    result = checkers["jd"].check("service@qq.com 联系")
    assert not [f for f in result.findings if f.detector == "wechat_id"]
    assert [f.matched for f in checkers["jd"].check("加vx abc12345").findings if f.detector == "wechat_id"] == ["abc12345"]
