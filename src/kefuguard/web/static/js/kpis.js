/* kefuguard 客服质检看板 — sales KPIs (issue 15): the 销售指标 page (shops and platforms over the whole
 * audit with their daily threshold marks, the daily 询单转化率 chart, the agents) and the KPI section of
 * an agent's drill-down (that agent's KPIs per day). The rows come from GET /v1/kpis. */
(function () {
  'use strict';

  const KG = window.KG;
  const { h, t, api, fmt } = KG;

  const { pageHead, card: section } = KG;
  const shopLabel = (shop) => `${shop.name}（${KG.platformName(shop.platform)}）`;
  const CMP = { '>=': '≥', '>': '>', '<=': '≤', '<': '<' };
  const hours = (v) => (v === null || v === undefined ? '—' : t('hours', { h: fmt.num(v, 1) }));
  const byDay = (a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0);

  /** The threshold of a row's 询单转化率 ("≥ 50.0%"), from its results; '' without one. */
  const conversionThreshold = (rows) => {
    for (const r of rows) for (const res of r.results || []) if (res.metric === 'conversion_rate' && res.threshold !== null) return res;
    return null;
  };

  /** A daily row against its thresholds: ✓ 达标 / ✗ 未达标 / 无考核线 (like the reply metrics). */
  const dayStatus = (row) => (row.passed === true ? h('span', { class: 'status status-ok' }, '✓ ', t('passed'))
    : row.passed === false ? h('span', { class: 'status status-bad' }, '✗ ', t('failed'))
      : h('span', { class: 'status status-na' }, t('noThreshold')));

  /** Over a whole period: how many of its judged days passed, green when all did, red otherwise. */
  const periodStatus = (daily) => {
    const judged = daily.filter((r) => r.passed !== null);
    if (!judged.length) return h('span', { class: 'status status-na', dataset: { passed: '' } }, t('noThreshold'));
    const ok = judged.filter((r) => r.passed).length;
    const all = ok === judged.length;
    return h('span', { class: 'status ' + (all ? 'status-ok' : 'status-bad'), dataset: { passed: String(all) } },
      all ? '✓ ' : '✗ ', t('kpiDaysPassed', { ok, n: judged.length }));
  };

  // the columns the tables share (a row of GET /v1/kpis each); `judged`: the threshold columns, after the conversion
  const salesColumns = (judged) => [
    { label: t('kpi.consulted'), num: true, key: 'consulted' },
    { label: t('kpi.converted'), num: true, key: 'converted' },
    { label: t('kpi.conversion_rate'), num: true, render: (r) => h('span', { class: 'kpi-conversion' }, fmt.percent(r.conversion_rate)) },
    ...(judged || []),
    { label: t('kpi.ordered'), num: true, key: 'ordered' },
    { label: t('kpi.paid'), num: true, key: 'paid' },
    { label: t('kpi.fulfilment_rate'), num: true, render: (r) => fmt.percent(r.fulfilment_rate) },
    { label: t('kpi.sales'), num: true, render: (r) => h('span', { class: 'kpi-sales' }, fmt.yuan(r.sales)) },
    { label: t('kpi.avg_order_value'), num: true, render: (r) => (r.avg_order_value === null ? '—' : fmt.yuan(r.avg_order_value)) },
    { label: t('kpi.items_per_order'), num: true, render: (r) => fmt.num(r.items_per_order, 2) },
  ];
  const afterSalesColumns = () => [
    { label: t('kpi.refunds'), num: true, key: 'refunds' },
    { label: t('kpi.handling_hours'), num: true, render: (r) => hours(r.handling_hours) },
    { label: t('kpi.quality_refund_rate'), num: true, render: (r) => fmt.percent(r.quality_refund_rate) },
    { label: t('kpi.dispute_rate'), num: true, render: (r) => fmt.percent(r.dispute_rate) },
  ];

  /** 询单转化率 per day: one line per series ({name, rows}), each with its dashed threshold line. */
  function conversionChart(id, series) {
    const days = Array.from(new Set(series.flatMap((s) => s.rows.map((r) => r.day)))).sort();
    const el = h('div', { class: 'chart', id });
    return KG.chart(el, {
      grid: { left: 8, right: 60, top: 36, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '—' : v + '%') },
      legend: { top: 0, type: 'scroll' },
      xAxis: { type: 'category', data: days },
      yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
      series: series.map((s) => {
        const values = new Map(s.rows.map((r) => [r.day, r.conversion_rate]));
        const threshold = conversionThreshold(s.rows);
        return {
          type: 'line', name: s.name, connectNulls: true, symbolSize: 8,
          data: days.map((d) => (values.get(d) === null || values.get(d) === undefined ? null : +(values.get(d) * 100).toFixed(1))),
          markLine: threshold ? { symbol: 'none', lineStyle: { type: 'dashed', color: '#c62828' }, label: { position: 'insideEndTop', formatter: t('threshold') + ' {c}%' }, data: [{ yAxis: +(threshold.threshold * 100).toFixed(1) }] } : undefined,
        };
      }),
    });
  }

  const emptyKpis = (text) => KG.empty(text, KG.can('supervisor') ? h('a', { class: 'btn', href: '#/upload' }, t('nav.upload')) : null);

  // ================================================================== the KPI page
  KG.route('kpis', /^\/kpis$/, 'supervisor', async (view, match, ctx) => {
    const p = ctx.params;
    const [runs, shops] = await Promise.all([KG.runs(), KG.shops()]);
    // default: the newest audit whose upload had orders (else the newest)
    const withKpis = (r) => !!(r.summary && r.summary.kpis);
    const runId = p.get('run_id') || ((runs.find(withKpis) || runs[0] || {}).id);
    const f = { run_id: runId, platform: p.get('platform'), shop_id: p.get('shop_id') };
    view.append(pageHead(t('nav.kpis'), runId ? KG.exportButton('kpis', f) : null));
    if (!runId) { view.append(emptyKpis(t('noAudit'))); return; }
    const [run, totals, daily] = await Promise.all([
      api('/v1/audits/' + runId),
      api('/v1/kpis' + KG.qs(Object.assign({}, f, { period: 'total', limit: 500 }))),
      api('/v1/kpis' + KG.qs(Object.assign({}, f, { level: 'shop', period: 'day', limit: 500 }))),
    ]);
    const go = (change) => KG.go('/kpis', Object.assign({}, f, change));
    view.append(h('p', { class: 'muted' }, t('kpiHelp')));
    view.append(h('form', { class: 'filters', id: 'kpi-filters', onsubmit: (e) => e.preventDefault() },
      KG.field(t('audit'), KG.selectEl('f-run', runs.map((r) => ({ value: r.id, label: `#${r.id} · ${fmt.datetime(r.created_at)}` + (withKpis(r) ? ' · ' + t('withOrders') : '') })), runId, (v) => go({ run_id: v }))),
      KG.field(t('platform'), KG.selectEl('f-platform', [{ value: '', label: t('all') }].concat(KG.PLATFORMS.map((c) => ({ value: c, label: KG.platformName(c) }))), f.platform, (v) => go({ platform: v, shop_id: null }))),
      KG.field(t('shop'), KG.selectEl('f-shop', [{ value: '', label: t('allShops') }].concat(shops.filter((s) => !f.platform || s.platform === f.platform).map((s) => ({ value: s.id, label: shopLabel(s) }))), f.shop_id, (v) => go({ shop_id: v })))));
    if (!totals.items.length) {
      view.append(h('div', { id: 'kpi-empty' }, emptyKpis(t('kpiEmpty'))));
      return;
    }
    const info = (run.summary || {}).kpis;
    if (info) {
      view.append(h('p', { class: 'muted', id: 'kpi-run-line' }, t('kpiRunLine', {
        id: run.id, profile: info.profile_title && KG.state.lang !== 'en' ? info.profile_title : t('attribution.' + info.profile),
        orders: info.orders, silent: info.silent_orders, refunds: info.refunds, unmatched: info.unmatched_refunds,
      })));
    }

    // headline numbers: the platform totals (a shop's own when one is chosen); buyers count once per shop
    const heads = totals.items.filter((r) => r.level === (f.shop_id ? 'shop' : 'platform'));
    const sum = (name) => heads.reduce((n, r) => n + (r[name] || 0), 0);
    const tile = (id, label, value, extra) => h('div', { class: 'tile' + (extra ? ' ' + extra : ''), id }, h('div', { class: 'tile-label' }, label), h('div', { class: 'tile-value' }, value));
    view.append(h('div', { class: 'tiles' },
      tile('tile-consulted', t('kpi.consulted'), fmt.num(sum('consulted'), 0)),
      tile('tile-conversion', t('kpi.conversion_rate'), fmt.percent(sum('consulted') ? sum('converted') / sum('consulted') : null)),
      tile('tile-paid', t('kpi.paid'), fmt.num(sum('paid'), 0)),
      tile('tile-sales', t('kpi.sales'), fmt.yuan(sum('sales'))),
      tile('tile-aov', t('kpi.avg_order_value'), sum('paid') ? fmt.yuan(sum('sales') / sum('paid')) : '—'),
      tile('tile-silent', t('kpi.silent_ordered'), fmt.num(sum('silent_ordered'), 0))));

    // shops and platforms over the whole audit, each shop marked by its days against the threshold
    const dailyOf = (row) => daily.items.filter((d) => d.shop_id === row.shop_id);
    // each platform's shops, then its total
    const places = totals.items.filter((r) => r.level !== 'agent')
      .sort((a, b) => a.platform.localeCompare(b.platform) || (a.level === 'platform') - (b.level === 'platform'));
    view.append(section(t('kpiShops'), { id: 'kpi-shops' }, KG.table([
      { label: t('shop'), render: (r) => (r.level === 'platform' ? h('strong', null, t('platformTotal', { p: KG.platformName(r.platform) })) : r.shop) },
      { label: t('platform'), render: (r) => KG.platformName(r.platform) },
      ...salesColumns([
        { label: t('threshold'), num: true, render: (r) => { const res = r.level === 'shop' ? conversionThreshold(dailyOf(r)) : null; return res ? `${CMP[res.comparison] || ''} ${fmt.percent(res.threshold)}` : '—'; } },
        { label: t('dailyCheck'), render: (r) => (r.level === 'shop' ? periodStatus(dailyOf(r)) : '—') },
      ]),
      { label: t('kpi.silent_ordered'), num: true, key: 'silent_ordered' },
      ...afterSalesColumns(),
    ], places, {
      id: 'kpi-table', caption: t('kpiShops'),
      rowClass: (r) => 'kpi-row kpi-' + r.level + (r.level === 'shop' && dailyOf(r).some((d) => d.passed === false) ? ' row-bad' : ''),
      rowData: (r) => ({ level: r.level, platform: r.platform, shop: r.shop || '' }),
    })));

    // 询单转化率 per day and shop, against the platform's line
    const shopRows = places.filter((r) => r.level === 'shop');
    if (daily.items.length) {
      view.append(section(t('kpiTrend'), { id: 'kpi-trend' }, conversionChart('chart-kpi-conversion', shopRows.map((r) => ({ name: r.shop, rows: dailyOf(r) })))));
    }

    // the agents over the whole audit; each opens their drill-down (KPIs per day)
    const agents = totals.items.filter((r) => r.level === 'agent');
    view.append(section(t('kpiAgents'), { id: 'kpi-agents' }, KG.table([
      { label: t('agent'), render: (r) => h('a', { href: `#/agents/${r.agent_id}?run_id=${runId}`, class: 'agent-kpi-link', dataset: { agent: r.agent } }, r.agent) },
      { label: t('shop'), key: 'shop' },
      { label: t('platform'), render: (r) => KG.platformName(r.platform) },
      ...salesColumns(),
      { label: t('kpi.after_sales_consulted'), num: true, key: 'after_sales_consulted' },
    ], agents, { id: 'kpi-agent-table', caption: t('kpiAgents'), rowClass: () => 'kpi-agent-row', rowData: (r) => ({ agent: r.agent }) })));
  });

  // ================================================================== an agent's KPIs per day (the agent drill-down)
  /** The KPI section of an agent's page: `rows` are the agent's rows (GET /v1/kpis?agent_id&level=agent),
   * shown for audit `runId` — per day with each day's mark, then the whole audit. */
  KG.agentKpis = function (rows, runId) {
    const mine = rows.filter((r) => String(r.run_id) === String(runId));
    if (!mine.length) return section(t('agentKpis'), { id: 'agent-kpis' }, emptyKpis(t('kpiEmpty')));
    const days = mine.filter((r) => r.day).sort(byDay);
    const total = mine.filter((r) => !r.day);
    return section(t('agentKpis'), { id: 'agent-kpis' },
      KG.table([
        { label: t('day'), render: (r) => (r.day ? r.day : h('strong', null, t('wholePeriod'))) },
        ...salesColumns([{ label: t('dailyCheck'), render: (r) => (r.day ? dayStatus(r) : periodStatus(days)) }]),
        { label: t('kpi.after_sales_consulted'), num: true, key: 'after_sales_consulted' },
        ...afterSalesColumns(),
      ], days.concat(total), {
        id: 'agent-kpi-table', caption: t('agentKpis'),
        rowClass: (r) => 'kpi-day-row' + (r.passed === false ? ' row-bad' : ''),
        rowData: (r) => ({ day: r.day || '', passed: String(r.passed) }),
      }),
      days.length > 1 ? conversionChart('chart-agent-conversion', [{ name: t('kpi.conversion_rate'), rows: days }]) : null);
  };
})();
