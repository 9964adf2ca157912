// Model page: config, a picture of its hive (the grid of brains), layers, learning curves, confusion matrix.
'use strict';

(async function modelPage() {
  const parts = location.pathname.split('/');
  const runId = decodeURIComponent(parts[2]);
  const modelId = decodeURIComponent(parts[4]);
  const enc = encodeURIComponent(runId);
  const main = document.getElementById('main');
  pageHeader([['Runs', '/'], [runId, `/runs/${enc}`], [modelId, null]]);
  const BRAIN_COLORS = { MHA: '#2f6fde', LSTM: '#e0802b', RNN: '#b5578b', Dense: '#1f8a4c', SwiGLU: '#7b4fc9', NormDense: '#178a93', Conv1D: '#8c6239' };

  // The hive is a diagram (which brain sits in which cell of the grid), not a chart of numbers, so it stays a small
  // hand-drawn SVG; its viewBox lets it scale down to the panel.
  const SVG_NS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  function hivePicture(h) {
    const cell = 92, gap = 10, pad = 24;
    const gridW = h.cols * cell + (h.cols - 1) * gap, W = Math.max(pad * 2 + gridW, 380), H = pad * 2 + h.rows * (cell * 0.62) + (h.rows - 1) * gap + 30;
    const x0 = (W - gridW) / 2;
    const root = svg('svg', { id: 'hive', width: W, height: H, viewBox: `0 0 ${W} ${H}` });
    root.append(svg('rect', { x: 4, y: 4, width: W - 8, height: H - 8, rx: 10, fill: '#f3f6fb', stroke: '#c9d3e0' }));
    for (const c of h.cells) {
      const x = x0 + c.col * (cell + gap), y = pad + c.row * (cell * 0.62 + gap);
      root.append(svg('g', { class: 'brain', 'data-brain': c.brain },
        svg('rect', { x, y, width: cell, height: cell * 0.62, rx: 8, fill: BRAIN_COLORS[c.brain] || '#4a5568', 'fill-opacity': 0.85 }),
        svg('text', { x: x + cell / 2, y: y + cell * 0.31 + 4, 'text-anchor': 'middle', style: 'fill:#fff;font-weight:600' }, c.brain),
        svg('text', { x: x + 6, y: y + 12, style: 'fill:#fff;font-size:9px' }, `${c.row},${c.col}`)));
    }
    root.append(svg('text', { x: W / 2, y: H - 14, 'text-anchor': 'middle' }, `combine: ${h.combineMode} · dModel ${h.dModel} · ${h.numHeads} heads · ${h.activation}`));
    return root;
  }

  function confusionTable(c) {
    if (!c.available) return el('p', { id: 'confusion-missing', class: 'muted' }, 'No confusion matrix: ' + c.note + '.');
    const max = Math.max(1, ...c.matrix.flat());
    return el('div', {},
      el('table', { id: 'confusion' },
        el('thead', {}, el('tr', {}, el('th', {}, 'true \\ predicted'), c.classNames.map((n) => el('th', { class: 'num' }, n)))),
        el('tbody', {}, c.matrix.map((row, i) => el('tr', {}, el('th', {}, c.classNames[i]), row.map((v, j) =>
          el('td', { class: 'num', style: `background: ${i === j ? `rgba(31,138,76,${(0.12 + (0.6 * v) / max).toFixed(2)})` : v ? `rgba(194,65,45,${(0.12 + (0.6 * v) / max).toFixed(2)})` : 'transparent'}` }, String(v))))))),
      el('p', { class: 'muted' }, `${c.samples} test samples; ${c.note}.`));
  }

  /** Loss and accuracy per epoch, each chart with its legend; epochs are integers, so are the ticks. */
  function drawCurves(metrics) {
    const line = (name, color, key) => ({ name, type: 'line', symbolSize: 5, connectNulls: true, itemStyle: { color }, data: metrics.map((e) => [e.epoch, e[key] ?? null]) });
    const base = (yName, formatter) => ({
      legend: { bottom: 0 },
      tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '–' : formatter(v)) },
      grid: { left: 56, right: 16, top: 24, bottom: 60 },
      xAxis: { type: 'value', name: 'epoch', nameLocation: 'middle', nameGap: 24, minInterval: 1, min: 'dataMin', max: 'dataMax' },
      yAxis: { type: 'value', scale: true, name: yName, axisLabel: { formatter } },
    });
    const has = (key) => metrics.some((e) => e[key] !== null && e[key] !== undefined);
    const loss = [line('train loss', PALETTE[3], 'trainLoss'), has('valLoss') ? line('val loss', PALETTE[1], 'valLoss') : null].filter(Boolean);
    const accuracy = [has('valAccuracy') ? line('val accuracy', PALETTE[0], 'valAccuracy') : null, has('trainAccuracy') ? line('train accuracy', PALETTE[2], 'trainAccuracy') : null].filter(Boolean);
    const lossBox = document.getElementById('curve-loss'), accBox = document.getElementById('curve-accuracy');
    echart(lossBox, { ...base('loss', numLabel), series: loss }, 'echart short');
    lossBox.dataset.series = String(loss.length);
    if (accuracy.length === 0) { accBox.replaceChildren(el('p', { class: 'muted' }, 'No accuracy recorded per epoch.')); return; }
    echart(accBox, { ...base('accuracy', pctLabel), series: accuracy }, 'echart short');
    accBox.dataset.series = String(accuracy.length);
  }

  try {
    const d = await api(`/api/runs/${enc}/models/${encodeURIComponent(modelId)}`);
    const m = d.model;
    const configRows = [
      ['Status', statusBadge(m.status)], ['Generation', m.generation], ['Species', m.species], ['Brains', m.brains], ['Combine mode', m.combineMode],
      ['dModel', m.dModel], ['Heads', m.numHeads], ['Learning rate', fmt.num(m.learningRate, 3)], ['Activation', m.activation], ['Origin', m.origin],
      ['Parents', d.parentIds.length ? d.parentIds.map((p, i) => [i ? ', ' : '', el('a', { href: withToken(`/runs/${enc}/models/${encodeURIComponent(p)}`) }, p)]) : '–'],
      ['Fitness', el('span', { id: 'fitness' }, m.fitness === null ? '– (not recorded)' : fmt.num(m.fitness, 4))],
      ...(d.fitnessParts ? Object.entries(d.fitnessParts).map(([k, v]) => [el('span', { class: 'muted' }, `· ${k}`), el('span', { 'data-part': k }, fmt.num(v, 4))]) : []),
      ['Parameters', fmt.int(m.paramCount)], ['Validation accuracy', fmt.pct(m.valAccuracy)], ['Test accuracy', fmt.pct(m.testAccuracy)],
      ['Training time', fmt.ms(m.trainMs)], ['Worker', m.worker], ['Attempts', m.attempts], ['Seed', d.seed],
    ];
    if (d.error) configRows.push(['Error', el('span', { class: 'error' }, d.error)]);
    const curves = d.metrics.length === 0 ? el('p', { class: 'muted' }, 'No per-epoch metrics stored.') :
      el('div', {}, el('div', { id: 'curve-loss' }), el('div', { id: 'curve-accuracy' }));
    main.replaceChildren(
      el('h1', {}, `Model ${m.modelId} `, statusBadge(m.status)),
      el('div', { class: 'cards' }, card('Validation accuracy', fmt.pct(m.valAccuracy), 'val-acc'), card('Test accuracy', fmt.pct(m.testAccuracy), 'test-acc'),
        card('Parameters', fmt.int(m.paramCount), 'params'), card('Training time', fmt.ms(m.trainMs), 'train-time')),
      el('div', { class: 'grid2' },
        el('section', { class: 'panel' }, el('h2', {}, 'Configuration'), el('table', { id: 'config' }, el('tbody', {}, configRows.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v ?? '–'))))),
          d.hasWeights ? el('p', {}, el('a', { href: withToken(`/api/runs/${enc}/models/${encodeURIComponent(modelId)}/weights`), download: '' }, 'Download model file')) : null),
        el('section', { class: 'panel' }, el('h2', {}, 'Hive'), d.hive ? hivePicture(d.hive) : el('p', { class: 'muted' }, 'Not a hive config.'),
          d.layers.length ? el('table', { id: 'layers' }, el('thead', {}, el('tr', {}, el('th', {}, '#'), el('th', {}, 'layer'), el('th', {}, 'detail'))),
            el('tbody', {}, d.layers.map((l) => el('tr', {}, el('td', {}, l.index), el('td', {}, l.type), el('td', {}, l.detail))))) : null)),
      el('div', { class: 'grid2' },
        el('section', { class: 'panel' }, el('h2', {}, 'Learning curves'), curves, m.status === 'pruned' ? el('p', { class: 'muted', id: 'pruned-note' }, 'Pruned: the search stopped this model early (or did not promote it); the curves end where it stopped.') : m.status === 'paused' ? el('p', { class: 'muted', id: 'paused-note' }, 'Paused at the promotion rung: it goes on only if the search promotes it; the curves end at the pause.') : null),
        el('section', { class: 'panel' }, el('h2', {}, 'Confusion matrix (test)'), confusionTable(d.confusion))),
      el('section', { class: 'panel' }, el('h2', {}, 'Raw arch'), el('pre', {}, JSON.stringify(d.arch, null, 2))));
    if (d.metrics.length) drawCurves(d.metrics);
    document.body.dataset.ready = 'true';
  } catch (err) {
    showError('main', err);
  }
})();
