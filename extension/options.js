// The options page: server, key, shop, platform and the watched workbenches, kept in chrome.storage.local.

import {
  PLATFORMS, defaultSettings, normalizeSettings, splitLines, parseHostPattern, parseServerUrl, serverPattern,
  watchedPatterns, isLoopback,
} from "./common.js";

const $ = (id) => document.getElementById(id);
let sites = [];

function platformOptions(select, withAuto) {
  select.replaceChildren();
  if (withAuto) select.append(new Option("按站点（自动）", "auto"));
  for (const [code, name] of Object.entries(PLATFORMS)) select.append(new Option(`${name}（${code}）`, code));
}

function renderSites(list) {
  sites = list.map((s) => ({ ...s }));
  const box = $("sites");
  box.replaceChildren();
  for (const site of sites) {
    const node = $("site-template").content.firstElementChild.cloneNode(true);
    node.dataset.site = site.id;
    node.querySelector(".site-name").textContent = site.name;
    node.querySelector(".site-enabled").checked = site.enabled;
    const platform = node.querySelector(".site-platform");
    platformOptions(platform, false);
    platform.value = site.platform;
    node.querySelector(".site-hosts").value = site.hosts.join("\n");
    node.querySelector(".site-box").value = site.boxSelectors.join("\n");
    node.querySelector(".site-send").value = site.sendSelectors.join("\n");
    box.append(node);
  }
}

function fill(settings) {
  $("server-url").value = settings.serverUrl;
  $("api-key").value = settings.apiKey;
  $("shop-id").value = settings.shopId;
  $("platform").value = settings.platform;
  renderSites(settings.sites);
}

/** One selector a line (a selector may hold commas of its own). */
function lines(text) {
  return String(text || "").split("\n").map((v) => v.trim()).filter(Boolean);
}

function validSelector(selector) {
  try {
    document.createDocumentFragment().querySelector(selector);
    return true;
  } catch {
    return false;
  }
}

/** The settings in the form, or throws an Error with a message for the user. */
function collect() {
  const serverUrl = $("server-url").value.trim() || defaultSettings().serverUrl;
  if (!parseServerUrl(serverUrl)) throw new Error("服务器地址须为 http:// 或 https:// 开头的地址，如 http://127.0.0.1:8000");
  const shopId = $("shop-id").value.trim();
  if (shopId && !/^[1-9]\d{0,17}$/.test(shopId)) throw new Error("店铺 ID 须为正整数（kefuguard 中的店铺编号），或留空");
  const out = {
    serverUrl, apiKey: $("api-key").value.trim(), shopId, platform: $("platform").value, sites: [],
  };
  for (const node of $("sites").querySelectorAll("fieldset.site")) {
    const base = sites.find((s) => s.id === node.dataset.site) || { id: node.dataset.site, name: node.dataset.site };
    const hosts = splitLines(node.querySelector(".site-hosts").value);
    for (const host of hosts) {
      if (!parseHostPattern(host)) throw new Error(`${base.name}：无法识别的主机 “${host}”`);
    }
    const boxSelectors = lines(node.querySelector(".site-box").value);
    const sendSelectors = lines(node.querySelector(".site-send").value);
    for (const selector of [...boxSelectors, ...sendSelectors]) {
      if (!validSelector(selector)) throw new Error(`${base.name}：无效的 CSS 选择器 “${selector}”`);
    }
    out.sites.push({
      id: base.id, name: base.name, platform: node.querySelector(".site-platform").value,
      enabled: node.querySelector(".site-enabled").checked, hosts, boxSelectors, sendSelectors,
    });
  }
  return normalizeSettings(out);
}

function status(text, state) {
  $("status").textContent = text;
  $("status").dataset.state = state;
}

function warn(settings) {
  const u = parseServerUrl(settings.serverUrl);
  const lines = [];
  if (u && u.protocol === "http:" && !isLoopback(u.hostname)) {
    lines.push("注意：非本机的 http 地址会以明文传输 API 密钥和消息，建议使用 https。");
  }
  if (!settings.apiKey) lines.push("尚未填写 API 密钥：工作台中只会显示“未配置”，不检查也不拦截。");
  $("warning").textContent = lines.join(" ");
  $("warning").hidden = !lines.length;
}

function runtimeMessage(message) {
  return new Promise((resolve) => {
    chrome.runtime.sendMessage(message, (response) => resolve(chrome.runtime.lastError ? null : response));
  });
}

/** Saves the form. Must start inside the click: the permission prompt needs the user's gesture. */
function save() {
  let settings;
  try {
    settings = collect();
  } catch (error) {
    status(error.message, "error");
    return Promise.resolve(null);
  }
  status("保存中…", "saving");
  const origins = [serverPattern(settings.serverUrl), ...watchedPatterns(settings)];
  // asks only for hosts not granted yet (those of the manifest and the loopback server are)
  return chrome.permissions.request({ origins })
    .catch(() => false)
    .then(async (granted) => {
      await chrome.storage.local.set({ settings });
      const applied = await runtimeMessage({ type: "kg:apply" });
      warn(settings);
      const n = applied && applied.patterns ? applied.patterns.length : 0;
      if (!granted) {
        status(`已保存，但未授予部分站点或服务器的访问权限：这些站点不会被检查（当前生效 ${n} 个站点模式）`, "error");
      } else {
        status(`已保存并生效：监视 ${n} 个站点模式`, "ok");
      }
      return settings;
    });
}

async function test() {
  const settings = await save();
  if (!settings) return;
  status("测试连接中…", "saving");
  const answer = await runtimeMessage({ type: "kg:test" });
  if (answer && answer.ok) status(`连接正常：${answer.ms} ms（平台 ${answer.platform || "—"}）`, "ok");
  else status(`连接失败：${answer ? answer.message : "扩展后台无响应"}`, "error");
}

platformOptions($("platform"), true);
$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  save();
});
$("test").addEventListener("click", () => {
  test();
});
$("reset-sites").addEventListener("click", () => {
  renderSites(defaultSettings().sites);
  status("已恢复默认工作台（尚未保存）", "saving");
});
$("show-key").addEventListener("click", () => {
  const input = $("api-key");
  const show = input.type === "password";
  input.type = show ? "text" : "password";
  $("show-key").textContent = show ? "隐藏" : "显示";
  $("show-key").setAttribute("aria-pressed", String(show));
});

chrome.storage.local.get("settings").then((got) => {
  const settings = normalizeSettings(got.settings);
  fill(settings);
  warn(settings);
  document.body.dataset.ready = "1";
});
