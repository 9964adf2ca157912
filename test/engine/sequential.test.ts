import { describe, expect, it } from 'vitest';
import { createLayer } from '../../src/engine/layers/registry.js';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };
const spec = (s: object): LayerSpec => s as LayerSpec;

describe('sequential', () => {
  it('runs its steps in order, each built for the previous output shape', () => {
    const seq = createLayer(spec({ type: 'sequential', layers: [{ type: 'dense', units: 5, activation: 'relu' }, { type: 'layer_norm' }, { type: 'dense', units: 2 }] }), [3], new Rng(1));
    const steps = seq.children!();
    expect(steps.map((s) => s.spec.type)).toEqual(['dense', 'layer_norm', 'dense']);
    expect(steps.map((s) => s.inputShape)).toEqual([[3], [5], [5]]);
    expect(seq.outputShape).toEqual([2]);
    const x = randomTensor([4, 3]);
    const manual = steps.reduce((h, s) => s.forward(h, ctx), x);
    expect(Array.from(seq.forward(x, ctx).data)).toEqual(Array.from(manual.data));
  });

  it('prefixes parameter names by step, nested to any depth', () => {
    const seq = createLayer(
      spec({ type: 'sequential', layers: [{ type: 'dense', units: 4 }, { type: 'sequential', layers: [{ type: 'rms_norm' }, { type: 'sequential', layers: [{ type: 'dense', units: 2 }] }] }] }),
      [3],
      new Rng(1),
    );
    expect(seq.params().map((p) => p.name)).toEqual(['step.0.kernel', 'step.0.bias', 'step.1.step.0.gamma', 'step.1.step.1.step.0.kernel', 'step.1.step.1.step.0.bias']);
  });

  it('gradients match finite differences through mixed, nested steps with a residual inside', () => {
    const seq = createLayer(
      spec({
        type: 'sequential',
        layers: [
          { type: 'dense', units: 4, activation: 'tanh', perPosition: true },
          { type: 'layer_norm' },
          { type: 'swiglu', hidden: 3 },
          { type: 'sequential', layers: [{ type: 'rms_norm' }, { type: 'dense', units: 4, activation: 'gelu', perPosition: true }, { type: 'residual', back: 2 }] },
          { type: 'residual', back: 2 },
        ],
      }),
      [3, 2],
      new Rng(2),
    );
    expect(seq.outputShape).toEqual([3, 4]);
    expectGradientsMatch(seq, randomTensor([2, 3, 2]));
  });

  it('rebuilds the same architecture from its resolved spec', () => {
    const seq = createLayer(spec({ type: 'sequential', layers: [{ type: 'swiglu' }, { type: 'residual' }] }), [2, 3], new Rng(4));
    expect(seq.spec).toEqual({ type: 'sequential', layers: [{ type: 'swiglu', hidden: 6, initScale: 1 }, { type: 'residual', back: 1 }] });
    const again = createLayer(JSON.parse(JSON.stringify(seq.spec)), [2, 3], new Rng(4));
    const x = randomTensor([1, 2, 3]);
    expect(Array.from(again.forward(x, ctx).data)).toEqual(Array.from(seq.forward(x, ctx).data));
  });

  it('names the failing step in errors and rejects an empty list or a wrong input shape', () => {
    expect(() => createLayer(spec({ type: 'sequential', layers: [{ type: 'dense', units: 2 }, { type: 'dense', units: -1 }] }), [3], new Rng(1))).toThrow(
      /sequential step 1 \(dense\): dense: units must be a positive integer, got -1/,
    );
    expect(() => createLayer(spec({ type: 'sequential', layers: [] }), [3], new Rng(1))).toThrow(/sequential: layers must be a non-empty array/);
    const seq = createLayer(spec({ type: 'sequential', layers: [{ type: 'dense', units: 2 }] }), [3], new Rng(1));
    expect(() => seq.forward(randomTensor([1, 4]), ctx)).toThrow(/sequential: expected input shape \[3\], got \[4\]/);
  });

  it('works as one layer of a network, gradients included', () => {
    const net = new Network(
      sequentialNetworkSpec([4], [spec({ type: 'dense', units: 3, activation: 'tanh' }), spec({ type: 'sequential', layers: [{ type: 'rms_norm' }, { type: 'dense', units: 3 }, { type: 'residual', back: 2 }] })]),
      new Rng(5),
    );
    expect(net.params().map((p) => p.name)).toContain('L1.step.1.kernel');
    expectGradientsMatch(net, randomTensor([2, 4]));
  });
});
