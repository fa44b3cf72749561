"""POST /v1/check: findings with the shop's settings applied, the rewrite, batches, alerts, rules."""

from __future__ import annotations

from kefuguard.checker import get_checker
from kefuguard.server.schemas import CheckResponse
from tests.server.conftest import assert_error

DIVERSION = "亲，加我V❤信发你优惠券"


def test_single_message_matches_the_library(env):
    r = env.client.post("/v1/check", json={"platform": "pinduoduo", "text": DIVERSION}, headers=env.a.headers("agent"))
    assert r.status_code == 200
    body = r.json()
    CheckResponse.model_validate(body)  # the documented shape
    expected = get_checker("pinduoduo").check(DIVERSION)
    assert [f["rule_id"] for f in body["findings"]] == [f.rule_id for f in expected.findings]
    assert body["ok"] is False and body["worst"] == "critical"
    assert body["shop_id"] is None and body["settings_version"] is None
    rw = body["rewrite"]
    assert rw["changed"] and "微信" not in rw["text"] and "V❤信" not in rw["text"]
    clean = env.client.post("/v1/check", json={"platform": "pinduoduo", "text": "好的，马上为您发货", "rewrite": False},
                            headers=env.a.headers("agent")).json()
    assert clean["ok"] is True and clean["findings"] == [] and "rewrite" not in clean


def test_batch_keeps_order_and_ids(env):
    msgs = ["好的呢", {"id": "m2", "text": "打我电话 138 0013 8000"}, "全网最低价"]
    r = env.client.post("/v1/check", json={"platform": "pinduoduo", "messages": msgs}, headers=env.a.headers())
    results = r.json()["results"]
    assert [x["text"] for x in results] == ["好的呢", "打我电话 138 0013 8000", "全网最低价"]
    assert results[0]["ok"] and not results[1]["ok"] and results[1]["id"] == "m2"
    assert "138 **** 8000" in results[1]["rewrite"]["text"] or "****" in results[1]["rewrite"]["text"]
    # a large batch runs off the event loop and answers the same
    big = env.client.post("/v1/check", json={"platform": "pinduoduo", "messages": ["全网最低价"] * 100},
                          headers=env.a.headers()).json()["results"]
    assert len(big) == 100 and all(x["findings"] == results[2]["findings"] for x in big)


def test_shop_settings_apply_and_platform_must_agree(env):
    h = env.a.headers("supervisor")
    shop = env.a.shop_id
    put = env.client.put(f"/v1/shops/{shop}/settings", headers=h, json={
        "banned_words": [{"text": "竞品店", "tags": ["竞品"]}], "mask_char": "●"})
    assert put.status_code == 200, put.text
    r = env.client.post("/v1/check", json={"shop_id": shop, "text": "别去竞 品 店"}, headers=env.a.headers("agent"))
    body = r.json()
    assert body["platform"] == "pinduoduo" and body["settings_version"] == 1
    word = [f for f in body["findings"] if f["tags"] == ["竞品"]]
    assert word and word[0]["matched"] == "竞 品 店"
    assert "●" in body["rewrite"]["text"]
    assert_error(env.client.post("/v1/check", json={"shop_id": shop, "platform": "jd", "text": "x"},
                                 headers=env.a.headers()), 422)
    # another tenant's shop id is not found, and neither is a missing one
    assert_error(env.client.post("/v1/check", json={"shop_id": shop, "text": "x"}, headers=env.b.headers()), 404)
    assert_error(env.client.post("/v1/check", json={"shop_id": 999999, "text": "x"}, headers=env.a.headers()), 404)


def test_critical_findings_raise_alerts_without_blocking(env):
    env.client.post("/v1/check", json={"platform": "pinduoduo", "text": "好的，马上发货"}, headers=env.a.headers("agent"))
    env.app.state.kefuguard.flush_alerts()
    assert env.alerts.events == []
    r = env.client.post("/v1/check", json={"platform": "pinduoduo", "text": DIVERSION, "conversation_id": "c-1"},
                        headers=env.a.headers("agent"))
    assert r.status_code == 200
    env.app.state.kefuguard.flush_alerts()
    (event,) = env.alerts.events
    assert event.kind == "critical_finding" and event.tenant == str(env.a.id)
    assert event.agent == "小王" and event.conversation_id == "c-1"
    assert event.excerpt == DIVERSION and event.shop == ""  # no shop given; nothing to mask here
    assert {rule.rule_id for rule in event.rules} >= {"common.diversion.wechat"}


def test_rules_per_platform(env):
    r = env.client.get("/v1/rules", params={"platform": "pinduoduo"}, headers=env.a.headers("agent"))
    body = r.json()
    ids = {x["id"] for x in body["items"]}
    assert body["total"] == len(ids) > 20 and "pdd.wording.baobei" in ids
    assert all(x["penalty"]["text"] and x["severity"] in ("critical", "major", "minor", "info") for x in body["items"])
    jd = env.client.get("/v1/rules", params={"platform": "jd"}, headers=env.a.headers()).json()
    assert "pdd.wording.baobei" not in {x["id"] for x in jd["items"]}
    assert_error(env.client.get("/v1/rules", params={"platform": "weibo"}, headers=env.a.headers()), 422)
