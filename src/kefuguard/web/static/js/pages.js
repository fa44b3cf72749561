/* kefuguard 客服质检看板 — the pages: sign-in, overview, agents, conversations (list and viewer), rules,
 * shop settings, pre-send checker, upload, alerts (the sales KPIs are in kpis.js). Each renders into a
 * fresh view; app.js swaps it in. */
(function () {
  'use strict';

  const KG = window.KG;
  const { h, t, api, fmt } = KG;
  const state = KG.state;

  const { pageHead } = KG;
  const section = (title, ...kids) => KG.card(title, null, ...kids);
  const platformOptions = (withAll) => [].concat(withAll ? [{ value: '', label: t('all') }] : [], KG.PLATFORMS.map((p) => ({ value: p, label: KG.platformName(p) })));
  const shopLabel = (shop) => `${shop.name}（${KG.platformName(shop.platform)}）`;

  // ================================================================== sign-in
  KG.route('login', /^\/login$/, null, async (view) => {
    const input = h('input', { type: 'password', id: 'api-key', name: 'api-key', autocomplete: 'off', spellcheck: 'false', required: true, autofocus: true, placeholder: 'kg_…' });
    const error = h('div', { id: 'login-error', class: 'error-box', role: 'alert', hidden: true });
    const button = h('button', { type: 'submit', class: 'btn', id: 'login-submit' }, t('signIn'));
    const form = h('form', { class: 'card login', id: 'login-form', novalidate: true },
      h('h1', { tabindex: '-1' }, t('signInTitle')),
      h('p', { class: 'muted' }, t('signInHelp')),
      KG.field(t('apiKey'), input, { wide: true }),
      h('p', { class: 'hint' }, t('signInKeyHint'), ' ', h('code', null, 'kefuguard keys create --tenant … --role supervisor')),
      error, h('div', { class: 'actions' }, button));
    if (KG.signOutMessage) { error.hidden = false; error.textContent = KG.signOutMessage; KG.signOutMessage = ''; }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!input.value.trim()) { error.hidden = false; error.textContent = t('keyMissing'); input.focus(); return; }
      await KG.busy(button, async () => {
        try {
          await KG.signIn(input.value);
        } catch (err) {
          error.hidden = false;
          error.textContent = err.status === 401 ? t('keyInvalid') : err.text();
          input.focus();
        }
      });
    });
    view.append(h('div', { class: 'login-wrap' }, form));
  });

  // ================================================================== overview
  KG.route('overview', /^\/overview$/, 'supervisor', async (view, match, ctx) => {
    const p = ctx.params;
    const query = { run_id: p.get('run_id'), shop_id: p.get('shop_id'), platform: p.get('platform'), period: p.get('period') || 'week', day: p.get('day') };
    const [data, runs, shops] = await Promise.all([api('/v1/overview' + KG.qs(query)), KG.runs(), KG.shops()]);
    view.append(pageHead(t('nav.overview'), data.run ? KG.exportButton('metrics', { run_id: data.run.id, level: 'shop', shop_id: query.shop_id }) : null));
    if (!data.run) {
      view.append(KG.empty(t('noAudit'), h('a', { class: 'btn', href: '#/upload' }, t('nav.upload'))));
      return;
    }
    const go = (change) => KG.go('/overview', Object.assign({}, query, change));
    const days = data.days;
    view.append(h('p', { class: 'muted', id: 'overview-run' }, t('runLine', { id: data.run.id, from: days[0] || '—', to: days[days.length - 1] || '—', files: (data.run.files || []).length })));

    // filters
    const periodGroup = h('fieldset', { class: 'segmented', id: 'period' }, h('legend', null, t('period')),
      ['day', 'week', 'all'].map((kind) => {
        const id = 'period-' + kind;
        const radio = h('input', { type: 'radio', name: 'period', id, value: kind, checked: data.period.kind === kind });
        radio.addEventListener('change', () => go({ period: kind }));
        return [radio, h('label', { for: id }, t('period.' + kind))];
      }));
    const filters = h('form', { class: 'filters', id: 'overview-filters', onsubmit: (e) => e.preventDefault() },
      KG.field(t('audit'), KG.selectEl('f-run', runs.map((r) => ({ value: r.id, label: `#${r.id} · ${fmt.datetime(r.created_at)}` })), query.run_id || data.run.id, (v) => go({ run_id: v }))),
      KG.field(t('platform'), KG.selectEl('f-platform', platformOptions(true), query.platform, (v) => go({ platform: v, shop_id: null }))),
      KG.field(t('shop'), KG.selectEl('f-shop', [{ value: '', label: t('allShops') }].concat(shops.filter((s) => !query.platform || s.platform === query.platform).map((s) => ({ value: s.id, label: shopLabel(s) }))), query.shop_id, (v) => go({ shop_id: v }))),
      periodGroup,
      data.period.kind !== 'all' ? KG.field(t('day'), KG.selectEl('f-day', days.map((d) => ({ value: d, label: d })), data.period.day, (v) => go({ day: v }))) : null);
    view.append(filters);
    if (data.period.kind !== 'all') view.append(h('p', { class: 'muted', id: 'period-line' }, t('periodLine', { from: data.period.day_from, to: data.period.day_to })));

    // headline numbers
    const ex = data.exposure.totals;
    const tile = (id, label, value, extra) => h('div', { class: 'tile' + (extra ? ' ' + extra : ''), id }, h('div', { class: 'tile-label' }, label), h('div', { class: 'tile-value' }, value));
    view.append(h('div', { class: 'tiles' },
      tile('tile-conversations', t('conversations'), fmt.num(data.totals.conversations || 0, 0)),
      tile('tile-messages', t('messages'), fmt.num(data.totals.messages || 0, 0)),
      tile('tile-findings', t('findings'), fmt.num(data.totals.findings || 0, 0), data.findings_by_severity.critical ? 'tile-bad' : ''),
      tile('tile-failed', t('failedMetrics'), fmt.num(data.totals.failed_metrics || 0, 0), data.totals.failed_metrics ? 'tile-bad' : 'tile-ok'),
      tile('tile-yuan', t('exposureYuan'), fmt.yuan(ex.yuan)),
      tile('tile-points', t('points'), fmt.num(ex.points || 0, 1)),
      tile('tile-deposit', t('depositAtRisk'), fmt.yuan(ex.deposit_at_risk_yuan))));

    // metrics against thresholds
    const metricRows = [];
    for (const shop of data.shops) for (const m of shop.metrics) metricRows.push(Object.assign({ shop: shop.shop, platform: shop.platform }, m));
    const status = (m) => (m.passed === true ? h('span', { class: 'status status-ok' }, '✓ ', t('passed'))
      : m.passed === false ? h('span', { class: 'status status-bad' }, '✗ ', t('failed')) : h('span', { class: 'status status-na' }, t('noThreshold')));
    const cmp = { '>=': '≥', '>': '>', '<=': '≤', '<': '<' };
    view.append(section(t('metricsVsThresholds'),
      KG.table([
        { label: t('shop'), key: 'shop' },
        { label: t('platform'), render: (m) => KG.platformName(m.platform) },
        { label: t('metric'), render: (m) => h('span', { title: m.note || m.metric }, m.title) },
        { label: t('value'), num: true, render: (m) => fmt.metric(m.value, m.unit) },
        { label: t('threshold'), num: true, render: (m) => (m.threshold === null || m.threshold === undefined ? '—' : `${cmp[m.comparison] || ''} ${fmt.metric(m.threshold, m.unit)}`) },
        { label: t('status'), render: status },
      ], metricRows, { id: 'metrics-table', caption: t('metricsVsThresholds'), rowClass: (m) => 'metric-row ' + (m.passed === false ? 'row-bad' : m.passed === true ? 'row-ok' : ''), rowData: (m) => ({ metric: m.metric, passed: String(m.passed) }), empty: t('noMetrics') })));

    // charts
    const cats = data.findings_by_category;
    const catChart = h('div', { class: 'chart', id: 'chart-categories', style: `height:${Math.max(220, cats.length * 26 + 60)}px` });
    KG.chart(catChart, {
      grid: { left: 8, right: 40, top: 10, bottom: 10, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', inverse: true, axisLabel: { width: 130, overflow: 'truncate' }, data: cats.map((c) => KG.categoryName(c.category)) },
      series: [{ type: 'bar', data: cats.map((c) => c.count), itemStyle: { color: '#1f6feb' }, label: { show: true, position: 'right' }, cursor: 'pointer' }],
      onClick: (event) => KG.go('/conversations', { category: cats[event.dataIndex].category, shop_id: query.shop_id, platform: query.platform }),
    });
    const trend = data.trend;
    const trendChart = h('div', { class: 'chart', id: 'chart-trend' });
    KG.chart(trendChart, {
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis' },
      legend: { top: 0, data: KG.SEVERITIES.map(KG.severityName) },
      xAxis: { type: 'category', data: trend.days },
      yAxis: { type: 'value', minInterval: 1 },
      series: KG.SEVERITIES.map((sev) => ({ name: KG.severityName(sev), type: 'bar', stack: 'all', data: trend.findings[sev] || [], itemStyle: { color: KG.SEV_COLORS[sev] } })),
    });
    view.append(h('div', { class: 'grid-2' },
      section(t('findingsByCategory'), cats.length ? catChart : KG.empty(t('noFindings')), h('p', { class: 'hint' }, t('categoryHint'))),
      section(t('findingsPerDay'), trendChart)));

    // a metric per day against its threshold
    if (trend.metrics.length) {
      const options = trend.metrics.map((m, i) => ({ value: String(i), label: `${m.shop} · ${m.title}` }));
      const firstBad = Math.max(0, trend.metrics.findIndex((m) => m.passed.includes(false)));
      const metricChart = h('div', { class: 'chart', id: 'chart-metric' });
      const optionFor = (m) => {
        const scale = m.unit === '%' ? 100 : 1;
        const series = { type: 'line', name: m.title, connectNulls: true, data: m.values.map((v) => (v === null ? null : +(v * scale).toFixed(2))), itemStyle: { color: '#1f6feb' }, symbolSize: 8 };
        if (m.threshold !== null && m.threshold !== undefined) {
          series.markLine = { symbol: 'none', lineStyle: { type: 'dashed', color: '#c62828' }, label: { position: 'insideEndTop', formatter: t('threshold') + ' {c}' }, data: [{ yAxis: +(m.threshold * scale).toFixed(2) }] };
        }
        return {
          grid: { left: 8, right: 60, top: 20, bottom: 8, containLabel: true },
          tooltip: { trigger: 'axis' },
          xAxis: { type: 'category', data: trend.days },
          yAxis: { type: 'value', axisLabel: { formatter: m.unit === '%' ? '{value}%' : '{value}' } },
          series: [series],
        };
      };
      const select = KG.selectEl('f-metric', options, String(firstBad), (v) => { if (metricChart.kgChart) metricChart.kgChart.setOption(optionFor(trend.metrics[+v]), true); });
      KG.chart(metricChart, optionFor(trend.metrics[firstBad]));
      view.append(section(t('metricTrend'), KG.field(t('metric'), select), metricChart));
    }

    // exposure
    const exRows = data.exposure.shops;
    view.append(section(t('exposure'),
      h('p', { class: 'hint' }, t('exposureHint', { from: data.exposure.days[0] || '—', to: data.exposure.days[1] || '—' })),
      KG.table([
        { label: t('shop'), key: 'shop' },
        { label: t('platform'), render: (r) => KG.platformName(r.platform) },
        { label: t('platformFine'), num: true, render: (r) => fmt.yuan(r.fine_yuan) },
        { label: t('buyerCompensation'), num: true, render: (r) => fmt.yuan(r.buyer_compensation_yuan) },
        { label: t('shopPolicy'), num: true, render: (r) => fmt.yuan(r.shop_policy_yuan) },
        { label: t('totalYuan'), num: true, render: (r) => h('strong', null, fmt.yuan(r.yuan)) },
        { label: t('points'), num: true, render: (r) => fmt.num(r.points, 1) },
        { label: t('depositAtRisk'), num: true, render: (r) => fmt.yuan(r.deposit_at_risk_yuan) },
      ], exRows, { id: 'exposure-table', caption: t('exposure') }),
      exRows.filter((r) => r.charges && r.charges.length).map((r) => h('details', { class: 'charges' },
        h('summary', null, t('chargesOf', { shop: r.shop })),
        KG.table([
          { label: t('rule'), render: (c) => h('span', null, c.title, ' ', h('code', null, c.rule)) },
          { label: t('basis'), render: (c) => KG.basisName(c.basis) },
          { label: t('events'), num: true, key: 'events' },
          { label: t('yuan'), num: true, render: (c) => fmt.yuan(c.yuan) },
          { label: t('points'), num: true, render: (c) => fmt.num(c.points, 1) },
          { label: t('penalty'), key: 'penalty' },
        ], r.charges, { caption: t('chargesOf', { shop: r.shop }) })))));
  });

  // ================================================================== agents
  KG.route('agents', /^\/agents$/, 'supervisor', async (view, match, ctx) => {
    const p = ctx.params;
    const [runs, shops] = await Promise.all([KG.runs(), KG.shops()]);
    const runId = p.get('run_id') || (runs[0] && runs[0].id);
    const shopId = p.get('shop_id');
    view.append(pageHead(t('leaderboard'), runId ? KG.exportButton('scores', { run_id: runId, shop_id: shopId }) : null));
    if (!runId) { view.append(KG.empty(t('noAudit'))); return; }
    const scores = (await api('/v1/scores' + KG.qs({ run_id: runId, shop_id: shopId, limit: 500 }))).items.sort((a, b) => b.score - a.score || a.rank - b.rank);
    const go = (change) => KG.go('/agents', Object.assign({ run_id: runId, shop_id: shopId }, change));
    view.append(h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
      KG.field(t('audit'), KG.selectEl('f-run', runs.map((r) => ({ value: r.id, label: `#${r.id} · ${fmt.datetime(r.created_at)}` })), runId, (v) => go({ run_id: v }))),
      KG.field(t('shop'), KG.selectEl('f-shop', [{ value: '', label: t('allShops') }].concat(shops.map((s) => ({ value: s.id, label: shopLabel(s) }))), shopId, (v) => go({ shop_id: v })))));
    const name = (s) => (s.unassigned ? t('unassigned') : s.agent);
    view.append(section(null, KG.table([
      { label: t('rank'), num: true, render: (s, i) => i + 1 },
      { label: t('agent'), render: (s) => (s.agent_id ? h('a', { href: `#/agents/${s.agent_id}?run_id=${runId}`, class: 'agent-link' }, name(s)) : name(s)) },
      { label: t('shop'), key: 'shop' },
      { label: t('platform'), render: (s) => KG.platformName(s.platform) },
      { label: t('score'), num: true, render: (s) => h('span', { class: 'score' }, h('span', { class: 'score-bar', style: `width:${Math.max(0, Math.min(100, s.score))}%` }), h('span', { class: 'score-num' }, fmt.num(s.score, 1))) },
      { label: t('lowest'), num: true, render: (s) => fmt.num(s.min_score, 0) },
      { label: t('conversations'), num: true, key: 'conversations' },
      { label: t('findings'), num: true, key: 'findings' },
      { label: KG.severityName('critical'), num: true, render: (s) => (s.findings_by_severity || {}).critical || 0 },
      { label: t('firstResponse'), num: true, render: (s) => fmt.duration(s.mean_first_response_seconds) },
    ], scores, { id: 'leaderboard', caption: t('leaderboard'), rowClass: () => 'agent-row', rowData: (s) => ({ agent: s.agent || '' }) })));
    const top = scores.slice(0, 30);
    if (top.length) {
      view.append(section(t('scoreChart'), KG.chart(h('div', { class: 'chart', id: 'chart-scores', style: `height:${top.length * 24 + 50}px` }), {
        grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        xAxis: { type: 'value', min: 0, max: 100 },
        yAxis: { type: 'category', inverse: true, axisLabel: { width: 130, overflow: 'truncate' }, data: top.map(name) },
        series: [{ type: 'bar', data: top.map((s) => s.score), label: { show: true, position: 'right' }, itemStyle: { color: '#2e7d32' } }],
      })));
    }
  });

  KG.route('agent', /^\/agents\/(\d+)$/, 'supervisor', async (view, match, ctx) => {
    const id = match[1];
    const runId = ctx.params.get('run_id') || null;
    const [scores, findings, convs, kpis] = await Promise.all([
      api('/v1/scores' + KG.qs({ agent_id: id, limit: 50 })),
      api('/v1/findings' + KG.qs({ agent_id: id, run_id: runId, limit: 100 })),
      api('/v1/conversations' + KG.qs({ agent_id: id, flagged: true, limit: 50 })),
      api('/v1/kpis' + KG.qs({ agent_id: id, run_id: runId, level: 'agent', limit: 500 })),
    ]);
    const latest = scores.items.find((s) => !runId || String(s.run_id) === String(runId)) || scores.items[0];
    const agentName = latest ? latest.agent : `#${id}`;
    view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/agents' + (runId ? '?run_id=' + runId : '') }, '← ', t('leaderboard'))));
    view.append(pageHead(`${t('agent')}：${agentName}`, KG.exportButton('findings', { agent_id: id, run_id: runId })));
    if (latest) {
      view.append(h('div', { class: 'tiles' },
        h('div', { class: 'tile', id: 'tile-score' }, h('div', { class: 'tile-label' }, t('score')), h('div', { class: 'tile-value' }, fmt.num(latest.score, 1))),
        h('div', { class: 'tile' }, h('div', { class: 'tile-label' }, t('rank')), h('div', { class: 'tile-value' }, latest.rank)),
        h('div', { class: 'tile' }, h('div', { class: 'tile-label' }, t('conversations')), h('div', { class: 'tile-value' }, latest.conversations)),
        h('div', { class: 'tile' + (latest.findings ? ' tile-bad' : '') }, h('div', { class: 'tile-label' }, t('findings')), h('div', { class: 'tile-value' }, latest.findings)),
        h('div', { class: 'tile' }, h('div', { class: 'tile-label' }, t('firstResponse')), h('div', { class: 'tile-value' }, fmt.duration(latest.mean_first_response_seconds)))));
      const byCat = Object.entries(latest.findings_by_category || {}).sort((a, b) => b[1] - a[1]);
      const parts = [];
      if (byCat.length) {
        parts.push(section(t('findingsByCategory'), KG.chart(h('div', { class: 'chart', id: 'chart-agent-categories', style: `height:${byCat.length * 24 + 50}px` }), {
          grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
          xAxis: { type: 'value', minInterval: 1 },
          yAxis: { type: 'category', inverse: true, axisLabel: { width: 130, overflow: 'truncate' }, data: byCat.map(([c]) => KG.categoryName(c)) },
          series: [{ type: 'bar', data: byCat.map(([, n]) => n), label: { show: true, position: 'right' }, itemStyle: { color: '#ef6c00' } }],
        })));
      }
      if (scores.items.length > 1) {
        const hist = scores.items.slice().reverse();
        parts.push(section(t('scoreHistory'), KG.chart(h('div', { class: 'chart', id: 'chart-agent-history' }), {
          grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true }, tooltip: { trigger: 'axis' },
          xAxis: { type: 'category', data: hist.map((s) => '#' + s.run_id) }, yAxis: { type: 'value', min: 0, max: 100 },
          series: [{ type: 'line', data: hist.map((s) => s.score), itemStyle: { color: '#2e7d32' } }],
        })));
      }
      if (parts.length) view.append(h('div', { class: 'grid-2' }, parts));
    }
    // sales KPIs per day, of the audit the page shows (kpis.js)
    const kpiRun = runId || (latest && latest.run_id) || (kpis.items[0] && kpis.items[0].run_id);
    view.append(KG.agentKpis(kpis.items, kpiRun));
    view.append(section(t('agentFindings'), KG.table([
      { label: t('time'), render: (f) => fmt.datetime(f.sent_at) },
      { label: t('severity'), render: (f) => KG.sevBadge(f.severity) },
      { label: t('category'), render: (f) => KG.categoryName(f.category) },
      { label: t('rule'), render: (f) => h('span', null, f.title, ' ', h('code', null, f.rule_id)) },
      { label: t('matchedOrDetail'), render: (f) => f.matched || f.detail || '—' },
      { label: t('conversation'), render: (f) => h('a', { href: `#/conversations/${f.conversation_id}` }, f.conversation_external_id) },
    ], findings.items, { id: 'agent-findings', caption: t('agentFindings') })));
    view.append(section(t('flaggedConversations'), conversationTable(convs.items)));
  }, { nav: 'agents' });

  // ================================================================== conversations
  function conversationTable(items) {
    return KG.table([
      { label: t('started'), render: (c) => fmt.datetime(c.started_at) },
      { label: t('conversation'), render: (c) => h('a', { href: `#/conversations/${c.id}`, class: 'conv-link' }, c.external_id) },
      { label: t('shop'), key: 'shop' },
      { label: t('platform'), render: (c) => KG.platformName(c.platform) },
      { label: t('buyer'), key: 'buyer_id' },
      { label: t('messages'), num: true, key: 'message_count' },
      { label: t('findings'), num: true, render: (c) => c.findings || 0 },
      { label: t('worst'), render: (c) => KG.sevBadge(c.worst) },
    ], items, { id: 'conversation-list', caption: t('nav.conversations'), rowClass: (c) => 'conv-row' + (c.findings ? ' flagged' : ''), rowData: (c) => ({ id: String(c.id), worst: c.worst || '' }) });
  }

  KG.route('conversations', /^\/conversations$/, 'agent', async (view, match, ctx) => {
    const p = ctx.params;
    const limit = 50;
    const f = {};
    for (const name of ['platform', 'shop_id', 'agent_id', 'category', 'severity', 'day_from', 'day_to', 'flagged']) f[name] = p.get(name) || null;
    const offset = Math.max(0, parseInt(p.get('offset') || '0', 10) || 0);
    const supervisor = KG.can('supervisor');
    const [list, shops, agents] = await Promise.all([
      api('/v1/conversations' + KG.qs(Object.assign({}, f, { limit, offset }))),
      supervisor ? KG.shops() : Promise.resolve([]),
      supervisor ? KG.agents() : Promise.resolve([]),
    ]);
    const go = (change) => KG.go('/conversations', Object.assign({}, f, { offset: 0 }, change));
    view.append(pageHead(supervisor ? t('nav.conversations') : t('nav.myConversations'), KG.exportButton('conversations', f)));
    const cats = Object.entries(state.me.categories || {}).map(([code]) => ({ value: code, label: KG.categoryName(code) })).sort((a, b) => a.label.localeCompare(b.label, 'zh-CN'));
    const dayInput = (name) => {
      const input = h('input', { type: 'date', id: 'f-' + name.replace('_', '-'), name, value: f[name] || '' });
      input.addEventListener('change', () => go({ [name]: input.value || null }));
      return input;
    };
    const flagged = h('input', { type: 'checkbox', id: 'f-flagged', checked: f.flagged === 'true' });
    flagged.addEventListener('change', () => go({ flagged: flagged.checked ? 'true' : null }));
    view.append(h('form', { class: 'filters', id: 'conversation-filters', onsubmit: (e) => e.preventDefault() },
      KG.field(t('platform'), KG.selectEl('f-platform', platformOptions(true), f.platform, (v) => go({ platform: v, shop_id: null }))),
      supervisor ? KG.field(t('shop'), KG.selectEl('f-shop', [{ value: '', label: t('allShops') }].concat(shops.filter((s) => !f.platform || s.platform === f.platform).map((s) => ({ value: s.id, label: shopLabel(s) }))), f.shop_id, (v) => go({ shop_id: v, agent_id: null }))) : null,
      supervisor ? KG.field(t('agent'), KG.selectEl('f-agent', [{ value: '', label: t('allAgents') }].concat(agents.filter((a) => !f.shop_id || String(a.shop_id) === f.shop_id).map((a) => ({ value: a.id, label: a.external_id }))), f.agent_id, (v) => go({ agent_id: v }))) : null,
      KG.field(t('category'), KG.selectEl('f-category', [{ value: '', label: t('all') }].concat(cats), f.category, (v) => go({ category: v }))),
      KG.field(t('severity'), KG.selectEl('f-severity', [{ value: '', label: t('all') }].concat(KG.SEVERITIES.map((s) => ({ value: s, label: KG.severityName(s) }))), f.severity, (v) => go({ severity: v }))),
      KG.field(t('dayFrom'), dayInput('day_from')),
      KG.field(t('dayTo'), dayInput('day_to')),
      h('div', { class: 'field field-check' }, flagged, h('label', { for: 'f-flagged' }, t('onlyFlagged')))));
    view.append(h('p', { class: 'muted', id: 'conversation-count' }, t('conversationCount', { total: list.total })));
    view.append(section(null, conversationTable(list.items), KG.pager(list.total, limit, offset, (o) => KG.go('/conversations', Object.assign({}, f, { offset: o })))));
  });

  KG.route('conversation', /^\/conversations\/(\d+)$/, 'agent', async (view, match) => {
    view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/conversations' }, '← ', KG.can('supervisor') ? t('nav.conversations') : t('nav.myConversations'))));
    let c;
    try {
      c = await api('/v1/conversations/' + match[1]);
    } catch (err) {
      view.append(pageHead(t('conversation')), KG.errorBox(err));
      if (err.status === 404) view.append(h('p', { class: 'hint', id: 'not-yours' }, t('conversationNotFound')));
      return;
    }
    const runId = c.findings.reduce((m, f) => Math.max(m, f.run_id), 0);
    const current = c.findings.filter((f) => f.run_id === runId);
    const rules = c.rules || {};
    const byMessage = new Map();
    const whole = [];
    for (const f of current) {
      if (f.message_id === null) whole.push(f);
      else { if (!byMessage.has(f.message_id)) byMessage.set(f.message_id, []); byMessage.get(f.message_id).push(f); }
    }
    const sevCount = {};
    for (const f of current) sevCount[f.severity] = (sevCount[f.severity] || 0) + 1;
    view.append(pageHead(`${t('conversation')} ${c.external_id}`));
    view.append(h('dl', { class: 'meta', id: 'conversation-meta' },
      h('dt', null, t('shop')), h('dd', null, c.shop), h('dt', null, t('platform')), h('dd', null, KG.platformName(c.platform)),
      h('dt', null, t('buyer')), h('dd', null, c.buyer_id || '—'), h('dt', null, t('started')), h('dd', null, fmt.datetime(c.started_at)),
      h('dt', null, t('messages')), h('dd', null, c.message_count),
      h('dt', null, t('findings')), h('dd', { id: 'conversation-findings' }, current.length ? KG.SEVERITIES.filter((s) => sevCount[s]).map((s) => [KG.sevBadge(s), ' ×', sevCount[s], ' ']) : t('none')),
      runId ? [h('dt', null, t('audit')), h('dd', null, '#' + runId)] : null));

    const card = (f) => {
      const rule = rules[f.rule_id] || {};
      const source = rule.source;
      const penalty = f.penalty || rule.penalty;
      return h('article', { class: 'finding sev-border-' + f.severity, id: 'finding-' + f.id, dataset: { rule: f.rule_id, severity: f.severity } },
        h('header', null, KG.sevBadge(f.severity), ' ', h('strong', { class: 'finding-title' }, f.title || rule.title || f.rule_id), ' ', h('code', { class: 'rule-id' }, f.rule_id),
          ' ', h('span', { class: 'chip' }, KG.categoryName(f.category))),
        h('dl', { class: 'finding-body' },
          f.matched ? [h('dt', null, t('matched')), h('dd', { class: 'matched' }, f.matched)] : null,
          f.detail ? [h('dt', null, t('detail')), h('dd', null, f.detail)] : null,
          penalty ? [h('dt', null, t('penalty')), h('dd', { class: 'penalty' }, penalty.text, penalty.basis ? h('span', { class: 'chip' }, KG.basisName(penalty.basis)) : null)] : null,
          source ? [h('dt', null, t('source')), h('dd', { class: 'source' }, h('blockquote', null, source.quote), h('cite', null, source.file))] : null,
          (f.suggestion || rule.suggestion) ? [h('dt', null, t('suggestion')), h('dd', { class: 'suggestion' }, f.suggestion || rule.suggestion)] : null));
    };

    if (whole.length) view.append(section(t('conversationLevel'), h('div', { class: 'findings' }, whole.map(card))));

    const thread = h('ol', { class: 'chat', id: 'chat', 'aria-label': t('messagesOf', { id: c.external_id }) });
    let waitingSince = null;
    let lastDay = null;
    const senderName = (m) => (m.role === 'buyer' ? t('role.buyer') : m.role === 'agent' ? (m.agent || t('role.agentMsg')) : t('msgRole.' + m.role));
    for (const m of c.messages) {
      const day = fmt.day(m.sent_at);
      if (day !== lastDay) { thread.append(h('li', { class: 'day-sep' }, h('span', null, fmt.date(m.sent_at)))); lastDay = day; }
      const when = new Date(m.sent_at).getTime();
      if (m.role === 'buyer' && waitingSince === null) waitingSince = when;
      let gap = null;
      if (m.role === 'agent' && !m.auto_reply && waitingSince !== null) {
        const seconds = (when - waitingSince) / 1000;
        gap = h('div', { class: 'gap' + (seconds > 180 ? ' gap-slow' : ''), dataset: { seconds: String(Math.round(seconds)) } }, '⏱ ', t('replyAfter', { d: fmt.duration(seconds) }));
        waitingSince = null;
      }
      const found = byMessage.get(m.id) || [];
      const spans = found.filter((f) => f.kind === 'message').map((f) => ({ start: f.start, end: f.end, severity: f.severity, rule: f.rule_id, title: f.title, id: f.id }));
      const flags = [m.quick_reply ? t('quickReply') : null, m.auto_reply ? t('autoReply') : null, m.buyer_reported ? t('buyerReported') : null].filter(Boolean);
      thread.append(h('li', { class: `msg msg-${m.role}` + (found.length ? ' has-findings' : ''), id: 'msg-' + m.id, dataset: { role: m.role } },
        gap,
        h('div', { class: 'bubble' },
          h('div', { class: 'bubble-head' }, h('span', { class: 'sender' }, senderName(m)), ' ', h('time', { datetime: m.sent_at }, fmt.time(m.sent_at)),
            flags.map((x) => h('span', { class: 'chip' }, x))),
          h('p', { class: 'text' }, KG.highlight(m.text, spans, 'finding-'))),
        found.length ? h('div', { class: 'findings' }, found.map(card)) : null));
    }
    view.append(section(t('chat'), thread));
  }, { nav: 'conversations' });

  // ================================================================== rules
  KG.route('rules', /^\/rules$/, 'agent', async (view, match, ctx) => {
    const p = ctx.params;
    let fallback = 'pinduoduo';
    if (state.me.agent) fallback = state.me.agent.platform;
    else if (KG.can('supervisor')) { const shops = await KG.shops(); if (shops.length) fallback = shops[0].platform; }
    const platform = p.get('platform') || fallback;
    const category = p.get('category') || '';
    const data = await api('/v1/rules' + KG.qs({ platform }));
    const go = (change) => KG.go('/rules', Object.assign({ platform, category }, change));
    view.append(pageHead(t('nav.rules'), KG.exportButton('rules', { platform })));
    const all = data.items.map((r) => Object.assign({ kind: 'message' }, r)).concat((data.audit_checks || []).map((r) => Object.assign({ examples: null }, r)));
    const cats = Array.from(new Set(all.map((r) => r.category)));
    const search = h('input', { type: 'search', id: 'rule-search', placeholder: t('searchRules') });
    view.append(h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
      KG.field(t('platform'), KG.selectEl('f-platform', platformOptions(false), platform, (v) => go({ platform: v }))),
      KG.field(t('category'), KG.selectEl('f-category', [{ value: '', label: t('all') }].concat(cats.map((c) => ({ value: c, label: KG.categoryName(c) }))), category, (v) => go({ category: v }))),
      KG.field(t('search'), search)));
    const count = h('p', { class: 'muted', id: 'rule-count' });
    const list = h('div', { id: 'rule-list' });
    view.append(count, list);
    const draw = () => {
      const needle = search.value.trim().toLowerCase();
      const shown = all.filter((r) => (!category || r.category === category) && (!needle || [r.id, r.title, r.suggestion, r.source && r.source.quote].join(' ').toLowerCase().includes(needle)));
      count.textContent = t('ruleCount', { n: shown.length, total: all.length });
      const groups = new Map();
      for (const r of shown) { const key = r.category; if (!groups.has(key)) groups.set(key, []); groups.get(key).push(r); }
      list.replaceChildren(...Array.from(groups.entries()).map(([cat, rules]) => h('section', { class: 'card rule-group', dataset: { category: cat } },
        h('h2', null, KG.categoryName(cat), ' ', h('span', { class: 'muted' }, `(${rules.length})`)),
        rules.map((r) => h('details', { class: 'rule', id: 'rule-' + r.id.replace(/[^\w-]/g, '_'), dataset: { rule: r.id } },
          h('summary', null, KG.sevBadge(r.severity), ' ', h('span', { class: 'rule-title' }, r.title), ' ', h('code', null, r.id), r.kind === 'conversation' ? h('span', { class: 'chip' }, t('conversationCheck')) : null),
          h('dl', { class: 'finding-body' },
            h('dt', null, t('penalty')), h('dd', null, r.penalty.text, r.penalty.basis ? h('span', { class: 'chip' }, KG.basisName(r.penalty.basis)) : null),
            h('dt', null, t('source')), h('dd', { class: 'source' }, h('blockquote', null, r.source.quote), h('cite', null, r.source.file)),
            h('dt', null, t('suggestion')), h('dd', null, r.suggestion),
            r.examples ? [h('dt', null, t('examplesHit')), h('dd', null, h('ul', { class: 'examples hit' }, (r.examples.hit || []).slice(0, 6).map((x) => h('li', null, x)))),
              h('dt', null, t('examplesMiss')), h('dd', null, h('ul', { class: 'examples miss' }, (r.examples.miss || []).slice(0, 6).map((x) => h('li', null, x))))] : null))))));
    };
    search.addEventListener('input', KG.debounce(draw, 150));
    draw();
  });

  // ================================================================== shop settings
  KG.route('settings', /^\/settings$/, 'supervisor', async (view, match, ctx) => {
    const shops = await KG.shops();
    view.append(pageHead(t('nav.settings')));
    if (!shops.length) { view.append(KG.empty(t('noShops'))); return; }
    const shopId = ctx.params.get('shop_id') || String(shops[0].id);
    const shop = shops.find((s) => String(s.id) === shopId) || shops[0];
    const [record, rules, history] = await Promise.all([
      api(`/v1/shops/${shop.id}/settings`), api('/v1/rules' + KG.qs({ platform: shop.platform })),
      api(`/v1/shops/${shop.id}/settings/history?limit=10`)]);
    const draft = JSON.parse(JSON.stringify(record.settings));
    draft.banned_words = draft.banned_words || [];
    draft.allowed_phrases = draft.allowed_phrases || [];
    draft.disabled_rules = draft.disabled_rules || [];
    let dirty = false;

    view.append(h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
      KG.field(t('shop'), KG.selectEl('f-shop', shops.map((s) => ({ value: s.id, label: shopLabel(s) })), shop.id, (v) => KG.go('/settings', { shop_id: v })))));
    const status = h('p', { class: 'muted', id: 'settings-version' }, t('settingsVersion', { v: record.version, who: record.updated_by || '—', when: record.updated_at ? fmt.datetime(record.updated_at) : '—' }));
    const saveButton = h('button', { type: 'button', class: 'btn', id: 'settings-save', disabled: true }, t('saveApply'));
    const saveError = h('div', { class: 'error-box', role: 'alert', id: 'settings-error', hidden: true });
    const touch = () => { dirty = true; saveButton.disabled = false; saveButton.textContent = t('saveApply') + ' •'; };

    // banned words
    const wordList = h('ul', { class: 'chips-list', id: 'word-list' });
    const drawWords = () => wordList.replaceChildren(...(draft.banned_words.length ? draft.banned_words.map((w, i) => h('li', { class: 'word', dataset: { word: w.text } },
      h('span', { class: 'word-text' }, w.text), w.regex ? h('span', { class: 'chip' }, t('regex')) : null,
      (w.tags || []).map((tag) => h('span', { class: 'chip' }, tag)), ' ', KG.sevBadge(w.severity || 'major'), ' ',
      h('button', { type: 'button', class: 'btn-link', 'aria-label': t('removeWord', { w: w.text }), onclick: () => { draft.banned_words.splice(i, 1); drawWords(); touch(); } }, t('remove'))))
      : [h('li', { class: 'muted' }, t('noWords'))]));
    drawWords();
    const wordText = h('input', { type: 'text', id: 'word-text', maxlength: '200' });
    const wordTags = h('input', { type: 'text', id: 'word-tags', placeholder: t('tagsPlaceholder') });
    const wordSeverity = KG.selectEl('word-severity', KG.SEVERITIES.map((s) => ({ value: s, label: KG.severityName(s) })), 'major');
    const wordRegex = h('input', { type: 'checkbox', id: 'word-regex' });
    const addWord = () => {
      const text = wordText.value.trim();
      if (!text) { wordText.focus(); return; }
      if (draft.banned_words.some((w) => w.text === text)) { KG.toast(t('wordExists'), 'error'); return; }
      const word = { text, severity: wordSeverity.value };
      const tags = wordTags.value.split(/[,，]/).map((x) => x.trim()).filter(Boolean);
      if (tags.length) word.tags = tags;
      if (wordRegex.checked) word.regex = true;
      draft.banned_words.push(word);
      wordText.value = ''; wordTags.value = ''; wordRegex.checked = false;
      drawWords(); touch(); wordText.focus();
    };
    wordText.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); addWord(); } });
    view.append(section(t('bannedWords'), h('p', { class: 'hint' }, t('bannedWordsHint')), wordList,
      h('div', { class: 'filters add-row' }, KG.field(t('word'), wordText), KG.field(t('tags'), wordTags), KG.field(t('severity'), wordSeverity),
        h('div', { class: 'field field-check' }, wordRegex, h('label', { for: 'word-regex' }, t('regex'))),
        h('button', { type: 'button', class: 'btn btn-secondary', id: 'word-add', onclick: addWord }, t('addWord')))));

    // allowed phrases
    const phraseList = h('ul', { class: 'chips-list', id: 'phrase-list' });
    const drawPhrases = () => phraseList.replaceChildren(...(draft.allowed_phrases.length ? draft.allowed_phrases.map((x, i) => h('li', null, h('span', null, x), ' ',
      h('button', { type: 'button', class: 'btn-link', 'aria-label': t('removeWord', { w: x }), onclick: () => { draft.allowed_phrases.splice(i, 1); drawPhrases(); touch(); } }, t('remove'))))
      : [h('li', { class: 'muted' }, t('noPhrases'))]));
    drawPhrases();
    const phraseText = h('input', { type: 'text', id: 'phrase-text', maxlength: '200' });
    const addPhrase = () => {
      const text = phraseText.value.trim();
      if (!text || draft.allowed_phrases.includes(text)) return;
      draft.allowed_phrases.push(text); phraseText.value = ''; drawPhrases(); touch(); phraseText.focus();
    };
    phraseText.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); addPhrase(); } });
    view.append(section(t('allowedPhrases'), h('p', { class: 'hint' }, t('allowedPhrasesHint')), phraseList,
      h('div', { class: 'filters add-row' }, KG.field(t('phrase'), phraseText), h('button', { type: 'button', class: 'btn btn-secondary', id: 'phrase-add', onclick: addPhrase }, t('add')))));

    // rule switches
    const ruleFilter = h('input', { type: 'search', id: 'switch-search', placeholder: t('searchRules') });
    const switches = h('ul', { class: 'switches', id: 'rule-switches' }, rules.items.map((r) => {
      const box = h('input', { type: 'checkbox', id: 'switch-' + r.id.replace(/[^\w-]/g, '_'), checked: !draft.disabled_rules.includes(r.id), dataset: { rule: r.id } });
      box.addEventListener('change', () => {
        draft.disabled_rules = draft.disabled_rules.filter((x) => x !== r.id);
        if (!box.checked) draft.disabled_rules.push(r.id);
        touch();
      });
      return h('li', { dataset: { text: (r.id + ' ' + r.title + ' ' + r.category_zh).toLowerCase() } }, box, h('label', { for: box.id }, KG.sevBadge(r.severity), ' ', r.title, ' ', h('code', null, r.id)));
    }));
    ruleFilter.addEventListener('input', () => {
      const needle = ruleFilter.value.trim().toLowerCase();
      for (const li of switches.children) li.hidden = !!needle && !li.dataset.text.includes(needle);
    });
    view.append(section(t('ruleSwitches'), h('p', { class: 'hint' }, t('ruleSwitchesHint')), KG.field(t('search'), ruleFilter), switches));

    saveButton.addEventListener('click', () => KG.busy(saveButton, async () => {
      saveError.hidden = true;
      try {
        const saved = await api(`/v1/shops/${shop.id}/settings`, { method: 'PUT', body: draft, headers: { 'If-Match': `"${record.version}"` } });
        dirty = false;
        KG.forget('shops');
        KG.toast(t('savedVersion', { v: saved.version }), 'ok');
        KG.go('/settings', { shop_id: shop.id });
      } catch (err) {
        saveError.hidden = false;
        saveError.textContent = err.text() + (err.status === 409 ? ' ' + t('reloadHint') : '');
      }
    }));
    view.append(h('div', { class: 'savebar' }, status, saveError, saveButton));
    view.append(section(t('history'), KG.table([
      { label: t('version'), num: true, key: 'version' },
      { label: t('time'), render: (x) => fmt.datetime(x.at) },
      { label: t('who'), key: 'who' },
      { label: t('changes'), render: (x) => h('ul', { class: 'diff' }, (x.diff || []).slice(0, 8).map((d) => h('li', null, h('span', { class: 'chip' }, t('op.' + d.op)), ' ', h('code', null, d.path || ''), ' ', d.op === 'change' ? `${diffValue(d.old)} → ${diffValue(d.new)}` : diffValue(d.value)))) },
    ], history.items, { id: 'settings-history', caption: t('history'), empty: t('noHistory') })));
    window.onbeforeunload = () => (dirty ? true : undefined);
  });

  function diffValue(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'string') return v;
    if (typeof v === 'object' && !Array.isArray(v) && v.text) return v.text;
    return JSON.stringify(v);
  }

  // ================================================================== pre-send checker
  /** What a check (or a script search) is for: the caller's shops (an agent: their own), then each
   * platform's rules alone. Values "shop:<id>" / "platform:<code>". */
  KG.checkTargets = async function () {
    const me = state.me;
    let targets = [];
    if (KG.can('supervisor')) {
      const shops = await KG.shops();
      targets = shops.map((s) => ({ value: 'shop:' + s.id, label: shopLabel(s) }));
    } else if (me.agent) {
      targets = [{ value: 'shop:' + me.agent.shop_id, label: `${me.agent.shop}（${KG.platformName(me.agent.platform)}）` }];
    }
    return targets.concat(KG.PLATFORMS.map((p) => ({ value: 'platform:' + p, label: t('platformOnly', { p: KG.platformName(p) }) })));
  };
  /** The select of check targets, set to the page's shop_id / platform parameter when it names one. */
  KG.targetSelect = function (id, targets, params) {
    const wanted = params.get('shop_id') ? 'shop:' + params.get('shop_id') : params.get('platform') ? 'platform:' + params.get('platform') : targets[0].value;
    return KG.selectEl(id, targets, targets.some((x) => x.value === wanted) ? wanted : targets[0].value);
  };
  /** A target value as API parameters: {shop_id} or {platform}. */
  KG.targetParams = function (value) {
    const [kind, code] = value.split(':');
    return kind === 'shop' ? { shop_id: Number(code) } : { platform: code };
  };
  const TONE_STORE = 'kefuguard.tone';

  KG.route('check', /^\/check$/, 'agent', async (view, match, ctx) => {
    const targets = await KG.checkTargets();
    const target = KG.targetSelect('check-target', targets, ctx.params);
    const text = h('textarea', { id: 'check-text', rows: '5', maxlength: '10000', autofocus: true, placeholder: t('checkPlaceholder') });
    const tone = h('input', { type: 'checkbox', id: 'check-tone', checked: localStorage.getItem(TONE_STORE) === '1', 'aria-describedby': 'check-tone-hint' });
    const toneField = h('div', { class: 'field field-check tone-toggle' }, tone, h('label', { for: 'check-tone' }, t('toneCheck')),
      h('span', { class: 'hint', id: 'check-tone-hint' }, t('toneHint')));
    const status = h('div', { id: 'check-status', class: 'check-status', role: 'status', 'aria-live': 'polite', dataset: { state: 'idle' } }, t('checkIdle'));
    const preview = h('p', { id: 'check-preview', class: 'preview', hidden: true });
    const findingsList = h('ul', { id: 'check-findings', class: 'check-findings' });
    const rewriteText = h('p', { class: 'rewrite-text', id: 'rewrite-text' });
    const useRewrite = h('button', { type: 'button', class: 'btn', id: 'use-rewrite' }, t('useRewrite'));
    const rewriteNote = h('p', { class: 'hint', id: 'rewrite-note' });
    const rewriteBox = h('section', { class: 'card rewrite', id: 'check-rewrite', hidden: true }, h('h2', null, t('rewrite')), rewriteText, rewriteNote, h('div', { class: 'actions' }, useRewrite));
    let seq = 0;
    let lastRewrite = null;

    const show = (res, sent) => {
      const findings = res.findings || [];
      status.dataset.state = findings.length ? 'bad' : 'ok';
      status.textContent = findings.length ? t('checkFound', { n: findings.length }) : t('checkClean');
      if (res.settings_version !== null && res.settings_version !== undefined) status.append(h('span', { class: 'muted' }, ' · ' + t('settingsApplied', { v: res.settings_version })));
      if (res.tone) status.append(KG.toneBadge(res.tone));
      preview.hidden = !findings.length;
      preview.replaceChildren(...KG.highlight(sent, findings.map((f) => ({ start: f.start, end: f.end, severity: f.severity, rule: f.rule_id, title: f.title, id: KG.cssId(f) })), 'check-finding-'));
      findingsList.replaceChildren(...findings.map((f) => h('li', { class: 'finding sev-border-' + f.severity, id: 'check-finding-' + KG.cssId(f), dataset: { rule: f.rule_id, severity: f.severity } },
        h('header', null, KG.sevBadge(f.severity), ' ', h('strong', null, f.title), ' ', h('code', null, f.rule_id), (f.tags || []).map((tag) => h('span', { class: 'chip' }, tag))),
        h('dl', { class: 'finding-body' },
          h('dt', null, t('matched')), h('dd', { class: 'matched' }, f.matched),
          f.penalty ? [h('dt', null, t('penalty')), h('dd', null, f.penalty.text || '')] : null,
          f.source ? [h('dt', null, t('source')), h('dd', { class: 'source' }, h('blockquote', null, f.source.quote || ''), h('cite', null, f.source.file || ''))] : null,
          f.suggestion ? [h('dt', null, t('suggestion')), h('dd', { class: 'suggestion' }, f.suggestion)] : null))));
      const rw = res.rewrite;
      lastRewrite = rw && rw.changed ? rw.text : null;
      rewriteBox.hidden = !lastRewrite;
      rewriteText.textContent = lastRewrite || '';
      rewriteNote.textContent = rw && rw.changed && !rw.complete ? t('rewriteIncomplete', { rules: (rw.unfixed || []).join(', ') }) : '';
    };

    const run = async () => {
      const message = text.value;
      const mine = ++seq;
      if (!message.trim()) { status.dataset.state = 'idle'; status.textContent = t('checkIdle'); preview.hidden = true; findingsList.replaceChildren(); rewriteBox.hidden = true; return; }
      status.dataset.state = 'busy';
      const body = Object.assign({ text: message, rewrite: true, draft: true }, KG.targetParams(target.value));
      if (tone.checked) body.semantic = true;
      try {
        const res = await api('/v1/check', { method: 'POST', body });
        if (mine !== seq) return; // a newer check is on its way
        show(res, message);
      } catch (err) {
        if (mine !== seq) return;
        status.dataset.state = 'error';
        status.textContent = err.text();
      }
    };
    const later = KG.debounce(run, 300);
    text.addEventListener('input', () => { status.dataset.state = 'typing'; later(); });
    target.addEventListener('change', () => { run(); if (scripts.input.value.trim()) scripts.run(); });
    tone.addEventListener('change', () => { localStorage.setItem(TONE_STORE, tone.checked ? '1' : '0'); run(); });
    useRewrite.addEventListener('click', () => {
      if (lastRewrite === null) return;
      text.value = lastRewrite;
      text.focus();
      run();
    });
    // the 话术 library: a compliant script for the buyer's question, one click into the box
    const scripts = KG.scriptSearch({
      id: 'check-script', where: () => KG.targetParams(target.value), useLabel: t('scriptUse'),
      onUse: (m) => { text.value = m.text; text.focus(); run(); },
    });
    view.append(pageHead(t('nav.check')), h('p', { class: 'muted' }, t('checkHelp')),
      section(null, KG.field(t('checkTarget'), target), KG.field(t('message'), text, { wide: true }), toneField, status, preview),
      rewriteBox, h('section', { class: 'card' }, h('h2', null, t('problems')), findingsList),
      h('section', { class: 'card', id: 'check-scripts' }, h('h2', null, t('scriptsOnCheck')), h('p', { class: 'hint' }, t('scriptsOnCheckHint')), scripts.el));
    const given = ctx.params.get('text');
    if (given) { text.value = given; run(); }
  });
  KG.cssId = (f) => `${f.rule_id}-${f.start}-${f.end}`.replace(/[^\w-]/g, '_');

  // ================================================================== upload
  KG.route('upload', /^\/upload$/, 'supervisor', async (view, match, ctx) => {
    const runId = ctx.params.get('run_id');
    const [runs, run] = await Promise.all([api('/v1/audits?limit=10'), runId ? api('/v1/audits/' + runId) : Promise.resolve(null)]);
    view.append(pageHead(t('nav.upload')));
    const files = h('input', { type: 'file', id: 'upload-files', name: 'file', multiple: true, accept: '.csv,.tsv,.txt,.jsonl,.json,.xlsx' });
    const exportInput = (kind) => h('input', { type: 'file', id: 'upload-' + kind, name: kind, multiple: true, accept: '.csv,.tsv,.txt,.xlsx' });
    const orders = exportInput('orders');
    const refunds = exportInput('refunds');
    const attribution = KG.selectEl('upload-attribution', ['last_manual_24h', 'same_day'].map((name) => ({ value: name, label: t('attribution.' + name) })), 'last_manual_24h');
    const platform = KG.selectEl('upload-platform', [{ value: '', label: t('fromFile') }].concat(platformOptions(false)), '');
    const shop = h('input', { type: 'text', id: 'upload-shop', maxlength: '200', placeholder: t('fromFile') });
    const submit = h('button', { type: 'submit', class: 'btn', id: 'upload-submit' }, t('uploadStart'));
    const bar = h('div', { class: 'bar-fill' });
    const barLabel = h('span', { class: 'bar-label', id: 'upload-progress-label' });
    const progress = h('div', { class: 'progress', id: 'upload-progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0', 'aria-labelledby': 'upload-progress-label', hidden: true, dataset: { phase: 'idle' } }, bar);
    const error = h('div', { class: 'error-box', role: 'alert', id: 'upload-error', hidden: true });
    const setProgress = (phase, fraction) => {
      const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
      progress.hidden = false;
      progress.dataset.phase = phase;
      progress.setAttribute('aria-valuenow', String(pct));
      bar.style.width = pct + '%';
      barLabel.textContent = t('phase.' + phase, { pct });
    };
    const form = h('form', { class: 'card', id: 'upload-form' },
      h('p', { class: 'hint' }, t('uploadHelp')),
      h('div', { class: 'filters' }, KG.field(t('files'), files, { wide: true }), KG.field(t('platformIfMissing'), platform), KG.field(t('shopIfMissing'), shop)),
      h('fieldset', { class: 'exports', id: 'upload-exports' }, h('legend', null, t('salesExports')), h('p', { class: 'hint' }, t('uploadKpiHelp')),
        h('div', { class: 'filters' }, KG.field(t('orderFiles'), orders), KG.field(t('refundFiles'), refunds), KG.field(t('attribution'), attribution))),
      h('div', { class: 'actions' }, submit), barLabel, progress, error);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      if (!files.files.length) { error.hidden = false; error.textContent = t('chooseFiles'); files.focus(); return; }
      const data = new FormData();
      for (const f of files.files) data.append('file', f, f.name);
      for (const input of [orders, refunds]) for (const f of input.files) data.append(input.name, f, f.name);
      if (orders.files.length) data.append('attribution', attribution.value);
      if (platform.value) data.append('platform', platform.value);
      if (shop.value.trim()) data.append('shop', shop.value.trim());
      submit.disabled = true;
      try {
        const started = await uploadWithProgress(data, (fraction) => setProgress('upload', fraction));
        setProgress('queued', 0);
        for (;;) {
          const current = await api('/v1/audits/' + started.id);
          if (current.status === 'done') { setProgress('done', 1); KG.forget('runs', 'shops', 'agents'); KG.go('/upload', { run_id: current.id }); return; }
          if (current.status === 'failed') throw Object.assign(new Error(current.error), { text: () => current.error || t('auditFailed') });
          setProgress(current.status === 'queued' ? 'queued' : 'audit', current.progress || 0);
          await new Promise((resolve) => setTimeout(resolve, 400));
          if (!ctx.isCurrent()) return;
        }
      } catch (err) {
        error.hidden = false;
        error.textContent = err.text ? err.text() : String(err);
      } finally {
        submit.disabled = false;
      }
    });
    view.append(form);
    if (run) view.append(runSummary(run));
    view.append(section(t('recentAudits'), KG.table([
      { label: '#', num: true, render: (r) => h('a', { href: `#/upload?run_id=${r.id}` }, r.id) },
      { label: t('time'), render: (r) => fmt.datetime(r.created_at) },
      { label: t('status'), render: (r) => h('span', { class: 'status status-' + (r.status === 'done' ? 'ok' : r.status === 'failed' ? 'bad' : 'na') }, t('runStatus.' + r.status)) },
      { label: t('files'), render: (r) => ((r.params && r.params.files) || []).join('、') || t('storedData') },
      { label: t('conversations'), num: true, key: 'conversations' },
      { label: t('findings'), num: true, key: 'findings' },
      { label: t('by'), key: 'created_by' },
    ], runs.items, { id: 'audit-list', caption: t('recentAudits') })));
  });

  function uploadWithProgress(form, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/v1/audits');
      xhr.setRequestHeader('X-API-Key', state.key);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
      xhr.addEventListener('load', () => {
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300) { onProgress(1); resolve(body); } else reject(new KG.ApiError(xhr.status, body));
      });
      xhr.addEventListener('error', () => reject(new KG.ApiError(0, null)));
      xhr.send(form);
    });
  }

  function runSummary(run) {
    const s = run.summary || {};
    const imports = s.imports || {};
    const out = h('section', { class: 'card', id: 'run-summary', dataset: { status: run.status, run: String(run.id) } },
      h('h2', null, t('runSummary', { id: run.id }), ' ', h('span', { class: 'status status-' + (run.status === 'done' ? 'ok' : run.status === 'failed' ? 'bad' : 'na') }, t('runStatus.' + run.status))));
    if (run.error) out.append(h('div', { class: 'error-box', role: 'alert' }, run.error));
    if (s.ingest && s.ingest.length) {
      out.append(h('h3', null, t('importSummary')), KG.table([
        { label: t('file'), key: 'file' },
        { label: t('read'), num: true, key: 'read' },
        { label: t('added'), num: true, key: 'added' },
        { label: t('duplicates'), num: true, key: 'duplicates' },
        { label: t('rejected'), num: true, render: (x) => h('span', { class: x.rejected ? 'bad-text' : '' }, x.rejected) },
        { label: t('seconds'), num: true, render: (x) => fmt.num(x.seconds, 2) },
      ], s.ingest, { id: 'import-summary', caption: t('importSummary') }));
    }
    if (imports.read !== undefined) {
      out.append(h('p', { id: 'import-totals' }, t('importTotals', { read: imports.read, accepted: imports.accepted, duplicates: imports.duplicates, rejected: imports.rejected })));
    }
    if (s.kpis) {
      const imports = Object.entries(s.kpis.imports || {}).map(([kind, x]) => Object.assign({ kind }, x));
      out.append(h('h3', null, t('kpiImports')), KG.table([
        { label: t('file'), render: (x) => t('exportKind.' + x.kind) + '：' + (((run.params || {})[x.kind]) || []).join('、') },
        { label: t('read'), num: true, key: 'read' },
        { label: t('accepted'), num: true, key: 'accepted' },
        { label: t('duplicates'), num: true, key: 'duplicates' },
        { label: t('rejected'), num: true, render: (x) => h('span', { class: x.rejected ? 'bad-text' : '' }, x.rejected) },
      ], imports, { id: 'kpi-imports', caption: t('kpiImports') }));
    }
    if (s.shops && s.shops.length) {
      out.append(h('h3', null, t('shopsAudited')), KG.table([
        { label: t('shop'), key: 'shop' },
        { label: t('platform'), render: (x) => KG.platformName(x.platform) },
        { label: t('conversations'), num: true, key: 'conversations' },
        { label: t('messages'), num: true, key: 'messages' },
        { label: t('findings'), num: true, key: 'findings' },
        { label: t('meanScore'), num: true, render: (x) => fmt.num(x.mean_score, 1) },
      ], s.shops, { id: 'shops-audited', caption: t('shopsAudited') }));
    }
    const reports = run.reports || [];
    if (reports.length) {
      const labels = { rejects: t('downloadRejects'), order_rejects: t('downloadOrderRejects'), html: t('reportHtml'), xlsx: t('reportXlsx'), json: t('reportJson'), findings: t('findingsCsv') };
      out.append(h('div', { class: 'actions downloads' }, ['rejects', 'order_rejects', 'xlsx', 'html', 'json', 'findings'].filter((k) => reports.includes(k)).map((k) =>
        KG.downloadButton(labels[k], `/v1/audits/${run.id}/reports/${k}`, k, 'download-' + k))));
      out.append(h('p', null, h('a', { href: `#/overview?run_id=${run.id}` }, t('openOverview')), ' · ', h('a', { href: '#/conversations?flagged=true' }, t('openFlagged')),
        s.kpis ? [' · ', h('a', { href: `#/kpis?run_id=${run.id}`, id: 'open-kpis' }, t('openKpis'))] : null));
    }
    return out;
  }

  // ================================================================== alerts
  KG.route('alerts', /^\/alerts$/, 'admin', async (view, match, ctx) => {
    const status = ctx.params.get('status') || '';
    const [hooks, deliveries] = await Promise.all([api('/v1/webhooks'), api('/v1/deliveries' + KG.qs({ status, limit: 100 }))]);
    view.append(pageHead(t('nav.alerts')), h('p', { class: 'muted' }, t('alertsHelp')));
    const kinds = ['wecom', 'dingtalk', 'feishu'];
    view.append(section(t('webhooks'), KG.table([
      { label: t('name'), render: (w) => w.name || '—' },
      { label: t('robot'), render: (w) => t('kind.' + w.kind) },
      { label: 'URL', render: (w) => h('code', { class: 'url' }, w.url) },
      { label: t('secret'), render: (w) => (w.has_secret ? t('yes') : t('no')) },
      { label: t('enabled'), render: (w) => {
        const box = h('input', { type: 'checkbox', id: 'hook-enabled-' + w.id, checked: w.enabled, 'aria-label': t('enableRobot', { name: w.name || w.id }) });
        box.addEventListener('change', async () => {
          try { await api('/v1/webhooks/' + w.id, { method: 'PATCH', body: { enabled: box.checked } }); KG.toast(t('saved'), 'ok'); }
          catch (err) { box.checked = !box.checked; KG.toast(err.text(), 'error'); }
        });
        return box;
      } },
      { label: '', render: (w) => h('button', { type: 'button', class: 'btn-link', onclick: async () => {
        if (!window.confirm(t('confirmDelete', { name: w.name || w.id }))) return;
        try { await api('/v1/webhooks/' + w.id, { method: 'DELETE' }); KG.refresh(); } catch (err) { KG.toast(err.text(), 'error'); }
      } }, t('remove')) },
    ], hooks.items, { id: 'webhook-list', caption: t('webhooks'), empty: t('noWebhooks') })));

    const kind = KG.selectEl('hook-kind', kinds.map((k) => ({ value: k, label: t('kind.' + k) })), 'wecom');
    const name = h('input', { type: 'text', id: 'hook-name', maxlength: '200' });
    const url = h('input', { type: 'url', id: 'hook-url', required: true, maxlength: '2000', placeholder: 'https://…' });
    const secret = h('input', { type: 'password', id: 'hook-secret', autocomplete: 'off', maxlength: '500' });
    const error = h('div', { class: 'error-box', role: 'alert', id: 'hook-error', hidden: true });
    const add = h('button', { type: 'submit', class: 'btn', id: 'hook-add' }, t('addWebhook'));
    const form = h('form', { class: 'card', id: 'hook-form' }, h('h2', null, t('addWebhook')),
      h('div', { class: 'filters' }, KG.field(t('robot'), kind), KG.field(t('name'), name), KG.field(t('webhookUrl'), url, { wide: true }), KG.field(t('secretOptional'), secret)),
      error, h('div', { class: 'actions' }, add));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      KG.busy(add, async () => {
        error.hidden = true;
        try {
          const body = { kind: kind.value, url: url.value.trim(), name: name.value.trim() };
          if (secret.value) body.secret = secret.value;
          await api('/v1/webhooks', { method: 'POST', body });
          KG.toast(t('saved'), 'ok');
          KG.refresh();
        } catch (err) { error.hidden = false; error.textContent = err.text(); }
      });
    });
    view.append(form);
    const names = Object.fromEntries(hooks.items.map((w) => [w.id, w.name || t('kind.' + w.kind)]));
    view.append(section(t('deliveries'),
      h('div', { class: 'filters' }, KG.field(t('status'), KG.selectEl('f-delivery-status', [{ value: '', label: t('all') }].concat(['sent', 'failed', 'deduplicated', 'rate_limited', 'pending'].map((s) => ({ value: s, label: t('delivery.' + s) }))), status, (v) => KG.go('/alerts', { status: v }))),
        KG.exportButton('deliveries', { status })),
      KG.table([
        { label: t('time'), render: (d) => fmt.datetime(d.sent_at || d.created_at) },
        { label: t('robot'), render: (d) => names[d.webhook_id] || '#' + d.webhook_id },
        { label: t('status'), render: (d) => h('span', { class: 'status status-' + (d.status === 'sent' ? 'ok' : d.status === 'failed' ? 'bad' : 'na') }, t('delivery.' + d.status)) },
        { label: t('event'), render: (d) => (d.event_kind ? t('event.' + d.event_kind) : '—') },
        { label: t('subject'), render: (d) => d.subject || '—' },
        { label: t('shop'), render: (d) => d.shop || '—' },
        { label: t('attempts'), num: true, key: 'attempts' },
        { label: t('error'), render: (d) => d.last_error || '' },
      ], deliveries.items, { id: 'delivery-list', caption: t('deliveries'), empty: t('noDeliveries') })));
  });
})();
