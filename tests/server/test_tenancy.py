"""Tenant isolation (another tenant's ids are 404 and never listed) and roles."""

from __future__ import annotations

import pytest

from tests.server.conftest import SAMPLE_JSONL, assert_error
from tests.server.test_audits import _wait


@pytest.fixture
def audited(env):
    """Both tenants upload the same chat log and audit it."""
    runs = {}
    for t in (env.a, env.b):
        with SAMPLE_JSONL.open("rb") as fh:
            r = env.client.post("/v1/audits", headers=t.headers("supervisor"), files={"file": ("c.jsonl", fh)})
        runs[t.name] = _wait(env.client, t.headers("supervisor"), r.json()["id"])
        assert runs[t.name]["status"] == "done"
    hook = env.client.post("/v1/webhooks", headers=env.b.headers(),
                           json={"kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET"})
    assert hook.status_code == 201
    return runs, hook.json()


def test_a_key_never_sees_another_tenants_rows(env, audited):
    runs, hook = audited
    a, b = env.a.headers(), env.b.headers()
    b_conv = env.client.get("/v1/conversations", headers=b, params={"limit": 1}).json()["items"][0]
    b_run = runs["租户B"]["id"]
    b_key = env.client.get("/v1/keys", headers=b).json()["items"][0]
    for path in (f"/v1/conversations/{b_conv['id']}", f"/v1/audits/{b_run}", f"/v1/audits/{b_run}/reports/html",
                 f"/v1/shops/{env.b.shop_id}", f"/v1/shops/{env.b.shop_id}/settings",
                 f"/v1/shops/{env.b.shop_id}/settings/history", f"/v1/webhooks/{hook['id']}",
                 f"/v1/webhooks/{hook['id']}/deliveries"):
        assert_error(env.client.get(path, headers=a), 404)
    assert_error(env.client.put(f"/v1/shops/{env.b.shop_id}/settings", headers=a, json={}), 404)
    assert_error(env.client.delete(f"/v1/webhooks/{hook['id']}", headers=a), 404)
    assert_error(env.client.delete(f"/v1/keys/{b_key['id']}", headers=a), 404)
    assert_error(env.client.post("/v1/audits", headers=a, json={"conversation_ids": [b_conv["id"]],
                                                                "shop_id": env.b.shop_id}), 404)
    # lists: same data in both tenants, yet A's lists hold only A's rows
    a_convs = env.client.get("/v1/conversations", headers=a, params={"limit": 500}).json()
    b_convs = env.client.get("/v1/conversations", headers=b, params={"limit": 500}).json()
    assert a_convs["total"] == b_convs["total"] > 0
    assert not {c["id"] for c in a_convs["items"]} & {c["id"] for c in b_convs["items"]}
    a_runs = {r["id"] for r in env.client.get("/v1/audits", headers=a).json()["items"]}
    assert a_runs == {runs["租户A"]["id"]}
    for path in ("/v1/findings", "/v1/metrics", "/v1/scores"):
        items = env.client.get(path, headers=a, params={"limit": 500}).json()["items"]
        assert items and {i["run_id"] for i in items} == {runs["租户A"]["id"]}, path
    # B's run id used as a filter by A: nothing
    assert env.client.get("/v1/findings", headers=a, params={"run_id": b_run}).json()["total"] == 0
    assert {s["id"] for s in env.client.get("/v1/shops", headers=a).json()["items"]}.isdisjoint(
        {s["id"] for s in env.client.get("/v1/shops", headers=b).json()["items"]})
    assert env.client.get("/v1/webhooks", headers=a).json()["total"] == 0
    assert "SECRET" not in env.client.get("/v1/webhooks", headers=b).text  # the robot key is redacted


def test_roles(env, audited):
    c, shop = env.client, env.a.shop_id
    agent, sup, admin = env.a.headers("agent"), env.a.headers("supervisor"), env.a.headers("admin")
    for method, path in (("get", "/v1/shops"), ("get", f"/v1/shops/{shop}/settings"), ("get", "/v1/audits"),
                         ("get", "/v1/metrics"), ("get", "/v1/scores"), ("get", "/v1/agents"), ("get", "/v1/keys"),
                         ("get", "/v1/webhooks"), ("get", "/v1/deliveries")):
        assert_error(getattr(c, method)(path, headers=agent), 403, "forbidden")
    assert_error(c.put(f"/v1/shops/{shop}/settings", headers=agent, json={}), 403)
    assert_error(c.post("/v1/audits", headers=agent, json={}), 403)
    for path in ("/v1/keys", "/v1/webhooks", "/v1/deliveries"):
        assert_error(c.get(path, headers=sup), 403, "forbidden")
    assert_error(c.post("/v1/keys", headers=sup, json={"role": "admin"}), 403)
    assert c.get(f"/v1/shops/{shop}/settings", headers=sup).status_code == 200
    assert c.get("/v1/keys", headers=admin).status_code == 200

    # an agent key sees its own conversations and findings only
    agents = c.get("/v1/agents", headers=sup, params={"limit": 500}).json()["items"]
    busiest = max(agents, key=lambda x: c.get("/v1/conversations", headers=sup,
                                              params={"agent_id": x["id"]}).json()["total"])
    mine_total = c.get("/v1/conversations", headers=sup, params={"agent_id": busiest["id"]}).json()["total"]
    resp = c.post("/v1/keys", headers=admin, json={"role": "agent", "agent_id": busiest["id"], "label": "客服"})
    assert resp.status_code == 201, resp.text
    key = resp.json()
    assert key["key"].startswith("kg_")
    own = {"X-API-Key": key["key"]}
    mine = c.get("/v1/conversations", headers=own, params={"limit": 500}).json()
    everyone = c.get("/v1/conversations", headers=sup, params={"limit": 500}).json()
    assert 0 < mine["total"] == mine_total < everyone["total"]
    # asking for another agent's rows gives nothing; their conversation by id is 404
    other = next(x for x in agents if x["id"] != busiest["id"])
    assert c.get("/v1/conversations", headers=own, params={"agent_id": other["id"]}).json()["total"] == 0
    mine_ids = {x["id"] for x in mine["items"]}
    foreign = next(x for x in everyone["items"] if x["id"] not in mine_ids)
    assert_error(c.get(f"/v1/conversations/{foreign['id']}", headers=own), 404)
    assert c.get(f"/v1/conversations/{next(iter(mine_ids))}", headers=own).status_code == 200
    findings = c.get("/v1/findings", headers=own, params={"limit": 500}).json()["items"]
    assert all(f["conversation_id"] in mine_ids for f in findings)
    # the agent can still check
    assert c.post("/v1/check", headers=own, json={"platform": "pinduoduo", "text": "好的"}).status_code == 200
    # revoked at once on this instance
    assert c.delete(f"/v1/keys/{key['id']}", headers=admin).status_code == 204
    assert_error(c.post("/v1/check", headers=own, json={"platform": "pinduoduo", "text": "好的"}), 401)
