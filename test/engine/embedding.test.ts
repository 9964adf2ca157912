import { describe, expect, it } from 'vitest';
import { createLayer } from '../../src/engine/layers/registry.js';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { embeddingKind } from '../../src/engine/layers/embedding.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };
const t = (shape: number[], values: number[]) => ({ data: Float32Array.from(values), shape });

describe('embedding', () => {
  const build = () => {
    const layer = embeddingKind.create({ type: 'embedding', vocab: 4, dim: 2 }, [3], new Rng(1));
    layer.params()[0]!.value.set([0, 1, 10, 11, 20, 21, 30, 31]); // row v = [10v, 10v + 1]
    return layer;
  };

  it('looks up one table row per token id: [seq] → [seq, dim]', () => {
    const layer = build();
    expect(layer.outputShape).toEqual([3, 2]);
    const y = layer.forward(t([2, 3], [2, 0, 3, 1, 1, 2]), ctx);
    expect(y.shape).toEqual([2, 3, 2]);
    expect(Array.from(y.data)).toEqual([20, 21, 0, 1, 30, 31, 10, 11, 10, 11, 20, 21]);
  });

  it('scatter-adds the gradient into the table (repeated ids accumulate) and gives the ids a zero gradient', () => {
    const layer = build();
    layer.forward(t([2, 3], [2, 0, 2, 1, 1, 2]), ctx);
    const dy = t([2, 3, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const dx = layer.backward(dy, ctx);
    expect(dx.shape).toEqual([2, 3]);
    expect(Array.from(dx.data)).toEqual([0, 0, 0, 0, 0, 0]);
    // id 0: row 1 of sample 0; id 1: rows 0, 1 of sample 1; id 2: rows 0, 2 of sample 0 and row 2 of sample 1; id 3: unused
    expect(Array.from(layer.params()[0]!.grad)).toEqual([3, 4, 7 + 9, 8 + 10, 1 + 5 + 11, 2 + 6 + 12, 0, 0]);
  });

  it('table gradient matches finite differences', () => {
    const layer = embeddingKind.create({ type: 'embedding', vocab: 6, dim: 3 }, [5], new Rng(2));
    expectGradientsMatch(layer, t([2, 5], [0, 5, 2, 2, 4, 1, 3, 5, 0, 0]), { skipInput: true });
  });

  it('initializes U(−1, 1)/√dim as LOOM and rebuilds from its spec', () => {
    const layer = embeddingKind.create({ type: 'embedding', vocab: 50, dim: 16 }, [4], new Rng(3));
    const table = layer.params()[0]!;
    expect(table.shape).toEqual([50, 16]);
    expect(Math.max(...Array.from(table.value).map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...Array.from(table.value).map(Math.abs))).toBeGreaterThan(0.2);
    expect(createLayer(layer.spec, [4], new Rng(3)).params()[0]!.value).toEqual(table.value);
  });

  it('throws on ids outside the vocabulary or not integers instead of giving zeros', () => {
    const layer = build();
    expect(() => layer.forward(t([1, 3], [0, 4, 1]), ctx)).toThrow(/embedding: token id 4 at position 1 of sample 0 is not an integer in \[0, 4\)/);
    expect(() => layer.forward(t([2, 3], [0, 1, 1, 2, -1, 0]), ctx)).toThrow(/token id -1 at position 1 of sample 1/);
    expect(() => layer.forward(t([1, 3], [0, 1.5, 1]), ctx)).toThrow(/token id 1.5/);
  });

  it('rejects a bad spec and a wrong input shape', () => {
    expect(() => embeddingKind.create({ type: 'embedding', vocab: 0, dim: 2 }, [3], new Rng(1))).toThrow(/embedding: vocab must be a positive integer/);
    expect(() => embeddingKind.create({ type: 'embedding', vocab: 3, dim: 2.5 }, [3], new Rng(1))).toThrow(/embedding: dim must be a positive integer/);
    expect(() => build().forward(t([1, 2], [0, 1]), ctx)).toThrow(/embedding: expected input shape \[3\], got \[2\]/);
  });
});
