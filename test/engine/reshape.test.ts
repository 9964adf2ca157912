import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { reshapeKind } from '../../src/engine/layers/reshape.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };

describe('reshape', () => {
  it('relabels each sample row-major', () => {
    const layer = reshapeKind.create({ type: 'reshape', shape: [2, 3] }, [6], new Rng(1));
    const y = layer.forward({ data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), shape: [2, 6] }, ctx);
    expect(y.shape).toEqual([2, 2, 3]);
    expect(Array.from(y.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(layer.spec).toEqual({ type: 'reshape', shape: [2, 3], pad: false });
  });

  it('zero pads the tail of each sample with pad', () => {
    const layer = reshapeKind.create({ type: 'reshape', shape: [2, 3], pad: true }, [5], new Rng(1));
    const y = layer.forward({ data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), shape: [2, 5] }, ctx);
    expect(Array.from(y.data)).toEqual([1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10, 0]);
    const dx = layer.backward({ data: Float32Array.from([1, 2, 3, 4, 5, 99, 6, 7, 8, 9, 10, 99]), shape: [2, 2, 3] }, ctx);
    expect(dx.shape).toEqual([2, 5]);
    expect(Array.from(dx.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('gradients match finite differences, with and without padding', () => {
    expectGradientsMatch(reshapeKind.create({ type: 'reshape', shape: [3, 4] }, [2, 6], new Rng(1)), randomTensor([2, 2, 6]));
    expectGradientsMatch(reshapeKind.create({ type: 'reshape', shape: [4, 4], pad: true }, [13], new Rng(1)), randomTensor([3, 13]));
  });

  it('rejects shapes that do not fit and bad specs', () => {
    expect(() => reshapeKind.create({ type: 'reshape', shape: [2, 4] }, [6], new Rng(1))).toThrow(/reshape: expected input shape 8 values/);
    expect(() => reshapeKind.create({ type: 'reshape', shape: [2, 2], pad: true }, [6], new Rng(1))).toThrow(/at most 4 values/);
    expect(() => reshapeKind.create({ type: 'reshape', shape: [2, 0] }, [6], new Rng(1))).toThrow(/positive integers/);
  });

  it('names the layer and shapes on a shape mismatch', () => {
    const layer = reshapeKind.create({ type: 'reshape', shape: [2, 3] }, [6], new Rng(1));
    expect(() => layer.forward(randomTensor([2, 5]), ctx)).toThrow(/reshape: expected input shape \[6\], got \[5\]/);
  });
});
