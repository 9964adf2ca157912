import { describe, expect, it } from 'vitest';
import { addColumnSums, argmax, fillRows, sigmoid, softmaxInto, softmaxRow } from '../../src/engine/math.js';

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

describe('engine/math: column sums and row fills (bias gradients and biases)', () => {
  it('addColumnSums adds each column\'s sum over any number of rows (4-row blocks and a remainder)', () => {
    for (const rows of [0, 1, 3, 4, 7, 9]) {
      const cols = 5;
      const m = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i) * 3);
      const into = Float32Array.from({ length: cols }, (_, c) => c - 2);
      const expected = Array.from(into, (v, c) => {
        let s = v;
        for (let r = 0; r < rows; r++) s += m[r * cols + c] as number;
        return s;
      });
      addColumnSums(m, rows, cols, into);
      into.forEach((v, c) => expect(v).toBeCloseTo(expected[c] as number, 5));
    }
  });

  it('fillRows repeats the row into exactly the first rows rows', () => {
    for (const rows of [0, 1, 2, 5, 8, 13]) {
      const row = Float32Array.from([1, -2, 3]);
      const out = new Float32Array(rows * 3 + 2).fill(9);
      fillRows(out, row, rows);
      for (let r = 0; r < rows; r++) expect(Array.from(out.subarray(r * 3, r * 3 + 3))).toEqual([1, -2, 3]);
      expect(Array.from(out.subarray(rows * 3))).toEqual([9, 9]);
    }
  });
});
