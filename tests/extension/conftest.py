"""The browser extension's harness: Debian's Chromium with the extension loaded (headless), a live
kefuguard server that records what reaches it, and a mock workbench page, all on loopback.

* The extension is loaded from what `kefuguard extension pack` builds (unzipped): the tests prove the
  zip holds everything the browser needs.
* Chromium runs with the dashboard tests' dead proxy (tests/web/browser.py): any request to a
  non-loopback address is refused and recorded.
* The extension is configured through its real options page (server URL, key, shop, and the mock
  workbench's host added to the 拼多多 site), as a person would.

Skips with the reason where chromium, chromedriver or selenium is missing; under CI that is a failure.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import Tenant, make_tenant
from tests.web.browser import Blocker, LiveServer, poll, require_browser, start_chromium

ROOT = Path(__file__).resolve().parents[2]
EXTENSION_SRC = ROOT / "extension"
WORKBENCH = Path(__file__).parent / "workbench"
ARTIFACTS = ROOT / "test-artifacts" / "extension"


# ---------------------------------------------------------------------------- the server
class Recorder:
    """ASGI wrapper: keeps the method, path, headers and body of every HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        try:
            await self.app(scope, recording, send)
        finally:
            self.requests.append({"method": scope["method"], "path": scope["path"],
                                  "headers": {k.decode("latin-1").lower(): v.decode("latin-1")
                                              for k, v in scope["headers"]},
                                  "body": b"".join(chunks)})


class Server(LiveServer):
    """The live server with a `Recorder` around it; only the Pinduoduo checker is warmed (the workbench's)."""

    @classmethod
    def start(cls, folder: Path) -> Server:  # type: ignore[override]
        return cls(**vars(LiveServer.start(folder, Recorder, warm_platforms=("pinduoduo",))))

    @property
    def recorder(self) -> Recorder:
        return self.served

    def checks(self) -> list[dict[str, Any]]:
        return [r for r in self.recorder.requests if r["path"] == "/v1/check"]


# ---------------------------------------------------------------------------- the workbench page
class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def serve_workbench() -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(WORKBENCH)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def unpacked_extension(folder: Path) -> Path:
    """`kefuguard extension pack`'s zip, unzipped: the folder Chromium loads."""
    from kefuguard.cli_extension import build_zip

    target = build_zip(EXTENSION_SRC, folder / "zip")
    out = folder / "unpacked"
    with zipfile.ZipFile(target) as zf:
        zf.extractall(out)
    return out


# ---------------------------------------------------------------------------- the browser
@dataclass
class ExtBrowser:
    driver: Any
    extension_id: str
    shots: Path
    console: list[dict] = field(default_factory=list)

    @classmethod
    def start(cls, extension: Path, folder: Path, blocker: Blocker) -> ExtBrowser:
        # the extension under test, and no other
        driver = start_chromium(folder, blocker, f"--load-extension={extension}",
                                f"--disable-extensions-except={extension}")
        shots = folder / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        browser = cls(driver, "", shots)
        browser.extension_id = browser.wait(browser._find_extension, 15, "the extension's service worker")
        return browser

    def _find_extension(self) -> str | None:
        for target in self.driver.execute_cdp_cmd("Target.getTargets", {})["targetInfos"]:
            url = target.get("url", "")
            if target.get("type") == "service_worker" and url.startswith("chrome-extension://"):
                return url.split("/")[2]
        return None

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait(self, condition: Callable[[], Any], timeout: float = 10, what: str = "condition") -> Any:
        value, last = poll(condition, timeout, 0.03)
        if value:
            return value
        shot = None
        with contextlib.suppress(Exception):
            shot = self.screenshot("timeout-" + "".join(c if c.isalnum() else "-" for c in what)[:60])
        raise AssertionError(f"timed out waiting for {what}" + (f" (last error: {last})" if last else "")
                             + f"; screenshot {shot}")

    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def logs(self) -> list[dict]:
        self.console.extend(self.driver.get_log("browser"))
        return self.console

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.driver.quit()


@dataclass
class Rig:
    browser: ExtBrowser
    server: Server
    tenant: Tenant
    workbench: str
    blocker: Blocker
    typed: list[str] = field(default_factory=list)

    @property
    def driver(self) -> Any:
        return self.browser.driver


def configure_extension(b: ExtBrowser, server: str, key: str, shop_id: int | None, workbench_host: str) -> str:
    """Fill in and save the real options page; returns the status line it shows."""
    from selenium.webdriver.common.by import By

    d = b.driver
    d.get(f"chrome-extension://{b.extension_id}/options.html")
    b.wait(lambda: b.js("return document.body.dataset.ready") == "1", 10, "the options page")

    def fill(element: Any, value: str) -> None:
        element.clear()
        element.send_keys(value)

    fill(d.find_element(By.ID, "server-url"), server)
    fill(d.find_element(By.ID, "api-key"), key)
    fill(d.find_element(By.ID, "shop-id"), "" if shop_id is None else str(shop_id))
    hosts = d.find_element(By.CSS_SELECTOR, "fieldset[data-site='pinduoduo'] .site-hosts")
    assert hosts.get_attribute("value") == "mms.pinduoduo.com"  # the default
    hosts.send_keys("\n" + workbench_host)
    d.find_element(By.ID, "test").click()
    b.wait(lambda: d.find_element(By.ID, "status").text.startswith("连接"), 10, "the connection test")
    return d.find_element(By.ID, "status").text


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    require_browser()
    folder = tmp_path_factory.mktemp("extension")
    blocker = Blocker()
    server = Server.start(folder)
    httpd = serve_workbench()
    browser = None
    try:
        tenant = make_tenant(server.db, "演示公司", shop="示例店")
        browser = ExtBrowser.start(unpacked_extension(folder), folder, blocker)
        server.wait_warm()
        workbench = f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
        status = configure_extension(browser, server.base, tenant.keys["agent"], tenant.shop_id,
                                     f"127.0.0.1:{httpd.server_address[1]}")
        assert status.startswith("连接正常"), status
        yield Rig(browser, server, tenant, workbench, blocker)
    finally:
        if browser is not None:
            browser.close()
            import shutil

            target = ARTIFACTS
            target.mkdir(parents=True, exist_ok=True)
            shutil.copytree(folder / "screenshots", target / "screenshots", dirs_exist_ok=True)
        server.stop()
        httpd.shutdown()
        blocker.close()
