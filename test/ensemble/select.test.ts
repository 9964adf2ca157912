import { describe, expect, it } from 'vitest';
import { analyzePredictions } from '../../src/ensemble/analyze.js';
import { Rng } from '../../src/engine/rng.js';
import {
  baggedSelection,
  bestSingleModel,
  combineProbabilities,
  ensembleReport,
  greedySelection,
  rankModels,
  scoreRows,
  type SplitData,
} from '../../src/ensemble/select.js';

const rows = (...r: number[][]): Float32Array => Float32Array.from(r.flat());

// Two classes, labels [0, 0, 1, 1]. A and B are each right on 3 of 4 samples (different ones); their average is
// right on all 4. C always says class 1.
const A = rows([0.9, 0.1], [0.7, 0.3], [0.55, 0.45], [0.2, 0.8]);
const B = rows([0.6, 0.4], [0.45, 0.55], [0.1, 0.9], [0.4, 0.6]);
const C = rows([0.2, 0.8], [0.2, 0.8], [0.2, 0.8], [0.2, 0.8]);
const val: SplitData = { probs: [A, B, C], labels: Int32Array.from([0, 0, 1, 1]), numClasses: 2 };

describe('scores', () => {
  it('accuracy and log-loss by hand', () => {
    const s = scoreRows(A, val.labels, 2);
    expect(s.accuracy).toBe(0.75);
    expect(s.logLoss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.7) + Math.log(0.45) + Math.log(0.8)) / 4, 6);
    const avg = combineProbabilities([A, B], [0, 1], [0.5, 0.5]);
    expect(avg[2]).toBeCloseTo(0.575, 6);
    expect(scoreRows(avg, val.labels, 2).accuracy).toBe(1);
  });

  it('ranks models by accuracy, then log-loss, then index', () => {
    expect(rankModels(val).map((r) => r.index)).toEqual([0, 1, 2]);
    expect(rankModels({ ...val, probs: [C, B, A] }).map((r) => r.index)).toEqual([2, 1, 0]);
    expect(rankModels({ ...val, probs: [A, A] }).map((r) => r.index)).toEqual([0, 1]);
  });
});

describe('greedy selection (Caruana, with replacement)', () => {
  it('follows the hand-computed climb (on accuracy)', () => {
    // start [A]; A+B is right on all 4 (log-loss .398 < A+A's); then A+B+A (log-loss .382) beats A+B+B (.414).
    const s = greedySelection(val, { initSize: 1, steps: 3, metric: 'accuracy' });
    expect(s.picks).toEqual([0, 1, 0]);
    expect(s.members).toEqual([0, 1]);
    expect(s.weights[0]).toBeCloseTo(2 / 3, 12);
    expect(s.weights[1]).toBeCloseTo(1 / 3, 12);
    expect(s.val.accuracy).toBe(1);
    expect(s.trace.map((t) => t.accuracy)).toEqual([0.75, 1, 1]);
    expect(s.trace[1]?.logLoss).toBeCloseTo(-(Math.log(0.75) + Math.log(0.575) + Math.log(0.675) + Math.log(0.7)) / 4, 6);
  });

  it('sorted initialization starts with the N best; the size limit caps distinct members', () => {
    const s = greedySelection(val, { initSize: 2, steps: 2 });
    expect(s.picks).toEqual([0, 1]);
    const capped = greedySelection(val, { initSize: 1, steps: 6, maxMembers: 1 });
    expect(capped.members).toEqual([0]);
    expect(capped.weights).toEqual([1]);
  });

  it('returns the best prefix of the climb, not the last iterate', () => {
    const s = greedySelection(val, { initSize: 1, steps: 10 });
    const best = Math.max(...s.trace.map((t) => t.accuracy));
    expect(s.val.accuracy).toBe(best);
    expect(s.picks.length).toBeLessThanOrEqual(10);
  });

  it('matches a from-scratch reference implementation on random data', () => {
    const rng = new Rng(3);
    const n = 60;
    const c = 4;
    const labels = Int32Array.from({ length: n }, () => rng.int(c));
    const probs = Array.from({ length: 7 }, () => {
      const p = new Float32Array(n * c);
      for (let r = 0; r < n; r++) {
        let t = 0;
        for (let j = 0; j < c; j++) t += p[r * c + j] = rng.next() + (j === labels[r] ? 0.4 * rng.next() : 0);
        for (let j = 0; j < c; j++) p[r * c + j] = (p[r * c + j] as number) / t;
      }
      return p;
    });
    const split = { probs, labels, numClasses: c };
    const got = greedySelection(split, { initSize: 2, steps: 12, metric: 'accuracy' });
    // reference: rebuild the average from the pick list for every candidate
    const picks = rankModels(split).slice(0, 2).map((r) => r.index);
    const trace = [scoreRows(combineProbabilities(probs, picks, picks.map(() => 1 / picks.length)), labels, c)];
    while (picks.length < 12) {
      let best = -1;
      let bestScore = { accuracy: -1, logLoss: Infinity };
      for (let m = 0; m < probs.length; m++) {
        const trial = [...picks, m];
        const s = scoreRows(combineProbabilities(probs, trial, trial.map(() => 1 / trial.length)), labels, c);
        if (s.accuracy > bestScore.accuracy || (s.accuracy === bestScore.accuracy && s.logLoss < bestScore.logLoss - 1e-12)) {
          best = m;
          bestScore = s;
        }
      }
      picks.push(best);
      trace.push(bestScore);
    }
    expect(got.trace.map((t) => t.accuracy)).toEqual(trace.map((t) => t.accuracy));
    const at = got.picks.length - 2;
    expect(got.picks).toEqual(picks.slice(0, got.picks.length));
    expect(got.val.logLoss).toBeCloseTo(trace[at]?.logLoss as number, 6);
  });
});

describe('bagged selection (Caruana et al. 2006)', () => {
  it('one bag of every model is the plain climb, its sorted initialization below the bag size', () => {
    const one = baggedSelection(val, { bags: 1, fraction: 1, initSize: 1, steps: 3, metric: 'accuracy' });
    const plain = greedySelection(val, { initSize: 1, steps: 3, metric: 'accuracy' });
    expect(one.members).toEqual(plain.members);
    expect(one.weights).toEqual(plain.weights);
    expect(one.val.accuracy).toBe(plain.val.accuracy);
    expect(one.val.logLoss).toBeCloseTo(plain.val.logLoss, 6);
    // sorted initialization of 3 over a bag of 3 would fix the ensemble before the climb: capped at 2
    const capped = baggedSelection(val, { bags: 1, fraction: 1 });
    const two = greedySelection(val, { initSize: 2 });
    expect([capped.members, capped.weights]).toEqual([two.members, two.weights]);
  });

  it('a bag of two starts from its better model, so a useless one gets no weight (sorted initialization would force it in)', () => {
    // A's log-loss (.371) is below C's (.916); A+C (.640) is worse than A again, so every climb keeps A alone
    const pair: SplitData = { ...val, probs: [A, C] };
    const bagged = baggedSelection(pair, { bags: 7 });
    expect(bagged.members).toEqual([0]);
    expect(bagged.weights).toEqual([1]);
    expect(greedySelection(pair).members).toEqual([0, 1]);
  });

  it('averages the climbs of random halves: weights sum to 1, deterministic for a seed, validation only', () => {
    const rng = new Rng(4);
    const n = 90;
    const c = 3;
    const labels = Int32Array.from({ length: n }, () => rng.int(c));
    const probs = [0.2, 0.9, 0.5, 1.2, 0.7, 0.4, 1.0, 0.3].map((skill) => {
      const p = new Float32Array(n * c);
      for (let r = 0; r < n; r++) {
        let t = 0;
        for (let j = 0; j < c; j++) t += p[r * c + j] = rng.next() + (j === labels[r] ? skill * rng.next() : 0);
        for (let j = 0; j < c; j++) p[r * c + j] = (p[r * c + j] as number) / t;
      }
      return p;
    });
    const split = { probs, labels, numClasses: c };
    const a = baggedSelection(split, { seed: 9 });
    expect(a.bags).toBe(50);
    expect(a.weights.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
    expect(a.members).toEqual([...a.members].sort((x, y) => x - y));
    expect(a.weights.every((w) => w > 0)).toBe(true);
    expect(baggedSelection(split, { seed: 9 })).toEqual(a);
    // climbs that cannot reach every model spread the weight over more of them than one climb over all
    expect(a.members.length).toBeGreaterThan(greedySelection(split).members.length);
    expect(a.val).toEqual(scoreRows(combineProbabilities(probs, a.members, a.weights), labels, c));
    expect(() => baggedSelection(split, { bags: 0 })).toThrow(/bags must be an integer/);
    expect(() => baggedSelection(split, { fraction: 0 })).toThrow(/bag fraction/);
  });
});

describe('ensemble reports', () => {
  it('report val/test accuracy, oracle coverage and the gain over the best single model chosen on validation', () => {
    const test: SplitData = { probs: [B, A, C], labels: Int32Array.from([0, 0, 1, 1]), numClasses: 2 };
    const ids = ['a', 'b', 'c'];
    const best = bestSingleModel(ids, val, test);
    expect(best).toEqual({ index: 0, modelId: 'a', valAccuracy: 0.75, testAccuracy: 0.75 });
    const r = ensembleReport('pair', ids, [0, 2], [0.5, 0.5], val, test, best);
    // val: avg(A, C) = [.55,.45] [.45,.55] [.375,.625] [.2,.8] → 3 of 4; test: avg(B, C) = [.4,.6] [.325,.675] [.15,.85] [.3,.7] → 2 of 4
    expect(r.valAccuracy).toBe(0.75);
    expect(r.testAccuracy).toBe(0.5);
    expect(r.testGain).toBe(0.5 - 0.75);
    expect(r.oracleVal).toBe(1);
    expect(r.oracleTest).toBe(0.75); // nobody is right on test sample 1
    expect(r.unrealizedCoverage).toBe(0.25);
    expect(r.members).toEqual(['a', 'c']);
  });

  it('on accuracy, chooses a combination only when it is right on more validation samples than the best single model', () => {
    const ids = ['a', 'b', 'c'];
    // A and B combined are right on all 4 validation samples: chosen over A alone
    const won = analyzePredictions({ modelIds: ids, val, test: val }, { kMax: 2, selection: { metric: 'accuracy' } });
    expect(won.ensembles[0]?.method).toBe('best-single');
    expect(won.chosen.valAccuracy).toBe(1);
    expect(won.chosen.members.length).toBeGreaterThan(1);
    // two copies of A: every combination ties A on accuracy, so the single model stays
    const tie = analyzePredictions({ modelIds: ['a', 'a2'], val: { ...val, probs: [A, A] }, test: { ...val, probs: [A, A] } }, { kMax: 2, selection: { metric: 'accuracy' } });
    expect(tie.chosen.method).toBe('best-single');
    expect(tie.chosen.members).toEqual(['a']);
    expect(tie.chosen.testGain).toBe(0);
  });

  it('by default selects and chooses on validation log-loss, and every report says it was selected on validation', () => {
    const s = greedySelection(val, { initSize: 1, steps: 6 });
    // The kept prefix is the lowest validation log-loss of the climb.
    expect(s.val.logLoss).toBe(Math.min(...s.trace.map((t) => t.logLoss)));
    const a = analyzePredictions({ modelIds: ['a', 'b', 'c'], val, test: val }, { kMax: 2 });
    expect(a.chosen.valLogLoss).toBe(Math.min(...a.ensembles.map((e) => e.valLogLoss)));
    expect(a.ensembles.every((e) => e.selectedOn === 'validation')).toBe(true);
  });

  it('with bags, chooses the bagged selection on the configured metric, with no further comparison', () => {
    const ids = ['a', 'b', 'c'];
    for (const metric of ['log_loss', 'accuracy'] as const) {
      const a = analyzePredictions({ modelIds: ids, val, test: val }, { kMax: 2, seed: 5, selection: { metric, bags: 50 } });
      const bagged = baggedSelection(val, { metric, seed: 5 });
      expect(a.chosen.method).toBe('bagged-greedy');
      expect(a.chosen.members).toEqual(bagged.members.map((m) => ids[m]));
      expect(a.chosen.weights).toEqual(bagged.weights);
      expect(a.ensembles).toContain(a.chosen);
      expect(a.ensembles.map((e) => e.method)).toContain('greedy');
    }
    // without bags there is no bagged entry
    expect(analyzePredictions({ modelIds: ids, val, test: val }, { kMax: 2 }).ensembles.map((e) => e.method)).not.toContain('bagged-greedy');
    // two copies of A: every climb starts from the first and adding the copy changes nothing, so A alone
    const tie = analyzePredictions({ modelIds: ['a', 'a2'], val: { ...val, probs: [A, A] }, test: { ...val, probs: [A, A] } }, { kMax: 2, selection: { bags: 50 } });
    expect(tie.chosen.members).toEqual(['a']);
    expect(tie.chosen.testGain).toBe(0);
    const one = analyzePredictions({ modelIds: ['a'], val: { ...val, probs: [A] }, test: { ...val, probs: [A] } }, { kMax: 1, selection: { bags: 50 } });
    expect(one.chosen.method).toBe('best-single');
  });

  it('selection never looks at test data: corrupting the test split changes no member', () => {
    const rng = new Rng(8);
    const n = 80;
    const c = 3;
    const make = (labels: Int32Array, skill: number): Float32Array => {
      const p = new Float32Array(labels.length * c);
      labels.forEach((y, r) => {
        let t = 0;
        for (let j = 0; j < c; j++) t += p[r * c + j] = rng.next() + (j === y ? skill * rng.next() : 0);
        for (let j = 0; j < c; j++) p[r * c + j] = (p[r * c + j] as number) / t;
      });
      return p;
    };
    const yVal = Int32Array.from({ length: n }, () => rng.int(c));
    const yTest = Int32Array.from({ length: n }, () => rng.int(c));
    const skills = [0.5, 0.8, 1.1, 0.3, 0.9, 0.6];
    const ids = skills.map((_, i) => `m${i}`);
    const valSplit = { probs: skills.map((s) => make(yVal, s)), labels: yVal, numClasses: c };
    const testSplit = { probs: skills.map((s) => make(yTest, s)), labels: yTest, numClasses: c };
    const corrupted = { probs: testSplit.probs.map((p) => p.map((v, i) => (i % 3 === 0 ? 1 - v : v))), labels: yTest.map((y) => (y + 1) % c), numClasses: c };
    for (const bags of [0, 20]) {
      const a = analyzePredictions({ modelIds: ids, val: valSplit, test: testSplit }, { kMax: 3, selection: { bags } });
      const b = analyzePredictions({ modelIds: ids, val: valSplit, test: corrupted }, { kMax: 3, selection: { bags } });
      expect(b.ensembles.map((e) => [e.method, e.members, e.weights])).toEqual(a.ensembles.map((e) => [e.method, e.members, e.weights]));
      expect(b.chosen.members).toEqual(a.chosen.members);
      expect(b.bestSingle.modelId).toBe(a.bestSingle.modelId);
      expect(b.chosen.testAccuracy).not.toBe(a.chosen.testAccuracy);
      // without bags the chosen one was compared with the best single model on validation; the bagged one is not
      if (bags === 0) expect(a.chosen.valAccuracy).toBeGreaterThanOrEqual(a.bestSingle.valAccuracy);
      else expect(a.chosen.method).toBe('bagged-greedy');
    }
  });
});
