import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { Chain } from '../../src/engine/chain.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import type { Layer, LayerSpec, Param, RunContext } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';
import { adam, softmaxCrossEntropy } from '../helpers/hand-training.js';

const SEQ = 6;
const TOKENS = 3;
const CLASSES = 2; // 1: the first token equals the last one

interface SequenceSet {
  x: Float32Array;
  y: Int32Array;
  n: number;
  width: number;
}

/**
 * "Is the first token equal to the last one?" over random one-hot token sequences, balanced 50/50. The middle
 * tokens are noise, so a model must carry the first token's identity to the end (LSTM) or match the last token
 * against the first by content (attention). With `firstFlag`, each position gets a 4th feature marking position 0,
 * the only positional information the attention model receives.
 */
function makeSet(n: number, rng: Rng, firstFlag: boolean): SequenceSet {
  const width = TOKENS + (firstFlag ? 1 : 0);
  const x = new Float32Array(n * SEQ * width);
  const y = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    const tokens = Array.from({ length: SEQ }, () => rng.int(TOKENS));
    const same = rng.next() < 0.5;
    tokens[SEQ - 1] = same ? tokens[0]! : (tokens[0]! + 1 + rng.int(TOKENS - 1)) % TOKENS;
    y[s] = same ? 1 : 0;
    tokens.forEach((tok, t) => {
      x[(s * SEQ + t) * width + tok] = 1;
      if (firstFlag && t === 0) x[(s * SEQ + t) * width + TOKENS] = 1;
    });
  }
  return { x, y, n, width };
}

function build(specs: LayerSpec[], inputShape: readonly number[], rng: Rng): { chain: Chain; params: Param[] } {
  const layers: Layer[] = [];
  let shape = inputShape;
  for (const spec of specs) {
    const layer = createLayer(spec, shape, rng);
    layers.push(layer);
    shape = layer.outputShape;
  }
  expect(shape).toEqual([CLASSES]);
  const params = layers.flatMap((l, i) => l.params().map((p) => ({ ...p, name: `${i}.${p.name}` })));
  return { chain: new Chain(layers.map((layer) => ({ layer, disabled: false }))), params };
}

function accuracy(chain: Chain, set: SequenceSet, ctx: RunContext): number {
  const logits = chain.forward({ data: set.x, shape: [set.n, SEQ, set.width] }, ctx).data;
  let correct = 0;
  for (let b = 0; b < set.n; b++) if ((logits[b * 2 + 1]! > logits[b * 2]! ? 1 : 0) === set.y[b]) correct++;
  return correct / set.n;
}

/** Mini-batch Adam on the training set; returns held-out accuracy before and after. */
function train(specs: LayerSpec[], firstFlag: boolean, epochs: number, lr: number): { before: number; after: number; loss: number } {
  const dataRng = new Rng(42);
  const trainSet = makeSet(640, dataRng, firstFlag);
  const testSet = makeSet(400, dataRng, firstFlag);
  const { chain, params } = build(specs, [SEQ, trainSet.width], new Rng(7));
  const ctx: RunContext = { training: true, rng: new Rng(1), backend: cpuJsBackend };
  const evalCtx: RunContext = { ...ctx, training: false };
  const before = accuracy(chain, testSet, evalCtx);
  const step = adam(params, lr);
  const batch = 32;
  const sample = SEQ * trainSet.width;
  const shuffle = new Rng(3);
  let loss = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = shuffle.permutation(trainSet.n);
    loss = 0;
    for (let start = 0; start < trainSet.n; start += batch) {
      const idx = order.slice(start, start + batch);
      const x = new Float32Array(idx.length * sample);
      const y = new Int32Array(idx.length);
      idx.forEach((s, b) => {
        x.set(trainSet.x.subarray(s * sample, (s + 1) * sample), b * sample);
        y[b] = trainSet.y[s]!;
      });
      const logits = chain.forward({ data: x, shape: [idx.length, SEQ, trainSet.width] }, ctx);
      const grad = new Float32Array(logits.data.length);
      loss += softmaxCrossEntropy(logits.data, y, grad, CLASSES) * idx.length;
      chain.backward({ data: grad, shape: logits.shape }, ctx);
      step();
    }
    loss /= trainSet.n;
  }
  return { before, after: accuracy(chain, testSet, evalCtx), loss };
}

describe('sequence model training', () => {
  it('an LSTM learns whether the first token equals the last one (held-out accuracy well above 50%)', () => {
    const { before, after, loss } = train(
      [{ type: 'lstm', hidden: 12 } as LayerSpec, { type: 'dense', units: CLASSES } as LayerSpec],
      false,
      25,
      0.02,
    );
    expect(before).toBeLessThan(0.7);
    expect(loss).toBeLessThan(0.2);
    expect(after).toBeGreaterThan(0.9);
  });

  it('an attention model learns the same task by matching the last token against the first', () => {
    const { before, after, loss } = train(
      [{ type: 'mha', heads: 1 } as LayerSpec, { type: 'dense', units: CLASSES } as LayerSpec],
      true,
      25,
      0.02,
    );
    expect(before).toBeLessThan(0.7);
    expect(loss).toBeLessThan(0.2);
    expect(after).toBeGreaterThan(0.9);
    // Control: equality is not linearly separable, so the same linear readout without attention stays at chance.
    const linearOnly = train([{ type: 'dense', units: CLASSES } as LayerSpec], true, 25, 0.02);
    expect(linearOnly.after).toBeLessThan(0.65);
  });
});
