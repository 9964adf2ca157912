// Runs list: status, data set, models done, best single and ensemble accuracy, start, duration; pick two to compare.
'use strict';

(async function runsPage() {
  pageHeader([['Runs', null]]);
  const main = document.getElementById('main');
  try {
    const { runs } = await api('/api/runs');
    const picked = new Set();
    const compareButton = el('button', { id: 'compare', disabled: true, onclick: () => {
      const [a, b, ...more] = [...picked];
      location.href = withToken(`/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}` + more.map((id) => `&run=${encodeURIComponent(id)}`).join(''));
    } }, 'Compare runs');
    const tableBox = el('div');
    main.replaceChildren(el('h1', {}, 'Runs'), el('div', { class: 'filters' }, compareButton, el('span', { class: 'muted' }, 'tick two or more runs to compare them')), el('section', { class: 'panel' }, tableBox));
    if (runs.length === 0) { tableBox.replaceChildren(el('p', { class: 'muted' }, 'No runs in this database yet: start one with loom search.')); return; }
    const table = dataTable(tableBox, [
      { key: 'pick', label: 'Compare', nosort: true, render: (r) => el('input', { type: 'checkbox', 'data-run': r.id, checked: picked.has(r.id), 'aria-label': `compare ${r.name} (${r.id})`, onchange: (e) => {
        if (e.target.checked) picked.add(r.id); else picked.delete(r.id);
        compareButton.disabled = picked.size < 2;
      } }) },
      { key: 'name', label: 'Run', render: (r) => el('a', { href: withToken(`/runs/${encodeURIComponent(r.id)}`) }, r.name, el('div', { class: 'muted' }, `${r.id} · seed ${r.seed}`)) },
      { key: 'status', label: 'Status', render: (r) => statusBadge(r.status) },
      { key: 'dataRef', label: 'Data' },
      { key: 'modelsDone', label: 'Models done', num: true, render: (r) => `${r.modelsDone} / ${r.modelsPlanned ?? r.modelsTotal}` + (r.modelsFailed ? ` (${r.modelsFailed} failed)` : '') },
      { key: 'generations', label: 'Gens', num: true },
      { key: 'bestValAccuracy', label: 'Best single (val)', num: true, render: (r) => fmt.pct(r.bestValAccuracy) },
      { key: 'bestTestAccuracy', label: 'Best single (test)', num: true, render: (r) => fmt.pct(r.bestTestAccuracy) },
      { key: 'bestEnsembleTestAccuracy', label: 'Best ensemble (test)', num: true, render: (r) => fmt.pct(r.bestEnsembleTestAccuracy) },
      { key: 'createdAt', label: 'Started', render: (r) => fmt.date(r.createdAt) },
      { key: 'durationMs', label: 'Duration', num: true, render: (r) => fmt.ms(r.durationMs) },
    ], { id: 'runs-table', rowId: (r) => r.id, sortKey: 'createdAt', sortDir: -1 });
    table.setRows(runs);
    document.body.dataset.ready = 'true';
    // While a run is live the list refreshes itself (counts, best accuracies, status), keeping the ticked runs.
    const poll = async () => {
      const next = (await api('/api/runs')).runs;
      table.setRows(next);
      if (next.some((r) => r.status === 'running')) setTimeout(() => poll().catch(() => {}), 3000);
    };
    if (runs.some((r) => r.status === 'running')) setTimeout(() => poll().catch(() => {}), 3000);
  } catch (err) {
    showError('main', err);
  }
})();
