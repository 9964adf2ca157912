import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/eval.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { layerTypes } from '../../src/engine/layers/registry.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { defaultTweenRates, StepTweenChain, TweenState, trainTweening } from '../../src/engine/train/tween.js';
import { randomTensor } from '../helpers/gradcheck.js';

const spec = (inputShape: number[], layers: object[]) => sequentialNetworkSpec(inputShape, layers as LayerSpec[]);
const head = { type: 'dense', units: 3 };

/** One small network per layer kind, each ending in a 3-class head (or a softmax). */
const perKind: Record<string, { input: number[]; layers: object[]; ids?: number }> = {
  dense: { input: [4], layers: [{ type: 'dense', units: 6, activation: 'tanh' }, head] },
  conv2d: { input: [1, 4, 4], layers: [{ type: 'conv2d', filters: 2, kernelSize: 3, padding: 1, activation: 'relu' }, { type: 'flatten' }, head] },
  conv1d: { input: [2, 6], layers: [{ type: 'conv1d', filters: 2, kernelSize: 3, activation: 'tanh' }, { type: 'flatten' }, head] },
  mha: { input: [3, 4], layers: [{ type: 'mha', heads: 2 }, head] },
  rnn: { input: [3, 4], layers: [{ type: 'rnn', hidden: 4 }, head] },
  lstm: { input: [3, 4], layers: [{ type: 'lstm', hidden: 4 }, head] },
  softmax: { input: [4], layers: [{ type: 'dense', units: 3 }, { type: 'softmax' }] },
  layer_norm: { input: [4], layers: [{ type: 'layer_norm' }, head] },
  rms_norm: { input: [4], layers: [{ type: 'rms_norm' }, head] },
  residual: { input: [4], layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'residual' }, head] },
  swiglu: { input: [4], layers: [{ type: 'swiglu', hidden: 5 }, head] },
  embedding: { input: [3], layers: [{ type: 'embedding', vocab: 5, dim: 4 }, head], ids: 5 },
  parallel: {
    input: [3, 4],
    layers: [
      {
        type: 'parallel',
        branches: [
          { type: 'lstm', hidden: 3 },
          { type: 'mha', heads: 2 },
          { type: 'parallel', branches: [{ type: 'dense', units: 2, perPosition: true }, { type: 'rms_norm' }] },
        ],
      },
      head,
    ],
  },
  sequential: { input: [4], layers: [{ type: 'sequential', layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'layer_norm' }] }, head] },
  flatten: { input: [2, 2], layers: [{ type: 'flatten' }, head] },
  pool: { input: [3, 4], layers: [{ type: 'pool' }, head] },
  reshape: { input: [4], layers: [{ type: 'reshape', shape: [2, 2] }, { type: 'flatten' }, head] },
  dropout: { input: [4], layers: [{ type: 'dense', units: 4, activation: 'tanh' }, { type: 'dropout', rate: 0.2 }, head] },
  random_shift: { input: [4, 4], layers: [{ type: 'random_shift', pixels: 1 }, { type: 'flatten' }, head] },
  random_rotation: { input: [4, 4], layers: [{ type: 'random_rotation', degrees: 15 }, { type: 'flatten' }, head] },
  random_elastic: { input: [4, 4], layers: [{ type: 'random_elastic', alpha: 8, sigma: 1.5 }, { type: 'flatten' }, head] },
};

function randomData(input: number[], n: number, seed: number, ids?: number): { x: Tensor; y: Int32Array } {
  const rng = new Rng(seed);
  const x = randomTensor([n, ...input], seed);
  if (ids) for (let i = 0; i < x.data.length; i++) x.data[i] = rng.int(ids);
  return { x, y: Int32Array.from({ length: n }, () => rng.int(3)) };
}

describe('TweenState', () => {
  it("takes LOOM's default per-type rates from the layer kinds; other kinds get 1", () => {
    expect(defaultTweenRates()).toEqual({
      dense: 1, rnn: 0.5, lstm: 0.5, mha: 0.2, layer_norm: 0.1, rms_norm: 0.1, swiglu: 0.2, conv2d: 0.1, conv1d: 0.1, embedding: 0.1,
    });
    expect(new TweenState(new Network(spec([4], [{ type: 'dense', units: 2 }]), new Rng(1)), { rates: { dense: 0.3 } }).config.rates).toMatchObject({ dense: 0.3, lstm: 0.5 });
  });

  it('has a test network for every registered layer kind', () => {
    expect(Object.keys(perKind).sort()).toEqual(layerTypes().sort());
  });

  for (const [kind, c] of Object.entries(perKind)) {
    it(`lowers the loss on ${kind} and changes every parameter, branches included`, () => {
      const net = new Network(spec(c.input, c.layers), new Rng(2));
      const data = randomData(c.input, 12, 7, c.ids);
      const before = net.params().map((p) => Float32Array.from(p.value));
      const lossBefore = evaluate(net, data).loss;
      const tween = new TweenState(net);
      for (let i = 0; i < 40; i++) tween.tweenBatch(data.x, data.y, 0.1);
      const lossAfter = evaluate(net, data).loss;
      expect(lossAfter).toBeLessThan(lossBefore * 0.9);
      expect(net.params().length).toBeGreaterThan(0);
      net.params().forEach((p, i) => expect(p.value.some((v, k) => v !== before[i]?.[k]), p.name).toBe(true));
      expect(tween.tweenSteps).toBe(40);
    });
  }

  it('uses the real gradient: with SGD and all rates 1 a tween step is exactly w − lr·∂L/∂w', () => {
    const s = spec([3, 4], perKind.parallel?.layers as object[]);
    const a = new Network(s, new Rng(4));
    const b = new Network(s, new Rng(4));
    const data = randomData([3, 4], 5, 3);
    const ones = Object.fromEntries(layerTypes().map((t) => [t, 1]));
    new TweenState(a, { optimizer: 'sgd', rates: ones, clipNorm: 0 }).tweenStep(data.x, data.y, 0.3);
    const ctx = { training: true, rng: new Rng(0) };
    const out = b.forward(data.x, ctx);
    // Softmax cross-entropy gradient of the mean loss, computed by hand.
    const grad = new Float32Array(out.data.length);
    for (let r = 0; r < 5; r++) {
      const row = out.data.subarray(r * 3, r * 3 + 3);
      const m = Math.max(...row);
      const e = Array.from(row, (v) => Math.exp(v - m));
      const z = e.reduce((p, q) => p + q, 0);
      e.forEach((v, k) => (grad[r * 3 + k] = (v / z - (k === data.y[r] ? 1 : 0)) / 5));
    }
    b.backward({ data: grad, shape: out.shape }, ctx);
    for (const p of b.params()) for (let k = 0; k < p.value.length; k++) p.value[k] = (p.value[k] as number) - 0.3 * (p.grad[k] as number);
    a.params().forEach((p, i) => {
      const q = b.params()[i]?.value as Float32Array;
      p.value.forEach((v, k) => expect(v).toBeCloseTo(q[k] as number, 6));
    });
  });

  it('batch mode equals one update on the averaged gradient of its micro-batches', () => {
    const s = spec([4], perKind.sequential?.layers as object[]);
    const a = new Network(s, new Rng(6));
    const b = new Network(s, new Rng(6));
    const data = randomData([4], 6, 5);
    new TweenState(a, { optimizer: 'sgd' }).tweenBatch(data.x, data.y, 0.2);
    const tb = new TweenState(b, { optimizer: 'sgd' });
    tb.accumulate({ data: data.x.data.subarray(0, 8), shape: [2, 4] }, data.y.subarray(0, 2));
    tb.accumulate({ data: data.x.data.subarray(8), shape: [4, 4] }, data.y.subarray(2));
    tb.applyBatch(0.2);
    a.params().forEach((p, i) => p.value.forEach((v, k) => expect(v).toBeCloseTo(b.params()[i]?.value[k] as number, 6)));
  });

  it('measures link budgets, gaps and the depth barrier at every layer, and leaves frozen layers alone', () => {
    const net = new Network({ ...spec([4], [{ type: 'dense', units: 5, activation: 'tanh' }, { type: 'layer_norm' }, head]), frozen: [1] }, new Rng(1));
    const frozen = net.layers[1]?.params().map((p) => Float32Array.from(p.value)) ?? [];
    const data = randomData([4], 8, 2);
    const tween = new TweenState(net);
    tween.tweenStep(data.x, data.y, 0.1);
    expect(tween.linkBudgets).toHaveLength(3);
    expect(tween.forwardActs).toHaveLength(4);
    expect(tween.chainGradients).toHaveLength(4);
    for (const b of tween.linkBudgets) expect(b >= 0 && b <= 1).toBe(true);
    tween.gaps.forEach((g) => expect(g).toBeGreaterThan(0));
    expect(tween.depthBarrier[2]).toBeCloseTo(tween.linkBudgets.reduce((p, q) => p * q, 1), 10);
    // The target sits targetStep against the gradient: gap = targetStep² · mean(g²) at the output.
    const g = tween.chainGradients[3] as Float32Array;
    expect(tween.gaps[2]).toBeCloseTo((0.01 * g.reduce((s, v) => s + v * v, 0)) / g.length, 8);
    net.layers[1]?.params().forEach((p, i) => expect(Array.from(p.value)).toEqual(Array.from(frozen[i] as Float32Array)));
  });

  it('explosion detection shrinks the rate when the gap blows up', () => {
    const net = new Network(spec([4], [{ type: 'dense', units: 3 }]), new Rng(1));
    const tween = new TweenState(net, { explosionDetection: true, optimizer: 'sgd' });
    const data = randomData([4], 4, 1);
    for (let i = 0; i < 10; i++) tween.tweenStep(data.x, data.y, 1e-6);
    expect(tween.adaptiveRate).toBe(1);
    const huge = { data: data.x.data.map((v) => v * 1e4), shape: data.x.shape };
    tween.tweenStep(huge, data.y, 1e-9);
    expect(tween.adaptiveRate).toBeCloseTo(0.7, 10);
  });
});

describe('trainTweening and StepTweenChain', () => {
  it('trainTweening fits a learnable task and reports TrainResult history', () => {
    const rng = new Rng(3);
    const n = 120;
    const x = new Float32Array(n * 2);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      x[2 * i] = rng.uniform(-1, 1);
      x[2 * i + 1] = rng.uniform(-1, 1);
      y[i] = (x[2 * i] as number) + (x[2 * i + 1] as number) > 0 ? 1 : 0;
    }
    const net = new Network(spec([2], [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 2 }]), new Rng(1));
    const result = trainTweening(net, { x: { data: x, shape: [n, 2] }, y }, { epochs: 15, batchSize: 8, learningRate: 0.05, seed: 2 });
    expect(result.history).toHaveLength(15);
    expect(result.history[14]?.loss).toBeLessThan((result.history[0]?.loss as number) * 0.6);
    expect(result.history[14]?.accuracy).toBeGreaterThan(0.9);
  });

  it('StepTweenChain acts on the pipeline output and tweens every sample', () => {
    const net = new Network(spec([4], [{ type: 'dense', units: 5, activation: 'tanh' }, { type: 'dense', units: 3 }]), new Rng(1));
    const stc = new StepTweenChain(net);
    const data = randomData([4], 3, 4);
    const first = stc.step({ data: data.x.data.subarray(0, 4), shape: [1, 4] }, data.y.subarray(0, 1), 0.05);
    expect(first.output).toBeUndefined();
    const second = stc.step({ data: data.x.data.subarray(4, 8), shape: [1, 4] }, data.y.subarray(1, 2), 0.05);
    expect(second.outputTag).toBe(1);
    expect(stc.tween.tweenSteps).toBe(2);
  });
});

describe('trainWithMode', () => {
  it('dispatches every mode with the same options and returns the same TrainResult shape', async () => {
    const { trainWithMode, TRAINING_MODES } = await import('../../src/engine/train/modes.js');
    const data = randomData([4], 24, 8);
    for (const mode of TRAINING_MODES) {
      const net = new Network(spec([4], [{ type: 'dense', units: 6, activation: 'tanh' }, head]), new Rng(1));
      const r = trainWithMode(net, data, { mode, epochs: 8, batchSize: 4, learningRate: 0.02, validation: data, seed: 1 });
      expect(r.history, mode).toHaveLength(8);
      expect(r.history[7]?.valAccuracy, mode).toBeDefined();
      expect(r.history[7]?.loss as number, mode).toBeLessThan(r.history[0]?.loss as number);
      expect(r.steps, mode).toBe(8 * 6);
    }
    const net = new Network(spec([4], [head]), new Rng(1));
    expect(() => trainWithMode(net, data, { mode: 'bogus' as 'normal', epochs: 1 })).toThrow(/training.mode/);
  });
});
