// Run page: live progress (server-sent events), accuracy per model over time and per generation, the population
// table (sort + filter), a config parameter against accuracy, and the worker timeline.
'use strict';

(async function runPage() {
  const runId = decodeURIComponent(location.pathname.split('/')[2]);
  const enc = encodeURIComponent(runId);
  const main = document.getElementById('main');
  const models = new Map();
  let detail = null;
  let latestUpdate = 0;
  const genColor = (g) => PALETTE[g % PALETTE.length];

  const PARAMS = {
    dModel: { label: 'dModel', get: (m) => m.dModel },
    learningRate: { label: 'learning rate', get: (m) => m.learningRate, log: true },
    paramCount: { label: 'parameters', get: (m) => m.paramCount, log: true },
    numBrains: { label: 'brains', get: (m) => (m.gridRows && m.gridCols ? m.gridRows * m.gridCols : null) },
    numHeads: { label: 'heads', get: (m) => m.numHeads },
    trainMs: { label: 'training time (ms)', get: (m) => m.trainMs, log: true },
    generation: { label: 'generation', get: (m) => m.generation },
  };

  pageHeader([['Runs', '/'], [runId, null]]);
  const filters = { status: '', species: '', combineMode: '', dModel: '', worker: '', brains: '' };
  const ui = {
    title: el('h1'),
    live: el('span', { id: 'live', class: 'muted' }),
    cards: el('div', { class: 'cards' }),
    overTime: el('div', { id: 'chart-over-time' }),
    perGen: el('div', { id: 'chart-per-generation' }),
    filterBar: el('div', { class: 'filters' }),
    table: el('div', { id: 'population' }),
    paramSelect: el('select', { id: 'param-select' }, Object.entries(PARAMS).map(([k, p]) => el('option', { value: k }, p.label))),
    paramChart: el('div', { id: 'chart-param' }),
    timeline: el('div', { id: 'timeline' }),
    events: el('ul', { id: 'event-log', class: 'muted' }),
  };
  ui.paramSelect.addEventListener('change', drawParam);
  main.replaceChildren(
    el('div', { class: 'filters' }, ui.title, ui.live, el('a', { href: withToken(`/runs/${enc}/analysis`) }, 'Analysis & ensembles'),
      el('a', { href: withToken(`/api/runs/${enc}/population.csv`), download: '' }, 'Population CSV')),
    ui.cards,
    el('div', { class: 'grid2' },
      el('section', { class: 'panel' }, el('h2', {}, 'Validation accuracy per model over time'), ui.overTime),
      el('section', { class: 'panel' }, el('h2', {}, 'Per generation'), ui.perGen)),
    el('section', { class: 'panel' }, el('h2', {}, 'Population'), ui.filterBar, ui.table),
    el('div', { class: 'grid2' },
      el('section', { class: 'panel' }, el('h2', {}, 'Config parameter vs validation accuracy '), ui.paramSelect, ui.paramChart),
      el('section', { class: 'panel' }, el('h2', {}, 'Worker timeline'), ui.timeline)),
    el('section', { class: 'panel' }, el('h2', {}, 'Latest events'), ui.events));

  const table = dataTable(ui.table, [
    { key: 'modelId', label: 'Model', render: (m) => el('a', { href: withToken(`/runs/${enc}/models/${encodeURIComponent(m.modelId)}`) }, m.modelId) },
    { key: 'generation', label: 'Gen', num: true },
    { key: 'status', label: 'Status', render: (m) => statusBadge(m.status) },
    { key: 'species', label: 'Species' },
    { key: 'brains', label: 'Brains' },
    { key: 'combineMode', label: 'Combine' },
    { key: 'dModel', label: 'dModel', num: true },
    { key: 'learningRate', label: 'LR', num: true, render: (m) => fmt.num(m.learningRate, 2) },
    { key: 'paramCount', label: 'Params', num: true, render: (m) => fmt.int(m.paramCount) },
    { key: 'valAccuracy', label: 'Val acc', num: true, render: (m) => fmt.pct(m.valAccuracy) },
    { key: 'testAccuracy', label: 'Test acc', num: true, render: (m) => fmt.pct(m.testAccuracy) },
    { key: 'trainMs', label: 'Train time', num: true, render: (m) => fmt.ms(m.trainMs) },
    { key: 'worker', label: 'Worker' },
  ], { id: 'population-table', rowId: (m) => m.modelId, sortKey: 'valAccuracy', sortDir: -1, limit: 100 });

  function drawFilters() {
    const all = [...models.values()];
    const options = (key) => [...new Set(all.map((m) => m[key]).filter((v) => v !== null && v !== undefined))].sort((a, b) => (a < b ? -1 : 1));
    const select = (key, label) => {
      const s = el('select', { 'data-filter': key, onchange: (e) => { filters[key] = e.target.value; drawTable(); } }, el('option', { value: '' }, 'all'),
        options(key).map((v) => el('option', { value: String(v), selected: String(v) === filters[key] }, String(v))));
      return el('label', {}, label, s);
    };
    const brains = el('input', { 'data-filter': 'brains', placeholder: 'e.g. MHA', size: 8, value: filters.brains, oninput: (e) => { filters.brains = e.target.value; drawTable(); } });
    ui.filterBar.replaceChildren(select('status', 'status'), select('species', 'species'), select('combineMode', 'combine'), select('dModel', 'dModel'), select('worker', 'worker'), el('label', {}, 'brains', brains));
  }

  const visible = () => [...models.values()].filter((m) =>
    ['status', 'species', 'combineMode', 'dModel', 'worker'].every((k) => !filters[k] || String(m[k]) === filters[k]) &&
    (!filters.brains || (m.brains || '').toLowerCase().includes(filters.brains.toLowerCase())));

  function drawTable() { table.setRows(visible()); }

  function drawCards() {
    const r = detail.run;
    ui.title.replaceChildren(r.name, ' ', statusBadge(r.status));
    ui.cards.replaceChildren(
      card('Models done', `${r.modelsDone} / ${r.modelsTotal}`, 'models-done'),
      card('Running', String(r.modelsRunning), 'models-running'),
      card('Failed', String(r.modelsFailed), 'models-failed'),
      card('Best single (val)', fmt.pct(r.bestValAccuracy), 'best-val'),
      card('Best single (test)', fmt.pct(r.bestTestAccuracy), 'best-test'),
      card('Best ensemble (test)', fmt.pct(r.bestEnsembleTestAccuracy), 'best-ensemble'),
      card('Generations', String(r.generations), 'generations'),
      card('Data', r.dataRef, 'data'),
      card('Duration', fmt.ms(r.durationMs), 'duration'));
  }

  function drawCharts() {
    const done = [...models.values()].filter((m) => m.status === 'done' && m.valAccuracy !== null);
    const t0 = detail.run.createdAt;
    ui.overTime.replaceChildren(scatterChart(done.map((m) => ({ id: m.modelId, x: (m.updatedAt - t0) / 60000, y: m.valAccuracy, color: genColor(m.generation), title: `${m.modelId} · gen ${m.generation} · ${fmt.pct(m.valAccuracy)}`, href: `/runs/${enc}/models/${encodeURIComponent(m.modelId)}` })),
      { xLabel: 'minutes since start', yLabel: 'val accuracy', yFormat: (v) => (v * 100).toFixed(0) + '%', xFormat: (v) => String(+v.toPrecision(2)) }),
    legend([...new Set(done.map((m) => m.generation))].sort((a, b) => a - b).map((g) => [`gen ${g}`, genColor(g)])));
    const gens = detail.generations;
    ui.perGen.replaceChildren(lineChart([
      { name: 'best', color: PALETTE[0], points: gens.map((g) => ({ x: g.index, y: g.bestValAccuracy, label: fmt.pct(g.bestValAccuracy) })) },
      { name: 'mean', color: PALETTE[1], points: gens.map((g) => ({ x: g.index, y: g.meanValAccuracy, label: fmt.pct(g.meanValAccuracy) })) },
    ], { xLabel: 'generation', yLabel: 'val accuracy', yFormat: (v) => (v * 100).toFixed(0) + '%', x: [0, Math.max(1, gens.length - 1)], xInteger: true }),
    legend([['best', PALETTE[0]], ['mean', PALETTE[1]]]));
    drawParam();
    drawTimeline(done);
  }

  function drawParam() {
    const p = PARAMS[ui.paramSelect.value];
    const pts = [...models.values()].filter((m) => m.valAccuracy !== null && p.get(m) !== null && (!p.log || p.get(m) > 0))
      .map((m) => ({ id: m.modelId, x: p.get(m), y: m.valAccuracy, color: genColor(m.generation), title: `${m.modelId}: ${p.label} ${p.get(m)} · ${fmt.pct(m.valAccuracy)}` }));
    const xs = pts.map((q) => q.x);
    const x = pts.length ? (p.log ? [Math.min(...xs) / 1.2, Math.max(...xs) * 1.2] : undefined) : [0, 1];
    ui.paramChart.replaceChildren(scatterChart(pts, { x, xLog: p.log, xLabel: p.label, yLabel: 'val accuracy', yFormat: (v) => (v * 100).toFixed(0) + '%', xFormat: (v) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(0) : String(+v.toPrecision(3))) }));
  }

  function drawTimeline(done) {
    const spans = done.filter((m) => m.worker && m.trainMs !== null).map((m) => ({ m, start: m.updatedAt - m.trainMs, end: m.updatedAt }));
    if (spans.length === 0) { ui.timeline.replaceChildren(el('p', { class: 'muted' }, 'No finished model yet.')); return; }
    const workers = [...new Set(spans.map((s) => s.m.worker))].sort();
    const t0 = Math.min(...spans.map((s) => s.start)), t1 = Math.max(...spans.map((s) => s.end));
    const W = 560, rowH = 22, left = 70, H = workers.length * rowH + 34;
    const sx = (t) => left + ((t - t0) / (t1 - t0 || 1)) * (W - left - 12);
    const root = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}` });
    workers.forEach((w, i) => root.append(svg('text', { x: 4, y: 16 + i * rowH }, w)));
    if (spans.length > MANY_POINTS) {
      // One path per generation colour: thousands of bars stay one element each colour.
      const byColor = new Map();
      for (const s of spans) {
        const i = workers.indexOf(s.m.worker), c = genColor(s.m.generation);
        byColor.set(c, (byColor.get(c) || '') + `M${sx(s.start).toFixed(1)} ${4 + i * rowH}h${Math.max(1, sx(s.end) - sx(s.start)).toFixed(1)}v${rowH - 6}H${sx(s.start).toFixed(1)}z`);
      }
      for (const [fill, d] of byColor) root.append(svg('path', { d, fill, 'fill-opacity': 0.8 }));
    } else {
      for (const s of spans) {
        const i = workers.indexOf(s.m.worker);
        root.append(svg('rect', { class: 'span', x: sx(s.start).toFixed(1), y: 4 + i * rowH, width: Math.max(1, sx(s.end) - sx(s.start)).toFixed(1), height: rowH - 6, fill: genColor(s.m.generation), 'fill-opacity': 0.8, 'data-id': s.m.modelId },
          svg('title', {}, `${s.m.modelId} on ${s.m.worker}: ${fmt.ms(s.m.trainMs)}`)));
      }
    }
    root.append(svg('text', { x: left, y: H - 6 }, fmt.date(t0)), svg('text', { x: W - 12, y: H - 6, 'text-anchor': 'end' }, `+${fmt.ms(t1 - t0)}`));
    const busy = workers.map((w) => [w, spans.filter((s) => s.m.worker === w).reduce((a, s) => a + s.end - s.start, 0)]);
    ui.timeline.replaceChildren(root, el('div', { class: 'muted' }, busy.map(([w, ms]) => `${w}: ${Math.round((100 * ms) / (t1 - t0 || 1))}% busy`).join(' · ')));
  }

  function logEvent(e) {
    const p = e.payload || {};
    const what = e.kind === 'model-done' ? `${p.modelId} done: val ${fmt.pct(p.valAccuracy)}, test ${fmt.pct(p.testAccuracy)} on ${p.worker}` :
      e.kind === 'model-progress' && p.progress ? `${p.progress.modelId} epoch ${p.progress.epoch}/${p.progress.epochs}, loss ${fmt.num(p.progress.loss)}` :
      e.kind + (p.generation !== undefined ? ` (generation ${p.generation})` : p.modelId ? ` ${p.modelId}` : '');
    ui.events.prepend(el('li', {}, `${fmt.date(e.ts)} · ${what}`));
    while (ui.events.children.length > 12) ui.events.lastChild.remove();
  }

  async function refresh(full) {
    const [d, m] = await Promise.all([api(`/api/runs/${enc}`), api(`/api/runs/${enc}/models` + (full ? '' : `?updatedAfter=${latestUpdate}`))]);
    detail = d;
    for (const row of m.models) models.set(row.modelId, row);
    latestUpdate = Math.max(latestUpdate, m.latestUpdate);
    drawCards();
    drawFilters();
    drawTable();
    drawCharts();
  }

  let pending = null;
  const scheduleRefresh = () => {
    if (pending) return;
    pending = setTimeout(() => { pending = null; refresh(false).catch((err) => showError('live', err)); }, 200);
  };

  try {
    await refresh(true);
    if (detail.run.status === 'running') {
      ui.live.className = 'live';
      ui.live.textContent = '● live';
      const source = new EventSource(withToken(`/api/runs/${enc}/events?afterId=${detail.lastEventId}`));
      source.addEventListener('progress', (msg) => { logEvent(JSON.parse(msg.data)); scheduleRefresh(); });
      source.addEventListener('state', scheduleRefresh);
      source.addEventListener('end', (msg) => {
        source.close();
        ui.live.className = 'muted';
        ui.live.textContent = `run ${JSON.parse(msg.data).status}`;
        scheduleRefresh();
      });
    }
    document.body.dataset.readyMs = String(Math.round(performance.now())); // navigation start → drawn (the benchmark reads it)
    document.body.dataset.ready = 'true';
    // The recent event log is secondary: fetched after the page is drawn.
    const recent = await api(`/api/runs/${enc}/progress?afterId=${Math.max(0, detail.lastEventId - 12)}`);
    recent.events.forEach(logEvent);
  } catch (err) {
    showError('main', err);
  }
})();
