// Shared by the background service worker and the options page (an ES module; the content script
// never imports it: it gets what it needs from the background, never the API key).

export const DEFAULT_SERVER = "http://127.0.0.1:8000";
// the budget: a check slower than this is treated as "offline" and never holds anything
export const TIMEOUT_MS = 300;

export const PLATFORMS = {
  douyin: "抖音/抖店",
  pinduoduo: "拼多多",
  tmall: "天猫",
  taobao: "淘宝",
  jd: "京东",
  kuaishou: "快手",
};

// Reply boxes: the generic fallback (used after a site's own selectors, if any).
export const GENERIC_BOX_SELECTORS = [
  "textarea",
  "[contenteditable='true']",
  "[contenteditable='plaintext-only']",
  "[contenteditable='']",
  "[role='textbox']",
];

// The workbenches, with their hosts. Selectors are left to the generic fallback by default:
// the workbenches change their markup often; a shop can add its own per site.
export const DEFAULT_SITES = [
  { id: "douyin", name: "抖店飞鸽", platform: "douyin", enabled: true,
    hosts: ["im.jinritemai.com", "fxg.jinritemai.com"], boxSelectors: [], sendSelectors: [] },
  { id: "pinduoduo", name: "拼多多商家后台", platform: "pinduoduo", enabled: true,
    hosts: ["mms.pinduoduo.com"], boxSelectors: [], sendSelectors: [] },
  { id: "qianniu", name: "千牛 / 淘宝 / 天猫", platform: "taobao", enabled: true,
    hosts: ["*.taobao.com", "*.tmall.com", "market.m.taobao.com"], boxSelectors: [], sendSelectors: [] },
  { id: "jd", name: "京东咚咚", platform: "jd", enabled: true,
    hosts: ["dongdong.jd.com", "*.jd.com"], boxSelectors: [], sendSelectors: [] },
  { id: "kuaishou", name: "快手小店", platform: "kuaishou", enabled: true,
    hosts: ["s.kwaixiaodian.com", "*.kwaixiaodian.com"], boxSelectors: [], sendSelectors: [] },
];

export function defaultSettings() {
  return {
    serverUrl: DEFAULT_SERVER,
    apiKey: "",
    shopId: "",
    platform: "auto", // "auto": each site's own platform
    sites: DEFAULT_SITES.map((s) => ({ ...s, hosts: [...s.hosts], boxSelectors: [], sendSelectors: [] })),
  };
}

/** Stored settings completed with the defaults (a missing or damaged field takes its default). */
export function normalizeSettings(stored) {
  const base = defaultSettings();
  const s = stored && typeof stored === "object" ? stored : {};
  const out = {
    serverUrl: typeof s.serverUrl === "string" && s.serverUrl.trim() ? s.serverUrl.trim() : base.serverUrl,
    apiKey: typeof s.apiKey === "string" ? s.apiKey.trim() : "",
    shopId: s.shopId === undefined || s.shopId === null ? "" : String(s.shopId).trim(),
    platform: s.platform in PLATFORMS ? s.platform : "auto",
    sites: base.sites,
  };
  if (Array.isArray(s.sites)) {
    out.sites = s.sites
      .filter((x) => x && typeof x === "object")
      .map((x, i) => ({
        id: typeof x.id === "string" && x.id ? x.id : `site${i + 1}`,
        name: typeof x.name === "string" && x.name ? x.name : `站点 ${i + 1}`,
        platform: x.platform in PLATFORMS ? x.platform : "pinduoduo",
        enabled: x.enabled !== false,
        hosts: cleanList(x.hosts),
        boxSelectors: cleanList(x.boxSelectors),
        sendSelectors: cleanList(x.sendSelectors),
      }));
  }
  return out;
}

export function cleanList(value) {
  if (!Array.isArray(value)) return [];
  return value.map((v) => String(v).trim()).filter(Boolean);
}

/** "a.com\n b.com, c.com" → ["a.com", "b.com", "c.com"] */
export function splitLines(text) {
  return String(text || "").split(/[\n,，]+/).map((v) => v.trim()).filter(Boolean);
}

// ------------------------------------------------------------------ host patterns
// A watched host is written as a host ("mms.pinduoduo.com"), a wildcard host ("*.taobao.com": the
// domain and its subdomains), a host with a port ("127.0.0.1:8765"), or a full match pattern
// ("https://example.com/chat/*").

const HOST_RE = /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$|^\*$/;

/** The parsed pattern, or null when it is not one. */
export function parseHostPattern(raw) {
  const text = String(raw || "").trim().toLowerCase();
  if (!text) return null;
  const full = /^(\*|https?):\/\/([^/]+)(\/.*)$/.exec(text);
  if (full) {
    if (!HOST_RE.test(full[2])) return null;
    return { scheme: full[1], host: full[2], path: full[3] };
  }
  if (!HOST_RE.test(text)) return null;
  return { scheme: "*", host: text, path: "/*" };
}

/** The Chrome match patterns of a watched host (a port needs an explicit scheme). */
export function matchPatterns(raw) {
  const p = parseHostPattern(raw);
  if (!p) return [];
  const hasPort = /:\d+$/.test(p.host);
  if (hasPort && p.scheme === "*") {
    return [`http://${p.host}${p.path}`, `https://${p.host}${p.path}`];
  }
  return [`${p.scheme}://${p.host}${p.path}`];
}

/** The match pattern that grants the background access to the server (any port). */
export function serverPattern(serverUrl) {
  const u = parseServerUrl(serverUrl);
  return u ? `${u.protocol}//${u.hostname}/*` : null;
}

/** The server URL without a trailing slash, or null when it is not an http(s) URL. */
export function parseServerUrl(serverUrl) {
  try {
    const u = new URL(String(serverUrl || "").trim());
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    if (u.username || u.password || u.search || u.hash) return null;
    return u;
  } catch {
    return null;
  }
}

export function serverBase(serverUrl) {
  const u = parseServerUrl(serverUrl);
  return u ? u.origin + u.pathname.replace(/\/+$/, "") : null;
}

export function isLoopback(hostname) {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function globToRegExp(glob) {
  return new RegExp("^" + glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
}

/** Whether a page URL is watched by a host pattern (the same rule Chrome applies to match patterns). */
export function urlMatches(raw, url) {
  const p = parseHostPattern(raw);
  if (!p) return false;
  let u;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const scheme = u.protocol.slice(0, -1);
  if (scheme !== "http" && scheme !== "https") return false;
  if (p.scheme !== "*" && p.scheme !== scheme) return false;
  let host = p.host;
  let port = null;
  const m = /^(.*):(\d+)$/.exec(host);
  if (m) {
    host = m[1];
    port = m[2];
  }
  const defaultPort = scheme === "https" ? "443" : "80";
  if (port !== null && port !== (u.port || defaultPort)) return false;
  const hostname = u.hostname.toLowerCase();
  let hostOk;
  if (host === "*") hostOk = true;
  else if (host.startsWith("*.")) hostOk = hostname === host.slice(2) || hostname.endsWith(host.slice(1));
  else hostOk = hostname === host;
  return hostOk && globToRegExp(p.path).test(u.pathname + u.search);
}

/** The enabled site watching a URL, or null. */
export function siteFor(settings, url) {
  for (const site of settings.sites) {
    if (site.enabled && site.hosts.some((h) => urlMatches(h, url))) return site;
  }
  return null;
}

/** Every match pattern of the enabled sites, without duplicates. */
export function watchedPatterns(settings) {
  const out = new Set();
  for (const site of settings.sites) {
    if (!site.enabled) continue;
    for (const h of site.hosts) for (const p of matchPatterns(h)) out.add(p);
  }
  return [...out];
}
