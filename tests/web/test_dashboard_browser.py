"""The dashboard in a real browser: Debian's Chromium, headless, driven by Selenium against a live
server this module starts, with every request to a non-loopback address blocked (and recorded).

The story of issue 11: sign in → upload the bundled sample and wait for the audit → open a flagged
conversation and see the highlighted violation (rule, penalty, seed source, suggestion) → type a
diverting message into the pre-send checker and see the finding and the rewrite → add a shop word
and see the next check flag it → an agent cannot open another agent's conversation. Then every page
at 1280 px and 390 px (no horizontal scrolling, rendered in under a second), the keyboard and the
English switch, and the alerts page with a robot on loopback. No console errors anywhere (the one
expected 401/404 of a step excepted), and no request leaves the machine.

Screenshots: test-artifacts/web/ (ignored by git), copied from the module's pytest temp folder.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from tests.server.conftest import Tenant, make_tenant
from tests.web.browser import (
    NARROW,
    SAMPLE_FILES,
    SAMPLE_ORDERS,
    SAMPLE_REFUNDS,
    WIDE,
    Blocker,
    Browser,
    LiveServer,
    keep_artifacts,
    require_browser,
    upload_sample,
)

# pages render within this (the issue: "pages load in under a second on the sample data")
PAGE_MS = 1000
# what Chromium itself (not a page) may try to reach on its own: its vendor's services. Every one of
# them went to the dead proxy; the pages' own requests are checked separately (all loopback).
BROWSER_SERVICES = ("google.com", "googleapis.com", "gstatic.com", "gvt1.com", "gvt2.com", "duckduckgo.com",
                    "chromium.org")
SHANYE = "山野茶铺"  # a pinduoduo shop of the sample, with a diverting agent (老周)


class _Robot(BaseHTTPRequestHandler):
    """A 企业微信 group robot on loopback: answers errcode 0, keeps what it was sent."""

    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            self.received.append(json.loads(body))
        except ValueError:
            self.received.append({"raw": body.decode("utf-8", "replace")})
        payload = b'{"errcode":0,"errmsg":"ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Site:
    live: LiveServer
    browser: Browser
    blocker: Blocker
    tenant: Tenant
    other: Tenant
    robot_url: str
    agent_keys: dict[str, str] = field(default_factory=dict)

    @property
    def b(self) -> Browser:
        return self.browser

    def api(self, method: str, path: str, role: str = "supervisor", **kwargs: Any) -> Any:
        key = self.tenant.keys.get(role, role)
        r = httpx.request(method, self.live.base + path, headers={"X-API-Key": key}, timeout=30, **kwargs)
        assert r.status_code < 400, r.text
        return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else r

    def ensure_sample(self) -> None:
        if not self.api("GET", "/v1/audits?status=done&limit=1")["items"]:
            upload_sample(self.live.base, self.tenant.keys["supervisor"])

    def shop(self, name: str) -> dict:
        return next(s for s in self.api("GET", "/v1/shops")["items"] if s["name"] == name)

    def agent_id(self, external_id: str) -> int:
        agents = self.api("GET", "/v1/agents?limit=500")["items"]
        return next(a["id"] for a in agents if a["external_id"] == external_id)

    def agent_key(self, external_id: str) -> str:
        """An agent key for an agent of the sample (created once)."""
        if external_id not in self.agent_keys:
            from kefuguard.storage.keys import create_api_key

            with self.live.db.session(immediate=True) as s:
                self.agent_keys[external_id] = create_api_key(s, self.tenant.id, "agent", self.agent_id(external_id),
                                                              label=external_id)[1]
        return self.agent_keys[external_id]

    def assert_clean(self, allow: tuple[str, ...] = ()) -> None:
        """No console errors (but the allowed ones), no request of the pages to anything but the server,
        and nothing but the browser's own services knocking on the dead proxy."""
        errors = self.b.errors(allow)
        assert not errors, f"console errors: {errors}"
        external = self.b.external_requests()
        assert not external, f"the pages requested non-loopback addresses: {external}"
        foreign = [a for a in self.blocker.attempts if not any(host in a for host in BROWSER_SERVICES)]
        assert not foreign, f"requests to non-loopback addresses were attempted: {foreign}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    folder = tmp_path_factory.mktemp("dashboard")
    robot = ThreadingHTTPServer(("127.0.0.1", 0), _Robot)
    threading.Thread(target=robot.serve_forever, daemon=True).start()
    blocker = Blocker()
    live = LiveServer.start(folder, webhook_hosts=("127.0.0.1",))  # the robot below is on loopback
    browser = None
    try:
        tenant = make_tenant(live.db, "演示公司", shop="示例店")
        other = make_tenant(live.db, "别家公司", shop="别家店")
        browser = Browser.start(live.base, folder, blocker)
        browser.check_block_and_reset()
        live.wait_warm()
        yield Site(live, browser, blocker, tenant, other, f"http://127.0.0.1:{robot.server_address[1]}/cgi-bin/webhook/send")
    finally:
        if browser is not None:
            browser.close()
            keep_artifacts(folder, "dashboard")
        live.stop()
        blocker.close()
        robot.shutdown()


def _by_id(site: Site, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return site.b.driver.find_element(By.ID, element_id)


def _all(site: Site, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return site.b.driver.find_elements(By.CSS_SELECTOR, css)


def _type(element: Any, text: str) -> None:
    element.clear()
    element.send_keys(text)


def _checker_result(site: Site, text: str, shop_id: int) -> dict:
    """Type into the pre-send checker (as a person would: key by key) and wait for its verdict."""
    b = site.b
    b.open(f"#/check?shop_id={shop_id}", "check")
    box = _by_id(site, "check-text")
    box.clear()
    box.send_keys(text)
    b.wait(lambda: _by_id(site, "check-status").get_attribute("data-state") in ("ok", "bad", "error"), 10, "the check")
    state = _by_id(site, "check-status").get_attribute("data-state")
    rules = [li.get_attribute("data-rule") for li in _all(site, "#check-findings li.finding")]
    marks = [m.text for m in _all(site, "#check-preview mark.violation")]
    return {"state": state, "rules": rules, "marks": marks}


# ---------------------------------------------------------------------------- the story
def test_supervisor_story_and_agent_boundary(site: Site) -> None:
    b = site.b
    b.size(WIDE)

    # sign in: a wrong key is refused with the API's message, the supervisor's key lands on the overview
    b.load("#/login", "login")
    b.screenshot("01-sign-in")
    _type(_by_id(site, "api-key"), "kg_not_a_real_key")
    _by_id(site, "login-submit").click()
    b.wait(lambda: _by_id(site, "login-error").is_displayed(), 10, "the sign-in error")
    assert "密钥无效" in _by_id(site, "login-error").text
    site.assert_clean(allow=(r"/v1/me - Failed to load resource: the server responded with a status of 401",))
    n = b.renders()
    _type(_by_id(site, "api-key"), site.tenant.keys["supervisor"])
    _by_id(site, "login-submit").click()
    b.wait_render(n, "overview")
    assert b.js("return sessionStorage.getItem('kefuguard.key')") == site.tenant.keys["supervisor"]
    assert site.tenant.keys["supervisor"] not in b.driver.current_url

    # upload the bundled sample (all three chat files, and its order and after-sales exports), watch the
    # progress bar, wait for the audit
    b.open("#/upload", "upload")
    b.js("""window.__phases = [];
            new MutationObserver(() => { const p = document.querySelector('#upload-progress');
              if (p) window.__phases.push([p.dataset.phase, p.getAttribute('aria-valuenow')]); })
              .observe(document.querySelector('#main'), {subtree: true, attributes: true,
                                                           attributeFilter: ['data-phase', 'aria-valuenow']});""")
    _by_id(site, "upload-files").send_keys("\n".join(str(p) for p in SAMPLE_FILES))
    _by_id(site, "upload-orders").send_keys("\n".join(str(p) for p in SAMPLE_ORDERS))
    _by_id(site, "upload-refunds").send_keys("\n".join(str(p) for p in SAMPLE_REFUNDS))
    n = b.renders()
    _by_id(site, "upload-submit").click()
    b.wait(lambda: b.renders() > n and _all(site, "#run-summary[data-status='done']"), 180, "the audit of the sample")
    phases = [p for p, _ in b.js("return window.__phases") or []]
    assert "upload" in phases and ({"audit", "queued", "done"} & set(phases)), phases
    run_id = int(_by_id(site, "run-summary").get_attribute("data-run"))
    run = site.api("GET", f"/v1/audits/{run_id}")
    rows = _all(site, "#import-summary tbody tr")
    assert [r.find_element("css selector", "td").text for r in rows] == [p.name for p in SAMPLE_FILES]
    imports = run["summary"]["imports"]
    assert imports["read"] == imports["accepted"] + imports["duplicates"] + imports["rejected"]
    totals = _by_id(site, "import-totals").text
    assert str(imports["read"]) in totals and str(imports["rejected"]) in totals
    assert run["summary"]["kpis"]["imports"]["orders"]["accepted"] == 518  # sample/commerce/README.md: 257 + 261
    assert len(_all(site, "#kpi-imports tbody tr")) == 2 and _all(site, "#open-kpis")
    b.screenshot("02-upload-done")
    _by_id(site, "download-rejects").click()
    rejects = b.downloaded(r"^rejects.*\.csv$").read_text(encoding="utf-8-sig").strip().splitlines()
    assert len(rejects) == 1 + imports["rejected"], rejects  # a header and the rejected rows
    site.assert_clean()

    # the overview of that audit: metrics against thresholds (both colours), categories, exposure
    b.open(f"#/overview?run_id={run_id}&period=all", "overview")
    assert _all(site, "#metrics-table .status-ok") and _all(site, "#metrics-table .status-bad")
    assert _all(site, "#chart-categories svg") and _all(site, "#chart-trend svg")
    assert len(_all(site, "#exposure-table tbody tr")) == len(run["summary"]["exposure"])
    b.screenshot("03-overview")

    # a flagged conversation: the violation highlighted inline, with rule, penalty, source, suggestion
    b.open("#/conversations?category=diversion&platform=pinduoduo", "conversations")
    links = _all(site, "#conversation-list a.conv-link")
    assert links, "no conversation with a diversion finding"
    n = b.renders()
    links[0].click()
    b.wait_render(n, "conversation")
    marks = _all(site, "#chat mark.violation")
    assert marks, "no highlighted violation in the conversation"
    rule = marks[0].get_attribute("data-rule")
    card = _all(site, f".finding[data-rule='{rule}']")[0]
    assert card.find_element("css selector", ".penalty").text.strip()
    assert card.find_element("css selector", ".source blockquote").text.strip()
    assert card.find_element("css selector", ".source cite").text.strip().endswith(".txt")
    assert card.find_element("css selector", ".suggestion").text.strip()
    assert marks[0].text == card.find_element("css selector", ".matched").text
    assert _all(site, "#chat .gap")  # reply gaps between buyer and agent
    b.screenshot("04-flagged-conversation")
    conversation_id = int(b.driver.current_url.rsplit("/", 1)[1])
    site.assert_clean()

    # the pre-send checker: a diverting message is flagged, and the rewrite is one click away
    shop = site.shop(SHANYE)
    before = _checker_result(site, "去竞品店看看吧", shop["id"])
    assert before["state"] == "ok", before
    result = _checker_result(site, "亲，加我微信发你优惠券", shop["id"])
    assert result["state"] == "bad" and "common.diversion.wechat" in result["rules"], result
    assert "微信" in "".join(result["marks"])
    rewrite = _by_id(site, "rewrite-text").text
    assert rewrite and "微信" not in rewrite
    b.screenshot("05-pre-send-check")
    _by_id(site, "use-rewrite").click()
    b.wait(lambda: _by_id(site, "check-text").get_attribute("value") == rewrite, 5, "the rewrite in the box")
    b.wait(lambda: _by_id(site, "check-status").get_attribute("data-state") == "ok", 10, "the rewrite checked clean")
    site.assert_clean()

    # a shop word, added in the shop's settings, flags the very next check
    b.open(f"#/settings?shop_id={shop['id']}", "settings")
    version = site.api("GET", f"/v1/shops/{shop['id']}/settings")["version"]
    _type(_by_id(site, "word-text"), "竞品店")
    _type(_by_id(site, "word-tags"), "竞品")
    _by_id(site, "word-add").click()
    n = b.renders()
    _by_id(site, "settings-save").click()
    b.wait_render(n, "settings")
    assert site.api("GET", f"/v1/shops/{shop['id']}/settings")["version"] == version + 1
    assert [li.get_attribute("data-word") for li in _all(site, "#word-list li.word")] == ["竞品店"]
    b.screenshot("06-shop-word")
    after = _checker_result(site, "去竞品店看看吧", shop["id"])
    assert after["state"] == "bad" and any(r.startswith("shop.") for r in after["rules"]), after
    assert after["marks"] == ["竞品店"]
    b.screenshot("07-shop-word-flagged")
    site.assert_clean()

    # an agent sees only their own conversations, and another agent's is "not found"
    mine, theirs = f"{SHANYE}:老周", f"{SHANYE}:茶茶"
    own = {c["id"] for c in site.api("GET", f"/v1/conversations?agent_id={site.agent_id(mine)}&limit=500")["items"]}
    foreign = [c["id"] for c in site.api("GET", f"/v1/conversations?agent_id={site.agent_id(theirs)}&limit=500")["items"]
               if c["id"] not in own]
    assert own and foreign
    b.sign_in(site.agent_key(mine), "check")
    nav = [a.get_attribute("id") for a in _all(site, "#nav a")]
    assert nav == ["nav-conversations", "nav-check", "nav-scripts", "nav-quiz", "nav-rules"], nav
    b.open("#/conversations", "conversations")
    shown = {int(r.get_attribute("data-id")) for r in _all(site, "#conversation-list tr.conv-row")}
    assert shown and shown <= own
    b.open(f"#/conversations/{foreign[0]}", "conversation")
    box = _all(site, ".error-box")[0]
    assert box.get_attribute("data-status") == "404" and _by_id(site, "not-yours").is_displayed()
    assert not _all(site, "#chat")
    b.screenshot("08-agent-cannot-open")
    site.assert_clean(allow=(rf"/v1/conversations/{foreign[0]} - Failed to load resource: .* 404",))
    b.open("#/overview", "overview")  # a supervisor page: refused in the page, no request made
    assert _all(site, ".error-box")[0].get_attribute("data-status") == "403"
    # the supervisor's flagged conversation is the agent's only if they took part in it
    b.open(f"#/conversations/{conversation_id}", "conversation")
    assert bool(_all(site, "#chat")) == (conversation_id in own)
    site.assert_clean(allow=(rf"/v1/conversations/{conversation_id} - Failed to load resource: .* 404",))
    b.sign_out()


# ---------------------------------------------------------------------------- layout and speed
PAGES = ("#/overview", "#/overview?period=day", "#/agents", "AGENT", "#/kpis", "#/conversations",
         "#/conversations?flagged=true", "CONVERSATION", "#/rules", "#/settings", "#/check", "#/scripts?q=发票怎么开",
         "#/quiz", "#/upload", "#/alerts")


def test_every_page_at_1280_and_390_pixels(site: Site) -> None:
    site.ensure_sample()
    b = site.b
    agent = site.agent_id(f"{SHANYE}:老周")
    flagged = site.api("GET", "/v1/conversations?category=diversion&limit=1")["items"][0]["id"]
    timings: dict[str, list[int]] = {}
    for width in (WIDE, NARROW):
        b.size(width)
        b.sign_in(site.tenant.keys["admin"], "overview")
        # a full load of a page, from the request to the drawn page (scripts, API calls, charts)
        started = b.load("#/overview", "overview")
        full = b.js("const nav = performance.getEntriesByType('navigation')[0]; "
                    "return Math.round(KG.timings[0].at - nav.startTime)")
        timings.setdefault("full load of #/overview", []).append(full)
        assert full < PAGE_MS and started["ms"] < PAGE_MS, (full, started)
        for page in PAGES:
            target = {"AGENT": f"#/agents/{agent}", "CONVERSATION": f"#/conversations/{flagged}"}.get(page, page)
            entry = b.open(target)
            timings.setdefault(target, []).append(entry["ms"])
            assert entry["ms"] < PAGE_MS, (target, entry)
            assert b.overflow() <= 0, f"{target} scrolls sideways at {width[0]} px"
            assert not _all(site, ".error-box:not([hidden])"), target
            name = target.strip("#/").replace("/", "-").replace("?", "_").replace("=", "-").replace("&", "_")
            b.screenshot(f"{width[0]}px-{name}")
        if width == NARROW:
            menu = _by_id(site, "menu-toggle")
            assert menu.is_displayed() and not _by_id(site, "nav").is_displayed()
            menu.click()
            assert _by_id(site, "nav").is_displayed() and menu.get_attribute("aria-expanded") == "true"
            n = b.renders()
            _by_id(site, "nav-rules").click()
            b.wait_render(n, "rules")
            assert not _by_id(site, "nav").is_displayed()
    (b.shots / "timings.json").write_text(json.dumps(timings, indent=1), encoding="utf-8")
    site.assert_clean()
    b.size(WIDE)


# ---------------------------------------------------------------------------- keyboard, language
def test_keyboard_and_english(site: Site) -> None:
    from selenium.webdriver.common.keys import Keys

    site.ensure_sample()
    b = site.b
    b.size(WIDE)
    b.load("#/login")
    b.sign_out()
    active = lambda: b.js("return document.activeElement")  # noqa: E731

    # sign in with the keyboard only: the key box has the focus, Enter submits
    assert active().get_attribute("id") == "api-key"
    n = b.renders()
    active().send_keys(site.tenant.keys["supervisor"] + Keys.ENTER)
    b.wait_render(n, "overview")

    def tab_to(predicate: Any, limit: int = 80, key: str = Keys.TAB) -> Any:
        for _ in range(limit):
            active().send_keys(key)
            element = active()
            if predicate(element):
                return element
        raise AssertionError("not reachable with Tab")

    # the page's heading has the focus; the skip link is before it, and Enter on it lands in the page
    assert active().tag_name == "h1"
    tab_to(lambda e: e.get_attribute("id") == "skip-link", key=Keys.SHIFT + Keys.TAB)
    active().send_keys(Keys.ENTER)
    assert active().get_attribute("id") == "main"
    # the navigation is reachable and Enter follows a link
    tab_to(lambda e: e.get_attribute("id") == "nav-conversations", key=Keys.SHIFT + Keys.TAB)
    n = b.renders()
    active().send_keys(Keys.ENTER)
    b.wait_render(n, "conversations")
    assert active().tag_name == "h1"  # the focus moves to the new page's heading
    link = tab_to(lambda e: "conv-link" in (e.get_attribute("class") or ""))
    n = b.renders()
    link.send_keys(Keys.ENTER)
    b.wait_render(n, "conversation")
    # filters and rows are reachable; so are the highlighted violations of a flagged conversation
    flagged = site.api("GET", "/v1/conversations?category=diversion&limit=1")["items"][0]["id"]
    b.open(f"#/conversations/{flagged}", "conversation")
    mark = tab_to(lambda e: e.tag_name == "mark")
    assert mark.get_attribute("aria-describedby") and mark.get_attribute("data-rule")

    # the period switch of the overview works with the arrow keys (a radio group)
    b.open("#/overview?period=week", "overview")
    radio = tab_to(lambda e: e.get_attribute("name") == "period")
    n = b.renders()
    radio.send_keys(Keys.ARROW_RIGHT)
    b.wait_render(n, "overview")
    assert "period=all" in b.driver.current_url

    # English at a keypress, every word translated; and back
    assert set(b.js("return Object.keys(KG.STRINGS.zh)")) <= set(b.js("return Object.keys(KG.STRINGS.en)"))
    toggle = _by_id(site, "lang-toggle")
    n = b.renders()
    toggle.send_keys(Keys.ENTER)
    b.wait_render(n, "overview")
    assert b.js("return document.documentElement.lang") == "en"
    assert _by_id(site, "nav-overview").text == "Overview" and _by_id(site, "nav-check").text == "Pre-send check"
    b.screenshot("09-english-overview")
    n = b.renders()
    _by_id(site, "lang-toggle").send_keys(Keys.ENTER)
    b.wait_render(n, "overview")
    assert _by_id(site, "nav-overview").text == "概览"
    site.assert_clean()


# ---------------------------------------------------------------------------- alerts, Excel
def test_alerts_page_and_excel_export(site: Site) -> None:
    b = site.b
    b.size(WIDE)
    b.sign_in(site.tenant.keys["admin"], "overview")
    b.open("#/alerts", "alerts")
    _type(_by_id(site, "hook-name"), "质检群")
    _type(_by_id(site, "hook-url"), site.robot_url + "?key=test")
    n = b.renders()
    _by_id(site, "hook-add").click()
    b.wait_render(n, "alerts")
    rows = _all(site, "#webhook-list tbody tr")
    assert len(rows) == 1 and "质检群" in rows[0].text and "test" not in rows[0].text  # the key is redacted

    # a draft typed in the pre-send checker raises no alert; a sent message's check does, and the
    # delivery is listed
    _checker_result(site, "加我微信，私下转账给你便宜", site.tenant.shop_id)
    site.api("POST", "/v1/check", "agent", json={"shop_id": site.tenant.shop_id, "text": "加我微信，私下转账给你便宜"})

    def delivered() -> bool:
        b.open("#/alerts", "alerts")
        return any("已发送" in r.text for r in _all(site, "#delivery-list tbody tr"))

    b.wait(delivered, 20, "a sent delivery")
    assert _Robot.received, "the robot got nothing"
    b.screenshot("10-alerts")

    # any list to Excel: the deliveries, and a conversation list with its filters
    _by_id(site, "export-deliveries").click()
    assert b.downloaded(r"^kefuguard-deliveries-.*\.xlsx$").read_bytes()[:2] == b"PK"
    b.open("#/conversations", "conversations")
    _by_id(site, "export-conversations").click()
    book = b.downloaded(r"^kefuguard-conversations-.*\.xlsx$")
    from openpyxl import load_workbook

    sheet = load_workbook(book, read_only=True).active
    header = next(sheet.iter_rows(values_only=True))
    assert header[:3] == ("编号", "会话ID", "平台")
    site.assert_clean()


# ---------------------------------------------------------------------------- tone, scripts, quiz (issue 12)
COLD = "您自己看详情页吧"  # no rule flags it; its tone is 高冷


def _wait_scripts(site: Site, prefix: str) -> list[Any]:
    site.b.wait(lambda: _by_id(site, f"{prefix}-status").get_attribute("data-state") in ("found", "none", "error"), 15,
                "the script search")
    assert _by_id(site, f"{prefix}-status").get_attribute("data-state") == "found", _by_id(site, f"{prefix}-status").text
    return _all(site, f"#{prefix}-results li.script")


def test_tone_check_and_script_search(site: Site) -> None:
    from selenium.webdriver.common.keys import Keys

    site.ensure_sample()
    b = site.b
    b.size(WIDE)
    b.sign_in(site.agent_key(f"{SHANYE}:老周"), "check")
    shop = site.shop(SHANYE)
    try:
        # 语气检查: off, a cold reply passes the rules; on (with the keyboard), the tone is flagged
        assert not _by_id(site, "check-tone").is_selected()
        assert _checker_result(site, COLD, shop["id"])["state"] == "ok"
        _by_id(site, "check-tone").send_keys(Keys.SPACE)
        b.wait(lambda: _all(site, "#check-tone-result[data-rude='true']"), 20, "the tone verdict (the model loads once)")
        result = _checker_result(site, COLD, shop["id"])
        assert result["state"] == "bad" and result["rules"] == ["semantic.tone.cold"], result
        badge = _by_id(site, "check-tone-result")
        assert badge.get_attribute("data-category") == "cold" and "高冷" in badge.text
        assert _all(site, "#check-findings li.finding .suggestion")  # the standard phrasing to use instead
        b.screenshot("11-tone-check")

        # the 话术 search on the checker: a compliant script for the buyer's question, one click into the box
        box = _by_id(site, "check-script-q")
        box.send_keys("发票怎么开" + Keys.ENTER)
        scripts = _wait_scripts(site, "check-script")
        first = scripts[0]
        text = first.find_element("css selector", ".script-text").text
        assert "发票" in text and first.find_element("css selector", ".source cite").text.endswith(".txt")
        first.find_element("css selector", ".script-use").send_keys(Keys.ENTER)
        b.wait(lambda: _by_id(site, "check-text").get_attribute("value") == text, 5, "the script in the box")
        b.wait(lambda: _by_id(site, "check-status").get_attribute("data-state") == "ok", 20, "the script checked clean")
        assert _by_id(site, "check-tone-result").get_attribute("data-rude") == "false"
        b.screenshot("12-script-into-checker")
        _by_id(site, "check-tone").click()  # off again (the choice is remembered in the browser)
        assert b.js("return localStorage.getItem('kefuguard.tone')") == "0"

        # the script library's own page: searched from the address, each script with its source
        b.open(f"#/scripts?shop_id={shop['id']}&q=" + "买家骂人怎么办", "scripts")
        scripts = _wait_scripts(site, "script")
        assert any(s.get_attribute("data-kind") == "abusive_step" for s in scripts)
        assert all(s.find_element("css selector", ".source blockquote").text.strip() for s in scripts)
        b.screenshot("13-scripts")
        target = scripts[0].find_element("css selector", ".script-text").text
        n = b.renders()
        scripts[0].find_element("css selector", ".script-use").click()
        b.wait_render(n, "check")
        b.wait(lambda: _by_id(site, "check-text").get_attribute("value") == target, 5, "the script in the checker")
        b.wait(lambda: _by_id(site, "check-status").get_attribute("data-state") in ("ok", "bad"), 15, "its check")
    finally:
        b.js("localStorage.removeItem('kefuguard.tone')")
    site.assert_clean()


def test_agent_takes_the_quiz_and_the_supervisor_sees_the_score(site: Site) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    from kefuguard.quiz import build_quiz

    site.ensure_sample()
    b = site.b
    b.size(NARROW)  # an agent on a phone
    agent = f"{SHANYE}:茶茶"
    b.sign_in(site.agent_key(agent), "check")
    b.open("#/quiz", "quiz")
    assert "还没有成绩" in _by_id(site, "quiz-results").text
    Select(_by_id(site, "quiz-platform")).select_by_value("douyin")
    Select(_by_id(site, "quiz-generated")).select_by_value("3")
    _by_id(site, "quiz-start").send_keys(Keys.ENTER)
    b.wait(lambda: _all(site, "#quiz-questions fieldset.quiz-q"), 15, "the questions")
    form = _by_id(site, "quiz-questions")
    quiz = build_quiz("douyin", generated=3, seed=int(form.get_attribute("data-seed")))
    boxes = _all(site, "#quiz-questions fieldset.quiz-q")
    assert [x.get_attribute("data-qid") for x in boxes] == [q.id for q in quiz.questions]
    # answered with the keyboard only (Space on each option); the first question wrong on purpose
    for i, q in enumerate(quiz.questions):
        letters = q.answer_text() if i else next(x for x in q.letters if x not in q.answer)
        for letter in letters:
            _by_id(site, f"q-{q.id}-{letter}").send_keys(Keys.SPACE)
    total = len(quiz.questions)
    assert _by_id(site, "quiz-progress").text.startswith(f"已答 {total} / {total}")
    assert b.overflow() <= 0
    b.screenshot("14-quiz-answered-390px")
    _by_id(site, "quiz-submit").send_keys(Keys.ENTER)
    b.wait(lambda: _all(site, "#quiz-result"), 15, "the score")
    card = _by_id(site, "quiz-result")
    assert (card.get_attribute("data-score"), card.get_attribute("data-total")) == (str(total - 1), str(total))
    percent = round(100 * (total - 1) / total, 1)
    assert card.get_attribute("data-percent") == str(percent)
    assert b.js("return document.activeElement.id") == "quiz-result"  # the score is announced
    assert _all(site, "#quiz-questions fieldset.quiz-wrong") and len(_all(site, "#quiz-questions fieldset.quiz-right")) == total - 1
    assert _all(site, "#quiz-questions .quiz-feedback cite")  # each question's source
    b.wait(lambda: _all(site, "#quiz-results tr.quiz-row"), 10, "my results")
    assert [r.get_attribute("data-percent") for r in _all(site, "#quiz-results tr.quiz-row")] == [str(percent)]
    assert b.overflow() <= 0
    b.screenshot("15-quiz-score-390px")
    site.assert_clean()

    # the supervisor sees the score among the agents' scores
    b.size(WIDE)
    b.sign_in(site.tenant.keys["supervisor"], "overview")
    b.open("#/quiz", "quiz")
    rows = {r.get_attribute("data-agent"): r for r in _all(site, "#quiz-agents tr.quiz-agent-row")}
    assert agent in rows and rows[agent].get_attribute("data-percent") == str(percent)
    assert f"{percent:.1f}%" in rows[agent].text
    b.screenshot("16-quiz-per-agent")
    n = b.renders()
    rows[agent].find_element("css selector", "a.quiz-agent-link").click()
    b.wait_render(n, "quiz")
    listed = _all(site, "#quiz-results tr.quiz-row")
    assert listed and {r.get_attribute("data-agent") for r in listed} == {agent}
    # another tenant's supervisor sees none of it
    b.sign_in(site.other.keys["supervisor"], "overview")
    b.open("#/quiz", "quiz")
    assert not _all(site, "#quiz-agents tr.quiz-agent-row") and not _all(site, "#quiz-results tr.quiz-row")
    site.assert_clean()
