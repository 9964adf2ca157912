import { describe, expect, it } from 'vitest';
import { createLayer } from '../../src/engine/layers/registry.js';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import type { Layer, LayerSpec } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };
const spec = (s: object): LayerSpec => s as LayerSpec;
const build = (s: object, inputShape: number[], seed = 1): Layer => createLayer(spec({ type: 'parallel', ...s }), inputShape, new Rng(seed));
const close = (actual: Float32Array, expected: readonly number[]): void => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 5));
};
const outputsOf = (p: Layer, x: Tensor): Float32Array[] => p.children!().map((b) => b.forward(x, ctx).data);

/** Three branch types with the same [seq, d] → [seq, d] shape. */
const mixedBranches = [
  { type: 'dense', units: 3, activation: 'tanh', perPosition: true },
  { type: 'layer_norm' },
  { type: 'swiglu', hidden: 4 },
];

describe('parallel', () => {
  describe('concat', () => {
    it('concatenates [seq, d] branches along the last axis: [seq, Σd]', () => {
      const p = build({ branches: [{ type: 'dense', units: 2, perPosition: true }, { type: 'layer_norm' }] }, [2, 3]);
      expect(p.spec).toMatchObject({ combine: 'concat' });
      expect(p.outputShape).toEqual([2, 5]);
      const x = randomTensor([2, 2, 3]);
      const [a, b] = outputsOf(p, x) as [Float32Array, Float32Array];
      const expected: number[] = [];
      for (let r = 0; r < 4; r++) expected.push(...a.subarray(r * 2, r * 2 + 2), ...b.subarray(r * 3, r * 3 + 3));
      close(p.forward(x, ctx).data, expected);
    });

    it('flattens and concatenates when the outputs disagree on other axes', () => {
      const p = build({ branches: [{ type: 'dense', units: 4 }, { type: 'rms_norm' }] }, [2, 3]);
      expect(p.outputShape).toEqual([4 + 6]);
      const x = randomTensor([2, 2, 3]);
      const [a, b] = outputsOf(p, x) as [Float32Array, Float32Array];
      close(p.forward(x, ctx).data, [...a.subarray(0, 4), ...b.subarray(0, 6), ...a.subarray(4), ...b.subarray(6)]);
    });

    it('gradients match finite differences with dense, layer_norm and swiglu branches', () => {
      const p = build({ combine: 'concat', branches: [...mixedBranches, { type: 'dense', units: 2 }] }, [2, 3], 2);
      expect(p.outputShape).toEqual([3 * 2 + 6 + 6 + 2]);
      expectGradientsMatch(p, randomTensor([2, 2, 3]));
    });
  });

  describe('add and avg', () => {
    for (const combine of ['add', 'avg'] as const) {
      it(`${combine}: combines equal shapes element-wise and gradients match`, () => {
        const p = build({ combine, branches: mixedBranches }, [2, 3], 3);
        expect(p.outputShape).toEqual([2, 3]);
        const x = randomTensor([2, 2, 3]);
        const outs = outputsOf(p, x);
        const scale = combine === 'avg' ? 1 / 3 : 1;
        close(p.forward(x, ctx).data, Array.from(outs[0]!).map((_, i) => scale * outs.reduce((s, o) => s + (o[i] as number), 0)));
        expectGradientsMatch(p, x);
      });
    }

    it('names the mismatched branches and their shapes', () => {
      expect(() => build({ combine: 'add', branches: [{ type: 'layer_norm' }, { type: 'dense', units: 4 }] }, [3])).toThrow(
        /parallel \(add\): branch outputs must have equal shapes, but branch 0 \(layer_norm\) gives \[3\] and branch 1 \(dense\) gives \[4\]/,
      );
      expect(() => build({ combine: 'avg', branches: [{ type: 'layer_norm' }, { type: 'swiglu' }, { type: 'dense', units: 2 }] }, [3])).toThrow(/branch 2 \(dense\) gives \[2\]/);
    });
  });

  describe('grid_scatter', () => {
    const branches = [{ type: 'dense', units: 2 }, { type: 'layer_norm' }, { type: 'dense', units: 2, activation: 'tanh' }];

    it('places each branch output in its grid cell, empty cells zero', () => {
      const positions = [{ row: 1, col: 1, layer: 0 }, { row: 0, col: 0, layer: 1 }, { row: 1, col: 0, layer: 1 }];
      const p = build({ combine: 'grid_scatter', gridRows: 2, gridCols: 2, gridLayers: 2, positions, branches }, [2]);
      expect(p.outputShape).toEqual([8, 2]);
      const x = randomTensor([2, 2]);
      const outs = outputsOf(p, x);
      // cell index = row·cols·layers + col·layers + layer: branch 0 → 6, branch 1 → 1, branch 2 → 5
      const expected: number[] = [];
      for (let s = 0; s < 2; s++) {
        const cells: number[][] = Array.from({ length: 8 }, () => [0, 0]);
        cells[6] = Array.from(outs[0]!.subarray(s * 2, s * 2 + 2));
        cells[1] = Array.from(outs[1]!.subarray(s * 2, s * 2 + 2));
        cells[5] = Array.from(outs[2]!.subarray(s * 2, s * 2 + 2));
        expected.push(...cells.flat());
      }
      close(p.forward(x, ctx).data, expected);
      expectGradientsMatch(p, x);
    });

    it('defaults to a row-major grid with room for every branch', () => {
      const p = build({ combine: 'grid_scatter', branches }, [2], 4);
      expect(p.spec).toMatchObject({ gridRows: 2, gridCols: 2, gridLayers: 1, positions: [{ row: 0, col: 0, layer: 0 }, { row: 0, col: 1, layer: 0 }, { row: 1, col: 0, layer: 0 }] });
      expect(p.outputShape).toEqual([4, 2]);
      const x = randomTensor([1, 2]);
      const outs = outputsOf(p, x);
      close(p.forward(x, ctx).data, [...outs[0]!, ...outs[1]!, ...outs[2]!, 0, 0]);
    });

    it('gradients match with branches of different types and shapes but the same size', () => {
      const p = build({ combine: 'grid_scatter', gridRows: 1, gridCols: 3, branches: [{ type: 'dense', units: 6 }, { type: 'layer_norm' }, { type: 'swiglu', hidden: 2 }] }, [2, 3], 5);
      expect(p.outputShape).toEqual([3, 6]);
      expectGradientsMatch(p, randomTensor([2, 2, 3]));
    });

    it('rejects two branches on one cell, cells outside the grid and unequal sizes', () => {
      const two = [{ type: 'layer_norm' }, { type: 'rms_norm' }];
      expect(() => build({ combine: 'grid_scatter', gridRows: 1, gridCols: 2, positions: [{ row: 0, col: 1, layer: 0 }, { row: 0, col: 1, layer: 0 }], branches: two }, [2])).toThrow(
        /branches 0 and 1 are both placed at \(0, 1, 0\)/,
      );
      expect(() => build({ combine: 'grid_scatter', gridRows: 1, gridCols: 2, positions: [{ row: 0, col: 0, layer: 0 }, { row: 1, col: 0, layer: 0 }], branches: two }, [2])).toThrow(
        /branch 1 position \(1, 0, 0\) is outside the 1×2×1 grid/,
      );
      expect(() => build({ combine: 'grid_scatter', branches: [{ type: 'layer_norm' }, { type: 'dense', units: 3 }] }, [2])).toThrow(
        /parallel \(grid_scatter\): every branch must output the same number of values, but branch 0 \(layer_norm\) gives \[2\] and branch 1 \(dense\) gives \[3\]/,
      );
    });
  });

  describe('filter', () => {
    it('weights the branches by a softmax gate over the flattened input', () => {
      const p = build({ combine: 'filter', temperature: 2, branches: [{ type: 'dense', units: 2 }, { type: 'rms_norm' }] }, [2]);
      expect(p.params().map((q) => q.name)).toEqual(['branch.0.kernel', 'branch.0.bias', 'branch.1.gamma', 'gate.kernel', 'gate.bias']);
      const [, , , kernel, bias] = p.params();
      kernel!.value.set([1, -1, 2, 0]); // [in][branches]
      bias!.value.set([0.5, 0]);
      const x = { data: Float32Array.from([1, 0.5]), shape: [1, 2] };
      // logits = [1 + 1 + 0.5, −1 + 0] = [2.5, −1], divided by T = 2
      const e0 = Math.exp(1.25);
      const e1 = Math.exp(-0.5);
      const [a, b] = outputsOf(p, x) as [Float32Array, Float32Array];
      close(p.forward(x, ctx).data, [0, 1].map((i) => (e0 * (a[i] as number) + e1 * (b[i] as number)) / (e0 + e1)));
    });

    for (const temperature of [undefined, 0.5]) {
      it(`gradients reach the gate and every branch (temperature ${temperature ?? 'default'})`, () => {
        const p = build({ combine: 'filter', temperature, branches: mixedBranches }, [2, 3], 6);
        expect(p.spec).toMatchObject({ combine: 'filter', temperature: temperature ?? 1 });
        const report = expectGradientsMatch(p, randomTensor([3, 2, 3]));
        expect(Object.keys(report.errors)).toEqual(expect.arrayContaining(['gate.kernel', 'gate.bias', 'branch.2.down.kernel']));
      });
    }

    it('trains the gate to pick the branch that fits the target', () => {
      const p = build({ combine: 'filter', branches: [{ type: 'dense', units: 2 }, { type: 'dense', units: 2 }] }, [3], 7);
      const data = randomTensor([16, 3], 8);
      const target = p.children!()[1]!.forward(data, ctx).data.slice();
      const gate = p.params().filter((q) => q.name.startsWith('gate.'));
      const meanWeight1 = (): number => {
        // the weight of branch 1 is how far the output moved from branch 0 towards branch 1
        const y = p.forward(data, ctx).data;
        const [a, b] = outputsOf(p, data) as [Float32Array, Float32Array];
        let num = 0;
        let den = 0;
        for (let i = 0; i < y.length; i++) {
          num += ((y[i] as number) - (a[i] as number)) * ((b[i] as number) - (a[i] as number));
          den += ((b[i] as number) - (a[i] as number)) ** 2;
        }
        return num / den;
      };
      const before = meanWeight1();
      for (let step = 0; step < 200; step++) {
        const y = p.forward(data, ctx);
        for (const q of p.params()) q.grad.fill(0);
        p.backward({ data: y.data.map((v, i) => (2 * (v - (target[i] as number))) / 16), shape: y.shape }, ctx);
        for (const q of gate) for (let i = 0; i < q.value.length; i++) q.value[i] = (q.value[i] as number) - 0.5 * (q.grad[i] as number);
      }
      expect(before).toBeLessThan(0.8);
      expect(meanWeight1()).toBeGreaterThan(0.95);
    });

    it('requires equal branch shapes and a positive temperature', () => {
      expect(() => build({ combine: 'filter', branches: [{ type: 'layer_norm' }, { type: 'dense', units: 1 }] }, [2])).toThrow(/parallel \(filter\): branch outputs must have equal shapes/);
      expect(() => build({ combine: 'filter', temperature: 0, branches: [{ type: 'layer_norm' }] }, [2])).toThrow(/temperature must be a positive number/);
    });
  });

  it('nests: a parallel inside a sequential inside a parallel, gradients matching', () => {
    const inner = { type: 'parallel', combine: 'avg', branches: [{ type: 'swiglu', hidden: 2 }, { type: 'layer_norm' }] };
    const p = build(
      {
        combine: 'concat',
        branches: [
          { type: 'sequential', layers: [{ type: 'dense', units: 3, activation: 'tanh', perPosition: true }, inner, { type: 'residual' }, { type: 'rms_norm' }] },
          { type: 'dense', units: 2, activation: 'sigmoid', perPosition: true },
        ],
      },
      [2, 4],
      9,
    );
    expect(p.outputShape).toEqual([2, 5]);
    expect(p.params().map((q) => q.name)).toContain('branch.0.step.1.branch.0.gate.kernel');
    expect(p.children!().map((c) => c.spec.type)).toEqual(['sequential', 'dense']);
    expectGradientsMatch(p, randomTensor([2, 2, 4]));
  });

  it('rebuilds the same layer from its resolved spec', () => {
    const p = build({ combine: 'filter', branches: [{ type: 'swiglu' }, { type: 'rms_norm' }] }, [2], 10);
    const again = createLayer(JSON.parse(JSON.stringify(p.spec)), [2], new Rng(10));
    expect(again.spec).toEqual(p.spec);
    const x = randomTensor([2, 2]);
    expect(Array.from(again.forward(x, ctx).data)).toEqual(Array.from(p.forward(x, ctx).data));
  });

  it('rejects unknown modes, empty branch lists and residual branches clearly', () => {
    expect(() => build({ combine: 'sum', branches: [{ type: 'layer_norm' }] }, [2])).toThrow(/parallel: unknown combine "sum" \(allowed: concat, add, avg, grid_scatter, filter\)/);
    expect(() => build({ branches: [] }, [2])).toThrow(/parallel: branches must be a non-empty array/);
    expect(() => build({ branches: [{ type: 'residual' }] }, [2])).toThrow(/parallel branch 0 \(residual\): a skip layer needs a chain/);
    expect(() => build({ branches: [{ type: 'dense', units: 0 }] }, [2])).toThrow(/parallel branch 0 \(dense\): dense: units must be a positive integer/);
    expect(() => build({ branches: [{ type: 'layer_norm' }] }, [2]).forward(randomTensor([1, 3]), ctx)).toThrow(/parallel: expected input shape \[2\], got \[3\]/);
  });
});
