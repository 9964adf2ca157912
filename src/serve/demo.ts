import type { ModelDescription } from './predictor.js';

/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');

/**
 * The demo page: it loads the browser build (/demo/loom.js) and the served model file (/model/file), runs the model
 * in the page on values typed in (or, for image models, a digit drawn on a canvas), and shows the label and class
 * probabilities next to the server's answer for the same input (POST /predict).
 */
export function demoPage(model: ModelDescription): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>Loom model ${model.modelId.replace(/[<&]/g, '')}</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 2rem; max-width: 52rem; color: #222; }
  textarea { width: 100%; height: 4.5rem; font: 13px ui-monospace, monospace; }
  canvas { border: 1px solid #888; background: #000; touch-action: none; cursor: crosshair; }
  .bar { background: #4a7; height: 0.9rem; display: inline-block; vertical-align: middle; }
  table { border-collapse: collapse; } td { padding: 0.15rem 0.6rem 0.15rem 0; }
  .muted { color: #777; } #status { margin: 0.5rem 0; }
</style>
</head>
<body>
<h1>Loom model <code id="model-id"></code></h1>
<p class="muted" id="summary"></p>
<div id="draw" hidden>
  <p>Draw a digit, then predict.</p>
  <canvas id="canvas" width="280" height="280"></canvas><br>
  <button id="clear" type="button">Clear</button>
</div>
<div id="typed">
  <p>One sample per line, values separated by commas (raw values, as in your data: the model normalizes them itself).</p>
  <textarea id="values" spellcheck="false"></textarea>
</div>
<p><button id="predict" type="button">Predict</button></p>
<div id="status" class="muted">loading the model…</div>
<div id="results"></div>
<script type="module">
const description = ${scriptJson(model)};
const $ = (id) => document.getElementById(id);
$('model-id').textContent = description.modelId;
const table = description.columns.length > 0;
const names = table ? description.columns.map((c) => c.name) : description.features;
$('summary').textContent = description.inputSize + ' input values' +
  (names.length ? ' (' + names.join(', ') + ')' : '') +
  ', classes ' + description.classes.join(', ') + ', ' + description.paramCount + ' parameters';
const image = description.layout.kind === 'image';
if (image) { $('draw').hidden = false; $('typed').hidden = true; }
else $('values').placeholder = names.length ? names.join(', ') : description.inputSize + ' numbers';

const loom = await import('/demo/loom.js');
const bytes = new Uint8Array(await (await fetch('/model/file')).arrayBuffer());
const model = loom.modelFromBytes(bytes);
$('status').textContent = 'model loaded in the browser (' + loom.backendName() + ' kernels)';

const canvas = $('canvas');
const ctx = canvas.getContext('2d');
const clear = () => { ctx.fillStyle = '#000'; ctx.fillRect(0, 0, canvas.width, canvas.height); };
clear();
let drawing = false;
const point = (e) => { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
canvas.addEventListener('pointerdown', (e) => { drawing = true; ctx.beginPath(); ctx.moveTo(...point(e)); });
canvas.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  ctx.strokeStyle = '#fff'; ctx.lineWidth = 22; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
  ctx.lineTo(...point(e)); ctx.stroke();
});
addEventListener('pointerup', () => { drawing = false; });
$('clear').addEventListener('click', clear);

/** The drawing as the model's height × width grey levels in [0, 1] (block averages), one row of values. */
function canvasRow() {
  const { height, width } = description.layout;
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const bh = canvas.height / height, bw = canvas.width / width;
  const row = [];
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    let sum = 0, n = 0;
    for (let py = Math.floor(y * bh); py < Math.floor((y + 1) * bh); py++)
      for (let px = Math.floor(x * bw); px < Math.floor((x + 1) * bw); px++) { sum += pixels[(py * canvas.width + px) * 4]; n++; }
    row.push(sum / n / 255);
  }
  return row;
}

function typedRows() {
  return $('values').value.split(/\\n/).map((l) => l.trim()).filter((l) => l !== '')
    .map((l) => table
      // A table's text cells may hold spaces: split on , ; or tab only; an empty cell is a missing value.
      ? l.split(/[,;\\t]/).map((v) => v.trim()).map((v) => v === '' ? null : Number.isFinite(Number(v)) ? Number(v) : v)
      : l.split(/[,;\\s]+/).filter((v) => v !== '').map(Number));
}

function show(local, server) {
  const rows = local.map((p, i) => {
    const bars = p.probabilities.map((v, c) =>
      '<tr><td>' + description.classes[c] + '</td><td><span class="bar" style="width:' + (v * 200).toFixed(0) + 'px"></span> ' + v.toFixed(4) + '</td></tr>').join('');
    const remote = server ? ' · server: <b class="server-label">' + server[i].label + '</b>' : '';
    return '<h3>sample ' + (i + 1) + ': <b class="label">' + p.label + '</b>' + remote + '</h3><table>' + bars + '</table>';
  });
  $('results').innerHTML = rows.join('');
}

async function predict(rows) {
  const local = loom.predictRows(model, rows);
  let server = null;
  try {
    const res = await fetch('/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows }) });
    const body = await res.json();
    if (res.ok) server = body.predictions; else $('status').textContent = 'server: ' + body.message;
  } catch (err) { $('status').textContent = 'server: ' + err.message; }
  show(local, server);
  return { local, server };
}

$('predict').addEventListener('click', async () => {
  try { await predict(image ? [canvasRow()] : typedRows()); }
  catch (err) { $('status').textContent = err.message; $('results').innerHTML = ''; }
});
// For scripted use (and the browser test): the engine, the model and predict on raw rows.
window.loomDemo = { loom, model, predict, ready: true };
</script>
</body>
</html>
`;
}
