// Two runs side by side: summary numbers, best validation accuracy per generation, config differences.
'use strict';

(async function comparePage() {
  pageHeader([['Runs', '/'], ['Compare', null]]);
  const main = document.getElementById('main');
  const q = new URLSearchParams(location.search);
  try {
    if (!q.get('a') || !q.get('b')) throw new Error('pick two runs on the runs page to compare them');
    const body = await api(`/api/compare?a=${encodeURIComponent(q.get('a'))}&b=${encodeURIComponent(q.get('b'))}`);
    const rows = [
      ['Status', (r) => statusBadge(r.status)], ['Data', (r) => r.dataRef], ['Models done', (r) => `${r.modelsDone} / ${r.modelsTotal}`],
      ['Generations', (r) => r.generations], ['Best single (val)', (r) => fmt.pct(r.bestValAccuracy)], ['Best single (test)', (r) => fmt.pct(r.bestTestAccuracy)],
      ['Best ensemble (test)', (r) => fmt.pct(r.bestEnsembleTestAccuracy)], ['Started', (r) => fmt.date(r.createdAt)], ['Duration', (r) => fmt.ms(r.durationMs)],
    ];
    const link = (r) => el('a', { href: withToken(`/runs/${encodeURIComponent(r.id)}`) }, r.name);
    const summary = el('table', { id: 'compare-table' },
      el('thead', {}, el('tr', {}, el('th'), el('th', {}, link(body.a.run)), el('th', {}, link(body.b.run)))),
      el('tbody', {}, rows.map(([label, f]) => el('tr', {}, el('td', {}, label), el('td', { class: 'num' }, f(body.a.run)), el('td', { class: 'num' }, f(body.b.run))))));
    const series = [body.a, body.b].map((side, i) => ({ name: side.run.name, color: PALETTE[i], points: side.generations.map((g) => ({ x: g.index, y: g.bestValAccuracy, label: fmt.pct(g.bestValAccuracy) })) }));
    const chart = lineChart(series, { xInteger: true, xLabel: 'generation', yLabel: 'best val accuracy', yFormat: (v) => (v * 100).toFixed(0) + '%' });
    const diff = body.configDiff.length === 0 ? el('p', { class: 'muted' }, 'Same configuration.') :
      el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Setting'), el('th', {}, body.a.run.name), el('th', {}, body.b.run.name))),
        el('tbody', {}, body.configDiff.map((d) => el('tr', {}, el('td', {}, d.key), el('td', {}, d.a), el('td', {}, d.b)))));
    const overlap = body.onlyA === null ? 'The best models’ test predictions cannot be compared (missing, or different test splits).' :
      `On the test split, ${body.a.run.name}'s best model is right where ${body.b.run.name}'s is wrong on ${body.onlyA} samples, and the reverse on ${body.onlyB}.`;
    main.replaceChildren(el('h1', {}, `${body.a.run.name} vs ${body.b.run.name}`),
      el('div', { class: 'grid2' }, el('section', { class: 'panel' }, el('h2', {}, 'Summary'), summary, el('p', {}, overlap)),
        el('section', { class: 'panel' }, el('h2', {}, 'Best validation accuracy per generation'), chart, legend(series.map((s) => [s.name, s.color])))),
      el('section', { class: 'panel' }, el('h2', {}, 'Configuration differences'), diff));
    document.body.dataset.ready = 'true';
  } catch (err) {
    showError('main', err);
  }
})();
