import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { StepState, stepBackward, stepForward, trainStepping } from '../../src/engine/train/step.js';
import { evaluate } from '../../src/engine/eval.js';
import { train } from '../../src/engine/train/loop.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(3), backend: cpuJsBackend };

/** Ten positions mixing most layer kinds, a Residual two positions back and a disabled layer included. */
const mixedLayers: LayerSpec[] = [
  { type: 'dense', units: 4, activation: 'tanh', perPosition: true },
  { type: 'layer_norm' },
  { type: 'mha', heads: 2 },
  { type: 'residual', back: 2 },
  { type: 'lstm', hidden: 4 },
  { type: 'parallel', branches: [{ type: 'dense', units: 2, perPosition: true }, { type: 'rms_norm' }] },
  { type: 'swiglu', hidden: 5 },
  { type: 'rnn', hidden: 3 },
  { type: 'flatten' },
  { type: 'dense', units: 3 },
  { type: 'softmax' },
] as LayerSpec[];
const mixedNetwork = (disabled: number[] = []): Network =>
  new Network({ ...sequentialNetworkSpec([3, 4], mixedLayers), disabled }, new Rng(11));

const maxDiff = (a: Float32Array, b: Float32Array): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};
const gradsOf = (net: Network): Float32Array[] => net.params().map((p) => Float32Array.from(p.grad));

describe('stepForward', () => {
  it('reaches exactly the normal forward output after as many steps as layers, and not before', () => {
    const net = mixedNetwork();
    const x = randomTensor([2, 3, 4], 5);
    const expected = net.forward(x, ctx).data;
    const state = new StepState(net);
    state.setInput(x);
    for (let s = 1; s < net.layers.length; s++) {
      expect(stepForward(net, state, undefined, ctx)).toBeUndefined();
    }
    const out = stepForward(net, state, undefined, ctx) as Tensor;
    expect(out.shape).toEqual([2, 3]);
    expect(maxDiff(out.data, expected)).toBe(0);
    // A held constant input keeps producing the same output.
    expect(maxDiff((stepForward(net, state, undefined, ctx) as Tensor).data, expected)).toBe(0);
    expect(state.stepCount).toBe(net.layers.length + 1);
  });

  it('works as a pipeline: each output belongs to the input that entered depth−1 steps earlier', () => {
    const net = mixedNetwork([7]);
    const depth = net.layers.length;
    const inputs = Array.from({ length: depth + 4 }, (_, i) => randomTensor([1, 3, 4], 100 + i));
    const state = new StepState(net);
    inputs.forEach((x, s) => {
      const out = stepForward(net, state, x, ctx);
      if (s < depth - 1) return expect(out).toBeUndefined();
      expect(state.outputTag()).toBe(s - depth + 2);
      expect(maxDiff((out as Tensor).data, net.forward(inputs[s - depth + 1] as Tensor, ctx).data)).toBe(0);
    });
  });

  it('drains with bubbles once the input is cleared', () => {
    const net = new Network(sequentialNetworkSpec([2], [{ type: 'dense', units: 2 }, { type: 'dense', units: 1 }] as object[] as LayerSpec[]));
    const state = new StepState(net);
    stepForward(net, state, randomTensor([1, 2], 1), ctx);
    state.clearInput();
    expect(stepForward(net, state, undefined, ctx)).toBeDefined();
    expect(stepForward(net, state, undefined, ctx)).toBeUndefined();
  });
});

describe('stepBackward', () => {
  it('gives the normal backward gradients once the pipeline is full with a constant input', () => {
    const net = mixedNetwork();
    const x = randomTensor([2, 3, 4], 7);
    const dy = randomTensor([2, 3], 8);
    net.zeroGrad();
    net.forward(x, ctx);
    const dxNormal = net.backward(dy, ctx).data;
    const normal = gradsOf(net);

    const state = new StepState(net);
    state.setInput(x);
    for (let s = 0; s < net.layers.length + 2; s++) stepForward(net, state, undefined, ctx);
    net.zeroGrad();
    const dxStep = stepBackward(net, state, dy, ctx).data;
    expect(maxDiff(dxStep, dxNormal)).toBe(0);
    gradsOf(net).forEach((g, i) => expect(maxDiff(g, normal[i] as Float32Array)).toBe(0));
    expect(normal.every((g) => g.some((v) => v !== 0))).toBe(true);
  });

  it('differentiates the datum at the output, not a mix of pipeline times, when inputs change every step', () => {
    const net = mixedNetwork();
    const depth = net.layers.length;
    const inputs = Array.from({ length: depth + 2 }, (_, i) => randomTensor([1, 3, 4], 200 + i));
    const state = new StepState(net);
    for (const x of inputs) stepForward(net, state, x, ctx);
    const datum = inputs[inputs.length - depth] as Tensor;
    const dy = randomTensor([1, 3], 9);
    net.zeroGrad();
    net.forward(datum, ctx);
    const dxNormal = net.backward(dy, ctx).data;
    const normal = gradsOf(net);
    net.zeroGrad();
    expect(maxDiff(stepBackward(net, state, dy, ctx).data, dxNormal)).toBe(0);
    gradsOf(net).forEach((g, i) => expect(maxDiff(g, normal[i] as Float32Array)).toBe(0));
  });

  it('refuses to run before anything reached the output', () => {
    const net = mixedNetwork();
    const state = new StepState(net);
    stepForward(net, state, randomTensor([1, 3, 4], 1), ctx);
    expect(() => stepBackward(net, state, randomTensor([1, 3], 1), ctx)).toThrow(/no output yet/);
  });
});

/** Three Gaussian blobs in 4-D: a small classification task with held-out data. */
function blobs(n: number, seed: number): { x: Tensor; y: Int32Array } {
  const rng = new Rng(seed);
  const centers = [[2, 0, 0, 1], [-1, 2, 0, -1], [0, -2, 2, 0]];
  const x = new Float32Array(n * 4);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    y[i] = c;
    for (let d = 0; d < 4; d++) x[i * 4 + d] = (centers[c]?.[d] as number) + rng.normal(0, 0.7);
  }
  return { x: { data: x, shape: [n, 4] }, y };
}

describe('trainStepping', () => {
  it('lowers the loss and classifies held-out data', () => {
    const train0 = blobs(240, 1);
    const test = blobs(90, 2);
    const net = new Network(
      sequentialNetworkSpec([4], [
        { type: 'dense', units: 16, activation: 'relu' },
        { type: 'layer_norm' },
        { type: 'dense', units: 16, activation: 'tanh' },
        { type: 'dense', units: 3 },
      ] as LayerSpec[]),
      new Rng(4),
    );
    const before = evaluate(net, test).loss;
    const result = trainStepping(net, train0, { epochs: 12, batchSize: 8, learningRate: 0.01, accumulate: 2, clipNorm: 5, schedule: 'cosine', seed: 1 });
    expect(result.history).toHaveLength(12);
    const first = result.history[0]?.loss as number;
    const last = result.history[11]?.loss as number;
    expect(last).toBeLessThan(first * 0.5);
    const after = evaluate(net, test);
    expect(after.loss).toBeLessThan(before);
    expect(after.accuracy).toBeGreaterThan(0.9);
    expect(result.steps).toBe(12 * Math.ceil(240 / 16));
  });

  it('equals train() exactly on a one-layer network (no pipeline lag), accumulation and clipping included', () => {
    const data = blobs(60, 3);
    const spec = sequentialNetworkSpec([4], [{ type: 'dense', units: 3 }] as object[] as LayerSpec[]);
    const a = new Network(spec, new Rng(5));
    const b = new Network(spec, new Rng(5));
    const opts = { epochs: 3, batchSize: 7, accumulate: 2, learningRate: 0.05, optimizer: 'momentum' as const, clipNorm: 0.5, seed: 9 };
    const ra = train(a, data, opts);
    const rb = trainStepping(b, data, opts);
    expect(rb.history.map((h) => h.loss)).toEqual(ra.history.map((h) => h.loss));
    a.params().forEach((p, i) => expect(maxDiff(p.value, b.params()[i]?.value as Float32Array)).toBe(0));
  });
});
