// Shared helpers for the dashboard pages: API calls (carrying the token when the page has one), formatting,
// DOM building, a sortable/filterable table and a few inline SVG charts. No framework, no build step.
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

/** Percent axis labels with as many decimals as the tick step needs, so neighbouring labels never repeat. */
function pctAxis(v, step) {
  const decimals = step > 0 ? Math.max(0, Math.ceil(-Math.log10(step * 100) - 1e-9)) : 0;
  return (v * 100).toFixed(Math.min(decimals, 4)) + '%';
}

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

// ── SVG charts ──────────────────────────────────────────────────────────────────────────────────────────────

const SVG_NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const PALETTE = ['#2f6fde', '#e0802b', '#1f8a4c', '#c2412d', '#7b4fc9', '#178a93', '#b5578b', '#6b7a2a', '#8c6239', '#4a5568'];

function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const step = Math.pow(10, Math.floor(Math.log10((hi - lo) / count)));
  const err = (count * step) / (hi - lo);
  const s = step * (err <= 0.15 ? 10 : err <= 0.35 ? 5 : err <= 0.75 ? 2 : 1);
  const ticks = [];
  for (let t = Math.ceil(lo / s) * s; t <= hi + s * 1e-9; t += s) ticks.push(+t.toPrecision(12));
  return ticks;
}

/**
 * A chart frame: scales, axes, grid. opts: {width, height, x: [lo, hi], y: [lo, hi], xLog, xLabel, yLabel, xFormat, yFormat}.
 * Returns {root, sx, sy} with scales mapping data → pixels.
 */
function chartFrame(opts) {
  const W = opts.width || 560, H = opts.height || 260, m = { l: 52, r: 12, t: 10, b: 36 };
  const [x0, x1] = opts.x, [y0, y1] = opts.y;
  const tx = opts.xLog ? (v) => Math.log10(Math.max(v, 1e-12)) : (v) => v;
  const a = tx(x0), b = tx(x1) === a ? a + 1 : tx(x1);
  const sx = (v) => m.l + ((tx(v) - a) / (b - a)) * (W - m.l - m.r);
  const sy = (v) => H - m.b - ((v - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const root = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img' });
  const axis = svg('g', { class: 'axis' });
  const yt = niceTicks(y0, y1);
  const yStep = yt.length > 1 ? yt[1] - yt[0] : Math.abs(y1 - y0) || 1;
  for (const t of yt) {
    axis.append(svg('line', { class: 'gridline', x1: m.l, x2: W - m.r, y1: sy(t), y2: sy(t) }));
    axis.append(svg('text', { x: m.l - 6, y: sy(t) + 4, 'text-anchor': 'end' }, (opts.yFormat || String)(t, yStep)));
  }
  let xt = opts.xLog ? niceTicks(a, b).map((e) => Math.pow(10, e)) : niceTicks(x0, x1);
  if (opts.xInteger) {
    // Integer quantities (generations, dModel, heads) get integer ticks only, at least a step of 1.
    xt = xt.filter((t) => Number.isInteger(t));
    if (xt.length === 0) xt = [...new Set([Math.ceil(x0), Math.floor(x1)])].filter((t) => t >= x0 && t <= x1);
  }
  const xStep = xt.length > 1 ? xt[1] - xt[0] : 1;
  for (const t of xt) axis.append(svg('text', { x: sx(t), y: H - m.b + 14, 'text-anchor': 'middle' }, (opts.xFormat || String)(t, xStep)));
  axis.append(svg('line', { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }), svg('line', { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }));
  if (opts.xLabel) axis.append(svg('text', { x: (m.l + W - m.r) / 2, y: H - 4, 'text-anchor': 'middle' }, opts.xLabel));
  if (opts.yLabel) axis.append(svg('text', { x: 12, y: (m.t + H - m.b) / 2, transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})`, 'text-anchor': 'middle' }, opts.yLabel));
  root.append(axis);
  return { root, sx, sy, W, H, m };
}

function extent(values, pad = 0) {
  const v = values.filter((x) => x !== null && x !== undefined && Number.isFinite(x));
  if (v.length === 0) return [0, 1];
  let lo = Math.min(...v), hi = Math.max(...v);
  if (lo === hi) { lo -= 0.5 || 1; hi += 0.5; }
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

/** Above this many points a chart draws one path per colour instead of one element per point (2,000 models stay fast). */
const MANY_POINTS = 400;

/** points: [{x, y, color, title, href}] */
function scatterChart(points, opts) {
  const f = chartFrame({ ...opts, x: opts.x || extent(points.map((p) => p.x), 0.03), y: opts.y || extent(points.map((p) => p.y), 0.05) });
  const g = svg('g', { class: 'points' });
  const shown = points.filter((p) => p.x !== null && p.y !== null && Number.isFinite(p.x) && Number.isFinite(p.y));
  const r = opts.r || 3.5;
  if (shown.length > MANY_POINTS) {
    // Dots as zero-length round-capped segments: one path per colour.
    const byColor = new Map();
    for (const p of shown) {
      const c = p.color || PALETTE[0];
      byColor.set(c, (byColor.get(c) || '') + `M${f.sx(p.x).toFixed(1)} ${f.sy(p.y).toFixed(1)}h0`);
    }
    for (const [color, d] of byColor) g.append(svg('path', { class: 'dots', d, stroke: color, 'stroke-opacity': 0.7, 'stroke-width': r * 2, 'stroke-linecap': 'round' }));
  } else {
    for (const p of shown) {
      const dot = svg('circle', { cx: f.sx(p.x).toFixed(1), cy: f.sy(p.y).toFixed(1), r, fill: p.color || PALETTE[0], 'fill-opacity': 0.75, 'data-id': p.id }, p.title ? svg('title', {}, p.title) : null);
      g.append(p.href ? svg('a', { href: withToken(p.href) }, dot) : dot);
    }
  }
  f.root.append(g);
  if (opts.bestSoFar && shown.length > 0) {
    // The best validation accuracy reached so far, as a step line over x (time).
    const sorted = [...shown].sort((p, q) => p.x - q.x);
    let best = -Infinity, d = '';
    for (const p of sorted) {
      if (p.y > best) { d += d ? `H${f.sx(p.x).toFixed(1)}V${f.sy(p.y).toFixed(1)}` : `M${f.sx(p.x).toFixed(1)} ${f.sy(p.y).toFixed(1)}`; best = p.y; }
    }
    d += `H${f.sx(sorted[sorted.length - 1].x).toFixed(1)}`;
    f.root.append(svg('path', { class: 'best-so-far', d, fill: 'none', stroke: '#18202b', 'stroke-width': 1.5 }));
  }
  return f.root;
}

/** series: [{name, color, points: [{x, y}]}] */
function lineChart(series, opts) {
  const all = series.flatMap((s) => s.points);
  const f = chartFrame({ ...opts, x: opts.x || extent(all.map((p) => p.x)), y: opts.y || extent(all.map((p) => p.y), 0.05) });
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => p.y !== null && Number.isFinite(p.y));
    const color = s.color || PALETTE[i % PALETTE.length];
    if (pts.length > 1) f.root.append(svg('polyline', { fill: 'none', stroke: color, 'stroke-width': 2, points: pts.map((p) => `${f.sx(p.x).toFixed(1)},${f.sy(p.y).toFixed(1)}`).join(' ') }));
    for (const p of pts) f.root.append(svg('circle', { cx: f.sx(p.x), cy: f.sy(p.y), r: 2.5, fill: color }, svg('title', {}, `${s.name}: ${p.label || p.y}`)));
  });
  return f.root;
}

function legend(items) {
  return el('div', { class: 'legend' }, items.map(([name, color]) => el('span', {}, el('i', { style: `background:${color}` }), name)));
}

/** A blue (−1) – white (0) – red (+1) scale for correlations. */
function divergingColor(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '#d9dde3';
  const t = Math.max(-1, Math.min(1, v));
  const mix = (a, b, w) => Math.round(a + (b - a) * w);
  return t >= 0 ? `rgb(${mix(255, 196, t)},${mix(255, 60, t)},${mix(255, 45, t)})` : `rgb(${mix(255, 47, -t)},${mix(255, 111, -t)},${mix(255, 222, -t)})`;
}

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

/** A percent axis formatter for ECharts (value in [0, 1]). */
const pctLabel = (v) => (v * 100).toFixed(Math.abs(v * 100 - Math.round(v * 100)) < 1e-9 ? 0 : 1) + '%';

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
