// Runs side by side (two or more): summary numbers with id and seed, best validation accuracy per generation,
// the best models' learning curves overlaid, config differences, and — for the first two runs, only when they
// used the same data and split — the test samples one best model gets right and the other does not.
'use strict';

(async function comparePage() {
  pageHeader([['Runs', '/'], ['Compare', null]]);
  const main = document.getElementById('main');
  const q = new URLSearchParams(location.search);
  const ids = [...new Set([q.get('a'), q.get('b'), ...q.getAll('run')].filter(Boolean))];
  try {
    if (ids.length < 2) throw new Error('pick two or more runs on the runs page to compare them');
    const [pair, ...details] = await Promise.all([
      api(`/api/compare?a=${encodeURIComponent(ids[0])}&b=${encodeURIComponent(ids[1])}`),
      ...ids.map((id) => api(`/api/runs/${encodeURIComponent(id)}`)),
    ]);
    const runs = details.map((d) => d.run);
    const rows = [
      ['Run id', (r) => r.id], ['Seed', (r) => String(r.seed)], ['Code version', (r) => r.codeVersion],
      ['Status', (r) => statusBadge(r.status)], ['Data', (r) => r.dataRef], ['Data checksum', (r) => r.dataChecksum.slice(0, 12)],
      ['Models done', (r) => `${r.modelsDone} / ${r.modelsPlanned ?? r.modelsTotal}`],
      ['Generations', (r) => r.generations], ['Best single (val)', (r) => fmt.pct(r.bestValAccuracy)], ['Best single (test)', (r) => fmt.pct(r.bestTestAccuracy)],
      ['Best ensemble (test)', (r) => fmt.pct(r.bestEnsembleTestAccuracy)], ['Started', (r) => fmt.date(r.createdAt)], ['Duration', (r) => fmt.ms(r.durationMs)],
    ];
    const link = (r) => el('a', { href: withToken(`/runs/${encodeURIComponent(r.id)}`) }, r.name);
    const summary = el('table', { id: 'compare-table' },
      el('thead', {}, el('tr', {}, el('th'), runs.map((r) => el('th', {}, link(r))))),
      el('tbody', {}, rows.map(([label, f]) => el('tr', {}, el('td', {}, label), runs.map((r) => el('td', { class: 'num' }, f(r)))))));
    const series = details.map((d, i) => ({ name: `${d.run.name} (seed ${d.run.seed})`, color: PALETTE[i % PALETTE.length], points: d.generations.map((g) => ({ x: g.index, y: g.bestValAccuracy, label: fmt.pct(g.bestValAccuracy) })) }));
    const chart = el('div', { id: 'compare-generations' });
    // Config differences across all runs: a key is listed when any run's value differs.
    const flat = details.map((d) => flatten({ data: d.run.dataRef, ...(d.config || {}) }));
    const keys = [...new Set(flat.flatMap((f) => [...f.keys()]))].sort();
    const differing = keys.filter((k) => new Set(flat.map((f) => f.get(k) ?? '—')).size > 1);
    const diff = differing.length === 0 ? el('p', { class: 'muted' }, 'Same configuration.') :
      el('table', { id: 'config-diff' }, el('thead', {}, el('tr', {}, el('th', {}, 'Setting'), runs.map((r) => el('th', {}, r.name)))),
        el('tbody', {}, differing.map((k) => el('tr', {}, el('td', {}, k), flat.map((f) => el('td', {}, f.get(k) ?? '—'))))));
    const [ra, rb] = runs;
    const overlap = pair.onlyA === null ? `${ra.name} and ${rb.name}: the best models are ${pair.masksNote || 'not compared sample by sample'}.` :
      `On the test split, ${ra.name}'s best model is right where ${rb.name}'s is wrong on ${pair.onlyA} samples, and the reverse on ${pair.onlyB}.`;
    const curvesControls = el('div', { class: 'controls' });
    const curvesBox = el('div', { id: 'run-curves' });
    main.replaceChildren(el('h1', {}, runs.map((r) => r.name).join(' vs ')),
      el('section', { class: 'panel' }, el('h2', {}, 'Summary'), summary, el('p', { id: 'overlap' }, overlap)),
      el('div', { class: 'grid2' },
        el('section', { class: 'panel' }, el('h2', {}, 'Best validation accuracy per generation'), chart),
        el('section', { class: 'panel' }, el('h2', {}, 'Learning curves of each run’s best model'), curvesControls, curvesBox)),
      el('section', { class: 'panel' }, el('h2', {}, 'Configuration differences'), diff));
    const maxGen = Math.max(0, ...details.map((d) => d.generations.length - 1));
    echart(chart, {
      legend: { bottom: 0, type: 'scroll' },
      tooltip: { trigger: 'axis', valueFormatter: (v) => fmt.pct(v) },
      grid: { left: 52, right: 16, top: 16, bottom: 60 },
      xAxis: { type: 'category', name: 'generation', nameLocation: 'middle', nameGap: 24, boundaryGap: false, data: Array.from({ length: maxGen + 1 }, (_, i) => String(i)) },
      yAxis: { type: 'value', scale: true, name: 'best val accuracy', axisLabel: { formatter: pctLabel } },
      series: series.map((s) => ({ name: s.name, type: 'line', itemStyle: { color: s.color }, data: s.points.map((p) => p.y) })),
    });
    chart.dataset.series = String(series.length);
    const curves = curvesPanel(curvesControls, curvesBox);
    const withBest = runs.filter((r) => r.bestModelId);
    const fetched = await Promise.all(withBest.map((r) => api(`/api/runs/${encodeURIComponent(r.id)}/curves?models=${encodeURIComponent(r.bestModelId)}`)));
    curves.setSeries(fetched.map((c, i) => ({ name: `${withBest[i].name} · ${c.curves[0].modelId}`, metrics: c.curves[0].metrics })));
    document.body.dataset.ready = 'true';
  } catch (err) {
    showError('main', err);
  }

  function flatten(value, prefix = '', out = new Map()) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    } else out.set(prefix, JSON.stringify(value));
    return out;
  }
})();
