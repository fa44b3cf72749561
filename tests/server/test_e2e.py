"""A real server: uvicorn on a free loopback port, spoken to over HTTP; audits in a worker process."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from kefuguard.server.app import create_app
from tests.server.conftest import SAMPLE_JSONL, ThreadedServer, make_tenant


@pytest.fixture
def server(database, tmp_path) -> Iterator[tuple[str, object]]:
    app = create_app(database=database, migrate=False, data_dir=tmp_path / "data")
    live = ThreadedServer.start(app, timeout=10)
    try:
        yield live.base, app
    finally:
        live.stop()


def test_real_server_end_to_end(server, database):
    base, _app = server
    t = make_tenant(database, "端到端")
    bearer = {"Authorization": f"Bearer {t.keys['supervisor']}"}
    with httpx.Client(base_url=base, timeout=30) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz").json()
        assert ready["status"] == "ready" and ready["database"] == database.dialect
        assert "swagger" in c.get("/docs").text.lower()
        schema = c.get("/openapi.json").json()
        assert {"/v1/check", "/v1/audits", "/v1/shops/{shop_id}/settings"} <= set(schema["paths"])
        assert schema["components"]["securitySchemes"]["apiKey"]["name"] == "X-API-Key"

        r = c.post("/v1/check", headers=bearer, json={"platform": "pinduoduo", "text": "打我电话 138 0013 8000"})
        assert r.status_code == 200 and not r.json()["ok"] and "****" in r.json()["rewrite"]["text"]
        r = c.put(f"/v1/shops/{t.shop_id}/settings", headers=bearer, json={"banned_words": [{"text": "竞品店"}]})
        assert r.status_code == 200
        r = c.post("/v1/check", headers=bearer, json={"shop_id": t.shop_id, "text": "别去竞品店"})
        assert any(f["rule_id"].startswith("shop.") for f in r.json()["findings"])
        err = c.get("/v1/shops", headers={"X-API-Key": "kg_bad_bad"})
        assert err.status_code == 401 and err.json()["error"]["message"]

        with SAMPLE_JSONL.open("rb") as fh:  # the default: the audit runs in a spawned worker process
            r = c.post("/v1/audits", headers=bearer, files={"file": ("chats.jsonl", fh)}, data={"platform": "pinduoduo"})
        assert r.status_code == 202
        run_id = r.json()["id"]
        deadline = time.monotonic() + 90
        while (run := c.get(f"/v1/audits/{run_id}", headers=bearer).json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
        assert run["status"] == "done", run["error"]
        xlsx = c.get(f"/v1/audits/{run_id}/reports/xlsx", headers=bearer)
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
