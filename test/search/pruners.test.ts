import { describe, expect, it } from 'vitest';
import { Budget, ashaCutoff, ashaPruner, ashaRungs, createPruner, medianPruner, promote, prunedAt } from '../../src/search/pruners.js';

describe('successive halving / ASHA rungs', () => {
  it('places rungs at r·η^k below the full budget', () => {
    expect(ashaRungs(27, 1, 3)).toEqual([1, 3, 9]);
    expect(ashaRungs(9, 1, 3)).toEqual([1, 3]);
    expect(ashaRungs(4, 1, 2)).toEqual([1, 2]);
    expect(ashaRungs(10, 2, 2)).toEqual([2, 4, 8]);
    expect(ashaRungs(1, 1, 3)).toEqual([]);
    expect(() => ashaRungs(9, 0, 3)).toThrow(/minEpochs/);
    expect(() => ashaRungs(9, 1, 1)).toThrow(/eta/);
  });

  it('promotes the top ⌈n/η⌉ of a rung', () => {
    expect(promote([0.5, 0.9, 0.7, 0.6, 0.8, 0.4], 3)).toEqual([1, 4]);
    expect(promote([0.5, 0.5, 0.5], 3)).toEqual([0]); // ties to the lower index
    expect(promote([0.1], 3)).toEqual([0]);
    expect(ashaCutoff([0.5, 0.9, 0.7, 0.6, 0.8, 0.4], 3)).toBe(0.8);
    expect(ashaCutoff([], 3)).toBe(-Infinity);
  });

  it('sends thresholds only for rungs with enough recorded models', () => {
    const history = [
      [0.5, 0.6, 0.7, 0.8],
      [0.9, 0.91, 0.92, 0.93],
      [0.7],
      [0.8, 0.85],
    ];
    // Rungs at 1 and 3 for 9 epochs; rung 1 has 4 values (cutoff = 2nd best = 0.8), rung 3 only 2 (< minSamples 3).
    expect(ashaPruner(3, 1).thresholds(history, 9)).toEqual([{ epoch: 1, minValAccuracy: 0.8 }]);
    expect(ashaPruner(3, 1, 2).thresholds(history, 9)).toEqual([
      { epoch: 1, minValAccuracy: 0.8 },
      { epoch: 3, minValAccuracy: 0.92 },
    ]);
    expect(ashaPruner(3, 1).thresholds([], 9)).toEqual([]);
  });

  it('prunes a curve at the first rung where its best so far is below the cutoff', () => {
    const t = [
      { epoch: 1, minValAccuracy: 0.8 },
      { epoch: 3, minValAccuracy: 0.9 },
    ];
    expect(prunedAt([0.7, 0.95, 0.99], t)).toBe(1);
    expect(prunedAt([0.85, 0.86, 0.88, 0.95], t)).toBe(3);
    // Best so far, not the last value: a dip after a good epoch does not prune.
    expect(prunedAt([0.85, 0.92, 0.6, 0.95], t)).toBeNull();
    expect(prunedAt([0.85], t)).toBeNull(); // has not reached rung 3 yet
    expect(prunedAt([0.1, 0.1], [])).toBeNull();
  });
});

describe('median stopping', () => {
  it('stops below the median of earlier running means, after the warm-up', () => {
    const history = [
      [0.2, 0.4, 0.6],
      [0.4, 0.6, 0.8],
      [0.6, 0.8, 1.0],
    ];
    // Running means at epoch 1: 0.2, 0.4, 0.6 → median 0.4; at epoch 2: 0.3, 0.5, 0.7 → 0.5. Epoch 3 is the last: no rung.
    const t = medianPruner(0, 3).thresholds(history, 3);
    expect(t.map((x) => x.epoch)).toEqual([1, 2]);
    expect(t[0]!.minValAccuracy).toBeCloseTo(0.4, 12);
    expect(t[1]!.minValAccuracy).toBeCloseTo(0.5, 12);
    expect(medianPruner(1, 3).thresholds(history, 3).map((x) => x.epoch)).toEqual([2]);
    expect(medianPruner(0, 4).thresholds(history, 3)).toEqual([]);
    expect(prunedAt([0.3, 0.45], t)).toBe(1);
    expect(prunedAt([0.45, 0.45], t)).toBe(2);
  });

  it('builds pruners from specs and rejects bad ones', () => {
    expect(createPruner({ kind: 'none' }).thresholds([[0.1, 0.2]], 5)).toEqual([]);
    expect(createPruner({ kind: 'asha', eta: 2, minSamples: 1 }).thresholds([[0.5, 0.6, 0.7, 0.8]], 4)).toEqual([
      { epoch: 1, minValAccuracy: 0.5 },
      { epoch: 2, minValAccuracy: 0.6 },
    ]);
    expect(() => createPruner({ kind: 'asha', eta: 1 })).toThrow(/eta/);
  });
});

describe('budget', () => {
  it('is exhausted by epochs or by minutes', () => {
    let now = 1000;
    const b = new Budget({ epochs: 10, minutes: 1 }, now, () => now);
    expect(b.exhausted()).toBe(false);
    b.spend(9);
    expect(b.exhausted()).toBe(false);
    b.spend(1);
    expect(b.exhausted()).toBe(true);
    const m = new Budget({ minutes: 1 }, 1000, () => now);
    now = 1000 + 59_999;
    expect(m.exhausted()).toBe(false);
    now = 1000 + 60_000;
    expect(m.exhausted()).toBe(true);
    expect(new Budget(undefined, 0, () => 1e12).exhausted()).toBe(false);
    expect(() => new Budget({ epochs: 0 }, 0, () => 0)).toThrow(/budget.epochs/);
  });
});
