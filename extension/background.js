// kefuguard 发送前检查 — the background service worker.
//
// The only part of the extension that holds the API key and talks to the server. Content scripts
// send it the text being typed ("kg:check"); it adds the shop id (or the site's platform) and the
// key, batches what arrives within a few milliseconds into one POST /v1/check, and answers each
// text with its findings and rewrite. A server that does not answer within TIMEOUT_MS, or refuses
// the connection, makes it answer "offline" at once for a few seconds: the page never waits on it.

import {
  TIMEOUT_MS, GENERIC_BOX_SELECTORS, normalizeSettings, siteFor, watchedPatterns, serverBase, serverPattern,
} from "./common.js";

const SCRIPT_ID = "kefuguard-assist";
const BATCH_MS = 15; // texts arriving within this window share one request
const MAX_BATCH = 50;
const OFFLINE_RETRY_MS = 3000; // after a failure, answer "offline" without asking for this long
const CACHE_SIZE = 300;

let settingsPromise = null;
const cache = new Map(); // target key + text → result (insertion order = LRU order)
let offlineUntil = 0;
let offlineReason = "";
let pending = [];
let flushTimer = null;

function getSettings() {
  if (!settingsPromise) {
    settingsPromise = chrome.storage.local.get("settings").then((got) => normalizeSettings(got.settings));
  }
  return settingsPromise;
}

// The key stays out of content scripts' reach (they never read storage; this makes sure they cannot).
if (chrome.storage.local.setAccessLevel) {
  chrome.storage.local.setAccessLevel({ accessLevel: "TRUSTED_CONTEXTS" }).catch(() => {});
}

// ------------------------------------------------------------------ content script registration
let syncChain = Promise.resolve([]);

async function syncContentScripts() {
  const settings = await getSettings();
  const patterns = [];
  for (const pattern of watchedPatterns(settings)) {
    // a host the user added without granting it would make the registration fail
    if (await chrome.permissions.contains({ origins: [pattern] })) patterns.push(pattern);
  }
  const existing = await chrome.scripting.getRegisteredContentScripts();
  if (existing.length) await chrome.scripting.unregisterContentScripts({ ids: existing.map((s) => s.id) });
  if (patterns.length) {
    await chrome.scripting.registerContentScripts([{
      id: SCRIPT_ID, matches: patterns, js: ["content.js"], css: ["content.css"], runAt: "document_start",
      allFrames: true, persistAcrossSessions: true,
    }]);
  }
  return patterns;
}

function queueSync() {
  const run = () => syncContentScripts();
  syncChain = syncChain.then(run, run);
  return syncChain;
}

function forget() {
  settingsPromise = null;
  cache.clear();
  offlineUntil = 0;
  offlineReason = "";
}

chrome.runtime.onInstalled.addListener(() => {
  queueSync().catch(() => {});
});
chrome.runtime.onStartup.addListener(() => {
  queueSync().catch(() => {});
});
chrome.action.onClicked.addListener(() => {
  chrome.runtime.openOptionsPage().catch(() => {});
});
chrome.permissions.onAdded.addListener(() => {
  queueSync().catch(() => {});
});
chrome.permissions.onRemoved.addListener(() => {
  queueSync().catch(() => {});
});
chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && changes.settings) {
    forget();
    queueSync().catch(() => {});
  }
});

// ------------------------------------------------------------------ checks
function targetOf(settings, site) {
  const shop = /^\d+$/.test(settings.shopId) ? Number(settings.shopId) : null;
  if (shop !== null) return { key: `shop:${shop}`, body: { shop_id: shop } };
  const platform = settings.platform === "auto" ? site.platform : settings.platform;
  return { key: `platform:${platform}`, body: { platform } };
}

function remember(key, result) {
  cache.delete(key);
  cache.set(key, result);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value);
}

function wentOffline(reason) {
  offlineUntil = Date.now() + OFFLINE_RETRY_MS;
  offlineReason = reason;
}

/** Only what the panel shows: never more than the server said, never the request's settings. */
function slim(result) {
  const findings = (result.findings || []).map((f) => ({
    rule_id: f.rule_id, title: f.title, severity: f.severity, start: f.start, end: f.end, matched: f.matched,
    penalty: f.penalty && f.penalty.text ? f.penalty.text : "", suggestion: f.suggestion || "",
    refusal: !!f.refusal, category: f.category,
  }));
  const rw = result.rewrite || null;
  return {
    ok: !findings.length, worst: result.worst || null, findings,
    rewrite: rw ? { text: rw.text, changed: !!rw.changed, complete: !!rw.complete } : null,
  };
}

function problemOf(status, body) {
  const message = body && body.error && body.error.message ? body.error.message : "";
  if (status === 401) return "API 密钥无效或已吊销：请在扩展选项中更换";
  if (status === 403) return "该 API 密钥无权检查消息";
  if (status === 404) return message || "店铺不存在：请检查扩展选项中的店铺 ID";
  return message || `检查服务返回错误 ${status}`;
}

async function post(base, apiKey, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const started = performance.now();
  try {
    const response = await fetch(`${base}/v1/check`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-API-Key": apiKey },
      body: JSON.stringify(body),
      signal: controller.signal,
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    return { status: response.status, data, ms: performance.now() - started };
  } catch (error) {
    const slow = error && error.name === "AbortError";
    return { status: 0, slow, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

async function flush() {
  flushTimer = null;
  const items = pending;
  pending = [];
  const settings = await getSettings();
  const base = serverBase(settings.serverUrl);
  const groups = new Map();
  for (const item of items) {
    if (!groups.has(item.target.key)) groups.set(item.target.key, { target: item.target, items: [] });
    groups.get(item.target.key).items.push(item);
  }
  for (const group of groups.values()) {
    const texts = [...new Set(group.items.map((i) => i.text))];
    const body = { ...group.target.body, messages: texts.map((text, i) => ({ id: `m${i}`, text })), rewrite: true, draft: true };
    const answer = await post(base, settings.apiKey, body);
    const results = answer.data && Array.isArray(answer.data.results) ? answer.data.results : null;
    if (answer.status === 200 && results) {
      offlineUntil = 0;
      const byId = new Map(results.map((r) => [r.id, r]));
      texts.forEach((text, i) => {
        const result = byId.get(`m${i}`);
        if (result) remember(group.target.key + "\u0000" + text, slim(result));
      });
      for (const item of group.items) {
        const result = cache.get(group.target.key + "\u0000" + item.text);
        item.resolve(result ? { status: "ok", result, ms: Math.round(answer.ms) } : { status: "error", message: "检查服务的回答不完整" });
      }
    } else if (answer.status === 0 || answer.status === 429 || answer.status >= 500) {
      const reason = answer.slow ? `检查服务超过 ${TIMEOUT_MS} ms 未响应`
        : answer.status === 0 ? "无法连接检查服务" : `检查服务暂时不可用（${answer.status}）`;
      wentOffline(reason);
      for (const item of group.items) item.resolve({ status: "offline", message: reason });
    } else {
      const message = problemOf(answer.status, answer.data);
      for (const item of group.items) item.resolve({ status: "error", message });
    }
  }
}

async function check(text, url, urgent) {
  const settings = await getSettings();
  const site = siteFor(settings, url);
  if (!site) return { status: "off" };
  if (!settings.apiKey) return { status: "unconfigured", message: "未设置 API 密钥：请在扩展选项中填写" };
  if (!serverBase(settings.serverUrl)) return { status: "unconfigured", message: "服务器地址无效：请在扩展选项中修改" };
  if (typeof text !== "string" || !text.trim()) return { status: "ok", result: { ok: true, findings: [], rewrite: null } };
  const target = targetOf(settings, site);
  const key = target.key + "\u0000" + text;
  if (cache.has(key)) {
    const result = cache.get(key);
    remember(key, result);
    return { status: "ok", result, ms: 0 };
  }
  if (Date.now() < offlineUntil) return { status: "offline", message: offlineReason };
  return new Promise((resolve) => {
    pending.push({ text, target, resolve });
    if (urgent || pending.length >= MAX_BATCH) {
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = null;
      flush();
    } else if (!flushTimer) {
      flushTimer = setTimeout(flush, BATCH_MS);
    }
  });
}

async function pageConfig(url) {
  const settings = await getSettings();
  const site = siteFor(settings, url);
  if (!site) return { enabled: false };
  return {
    enabled: true,
    site: site.name,
    boxSelectors: [...site.boxSelectors, ...GENERIC_BOX_SELECTORS],
    ownBoxSelectors: site.boxSelectors.length > 0,
    sendSelectors: site.sendSelectors,
    configured: !!settings.apiKey && !!serverBase(settings.serverUrl),
  };
}

async function testConnection() {
  const settings = await getSettings();
  const base = serverBase(settings.serverUrl);
  if (!base) return { ok: false, message: "服务器地址无效" };
  if (!settings.apiKey) return { ok: false, message: "未填写 API 密钥" };
  if (!(await chrome.permissions.contains({ origins: [serverPattern(settings.serverUrl)] }))) {
    return { ok: false, message: "未授予访问该服务器的权限" };
  }
  const site = settings.sites.find((s) => s.enabled) || settings.sites[0] || { platform: "pinduoduo" };
  const answer = await post(base, settings.apiKey, { ...targetOf(settings, site).body, text: "您好", rewrite: false });
  if (answer.status === 200) {
    offlineUntil = 0;
    return { ok: true, ms: Math.round(answer.ms), platform: answer.data && answer.data.platform };
  }
  if (answer.status === 0) {
    return { ok: false, message: answer.slow ? `服务器超过 ${TIMEOUT_MS} ms 未响应` : "无法连接服务器" };
  }
  return { ok: false, message: problemOf(answer.status, answer.data) };
}

// ------------------------------------------------------------------ messages
chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (!message || typeof message.type !== "string") return false;
  if (sender.id !== chrome.runtime.id) return false;
  const fromExtensionPage = typeof sender.url === "string" && sender.url.startsWith(chrome.runtime.getURL(""));
  const fromPage = !!sender.tab && !fromExtensionPage;
  let work = null;
  if (message.type === "kg:config" && fromPage) {
    work = pageConfig(sender.url || sender.tab.url);
  } else if (message.type === "kg:check" && fromPage) {
    // the page's URL as the browser knows it, never as the page claims it
    work = check(message.text, sender.url || sender.tab.url, !!message.urgent);
  } else if (message.type === "kg:apply" && fromExtensionPage) {
    forget();
    work = queueSync().then((patterns) => ({ ok: true, patterns }));
  } else if (message.type === "kg:test" && fromExtensionPage) {
    work = testConnection();
  }
  if (!work) return false;
  work.then(sendResponse, (error) => sendResponse({ status: "error", ok: false, message: String(error && error.message || error) }));
  return true;
});
