import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { Chain } from '../../src/engine/chain.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import type { Layer, LayerSpec, Param, RunContext } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';
import { adam, softmaxCrossEntropy } from '../helpers/hand-training.js';

const SIDE = 8;
const CLASSES = 3; // horizontal, vertical, diagonal bar

/** One noisy 8×8 image with a bar of length 4–8 at a random place; diagonals go either way. */
function barImage(label: number, rng: Rng, noise: number): Float32Array {
  const img = new Float32Array(SIDE * SIDE);
  for (let i = 0; i < img.length; i++) img[i] = rng.normal(0, noise);
  const len = 4 + rng.int(SIDE - 3);
  const along = rng.int(SIDE - len + 1); // where the bar starts along its direction
  const across = rng.int(SIDE); // horizontal/vertical: its row/column
  const diagonalStart = rng.int(SIDE - len + 1); // diagonal: its first column
  const antiDiagonal = rng.next() < 0.5;
  for (let s = 0; s < len; s++) {
    const d = diagonalStart + s;
    const [r, c] = label === 0 ? [across, along + s] : label === 1 ? [along + s, across] : [along + s, antiDiagonal ? SIDE - 1 - d : d];
    img[r * SIDE + c] += 1;
  }
  return img;
}

function makeSet(n: number, rng: Rng): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(n * SIDE * SIDE);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.int(CLASSES);
    x.set(barImage(y[i]!, rng, 0.3), i * SIDE * SIDE);
  }
  return { x, y };
}

function buildNet(rng: Rng): { chain: Chain; params: Param[] } {
  const specs: LayerSpec[] = [
    { type: 'conv2d', filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' } as LayerSpec,
    { type: 'pool', mode: 'max', size: 2 } as LayerSpec,
    { type: 'flatten' },
    { type: 'dense', units: CLASSES } as LayerSpec,
  ];
  const layers: Layer[] = [];
  let shape: readonly number[] = [1, SIDE, SIDE];
  for (const spec of specs) {
    const layer = createLayer(spec, shape, rng);
    layers.push(layer);
    shape = layer.outputShape;
  }
  expect(layers.map((l) => l.outputShape)).toEqual([[8, 8, 8], [8, 4, 4], [128], [3]]);
  const params = layers.flatMap((l, i) => l.params().map((p) => ({ ...p, name: `${i}.${p.name}` })));
  return { chain: new Chain(layers.map((layer) => ({ layer, disabled: false }))), params };
}

function accuracy(chain: Chain, set: { x: Float32Array; y: Int32Array }, ctx: RunContext): number {
  const n = set.y.length;
  const logits = chain.forward({ data: set.x, shape: [n, 1, SIDE, SIDE] }, ctx).data;
  let correct = 0;
  for (let b = 0; b < n; b++) {
    let best = 0;
    for (let k = 1; k < CLASSES; k++) if (logits[b * CLASSES + k]! > logits[b * CLASSES + best]!) best = k;
    if (best === set.y[b]) correct++;
  }
  return correct / n;
}

describe('conv net training', () => {
  it('learns to tell horizontal, vertical and diagonal bars apart on held-out images', () => {
    const dataRng = new Rng(123);
    const train = makeSet(900, dataRng);
    const test = makeSet(300, dataRng);
    const { chain, params } = buildNet(new Rng(7));
    const ctx: RunContext = { training: true, rng: new Rng(1), backend: cpuJsBackend };
    const evalCtx: RunContext = { ...ctx, training: false };
    const before = accuracy(chain, test, evalCtx);

    const step = adam(params, 0.01);
    const batch = 25;
    const order = new Rng(9);
    const pixels = SIDE * SIDE;
    let firstLoss = NaN;
    let lastLoss = NaN;
    for (let epoch = 0; epoch < 6; epoch++) {
      const perm = order.permutation(train.y.length);
      let epochLoss = 0;
      for (let start = 0; start < perm.length; start += batch) {
        const idx = perm.slice(start, start + batch);
        const x = new Float32Array(idx.length * pixels);
        const y = new Int32Array(idx.length);
        idx.forEach((s, b) => {
          x.set(train.x.subarray(s * pixels, (s + 1) * pixels), b * pixels);
          y[b] = train.y[s]!;
        });
        const logits = chain.forward({ data: x, shape: [idx.length, 1, SIDE, SIDE] }, ctx);
        const dLogits = new Float32Array(logits.data.length);
        epochLoss += softmaxCrossEntropy(logits.data, y, dLogits, CLASSES) * idx.length;
        chain.backward({ data: dLogits, shape: logits.shape }, ctx);
        step();
      }
      epochLoss /= perm.length;
      if (epoch === 0) firstLoss = epochLoss;
      lastLoss = epochLoss;
    }
    const after = accuracy(chain, test, evalCtx);
    console.log(`conv net: held-out accuracy ${before.toFixed(3)} → ${after.toFixed(3)}, loss ${firstLoss.toFixed(3)} → ${lastLoss.toFixed(3)}`);
    expect(lastLoss).toBeLessThan(firstLoss);
    expect(after).toBeGreaterThanOrEqual(0.9);
  });
});
