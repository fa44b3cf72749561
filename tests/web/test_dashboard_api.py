"""The API endpoints the dashboard pages read — /v1/me, /v1/overview, the conversation filters and
counts, the rules behind a conversation's findings, /v1/exports/{list} — on SQLite and PostgreSQL,
with the server's scoping: another tenant's ids are 404 and never in lists, agents see their own."""

from __future__ import annotations

import io
import json
import time
from collections import Counter

import pytest
from openpyxl import load_workbook

from tests.server.conftest import SAMPLE_JSONL, assert_error


def _wait(client, headers, run_id, timeout=90.0) -> dict:
    deadline = time.monotonic() + timeout
    while (run := client.get(f"/v1/audits/{run_id}", headers=headers).json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, run
        time.sleep(0.05)
    assert run["status"] == "done", run["error"]
    return run


def _upload(env, name: str, content: bytes) -> dict:
    h = env.a.headers("supervisor")
    r = env.client.post("/v1/audits", headers=h, files={"file": (name, content, "application/json")})
    assert r.status_code == 202, r.text
    return _wait(env.client, h, r.json()["id"])


def _sheet(response) -> list[tuple]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert response.content[:2] == b"PK" and "attachment" in response.headers["content-disposition"]
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def test_me_for_each_role(env):
    c = env.client
    me = c.get("/v1/me", headers=env.a.headers("supervisor")).json()
    assert me["role"] == "supervisor" and me["tenant"] == "租户A" and me["agent"] is None
    assert me["platforms"]["pinduoduo"] == "拼多多" and me["categories"]["diversion"] == "导流/站外信息"
    assert me["categories"]["slow_reply"] == "回复超时" and me["severities"]["critical"] == "严重"
    agent = c.get("/v1/me", headers=env.a.headers("agent")).json()
    assert agent["role"] == "agent" and agent["agent"]["external_id"] == "小王"
    assert agent["agent"]["shop_id"] == env.a.shop_id and agent["agent"]["platform"] == "pinduoduo"
    assert c.get("/v1/me", headers=env.b.headers("admin")).json()["tenant"] == "租户B"
    assert_error(c.get("/v1/me"), 401, "unauthorized")


def test_dashboard_page_and_assets_are_served_beside_the_api(env):
    c = env.client
    page = c.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp and "script-src 'self'" in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["referrer-policy"] == "no-referrer"
    assert "{{v}}" not in page.text and "/static/js/app.js?v=" in page.text
    asset = c.get("/static/js/app.js?v=1")
    assert asset.status_code == 200 and "max-age" in asset.headers["cache-control"]
    assert "javascript" in asset.headers["content-type"]
    assert c.get("/static/vendor/echarts/echarts.common.min.js").status_code == 200
    assert_error(c.get("/static/nothing-here.js"), 404, "not_found")
    # the API is where it was, and the dashboard is not part of its schema
    paths = c.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/static") for p in paths)
    assert {"/v1/me", "/v1/overview", "/v1/exports/{kind}", "/v1/check"} <= set(paths)
    assert c.get("/healthz").json() == {"status": "ok"} and "swagger" in c.get("/docs").text.lower()


def test_overview_conversations_rules_and_exports(env):
    c = env.client
    sup, agent, other = env.a.headers("supervisor"), env.a.headers("agent"), env.b.headers("supervisor")

    empty = c.get("/v1/overview", headers=sup).json()
    assert empty["run"] is None and empty["shops"] == []
    run = _upload(env, "chats.jsonl", SAMPLE_JSONL.read_bytes())
    rid = run["id"]

    # ------------------------------------------------------------ overview: the whole audit
    whole = c.get("/v1/overview", headers=sup, params={"period": "all"}).json()
    assert whole["run"]["id"] == rid and whole["days"] == run["summary"]["days"]
    assert {(s["shop"], s["platform"]) for s in whole["shops"]} == {("小鹿家居旗舰店", "tmall"), ("山野茶铺", "pinduoduo")}
    stored = c.get("/v1/metrics", headers=sup, params={"run_id": rid, "period": "total", "level": "shop",
                                                       "limit": 500}).json()["items"]
    shown = {(s["shop_id"], m["metric"]): m for s in whole["shops"] for m in s["metrics"]}
    assert set(shown) == {(m["shop_id"], m["metric"]) for m in stored}
    for m in stored:
        assert shown[(m["shop_id"], m["metric"])]["passed"] == m["passed"]
    assert any(m["passed"] is True for m in shown.values()) and any(m["passed"] is False for m in shown.values())
    assert sum(x["count"] for x in whole["findings_by_category"]) == run["summary"]["stored"]["findings"]
    assert whole["totals"]["findings"] == run["summary"]["stored"]["findings"]
    assert whole["totals"]["conversations"] == run["conversations"]
    exposure = {(x["shop"], x["platform"]): x for x in run["summary"]["exposure"]}
    for x in whole["exposure"]["shops"]:
        source = exposure[(x["shop"], x["platform"])]
        assert x["points"] == source["points"] and x["deposit_at_risk_yuan"] == source["deposit_at_risk_yuan"]
        assert x["yuan"] == pytest.approx(source["fine_yuan"] + source["buyer_compensation_yuan"] + source["shop_policy_yuan"])
    trend = whole["trend"]
    assert trend["days"] == whole["days"]
    assert sum(sum(v) for v in trend["findings"].values()) == whole["totals"]["findings"]
    assert all(len(m["values"]) == len(trend["days"]) for m in trend["metrics"])

    # ------------------------------------------------------------ a day, a week: daily rows added up
    day = c.get("/v1/overview", headers=sup, params={"period": "day"}).json()
    assert day["period"]["day"] == whole["days"][-1] == day["period"]["day_from"] == day["period"]["day_to"]
    first = whole["days"][0]
    week = c.get("/v1/overview", headers=sup, params={"period": "week", "day": first}).json()
    assert week["period"]["day_from"] <= first <= week["period"]["day_to"]
    daily = c.get("/v1/metrics", headers=sup, params={"run_id": rid, "period": "day", "level": "shop",
                                                      "limit": 500}).json()["items"]
    for shop in week["shops"]:
        for m in shop["metrics"]:
            rows = [d for d in daily if d["shop_id"] == shop["shop_id"] and d["metric"] == m["metric"]
                    and week["period"]["day_from"] <= d["day"] <= week["period"]["day_to"]]
            den = sum(r["denominator"] for r in rows)
            assert m["denominator"] == den and m["days"] == len(rows)
            if den:
                assert m["value"] == pytest.approx(sum(r["numerator"] for r in rows) / den)
    by_day = c.get("/v1/overview", headers=sup, params={"period": "day", "day": first}).json()
    assert by_day["totals"]["findings"] == trend["findings"]["critical"][0] + trend["findings"]["major"][0] + \
        trend["findings"]["minor"][0] + trend["findings"]["info"][0]

    # ------------------------------------------------------------ filters, scoping
    pdd = c.get("/v1/overview", headers=sup, params={"platform": "拼多多"}).json()
    assert [s["platform"] for s in pdd["shops"]] == ["pinduoduo"]
    shop_id = pdd["shops"][0]["shop_id"]
    assert [s["shop_id"] for s in c.get("/v1/overview", headers=sup, params={"shop_id": shop_id}).json()["shops"]] == [shop_id]
    assert_error(c.get("/v1/overview", headers=sup, params={"platform": "amazon"}), 422)
    assert_error(c.get("/v1/overview", headers=agent), 403, "forbidden")
    assert c.get("/v1/overview", headers=other).json()["run"] is None
    assert_error(c.get("/v1/overview", headers=other, params={"run_id": rid}), 404, "not_found")

    # ------------------------------------------------------------ conversations: counts and filters
    everything = c.get("/v1/conversations", headers=sup, params={"limit": 500}).json()
    findings = c.get("/v1/findings", headers=sup, params={"run_id": rid, "limit": 500}).json()["items"]
    per_conv = Counter(f["conversation_id"] for f in findings)
    for item in everything["items"]:
        assert item["findings"] == per_conv.get(item["id"], 0)
    flagged = c.get("/v1/conversations", headers=sup, params={"flagged": "true", "limit": 500}).json()
    assert flagged["total"] == len(per_conv) and all(i["findings"] > 0 and i["worst"] for i in flagged["items"])
    clean = c.get("/v1/conversations", headers=sup, params={"flagged": "false", "limit": 500}).json()
    assert clean["total"] + flagged["total"] == everything["total"] and all(i["findings"] == 0 for i in clean["items"])
    diversion = c.get("/v1/conversations", headers=sup, params={"category": "diversion", "limit": 500}).json()
    assert {i["id"] for i in diversion["items"]} == {f["conversation_id"] for f in findings if f["category"] == "diversion"}
    critical = c.get("/v1/conversations", headers=sup, params={"severity": "critical", "limit": 500}).json()
    assert all(i["worst"] == "critical" for i in critical["items"]) and critical["total"] > 0
    assert c.get("/v1/conversations", headers=sup, params={"platform": "拼多多", "limit": 1}).json()["items"][0]["platform"] == "pinduoduo"
    assert c.get("/v1/conversations", headers=other, params={"flagged": "true"}).json()["total"] == 0
    assert c.get("/v1/conversations", headers=agent, params={"category": "diversion"}).json()["total"] == 0  # 小王: none

    # auditing the same conversations again counts each finding once (the newest audit's)
    target = max(flagged["items"], key=lambda i: i["findings"])["id"]
    again = c.post("/v1/audits", headers=sup, json={"conversation_ids": [target]})
    assert again.status_code == 202
    second = _wait(c, sup, again.json()["id"])
    newest = c.get("/v1/findings", headers=sup, params={"run_id": second["id"], "limit": 500}).json()["items"]
    assert newest and {f["conversation_id"] for f in newest} == {target}
    recount = c.get("/v1/conversations", headers=sup, params={"flagged": "true", "limit": 500}).json()
    assert recount["total"] == flagged["total"]
    assert next(i for i in recount["items"] if i["id"] == target)["findings"] == len(newest)

    # ------------------------------------------------------------ a conversation's rules, with sources
    detail = c.get(f"/v1/conversations/{diversion['items'][0]['id']}", headers=sup).json()
    assert {f["rule_id"] for f in detail["findings"]} <= set(detail["rules"])
    for rule in detail["rules"].values():
        assert rule["source"]["quote"] and rule["source"]["file"] and rule["penalty"]["text"] and rule["suggestion"]
    marked = [f for f in detail["findings"] if f["kind"] == "message"]
    texts = {m["id"]: m["text"] for m in detail["messages"]}
    assert marked and all(texts[f["message_id"]][f["start"]:f["end"]] == f["matched"] for f in marked)
    rules = c.get("/v1/rules", headers=agent, params={"platform": "tmall"}).json()
    checks = {r["id"]: r for r in rules["audit_checks"]}
    assert checks["audit.reply_time"]["penalty"]["basis"] == "shop_policy" and checks["audit.reply_time"]["source"]["quote"]

    # ------------------------------------------------------------ exports
    rows = _sheet(c.get("/v1/exports/conversations", headers=sup, params={"category": "diversion"}))
    assert rows[0][:3] == ("编号", "会话ID", "平台") and len(rows) == 1 + diversion["total"]
    assert {r[2] for r in rows[1:]} <= {"拼多多", "天猫"}
    english = _sheet(c.get("/v1/exports/conversations", headers=sup, params={"lang": "en"}))
    assert english[0][:3] == ("id", "conversation", "platform") and english[1][2] in ("pinduoduo", "tmall")
    scores = _sheet(c.get("/v1/exports/scores", headers=sup, params={"run_id": rid}))
    assert rows and scores[0][1] == "客服" and len(scores) > 2
    assert len(_sheet(c.get("/v1/exports/metrics", headers=sup, params={"run_id": rid, "period": "total"}))) > 2
    assert len(_sheet(c.get("/v1/exports/rules", headers=agent, params={"platform": "jd"}))) > 10
    assert len(_sheet(c.get("/v1/exports/conversations", headers=other))) == 1  # another tenant: the header only
    assert len(_sheet(c.get("/v1/exports/findings", headers=agent))) == 1 + c.get(
        "/v1/findings", headers=agent).json()["total"]
    assert_error(c.get("/v1/exports/scores", headers=agent), 403, "forbidden")
    assert_error(c.get("/v1/exports/deliveries", headers=sup), 403, "forbidden")
    assert_error(c.get("/v1/exports/rules", headers=sup), 422)
    assert_error(c.get("/v1/exports/everything", headers=sup), 422)
    assert_error(c.get("/v1/exports/conversations"), 401)


def test_exported_text_is_never_a_formula(env):
    lines = [{"conversation_id": "f-1", "platform": "pinduoduo", "shop": "公式店", "agent_id": "公式店:甲",
              "buyer_id": "=cmd|'/c calc'!A1", "role": role, "sent_at": f"2025-06-16T10:0{i}:00+08:00", "text": text}
             for i, (role, text) in enumerate((("buyer", "在吗"), ("agent", "=1+1 加我微信聊")))]
    _upload(env, "formula.jsonl", "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode())
    sup = env.a.headers("supervisor")
    book = load_workbook(io.BytesIO(env.client.get("/v1/exports/findings", headers=sup).content))
    cells = [cell for row in book.active.iter_rows(min_row=2) for cell in row if cell.value is not None]
    assert any(str(cell.value).startswith("=1+1") for cell in cells)
    assert all(cell.data_type != "f" for cell in cells)
    convs = load_workbook(io.BytesIO(env.client.get("/v1/exports/conversations", headers=sup).content))
    buyer = [cell for row in convs.active.iter_rows(min_row=2) for cell in row if str(cell.value).startswith("=cmd")]
    assert buyer and all(cell.data_type == "s" for cell in buyer)
