"""Upload → background audit → progress → reports; idempotent re-upload; stored data lists."""

from __future__ import annotations

import time

from tests.server.conftest import SAMPLE_JSONL, assert_error


def _wait(client, headers, run_id, timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    progress = []
    while True:
        run = client.get(f"/v1/audits/{run_id}", headers=headers).json()
        progress.append(run["progress"])
        if run["status"] in ("done", "failed"):
            assert progress == sorted(progress)  # progress only moves forward
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.05)


def _upload(env, name="chats.jsonl"):
    h = env.a.headers("supervisor")
    with SAMPLE_JSONL.open("rb") as fh:
        r = env.client.post("/v1/audits", headers=h, files={"file": (name, fh, "application/json")})
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["status"] == "queued" and r.headers["Location"] == f"/v1/audits/{run['id']}"
    return _wait(env.client, h, run["id"])


def test_upload_audit_reports_and_idempotent_reupload(env):
    h = env.a.headers("supervisor")
    run = _upload(env)
    assert run["status"] == "done", run.get("error")
    assert run["progress"] == 1.0 and run["conversations"] > 10 and run["findings"] > 0
    assert set(run["reports"]) >= {"html", "json", "xlsx", "findings"}
    ingest = run["summary"]["ingest"][0]
    assert ingest["file"] == "chats.jsonl" and ingest["added"] > 1000
    assert ingest["read"] == ingest["added"] + ingest["duplicates"] + ingest["rejected"]

    html = env.client.get(f"/v1/audits/{run['id']}/reports/html", headers=h)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "客服质检" in html.text
    xlsx = env.client.get(f"/v1/audits/{run['id']}/reports/xlsx", headers=h)
    assert xlsx.content[:2] == b"PK" and "attachment" in xlsx.headers["content-disposition"]
    report = env.client.get(f"/v1/audits/{run['id']}/reports/json", headers=h).json()
    assert report["conversations"] == run["conversations"]
    assert_error(env.client.get(f"/v1/audits/{run['id']}/reports/pdf", headers=h), 422)

    convs = env.client.get("/v1/conversations", headers=h, params={"limit": 5}).json()
    assert convs["total"] == run["conversations"] and len(convs["items"]) == 5 and convs["next_offset"] == 5
    findings = env.client.get("/v1/findings", headers=h, params={"run_id": run["id"], "severity": "critical"}).json()
    assert findings["total"] > 0 and all(f["severity"] == "critical" for f in findings["items"])
    # every finding of the run is stored, not only those of the report's worst conversations
    everything = env.client.get("/v1/findings", headers=h, params={"run_id": run["id"], "limit": 1}).json()
    assert everything["total"] == run["findings"] == sum(report["findings_by_severity"].values())
    assert run["summary"]["stored"]["skipped_findings"] == 0
    with_findings = env.client.get("/v1/conversations", headers=h, params={"flagged": "true", "limit": 1}).json()
    assert with_findings["total"] > len(report["flagged"])  # more than the report's worst 20 a shop
    metrics = env.client.get("/v1/metrics", headers=h, params={"run_id": run["id"], "period": "total"}).json()
    assert metrics["total"] > 0 and all(m["day"] is None for m in metrics["items"])
    scores = env.client.get("/v1/scores", headers=h, params={"run_id": run["id"]}).json()
    assert scores["total"] > 0 and {s["rank"] for s in scores["items"]} >= {1}
    detail = env.client.get(f"/v1/conversations/{convs['items'][0]['id']}", headers=h).json()
    assert detail["messages"] and detail["message_count"] == len(detail["messages"])

    # the same file again: every message is a duplicate, nothing is stored twice
    again = _upload(env, name="again.jsonl")
    assert again["status"] == "done"
    ingest2 = again["summary"]["ingest"][0]
    assert ingest2["added"] == 0 and ingest2["duplicates"] == ingest["added"] + ingest["duplicates"]
    assert env.client.get("/v1/conversations", headers=h).json()["total"] == convs["total"]
    # alerts: metrics below threshold and critical findings were handed to the dispatcher
    kinds = {e.kind for e in env.alerts.events}
    assert "critical_finding" in kinds
    assert all(e.tenant == str(env.a.id) for e in env.alerts.events)


def test_audit_of_stored_conversations_and_errors(env):
    h = env.a.headers("supervisor")
    first = _upload(env)
    shop = next(s for s in env.client.get("/v1/shops", headers=h).json()["items"] if s["platform"] == "pinduoduo"
                and s["external_id"] != "shop-a")
    r = env.client.post("/v1/audits", headers=h, json={"shop_id": shop["id"]})
    assert r.status_code == 202
    run = _wait(env.client, h, r.json()["id"])
    assert run["status"] == "done" and 0 < run["conversations"] < first["conversations"]
    assert run["params"]["source"] == "stored"
    # not finished yet / not found / bad input
    assert_error(env.client.post("/v1/audits", headers=h, json={"shop_id": env.b.shop_id}), 404)
    assert_error(env.client.post("/v1/audits", headers=h, json={"bogus": 1}), 422)
    assert_error(env.client.post("/v1/audits", headers={**h, "content-type": "text/plain"}, content=b"x"), 415)
    assert_error(env.client.post("/v1/audits", headers=h, data={"platform": "jd"}, files={}), 415)
    assert_error(env.client.post("/v1/audits", headers=h, files={"other": ("a.txt", b"x")}), 422)
    assert_error(env.client.get("/v1/audits/999999", headers=h), 404)
    bad = env.client.post("/v1/audits", headers=h, files={"file": ("broken.xlsx", b"PK\x03\x04broken", "application/zip")})
    failed = _wait(env.client, h, bad.json()["id"])
    assert failed["status"] in ("done", "failed")  # an unreadable file is a reject, not a crash
    listing = env.client.get("/v1/audits", headers=h, params={"status": "done"}).json()
    assert listing["total"] >= 2


def test_runs_left_by_a_dead_process_are_failed_at_start(env, tmp_path):
    import socket
    import subprocess
    import sys

    from kefuguard.server.app import create_app
    from kefuguard.storage.models import AuditRun

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    with env.db.session() as s:
        mine = AuditRun(tenant_id=env.a.id, status="running", params={"owner": f"{socket.gethostname()}:{dead_pid}"})
        elsewhere = AuditRun(tenant_id=env.a.id, status="running", params={"owner": "other-host:1"})
        s.add_all([mine, elsewhere])
        s.flush()
        ids = mine.id, elsewhere.id
    create_app(database=env.db, migrate=False, data_dir=tmp_path)
    h = env.a.headers("supervisor")
    run = env.client.get(f"/v1/audits/{ids[0]}", headers=h).json()
    assert run["status"] == "failed" and "restart" in run["error"] and "owner" not in run["params"]
    assert env.client.get(f"/v1/audits/{ids[1]}", headers=h).json()["status"] == "running"
