/* kefuguard 客服质检看板 — the core: state, API calls, routing, DOM and format helpers.
 * The pages are in pages.js, the words in i18n.js. No framework: every element is built with h(),
 * and text from the server always goes in as text (never as HTML).
 *
 * The API key: pasted at sign-in, kept in this tab's sessionStorage, sent as X-API-Key; never in a URL.
 */
(function () {
  'use strict';

  const KG = (window.KG = window.KG || {});
  const KEY_STORE = 'kefuguard.key';
  const LANG_STORE = 'kefuguard.lang';

  const state = (KG.state = {
    key: sessionStorage.getItem(KEY_STORE) || '',
    me: null,
    lang: localStorage.getItem(LANG_STORE) === 'en' ? 'en' : 'zh',
    nav: 0,
    charts: [],
    pendingCharts: [],
    cache: {},
  });
  KG.timings = [];

  // ------------------------------------------------------------------ words
  KG.t = function (key, vars) {
    const table = (KG.STRINGS && KG.STRINGS[state.lang]) || {};
    let text = table[key];
    if (text === undefined && KG.STRINGS) text = KG.STRINGS.zh[key];
    if (text === undefined) text = key;
    if (vars) text = text.replace(/\{(\w+)\}/g, (m, name) => (vars[name] !== undefined && vars[name] !== null ? String(vars[name]) : m));
    return text;
  };
  const t = KG.t;

  // ------------------------------------------------------------------ DOM
  function append(el, kids) {
    for (const kid of kids.flat(Infinity)) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [name, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (name === 'class') el.className = value;
        else if (name === 'text') el.textContent = value;
        else if (name === 'dataset') Object.assign(el.dataset, value);
        else if (name === 'props') Object.assign(el, value);
        else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
        else if (value === true) el.setAttribute(name, '');
        else el.setAttribute(name, String(value));
      }
    }
    return append(el, kids);
  }
  KG.h = h;
  KG.append = append;
  // the building blocks every page shares: its heading (with actions beside it) and a card section
  KG.pageHead = (title, ...extra) => h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, title), extra.length ? h('div', { class: 'page-actions' }, extra) : null);
  KG.card = (title, attrs, ...kids) => h('section', Object.assign({ class: 'card' }, attrs || {}), title ? h('h2', null, title) : null, kids);
  KG.$ = (selector, root) => (root || document).querySelector(selector);
  KG.$$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  let uid = 0;
  KG.uid = (prefix) => `${prefix || 'kg'}-${++uid}`;

  KG.toast = function (message, kind) {
    const box = KG.$('#toast');
    box.textContent = message;
    box.className = 'toast' + (kind ? ' toast-' + kind : '');
    box.hidden = false;
    clearTimeout(KG.toast.timer);
    KG.toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
  };

  KG.debounce = function (fn, ms) {
    let timer = null;
    const wrapped = function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), ms);
    };
    wrapped.cancel = () => clearTimeout(timer);
    return wrapped;
  };

  // ------------------------------------------------------------------ API
  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message_en || `HTTP ${status}`);
      this.status = status;
      this.code = e.code || (status ? 'http_' + status : 'network');
      this.zh = e.message || '';
      this.en = e.message_en || '';
      this.field = e.field || null;
    }
    text() {
      if (!this.status) return t('networkError');
      return (state.lang === 'en' ? this.en || this.zh : this.zh || this.en) || `HTTP ${this.status}`;
    }
  }
  KG.ApiError = ApiError;

  KG.qs = function (params) {
    const out = new URLSearchParams();
    for (const [name, value] of Object.entries(params || {})) {
      if (value === null || value === undefined || value === '' || value === false) continue;
      out.set(name, String(value));
    }
    const text = out.toString();
    return text ? '?' + text : '';
  };

  /** Call the API with the signed-in key. opts: method, body (object → JSON, FormData as is),
   * headers, raw (return the Response), full (return {data, response}). Throws ApiError. */
  KG.api = async function (path, opts) {
    opts = opts || {};
    const headers = Object.assign({ 'X-API-Key': state.key, Accept: 'application/json' }, opts.headers || {});
    let body = opts.body;
    if (body !== undefined && !(body instanceof FormData) && typeof body !== 'string') {
      body = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    let response;
    try {
      response = await fetch(path, { method: opts.method || 'GET', headers, body, cache: 'no-store', credentials: 'omit' });
    } catch (err) {
      throw new ApiError(0, null);
    }
    if (!response.ok) {
      let data = null;
      try { data = await response.json(); } catch (err) { data = null; }
      const error = new ApiError(response.status, data);
      if (response.status === 401 && state.me) KG.signOut(t('sessionExpired'));
      throw error;
    }
    if (opts.raw) return response;
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    return opts.full ? { data, response } : data;
  };

  /** Fetch a file with the key in the header, then save it under the server's file name. */
  KG.download = async function (path, fallback) {
    const response = await KG.api(path, { raw: true });
    const blob = await response.blob();
    const disposition = response.headers.get('Content-Disposition') || '';
    const match = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
    const name = match ? decodeURIComponent(match[1]) : fallback;
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    setTimeout(() => { URL.revokeObjectURL(url); link.remove(); }, 2000);
    KG.toast(t('downloaded', { name }), 'ok');
    return name;
  };

  KG.downloadButton = function (label, path, fallback, id) {
    const button = h('button', { type: 'button', class: 'btn btn-secondary', id }, label);
    button.addEventListener('click', async () => {
      button.disabled = true;
      try { await KG.download(typeof path === 'function' ? path() : path, fallback); }
      catch (err) { KG.toast(err.text ? err.text() : String(err), 'error'); }
      finally { button.disabled = false; }
    });
    return button;
  };

  KG.exportButton = function (kind, params) {
    return KG.downloadButton(t('exportExcel'), () => `/v1/exports/${kind}` + KG.qs(Object.assign({}, params, { lang: state.lang })),
      `kefuguard-${kind}.xlsx`, `export-${kind}`);
  };

  // lookups reused for a few seconds across pages (cleared at sign-out and after an upload)
  const CACHE_MS = 15000;
  KG.cached = function (name, load) {
    const hit = state.cache[name];
    if (hit && performance.now() - hit.at < CACHE_MS) return hit.promise;
    const promise = load().catch((err) => { delete state.cache[name]; throw err; });
    state.cache[name] = { at: performance.now(), promise };
    return promise;
  };
  KG.shops = () => KG.cached('shops', () => KG.api('/v1/shops').then((d) => d.items));
  KG.agents = () => KG.cached('agents', () => KG.api('/v1/agents?limit=500').then((d) => d.items));
  KG.runs = () => KG.api('/v1/audits?status=done&limit=20').then((d) => d.items);
  KG.forget = (...names) => { for (const name of names) delete state.cache[name]; };

  // ------------------------------------------------------------------ roles
  const RANK = { agent: 0, supervisor: 1, admin: 2 };
  KG.can = (role) => !!state.me && (RANK[state.me.role] || 0) >= RANK[role];

  // ------------------------------------------------------------------ formats
  const TZ = 'Asia/Shanghai';
  const fmtCache = {};
  function formatter(kind) {
    const key = kind + state.lang;
    if (!fmtCache[key]) {
      const locale = state.lang === 'en' ? 'en-GB' : 'zh-CN';
      const opts = { timeZone: TZ, hour12: false };
      if (kind !== 'time') Object.assign(opts, { year: 'numeric', month: '2-digit', day: '2-digit' });
      if (kind !== 'date') Object.assign(opts, { hour: '2-digit', minute: '2-digit' });
      if (kind === 'time') opts.second = '2-digit';
      fmtCache[key] = new Intl.DateTimeFormat(locale, opts);
    }
    return fmtCache[key];
  }
  KG.fmt = {
    datetime: (iso) => (iso ? formatter('datetime').format(new Date(iso)) : '—'),
    date: (iso) => (iso ? formatter('date').format(new Date(iso)) : '—'),
    time: (iso) => (iso ? formatter('time').format(new Date(iso)) : '—'),
    day: (iso) => (iso ? new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(new Date(iso)) : ''),
    num: (n, digits) => (n === null || n === undefined ? '—' : Number(n).toLocaleString(state.lang === 'en' ? 'en-US' : 'zh-CN', { maximumFractionDigits: digits === undefined ? 1 : digits })),
    yuan: (n) => '¥' + Number(n || 0).toLocaleString('zh-CN', { maximumFractionDigits: 2 }),
    percent: (v) => (v === null || v === undefined ? '—' : (v * 100).toFixed(1) + '%'),
    duration(seconds) {
      if (seconds === null || seconds === undefined || isNaN(seconds)) return '—';
      seconds = Math.round(seconds);
      const h_ = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
      if (state.lang === 'en') return (h_ ? h_ + 'h ' : '') + (h_ || m ? m + 'm ' : '') + s + 's';
      return (h_ ? h_ + '小时' : '') + (h_ || m ? m + '分' : '') + s + '秒';
    },
    metric(value, unit) {
      if (value === null || value === undefined) return '—';
      if (unit === '%') return KG.fmt.percent(value);
      if (unit === 's') return KG.fmt.duration(value);
      return KG.fmt.num(value, 2);
    },
  };

  const PLATFORM_EN = { douyin: 'Douyin', pinduoduo: 'Pinduoduo', tmall: 'Tmall', taobao: 'Taobao', jd: 'JD', kuaishou: 'Kuaishou' };
  KG.PLATFORMS = Object.keys(PLATFORM_EN);
  KG.platformName = (code) => {
    if (!code) return '—';
    if (state.lang === 'en') return PLATFORM_EN[code] || code;
    return (state.me && state.me.platforms && state.me.platforms[code]) || code;
  };
  KG.categoryName = (code) => {
    if (!code) return '—';
    if (state.lang === 'en') {
      const en = KG.STRINGS.en['cat.' + code];
      if (en) return en;
    }
    return (state.me && state.me.categories && state.me.categories[code]) || code;
  };
  KG.SEVERITIES = ['critical', 'major', 'minor', 'info'];
  KG.severityName = (code) => t('sev.' + code);
  KG.sevBadge = (code) => (code ? h('span', { class: 'sev sev-' + code }, KG.severityName(code)) : h('span', { class: 'muted' }, '—'));
  KG.roleName = (role) => t('role.' + role);
  KG.basisName = (basis) => (basis ? t('basis.' + basis) : '');

  // ------------------------------------------------------------------ building blocks
  /** A table in a horizontally scrollable, focusable region. columns: [{label, render(row) | key, num}] */
  KG.table = function (columns, rows, opts) {
    opts = opts || {};
    const thead = h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label))));
    const tbody = h('tbody', null, rows.map((row, i) => h('tr', { class: opts.rowClass ? opts.rowClass(row, i) : null, dataset: opts.rowData ? opts.rowData(row, i) : null },
      columns.map((c) => h('td', { class: c.num ? 'num' : c.class || null, 'data-label': c.label }, c.render ? c.render(row, i) : (row[c.key] ?? '—'))))));
    const table = h('table', { class: 'data', id: opts.id || null }, opts.caption ? h('caption', { class: 'sr-only' }, opts.caption) : null, thead, tbody);
    if (!rows.length) tbody.append(h('tr', null, h('td', { colspan: columns.length, class: 'empty' }, opts.empty || t('noRows'))));
    return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': opts.caption || t('table') }, table);
  };

  KG.field = function (label, control, opts) {
    opts = opts || {};
    if (!control.id) control.id = KG.uid('f');
    return h('div', { class: 'field' + (opts.wide ? ' field-wide' : '') }, h('label', { for: control.id }, label), control);
  };

  KG.selectEl = function (id, options, value, onchange) {
    const select = h('select', { id, name: id });
    for (const o of options) select.append(h('option', { value: o.value }, o.label));
    select.value = value === null || value === undefined ? '' : String(value);
    if (onchange) select.addEventListener('change', () => onchange(select.value));
    return select;
  };

  KG.pager = function (total, limit, offset, go) {
    const pages = Math.max(1, Math.ceil(total / limit));
    const current = Math.floor(offset / limit) + 1;
    return h('nav', { class: 'pager', 'aria-label': t('pagination') },
      h('button', { type: 'button', class: 'btn btn-secondary', id: 'page-prev', disabled: current <= 1, onclick: () => go(offset - limit) }, t('prev')),
      h('span', { class: 'pager-info' }, t('pageOf', { page: current, pages, total })),
      h('button', { type: 'button', class: 'btn btn-secondary', id: 'page-next', disabled: current >= pages, onclick: () => go(offset + limit) }, t('next')));
  };

  KG.empty = (text, ...extra) => h('div', { class: 'empty-state' }, h('p', null, text), extra);

  KG.errorBox = function (err) {
    const status = err && err.status;
    const text = err && err.text ? err.text() : String(err);
    return h('div', { class: 'error-box', role: 'alert', dataset: { status: String(status || ''), code: (err && err.code) || '' } },
      h('strong', null, status === 404 ? t('notFound') : status === 403 ? t('forbidden') : t('error')), ' ', text);
  };

  KG.busy = async function (button, work) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try { return await work(); } finally { button.disabled = false; button.removeAttribute('aria-busy'); }
  };

  /** Highlight spans [{start, end, severity, rule, title, id}] of a text: text nodes and <mark>s. */
  KG.highlight = function (text, spans, idPrefix) {
    const out = [];
    let at = 0;
    const sorted = spans.filter((s) => s.start !== null && s.end !== null && s.end > s.start && s.end <= text.length)
      .sort((a, b) => a.start - b.start || b.end - a.end);
    for (const s of sorted) {
      if (s.start < at) continue; // overlapping: the first one is marked, all are listed
      if (s.start > at) out.push(text.slice(at, s.start));
      out.push(h('mark', {
        class: 'violation sev-' + s.severity, tabindex: '0', dataset: { rule: s.rule, severity: s.severity },
        title: `${s.title} (${KG.severityName(s.severity)})`, 'aria-describedby': s.id ? idPrefix + s.id : null,
      }, text.slice(s.start, s.end)));
      at = s.end;
    }
    if (at < text.length) out.push(text.slice(at));
    return out;
  };

  // ------------------------------------------------------------------ charts (Apache ECharts, SVG)
  // the page's own font stack (labels are measured with it, so they are not cut off)
  const FONT = 'system-ui, -apple-system, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';
  KG.chart = function (el, option) {
    state.pendingCharts.push([el, option]);
    return el;
  };
  function mountCharts() {
    const pending = state.pendingCharts;
    state.pendingCharts = [];
    for (const [el, option] of pending) {
      if (!el.isConnected) continue;
      if (!window.echarts) { el.textContent = t('chartsUnavailable'); continue; }
      const chart = window.echarts.init(el, null, { renderer: 'svg', locale: state.lang === 'en' ? 'EN' : 'ZH' });
      chart.setOption(Object.assign({ animation: false, aria: { enabled: true }, textStyle: { fontFamily: FONT } }, option));
      if (option.onClick) chart.on('click', option.onClick);
      el.kgChart = chart;
      state.charts.push(chart);
    }
  }
  KG.mountCharts = mountCharts;
  window.addEventListener('resize', KG.debounce(() => { for (const chart of state.charts) chart.resize(); }, 150));
  KG.SEV_COLORS = { critical: '#c62828', major: '#ef6c00', minor: '#f9a825', info: '#78909c' };

  // ------------------------------------------------------------------ routing
  const routes = [];
  /** KG.route(name, /^\/path\/(\d+)$/, minimum role or null, async render(view, match, ctx)) */
  KG.route = (name, pattern, role, render, opts) => routes.push(Object.assign({ name, pattern, role, render }, opts || {}));

  function parseHash() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const cut = raw.indexOf('?');
    return { path: cut >= 0 ? raw.slice(0, cut) : raw, params: new URLSearchParams(cut >= 0 ? raw.slice(cut + 1) : '') };
  }
  KG.params = () => parseHash().params;

  KG.go = function (path, params) {
    const target = '#' + path + KG.qs(params);
    if (location.hash === target) render();
    else location.hash = target;
  };
  KG.refresh = () => render();

  function home() {
    if (!state.me) return '/login';
    return KG.can('supervisor') ? '/overview' : '/check';
  }

  const NAV = [
    ['overview', '/overview', 'supervisor'],
    ['agents', '/agents', 'supervisor'],
    ['kpis', '/kpis', 'supervisor'],
    ['conversations', '/conversations', 'agent'],
    ['check', '/check', 'agent'],
    ['scripts', '/scripts', 'agent'],
    ['quiz', '/quiz', 'agent'],
    ['rules', '/rules', 'agent'],
    ['settings', '/settings', 'supervisor'],
    ['upload', '/upload', 'supervisor'],
    ['alerts', '/alerts', 'admin'],
  ];

  function renderChrome(active) {
    document.documentElement.lang = state.lang === 'en' ? 'en' : 'zh-CN';
    document.title = t('appTitle');
    const nav = KG.$('#nav');
    nav.setAttribute('aria-label', t('mainNav'));
    nav.replaceChildren();
    if (state.me) {
      const list = h('ul', null, NAV.filter(([, , role]) => KG.can(role)).map(([name, path]) => {
        const label = name === 'conversations' && !KG.can('supervisor') ? t('nav.myConversations') : t('nav.' + name);
        return h('li', null, h('a', { href: '#' + path, id: 'nav-' + name, 'aria-current': active === name ? 'page' : null }, label));
      }));
      nav.append(list);
    }
    document.body.dataset.signedIn = state.me ? '1' : '0';
    document.body.dataset.role = state.me ? state.me.role : '';
    KG.$('#who').textContent = state.me ? `${state.me.label || t('role.' + state.me.role)} · ${KG.roleName(state.me.role)}${state.me.tenant ? ' · ' + state.me.tenant : ''}` : '';
    KG.$('#signout').hidden = !state.me;
    KG.$('#signout').textContent = t('signOut');
    const lang = KG.$('#lang-toggle');
    lang.textContent = state.lang === 'en' ? '中文' : 'English';
    lang.setAttribute('lang', state.lang === 'en' ? 'zh-CN' : 'en');
    lang.setAttribute('aria-label', t('switchLanguage'));
    KG.$('#skip-link').textContent = t('skipToContent');
    KG.$('#menu-toggle .sr-only').textContent = t('menu');
  }

  function setMenu(open) {
    KG.$('#nav').classList.toggle('open', open);
    KG.$('#menu-toggle').setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  async function render() {
    const seq = ++state.nav;
    const started = performance.now();
    const main = KG.$('#main');
    const { path, params } = parseHash();
    setMenu(false);
    if (!state.key && path !== '/login') { location.replace('#/login'); return; }
    if (state.key && !state.me) {
      try {
        state.me = await KG.api('/v1/me');
      } catch (err) {
        if (seq !== state.nav) return;
        KG.signOut(err.status === 401 ? t('sessionExpired') : err.text());
        return;
      }
      if (seq !== state.nav) return;
    }
    if (path === '/' || (path === '/login' && state.me)) { location.replace('#' + home()); return; }
    let route = null;
    let match = null;
    for (const r of routes) {
      match = r.pattern.exec(path);
      if (match) { route = r; break; }
    }
    if (!route) { location.replace('#' + home()); return; }
    main.dataset.ready = '0';
    document.body.dataset.route = route.name;
    renderChrome(route.nav || route.name);
    const view = h('div', { class: 'page', id: 'page-' + route.name });
    if (route.role && !KG.can(route.role)) {
      view.append(h('h1', { tabindex: '-1' }, t('nav.' + (route.nav || route.name))), KG.errorBox(new ApiError(403, { error: { message: t('needRole', { role: KG.roleName(route.role) }), message_en: t('needRole', { role: route.role }) } })));
    } else {
      try {
        await route.render(view, match, { params, seq, isCurrent: () => seq === state.nav });
      } catch (err) {
        if (seq !== state.nav) return;
        view.append(KG.errorBox(err));
      }
    }
    if (seq !== state.nav) return;
    for (const chart of state.charts) chart.dispose();
    state.charts = [];
    main.replaceChildren(view);
    mountCharts();
    main.dataset.ready = '1';
    const ms = Math.round(performance.now() - started);
    main.dataset.renderMs = String(ms);
    KG.timings.push({ route: route.name, path, ms, at: Math.round(performance.now()) });
    // the focus moves to the new page (its autofocus field, else its heading), as a screen reader expects
    const target = view.querySelector('[autofocus]') || view.querySelector('h1');
    if (target) {
      if (target.tagName === 'H1' && !target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
      target.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }

  // ------------------------------------------------------------------ session
  KG.signIn = async function (key) {
    state.key = key.trim();
    state.me = null;
    try {
      state.me = await KG.api('/v1/me');
    } catch (err) {
      state.key = '';
      throw err;
    }
    sessionStorage.setItem(KEY_STORE, state.key);
    state.cache = {};
    location.hash = '#' + home();
  };

  KG.signOut = function (message) {
    sessionStorage.removeItem(KEY_STORE);
    state.key = '';
    state.me = null;
    state.cache = {};
    KG.signOutMessage = message || '';
    if (location.hash !== '#/login') location.hash = '#/login';
    else render();
  };

  KG.setLang = function (lang) {
    state.lang = lang === 'en' ? 'en' : 'zh';
    localStorage.setItem(LANG_STORE, state.lang);
    render();
  };

  document.addEventListener('DOMContentLoaded', () => {
    KG.$('#lang-toggle').addEventListener('click', () => KG.setLang(state.lang === 'en' ? 'zh' : 'en'));
    KG.$('#signout').addEventListener('click', () => KG.signOut(t('signedOut')));
    KG.$('#menu-toggle').addEventListener('click', () => setMenu(!KG.$('#nav').classList.contains('open')));
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && KG.$('#nav').classList.contains('open')) { setMenu(false); KG.$('#menu-toggle').focus(); }
    });
    KG.$('#skip-link').addEventListener('click', (event) => { event.preventDefault(); KG.$('#main').focus(); });
    window.addEventListener('hashchange', render);
    renderChrome(null);
    render();
  });
})();
