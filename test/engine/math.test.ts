import { describe, expect, it } from 'vitest';
import { argmax, sigmoid, softmaxInto, softmaxRow } from '../../src/engine/math.js';

describe('engine/math: the shared sigmoid, softmax and argmax', () => {
  it('sigmoid is 1/(1+e^−v), symmetric, and finite at huge |v|', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(2)).toBeCloseTo(1 / (1 + Math.exp(-2)), 15);
    expect(sigmoid(-3) + sigmoid(3)).toBeCloseTo(1, 15);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
  });

  it('softmax rows sum to 1, match e^x/Σe^x, and survive huge logits', () => {
    const out = new Float64Array(3);
    softmaxInto([9, 1, 2, 3, 9], 1, 3, out);
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    [1, 2, 3].forEach((v, i) => expect(out[i]).toBeCloseTo(Math.exp(v) / z, 12));
    const big = softmaxRow([1000, 1000, -Infinity]);
    expect(big).toEqual([0.5, 0.5, 0]);
    // float32, as the network gives
    expect(softmaxRow([0, Math.log(2)])[1]).toBe(Math.fround(2 / 3));
  });

  it('argmax: first on ties, NaN never wins, a row of NaN (or nothing) gives -1', () => {
    expect(argmax([1, 3, 3, 2], 0, 4)).toBe(1);
    expect(argmax([5, 1, 3, 3, 2], 1, 4)).toBe(1);
    expect(argmax([NaN, 1, 2], 0, 3)).toBe(2);
    expect(argmax([1, NaN, 0], 0, 3)).toBe(0);
    expect(argmax([-Infinity, -Infinity], 0, 2)).toBe(0);
    expect(argmax([NaN, NaN], 0, 2)).toBe(-1);
    expect(argmax([], 0, 0)).toBe(-1);
  });
});
