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

  /**
   * The mask correlations as an ECharts heatmap: blue (−1) through a light grey (0, visible on the white panel)
   * to red (+1). Undefined correlations (a model right or wrong on every sample) are a second, mid-grey
   * series outside the colour scale, named in the legend.
   */
  function drawHeatmap(box, h) {
    const n = h.modelIds.length;
    if (n === 0) { box.replaceChildren(el('p', { class: 'muted' }, 'No validation masks yet.')); return; }
    const defined = [], undefinedCells = [];
    h.matrix.forEach((row, i) => row.forEach((v, j) => (v === null ? undefinedCells : defined).push([j, i, v === null ? '-' : v])));
    const labelEvery = n <= 24 ? 0 : Math.ceil(n / 24) - 1; // 0: every id; beyond 24 models every k-th, so labels never overlap
    const chart = echart(box, {
      tooltip: { trigger: 'item', formatter: (p) => `${h.modelIds[p.value[1]]} × ${h.modelIds[p.value[0]]}: ${p.seriesName === 'undefined' ? 'undefined' : p.value[2].toFixed(3)}` },
      legend: undefinedCells.length ? { bottom: 0, data: ['undefined'] } : undefined,
      grid: { left: 70, right: 16, top: 16, bottom: undefinedCells.length ? 130 : 104 },
      xAxis: { type: 'category', data: h.modelIds, splitArea: { show: false }, axisLabel: { rotate: 60, interval: labelEvery, fontSize: 10 } },
      yAxis: { type: 'category', data: h.modelIds, inverse: true, axisLabel: { interval: labelEvery, fontSize: 10 } },
      visualMap: { type: 'continuous', seriesIndex: 0, min: -1, max: 1, calculable: false, orient: 'horizontal', left: 'center', bottom: undefinedCells.length ? 28 : 4, itemWidth: 12, itemHeight: 160,
        text: ['+1', '−1'], inRange: { color: ['#2f6fde', '#e3e6ea', '#c4302d'] } },
      series: [
        { name: 'correlation', type: 'heatmap', data: defined, itemStyle: { borderColor: '#fff', borderWidth: n > 40 ? 0 : 1 } },
        { name: 'undefined', type: 'heatmap', data: undefinedCells, itemStyle: { color: '#9aa4b0', borderColor: '#fff', borderWidth: n > 40 ? 0 : 1 } },
      ],
    }, n > 14 ? 'echart tall' : 'echart');
    chart.off('click');
    chart.on('click', (p) => { location.href = withToken(`/runs/${enc}/models/${encodeURIComponent(h.modelIds[p.value[1]])}`); });
    box.dataset.cells = String(defined.length + undefinedCells.length);
    box.dataset.undefinedCells = String(undefinedCells.length);
  }

  /** The k-means clusters in the 2-D projection: one scatter series per cluster, named with its size in the legend. */
  function drawClusters(box, c) {
    if (c.points.length === 0) { box.replaceChildren(el('p', { class: 'muted' }, 'No models to cluster yet.')); return; }
    const chart = echart(box, {
      legend: { bottom: 0, type: 'scroll' },
      tooltip: { trigger: 'item', formatter: (p) => `${p.value[2]} · cluster ${p.value[3]} · ${fmt.pct(p.value[4])}` },
      grid: { left: 52, right: 16, top: 16, bottom: 64 },
      xAxis: { type: 'value', scale: true, axisLine: { onZero: false }, name: 'principal component 1', nameLocation: 'middle', nameGap: 24, axisLabel: { formatter: numLabel } },
      yAxis: { type: 'value', scale: true, axisLine: { onZero: false }, name: 'component 2', axisLabel: { formatter: numLabel } },
      series: c.sizes.map((size, i) => ({ name: `cluster ${i} (${size})`, type: 'scatter', symbolSize: 10, itemStyle: { color: PALETTE[i % PALETTE.length], opacity: 0.85 },
        data: c.points.filter((p) => p.cluster === i).map((p) => [p.x, p.y, p.modelId, p.cluster, p.valAccuracy]) })),
    });
    chart.off('click');
    chart.on('click', (p) => { location.href = withToken(`/runs/${enc}/models/${encodeURIComponent(p.value[2])}`); });
    box.dataset.points = String(c.points.length);
  }

  function weightsCell(e) {
    const rows = e.members.map((id, i) => el('div', {}, el('span', { class: 'bar', style: `width:${Math.round(80 * e.weights[i])}px` }), ' ', modelLink(id), ` ${(e.weights[i] * 100).toFixed(1)}%`));
    // Long member lists fold after the first five (largest weights first in the stored order).
    if (rows.length <= 6) return el('div', {}, rows);
    return el('div', {}, rows.slice(0, 5), el('details', {}, el('summary', {}, `${rows.length - 5} more members`), rows.slice(5)));
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
    const exportsBox = el('div', { id: 'exports' });
    const status = el('span', { id: 'graft-status', class: 'muted' });
    const graft = async (id, button) => {
      button.disabled = true;
      status.textContent = `grafting ensemble ${id}…`;
      try {
        const r = await api(`/api/runs/${enc}/ensembles/${id}/graft`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        status.textContent = `grafted ${r.members.length} models into ${r.export.fileName} (${fmt.int(r.bytes)} bytes)`;
        await drawExports(exportsBox, runId);
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
    const heatmapBox = el('div', { id: 'heatmap' }), clustersBox = el('div', { id: 'clusters' });
    main.replaceChildren(
      el('h1', {}, 'Analysis & ensembles'),
      controls(a),
      el('div', { class: 'cards' }, card('Models analysed', String(a.models), 'models'), card('Validation samples', String(a.samples), 'samples'),
        card('Best single (test)', best ? fmt.pct(best.testAccuracy) : '–', 'best-single'),
        card('Best ensemble gain', a.ensembles.length ? fmt.gain(Math.max(...a.ensembles.map((e) => e.testGain ?? -Infinity))) : '–', 'best-gain')),
      el('p', { class: 'muted', id: 'notes' }, a.notes.join(' · ')),
      el('section', { class: 'panel' }, el('h2', {}, 'Ensembles'), ensembles, el('p', {}, status)),
      el('div', { class: 'grid2' },
        el('section', { class: 'panel' }, el('h2', {}, 'Correlation of validation masks'), heatmapBox),
        el('section', { class: 'panel' }, el('h2', {}, `K-means clusters (k = ${a.clusters.k}), 2-D projection`), clustersBox)),
      el('section', { class: 'panel' }, el('h2', {}, 'Complementary pairs (validation)'), pairs),
      el('section', { class: 'panel' }, el('h2', {}, 'Export'),
        el('p', {}, el('a', { href: withToken(`/api/runs/${enc}/population.csv`), download: '' }, 'Population as CSV')), exportsBox,
        a.stored.length ? el('p', { class: 'muted' }, 'Stored analyses: ' + a.stored.map((s) => `${s.kind} (${fmt.date(s.createdAt)})`).join(', ')) : null));
    drawHeatmap(heatmapBox, a.heatmap);
    drawClusters(clustersBox, a.clusters);
    await drawExports(exportsBox, runId);
    document.body.dataset.ready = 'true';
  } catch (err) {
    showError('main', err);
  }
})();
