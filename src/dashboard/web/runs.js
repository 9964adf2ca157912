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
    const empty = el('p', { class: 'muted', id: 'no-runs' }, 'No runs in this database yet: start one with loom search.');
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
    const show = (list) => {
      table.setRows(list);
      tableBox.hidden = list.length === 0;
      if (list.length === 0) tableBox.before(empty); else empty.remove();
      // A ticked run that left the database no longer counts towards the compare button.
      for (const id of picked) if (!list.some((r) => r.id === id)) picked.delete(id);
      compareButton.disabled = picked.size < 2;
    };
    show(runs);
    document.body.dataset.ready = 'true';
    // The list keeps itself current without a reload: runs started, finished or stalled since the page opened show
    // up on the next poll (every 3 s while a run is live, every 10 s otherwise; none while the tab is hidden).
    // The ticked runs and the sort order stay as they were.
    const poll = async () => {
      let live = true;
      try {
        if (!document.hidden) {
          const next = (await api('/api/runs')).runs;
          show(next);
          live = next.some((r) => r.status === 'running');
        }
      } finally {
        setTimeout(() => poll().catch(() => {}), live ? 3000 : 10_000);
      }
    };
    setTimeout(() => poll().catch(() => {}), runs.some((r) => r.status === 'running') ? 3000 : 10_000);
  } catch (err) {
    showError('main', err);
  }
})();
