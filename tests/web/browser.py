"""A live kefuguard server and a headless Debian Chromium driven by Selenium, for the dashboard tests.

* `LiveServer`: the app on a free loopback port (uvicorn in a thread), its own SQLite database, two
  tenants; audits run in a thread of the server (a spawned process costs seconds on two cores).
* `Blocker`: a dead proxy on loopback that records every connection Chromium makes through it.
  Chromium is started with it as its proxy (loopback addresses bypass a proxy by default) and with
  host resolution off for everything but 127.0.0.1, so any request to a non-loopback address is
  refused — and recorded, so the tests can assert none was attempted.
* `Browser`: the Selenium session (the Debian chromedriver, never Selenium Manager), console and
  network logs, screenshots, downloads, and waits on the page's own "ready" markers.

Skips (with the reason) where chromium or chromedriver is missing, except under CI (CI set), where
that is a failure.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
SAMPLE_DIR = ROOT / "src" / "kefuguard" / "sample" / "data"
SAMPLE_FILES = tuple(sorted(p for p in SAMPLE_DIR.iterdir() if p.suffix in (".jsonl", ".csv", ".xlsx")))
# the sample's order and after-sales exports (beside the chats, not among them)
SAMPLE_ORDERS = tuple(sorted((SAMPLE_DIR.parent / "commerce").glob("orders_*")))
SAMPLE_REFUNDS = (SAMPLE_DIR.parent / "commerce" / "refunds.csv",)
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDE, NARROW = (1280, 900), (390, 844)


def network_blocked() -> bool:
    """The tests run with every non-loopback address blocked, unless KEFUGUARD_WEB_TESTS_NETWORK=open
    (the same tests, with the browser's network as it is)."""
    return os.environ.get("KEFUGUARD_WEB_TESTS_NETWORK", "").strip().lower() != "open"


def require_browser() -> None:
    """Skip (or, under CI, fail) unless Debian's chromium and chromedriver and selenium are there."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[dev]')")
    if missing:
        reason = "browser tests need " + ", ".join(missing) + " (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


# ---------------------------------------------------------------------------- the dead proxy
class Blocker:
    """Accepts connections on 127.0.0.1, records the first request line, answers 403 and closes.
    A connection that sends nothing (Chromium preconnects to its proxy) is counted, not recorded."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.attempts: list[str] = []
        self.idle = 0  # connections that sent no request at all
        self._stop = False
        self._thread = threading.Thread(target=self._serve, name="dead-proxy", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1", "replace")
                except OSError:
                    first = ""
                if not first:  # a socket Chromium opened ahead of need (preconnect) and closed unused:
                    self.idle += 1  # nothing was asked for, nothing could leave
                    continue
                self.attempts.append(first)
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def close(self) -> None:
        self._stop = True
        self.sock.close()


# ---------------------------------------------------------------------------- Chromium
QUIET_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-default-browser-check",
    "--disable-client-side-phishing-detection", "--disable-domain-reliability", "--no-pings", "--disable-breakpad",
    "--metrics-recording-only", "--safebrowsing-disable-auto-update", "--disable-search-engine-choice-screen",
    "--password-store=basic", "--use-mock-keychain",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,"
    "NetworkTimeServiceQuerying,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,"
    "SignInProfileCreation,ChromeWhatsNewUI,PrivacySandboxSettings4",
)


def start_chromium(folder: Path, blocker: Blocker, *flags: str, prefs: dict[str, Any] | None = None,
                   logs: dict[str, str] | None = None) -> Any:
    """Debian's chromium through its chromedriver (never Selenium Manager): headless, quiet (no
    vendor services), its profile in `folder`, and — where the network is blocked — every request
    to a non-loopback address sent to the dead proxy `blocker`; `flags`/`prefs` add to these."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*QUIET_FLAGS, *flags, f"--user-data-dir={folder / 'profile'}", f"--window-size={WIDE[0]},{WIDE[1]}",
                 "--lang=zh-CN", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    if network_blocked():
        # every request to a non-loopback address goes to the dead proxy (and is recorded);
        # names do not resolve at all, except 127.0.0.1
        options.add_argument(f"--proxy-server=http://127.0.0.1:{blocker.port}")
        options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1")
    options.set_capability("goog:loggingPrefs", logs or {"browser": "ALL"})
    # no preconnecting to the default search engine, no sign-in, no safe-browsing lists
    options.add_experimental_option("prefs", {"safebrowsing.enabled": False, "signin.allowed": False,
                                              "net.network_prediction_options": 2, **(prefs or {})})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


def poll(condition: Callable[[], Any], timeout: float, interval: float) -> tuple[Any, Exception | None]:
    """Call `condition` until it returns something true or `timeout` passes: (its last value, the
    last exception it raised — stale elements while a page re-renders are expected)."""
    deadline = time.monotonic() + timeout
    value: Any = None
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value, last
        except Exception as exc:
            last = exc
        time.sleep(interval)
    return value, last


# ---------------------------------------------------------------------------- the server
@dataclass
class LiveServer:
    base: str
    app: Any
    db: Any
    folder: Path
    http: Any = None  # tests.server.conftest.ThreadedServer
    served: Any = None  # what the port answers with: the app, or `wrap(app)`

    @classmethod
    def start(cls, folder: Path, wrap: Callable[[Any], Any] | None = None, **settings: Any) -> LiveServer:
        """The app on its own SQLite database in `folder`, audits in a thread; `wrap` (e.g. a request
        recorder) is served around it; `settings` go to `create_app` (all checkers warmed by default)."""
        from kefuguard.rules.model import PLATFORMS
        from kefuguard.server.app import create_app
        from kefuguard.storage import Database
        from tests.server.conftest import ThreadedServer

        db = Database(f"sqlite:///{folder / 'kefuguard.db'}")
        db.upgrade()
        app = create_app(database=db, migrate=False, data_dir=folder / "data",
                         **{"audit_process": False, "rate_limit": 100000.0, "warm_platforms": PLATFORMS, **settings})
        served = wrap(app) if wrap is not None else app
        http = ThreadedServer.start(served)
        return cls(http.base, app, db, folder, http, served)

    def wait_warm(self, timeout: float = 60) -> None:
        """Until the platform checkers are built (a page's first check would wait for one otherwise)."""
        deadline = time.monotonic() + timeout
        while not self.app.state.kefuguard.warmed:
            assert time.monotonic() < deadline, "the checkers were not built in time"
            time.sleep(0.05)

    def stop(self) -> None:
        if not self.http.stopped:
            self.http.stop()
            self.db.dispose()


def upload_sample(base: str, key: str, timeout: float = 120) -> dict:
    """Upload the bundled sample (chats, orders, refunds) over the API and wait for its audit (for tests
    that need data)."""
    return upload_files(base, key, {"file": SAMPLE_FILES, "orders": SAMPLE_ORDERS, "refunds": SAMPLE_REFUNDS}, timeout)


def upload_files(base: str, key: str, fields: dict[str, Iterable[Path]], timeout: float = 120) -> dict:
    """Upload files over the API (form field → files: chat logs in `file`, exports in `orders`,
    `refunds`) and wait for the audit."""
    import httpx

    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base, timeout=60) as client:
        files = [(name, (p.name, p.read_bytes())) for name, paths in fields.items() for p in paths]
        r = client.post("/v1/audits", headers=headers, files=files)
        assert r.status_code == 202, r.text
        run_id = r.json()["id"]
        deadline = time.monotonic() + timeout
        while (run := client.get(f"/v1/audits/{run_id}", headers=headers).json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, run
            time.sleep(0.2)
    assert run["status"] == "done", run["error"]
    return run


# ---------------------------------------------------------------------------- the browser
@dataclass
class Browser:
    driver: Any
    base: str
    blocker: Blocker
    shots: Path
    downloads: Path
    console: list[dict] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    timings: list[dict] = field(default_factory=list)

    @classmethod
    def start(cls, base: str, folder: Path, blocker: Blocker) -> Browser:
        downloads = folder / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        driver = start_chromium(folder, blocker, "--disable-default-apps", "--disable-extensions",
                                prefs={"download.default_directory": str(downloads),
                                       "download.prompt_for_download": False},
                                logs={"browser": "ALL", "performance": "ALL"})
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        shots = folder / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        return cls(driver, base, blocker, shots, downloads)

    def check_block_and_reset(self) -> None:
        """Where the network is blocked, check that the block works (a request to a name outside loopback
        never leaves, and is recorded); then forget what Chromium did at start (its new-tab page, that
        request), so the tests see only what the pages do."""
        if network_blocked():
            self.driver.get("http://kefuguard-blocked.example/")
            self.wait(lambda: any("kefuguard-blocked.example" in a for a in self.blocker.attempts), 10,
                      "the dead proxy")
        self.driver.get("about:blank")
        self.drain()
        self.console.clear()
        self.requests.clear()
        self.blocker.attempts[:] = [a for a in self.blocker.attempts if "kefuguard-blocked.example" not in a]

    # -------------------------------------------------------------- logs
    def drain(self) -> None:
        """Move the browser's console and network logs into `console` and `requests`."""
        for entry in self.driver.get_log("browser"):
            self.console.append(entry)
        for entry in self.driver.get_log("performance"):
            try:
                message = json.loads(entry["message"])["message"]
            except (KeyError, ValueError):
                continue
            if message.get("method") == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])

    def errors(self, allow: Iterable[str] = ()) -> list[str]:
        """Console errors (SEVERE) not matching an allowed pattern; drains the logs first, then forgets them."""
        self.drain()
        patterns = [re.compile(p) for p in allow]
        bad = [e["message"] for e in self.console if e.get("level") == "SEVERE"
               and not any(p.search(e["message"]) for p in patterns)]
        self.console.clear()
        return bad

    def external_requests(self) -> list[str]:
        """Requests the pages made to anything but this server (data:/blob: URLs are local)."""
        self.drain()
        return [u for u in self.requests if not (u.startswith(self.base + "/") or u == self.base
                                                 or u.split(":", 1)[0] in ("data", "blob", "about", "chrome-error"))]

    # -------------------------------------------------------------- pages
    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def renders(self) -> int:
        return self.js("return (window.KG && KG.timings) ? KG.timings.length : 0") or 0

    def wait(self, condition: Callable[[], Any], timeout: float = 15, what: str = "condition") -> Any:
        value, last_error = poll(condition, timeout, 0.05)
        if value:
            return value
        try:  # what the page showed, for the failure report
            shot = self.screenshot("timeout-" + re.sub(r"\W+", "-", what).strip("-"))
            text = self.js("return document.querySelector('#main').innerText.slice(0, 600)")
        except Exception:
            shot, text = None, ""
        raise AssertionError(f"timed out waiting for {what}" + (f" (last error: {last_error})" if last_error else "")
                             + f"; screenshot {shot}; the page said: {text!r}")

    def wait_render(self, after: int, route: str | None = None, timeout: float = 15) -> dict:
        """Until the page finished a render after `after` renders (and is `route`); its timing entry."""
        def done() -> Any:
            state = self.js("return {n: (window.KG && KG.timings) ? KG.timings.length : 0, "
                            "ready: document.querySelector('#main').dataset.ready, route: document.body.dataset.route, "
                            "last: (window.KG && KG.timings.length) ? KG.timings[KG.timings.length - 1] : null}")
            if state["n"] > after and state["ready"] == "1" and (route is None or state["route"] == route):
                return state["last"]
            return None

        entry = self.wait(done, timeout, f"the {route or 'next'} page")
        self.timings.append(entry)
        return entry

    def open(self, hash_path: str, route: str | None = None, timeout: float = 15) -> dict:
        """Navigate inside the page (hash route) and wait for its render."""
        n = self.renders()
        self.js("if (location.hash === arguments[0]) KG.refresh(); else location.hash = arguments[0];", hash_path)
        return self.wait_render(n, route, timeout)

    def load(self, hash_path: str = "", route: str | None = None) -> dict:
        """A full page load of / (with a hash route)."""
        self.driver.get("about:blank")
        self.driver.get(self.base + "/" + hash_path)
        return self.wait_render(0, route)

    def sign_out(self) -> None:
        if self.js("return !!(window.KG && KG.state.me)"):
            n = self.renders()
            self.js("KG.signOut()")
            self.wait_render(n, "login")

    def sign_in(self, key: str, route: str | None = None) -> dict:
        from selenium.webdriver.common.by import By

        self.load("#/login")
        self.sign_out()
        box = self.driver.find_element(By.ID, "api-key")
        box.clear()
        box.send_keys(key)
        n = self.renders()
        self.driver.find_element(By.ID, "login-submit").click()
        return self.wait_render(n, route)

    def size(self, width_height: tuple[int, int]) -> None:
        self.driver.set_window_size(*width_height)
        self.wait(lambda: abs(self.js("return window.innerWidth") - width_height[0]) <= 16, 5, "the window size")

    def screenshot(self, name: str) -> Path:
        """A full-page PNG (beyond the viewport) under the screenshots folder."""
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path = self.shots / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def overflow(self) -> int:
        """How many CSS pixels the page is wider than the window (0: no horizontal scrolling)."""
        return self.js("return document.documentElement.scrollWidth - document.documentElement.clientWidth")

    def downloaded(self, pattern: str, timeout: float = 15) -> Path:
        def found() -> Path | None:
            for path in self.downloads.iterdir():
                if re.search(pattern, path.name) and not path.name.endswith(".crdownload") and path.stat().st_size:
                    return path
            return None

        return self.wait(found, timeout, f"a download matching {pattern}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.driver.quit()


def keep_artifacts(folder: Path, name: str) -> None:
    """Copy a module's screenshots (and downloads) to test-artifacts/web/<name>/ (ignored by git)."""
    target = ARTIFACTS / name
    target.mkdir(parents=True, exist_ok=True)
    for sub in ("screenshots", "downloads"):
        src = folder / sub
        if src.is_dir():
            shutil.copytree(src, target / sub, dirs_exist_ok=True)
