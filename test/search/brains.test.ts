import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { createLayer } from '../../src/engine/layers/registry.js';
import type { Layer } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { BRAIN_TYPES, type BrainType } from '../../src/search/arch.js';
import { brainSpec } from '../../src/search/brains.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };
const SEQ = 5;
const D = 8;
const params = { dModel: D, numHeads: 2, activation: 'tanh', initScale: 1 } as const;
const build = (type: BrainType, seed = 1): Layer => createLayer(brainSpec(type, params), [SEQ, D], new Rng(seed));

/** Output rows (positions) whose values change when only input position `pos` changes. */
function affectedPositions(layer: Layer, pos: number): number[] {
  const x = randomTensor([1, SEQ, D], 11);
  const y0 = layer.forward(x, ctx).data.slice();
  const x2: Tensor = { data: x.data.slice(), shape: x.shape };
  for (let j = 0; j < D; j++) x2.data[pos * D + j] = (x2.data[pos * D + j] as number) + (j % 3 === 0 ? 0.7 : -0.4); // not a shift or scale (LayerNorm ignores those)
  const y1 = layer.forward(x2, ctx).data;
  const out: number[] = [];
  for (let t = 0; t < SEQ; t++) {
    let diff = 0;
    for (let j = 0; j < D; j++) diff += Math.abs((y1[t * D + j] as number) - (y0[t * D + j] as number));
    if (diff > 1e-6) out.push(t);
  }
  return out;
}

describe('brains', () => {
  for (const type of BRAIN_TYPES) {
    it(`${type} maps [seq, dModel] → [seq, dModel] and its gradients match finite differences`, () => {
      const layer = build(type);
      expect(layer.outputShape).toEqual([SEQ, D]);
      const y = layer.forward(randomTensor([3, SEQ, D]), ctx);
      expect(y.shape).toEqual([3, SEQ, D]);
      expect(y.data.every(Number.isFinite)).toBe(true);
      expect(layer.params().length).toBeGreaterThan(0);
      expectGradientsMatch(layer, randomTensor([2, SEQ, D], 5), { tol: 2e-2 });
    });
  }

  it('MHA really attends: every output position depends on every input position', () => {
    expect(affectedPositions(build('MHA'), 2)).toEqual([0, 1, 2, 3, 4]);
    const spec = brainSpec('MHA', params) as unknown as { layers: { type: string; heads?: number; rope?: boolean }[] };
    expect(spec.layers.map((l) => l.type)).toEqual(['layer_norm', 'mha', 'residual']);
    expect(spec.layers[1]).toMatchObject({ heads: 2, rope: true, causal: false });
  });

  it('sequence brains mix positions the way their kind says', () => {
    expect(affectedPositions(build('LSTM'), 2)).toEqual([2, 3, 4]); // recurrent: the present and the future
    expect(affectedPositions(build('RNN'), 2)).toEqual([2, 3, 4]);
    expect(affectedPositions(build('Conv1D'), 2)).toEqual([1, 2, 3]); // kernel 3, same padding
    for (const type of ['Dense', 'SwiGLU', 'NormDense'] as const) expect(affectedPositions(build(type), 2)).toEqual([2]);
  });

  it('SwiGLU is a gated FFN with an intermediate of 2·dModel, not a dense layer', () => {
    const layer = build('SwiGLU');
    expect(layer.spec).toMatchObject({ type: 'swiglu', hidden: 2 * D });
    expect(layer.params().map((p) => p.shape)).toEqual([[D, 2 * D], [2 * D], [D, 2 * D], [2 * D], [2 * D, D], [D]]);
  });

  it('NormDense normalizes first: scaling a token does not change its output', () => {
    const layer = build('NormDense');
    const x = randomTensor([1, SEQ, D], 4);
    const y = layer.forward(x, ctx).data.slice();
    const scaled = layer.forward({ data: x.data.map((v) => 3 * v + 0), shape: x.shape }, ctx).data;
    for (let i = 0; i < y.length; i++) expect(scaled[i]).toBeCloseTo(y[i] as number, 3);
    const dense = build('Dense');
    const yd = dense.forward(x, ctx).data.slice();
    const yds = dense.forward({ data: x.data.map((v) => 3 * v), shape: x.shape }, ctx).data;
    expect(yds.some((v, i) => Math.abs(v - (yd[i] as number)) > 1e-2)).toBe(true);
  });

  it('passes the config activation and init scale through', () => {
    expect(brainSpec('Dense', params)).toEqual({ type: 'dense', units: D, activation: 'tanh', perPosition: true, initScale: 1 });
    expect(brainSpec('Conv1D', { ...params, initScale: 0.5 })).toMatchObject({ filters: D, kernelSize: 3, padding: 'same', channelsLast: true, activation: 'tanh', initScale: 0.5 });
    expect(brainSpec('LSTM', params)).toEqual({ type: 'lstm', hidden: D, initScale: 1 });
    expect(() => brainSpec('MHA', { ...params, numHeads: 3 })).toThrow(/"numHeads".*must divide dModel 8/);
  });
});
