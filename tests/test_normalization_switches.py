"""Each normalisation step can be switched off, for a checker and for a shop; off means exactly
that evasion is no longer undone, and everything else still works."""

from __future__ import annotations

import threading

import pytest

from kefuguard.checker import Checker, get_checker, shared_tables
from kefuguard.normalize import DEFAULT_NORMALIZATION, Normalization
from kefuguard.shop import ShopChecker, ShopSettingsError

# (switch, a message only that step catches, the rule it breaks) on Douyin
STEPS = [
    ("traditional", "支付寶轉我", "common.diversion.alipay"),
    ("separators", "加 微 信聊", "common.diversion.wechat"),
    ("width", "ＶＸ同号", "common.diversion.wechat"),
    ("case", "VX同号", "common.diversion.wechat"),
    ("aliases", "薇信聊", "common.diversion.wechat"),
    ("sound_alikes", "萄宝上便宜", "common.diversion.platform"),
    ("pinyin", "加我W信", "common.diversion.wechat"),
    ("numerals", "扫贰维码付款", "common.diversion.qrcode"),
    ("repeats", "支支付付宝宝转我", "common.diversion.alipay"),
    ("accents", "加个wēixìn", "common.diversion.wechat"),
]


@pytest.fixture(scope="module")
def douyin():
    return get_checker("douyin")


@pytest.mark.parametrize(("switch", "text", "rule_id"), STEPS, ids=[s[0] for s in STEPS])
def test_each_step_can_be_switched_off(douyin, switch, text, rule_id):
    assert rule_id in {f.rule_id for f in douyin.check(text).findings}
    off = Checker("douyin", normalization=Normalization(**{switch: False}))
    assert rule_id not in {f.rule_id for f in off.check(text).findings}
    # the rule itself still works on the plain spelling
    assert "common.diversion.wechat" in {f.rule_id for f in off.check("加我微信").findings}


def test_segmentation_switch(douyin):
    assert not douyin.check("门店在南京东路步行街").findings
    off = Checker("douyin", normalization=Normalization(segmentation=False))
    assert "common.diversion.platform" in {f.rule_id for f in off.check("门店在南京东路步行街").findings}


def test_plus_switch():
    on = get_checker("pinduoduo")
    off = Checker("pinduoduo", normalization=Normalization(plus=False))
    assert "pdd.diversion.plus_sign" in {f.rule_id for f in on.check("+13812345678").findings}
    assert "pdd.diversion.plus_sign" not in {f.rule_id for f in off.check("+13812345678").findings}


def test_default_tables_are_shared_and_others_apart():
    assert shared_tables(Normalization()) is shared_tables()
    assert shared_tables(Normalization(traditional=False)) is not shared_tables()
    assert get_checker("jd", Normalization()) is get_checker("jd")
    assert Normalization() == DEFAULT_NORMALIZATION


def _shop(**normalization) -> ShopChecker:
    return ShopChecker(
        {"shop_id": "tw-shop", "platform": "douyin", "banned_words": [{"text": "競品店"}], "normalization": normalization}
    )


def test_shop_switches_a_step_off_and_on():
    shop = _shop(traditional=False)
    assert shop.checker.normalization.traditional is False
    assert not shop.check("支付寶轉我").findings
    # the shop's own word is matched as that checker normalises: written as given
    assert {f.rule_id for f in shop.check("去競品店看看").findings} == {"shop.tw-shop.word"}
    settings = shop.settings.model_dump()
    settings["normalization"] = {}
    shop.replace(settings)
    assert "common.diversion.alipay" in {f.rule_id for f in shop.check("支付寶轉我").findings}
    assert shop.checker is get_checker("douyin")


def test_shop_normalization_is_validated():
    with pytest.raises(ShopSettingsError):
        _shop(traditional="sometimes")
    with pytest.raises(ShopSettingsError):
        _shop(no_such_step=False)


def test_switching_steps_while_threads_check():
    shop = _shop()
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(300):
                result = shop.check("支付寶轉我")
                # either switch setting gives a consistent result: the word found or nothing
                assert {f.rule_id for f in result.findings} <= {"common.diversion.alipay"}
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for flag in (False, True, False, True):
        data = shop.settings.model_dump()
        data["normalization"] = {"traditional": flag}
        shop.replace(data)
    for t in threads:
        t.join()
    assert not errors
    assert "common.diversion.alipay" in {f.rule_id for f in shop.check("支付寶轉我").findings}
