// Analysis page: mask correlation heatmap, k-means clusters in 2-D, complementary pairs, ensembles (weights and
// realized test gain), and the export actions: population CSV, grafted model download, graft-and-record.
'use strict';

(async function analysisPage() {
  const runId = decodeURIComponent(location.pathname.split('/')[2]);
  const enc = encodeURIComponent(runId);
  const main = document.getElementById('main');
  pageHeader([['Runs', '/'], [runId, `/runs/${enc}`], ['Analysis', null]]);
  const modelLink = (id) => el('a', { href: withToken(`/runs/${enc}/models/${encodeURIComponent(id)}`) }, id);

  // What each pair metric means, shown on hover over its column header.
  const PAIR_HEADERS = [['Model A'], ['Model B'], ['Acc A', 'validation accuracy of model A'], ['Acc B', 'validation accuracy of model B'],
    ['Coverage', 'share of validation samples at least one of the two gets right (the best a pair can do together)'],
    ['Double fault', 'share of samples both get wrong (lower is more complementary)'],
    ['Disagreement', 'share of samples exactly one of the two gets right (higher is more complementary)'],
    ['Overlap', 'share of samples both get right']];

  function heatmap(h) {
    const n = h.modelIds.length;
    if (n === 0) return el('p', { class: 'muted' }, 'No validation masks yet.');
    const cell = Math.max(8, Math.min(28, Math.floor(420 / n))), left = 60, top = 60;
    const root = svg('svg', { id: 'heatmap', width: left + n * cell + 10, height: top + n * cell + 10, viewBox: `0 0 ${left + n * cell + 10} ${top + n * cell + 10}` });
    h.modelIds.forEach((id, i) => {
      if (cell >= 12 || i % 5 === 0) {
        root.append(svg('text', { x: left - 4, y: top + i * cell + cell / 2 + 4, 'text-anchor': 'end' }, id));
        root.append(svg('text', { x: left + i * cell + cell / 2, y: top - 4, transform: `rotate(-60 ${left + i * cell + cell / 2} ${top - 4})` }, id));
      }
      h.matrix[i].forEach((v, j) => root.append(svg('rect', { x: left + j * cell, y: top + i * cell, width: cell - 1, height: cell - 1, fill: divergingColor(v) },
        svg('title', {}, `${id} × ${h.modelIds[j]}: ${v === null ? 'undefined' : v.toFixed(3)}`))));
    });
    return el('div', {}, root, legend([['−1', divergingColor(-1)], ['0', divergingColor(0)], ['+1', divergingColor(1)], ['undefined', divergingColor(null)]]));
  }

  function clusterChart(c) {
    if (c.points.length === 0) return el('p', { class: 'muted' }, 'No models to cluster yet.');
    return el('div', {}, scatterChart(c.points.map((p) => ({ id: p.modelId, x: p.x, y: p.y, color: PALETTE[p.cluster % PALETTE.length], r: 5, title: `${p.modelId} · cluster ${p.cluster} · ${fmt.pct(p.valAccuracy)}`, href: `/runs/${enc}/models/${encodeURIComponent(p.modelId)}` })),
      { xLabel: 'principal component 1', yLabel: 'component 2', xFormat: (v) => v.toFixed(1), yFormat: (v) => v.toFixed(1) }),
    legend(c.sizes.map((s, i) => [`cluster ${i} (${s})`, PALETTE[i % PALETTE.length]])));
  }

  function weightsCell(e) {
    const rows = e.members.map((id, i) => el('div', {}, el('span', { class: 'bar', style: `width:${Math.round(80 * e.weights[i])}px` }), ' ', modelLink(id), ` ${(e.weights[i] * 100).toFixed(1)}%`));
    // Long member lists fold after the first five (largest weights first in the stored order).
    if (rows.length <= 6) return el('div', {}, rows);
    return el('div', {}, rows.slice(0, 5), el('details', {}, el('summary', {}, `${rows.length - 5} more members`), rows.slice(5)));
  }

  async function drawExports(box) {
    const { exports } = await api(`/api/runs/${enc}/ensembles`);
    box.replaceChildren(exports.length === 0 ? el('p', { class: 'muted' }, 'No exports recorded yet.') :
      el('ul', { id: 'exports' }, exports.map((x) => el('li', {}, x.downloadable ? el('a', { href: withToken(`/api/runs/${enc}/exports/${x.id}/file`), download: '' }, x.fileName) : x.fileName,
        ` · ensemble ${x.ensembleId ?? '–'} · ${fmt.date(x.createdAt)}`,
        // Files the CLI wrote elsewhere are listed but not served: the dashboard serves only its own exports folder.
        x.downloadable ? null : el('span', { class: 'muted' }, ' · written outside the dashboard’s exports folder (not served',
          x.ensembleId === null ? null : ['; ', el('a', { class: 'regraft', href: withToken(`/api/runs/${enc}/ensembles/${x.ensembleId}/model`), download: '' }, 'download the same graft')], ')')))));
  }

  // ?k= (k-means clusters) and ?top= (how many of the best models the heatmap and pairs look at) come from the
  // URL, so a link reproduces the view; the form below changes them.
  const q = new URLSearchParams(location.search);
  const intParam = (name, lo, hi) => { const v = Number(q.get(name)); return q.get(name) !== null && Number.isInteger(v) && v >= lo && v <= hi ? v : null; };
  const k = intParam('k', 1, 20), top = intParam('top', 2, 200);
  const apiQuery = new URLSearchParams();
  if (k !== null) apiQuery.set('k', String(k));
  if (top !== null) apiQuery.set('top', String(top));
  function controls(a) {
    const kInput = el('input', { id: 'k-input', name: 'k', type: 'number', min: 1, max: 20, value: a.clusters.k, 'aria-label': 'clusters k' });
    const topInput = el('input', { id: 'top-input', name: 'top', type: 'number', min: 2, max: 200, value: top ?? a.heatmap.modelIds.length, 'aria-label': 'top models' });
    const form = el('form', { class: 'controls', id: 'analysis-controls', onsubmit: (e) => {
      e.preventDefault();
      const next = new URLSearchParams(location.search);
      next.set('k', kInput.value);
      next.set('top', topInput.value);
      location.search = next.toString();
    } }, el('label', {}, 'clusters k', kInput), el('label', {}, 'best models (top)', topInput), el('button', { type: 'submit' }, 'Apply'));
    return form;
  }

  try {
    const a = await api(`/api/runs/${enc}/analysis` + (apiQuery.size ? '?' + apiQuery.toString() : ''));
    const exportsBox = el('div');
    const status = el('span', { id: 'graft-status', class: 'muted' });
    const graft = async (id, button) => {
      button.disabled = true;
      status.textContent = `grafting ensemble ${id}…`;
      try {
        const r = await api(`/api/runs/${enc}/ensembles/${id}/graft`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        status.textContent = `grafted ${r.members.length} models into ${r.export.fileName} (${fmt.int(r.bytes)} bytes)`;
        await drawExports(exportsBox);
      } catch (err) {
        status.textContent = '';
        status.append(el('span', { class: 'error' }, String(err.message || err)));
      } finally {
        button.disabled = false;
      }
    };
    const ensembles = a.ensembles.length === 0 ? el('p', { class: 'muted' }, 'No ensemble stored for this run yet (run loom analyze).') :
      el('table', { id: 'ensembles' }, el('thead', {}, el('tr', {}, ['#', 'Method', 'Members and weights', 'Val acc', 'Test acc', 'Test gain vs best single', ''].map((h) => el('th', {}, h)))),
        el('tbody', {}, a.ensembles.map((e) => el('tr', { 'data-id': e.id }, el('td', {}, e.id), el('td', {}, e.method), el('td', {}, weightsCell(e)),
          el('td', { class: 'num' }, fmt.pct(e.valAccuracy)), el('td', { class: 'num' }, fmt.pct(e.testAccuracy)),
          el('td', { class: 'num gain' }, fmt.gain(e.testGain)),
          el('td', {}, el('a', { href: withToken(`/api/runs/${enc}/ensembles/${e.id}/model`), download: '' }, 'download grafted model'), ' ',
            el('button', { 'data-graft': e.id, onclick: (ev) => graft(e.id, ev.target) }, 'Graft & save'))))));
    const pairs = a.pairs.length === 0 ? el('p', { class: 'muted' }, 'Fewer than two models.') :
      el('table', { id: 'pairs' }, el('thead', {}, el('tr', {}, PAIR_HEADERS.map(([h, why]) => el('th', why ? { title: why, class: 'explained' } : {}, h)))),
        el('tbody', {}, a.pairs.map((p) => el('tr', {}, el('td', {}, modelLink(p.modelA)), el('td', {}, modelLink(p.modelB)), el('td', { class: 'num' }, fmt.pct(p.accuracyA)), el('td', { class: 'num' }, fmt.pct(p.accuracyB)),
          el('td', { class: 'num' }, fmt.pct(p.coverage)), el('td', { class: 'num' }, fmt.pct(p.doubleFault)), el('td', { class: 'num' }, fmt.pct(p.disagreement)), el('td', { class: 'num' }, fmt.pct(p.overlap))))));
    const best = a.bestSingle;
    main.replaceChildren(
      el('h1', {}, 'Analysis & ensembles'),
      controls(a),
      el('div', { class: 'cards' }, card('Models analysed', String(a.models), 'models'), card('Validation samples', String(a.samples), 'samples'),
        card('Best single (test)', best ? fmt.pct(best.testAccuracy) : '–', 'best-single'),
        card('Best ensemble gain', a.ensembles.length ? fmt.gain(Math.max(...a.ensembles.map((e) => e.testGain ?? -Infinity))) : '–', 'best-gain')),
      el('p', { class: 'muted', id: 'notes' }, a.notes.join(' · ')),
      el('section', { class: 'panel' }, el('h2', {}, 'Ensembles'), ensembles, el('p', {}, status)),
      el('div', { class: 'grid2' },
        el('section', { class: 'panel' }, el('h2', {}, 'Correlation of validation masks'), heatmap(a.heatmap)),
        el('section', { class: 'panel' }, el('h2', {}, `K-means clusters (k = ${a.clusters.k}), 2-D projection`), clusterChart(a.clusters))),
      el('section', { class: 'panel' }, el('h2', {}, 'Complementary pairs (validation)'), pairs),
      el('section', { class: 'panel' }, el('h2', {}, 'Export'),
        el('p', {}, el('a', { href: withToken(`/api/runs/${enc}/population.csv`), download: '' }, 'Population as CSV')), exportsBox,
        a.stored.length ? el('p', { class: 'muted' }, 'Stored analyses: ' + a.stored.map((s) => `${s.kind} (${fmt.date(s.createdAt)})`).join(', ')) : null));
    await drawExports(exportsBox);
    document.body.dataset.ready = 'true';
  } catch (err) {
    showError('main', err);
  }
})();
