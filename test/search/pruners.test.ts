import { parseSearchConfig } from '../../src/search/config.js';
import { describe, expect, it } from 'vitest';
import { Budget, ashaCutoff, ashaPruner, ashaRungs, choosePromotion, createPruner, curveOf, epochCurve, epochsRun, medianPruner, promote, promotionRung, prunedAt } from '../../src/search/pruners.js';

describe('successive halving / ASHA rungs', () => {
  it('places rungs at r·η^k below the full budget', () => {
    expect(ashaRungs(27, 1, 3)).toEqual([1, 3, 9]);
    expect(ashaRungs(9, 1, 3)).toEqual([1, 3]);
    expect(ashaRungs(4, 1, 2)).toEqual([1, 2]);
    expect(ashaRungs(10, 2, 2)).toEqual([2, 4, 8]);
    expect(ashaRungs(1, 1, 3)).toEqual([]);
    expect(() => ashaRungs(9, 0, 3)).toThrow(/minEpochs/);
    expect(() => ashaRungs(9, 1.5, 3)).toThrow(/minEpochs/); // above one epoch, rungs are whole epochs
    expect(() => ashaRungs(9, 1, 1)).toThrow(/eta/);
  });

  it('starts below one epoch when minEpochs is a share of one: mid-epoch rungs, then whole epochs', () => {
    expect(ashaRungs(4, 0.25, 3)).toEqual([0.25, 0.75, 2]); // 0.75·3 = 2.25 rounds to a whole epoch
    expect(ashaRungs(27, 0.5, 2)).toEqual([0.5, 1, 2, 4, 8, 16]);
    expect(ashaRungs(10, 0.1, 4)).toEqual([0.1, 0.4, 2, 8]); // 0.4·4 = 1.6 → 2
    expect(ashaRungs(0.2, 0.25, 3)).toEqual([]);
    // Shares are kept to 1e-9, so repeated products do not drift (0.111 · 9 is 0.999, not 0.9990000000000001).
    expect(ashaRungs(4, 0.111, 3)).toEqual([0.111, 0.333, 0.999, 3]);
  });

  it('sends a mid-epoch rung with threshold 0 until it has enough values, so the first models record it', () => {
    // Curves as jobs return them: a point at each mid-epoch check, then one per epoch.
    const checked = (at25: number, at75: number, ...epochs: number[]) => [{ epoch: 0.25, valAccuracy: at25 }, { epoch: 0.75, valAccuracy: at75 }, ...epochCurve(epochs)];
    const pruner = ashaPruner(3, 0.25);
    expect(pruner.thresholds([], 4)).toEqual([
      { epoch: 0.25, minValAccuracy: 0 },
      { epoch: 0.75, minValAccuracy: 0 },
    ]);
    // A model trained without checks has no value at 0.25 (it does not count there) but does at epoch 2.
    const history = [checked(0.5, 0.7, 0.8, 0.85, 0.9, 0.92), checked(0.6, 0.65, 0.75, 0.8, 0.82, 0.83), checked(0.4, 0.6, 0.7, 0.72), epochCurve([0.9, 0.95, 0.96, 0.97])];
    expect(pruner.thresholds(history, 4)).toEqual([
      { epoch: 0.25, minValAccuracy: 0.6 }, // three values (0.5, 0.6, 0.4): the ⌈3/3⌉-th highest
      { epoch: 0.75, minValAccuracy: 0.7 }, // best so far: 0.7, 0.65, 0.6
      { epoch: 2, minValAccuracy: 0.85 }, // four values (0.85, 0.8, 0.72, 0.95): the 2nd highest
    ]);
    // Pruned at the first mid-epoch rung: the curve ends there, and it trained a quarter of an epoch.
    const t = pruner.thresholds(history, 4);
    const stopped = [{ epoch: 0.25, valAccuracy: 0.45 }];
    expect(prunedAt(stopped, t)).toBe(0.25);
    expect(epochsRun(stopped)).toBe(0.25);
    expect(prunedAt(checked(0.7, 0.8, 0.9), t)).toBeNull(); // has not reached rung 2
    expect(prunedAt(checked(0.7, 0.75, 0.78, 0.8), t)).toBe(2);
    expect(prunedAt(checked(0.7, 0.75, 0.78, 0.9), t)).toBeNull();
  });

  it('reads a curve from metrics entries in epoch order', () => {
    const metrics = [{ epoch: 1, valAccuracy: 0.8 }, { epoch: 0.25, valAccuracy: 0.5 }, { epoch: 2 }];
    const curve = curveOf(metrics);
    expect(curve.map((p) => p.epoch)).toEqual([0.25, 1, 2]);
    expect(curve[2]!.valAccuracy).toBeNaN();
    expect(epochsRun(metrics)).toBe(2);
    expect(epochsRun([])).toBe(0);
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
    ].map((values) => epochCurve(values));
    // Rungs at 1 and 3 for 9 epochs; rung 1 has 4 values (cutoff = 2nd best = 0.8), rung 3 only 2 (< minSamples 3).
    expect(ashaPruner(3, 1).thresholds(history, 9)).toEqual([{ epoch: 1, minValAccuracy: 0.8 }]);
    expect(ashaPruner(3, 1, 2).thresholds(history, 9)).toEqual([
      { epoch: 1, minValAccuracy: 0.8 },
      { epoch: 3, minValAccuracy: 0.92 },
    ]);
    expect(ashaPruner(3, 1).thresholds([], 9)).toEqual([]);
  });

  it('compares with the most recent values at each rung only, given a window', () => {
    // An improving population: three weak first models, then three strong ones (in the order they were created).
    const history = [0.5, 0.55, 0.6, 0.9, 0.92, 0.94].map((v) => epochCurve([v, v]));
    // All six: the 2nd best of six (0.92, so the three strong ones pass twice as often as a third). The last three:
    // the best of them (0.94).
    expect(ashaPruner(3, 1).thresholds(history, 3)).toEqual([{ epoch: 1, minValAccuracy: 0.92 }]);
    expect(ashaPruner(3, 1, 3, 3).thresholds(history, 3)).toEqual([{ epoch: 1, minValAccuracy: 0.94 }]);
    // The window counts values at the rung: a model that never reached it takes no place (the last four values are
    // 0.6 … 0.94, whose 2nd best is 0.92; the last four curves would hold three values, whose best is 0.94).
    const withShort = [...history.slice(0, 4), epochCurve([]), ...history.slice(4)];
    expect(ashaPruner(3, 1, 3, 4).thresholds(withShort, 3)).toEqual([{ epoch: 1, minValAccuracy: 0.92 }]);
    expect(() => ashaPruner(3, 1, 3, 0)).toThrow(/window/);
    expect(parseSearchConfig({ pruner: { kind: 'asha', window: 9 } }).pruner.window).toBe(9);
    expect(() => parseSearchConfig({ pruner: { kind: 'asha', window: 0 } })).toThrow(/pruner\.window/);
  });

  it('prunes a curve at the first rung where its best so far is below the cutoff', () => {
    const t = [
      { epoch: 1, minValAccuracy: 0.8 },
      { epoch: 3, minValAccuracy: 0.9 },
    ];
    expect(prunedAt(epochCurve([0.7, 0.95, 0.99]), t)).toBe(1);
    expect(prunedAt(epochCurve([0.85, 0.86, 0.88, 0.95]), t)).toBe(3);
    // Best so far, not the last value: a dip after a good epoch does not prune.
    expect(prunedAt(epochCurve([0.85, 0.92, 0.6, 0.95]), t)).toBeNull();
    expect(prunedAt(epochCurve([0.85]), t)).toBeNull(); // has not reached rung 3 yet
    expect(prunedAt(epochCurve([0.1, 0.1]), [])).toBeNull();
  });
});

describe('ASHA promotion (pruner.promote)', () => {
  const entry = (model: number, value: number, waiting = true) => ({ model, value, waiting });

  it('pauses at the last rung of the model budget', () => {
    expect(promotionRung({ kind: 'asha', minEpochs: 0.25, promote: true }, 4)).toBe(2); // rungs 0.25, 0.75, 2
    expect(promotionRung({ kind: 'asha', minEpochs: 1, eta: 2, promote: true }, 9)).toBe(8); // rungs 1, 2, 4, 8
    expect(promotionRung({ kind: 'asha', minEpochs: 0.25 }, 4)).toBeNull();
    expect(promotionRung({ kind: 'median', promote: true }, 4)).toBeNull();
    expect(promotionRung({ kind: 'asha', minEpochs: 4, promote: true }, 4)).toBeNull(); // no rung below the budget
  });

  it('promotes the best waiting model in the top floor(n/eta) while fewer than that have gone on', () => {
    // 6 values, eta 3: the top 2 may go on. Model 1 (0.9) went on already; model 4 (0.8) is the best waiting one.
    const six = [entry(0, 0.5), entry(1, 0.9, false), entry(2, 0.7), entry(3, 0.6), entry(4, 0.8), entry(5, 0.4)];
    expect(choosePromotion(six, 1, 3)).toBe(4);
    // Two have gone on: no more until more values are recorded.
    expect(choosePromotion(six, 2, 3)).toBeNull();
    // Fewer than eta values: floor(n/eta) is 0, nobody goes on yet.
    expect(choosePromotion([entry(0, 0.9), entry(1, 0.8)], 0, 3)).toBeNull();
    // The best waiting model is outside the top: it waits (model 1, not waiting, holds the only place).
    expect(choosePromotion([entry(0, 0.5), entry(1, 0.9, false), entry(2, 0.7)], 0, 3)).toBeNull();
    // Ties go to the lower model index.
    expect(choosePromotion([entry(3, 0.7), entry(1, 0.7), entry(2, 0.1)], 0, 3)).toBe(1);
  });
});

describe('median stopping', () => {
  it('stops below the median of earlier running means, after the warm-up', () => {
    const history = [
      [0.2, 0.4, 0.6],
      [0.4, 0.6, 0.8],
      [0.6, 0.8, 1.0],
    ].map((values) => epochCurve(values));
    // Running means at epoch 1: 0.2, 0.4, 0.6 → median 0.4; at epoch 2: 0.3, 0.5, 0.7 → 0.5. Epoch 3 is the last: no rung.
    const t = medianPruner(0, 3).thresholds(history, 3);
    expect(t.map((x) => x.epoch)).toEqual([1, 2]);
    expect(t[0]!.minValAccuracy).toBeCloseTo(0.4, 12);
    expect(t[1]!.minValAccuracy).toBeCloseTo(0.5, 12);
    expect(medianPruner(1, 3).thresholds(history, 3).map((x) => x.epoch)).toEqual([2]);
    expect(medianPruner(0, 4).thresholds(history, 3)).toEqual([]);
    expect(prunedAt(epochCurve([0.3, 0.45]), t)).toBe(1);
    expect(prunedAt(epochCurve([0.45, 0.45]), t)).toBe(2);
  });

  it('builds pruners from specs and rejects bad ones', () => {
    expect(createPruner({ kind: 'none' }).thresholds([epochCurve([0.1, 0.2])], 5)).toEqual([]);
    expect(createPruner({ kind: 'asha', eta: 2, minSamples: 1 }).thresholds([epochCurve([0.5, 0.6, 0.7, 0.8])], 4)).toEqual([
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
