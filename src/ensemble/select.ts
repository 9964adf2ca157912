import { deriveSeed, Rng } from '../engine/rng.js';
import { pickBest } from '../search/best.js';
import { analysisError, argmaxRow, checkMasks, correctnessMask, oracleAccuracy } from './masks.js';

/**
 * Ensemble selection from a population's stored class probabilities: Caruana et al.'s greedy forward selection
 * with replacement (ICML 2004) on VALIDATION data, with sorted initialization (start from the N best single
 * models) and size limits, plus simple baselines; and the report of an ensemble on both splits.
 *
 * An ensemble is a weighted average of member probabilities, weights = pick counts / total picks. Selection reads
 * only the validation split; the test split is touched only by `ensembleReport`, after the members are fixed.
 */

/** One split's predictions: probs[m] is model m's row-major [samples, classes]; labels are the true classes. */
export interface SplitData {
  readonly probs: readonly Float32Array[];
  readonly labels: Int32Array;
  readonly numClasses: number;
  /** Correctness masks (argmax == label) when stored; recomputed from probs and labels otherwise. */
  readonly masks?: readonly Uint8Array[];
}

export type SelectionMetric = 'accuracy' | 'log_loss';
export const SELECTION_METRICS: readonly SelectionMetric[] = ['log_loss', 'accuracy'];
export const DEFAULT_SELECTION_METRIC: SelectionMetric = 'log_loss';

export interface SelectionOptions {
  /** Total picks (with replacement), initialization included (default 25). */
  readonly steps?: number;
  /** Sorted initialization: start with this many of the best single models (default 3). */
  readonly initSize?: number;
  /** At most this many distinct members (default 10); once reached, only members can be picked again. */
  readonly maxMembers?: number;
  /**
   * What the hill climb optimizes; the other breaks ties. Default 'log_loss': it moves with every sample's
   * probability, so on small validation sets it overfits less than accuracy, which moves in steps of 1/n.
   */
  readonly metric?: SelectionMetric;
}

export interface Score {
  readonly accuracy: number;
  readonly logLoss: number;
}

export interface Selection {
  /** Model indices in pick order (the chosen prefix). */
  readonly picks: number[];
  /** Distinct members in first-pick order, with their weights (summing to 1). */
  readonly members: number[];
  readonly weights: number[];
  readonly val: Score;
  /** The validation score after each pick (the whole climb, not only the chosen prefix). */
  readonly trace: Score[];
}

const LOG_FLOOR = 1e-15;

/** Checks a split's shape; returns [samples, classes]. */
export function checkSplit(split: SplitData, what: string): [number, number] {
  const c = split.numClasses;
  const n = split.labels.length;
  if (split.probs.length === 0) throw analysisError(`no ${what} predictions: the run has no finished models`);
  if (!(Number.isInteger(c) && c > 0)) throw analysisError(`${what}: bad number of classes ${c}`);
  split.probs.forEach((p, m) => {
    if (p.length !== n * c) throw analysisError(`${what} probabilities of model #${m} hold ${p.length} values, expected ${n} samples × ${c} classes`);
  });
  if (split.masks) checkMasks(split.masks, undefined, `${what} masks`);
  return [n, c];
}

/** Accuracy and mean log-loss of probability rows (any positive scale: rows are normalized by their sum). */
export function scoreRows(rows: ArrayLike<number>, labels: Int32Array, numClasses: number): Score {
  const n = labels.length;
  let correct = 0;
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const label = labels[r] as number;
    if (argmaxRow(rows, r, numClasses) === label) correct++;
    let total = 0;
    for (let j = 0; j < numClasses; j++) total += rows[r * numClasses + j] as number;
    loss -= Math.log(Math.max(LOG_FLOOR, (rows[r * numClasses + label] as number) / (total || 1)));
  }
  return { accuracy: n ? correct / n : 0, logLoss: n ? loss / n : 0 };
}

/** Σ_m w_m·probs[m], in float64 then rounded to float32 (the offline ensemble's probabilities). */
export function combineProbabilities(probs: readonly Float32Array[], members: readonly number[], weights: readonly number[]): Float32Array {
  if (members.length === 0 || members.length !== weights.length) throw analysisError(`an ensemble needs members with one weight each (${members.length} members, ${weights.length} weights)`);
  const size = (probs[members[0] as number] as Float32Array).length;
  const acc = new Float64Array(size);
  members.forEach((m, k) => {
    const p = probs[m];
    if (!p) throw analysisError(`ensemble member #${m} does not exist`);
    const w = weights[k] as number;
    for (let i = 0; i < size; i++) acc[i] = (acc[i] as number) + w * (p[i] as number);
  });
  return Float32Array.from(acc);
}

/** Is score a better than b for the metric (ties on both: false)? */
export function better(a: Score, b: Score, metric: SelectionMetric = 'accuracy'): boolean {
  if (metric === 'accuracy') return a.accuracy > b.accuracy || (a.accuracy === b.accuracy && a.logLoss < b.logLoss);
  return a.logLoss < b.logLoss || (a.logLoss === b.logLoss && a.accuracy > b.accuracy);
}

/** Models ranked best first on the split (ties: lower index first). */
export function rankModels(split: SplitData, metric: SelectionMetric = 'accuracy'): { index: number; score: Score }[] {
  checkSplit(split, 'validation');
  const scored = split.probs.map((p, index) => ({ index, score: scoreRows(p, split.labels, split.numClasses) }));
  return scored.sort((a, b) => (better(a.score, b.score, metric) ? -1 : better(b.score, a.score, metric) ? 1 : a.index - b.index));
}

/**
 * Greedy forward selection with replacement. Starts from the `initSize` best single models, then repeatedly adds
 * the model (possibly one already in) whose addition gives the best validation score, until `steps` picks. Returns
 * the best prefix of that climb on validation (earliest on ties), not the last one: with a small validation set
 * the last iterate is often worse (auto-sklearn#1477).
 */
export function greedySelection(val: SplitData, options: SelectionOptions = {}): Selection {
  const [n, c] = checkSplit(val, 'validation');
  const L = val.probs.length;
  const metric = options.metric ?? DEFAULT_SELECTION_METRIC;
  const initSize = Math.max(1, Math.min(options.initSize ?? 3, L));
  const maxMembers = Math.max(initSize, options.maxMembers ?? 10);
  const steps = Math.max(initSize, options.steps ?? 25);
  const sum = new Float64Array(n * c);
  const picks: number[] = [];
  const trace: Score[] = [];
  const inEnsemble = new Set<number>();
  const add = (m: number): void => {
    const p = val.probs[m] as Float32Array;
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (p[i] as number);
    picks.push(m);
    inEnsemble.add(m);
  };
  for (const { index } of rankModels(val, metric).slice(0, initSize)) add(index);
  // The largest change one model can make to a difference of two classes' sums.
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of val.probs) for (let i = 0; i < p.length; i++) {
    const v = p[i] as number;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const spread = hi - lo;
  trace.push(scoreRows(sum, val.labels, c));
  while (picks.length < steps) {
    // First the primary metric for every candidate, then the tie-break only for those tied on it.
    const allowed = Array.from({ length: L }, (_, m) => m).filter((m) => inEnsemble.has(m) || inEnsemble.size < maxMembers);
    const race = metric === 'accuracy' ? openRows(sum, val.labels, c, spread) : null;
    const primary = allowed.map((m) => (race ? race.accuracy(val.probs[m] as Float32Array) : scoreSum(sum, val.probs[m] as Float32Array, val.labels, c, metric)));
    const top = metric === 'accuracy' ? Math.max(...primary) : Math.min(...primary);
    let bestModel = -1;
    let bestScore: Score | null = null;
    for (let i = 0; i < allowed.length; i++) {
      if (primary[i] !== top) continue;
      const m = allowed[i] as number;
      const other = scoreSum(sum, val.probs[m] as Float32Array, val.labels, c, metric === 'accuracy' ? 'log_loss' : 'accuracy');
      const s: Score = metric === 'accuracy' ? { accuracy: top, logLoss: other } : { accuracy: other, logLoss: top };
      if (!bestScore || better(s, bestScore, metric)) {
        bestScore = s;
        bestModel = m;
      }
    }
    add(bestModel);
    trace.push(bestScore as Score);
  }
  let bestAt = 0;
  for (let t = 1; t < trace.length; t++) if (better(trace[t] as Score, trace[bestAt] as Score, metric)) bestAt = t;
  const chosen = picks.slice(0, initSize + bestAt);
  const { members, weights } = weightsOf(chosen);
  return { picks: chosen, members, weights, val: trace[bestAt] as Score, trace };
}

export interface BaggingOptions extends SelectionOptions {
  /** How many climbs (default 50). */
  readonly bags?: number;
  /** The share of the models each climb may pick from (default 0.5; at least 2 models, or all when fewer). */
  readonly fraction?: number;
  /** Seeds the bags' draws (default 0). */
  readonly seed?: number;
}

export interface BaggedSelection {
  /** Distinct members, ascending model index, with their weights (summing to 1). */
  readonly members: number[];
  readonly weights: number[];
  /** The combination's validation score (it was selected on validation, so optimistic). */
  readonly val: Score;
  readonly bags: number;
}

/**
 * Bagged ensemble selection (Caruana, Munson & Niculescu-Mizil, ICDM 2006, "Getting the most out of ensemble
 * selection"): `bags` greedy climbs (greedySelection), each on a random `fraction` of the models, and the ensemble
 * is the average of their weight vectors. One climb over every model fits the validation split's noise: on the
 * default search's runs it picked 3-4 members whose test accuracy was the lowest of the ensembles compared
 * (docs/search-rounds.md); a climb that cannot reach some of the models must find others, and the average keeps
 * what the climbs agree on. Deterministic for a seed.
 */
export function baggedSelection(val: SplitData, options: BaggingOptions = {}): BaggedSelection {
  const [, c] = checkSplit(val, 'validation');
  const L = val.probs.length;
  const bags = options.bags ?? 50;
  const fraction = options.fraction ?? 0.5;
  if (!Number.isInteger(bags) || bags < 1) throw analysisError(`bags must be an integer ≥ 1, got ${bags}`);
  if (!(fraction > 0 && fraction <= 1)) throw analysisError(`the bag fraction must be in (0, 1], got ${fraction}`);
  const size = Math.min(L, Math.max(2, Math.round(fraction * L)));
  // A climb starts from fewer than all of its bag's models, so each bag still chooses: with sorted initialization
  // over the whole bag, a poor model in a bag of two would get half of that bag's weight whatever it scores.
  const climbOptions = { ...options, initSize: Math.min(options.initSize ?? 3, Math.max(1, size - 1)) };
  const rng = new Rng(deriveSeed(options.seed ?? 0, 'ensemble-bags'));
  const weight = new Float64Array(L);
  for (let b = 0; b < bags; b++) {
    const subset = rng.permutation(L).slice(0, size).sort((x, y) => x - y);
    const climb = greedySelection({ probs: subset.map((m) => val.probs[m] as Float32Array), labels: val.labels, numClasses: c }, climbOptions);
    climb.members.forEach((m, k) => {
      const model = subset[m] as number;
      weight[model] = (weight[model] as number) + (climb.weights[k] as number) / bags;
    });
  }
  const members = Array.from({ length: L }, (_, m) => m).filter((m) => (weight[m] as number) > 0);
  const total = members.reduce((sum, m) => sum + (weight[m] as number), 0);
  const weights = members.map((m) => (weight[m] as number) / total);
  return { members, weights, val: scoreRows(combineProbabilities(val.probs, members, weights), val.labels, c), bags };
}

/**
 * Accuracy of (sum + p) for many candidates p, exactly, but looking only at rows whose argmax p can still change.
 * A candidate moves the difference of two classes by at most `spread` (max p − min p), so a class more than
 * `spread` below the row's top can never win: such rows are "settled" when only the top class is left, and the
 * others are scanned over their remaining contenders (ascending, so ties still go to the lowest class).
 */
function openRows(sum: Float64Array, labels: Int32Array, c: number, spread: number): { accuracy(p: Float32Array): number } {
  const n = labels.length;
  let settledCorrect = 0;
  const rows: number[] = [];
  const start: number[] = [0];
  const classes: number[] = [];
  for (let r = 0; r < n; r++) {
    const o = r * c;
    let top = 0;
    for (let j = 1; j < c; j++) if ((sum[o + j] as number) > (sum[o + top] as number)) top = j;
    const floor = (sum[o + top] as number) - spread;
    const first = classes.length;
    for (let j = 0; j < c; j++) if ((sum[o + j] as number) >= floor) classes.push(j);
    if (classes.length - first === 1) {
      classes.length = first;
      if (top === labels[r]) settledCorrect++;
      continue;
    }
    rows.push(r);
    start.push(classes.length);
  }
  const rowList = Int32Array.from(rows);
  const starts = Int32Array.from(start);
  const cls = Int32Array.from(classes);
  return {
    accuracy(p: Float32Array): number {
      let correct = settledCorrect;
      for (let t = 0; t < rowList.length; t++) {
        const r = rowList[t] as number;
        const o = r * c;
        let best = -1;
        let max = -Infinity;
        for (let q = starts[t] as number; q < (starts[t + 1] as number); q++) {
          const j = cls[q] as number;
          const v = (sum[o + j] as number) + (p[o + j] as number);
          if (v > max) {
            max = v;
            best = j;
          }
        }
        if (best === labels[r]) correct++;
      }
      return n ? correct / n : 0;
    },
  };
}

/** One metric of (sum + p) without materializing the sum: the climb's inner loop (log-loss normalizes by row sums). */
function scoreSum(sum: Float64Array, p: Float32Array, labels: Int32Array, c: number, metric: SelectionMetric): number {
  const n = labels.length;
  if (n === 0) return 0;
  if (metric === 'accuracy') {
    let correct = 0;
    for (let r = 0; r < n; r++) {
      const o = r * c;
      let best = 0;
      let max = -Infinity;
      for (let j = 0; j < c; j++) {
        const v = (sum[o + j] as number) + (p[o + j] as number);
        if (v > max) {
          max = v;
          best = j;
        }
      }
      if (best === labels[r]) correct++;
    }
    return correct / n;
  }
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const o = r * c;
    let total = 0;
    for (let j = 0; j < c; j++) total += (sum[o + j] as number) + (p[o + j] as number);
    const label = labels[r] as number;
    loss -= Math.log(Math.max(LOG_FLOOR, ((sum[o + label] as number) + (p[o + label] as number)) / (total || 1)));
  }
  return loss / n;
}

/** Distinct members in first-pick order and their weights count/total. */
export function weightsOf(picks: readonly number[]): { members: number[]; weights: number[] } {
  const counts = new Map<number, number>();
  for (const p of picks) counts.set(p, (counts.get(p) ?? 0) + 1);
  const members = [...counts.keys()];
  return { members, weights: members.map((m) => (counts.get(m) as number) / picks.length) };
}

/** One ensemble, as reported: everything needed to judge it and to graft it. */
export interface EnsembleReport {
  readonly method: string;
  readonly members: string[];
  readonly weights: number[];
  /**
   * The split the members and weights were chosen on: always 'validation', so valAccuracy and valLogLoss are
   * optimistic (selection fitted them); testAccuracy is the honest figure.
   */
  readonly selectedOn: 'validation';
  readonly valAccuracy: number;
  readonly valLogLoss: number;
  readonly testAccuracy: number;
  readonly testLogLoss: number;
  /** Fraction of samples at least one member gets right (an upper bound no combiner is sure to reach). */
  readonly oracleVal: number;
  readonly oracleTest: number;
  /** testAccuracy − the test accuracy of the best single model chosen on validation. */
  readonly testGain: number;
  /** oracleTest − testAccuracy: coverage the combination does not realize. */
  readonly unrealizedCoverage: number;
}

export interface BestSingle {
  readonly index: number;
  readonly modelId: string;
  readonly valAccuracy: number;
  readonly testAccuracy: number;
}

const masksOf = (split: SplitData): readonly Uint8Array[] =>
  split.masks ??
  split.probs.map((p) => correctnessMask(p, split.labels, split.numClasses));

/**
 * The best single model chosen on validation by the one rule (search/best.ts: accuracy, then log-loss, then model
 * id), with its test accuracy.
 */
export function bestSingleModel(modelIds: readonly string[], val: SplitData, test: SplitData): BestSingle {
  checkSplit(val, 'validation');
  const candidates = val.probs.map((p, index) => {
    const score = scoreRows(p, val.labels, val.numClasses);
    return { index, modelId: modelIds[index] as string, valAccuracy: score.accuracy, valLogLoss: score.logLoss };
  });
  const top = pickBest(candidates);
  if (!top) throw analysisError('no validation predictions: the run has no finished models');
  const testScore = scoreRows(test.probs[top.index] as Float32Array, test.labels, test.numClasses);
  return { index: top.index, modelId: top.modelId, valAccuracy: top.valAccuracy, testAccuracy: testScore.accuracy };
}

/** Scores fixed members and weights on both splits and compares with the best single model. */
export function ensembleReport(
  method: string,
  modelIds: readonly string[],
  members: readonly number[],
  weights: readonly number[],
  val: SplitData,
  test: SplitData,
  best: BestSingle,
): EnsembleReport {
  checkSplit(test, 'test');
  const v = scoreRows(combineProbabilities(val.probs, members, weights), val.labels, val.numClasses);
  const t = scoreRows(combineProbabilities(test.probs, members, weights), test.labels, test.numClasses);
  const valMasks = masksOf(val);
  const testMasks = masksOf(test);
  const oracleTest = oracleAccuracy(members.map((m) => testMasks[m] as Uint8Array));
  return {
    method,
    members: members.map((m) => modelIds[m] as string),
    weights: [...weights],
    selectedOn: 'validation',
    valAccuracy: v.accuracy,
    valLogLoss: v.logLoss,
    testAccuracy: t.accuracy,
    testLogLoss: t.logLoss,
    oracleVal: oracleAccuracy(members.map((m) => valMasks[m] as Uint8Array)),
    oracleTest,
    testGain: t.accuracy - best.testAccuracy,
    unrealizedCoverage: oracleTest - t.accuracy,
  };
}
