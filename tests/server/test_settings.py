"""GET/PUT /v1/shops/{id}/settings: validated, versioned, recorded with who, and in force for the
next check — while other threads check, and on another app instance sharing the database."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from kefuguard.server.app import create_app
from tests.server.conftest import assert_error

WORD = "隔壁老店"


def _check(client, tenant, shop, text=f"去{WORD}看看"):
    r = client.post("/v1/check", json={"shop_id": shop, "text": text, "rewrite": False}, headers=tenant.headers("agent"))
    assert r.status_code == 200, r.text
    return r.json()


def _flags(body) -> bool:
    return any(f["rule_id"].startswith("shop.") for f in body["findings"])


def test_get_put_history_and_conflicts(env):
    c, h, shop = env.client, env.a.headers("supervisor"), env.a.shop_id
    r = c.get(f"/v1/shops/{shop}/settings", headers=h)
    assert r.status_code == 200 and r.json()["version"] == 0 and r.headers["ETag"] == '"0"'
    assert r.json()["settings"]["platform"] == "pinduoduo" and r.json()["settings"]["banned_words"] == []
    r = c.put(f"/v1/shops/{shop}/settings", headers={**h, "If-Match": '"0"'},
              json={"banned_words": [{"text": WORD}], "disabled_rules": ["pdd.wording.baobei"]})
    assert r.status_code == 200 and r.json()["version"] == 1 and r.headers["ETag"] == '"1"'
    assert r.json()["updated_by"] == "supervisor-of-租户A (supervisor)"
    # a stale If-Match is refused: nobody's change is lost
    err = assert_error(c.put(f"/v1/shops/{shop}/settings", headers={**h, "If-Match": '"0"'}, json={}), 409,
                       "settings_conflict")
    assert err["field"] == "If-Match"
    # invalid settings: 422 naming the field, nothing stored
    err = assert_error(c.put(f"/v1/shops/{shop}/settings", headers=h, json={"banned_words": [{"text": ".*", "regex": True}]}),
                       422, "invalid_settings")
    assert err["field"].startswith("banned_words") and "空字符串" in err["message"]
    err = assert_error(c.put(f"/v1/shops/{shop}/settings", headers=h, json={"disabled_rules": ["no.such.rule"]}), 422)
    assert "no.such.rule" in err["message_en"]
    assert_error(c.put(f"/v1/shops/{shop}/settings", headers=h, json={"platform": "jd"}), 422)
    assert c.get(f"/v1/shops/{shop}/settings", headers=h).json()["version"] == 1
    hist = c.get(f"/v1/shops/{shop}/settings/history", headers=h).json()
    assert hist["total"] == 1 and hist["items"][0]["who"] == "supervisor-of-租户A (supervisor)"
    assert any(op["path"] == "banned_words" for op in hist["items"][0]["diff"])


def test_put_applies_to_the_next_check_while_checks_run(env):
    """Threads hammer /v1/check while PUTs add and remove the word: each answer is wholly the old
    or wholly the new settings (the version says which), and after a PUT returns the next check
    uses it."""
    c, shop = env.client, env.a.shop_id
    h = env.a.headers("supervisor")
    text = f"去{WORD}看看，这个宝贝很好"  # the shop word, and pdd.wording.baobei (switched off with the word)
    with_word = {"banned_words": [{"text": WORD}], "disabled_rules": ["pdd.wording.baobei"]}
    assert not _flags(_check(c, env.a, shop, text))
    seen: list[tuple[int, bool, bool]] = []
    stop = threading.Event()
    errors: list[str] = []

    def hammer() -> None:
        while not stop.is_set():
            try:
                body = _check(c, env.a, shop, text)
            except AssertionError as exc:  # pragma: no cover - reported below
                errors.append(str(exc))
                return
            baobei = any(f["rule_id"] == "pdd.wording.baobei" for f in body["findings"])
            seen.append((body["settings_version"], _flags(body), baobei))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(6):
            time.sleep(0.05)
            r = c.put(f"/v1/shops/{shop}/settings", headers=h, json=with_word if i % 2 == 0 else {})
            assert r.status_code == 200
            version = r.json()["version"]
            body = _check(c, env.a, shop, text)  # right after the PUT returned
            assert body["settings_version"] == version
            assert _flags(body) == (i % 2 == 0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors and len(seen) > 20
    for version, flagged, baobei in seen:
        word_on = version % 2 == 1  # versions 1, 3, 5 have the word
        assert flagged == word_on and baobei == (not word_on), (version, flagged, baobei)


def test_another_instance_sees_the_change(env, tmp_path):
    """Two apps on one database: a PUT through the first is in force on the second within its
    re-check interval, with no restart."""
    shop = env.a.shop_id
    other = create_app(database=env.db, migrate=False, data_dir=tmp_path / "b", settings_recheck_seconds=0.2)
    with TestClient(other) as c2:
        assert not _flags(_check(c2, env.a, shop))  # cached on the second instance now
        r = env.client.put(f"/v1/shops/{shop}/settings", headers=env.a.headers("supervisor"),
                           json={"banned_words": [{"text": WORD}]})
        assert r.status_code == 200
        deadline = time.monotonic() + 5
        while not _flags(_check(c2, env.a, shop)):
            assert time.monotonic() < deadline, "the second instance never saw the new settings"
            time.sleep(0.05)
        assert _check(c2, env.a, shop)["settings_version"] == 1


def test_shops_are_created_and_listed(env):
    h = env.a.headers("supervisor")
    r = env.client.post("/v1/shops", headers=h, json={"platform": "拼多多", "external_id": "新店", "name": "新店铺"})
    assert r.status_code == 201 and r.json()["platform"] == "pinduoduo"
    again = env.client.post("/v1/shops", headers=h, json={"platform": "pinduoduo", "external_id": "新店"})
    assert again.json()["id"] == r.json()["id"]
    names = {s["external_id"] for s in env.client.get("/v1/shops", headers=h).json()["items"]}
    assert names == {"shop-a", "新店"}
    assert_error(env.client.post("/v1/shops", headers=h, json={"platform": "weibo", "external_id": "x"}), 422)
