import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { mhaKind, type MhaSpec } from '../../src/engine/layers/mha.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import type { Layer, LayerSpec, Param } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };

const param = (layer: Layer, name: string): Param => layer.params().find((p) => p.name === name)!;

/** Sets Q, K, V and output kernels to given square matrices (identity when omitted) and every bias to zero. */
function setWeights(layer: Layer, d: number, kernels: Partial<Record<'q' | 'k' | 'v' | 'out', number[]>> = {}): void {
  const identity = Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0));
  for (const name of ['q', 'k', 'v', 'out'] as const) param(layer, `${name}Kernel`).value.set(kernels[name] ?? identity);
  for (const name of ['q', 'k', 'v', 'out']) param(layer, `${name}Bias`).value.fill(0);
}

/** Checks every gradient; the key bias is checked separately because softmax makes its gradient exactly zero without RoPE. */
function checkGradients(spec: MhaSpec, seq: number, dModel: number): void {
  const layer = mhaKind.create(spec, [seq, dModel], new Rng(11));
  const x = randomTensor([2, seq, dModel], 5);
  const keyBiasIsInert = !spec.rope || seq === 1;
  const checked = {
    forward: layer.forward.bind(layer),
    backward: layer.backward.bind(layer),
    params: () => layer.params().filter((p) => !(keyBiasIsInert && p.name === 'kBias')),
  };
  // With one position the attention weight is exactly 1: queries and keys cannot change the output.
  const allowZero = seq === 1 ? ['qKernel', 'qBias', 'kKernel'] : [];
  expectGradientsMatch(checked, x, { allowZero, probes: 30 });
  if (keyBiasIsInert) {
    layer.forward(x, ctx);
    const kBias = param(layer, 'kBias');
    kBias.grad.fill(0);
    layer.backward(randomTensor([2, seq, dModel], 9), ctx);
    for (const g of kBias.grad) expect(Math.abs(g)).toBeLessThan(1e-5);
  }
}

describe('mha', () => {
  const configs: Array<[string, MhaSpec]> = [
    ['1 head', { type: 'mha', heads: 1 }],
    ['2 heads', { type: 'mha', heads: 2 }],
    ['4 heads', { type: 'mha', heads: 4 }],
    ['4 heads, 2 kv heads', { type: 'mha', heads: 4, kvHeads: 2 }],
    ['2 heads, causal', { type: 'mha', heads: 2, causal: true }],
    ['4 heads, 2 kv heads, causal', { type: 'mha', heads: 4, kvHeads: 2, causal: true }],
    ['2 heads, rope θ=500', { type: 'mha', heads: 2, rope: true, ropeTheta: 500 }],
    ['4 heads, 2 kv heads, causal, rope θ=50', { type: 'mha', heads: 4, kvHeads: 2, causal: true, rope: true, ropeTheta: 50 }],
  ];
  for (const [label, spec] of configs) {
    for (const seq of [1, 4]) {
      it(`gradients match finite differences: ${label}, seq ${seq}`, () => checkGradients(spec, seq, 8));
    }
  }

  it('with zero Q and K weights attends uniformly: output = mean of the visible inputs + output bias', () => {
    for (const causal of [false, true]) {
      const layer = mhaKind.create({ type: 'mha', heads: 1, causal }, [3, 2], new Rng(1));
      setWeights(layer, 2, { q: [0, 0, 0, 0], k: [0, 0, 0, 0] });
      param(layer, 'outBias').value.set([1, -1]);
      const y = layer.forward({ data: Float32Array.from([3, 0, 0, 6, 3, 3]), shape: [1, 3, 2] }, ctx);
      const expected = causal ? [3 + 1, 0 - 1, 1.5 + 1, 3 - 1, 2 + 1, 3 - 1] : [3, 2, 3, 2, 3, 2];
      for (let i = 0; i < 6; i++) expect(y.data[i]).toBeCloseTo(expected[i]!, 6);
    }
  });

  it('causal: the first position attends only to itself, so later tokens cannot change it', () => {
    for (const causal of [true, false]) {
      const layer = mhaKind.create({ type: 'mha', heads: 2, causal }, [4, 6], new Rng(3));
      const x = randomTensor([1, 4, 6], 4);
      const before = Array.from(layer.forward(x, ctx).data);
      const changed = Float32Array.from(x.data);
      for (let i = 6; i < changed.length; i++) changed[i] += 0.5;
      const after = Array.from(layer.forward({ data: changed, shape: x.shape }, ctx).data);
      // Position 0 sees only itself: its output is v₀·Wo + bo whatever comes later.
      if (causal) expect(after.slice(0, 6)).toEqual(before.slice(0, 6));
      else expect(Math.max(...after.slice(0, 6).map((v, i) => Math.abs(v - before[i]!)))).toBeGreaterThan(1e-3);
    }
  });

  it('RoPE rotates dims (i, i + headDim/2) of queries and keys by position · θ^(−2i/headDim)', () => {
    const theta = 100;
    const seq = 3;
    const layer = mhaKind.create({ type: 'mha', heads: 1, rope: true, ropeTheta: theta }, [seq, 4], new Rng(1));
    setWeights(layer, 4);
    const x = randomTensor([1, seq, 4], 6, -2, 2);
    const y = layer.forward(x, ctx);
    // Expected: each (x[i], x[i+2]) pair as the complex number x[i] + i·x[i+2], multiplied by e^{i·m·ω_i}.
    const rotated = (m: number): number[] => {
      const row = Array.from(x.data.subarray(m * 4, m * 4 + 4));
      const out = [0, 0, 0, 0];
      for (const i of [0, 1]) {
        const w = m * theta ** (-i / 2);
        out[i] = row[i]! * Math.cos(w) - row[i + 2]! * Math.sin(w);
        out[i + 2] = row[i]! * Math.sin(w) + row[i + 2]! * Math.cos(w);
      }
      return out;
    };
    for (let m = 0; m < seq; m++) {
      const scores = Array.from({ length: seq }, (_, n) => rotated(m).reduce((s, v, d) => s + v * rotated(n)[d]!, 0) / 2);
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const total = e.reduce((a, b) => a + b, 0);
      for (let d = 0; d < 4; d++) {
        const expected = e.reduce((s, w, n) => s + (w / total) * x.data[n * 4 + d]!, 0);
        expect(y.data[m * 4 + d]).toBeCloseTo(expected, 5);
      }
    }
  });

  it('without RoPE, permuting the positions permutes the output; RoPE breaks that symmetry', () => {
    const perm = [2, 0, 3, 1];
    const x = randomTensor([1, 4, 4], 8);
    const permuted = new Float32Array(16);
    perm.forEach((from, to) => permuted.set(x.data.subarray(from * 4, from * 4 + 4), to * 4));
    const gap = (rope: boolean): number => {
      const layer = mhaKind.create({ type: 'mha', heads: 2, rope }, [4, 4], new Rng(2));
      const y = layer.forward(x, ctx).data;
      const yp = layer.forward({ data: permuted, shape: [1, 4, 4] }, ctx).data;
      let worst = 0;
      perm.forEach((from, to) => {
        for (let d = 0; d < 4; d++) worst = Math.max(worst, Math.abs(yp[to * 4 + d]! - y[from * 4 + d]!));
      });
      return worst;
    };
    expect(gap(false)).toBeLessThan(1e-5);
    expect(gap(true)).toBeGreaterThan(1e-3);
  });

  it('RoPE leaves a single position unchanged', () => {
    const x = randomTensor([3, 1, 8], 12);
    const plain = mhaKind.create({ type: 'mha', heads: 2 }, [1, 8], new Rng(4)).forward(x, ctx).data;
    const rotated = mhaKind.create({ type: 'mha', heads: 2, rope: true }, [1, 8], new Rng(4)).forward(x, ctx).data;
    for (let i = 0; i < plain.length; i++) expect(rotated[i]).toBeCloseTo(plain[i]!, 6);
  });

  it('resolves defaults, lays out grouped K/V kernels [dModel][kvHeads·headDim], and rebuilds from its spec', () => {
    const layer = mhaKind.create({ type: 'mha', heads: 4, kvHeads: 2 }, [5, 8], new Rng(9));
    expect(layer.spec).toEqual({ type: 'mha', heads: 4, kvHeads: 2, causal: false, rope: false, ropeTheta: 10000, initScale: 1 });
    expect(layer.outputShape).toEqual([5, 8]);
    expect(layer.params().map((p) => [p.name, p.shape])).toEqual([
      ['qKernel', [8, 8]], ['qBias', [8]], ['kKernel', [8, 4]], ['kBias', [4]],
      ['vKernel', [8, 4]], ['vBias', [4]], ['outKernel', [8, 8]], ['outBias', [8]],
    ]);
    expect(mhaKind.create({ type: 'mha', heads: 2 }, [3, 8], new Rng(1)).spec.kvHeads).toBe(2);
    const rebuilt = createLayer(layer.spec as LayerSpec, layer.inputShape, new Rng(9));
    const x: Tensor = randomTensor([2, 5, 8], 1);
    expect(Array.from(rebuilt.forward(x, ctx).data)).toEqual(Array.from(layer.forward(x, ctx).data));
  });

  it('Xavier init scaled by initScale', () => {
    const std = (scale: number): number => {
      const w = param(mhaKind.create({ type: 'mha', heads: 2, initScale: scale }, [4, 32], new Rng(5)), 'qKernel').value;
      return Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    };
    expect(std(1)).toBeCloseTo(Math.sqrt(2 / 64), 2);
    expect(std(0.5)).toBeCloseTo(0.5 * Math.sqrt(2 / 64), 2);
  });

  it('rejects bad specs with the allowed values', () => {
    const make = (spec: Partial<MhaSpec>, shape: number[] = [4, 8]) => () => mhaKind.create({ type: 'mha', heads: 2, ...spec }, shape, new Rng(1));
    expect(make({ heads: 3 })).toThrow(/mha: heads \(3\) must divide dModel \(8\)/);
    expect(make({ heads: 0 })).toThrow(/heads must be a positive integer/);
    expect(make({ heads: 4, kvHeads: 3 })).toThrow(/kvHeads must be a positive integer dividing heads \(4\), got 3/);
    expect(make({ heads: 2, rope: true }, [4, 6])).toThrow(/rope needs an even headDim, got 3/);
    expect(make({ ropeTheta: -1 })).toThrow(/ropeTheta/);
    expect(make({}, [8])).toThrow(/mha: expected input shape \[seq, dModel\], got \[8\]/);
  });

  it('names the layer and shapes on a shape mismatch', () => {
    const layer = mhaKind.create({ type: 'mha', heads: 2 }, [4, 8], new Rng(1));
    expect(() => layer.forward(randomTensor([2, 3, 8]), ctx)).toThrow(/mha: expected input shape \[4, 8\], got \[3, 8\]/);
  });
});
