import { describe, expect, it } from 'vitest';
import { softmaxCrossEntropy } from '../../src/engine/train/losses.js';
import { labelSmoothingCrossEntropy } from '../../src/engine/train/smoothing.js';

const logits = { data: Float32Array.from([2, -1, 0.5, 0.1, 0.3, -2]), shape: [2, 3] };
const labels = Int32Array.from([0, 2]);

describe('label-smoothed cross-entropy', () => {
  it('equals −Σ q log softmax with q = (1 − ε)·onehot + ε/K, computed by hand', () => {
    const eps = 0.1;
    let expected = 0;
    for (let r = 0; r < 2; r++) {
      const row = Array.from(logits.data.subarray(r * 3, r * 3 + 3));
      const z = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      row.forEach((v, j) => {
        const q = eps / 3 + (j === labels[r] ? 1 - eps : 0);
        expected -= q * (v - z);
      });
    }
    expect(labelSmoothingCrossEntropy(eps).compute(logits, labels).loss).toBeCloseTo(expected / 2, 6);
  });

  it('is the plain softmax cross-entropy at ε = 0', () => {
    expect(labelSmoothingCrossEntropy(0)).toBe(softmaxCrossEntropy);
  });

  it('has the gradient of central finite differences', () => {
    const loss = labelSmoothingCrossEntropy(0.2);
    const { grad } = loss.compute(logits, labels);
    const h = 1e-3;
    for (let i = 0; i < logits.data.length; i++) {
      const plus = Float32Array.from(logits.data);
      const minus = Float32Array.from(logits.data);
      plus[i] = (plus[i] as number) + h;
      minus[i] = (minus[i] as number) - h;
      const numeric = (loss.compute({ data: plus, shape: [2, 3] }, labels).loss - loss.compute({ data: minus, shape: [2, 3] }, labels).loss) / (2 * h);
      expect(grad.data[i]).toBeCloseTo(numeric, 3);
    }
  });

  it('counts accuracy by argmax and rejects bad ε and labels', () => {
    expect(labelSmoothingCrossEntropy(0.1).correct(logits, labels)).toEqual({ correct: 1, total: 2 });
    expect(() => labelSmoothingCrossEntropy(1)).toThrow(/labelSmoothing.*\[0, 1\)/);
    expect(() => labelSmoothingCrossEntropy(0.1).compute(logits, Int32Array.from([0, 3]))).toThrow(/label 3 outside 0..2/);
  });
});
