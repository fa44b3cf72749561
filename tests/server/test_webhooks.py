"""Admins configure robots; a critical check posts to them through the real dispatcher (the HTTP
side mocked), without holding up the request; deliveries are listed."""

from __future__ import annotations

import json

import httpx
from fastapi.testclient import TestClient

from kefuguard.alerts.dispatcher import AlertDispatcher
from kefuguard.server.app import create_app
from tests.server.conftest import assert_error, make_tenant

URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ROBOT-KEY-123"


def test_webhook_crud_and_deliveries(database, tmp_path):
    posted: list[dict] = []

    async def robot(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    dispatchers = []

    def factory(store):
        d = AlertDispatcher(store.webhook_directory(), store.delivery_log(), transport=httpx.MockTransport(robot))
        dispatchers.append(d)
        return d

    app = create_app(database=database, migrate=False, data_dir=tmp_path, alerts=factory)
    t = make_tenant(database, "告警")
    h = t.headers("admin")
    with TestClient(app, raise_server_exceptions=False) as c:
        # no webhook yet: nothing is posted, and (once the dispatcher has seen that) nothing is even built
        for _ in range(2):
            c.post("/v1/check", headers=t.headers("agent"), json={"platform": "pinduoduo", "text": "加我微信，我发你链接"})
            app.state.kefuguard.flush_alerts()
            assert dispatchers and dispatchers[0].flush(10)
        assert dispatchers[0].stats()["submitted"] == 1 and posted == []
        assert_error(c.post("/v1/webhooks", headers=h, json={"kind": "wecom", "url": "ftp://x"}), 422)
        assert_error(c.post("/v1/webhooks", headers=h, json={"kind": "slack", "url": URL}), 422)
        # no posting to internal addresses: only the robots' own hosts unless the server widens the list
        for inside in ("http://127.0.0.1:8080/x", "http://169.254.169.254/latest/meta-data", "https://qyapi.weixin.qq.com.evil.cn/x"):
            bad = c.post("/v1/webhooks", headers=h, json={"kind": "wecom", "url": inside})
            assert_error(bad, 422)
            assert bad.json()["error"]["field"] == "url" and "KEFUGUARD_WEBHOOK_HOSTS" in bad.json()["error"]["message_en"]
        hook = c.post("/v1/webhooks", headers=h, json={"kind": "wecom", "url": URL, "name": "质检群"})
        assert hook.status_code == 201
        hook = hook.json()
        assert "ROBOT-KEY-123" not in json.dumps(hook) and hook["name"] == "质检群"
        # the new webhook is seen at once (creating it forgets the cached "none")
        r = c.post("/v1/check", headers=t.headers("agent"), json={"platform": "pinduoduo", "text": "加我微信，我发你链接"})
        assert r.status_code == 200
        app.state.kefuguard.flush_alerts()
        assert dispatchers[0].flush(10)
        assert len(posted) == 1 and posted[0]["msgtype"] in ("markdown", "text")
        deliveries = c.get("/v1/deliveries", headers=h).json()
        assert deliveries["total"] == 1
        d = deliveries["items"][0]
        assert d["status"] == "sent" and d["webhook_id"] == hook["id"] and "ROBOT-KEY-123" not in json.dumps(d)
        assert c.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=h, params={"status": "sent"}).json()["total"] == 1
        # the same message again within the window: deduplicated, not posted twice
        c.post("/v1/check", headers=t.headers("agent"), json={"platform": "pinduoduo", "text": "加我微信，我发你链接"})
        app.state.kefuguard.flush_alerts()
        dispatchers[0].flush(10)
        assert len(posted) == 1
        assert c.get("/v1/deliveries", headers=h, params={"status": "deduplicated"}).json()["total"] == 1
        # a draft (pre-send checker, browser extension) is checked, never alerted
        submitted = dispatchers[0].stats()["submitted"]
        r = c.post("/v1/check", headers=t.headers("agent"),
                   json={"platform": "pinduoduo", "text": "加我QQ 12345678 私聊", "draft": True})
        assert r.status_code == 200 and r.json()["findings"]
        app.state.kefuguard.flush_alerts()
        dispatchers[0].flush(10)
        assert dispatchers[0].stats()["submitted"] == submitted and len(posted) == 1
        # disable, then delete
        off = c.patch(f"/v1/webhooks/{hook['id']}", headers=h, json={"enabled": False})
        assert off.status_code == 200 and off.json()["enabled"] is False
        assert c.delete(f"/v1/webhooks/{hook['id']}", headers=h).status_code == 204
        assert_error(c.get(f"/v1/webhooks/{hook['id']}", headers=h), 404)


def test_webhook_hosts_come_from_the_environment(monkeypatch):
    from kefuguard.server.config import ROBOT_HOSTS, ServerConfig

    assert ServerConfig.from_env().webhook_hosts == ROBOT_HOSTS
    assert ServerConfig().webhook_host_allowed("oapi.dingtalk.com") and not ServerConfig().webhook_host_allowed("10.0.0.5")
    monkeypatch.setenv("KEFUGUARD_WEBHOOK_HOSTS", "relay.example.cn, 10.0.0.5")
    config = ServerConfig.from_env()
    assert config.webhook_hosts == ("relay.example.cn", "10.0.0.5") and config.webhook_host_allowed("10.0.0.5")
    assert not config.webhook_host_allowed("qyapi.weixin.qq.com")
    monkeypatch.setenv("KEFUGUARD_WEBHOOK_HOSTS", "*")
    assert ServerConfig.from_env().webhook_host_allowed("anything.internal")
