"""The extension in Debian's Chromium (issue 14): configured through its options page, on a mock
workbench served on loopback, against a live kefuguard server.

Typing a diverting message shows the finding (rule, penalty, suggestion, the span); Enter is held
once on a critical finding (仍要发送 / 使用改写); the rewrite replaces the text; a clean message, and
one with only lesser findings, sends at once; only the typed text and the shop id reach the server,
nothing reaches anything else, nothing is written to the page's console; and with the server
stopped, sending still works and the extension says it is offline (the last test: it stops the
module's server).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.extension.conftest import Rig

DIVERTING = "加我微信 abc123"
REWRITTEN = "平台客服 ab**23"
CLEAN = "亲，今天下单明天就发货哦"
MAJOR_ONLY = "这是全网最低价"
# what Chromium itself (not the extension or the page) may try to reach: its vendor's services
BROWSER_SERVICES = ("google.com", "googleapis.com", "gstatic.com", "gvt1.com", "gvt2.com", "chromium.org",
                    "duckduckgo.com")


def _by(rig: Rig, css: str) -> Any:
    from selenium.webdriver.common.by import By

    return rig.driver.find_element(By.CSS_SELECTOR, css)


def _open(rig: Rig) -> None:
    rig.driver.get(rig.workbench)
    rig.browser.wait(lambda: rig.browser.js("return document.readyState") == "complete", 10, "the workbench")


def _type(rig: Rig, box_css: str, text: str) -> Any:
    box = _by(rig, box_css)
    box.click()
    box.send_keys(text)
    rig.typed.append(text)
    return box


def _panel(rig: Rig) -> Any:
    return _by(rig, "kefuguard-assist")


def _state(rig: Rig) -> str | None:
    try:
        panel = _panel(rig)
    except Exception:
        return None
    return panel.get_attribute("data-state") if panel.is_displayed() else None


def _wait_state(rig: Rig, *states: str, timeout: float = 10) -> str:
    return rig.browser.wait(lambda: _state(rig) in states and _state(rig), timeout, f"the panel to show {states}")


def _in_panel(rig: Rig, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return _panel(rig).shadow_root.find_elements(By.CSS_SELECTOR, css)


def _sent(rig: Rig) -> list[str]:
    return rig.browser.js("return window.__sent.map(s => s.text)")


def _enter(box: Any) -> None:
    from selenium.webdriver.common.keys import Keys

    box.send_keys(Keys.ENTER)


def _box_text(rig: Rig, css: str) -> str:
    return rig.browser.js("const b = document.querySelector(arguments[0]);"
                          "return (b.tagName === 'TEXTAREA' ? b.value : b.innerText).trim()", css)


# ---------------------------------------------------------------------------- the story
def test_options_page_stores_the_settings_out_of_the_pages_reach(rig: Rig) -> None:
    b = rig.browser
    b.driver.get(f"chrome-extension://{b.extension_id}/options.html")
    b.wait(lambda: b.js("return document.body.dataset.ready") == "1", 10, "the options page")
    stored = b.driver.execute_async_script(
        "const done = arguments[0]; chrome.storage.local.get('settings').then(got => done(got.settings));")
    assert stored["serverUrl"] == rig.server.base
    assert stored["apiKey"] == rig.tenant.keys["agent"]
    assert stored["shopId"] == str(rig.tenant.shop_id)
    pdd = next(s for s in stored["sites"] if s["id"] == "pinduoduo")
    assert pdd["hosts"][0] == "mms.pinduoduo.com" and pdd["hosts"][1].startswith("127.0.0.1:")
    defaults = {s["id"]: s["hosts"] for s in stored["sites"]}
    assert "im.jinritemai.com" in defaults["douyin"] and "*.taobao.com" in defaults["qianniu"]
    assert "dongdong.jd.com" in defaults["jd"] and "s.kwaixiaodian.com" in defaults["kuaishou"]
    b.screenshot("01-options")

    # on the workbench, neither the page nor the panel holds the key
    _open(rig)
    _type(rig, "#reply", DIVERTING)
    _wait_state(rig, "bad")
    page = b.js("return document.documentElement.outerHTML + JSON.stringify(localStorage) + document.cookie")
    panel = b.js("return document.querySelector('kefuguard-assist').shadowRoot.innerHTML")
    assert rig.tenant.keys["agent"] not in page + panel
    assert b.js("return typeof chrome === 'undefined' || !chrome.storage")  # the page's own world


def test_diverting_message_shows_the_finding_and_enter_is_held_once(rig: Rig) -> None:
    b = rig.browser
    _open(rig)
    box = _type(rig, "#reply", DIVERTING)
    _wait_state(rig, "bad")
    rules = [li.get_attribute("data-rule") for li in _in_panel(rig, "li.finding")]
    assert "common.diversion.wechat" in rules, rules
    assert {li.get_attribute("data-severity") for li in _in_panel(rig, "li.finding")} == {"critical"}
    text = _panel(rig).shadow_root.find_element("css selector", ".panel").text
    for word in ("严重", "引导添加微信", "处罚：", "建议：", "改写：", REWRITTEN, "使用改写"):
        assert word in text, (word, text)
    marks = [m.text for m in _in_panel(rig, ".preview mark.sev-critical")]
    assert marks and marks[0].startswith("加我"), marks
    b.screenshot("02-finding")

    # Enter: held, and asked
    _enter(box)
    _wait_state(rig, "held")
    assert _sent(rig) == [] and _box_text(rig, "#reply") == DIVERTING
    hold = _in_panel(rig, ".hold")
    assert hold and "已暂停发送" in hold[0].text
    assert [btn.text for btn in _in_panel(rig, ".hold button")] == ["仍要发送", "使用改写"]
    b.screenshot("03-held")

    # Enter again: held once only, so it goes
    _enter(box)
    b.wait(lambda: _sent(rig) == [DIVERTING], 5, "the second Enter to send")
    b.wait(lambda: _state(rig) is None, 5, "the panel to go with the sent text")


def test_send_button_held_then_send_anyway(rig: Rig) -> None:
    b = rig.browser
    _open(rig)
    _type(rig, "#reply", "打我电话 138 0013 8000")
    _wait_state(rig, "bad")
    _by(rig, "#send").click()
    _wait_state(rig, "held")
    assert _sent(rig) == []
    next(btn for btn in _in_panel(rig, ".hold button") if btn.text == "仍要发送").click()
    b.wait(lambda: _sent(rig) == ["打我电话 138 0013 8000"], 5, "仍要发送 to send")


def test_rewrite_replaces_the_text_in_a_contenteditable_box(rig: Rig) -> None:
    b = rig.browser
    _open(rig)
    box = _type(rig, "#rich", DIVERTING)
    _wait_state(rig, "bad")
    # the flagged spans are highlighted inside the box itself (CSS Custom Highlight API)
    assert b.js("return CSS.highlights.has('kefuguard-critical')")
    assert b.js("return [...CSS.highlights.get('kefuguard-critical')].map(r => r.toString())")[0].startswith("加我")
    b.screenshot("04-contenteditable")
    _enter(box)
    _wait_state(rig, "held")
    next(btn for btn in _in_panel(rig, ".hold button") if btn.text == "使用改写").click()
    b.wait(lambda: _box_text(rig, "#rich") == REWRITTEN, 5, "the rewrite in the box")
    _wait_state(rig, "ok")
    assert _sent(rig) == []  # replaced, not sent: the agent sends it
    assert not b.js("return CSS.highlights.has('kefuguard-critical')")
    _enter(box)
    b.wait(lambda: _sent(rig) == [REWRITTEN], 5, "the rewrite to send")

    # the rewrite button of the findings list does the same in a textarea, without a send first
    box = _type(rig, "#reply", DIVERTING)
    _wait_state(rig, "bad")
    _in_panel(rig, ".rewrite button[data-action='use-rewrite']")[0].click()
    b.wait(lambda: _box_text(rig, "#reply") == REWRITTEN, 5, "the rewrite in the textarea")
    _wait_state(rig, "ok")


def test_clean_and_minor_messages_send_at_once(rig: Rig) -> None:
    b = rig.browser
    _open(rig)
    # a clean message, Enter before any check had time to run: it goes within the server's budget
    box = _type(rig, "#reply", CLEAN)
    started = time.monotonic()
    _enter(box)
    b.wait(lambda: _sent(rig) == [CLEAN], 5, "the clean message to send")
    assert time.monotonic() - started < 1.0

    # once checked, Enter is not touched at all: the page gets the real key press
    box = _type(rig, "#reply", CLEAN + "。")
    _wait_state(rig, "ok")
    _enter(box)
    b.wait(lambda: len(_sent(rig)) == 2, 2, "the checked clean message to send")
    assert b.js("return window.__lastKey.trusted") is True

    # lesser findings warn, and never hold
    box = _type(rig, "#reply", MAJOR_ONLY)
    _wait_state(rig, "warn")
    assert {li.get_attribute("data-severity") for li in _in_panel(rig, "li.finding")} == {"major"}
    assert "仅提醒" in _panel(rig).shadow_root.find_element("css selector", ".status").text
    b.screenshot("05-warn")
    _enter(box)
    b.wait(lambda: _sent(rig)[-1:] == [MAJOR_ONLY], 2, "the warned message to send")


def test_only_the_text_and_the_shop_reach_the_server_and_nothing_else_anywhere(rig: Rig) -> None:
    checks = rig.server.checks()
    assert checks, "no check reached the server"
    for request in checks:
        assert request["method"] == "POST"
        body = json.loads(request["body"])
        assert set(body) <= {"messages", "text", "shop_id", "rewrite", "draft"}, body
        assert body.get("draft") is True or body.get("text") == "您好", body  # typed text never raises alerts
        assert body["shop_id"] == rig.tenant.shop_id
        for m in body.get("messages", []):
            assert set(m) == {"id", "text"}, m
        texts = [m["text"] for m in body.get("messages", [])] + ([body["text"]] if "text" in body else [])
        # only what was typed (or a part of it while it was typed), the rewrite the agent chose, or
        # the options page's connection test
        for text in texts:
            assert text == "您好" or any(text and (text in t or t in text) for t in [*rig.typed, REWRITTEN]), text
        headers = request["headers"]
        assert headers.get("x-api-key") == rig.tenant.keys["agent"]
        assert "cookie" not in headers and "referer" not in headers, headers
        assert headers.get("origin", "").startswith("chrome-extension://"), headers
    foreign = [a for a in rig.blocker.attempts if not any(h in a for h in BROWSER_SERVICES)]
    assert not foreign, f"requests to non-loopback addresses: {foreign}"


def test_server_stopped_sending_still_works_and_it_says_offline(rig: Rig) -> None:
    """Stops the module's server: the last test of the module."""
    b = rig.browser
    rig.server.stop()
    _open(rig)
    box = _type(rig, "#reply", "请问还有别的问题吗")
    _wait_state(rig, "offline")
    assert "离线" in _panel(rig).shadow_root.find_element("css selector", ".status").text
    b.screenshot("06-offline")
    started = time.monotonic()
    _enter(box)
    b.wait(lambda: _sent(rig) == ["请问还有别的问题吗"], 2, "the message to send while offline")
    assert time.monotonic() - started < 1.0
    # even a message that would be held goes, by Enter and by the button
    box = _type(rig, "#reply", DIVERTING + "，谢谢")
    _enter(box)
    b.wait(lambda: _sent(rig)[-1:] == [DIVERTING + "，谢谢"], 2, "a diverting message to send while offline")
    _type(rig, "#rich", "好的亲")
    _by(rig, "#send-rich").click()
    b.wait(lambda: _sent(rig)[-1:] == ["好的亲"], 2, "the button to send while offline")


@pytest.fixture(autouse=True)
def _silent_console(rig: Rig) -> Iterator[None]:
    """Nothing in the pages' consoles during a test: neither the workbench's nor anything of the
    extension's (its content script shares the page's console)."""
    rig.browser.logs()
    rig.browser.console.clear()
    yield
    assert rig.browser.logs() == [], rig.browser.logs()


class _Slow(BaseHTTPRequestHandler):
    """A kefuguard that takes a second to answer (well past the extension's 300 ms)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(1.0)
        body = b'{"platform":"pinduoduo","shop_id":null,"settings_version":null,"results":[]}'
        with contextlib.suppress(OSError):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_slow_server_never_holds_a_send(rig: Rig) -> None:
    """Points the extension at a server slower than 300 ms (through the options page): typing and
    sending go on, the panel says it is offline. Changes the module's settings: kept last."""
    from selenium.webdriver.common.by import By

    b = rig.browser
    slow = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    try:
        b.driver.get(f"chrome-extension://{b.extension_id}/options.html")
        b.wait(lambda: b.js("return document.body.dataset.ready") == "1", 10, "the options page")
        url = b.driver.find_element(By.ID, "server-url")
        url.clear()
        url.send_keys(f"http://127.0.0.1:{slow.server_address[1]}")
        b.driver.find_element(By.ID, "save").click()
        b.wait(lambda: b.driver.find_element(By.ID, "status").get_attribute("data-state") == "ok", 10, "the save")

        _open(rig)
        box = _type(rig, "#reply", DIVERTING + "哦")
        started = time.monotonic()
        _enter(box)  # not checked yet: waits for the check, which gives up after 300 ms
        b.wait(lambda: _sent(rig) == [DIVERTING + "哦"], 3, "the message to send past the slow server")
        assert time.monotonic() - started < 1.0
        box = _type(rig, "#reply", "稍等，我帮您查一下")
        _wait_state(rig, "offline")
        assert "300 ms" in _panel(rig).shadow_root.find_element("css selector", ".status").text
        started = time.monotonic()
        _enter(box)
        b.wait(lambda: _sent(rig)[-1:] == ["稍等，我帮您查一下"], 2, "the next message to send at once")
        assert time.monotonic() - started < 0.5
    finally:
        slow.shutdown()
