"""Server tests: an app on a fresh database (SQLite always; PostgreSQL when KEFUGUARD_TEST_PG_URL is
set — storage's `database` fixture, registered in tests/conftest.py, skips that half with a reason
otherwise), tenants, keys, a shop, agents."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kefuguard.server.app import create_app
from kefuguard.storage import Database
from kefuguard.storage.keys import create_api_key
from kefuguard.storage.tenants import create_tenant, get_or_create_agent, get_or_create_shop

SAMPLE_JSONL = Path(__file__).resolve().parents[2] / "src" / "kefuguard" / "sample" / "data" / "chat_tmall_pinduoduo.jsonl"


class RecordingAlerts:
    """Stands in for the AlertDispatcher: records what was submitted."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._lock = threading.Lock()

    def submit(self, event: Any) -> bool:
        with self._lock:
            self.events.append(event)
        return True

    def close(self, timeout: float = 0) -> None:
        pass



@dataclass
class ThreadedServer:
    """An ASGI app served by uvicorn on a free loopback port, in a daemon thread (live-server tests)."""

    base: str
    server: Any
    thread: threading.Thread
    sock: socket.socket
    stopped: bool = False

    @classmethod
    def start(cls, app: Any, timeout: float = 20) -> ThreadedServer:
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        return cls(f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread, sock)

    def stop(self) -> None:
        """Idempotent: a test may stop the server itself before the fixture does."""
        if self.stopped:
            return
        self.stopped = True
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

@dataclass
class Tenant:
    id: int
    name: str
    keys: dict[str, str] = field(default_factory=dict)  # role → plaintext key
    shop_id: int = 0
    agents: dict[str, int] = field(default_factory=dict)  # external id → agent id

    def headers(self, role: str = "admin") -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}


def make_tenant(db: Database, name: str, *, shop: str = "shop-a", agents: tuple[str, ...] = ("小王", "小李"),
                platform: str = "pinduoduo") -> Tenant:
    with db.session(immediate=True) as s:
        t = create_tenant(s, name)
        sh = get_or_create_shop(s, t.id, platform, shop)
        tenant = Tenant(t.id, name, shop_id=sh.id)
        for agent in agents:
            tenant.agents[agent] = get_or_create_agent(s, t.id, sh.id, agent).id
        for role in ("admin", "supervisor"):
            tenant.keys[role] = create_api_key(s, t.id, role, label=f"{role}-of-{name}")[1]
        tenant.keys["agent"] = create_api_key(s, t.id, "agent", tenant.agents[agents[0]], label="agent-key")[1]
        if len(agents) > 1:
            tenant.keys["agent2"] = create_api_key(s, t.id, "agent", tenant.agents[agents[1]])[1]
    return tenant


@dataclass
class Env:
    app: Any
    client: TestClient
    db: Database
    a: Tenant
    b: Tenant
    alerts: RecordingAlerts


@pytest.fixture
def env(database: Database, tmp_path: Path) -> Iterator[Env]:  # `database`: tests/storage/db_fixtures.py
    """An app (audits in a thread, generous rate limit) with tenants A and B."""
    alerts = RecordingAlerts()
    app = create_app(database=database, alerts=alerts, data_dir=tmp_path / "data", audit_process=False,
                     rate_limit=100000.0, migrate=False)
    a = make_tenant(database, "租户A")
    b = make_tenant(database, "租户B", shop="shop-b")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Env(app, client, database, a, b, alerts)


def assert_error(response: Any, status: int, code: str | None = None) -> dict:
    """The API's error shape: JSON, bilingual, no traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert {"code", "message", "message_en", "field"} <= set(err)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"]), err  # Chinese
    assert err["message_en"].isascii() or any(c.isalpha() and c.isascii() for c in err["message_en"])
    assert "Traceback" not in response.text
    if code is not None:
        assert err["code"] == code, err
    return err
