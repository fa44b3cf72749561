"""Shop settings: validated by kefuguard.shop, versioned, change log with diffs, conflicts."""

from __future__ import annotations

import pytest

from kefuguard.shop import ShopChecker, ShopSettingsError
from kefuguard.storage import (
    Database,
    NotFoundError,
    SettingsConflictError,
    create_tenant,
    get_or_create_shop,
    get_shop_settings,
    put_shop_settings,
    settings_diff,
    settings_history,
)


@pytest.fixture
def shop(database: Database) -> tuple[int, int]:
    with database.session() as s:
        tenant = create_tenant(s, "甲")
        return tenant.id, get_or_create_shop(s, tenant.id, "pinduoduo", "shanye-tea", name="山野茶铺").id


def test_put_get_versions_and_history(database: Database, shop: tuple[int, int]) -> None:
    tenant_id, shop_id = shop
    with database.session() as s:
        assert get_shop_settings(s, tenant_id, shop_id) is None
        v1 = put_shop_settings(s, tenant_id, shop_id, {"banned_words": [{"text": "竞品店", "tags": ["竞品"]}]}, "alice")
    assert v1 == 1
    with database.session() as s:
        record = get_shop_settings(s, tenant_id, shop_id)
        assert record.version == 1 and record.updated_by == "alice"
        assert record.settings["shop_id"] == "shanye-tea" and record.settings["platform"] == "pinduoduo"
        assert record.settings["banned_words"][0]["text"] == "竞品店"
        # what is stored is what the server's ShopChecker takes
        assert ShopChecker(record.settings).check("去竞 品 店看看").findings[0].tags == ["竞品"]

        settings = dict(record.settings, allowed_phrases=["最美茶铺"], disabled_rules=["pdd.wording.baobei"])
        settings["banned_words"] = []
        v2 = put_shop_settings(s, tenant_id, shop_id, settings, "bob")
        assert v2 == 2
        assert put_shop_settings(s, tenant_id, shop_id, settings, "carol") == 2  # unchanged: no new version
    with database.session() as s:
        history = settings_history(s, tenant_id, shop_id)
        assert [(h.version, h.who) for h in history] == [(2, "bob"), (1, "alice")]
        assert all(h.at.tzinfo is not None for h in history)
        first = history[1].diff
        assert [(d["op"], d["path"]) for d in first] == [("add", "banned_words")]
        assert first[0]["value"]["text"] == "竞品店"
        second = {(d["op"], d["path"]) for d in history[0].diff}
        assert second == {("remove", "banned_words"), ("add", "allowed_phrases"), ("add", "disabled_rules")}
        assert get_shop_settings(s, tenant_id, shop_id).version == 2


def test_invalid_settings_are_refused_with_the_field(database: Database, shop: tuple[int, int]) -> None:
    tenant_id, shop_id = shop
    cases = [
        ({"banned_words": [{"text": "的"}]}, "banned_words"),  # one common character: would flag everything
        ({"mask_char": "ab"}, "mask_char"),
        ({"shop_id": "山野"}, "shop_id"),
        ({"platform": "douyin"}, "platform"),  # the shop is on pinduoduo
        ({"no_such_field": 1}, "no_such_field"),
        ({"disabled_rules": ["no.such.rule"]}, "disabled_rules"),  # unknown on the platform
    ]
    for settings, field in cases:
        with database.session() as s, pytest.raises(ShopSettingsError) as err:
            put_shop_settings(s, tenant_id, shop_id, settings, "alice")
        assert field in str(err.value), (settings, str(err.value))
        assert " / " in str(err.value)  # Chinese, then English
    with database.session() as s:
        assert get_shop_settings(s, tenant_id, shop_id) is None
        assert settings_history(s, tenant_id, shop_id) == []


def test_conflicting_writes(database: Database, shop: tuple[int, int]) -> None:
    tenant_id, shop_id = shop
    with database.session() as s:
        put_shop_settings(s, tenant_id, shop_id, {"allowed_phrases": ["最美"]}, "alice", expected_version=0)
    with database.session() as s, pytest.raises(SettingsConflictError) as err:
        put_shop_settings(s, tenant_id, shop_id, {"allowed_phrases": ["最好"]}, "bob", expected_version=0)
    assert (err.value.expected, err.value.current) == (0, 1)
    with database.session() as s:
        assert put_shop_settings(s, tenant_id, shop_id, {"allowed_phrases": ["最好"]}, "bob", expected_version=1) == 2
        assert get_shop_settings(s, tenant_id, shop_id).settings["allowed_phrases"] == ["最好"]


def test_settings_are_scoped_by_tenant(database: Database, shop: tuple[int, int]) -> None:
    tenant_id, shop_id = shop
    with database.session() as s:
        other = create_tenant(s, "乙").id
        put_shop_settings(s, tenant_id, shop_id, {"allowed_phrases": ["最美"]}, "alice")
    for call in (lambda s: get_shop_settings(s, other, shop_id),
                 lambda s: put_shop_settings(s, other, shop_id, {}, "mallory"),
                 lambda s: settings_history(s, other, shop_id)):
        with database.session() as s, pytest.raises(NotFoundError):
            call(s)


def test_diff_shapes() -> None:
    old = {"a": 1, "n": {"x": True, "y": 1}, "l": [1, {"t": "w"}], "gone": 0}
    new = {"a": 2, "n": {"x": False, "y": 1}, "l": [{"t": "w"}, 3], "new": "v"}
    assert settings_diff(old, new) == [
        {"op": "change", "path": "a", "old": 1, "new": 2},
        {"op": "remove", "path": "gone", "value": 0},
        {"op": "remove", "path": "l", "value": 1},
        {"op": "add", "path": "l", "value": 3},
        {"op": "change", "path": "n.x", "old": True, "new": False},
        {"op": "add", "path": "new", "value": "v"},
    ]
    assert settings_diff(old, old) == []
