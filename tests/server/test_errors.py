"""Every error is JSON in Chinese and English with the right status; no stack traces to clients."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from kefuguard.server.app import create_app
from tests.server.conftest import assert_error, make_tenant


def test_missing_bad_and_malformed_keys_are_401(env):
    c = env.client
    err = assert_error(c.post("/v1/check", json={"platform": "jd", "text": "你好"}), 401, "unauthorized")
    assert "X-API-Key" in err["message_en"]
    assert_error(c.post("/v1/check", json={"platform": "jd", "text": "你好"}, headers={"X-API-Key": "kg_nope_nope"}), 401)
    assert_error(c.get("/v1/shops", headers={"Authorization": "Basic abc"}), 401)
    r = c.get("/v1/shops", headers={"Authorization": f"Bearer {env.a.keys['admin']}"})
    assert r.status_code == 200  # the Bearer form works too


def test_unknown_route_and_method(env):
    err = assert_error(env.client.get("/v1/nothing-here", headers=env.a.headers()), 404, "not_found")
    assert err["message_en"]
    assert_error(env.client.delete("/v1/check", headers=env.a.headers()), 405, "method_not_allowed")


def test_validation_errors_are_rewritten_to_the_shape(env):
    c, h = env.client, env.a.headers()
    err = assert_error(c.post("/v1/check", json={"platform": "pinduoduo"}, headers=h), 422, "validation_error")
    assert "text" in err["message_en"] and "messages" in err["message_en"]
    err = assert_error(c.post("/v1/check", json={"platform": "weibo", "text": "x"}, headers=h), 422)
    assert err["field"] == "platform" and "未知平台" in err["message"]
    err = assert_error(c.post("/v1/check", content=b"{not json", headers={**h, "content-type": "application/json"}),
                       422)
    assert "JSON" in err["message"]
    err = assert_error(c.get("/v1/findings?limit=0", headers=h), 422)
    assert err["field"] == "limit" and err["details"][0]["type"] == "greater_than_equal"
    assert_error(c.get("/v1/conversations/abc", headers=h), 422)


def test_body_and_batch_limits_are_413(database, tmp_path):
    app = create_app(database=database, migrate=False, data_dir=tmp_path, max_body_bytes=2048, max_batch=5)
    t = make_tenant(database, "限额")
    with TestClient(app, raise_server_exceptions=False) as c:
        big = {"platform": "pinduoduo", "text": "你好" * 2000}
        err = assert_error(c.post("/v1/check", json=big, headers=t.headers()), 413, "payload_too_large")
        assert "2 KiB" in err["message_en"]

        def chunks():  # no Content-Length: counted as it streams
            yield json.dumps(big).encode()

        assert_error(c.post("/v1/check", content=chunks(), headers={**t.headers(), "content-type": "application/json"}),
                     413, "payload_too_large")
        err = assert_error(c.post("/v1/check", json={"platform": "pinduoduo", "messages": ["好的"] * 6},
                                  headers=t.headers()), 413, "batch_too_large")
        assert err["field"] == "messages"
        ok = c.post("/v1/check", json={"platform": "pinduoduo", "messages": ["好的"] * 5}, headers=t.headers())
        assert ok.status_code == 200 and len(ok.json()["results"]) == 5


def test_rate_limit_is_429_with_retry_after(database, tmp_path):
    app = create_app(database=database, migrate=False, data_dir=tmp_path, rate_limit=1.0, rate_burst=3.0)
    t = make_tenant(database, "限流")
    with TestClient(app, raise_server_exceptions=False) as c:
        codes = [c.get("/v1/shops", headers=t.headers("supervisor")).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        r = c.get("/v1/shops", headers=t.headers("supervisor"))
        assert_error(r, 429, "rate_limited")
        assert int(r.headers["Retry-After"]) >= 1
        # buckets are per key: another key of the same tenant is not limited
        assert c.get("/v1/shops", headers=t.headers("admin")).status_code == 200


def test_unexpected_errors_are_a_generic_500(env, caplog):
    @env.app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    with caplog.at_level("ERROR", logger="kefuguard.server"):
        r = env.client.get("/boom")
    assert_error(r, 500, "internal_error")
    assert "hunter2" not in r.text and "RuntimeError" not in r.text
    assert "hunter2" in caplog.text  # logged server-side, with the traceback


def test_cors_is_closed_by_default_and_configurable(database, tmp_path):
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    app = create_app(database=database, migrate=False, data_dir=tmp_path)
    with TestClient(app) as c:
        r = c.options("/v1/check", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
    app = create_app(database=database, migrate=False, data_dir=tmp_path, cors_origins=("https://ok.example",))
    with TestClient(app) as c:
        r = c.options("/v1/check", headers={**preflight, "Origin": "https://ok.example"})
        assert r.headers["access-control-allow-origin"] == "https://ok.example"
        r = c.options("/v1/check", headers=preflight)
        assert r.headers.get("access-control-allow-origin") != "https://evil.example"
