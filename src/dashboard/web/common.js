// Shared helpers for the dashboard pages: API calls (carrying the token when the page has one), formatting,
// DOM building, a sortable/filterable table and the ECharts helpers every chart goes through. No framework, no build step.
'use strict';

const TOKEN = new URLSearchParams(location.search).get('token');

/** Adds the page's token to a same-origin URL, so links, downloads and the event stream carry it. */
function withToken(url) {
  if (!TOKEN) return url;
  return url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(TOKEN);
}

async function api(path, init) {
  const res = await fetch(withToken(path), init);
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new Error(typeof body === 'object' && body && body.message ? body.message : `HTTP ${res.status}`);
  return body;
}

const fmt = {
  pct: (x) => (x === null || x === undefined ? '–' : (x * 100).toFixed(2) + '%'),
  gain: (x) => (x === null || x === undefined ? '–' : (x >= 0 ? '+' : '') + (x * 100).toFixed(2) + ' pts'),
  int: (x) => (x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en-US')),
  num: (x, d = 3) => (x === null || x === undefined ? '–' : Number(x).toPrecision(d)),
  ms(x) {
    if (x === null || x === undefined) return '–';
    if (x < 1000) return Math.round(x) + ' ms';
    const s = x / 1000;
    if (s < 60) return s.toFixed(1) + ' s';
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  },
  // Times are shown in UTC, and say so (the same wherever the dashboard is opened).
  date: (t) => (t === null || t === undefined ? '–' : new Date(t).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'),
  /** 12,345 → "12.3k", 2e6 → "2M": axis labels for counts (never "1e+4"). */
  compact: (x) => (x === null || x === undefined ? '–' : new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(x)),
};

/** Strings with numbers compare by value: g0-2 before g0-10. */
const naturalCompare = new Intl.Collator('en', { numeric: true }).compare;

/** el('td', {class: 'num'}, 'text', child, …) */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

function statusBadge(status) {
  return el('span', { class: 'status ' + status }, status);
}

function showError(where, err) {
  const box = document.getElementById(where) || document.body;
  box.replaceChildren(el('p', { class: 'error' }, String(err && err.message ? err.message : err)));
}

/** Header with navigation; `crumbs` is a list of [label, href]. */
function pageHeader(crumbs) {
  const header = el('header', { class: 'top' }, el('a', { class: 'brand', href: withToken('/') }, 'Loom'));
  for (const [label, href] of crumbs) header.append(href ? el('a', { href: withToken(href) }, label) : el('span', {}, label));
  document.body.prepend(header);
}

function card(label, value, id) {
  return el('div', { class: 'card' }, el('div', { class: 'label' }, label), el('div', { class: 'value', id }, value));
}

/**
 * The run's exports (what the dashboard's graft, `loom search`, `loom export` and `loom graft` wrote), each a
 * download link when the server can serve it, otherwise with the server's reason — and, for a grafted ensemble,
 * a link that grafts the same ensemble again.
 */
async function drawExports(box, runId) {
  const enc = encodeURIComponent(runId);
  const { exports } = await api(`/api/runs/${enc}/ensembles`);
  box.replaceChildren(exports.length === 0 ? el('p', { class: 'muted' }, 'No exports recorded yet.') :
    el('ul', { class: 'exports', 'data-exports': exports.length }, exports.map((x) => el('li', { 'data-export': x.id },
      x.downloadable ? el('a', { href: withToken(`/api/runs/${enc}/exports/${x.id}/file`), download: '' }, x.fileName) : x.fileName,
      ` · ${x.format}`, x.ensembleId === null ? '' : ` · ensemble ${x.ensembleId}`, ` · ${fmt.date(x.createdAt)}`,
      x.downloadable ? null : el('span', { class: 'muted' }, ` · not served: ${x.notServed}`,
        x.ensembleId === null ? null : ['; ', el('a', { class: 'regraft', href: withToken(`/api/runs/${enc}/ensembles/${x.ensembleId}/model`), download: '' }, 'download the same graft')])))));
}

// ── table ───────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * A sortable table. columns: [{key, label, num?, render?(row) → node|string, value?(row) → sortable}].
 * Renders at most `limit` rows (a "show all" button adds the rest), so 2,000 models stay quick to draw.
 */
function dataTable(container, columns, options = {}) {
  const state = { rows: [], sortKey: options.sortKey || null, sortDir: options.sortDir || -1, limit: options.limit || 300 };
  const table = el('table', { id: options.id });
  const thead = el('thead');
  const tbody = el('tbody');
  const footer = el('div', { class: 'muted' });
  table.append(thead, tbody);
  container.replaceChildren(table, footer);
  const valueOf = (col, row) => (col.value ? col.value(row) : row[col.key]);
  const headRow = el('tr');
  for (const col of columns) {
    const th = el('th', { class: (col.num ? 'num ' : '') + (col.nosort ? '' : 'sortable'), 'data-key': col.key }, col.label);
    if (!col.nosort) {
      const sortBy = () => {
        state.sortDir = state.sortKey === col.key ? -state.sortDir : col.num ? -1 : 1;
        state.sortKey = col.key;
        draw();
        if (options.onSort) options.onSort(state.sortKey, state.sortDir);
      };
      // Keyboard-reachable: a focusable header sorts on Enter or Space as on a click.
      th.tabIndex = 0;
      th.addEventListener('click', sortBy);
      th.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(); } });
    }
    headRow.append(th);
  }
  thead.append(headRow);
  function draw() {
    let rows = state.rows;
    if (state.sortKey) {
      const col = columns.find((c) => c.key === state.sortKey);
      rows = [...rows].sort((a, b) => {
        const x = valueOf(col, a);
        const y = valueOf(col, b);
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        if (typeof x === 'string' && typeof y === 'string') return naturalCompare(x, y) * state.sortDir;
        return (x < y ? -1 : 1) * state.sortDir;
      });
    }
    for (const th of headRow.children) {
      th.classList.toggle('sorted-asc', th.dataset.key === state.sortKey && state.sortDir === 1);
      th.classList.toggle('sorted-desc', th.dataset.key === state.sortKey && state.sortDir === -1);
    }
    const shown = rows.slice(0, state.limit);
    const fragment = document.createDocumentFragment();
    for (const row of shown) {
      const tr = el('tr', options.rowId ? { 'data-id': options.rowId(row) } : {});
      for (const col of columns) {
        const v = col.render ? col.render(row) : row[col.key];
        tr.append(el('td', { class: col.num ? 'num' : undefined }, v === null || v === undefined ? '–' : v));
      }
      fragment.append(tr);
    }
    tbody.replaceChildren(fragment);
    footer.replaceChildren(`${rows.length} row${rows.length === 1 ? '' : 's'}`);
    if (rows.length > shown.length) {
      footer.append(' · showing ' + shown.length + ' ', el('button', { onclick: () => { state.limit = Infinity; draw(); } }, 'show all'));
    }
  }
  return {
    setRows(rows) { state.rows = rows; draw(); },
    setSort(key, dir) { state.sortKey = key; state.sortDir = dir; draw(); },
    sort() { return { key: state.sortKey, dir: state.sortDir }; },
  };
}

const PALETTE = ['#2f6fde', '#e0802b', '#1f8a4c', '#c2412d', '#7b4fc9', '#178a93', '#b5578b', '#6b7a2a', '#8c6239', '#4a5568'];

// ── ECharts (served from the package's own files, /vendor/echarts.min.js) ──────────────────────────────────────

/**
 * An ECharts chart in `container`, drawn as SVG and resized with its panel. Calling it again on the same container
 * replaces the option (live updates keep the instance). Returns the instance.
 */
function echart(container, option, className = 'echart') {
  let box = container.querySelector(':scope > .echart');
  if (!box) {
    box = el('div', { class: className });
    container.replaceChildren(box);
  }
  let chart = echarts.getInstanceByDom(box);
  if (!chart) {
    chart = echarts.init(box, null, { renderer: 'svg' });
    new ResizeObserver(() => chart.resize()).observe(box);
  }
  chart.setOption({ animation: false, textStyle: { fontFamily: 'system-ui, sans-serif' }, ...option }, true);
  return chart;
}

/**
 * A percent axis formatter for ECharts (value in [0, 1]): as many decimals as the value has (up to 4), so two
 * different ticks never print the same label ("92.5%", "93%", never "93%, 93%").
 */
const pctLabel = (v) => String(+(v * 100).toFixed(4)) + '%';

/** Axis labels for plain numbers: 12,345 → "12.3k", 0.001 → "1e-3", 0.25 → "0.25" (never "1e+4"). */
const numLabel = (v) => (Math.abs(v) >= 1000 ? fmt.compact(v) : Math.abs(v) < 0.01 && v !== 0 ? v.toExponential(0) : String(+v.toPrecision(3)));

/**
 * Above this many points a scatter chart draws each series as one path (ECharts' large mode) instead of one element
 * per point: 2,000 models stay quick to draw, at the cost of per-point hover.
 */
const MANY_POINTS = 400;
const scatterSize = (points) => (points > MANY_POINTS ? { large: true, largeThreshold: 1 } : { large: false });

/** A unit for a span of time on an axis: seconds, minutes or hours, whichever keeps the numbers readable. */
function timeUnit(spanMs) {
  if (spanMs < 120_000) return { ms: 1000, name: 's' };
  if (spanMs < 7_200_000) return { ms: 60_000, name: 'min' };
  return { ms: 3_600_000, name: 'h' };
}

/**
 * Overlaid learning curves with a metric picker, smoothing (exponential moving average) and a log-scale toggle.
 * setSeries([{name, metrics: [{epoch, trainLoss, valLoss?, valAccuracy?}], dashed?}]); dashed = pruned (stopped early).
 */
function curvesPanel(controls, box) {
  const state = { metric: 'trainLoss', smooth: 0, log: false, series: [] };
  const METRICS = { trainLoss: 'train loss', valLoss: 'val loss', valAccuracy: 'val accuracy' };
  const metric = el('select', { 'data-curves': 'metric', 'aria-label': 'curve metric', onchange: (e) => { state.metric = e.target.value; draw(); } },
    Object.entries(METRICS).map(([k, label]) => el('option', { value: k }, label)));
  const smooth = el('input', { 'data-curves': 'smooth', type: 'range', min: 0, max: 0.9, step: 0.1, value: 0, 'aria-label': 'smoothing', oninput: (e) => { state.smooth = Number(e.target.value); draw(); } });
  const log = el('input', { 'data-curves': 'log', type: 'checkbox', 'aria-label': 'log scale', onchange: (e) => { state.log = e.target.checked; draw(); } });
  controls.replaceChildren(el('label', {}, 'metric', metric), el('label', {}, 'smoothing', smooth), el('label', {}, log, 'log scale'));
  const ema = (values) => {
    let last = null;
    return values.map(([x, y]) => {
      if (y === null || y === undefined) return [x, null];
      last = last === null ? y : state.smooth * last + (1 - state.smooth) * y;
      return [x, last];
    });
  };
  function draw() {
    const shown = state.series.map((s, i) => ({
      name: s.name,
      type: 'line',
      showSymbol: true,
      symbolSize: 4,
      connectNulls: true,
      lineStyle: { type: s.dashed ? 'dashed' : 'solid', width: 2 },
      itemStyle: { color: PALETTE[i % PALETTE.length] },
      data: ema(s.metrics.map((e) => [e.epoch, e[state.metric] ?? null])).map(([x, y]) => [x, state.log && y !== null && y <= 0 ? null : y]),
    }));
    const accuracy = state.metric === 'valAccuracy';
    echart(box, {
      legend: { type: 'scroll', bottom: 0 },
      tooltip: { trigger: 'axis' },
      grid: { left: 50, right: 16, top: 16, bottom: 56 },
      xAxis: { type: 'value', name: 'epoch', nameLocation: 'middle', nameGap: 22, minInterval: 1 },
      yAxis: { type: state.log ? 'log' : 'value', scale: true, name: METRICS[state.metric], axisLabel: accuracy ? { formatter: pctLabel } : {} },
      series: shown,
    });
    box.dataset.series = String(shown.length);
    box.dataset.metric = state.metric;
  }
  return { setSeries(series) { state.series = series; draw(); } };
}
