import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadDataset, splitTensors } from '../../src/data/index.js';
import { preprocessingFor } from '../../src/data/preprocessing.js';
import { evaluate } from '../../src/engine/eval.js';
import { writeModel } from '../../src/engine/io/files.js';
import { encodeModel } from '../../src/engine/io/formats.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { train } from '../../src/engine/train/index.js';
import { loadModel, predict } from '../../src/index.js';
import { buildServeApp } from '../../src/serve/app.js';
import { runOnnx } from '../onnx/helpers.js';

/**
 * A model trained on a z-scored CSV (features on very different scales, so raw values fed unnormalized would be
 * badly wrong) predicts the same classes from the raw rows through `loom predict`, `loom serve`, the library and
 * the ONNX export.
 */
describe('raw rows give the same classes everywhere a model runs', () => {
  let dir: string;
  const header = 'income,age,score,label';
  const rows: number[][] = [];
  const labels: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'loom-deploy-'));
    const rng = new Rng(4);
    for (let i = 0; i < 240; i++) {
      const cls = i % 3;
      const income = 30000 + cls * 25000 + (rng.next() - 0.5) * 30000;
      const age = 25 + cls * 12 + (rng.next() - 0.5) * 20;
      const score = 0.2 + cls * 0.3 + (rng.next() - 0.5) * 0.4;
      rows.push([Math.round(income), Math.round(age * 10) / 10, Math.round(score * 1000) / 1000]);
      labels.push(['low', 'mid', 'high'][cls] as string);
    }
    writeFileSync(join(dir, 'train.csv'), `${header}\n${rows.map((r, i) => `${r.join(',')},${labels[i]}`).join('\n')}\n`);
    vi.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterAll(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loom predict, loom serve, the library and ONNX agree on raw rows', async () => {
    const data = loadDataset(`csv:${join(dir, 'train.csv')}`, { splitSeed: 3 });
    expect(data.normalization.kind).toBe('zscore');
    const net = new Network(sequentialNetworkSpec([3], [{ type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 3 }] as never), new Rng(1));
    train(net, splitTensors(data, data.train), { epochs: 40, batchSize: 16, learningRate: 0.02, seed: 1 });
    expect(evaluate(net, splitTensors(data, data.test)).accuracy).toBeGreaterThan(0.8);
    const preprocessing = preprocessingFor(data);
    const modelFile = join(dir, 'model.loom');
    writeModel(modelFile, net, 'loom', { preprocessing });

    // The library.
    const library = predict(loadModel(modelFile), rows).map((p) => p.label);
    const accuracy = library.filter((l, i) => l === labels[i]).length / rows.length;
    expect(accuracy).toBeGreaterThan(0.8);

    // loom serve.
    const app = await buildServeApp({ model: loadModel(modelFile), modelBytes: encodeModel(net, 'loom', { preprocessing }) });
    const res = await app.inject({ method: 'POST', url: '/predict', payload: { rows } });
    await app.close();
    expect(res.statusCode).toBe(200);
    expect((res.json() as { predictions: { label: string }[] }).predictions.map((p) => p.label)).toEqual(library);

    // ONNX in onnxruntime: the label output indexes the stored classes.
    const onnx = await runOnnx(encodeModel(net, 'onnx', { preprocessing }), { data: Float32Array.from(rows.flat()), shape: [rows.length, 3] });
    expect(Array.from(onnx.label ?? [], (i) => preprocessing.classes[Number(i)])).toEqual(library);

    // loom predict on the CSV itself (header matched by name, label column ignored).
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await main(['predict', '--model', modelFile, '--input', join(dir, 'train.csv'), '--labels'])).toBe(0);
      const printed = JSON.parse(log.mock.calls.map((c) => String(c[0])).join('\n')) as { label: string }[];
      expect(printed.map((p) => p.label)).toEqual(library);
    } finally {
      log.mockRestore();
    }
  }, 60_000);
});
