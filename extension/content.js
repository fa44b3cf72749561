// kefuguard 发送前检查 — the content script, in the watched workbench pages (an isolated world: the
// page's scripts cannot see its variables).
//
// It finds the reply box (the site's selectors, then textarea / contenteditable), sends the typed
// text to the background worker as the agent types (debounced), and shows the findings next to the
// box: rule, penalty, suggestion, the flagged spans (in the box itself where it is contenteditable,
// through the CSS Custom Highlight API, which leaves the page's DOM alone), and the rewrite with a
// one-click replacement. On send (Enter or the send button) a critical finding holds the send once
// and asks (仍要发送 / 使用改写); lesser findings only warn. When the server is down, slow or
// misconfigured it says so and steps aside: typing and sending are never held for it.
//
// It never reads the API key (the background holds it), sends nothing but the text, and writes
// nothing to the page's console (every handler swallows its own errors).

(() => {
  "use strict";

  if (globalThis.__kefuguardAssist) return;
  globalThis.__kefuguardAssist = true;

  const DEBOUNCE_MS = 250; // after the last keystroke
  const SEND_WAIT_MS = 450; // the longest a send waits for an unchecked text (the server itself gets 300 ms)
  const SYNC_MS = 400; // how often the active box is compared with what was checked (pages clear it silently)
  const SEVERITY_ZH = { critical: "严重", major: "较重", minor: "轻微", info: "提示" };
  const SEVERITY_RANK = { critical: 3, major: 2, minor: 1, info: 0 };
  const SEND_LABEL = /^(发送|發送|send|发送消息|发送\(s\)|发送\(enter\)|发送\(ctrl\+enter\))$/i;
  const BUTTONISH = "button, [role='button'], input[type='button'], input[type='submit'], a, [class*='send' i], [id*='send' i]";
  const BLOCKS = new Set(["DIV", "P", "LI", "UL", "OL", "PRE", "BLOCKQUOTE", "H1", "H2", "H3", "H4", "H5", "H6", "TABLE", "TR"]);
  const HIGHLIGHTS = ["critical", "major", "minor", "info"].map((s) => `kefuguard-${s}`);

  let config = null; // from the background: { enabled, site, boxSelectors, sendSelectors, configured }
  let server = { state: "idle", message: "" }; // idle | ok | offline | error | unconfigured
  let active = null; // the reply box being watched
  let bypass = false; // true while the extension itself replays a send
  let ui = null;
  let syncTimer = null;
  const states = new WeakMap();

  const quiet = (fn) => (...args) => {
    try {
      return fn(...args);
    } catch {
      return undefined; // never in the page's console
    }
  };

  // ---------------------------------------------------------------- the background
  function ask(message, timeoutMs) {
    return new Promise((resolve) => {
      let done = false;
      const finish = (value) => {
        if (!done) {
          done = true;
          resolve(value);
        }
      };
      if (timeoutMs) setTimeout(() => finish(null), timeoutMs);
      try {
        if (!chrome.runtime || !chrome.runtime.id) {
          finish(null); // the extension was reloaded or removed: this script is an orphan
          return;
        }
        chrome.runtime.sendMessage(message, (response) => {
          finish(chrome.runtime.lastError ? null : response || null);
        });
      } catch {
        finish(null);
      }
    });
  }

  // ---------------------------------------------------------------- reply boxes and their text
  function state(box) {
    let st = states.get(box);
    if (!st) {
      st = { timer: null, seq: 0, text: null, result: null, checking: null, confirmed: null, waiting: false,
        held: null, dismissed: null };
      states.set(box, st);
    }
    return st;
  }

  function editableRoot(el) {
    if (el instanceof HTMLTextAreaElement) return el.disabled || el.readOnly ? null : el;
    if (el.isContentEditable) {
      let root = el;
      while (root.parentElement && root.parentElement.isContentEditable) root = root.parentElement;
      return root;
    }
    const inner = el.querySelector("textarea, [contenteditable='true'], [contenteditable='plaintext-only'], [contenteditable='']");
    return inner ? editableRoot(inner) : null;
  }

  function boxOf(node) {
    if (!config || !config.enabled || !(node instanceof Element)) return null;
    if (ui && (node === ui.host || ui.host.contains(node))) return null;
    for (const selector of config.boxSelectors) {
      let el = null;
      try {
        el = node.closest(selector);
      } catch {
        continue; // a bad selector in the options
      }
      if (el) {
        const root = editableRoot(el);
        if (root) return root;
      }
    }
    return null;
  }

  function eventTarget(event) {
    const path = event.composedPath ? event.composedPath() : [];
    if (ui && path.includes(ui.host)) return null;
    return path.length && path[0] instanceof Element ? path[0] : event.target;
  }

  /** The box's text, and for contenteditable the text nodes with their offsets into it. */
  function walk(box) {
    if (box instanceof HTMLTextAreaElement) return { text: box.value, parts: null };
    const parts = [];
    let text = "";
    const visit = (node) => {
      if (node.nodeType === Node.TEXT_NODE) {
        parts.push({ node, start: text.length });
        text += node.data;
        return;
      }
      if (node.nodeType !== Node.ELEMENT_NODE) return;
      if (node.tagName === "BR") {
        text += "\n";
        return;
      }
      if (node.tagName === "SCRIPT" || node.tagName === "STYLE") return;
      if (node !== box && BLOCKS.has(node.tagName) && text && !text.endsWith("\n")) text += "\n";
      for (const child of node.childNodes) visit(child);
    };
    visit(box);
    return { text, parts };
  }

  function readText(box) {
    return walk(box).text.replace(/\s+$/u, "");
  }

  /** Python's offsets count code points; JavaScript's count UTF-16 units. */
  function utf16Offsets(text) {
    const map = [0];
    let unit = 0;
    for (const ch of text) {
      unit += ch.length;
      map.push(unit);
    }
    return map;
  }

  function spansOf(text, result) {
    const map = utf16Offsets(text);
    const spans = [];
    for (const f of result.findings) {
      const start = map[f.start];
      const end = map[Math.min(f.end, map.length - 1)];
      if (start === undefined || end === undefined || end <= start) continue;
      spans.push({ start, end, severity: f.severity });
    }
    return spans;
  }

  function setText(box, text) {
    box.focus();
    let done = false;
    try {
      if (box instanceof HTMLTextAreaElement) {
        box.select();
      } else {
        const range = document.createRange();
        range.selectNodeContents(box);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
      // like typing: the page's own input handlers (and its undo history) see the change
      done = document.execCommand("insertText", false, text) && readText(box) === text.replace(/\s+$/u, "");
    } catch {
      done = false;
    }
    if (!done) {
      if (box instanceof HTMLTextAreaElement) {
        Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set.call(box, text);
      } else {
        box.textContent = text;
      }
      box.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "insertReplacementText", data: text }));
    }
  }

  // ---------------------------------------------------------------- checking
  function schedule(box, delay = DEBOUNCE_MS) {
    const st = state(box);
    clearTimeout(st.timer);
    st.timer = setTimeout(() => {
      st.timer = null;
      runCheck(box, false).catch(() => {});
    }, delay);
  }

  function applyAnswer(answer) {
    if (!answer) {
      server = { state: "offline", message: "扩展后台无响应" };
    } else if (answer.status === "ok") {
      server = { state: "ok", message: "" };
    } else if (answer.status === "offline") {
      server = { state: "offline", message: answer.message || "无法连接检查服务" };
    } else if (answer.status === "unconfigured") {
      server = { state: "unconfigured", message: answer.message || "" };
    } else if (answer.status !== "off") {
      server = { state: "error", message: answer.message || "检查失败" };
    }
  }

  /** Checks the box's current text; resolves when the answer (or the lack of one) is known. */
  async function runCheck(box, urgent) {
    const st = state(box);
    const text = readText(box);
    if (!text.trim()) {
      st.text = text;
      st.result = null;
      st.checking = null;
      if (box === active) render();
      return;
    }
    if (st.text === text && st.result) return;
    const seq = ++st.seq;
    st.checking = text;
    if (box === active) render();
    const answer = await ask({ type: "kg:check", text, urgent }, SEND_WAIT_MS);
    if (seq === st.seq) st.checking = null;
    applyAnswer(answer);
    if (answer && answer.status === "ok" && answer.result) {
      st.text = text;
      st.result = answer.result;
    } else if (seq === st.seq) {
      st.text = null;
      st.result = null;
    }
    if (box === active) render();
  }

  function critical(result) {
    return !!result && result.findings.some((f) => f.severity === "critical");
  }

  // ---------------------------------------------------------------- sending
  /** pass: let the send go; hold: stop it and ask; wait: stop it until the check answers. */
  function decide(box, afterWait) {
    const text = readText(box);
    if (!text.trim()) return "pass";
    const st = state(box);
    if (st.confirmed === text) return "pass"; // held once already
    if (st.text === text && st.result) return critical(st.result) ? "hold" : "pass";
    if (afterWait) return "pass"; // no answer in time: step aside
    if (!config.configured || (server.state !== "ok" && server.state !== "idle")) return "pass";
    return "wait";
  }

  function gate(event, box, replay) {
    const verdict = decide(box, false);
    if (verdict === "pass") {
      settleSoon(box);
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    const st = state(box);
    if (verdict === "hold") {
      hold(box, replay);
      return;
    }
    if (st.waiting) return; // one send is already waiting for this box's check
    st.waiting = true;
    clearTimeout(st.timer);
    runCheck(box, true).catch(() => {}).then(() => {
      st.waiting = false;
      if (decide(box, true) === "hold") hold(box, replay);
      else replay();
    });
  }

  function hold(box, replay) {
    const st = state(box);
    const text = readText(box);
    st.confirmed = text; // the next send of this text goes through
    st.held = { text, replay };
    st.dismissed = null;
    activate(box);
    render();
  }

  function replayEnter(box, original) {
    const init = { key: "Enter", code: "Enter", keyCode: 13, which: 13, bubbles: true, cancelable: true, composed: true,
      ctrlKey: original.ctrlKey, metaKey: original.metaKey };
    bypass = true;
    try {
      box.focus();
      box.dispatchEvent(new KeyboardEvent("keydown", init));
      box.dispatchEvent(new KeyboardEvent("keypress", { ...init, charCode: 13 }));
      box.dispatchEvent(new KeyboardEvent("keyup", init));
    } finally {
      bypass = false;
    }
    settleSoon(box);
  }

  function replayClick(button, box) {
    bypass = true;
    try {
      button.click();
    } finally {
      bypass = false;
    }
    settleSoon(box);
  }

  /** After a send the page usually empties the box without an input event: look again shortly. */
  function settleSoon(box) {
    const st = state(box);
    st.held = null;
    setTimeout(quiet(() => sync(box)), 60);
  }

  function sendButtonOf(node) {
    if (!(node instanceof Element)) return null;
    for (const selector of config.sendSelectors) {
      try {
        const el = node.closest(selector);
        if (el) return el;
      } catch {
        // a bad selector in the options
      }
    }
    let el = node;
    for (let i = 0; el && i < 4 && el !== document.body; i += 1, el = el.parentElement) {
      const label = (el instanceof HTMLInputElement ? el.value : el.textContent || el.getAttribute("aria-label") || "")
        .replace(/\s+/g, "");
      if (!SEND_LABEL.test(label)) continue;
      if (el.matches(BUTTONISH) || getComputedStyle(el).cursor === "pointer") return el;
    }
    return null;
  }

  const onKeyDown = quiet((event) => {
    if (bypass || !config || !config.enabled) return;
    if (event.key === "Escape" && active && state(active).held) {
      state(active).held = null;
      render();
      return;
    }
    if (event.key !== "Enter" || event.shiftKey || event.altKey || event.isComposing || event.keyCode === 229) return;
    const box = boxOf(eventTarget(event));
    if (!box) return;
    activate(box);
    gate(event, box, () => replayEnter(box, event));
  });

  const onClick = quiet((event) => {
    if (bypass || !config || !config.enabled || !active || event.button !== 0) return;
    const target = eventTarget(event);
    if (!target || boxOf(target)) return;
    const button = sendButtonOf(target);
    if (!button) return;
    if (!active.isConnected) {
      deactivate();
      return;
    }
    const box = active;
    gate(event, box, () => replayClick(button, box));
  });

  // ---------------------------------------------------------------- watching
  function activate(box) {
    if (active === box) return;
    if (active) clearHighlights();
    active = box;
    const st = state(box);
    if (readText(box).trim() && st.text !== readText(box)) schedule(box, 0);
    if (!syncTimer) syncTimer = setInterval(quiet(() => active && sync(active)), SYNC_MS);
    render();
  }

  function deactivate() {
    clearHighlights();
    active = null;
    clearInterval(syncTimer);
    syncTimer = null;
    render();
  }

  /** Compares the box with what was checked (the page may have changed it without an input event). */
  function sync(box) {
    if (!box.isConnected) {
      if (box === active) deactivate();
      return;
    }
    const st = state(box);
    const text = readText(box);
    const known = st.checking !== null ? st.checking : st.text;
    if (text !== known && !st.timer && !st.waiting) {
      if (st.held && st.held.text !== text) st.held = null;
      if (!text.trim()) {
        st.text = text;
        st.result = null;
        if (box === active) render();
      } else {
        schedule(box);
      }
    }
  }

  const onFocusIn = quiet((event) => {
    const box = boxOf(eventTarget(event));
    if (box) activate(box);
  });

  const onInput = quiet((event) => {
    const box = boxOf(eventTarget(event));
    if (!box) return;
    activate(box);
    const st = state(box);
    if (st.held && st.held.text !== readText(box)) st.held = null;
    schedule(box);
    // what the panel shows belongs to the text before this keystroke: say a check is coming
    if (ui && ui.host.dataset.state !== "checking") render();
  });

  // ---------------------------------------------------------------- the panel
  const STYLE = `
    :host { all: initial; }
    .panel { box-sizing: border-box; font: 13px/1.5 "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif;
      color: #1f2937; background: #fff; border: 1px solid #d1d5db; border-radius: 8px;
      box-shadow: 0 6px 24px rgba(0,0,0,.18); max-height: 45vh; overflow: auto; }
    .bar { display: flex; align-items: center; gap: 8px; padding: 6px 10px; border-bottom: 1px solid #eef0f3; }
    .bar b { color: #4f46e5; font-weight: 600; }
    .status { flex: 1; }
    .panel[data-state="ok"] .status { color: #15803d; }
    .panel[data-state="bad"] .status, .panel[data-state="held"] .status { color: #b91c1c; font-weight: 600; }
    .panel[data-state="warn"] .status { color: #b45309; }
    .panel[data-state="offline"] .status, .panel[data-state="error"] .status,
    .panel[data-state="unconfigured"] .status { color: #6b7280; }
    button { font: inherit; cursor: pointer; border-radius: 6px; border: 1px solid #d1d5db; background: #f9fafb;
      padding: 2px 10px; color: #1f2937; }
    button.primary { background: #4f46e5; border-color: #4f46e5; color: #fff; }
    button.danger { background: #fff; border-color: #dc2626; color: #b91c1c; }
    button.close { border: none; background: none; font-size: 16px; line-height: 1; padding: 0 4px; color: #6b7280; }
    .hold { padding: 8px 10px; background: #fef2f2; border-bottom: 1px solid #fecaca; color: #991b1b; }
    .hold .actions { margin-top: 6px; display: flex; gap: 8px; }
    .preview { padding: 6px 10px; white-space: pre-wrap; word-break: break-all; background: #fafafa;
      border-bottom: 1px solid #eef0f3; }
    mark { border-radius: 2px; padding: 0 1px; color: inherit; }
    mark.sev-critical { background: #fecaca; text-decoration: underline wavy #dc2626; }
    mark.sev-major { background: #fed7aa; }
    mark.sev-minor, mark.sev-info { background: #fef08a; }
    ul { list-style: none; margin: 0; padding: 0; }
    li { padding: 6px 10px; border-bottom: 1px solid #f3f4f6; }
    .sev { display: inline-block; font-size: 12px; padding: 0 6px; border-radius: 10px; margin-right: 4px; color: #fff; }
    .sev-critical .sev { background: #dc2626; } .sev-major .sev { background: #ea580c; }
    .sev-minor .sev { background: #ca8a04; } .sev-info .sev { background: #2563eb; }
    .rule { color: #6b7280; font-size: 12px; margin-left: 4px; }
    .row { color: #374151; } .row span { color: #6b7280; }
    .rewrite { padding: 6px 10px; border-bottom: 1px solid #eef0f3; display: flex; gap: 8px; align-items: flex-start; }
    .rewrite .text { flex: 1; white-space: pre-wrap; word-break: break-all; color: #15803d; }
  `;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function ensureUi() {
    if (ui) {
      if (!ui.host.isConnected) (document.body || document.documentElement).append(ui.host);
      return ui;
    }
    const host = document.createElement("kefuguard-assist");
    host.style.cssText = "position: fixed; z-index: 2147483647; left: 0; top: 0; width: 360px; display: none;";
    const root = host.attachShadow({ mode: "open" });
    const style = el("style");
    style.textContent = STYLE;
    const panel = el("div", { class: "panel", role: "status", "aria-live": "polite", lang: "zh-CN" });
    root.append(style, panel);
    // the page's own handlers see nothing of the panel; buttons keep the focus in the reply box
    for (const type of ["click", "mousedown", "mouseup", "pointerdown", "pointerup", "keydown", "keyup", "keypress", "input",
      "focusin", "focusout"]) {
      host.addEventListener(type, (event) => event.stopPropagation());
    }
    panel.addEventListener("mousedown", (event) => {
      if (event.target.closest("button")) event.preventDefault();
    });
    panel.addEventListener("click", quiet(onPanelClick));
    (document.body || document.documentElement).append(host);
    ui = { host, panel };
    window.addEventListener("resize", quiet(place), { passive: true });
    window.addEventListener("scroll", quiet(place), { passive: true, capture: true });
    return ui;
  }

  function onPanelClick(event) {
    const button = event.target.closest("button");
    if (!button || !active) return;
    const box = active;
    const st = state(box);
    const action = button.dataset.action;
    if (action === "close") {
      st.dismissed = readText(box);
      st.held = null;
      render();
    } else if (action === "send-anyway") {
      const held = st.held;
      st.held = null;
      render();
      if (held && readText(box) === held.text) held.replay();
    } else if (action === "use-rewrite") {
      const rewrite = st.result && st.result.rewrite;
      if (!rewrite || !rewrite.changed) return;
      st.held = null;
      setText(box, rewrite.text);
      schedule(box, 0);
      render();
    }
  }

  function place() {
    if (!ui || !active || ui.host.style.display === "none") return;
    const rect = active.getBoundingClientRect();
    const width = Math.max(280, Math.min(460, rect.width));
    const left = Math.max(8, Math.min(rect.left, window.innerWidth - width - 8));
    ui.host.style.width = `${width}px`;
    ui.host.style.left = `${left}px`;
    const height = ui.host.getBoundingClientRect().height;
    let top = rect.top - height - 6;
    if (top < 8) top = Math.min(rect.bottom + 6, Math.max(8, window.innerHeight - height - 8));
    ui.host.style.top = `${top}px`;
  }

  function statusOf(box) {
    const st = state(box);
    const text = readText(box);
    if (!text.trim()) return { state: "idle" };
    const result = st.text === text ? st.result : null;
    if (result) {
      if (st.held && st.held.text === text) return { state: "held", result };
      if (result.ok) return { state: "ok", result };
      return { state: critical(result) ? "bad" : "warn", result };
    }
    if (server.state === "offline") return { state: "offline" };
    if (server.state === "error" || server.state === "unconfigured") return { state: server.state };
    return { state: "checking" };
  }

  function statusText(status) {
    const result = status.result;
    switch (status.state) {
      case "checking":
        return "检查中…";
      case "ok":
        return "✓ 未发现违规";
      case "warn":
        return `发现 ${result.findings.length} 处问题（仅提醒，不拦截发送）`;
      case "bad":
      case "held": {
        const n = result.findings.filter((f) => f.severity === "critical").length;
        return `发现 ${result.findings.length} 处问题，其中 ${n} 处严重：发送前会提醒一次`;
      }
      case "offline":
        return `离线：${server.message}，暂不检查，不影响输入和发送`;
      case "error":
        return `未检查：${server.message}（不影响发送）`;
      case "unconfigured":
        return `未配置：${server.message}`;
      default:
        return "";
    }
  }

  function preview(text, result) {
    const node = el("div", { class: "preview" });
    const spans = spansOf(text, result).sort((a, b) => a.start - b.start || b.end - a.end);
    let at = 0;
    for (const span of spans) {
      if (span.start < at) continue; // overlapping: the earlier (longer) one shows
      node.append(text.slice(at, span.start));
      node.append(el("mark", { class: `sev-${span.severity}` }, text.slice(span.start, span.end)));
      at = span.end;
    }
    node.append(text.slice(at));
    return node;
  }

  function findingsList(result) {
    const findings = [...result.findings].sort((a, b) => (SEVERITY_RANK[b.severity] || 0) - (SEVERITY_RANK[a.severity] || 0)
      || a.start - b.start);
    const list = el("ul", { class: "findings" });
    for (const f of findings) {
      list.append(el("li", { class: `finding sev-${f.severity}`, "data-rule": f.rule_id, "data-severity": f.severity },
        el("div", null, el("span", { class: "sev" }, SEVERITY_ZH[f.severity] || f.severity), el("b", null, f.title),
          el("span", { class: "rule" }, f.rule_id), f.refusal ? el("span", { class: "rule" }, "（拒绝语境）") : null),
        el("div", { class: "row" }, el("span", null, "命中："), `「${f.matched}」`),
        f.penalty ? el("div", { class: "row" }, el("span", null, "处罚："), f.penalty) : null,
        f.suggestion ? el("div", { class: "row" }, el("span", null, "建议："), f.suggestion) : null));
    }
    return list;
  }

  function render() {
    if (!config || !config.enabled) return;
    const box = active;
    if (!box) {
      if (ui) ui.host.style.display = "none";
      return;
    }
    const st = state(box);
    const status = statusOf(box);
    const text = readText(box);
    const show = status.state !== "idle" && st.dismissed !== text;
    if (!show && !ui) return;
    const { host, panel } = ensureUi();
    host.dataset.state = status.state;
    panel.dataset.state = status.state;
    host.dataset.findings = status.result ? String(status.result.findings.length) : "0";
    if (!show) {
      host.style.display = "none";
      highlight(box, null);
      return;
    }
    const parts = [el("div", { class: "bar" }, el("b", null, "kefuguard"),
      el("span", { class: "status" }, statusText(status)),
      el("button", { class: "close", "data-action": "close", title: "收起", "aria-label": "收起" }, "×"))];
    const result = status.result;
    const rewrite = result && result.rewrite && result.rewrite.changed ? result.rewrite : null;
    if (status.state === "held") {
      parts.push(el("div", { class: "hold", role: "alertdialog" },
        el("div", null, "这条消息含严重违规，已暂停发送。要发送吗？"),
        el("div", { class: "actions" },
          el("button", { class: "danger", "data-action": "send-anyway" }, "仍要发送"),
          rewrite ? el("button", { class: "primary", "data-action": "use-rewrite" }, "使用改写") : null)));
    }
    if (result && !result.ok) {
      parts.push(preview(text, result));
      if (rewrite) {
        parts.push(el("div", { class: "rewrite" }, el("div", { class: "text" }, "改写：", el("span", { class: "rw-text" }, rewrite.text)),
          el("button", { class: "primary", "data-action": "use-rewrite" }, "使用改写")));
      }
      parts.push(findingsList(result));
    }
    panel.replaceChildren(...parts);
    host.style.display = "block";
    highlight(box, result && !result.ok ? result : null);
    place();
  }

  // ---------------------------------------------------------------- highlights inside the box
  function clearHighlights() {
    try {
      if (globalThis.CSS && CSS.highlights) for (const name of HIGHLIGHTS) CSS.highlights.delete(name);
    } catch {
      // the API is missing: the panel's preview shows the spans
    }
  }

  function highlight(box, result) {
    clearHighlights();
    if (!result || box instanceof HTMLTextAreaElement || !globalThis.Highlight || !CSS.highlights) return;
    const { text, parts } = walk(box);
    const groups = {};
    for (const span of spansOf(text, result)) {
      const start = locate(parts, span.start, false);
      const end = locate(parts, span.end, true);
      if (!start || !end) continue;
      const range = document.createRange();
      range.setStart(start.node, start.offset);
      range.setEnd(end.node, end.offset);
      (groups[span.severity] = groups[span.severity] || []).push(range);
    }
    for (const [severity, ranges] of Object.entries(groups)) CSS.highlights.set(`kefuguard-${severity}`, new Highlight(...ranges));
  }

  function locate(parts, offset, isEnd) {
    for (const part of parts) {
      const length = part.node.data.length;
      if (offset >= part.start && (offset < part.start + length || (isEnd && offset === part.start + length))) {
        return { node: part.node, offset: offset - part.start };
      }
    }
    return null;
  }

  // ---------------------------------------------------------------- start
  window.addEventListener("keydown", onKeyDown, true);
  window.addEventListener("click", onClick, true);
  document.addEventListener("focusin", onFocusIn, true);
  document.addEventListener("input", onInput, true);

  ask({ type: "kg:config" }, 5000).then(quiet((answer) => {
    if (!answer || !answer.enabled) return;
    config = answer;
    if (!config.configured) server = { state: "unconfigured", message: "请在扩展选项中填写服务器地址和 API 密钥" };
    const focused = document.activeElement;
    const box = focused ? boxOf(focused) : null;
    if (box) activate(box);
  }));
})();
