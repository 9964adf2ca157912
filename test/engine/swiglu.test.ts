import { describe, expect, it } from 'vitest';
import { createLayer } from '../../src/engine/layers/registry.js';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { swigluKind } from '../../src/engine/layers/swiglu.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };
const silu = (v: number): number => v / (1 + Math.exp(-v));

describe('swiglu', () => {
  it('computes (silu(x·Wg + bg) ⊙ (x·Wu + bu))·Wd + bd on a hand-worked case', () => {
    const layer = swigluKind.create({ type: 'swiglu', hidden: 2 }, [2], new Rng(1));
    expect(layer.params().map((p) => `${p.name}:${p.shape.join('x')}`)).toEqual([
      'gate.kernel:2x2', 'gate.bias:2', 'up.kernel:2x2', 'up.bias:2', 'down.kernel:2x2', 'down.bias:2',
    ]);
    const [wg, bg, wu, bu, wd, bd] = layer.params();
    wg!.value.set([1, 0, 0.5, 2]); // [H][I]
    bg!.value.set([0, 1]);
    wu!.value.set([1, 1, 0, 1]);
    bu!.value.set([0.5, 2]);
    wd!.value.set([1, -1, 2, 0.5]); // [I][H]
    bd!.value.set([0.1, -0.1]);
    // x = [1, −1]: gate z = [1 − 0.5, 0 − 2] + [0, 1] = [0.5, −1]; up = [1 + 0, 1 − 1] + [0.5, 2] = [1.5, 2]
    const a0 = silu(0.5) * 1.5;
    const a1 = silu(-1) * 2;
    const y = layer.forward({ data: Float32Array.from([1, -1]), shape: [1, 2] }, ctx);
    expect(y.data[0]).toBeCloseTo(a0 * 1 + a1 * 2 + 0.1, 5);
    expect(y.data[1]).toBeCloseTo(a0 * -1 + a1 * 0.5 - 0.1, 5);
  });

  it('gradients match finite differences for one vector per sample', () => {
    const layer = swigluKind.create({ type: 'swiglu', hidden: 5 }, [4], new Rng(2));
    const rng = new Rng(4);
    for (const p of layer.params()) if (p.name.endsWith('bias')) for (let i = 0; i < p.value.length; i++) p.value[i] = rng.uniform(-0.5, 0.5);
    expectGradientsMatch(layer, randomTensor([3, 4]));
  });

  it('applies per position of the last axis ([seq, H] → [seq, H]) with matching gradients', () => {
    const layer = swigluKind.create({ type: 'swiglu', hidden: 6 }, [3, 4], new Rng(3));
    expect(layer.outputShape).toEqual([3, 4]);
    const x = randomTensor([2, 3, 4]);
    const y = layer.forward(x, ctx);
    // position 1 of sample 1 alone gives the same values as inside the sequence
    const single = swigluKind.create({ type: 'swiglu', hidden: 6 }, [4], new Rng(3));
    const ys = single.forward({ data: x.data.slice(16, 20), shape: [1, 4] }, ctx);
    Array.from(ys.data).forEach((v, i) => expect(y.data[16 + i]).toBeCloseTo(v, 6));
    expectGradientsMatch(layer, x);
  });

  it('defaults hidden to 2·H and rebuilds the same layer from its resolved spec', () => {
    const layer = swigluKind.create({ type: 'swiglu' }, [5, 3], new Rng(5));
    expect(layer.spec).toEqual({ type: 'swiglu', hidden: 6, initScale: 1 });
    const rebuilt = createLayer(layer.spec, [5, 3], new Rng(5));
    expect(rebuilt.params().map((p) => p.value)).toEqual(layer.params().map((p) => p.value));
  });

  it('rejects a bad spec and names the layer on a shape mismatch', () => {
    expect(() => swigluKind.create({ type: 'swiglu', hidden: 0 }, [4], new Rng(1))).toThrow(/swiglu: hidden must be a positive integer, got 0/);
    const layer = swigluKind.create({ type: 'swiglu', hidden: 3 }, [2, 4], new Rng(1));
    expect(() => layer.forward(randomTensor([1, 2, 3]), ctx)).toThrow(/swiglu: expected input shape \[2, 4\], got \[2, 3\]/);
  });
});
