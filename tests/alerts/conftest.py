"""A real local HTTP receiver standing in for the robots, a manual clock, and dispatcher factories."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from kefuguard.alerts import AlertDispatcher, AlertEvent, AlertKind, AlertRule, RetryPolicy

OK_ERRCODE = {"errcode": 0, "errmsg": "ok"}
OK_FEISHU = {"code": 0, "msg": "success", "data": {}}


@dataclass
class Received:
    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.raw_query, keep_blank_values=True).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict → JSON; bytes as is; None → the robot's success answer
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """Records every POST; answers from a script of Replies, then with the robot's success answer.

    hold() makes every request wait until release() (a hanging robot).
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: deque[Reply] = deque()
        self.always: Reply | None = None
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._released = threading.Event()
        self._released.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in separate writes

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                with receiver._arrived:
                    receiver.requests.append(
                        Received("POST", parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    reply = receiver.script.popleft() if receiver.script else receiver.always
                    receiver._arrived.notify_all()
                receiver._released.wait(10)
                reply = reply or Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body
                if payload is None:
                    payload = OK_FEISHU if "/hook/" in parts.path else OK_ERRCODE
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # socketserver's 5 overflows with 8 parallel connects: SYN retried after 1 s
            daemon_threads = True
            block_on_close = False

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def wait_for(self, n: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._arrived.wait(remaining)
        return True

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class ManualClock:
    """Monotonic time that only moves when told to, or when the dispatcher backs off."""

    def __init__(self, start: float = 10_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_dispatcher(clock):
    made: list[AlertDispatcher] = []

    def make(webhooks, log=None, **kwargs) -> AlertDispatcher:
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("sleep", clock.sleep)
        kwargs.setdefault("rand", lambda: 1.0)  # no jitter unless a test asks for it
        kwargs.setdefault("trust_env", False)  # never route 127.0.0.1 through a proxy from the environment
        kwargs.setdefault("timeout", 3.0)
        kwargs.setdefault("retry", RetryPolicy(max_attempts=4))
        d = AlertDispatcher(webhooks, log, **kwargs)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close(timeout=1)


AT = dt.datetime(2026, 5, 9, 4, 30, 5, tzinfo=dt.UTC)  # 12:30:05 in Shanghai


def finding_event(n: int = 0, *, tenant: str = "t1", **overrides: Any) -> AlertEvent:
    fields: dict[str, Any] = dict(
        kind=AlertKind.critical_finding,
        tenant=tenant,
        shop="旗舰店",
        platform="pinduoduo",
        agent="小美",
        subject="common.diversion.wechat",
        title="引导添加微信",
        occurred_at=AT,
        excerpt="加我微信，电话138****5678",
        rules=[AlertRule(rule_id="common.diversion.wechat", title="引导添加微信", severity="critical", matched="微信")],
        dedupe_key=f"k{n}",
    )
    fields.update(overrides)
    return AlertEvent(**fields)
