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
    dModel: { label: 'dModel', get: (m) => m.dModel, int: true },
    learningRate: { label: 'learning rate', get: (m) => m.learningRate, log: true },
    paramCount: { label: 'parameters', get: (m) => m.paramCount, log: true },
    numBrains: { label: 'brains', get: (m) => (m.gridRows && m.gridCols ? m.gridRows * m.gridCols : null), int: true },
    numHeads: { label: 'heads', get: (m) => m.numHeads, int: true },
    trainMs: { label: 'training time (ms)', get: (m) => m.trainMs, log: true },
    generation: { label: 'generation', get: (m) => m.generation, int: true },
  };

  pageHeader([['Runs', '/'], [runId, null]]);
  // Filters, sort order and the selected parameter live in the URL: a link reproduces the view, Back undoes a change.
  const FILTER_KEYS = ['status', 'species', 'combineMode', 'dModel', 'worker', 'brains'];
  const filters = { status: '', species: '', combineMode: '', dModel: '', worker: '', brains: '' };
  const readUrl = () => {
    const q = new URLSearchParams(location.search);
    for (const k of FILTER_KEYS) filters[k] = q.get(k) || '';
    return { sort: q.get('sort'), dir: q.get('dir') === 'asc' ? 1 : -1, param: q.get('param') };
  };
  const writeUrl = (push) => {
    const q = new URLSearchParams(location.search);
    for (const k of FILTER_KEYS) if (filters[k]) q.set(k, filters[k]); else q.delete(k);
    const sort = table ? table.sort() : null;
    if (sort && sort.key) { q.set('sort', sort.key); q.set('dir', sort.dir === 1 ? 'asc' : 'desc'); }
    q.set('param', ui.paramSelect.value);
    const url = location.pathname + '?' + q.toString();
    if (url !== location.pathname + location.search) history[push ? 'pushState' : 'replaceState'](null, '', url);
  };
  let table = null;
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
    parallel: el('div', { id: 'parallel' }),
    meta: el('div', { id: 'run-meta' }),
    exports: el('div', { id: 'run-exports' }),
    curveControls: el('div', { class: 'controls' }),
    curves: el('div', { id: 'curves' }),
    slices: el('div', { id: 'slices', class: 'slices' }),
    importance: el('div', { id: 'importance' }),
    importanceNote: el('p', { class: 'muted', id: 'importance-note' }),
    events: el('ul', { id: 'event-log', class: 'muted' }),
  };
  ui.paramSelect.addEventListener('change', () => { drawParam(); writeUrl(true); });
  const initial = readUrl();
  if (initial.param && PARAMS[initial.param]) ui.paramSelect.value = initial.param;
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
    el('section', { class: 'panel' }, el('h2', {}, 'Parallel coordinates: genes and validation accuracy'), ui.parallel),
    el('div', { class: 'grid2' },
      el('section', { class: 'panel' }, el('h2', {}, 'Slice plots: each gene against validation accuracy'), ui.slices),
      el('section', { class: 'panel' }, el('h2', {}, 'Gene importances'), ui.importance, ui.importanceNote)),
    el('div', { class: 'grid2' },
      el('section', { class: 'panel' }, el('h2', {}, 'Learning curves'), ui.curveControls, ui.curves),
      el('section', { class: 'panel' }, el('h2', {}, 'Run metadata'), ui.meta, el('h2', { class: 'sub' }, 'Exports'), ui.exports)),
    el('section', { class: 'panel' }, el('h2', {}, 'Latest events'), ui.events));

  // Models whose curves are overlaid: picked in the table (default: the three best by validation accuracy).
  const picked = new Set();
  const progressOf = new Map();
  let pickedByUser = false;
  table = dataTable(ui.table, [
    { key: 'pick', label: 'Curves', nosort: true, render: (m) => el('input', { type: 'checkbox', 'data-pick': m.modelId, 'aria-label': `overlay the curves of ${m.modelId}`, checked: picked.has(m.modelId),
      onchange: (e) => { pickedByUser = true; if (e.target.checked) picked.add(m.modelId); else picked.delete(m.modelId); drawCurves(); } }) },
    { key: 'modelId', label: 'Model', render: (m) => el('a', { href: withToken(`/runs/${enc}/models/${encodeURIComponent(m.modelId)}`) }, m.modelId) },
    { key: 'generation', label: 'Gen', num: true },
    { key: 'status', label: 'Status', render: (m) => {
      // A model in training shows its latest epoch and loss (from the run's progress events).
      const p = m.status === 'running' ? progressOf.get(m.modelId) : undefined;
      return p ? [statusBadge(m.status), el('span', { class: 'muted', 'data-progress': m.modelId }, ` epoch ${p.epoch}/${p.epochs} · loss ${fmt.num(p.loss)}`)] : statusBadge(m.status);
    } },
    { key: 'species', label: 'Species' },
    { key: 'brains', label: 'Brains' },
    { key: 'combineMode', label: 'Combine' },
    { key: 'dModel', label: 'dModel', num: true },
    { key: 'learningRate', label: 'LR', num: true, render: (m) => fmt.num(m.learningRate, 2) },
    { key: 'paramCount', label: 'Params', num: true, render: (m) => fmt.int(m.paramCount) },
    { key: 'valAccuracy', label: 'Val acc', num: true, render: (m) => fmt.pct(m.valAccuracy) },
    { key: 'testAccuracy', label: 'Test acc', num: true, render: (m) => fmt.pct(m.testAccuracy) },
    { key: 'fitness', label: 'Fitness', num: true, render: (m) => fmt.num(m.fitness, 4) },
    { key: 'trainMs', label: 'Train time', num: true, render: (m) => fmt.ms(m.trainMs) },
    { key: 'worker', label: 'Worker' },
  ], { id: 'population-table', rowId: (m) => m.modelId, sortKey: initial.sort || 'valAccuracy', sortDir: initial.sort ? initial.dir : -1, limit: 100, onSort: () => writeUrl(true) });
  window.addEventListener('popstate', () => {
    const back = readUrl();
    if (back.param && PARAMS[back.param]) ui.paramSelect.value = back.param;
    if (back.sort) table.setSort(back.sort, back.dir);
    syncFilters();
    drawTable();
    drawParam();
  });

  // The filter bar is built once: live updates only add missing options to the selects, so a box being typed in
  // keeps its text and focus and an open dropdown stays open.
  const selects = {};
  const SELECT_LABELS = { status: 'status', species: 'species', combineMode: 'combine', dModel: 'dModel', worker: 'worker' };
  for (const [key, label] of Object.entries(SELECT_LABELS)) {
    selects[key] = el('select', { 'data-filter': key, onchange: (e) => { filters[key] = e.target.value; drawTable(); writeUrl(true); } }, el('option', { value: '' }, 'all'));
  }
  const brainsBox = el('input', { 'data-filter': 'brains', 'aria-label': 'brains contain', placeholder: 'e.g. MHA', size: 8, oninput: (e) => { filters.brains = e.target.value; drawTable(); writeUrl(false); } });
  ui.filterBar.replaceChildren(...Object.entries(SELECT_LABELS).map(([key, label]) => el('label', {}, label, selects[key])), el('label', {}, 'brains', brainsBox));
  function syncFilters() {
    for (const key of Object.keys(SELECT_LABELS)) if (selects[key].value !== filters[key]) { ensureOption(selects[key], filters[key]); selects[key].value = filters[key]; }
    if (brainsBox.value !== filters.brains) brainsBox.value = filters.brains;
  }
  function ensureOption(select, value) {
    if (value !== '' && ![...select.options].some((o) => o.value === value)) select.append(el('option', { value }, value));
  }
  function drawFilters() {
    const all = [...models.values()];
    for (const key of Object.keys(SELECT_LABELS)) {
      const values = [...new Set(all.map((m) => m[key]).filter((v) => v !== null && v !== undefined).map(String))].sort(naturalCompare);
      for (const v of values) ensureOption(selects[key], v);
    }
    syncFilters();
  }

  const visible = () => [...models.values()].filter((m) =>
    ['status', 'species', 'combineMode', 'dModel', 'worker'].every((k) => !filters[k] || String(m[k]) === filters[k]) &&
    (!filters.brains || (m.brains || '').toLowerCase().includes(filters.brains.toLowerCase())));

  function drawTable() { table.setRows(visible()); }

  const curves = curvesPanel(ui.curveControls, ui.curves);
  let curvesKey = '';
  function defaultPicks() {
    if (pickedByUser) return;
    picked.clear();
    [...models.values()].filter((m) => m.valAccuracy !== null).sort((a, b) => b.valAccuracy - a.valAccuracy).slice(0, 3).forEach((m) => picked.add(m.modelId));
  }
  function drawCurves() {
    const ids = [...picked].slice(0, 24);
    const key = ids.join(',') + ':' + latestUpdate;
    if (key === curvesKey) return;
    curvesKey = key;
    if (ids.length === 0) { curves.setSeries([]); return; }
    api(`/api/runs/${enc}/curves?models=${ids.map(encodeURIComponent).join(',')}`)
      .then((r) => curves.setSeries(r.curves.map((c) => ({ name: c.modelId + (c.status === 'pruned' || c.status === 'paused' ? ` (${c.status})` : ''), metrics: c.metrics, dashed: c.status === 'pruned' || c.status === 'paused' }))))
      .catch((err) => showError('curves', err));
  }

  function drawMeta() {
    const r = detail.run;
    if (ui.meta.dataset.drawn === r.id) return; // fixed for a run: drawn once
    ui.meta.dataset.drawn = r.id;
    const items = [['Run id', r.id], ['Seed', String(r.seed)], ['Code version', r.codeVersion], ['Data', r.dataRef], ['Data checksum', r.dataChecksum],
      ['Started', fmt.date(r.createdAt)], ['Finished', fmt.date(r.finishedAt)]];
    ui.meta.replaceChildren(el('dl', { class: 'meta' }, items.map(([k, v]) => [el('dt', {}, k), el('dd', { 'data-meta': k }, v)])),
      el('details', {}, el('summary', {}, 'Configuration'), el('pre', { id: 'run-config' }, JSON.stringify(detail.config, null, 2))));
  }

  function drawCards() {
    drawMeta();
    const r = detail.run;
    ui.title.replaceChildren(r.name, ' ', statusBadge(r.status));
    if (r.status === 'stalled') {
      ui.live.className = 'error';
      ui.live.textContent = `stalled: its search process stopped sending heartbeats; resume it with loom search --resume ${r.id}`;
    }
    ui.cards.replaceChildren(
      card('Models done', `${r.modelsDone} / ${r.modelsPlanned ?? r.modelsTotal}`, 'models-done'),
      card('Running', String(r.modelsRunning), 'models-running'),
      card('Failed', String(r.modelsFailed), 'models-failed'),
      card('Best single (val)', fmt.pct(r.bestValAccuracy), 'best-val'),
      card('Best single (test)', fmt.pct(r.bestTestAccuracy), 'best-test'),
      card('Best ensemble (test)', fmt.pct(r.bestEnsembleTestAccuracy), 'best-ensemble'),
      card('Generations', String(r.generations), 'generations'),
      card('Data', r.dataRef, 'data'),
      card('Seed', String(r.seed), 'seed'),
      card('Duration', fmt.ms(r.durationMs), 'duration'));
  }

  function drawCharts() {
    const done = [...models.values()].filter((m) => m.status === 'done' && m.valAccuracy !== null);
    const t0 = detail.run.createdAt;
    // History: every finished model by when it finished, coloured by generation, and the best so far (ECharts).
    const gensDone = [...new Set(done.map((m) => m.generation))].sort((a, b) => a - b);
    const byTime = [...done].sort((a, b) => a.updatedAt - b.updatedAt);
    const bestLine = [];
    let bestSoFar = -Infinity;
    for (const m of byTime) {
      if (m.valAccuracy > bestSoFar) bestSoFar = m.valAccuracy;
      bestLine.push([(m.updatedAt - t0) / 60000, bestSoFar]);
    }
    const history = echart(ui.overTime, {
      legend: { bottom: 0, type: 'scroll' },
      tooltip: { trigger: 'item', formatter: (p) => (p.seriesName === 'best so far' ? `best so far: ${pctLabel(p.value[1])}` : `${p.value[2]} · ${p.seriesName} · ${fmt.pct(p.value[1])}`) },
      grid: { left: 52, right: 16, top: 16, bottom: 60 },
      xAxis: { type: 'value', name: 'minutes since start', nameLocation: 'middle', nameGap: 24, scale: true },
      yAxis: { type: 'value', scale: true, name: 'val accuracy', axisLabel: { formatter: pctLabel } },
      series: [
        ...gensDone.map((g) => ({ name: `gen ${g}`, type: 'scatter', symbolSize: 7, ...scatterSize(done.length), itemStyle: { color: genColor(g), opacity: 0.8 },
          data: done.filter((m) => m.generation === g).map((m) => [(m.updatedAt - t0) / 60000, m.valAccuracy, m.modelId]) })),
        { name: 'best so far', type: 'line', step: 'end', showSymbol: false, lineStyle: { color: '#18202b', width: 1.5 }, itemStyle: { color: '#18202b' }, data: bestLine },
      ],
    });
    history.off('click');
    history.on('click', (p) => { if (p.seriesType === 'scatter' && Array.isArray(p.value)) location.href = withToken(`/runs/${enc}/models/${encodeURIComponent(p.value[2])}`); });
    ui.overTime.dataset.points = String(done.length);
    ui.overTime.dataset.best = bestLine.length ? fmt.pct(bestLine[bestLine.length - 1][1]) : '';
    const gens = detail.generations;
    echart(ui.perGen, {
      legend: { bottom: 0 },
      tooltip: { trigger: 'axis', valueFormatter: (v) => fmt.pct(v) },
      grid: { left: 52, right: 16, top: 16, bottom: 60 },
      // Generations are categories: integer labels by construction.
      xAxis: { type: 'category', name: 'generation', nameLocation: 'middle', nameGap: 24, boundaryGap: false, data: gens.map((g) => String(g.index)) },
      yAxis: { type: 'value', scale: true, name: 'val accuracy', axisLabel: { formatter: pctLabel } },
      series: [
        { name: 'best', type: 'line', itemStyle: { color: PALETTE[0] }, data: gens.map((g) => g.bestValAccuracy) },
        { name: 'mean', type: 'line', itemStyle: { color: PALETTE[1] }, data: gens.map((g) => g.meanValAccuracy) },
      ],
    });
    drawParam();
    drawTimeline(done);
    drawGenes(done);
    drawCurves();
  }

  // ── hyperparameter analysis: parallel coordinates, slice plots, importances (ECharts) ──
  const GENES = [
    { key: 'species', label: 'species', get: (m) => m.species },
    { key: 'brains', label: 'brains', get: (m) => m.brains },
    { key: 'combineMode', label: 'combine', get: (m) => m.combineMode },
    { key: 'activation', label: 'activation', get: (m) => m.activation },
    { key: 'gridCells', label: 'grid cells', get: (m) => (m.gridRows && m.gridCols ? m.gridRows * m.gridCols : null), int: true },
    { key: 'dModel', label: 'dModel', get: (m) => m.dModel, int: true },
    { key: 'numHeads', label: 'heads', get: (m) => m.numHeads, int: true },
    { key: 'learningRate', label: 'learning rate', get: (m) => m.learningRate, log: true },
  ];
  let importanceKey = '';
  function drawGenes(done) {
    if (done.length === 0) { ui.parallel.replaceChildren(el('p', { class: 'muted' }, 'No finished model yet.')); return; }
    const categorical = (g) => done.some((m) => typeof g.get(m) === 'string');
    const axes = GENES.map((g, dim) => {
      if (categorical(g)) return { dim, name: g.label, type: 'category', data: [...new Set(done.map((m) => String(g.get(m) ?? '–')))].sort(naturalCompare) };
      return { dim, name: g.label, type: g.log ? 'log' : 'value', minInterval: g.int ? 1 : undefined, scale: true };
    });
    axes.push({ dim: GENES.length, name: 'val accuracy', type: 'value', scale: true, axisLabel: { formatter: pctLabel } });
    const rows = done.map((m) => [...GENES.map((g) => (categorical(g) ? String(g.get(m) ?? '–') : g.get(m))), m.valAccuracy]);
    const accs = done.map((m) => m.valAccuracy);
    echart(ui.parallel, {
      parallelAxis: axes,
      parallel: { left: 40, right: 70, top: 40, bottom: 30, parallelAxisDefault: { nameLocation: 'end', nameGap: 12, nameTextStyle: { fontSize: 11 }, axisLabel: { fontSize: 10 } } },
      visualMap: { show: true, type: 'continuous', dimension: GENES.length, min: Math.min(...accs), max: Math.max(...accs) + 1e-9, inRange: { color: ['#c2412d', '#e0c02b', '#1f8a4c'] }, right: 0, top: 'middle', itemHeight: 120, text: ['val acc', ''], formatter: pctLabel },
      series: [{ type: 'parallel', lineStyle: { width: 1.5, opacity: 0.6 }, data: rows }],
    }, 'echart tall');
    ui.parallel.dataset.models = String(rows.length);
    // One slice plot per gene: the gene on x (categories or values), validation accuracy on y.
    if (ui.slices.children.length !== GENES.length) ui.slices.replaceChildren(...GENES.map((g) => el('div', { 'data-gene': g.key })));
    GENES.forEach((g) => {
      const box = ui.slices.querySelector(`[data-gene="${g.key}"]`);
      const cat = categorical(g);
      const pts = done.filter((m) => g.get(m) !== null && (!g.log || g.get(m) > 0)).map((m) => ({ value: [cat ? String(g.get(m)) : g.get(m), m.valAccuracy], name: m.modelId }));
      echart(box, {
        title: { text: g.label, left: 'center', textStyle: { fontSize: 12 } },
        grid: { left: 44, right: 10, top: 28, bottom: 28 },
        tooltip: { trigger: 'item', formatter: (p) => `${p.name}: ${p.value[0]} · ${pctLabel(p.value[1])}` },
        xAxis: cat ? { type: 'category', data: [...new Set(pts.map((p) => p.value[0]))].sort(naturalCompare), axisLabel: { fontSize: 10, interval: 0, rotate: 20 } }
          : { type: g.log ? 'log' : 'value', scale: true, minInterval: g.int ? 1 : undefined, axisLabel: { fontSize: 10 } },
        yAxis: { type: 'value', scale: true, axisLabel: { formatter: pctLabel, fontSize: 10 } },
        series: [{ type: 'scatter', symbolSize: 7, ...scatterSize(pts.length), itemStyle: { color: PALETTE[0], opacity: 0.7 }, data: pts }],
      });
      box.dataset.points = String(pts.length);
    });
    // Importances come from the server (a seeded random forest, search/importance.ts); fetched again only when models change.
    const key = `${done.length}:${latestUpdate}`;
    if (key === importanceKey) return;
    importanceKey = key;
    api(`/api/runs/${enc}/importance`).then((imp) => {
      const genes = [...imp.genes].reverse();
      echart(ui.importance, {
        grid: { left: 110, right: 40, top: 10, bottom: 30 },
        tooltip: { trigger: 'item', formatter: (p) => `${p.name}: ${(p.value * 100).toFixed(1)}% of the importance` },
        xAxis: { type: 'value', max: 1, axisLabel: { formatter: pctLabel } },
        yAxis: { type: 'category', data: genes.map((g) => g.gene) },
        series: [{ type: 'bar', data: genes.map((g) => g.share), itemStyle: { color: PALETTE[0] }, label: { show: true, position: 'right', formatter: (p) => (p.value * 100).toFixed(0) + '%' } }],
      });
      ui.importanceNote.textContent = `${imp.method}, fitted on ${imp.models} finished models; share of the accuracy the forest loses when each gene is shuffled.`;
      ui.importance.dataset.genes = imp.genes.map((g) => g.gene).join(',');
    }).catch((err) => showError('importance', err));
  }

  /** One scatter series per generation (the legend names them): a config parameter against validation accuracy. */
  function drawParam() {
    const p = PARAMS[ui.paramSelect.value];
    const rows = [...models.values()].filter((m) => m.valAccuracy !== null && p.get(m) !== null && (!p.log || p.get(m) > 0));
    const gens = [...new Set(rows.map((m) => m.generation))].sort((a, b) => a - b);
    const chart = echart(ui.paramChart, {
      legend: { bottom: 0, type: 'scroll' },
      tooltip: { trigger: 'item', formatter: (q) => `${q.value[2]}: ${p.label} ${numLabel(q.value[0])} · ${fmt.pct(q.value[1])}` },
      grid: { left: 52, right: 20, top: 16, bottom: 64 },
      // Integer parameters (dModel, heads, brains, generation) get integer ticks only; counts never print "1e+4".
      xAxis: { type: p.log ? 'log' : 'value', scale: true, boundaryGap: p.log ? undefined : ['4%', '4%'], axisLine: { onZero: false }, name: p.label, nameLocation: 'middle', nameGap: 26, minInterval: p.int ? 1 : undefined, axisLabel: { formatter: numLabel, hideOverlap: true } },
      yAxis: { type: 'value', scale: true, name: 'val accuracy', axisLabel: { formatter: pctLabel } },
      series: gens.map((g) => ({ name: `gen ${g}`, type: 'scatter', symbolSize: 7, ...scatterSize(rows.length), itemStyle: { color: genColor(g), opacity: 0.8 },
        data: rows.filter((m) => m.generation === g).map((m) => [p.get(m), m.valAccuracy, m.modelId]) })),
    });
    chart.off('click');
    chart.on('click', (q) => { if (Array.isArray(q.value)) location.href = withToken(`/runs/${enc}/models/${encodeURIComponent(q.value[2])}`); });
    ui.paramChart.dataset.points = String(rows.length);
    ui.paramChart.dataset.param = ui.paramSelect.value;
  }

  /**
   * Which worker trained which model when: one bar per model on its worker's row, coloured by generation (one
   * custom series per generation, so the legend names them), with each worker's busy share underneath.
   */
  function drawTimeline(done) {
    const spans = done.filter((m) => m.worker && m.trainMs !== null).map((m) => ({ m, start: m.updatedAt - m.trainMs, end: m.updatedAt }));
    if (spans.length === 0) { ui.timeline.replaceChildren(el('p', { class: 'muted' }, 'No finished model yet.')); return; }
    const workers = [...new Set(spans.map((s) => s.m.worker))].sort(naturalCompare);
    const t0 = Math.min(...spans.map((s) => s.start)), t1 = Math.max(...spans.map((s) => s.end));
    const unit = timeUnit(t1 - t0);
    const at = (t) => (t - t0) / unit.ms;
    const gens = [...new Set(spans.map((s) => s.m.generation))].sort((a, b) => a - b);
    const bar = (params, api) => {
      const [x0, y] = api.coord([api.value(0), api.value(2)]);
      const [x1] = api.coord([api.value(1), api.value(2)]);
      const h = api.size([0, 1])[1] * 0.7;
      return { type: 'rect', shape: { x: x0, y: y - h / 2, width: Math.max(1, x1 - x0), height: h }, style: api.style() };
    };
    // Many models: one item per generation and worker, drawn as a single path of all its bars (no per-bar hover),
    // so 2,000 models are a few dozen elements rather than 2,000.
    const many = spans.length > MANY_POINTS;
    const grouped = many ? gens.map((g) => workers.map((w, i) => ({ worker: i, spans: spans.filter((s) => s.m.generation === g && s.m.worker === w) })).filter((r) => r.spans.length > 0)) : [];
    const bars = (params, api) => {
      const h = api.size([0, 1])[1] * 0.7;
      const y = api.coord([0, api.value(2)])[1] - h / 2;
      const d = grouped[params.seriesIndex][params.dataIndex].spans.map((s) => {
        const x0 = api.coord([at(s.start), 0])[0], x1 = api.coord([at(s.end), 0])[0];
        return `M${x0.toFixed(1)} ${y.toFixed(1)}h${Math.max(1, x1 - x0).toFixed(1)}v${h.toFixed(1)}H${x0.toFixed(1)}z`;
      }).join('');
      return { type: 'path', shape: { pathData: d }, style: api.style() };
    };
    if (!ui.timeline.querySelector(':scope > .chart')) ui.timeline.replaceChildren(el('div', { class: 'chart' }), el('div', { class: 'muted', 'data-busy': '' }));
    const box = ui.timeline.querySelector(':scope > .chart');
    const chart = echart(box, {
      legend: { bottom: 0, type: 'scroll' },
      tooltip: { trigger: 'item', formatter: (q) => (many ? `${q.seriesName} on ${workers[q.value[2]]}` : `${q.value[3]} on ${workers[q.value[2]]}: ${fmt.ms(q.value[4])}`) },
      grid: { left: 70, right: 20, top: 10, bottom: 64 },
      xAxis: { type: 'value', min: 0, name: `${unit.name} since ${fmt.date(t0)}`, nameLocation: 'middle', nameGap: 26, axisLabel: { formatter: numLabel, hideOverlap: true } },
      yAxis: { type: 'category', data: workers, inverse: true, axisTick: { show: false } },
      series: gens.map((g, k) => ({ name: `gen ${g}`, type: 'custom', renderItem: many ? bars : bar, itemStyle: { color: genColor(g), opacity: 0.85 }, encode: { x: [0, 1], y: 2 },
        data: many ? grouped[k].map((r) => [0, at(t1), r.worker]) : spans.filter((s) => s.m.generation === g).map((s) => [at(s.start), at(s.end), workers.indexOf(s.m.worker), s.m.modelId, s.m.trainMs]) })),
    });
    // A row per worker: the chart grows with the pool instead of squeezing the rows.
    const height = `${Math.max(160, workers.length * 28 + 90)}px`;
    if (chart.getDom().style.height !== height) { chart.getDom().style.height = height; chart.resize(); }
    chart.off('click');
    if (!many) chart.on('click', (q) => { location.href = withToken(`/runs/${enc}/models/${encodeURIComponent(q.value[3])}`); });
    ui.timeline.dataset.spans = String(spans.length);
    ui.timeline.dataset.workers = workers.join(',');
    const busy = workers.map((w) => [w, spans.filter((s) => s.m.worker === w).reduce((a, s) => a + s.end - s.start, 0)]);
    ui.timeline.querySelector('[data-busy]').textContent = busy.map(([w, ms]) => `${w}: ${Math.round((100 * ms) / (t1 - t0 || 1))}% busy`).join(' · ');
  }

  function logEvent(e) {
    const p = e.payload || {};
    if (e.kind === 'model-progress' && p.progress && typeof p.progress.modelId === 'string') progressOf.set(p.progress.modelId, p.progress);
    const what = e.kind === 'model-done' ? `${p.modelId} done: val ${fmt.pct(p.valAccuracy)}, test ${fmt.pct(p.testAccuracy)} on ${p.worker}` :
      e.kind === 'model-paused' ? `${p.modelId} paused at epoch ${p.epoch}: val ${fmt.pct(p.valAccuracy)}` :
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
    defaultPicks();
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
    const listExports = () => drawExports(ui.exports, runId).catch((err) => showError('run-exports', err));
    listExports();
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
        listExports(); // the end of a search writes the ensemble files
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
