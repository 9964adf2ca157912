import { configError } from '../engine/errors.js';
import { Rng } from '../engine/rng.js';

/**
 * Stratified k-fold cross-validation for small data sets (under about KFOLD_MAX_ROWS rows), as bagged ensembles
 * use it: every sample is predicted once by a model that did not train on it, and those out-of-fold predictions
 * (not one small validation split) drive selection.
 *
 * Folds are stratified: each class's samples are shuffled (seeded) and dealt round-robin, the deal continuing
 * from class to class, so every fold holds ⌊n_c/k⌋ or ⌈n_c/k⌉ samples of each class c and fold sizes differ by at
 * most one.
 */

/** Above this many rows a single validation split is large enough; k-fold is offered below it. */
export const KFOLD_MAX_ROWS = 2000;

/** The fold counts `data.kfold` may ask for: each fold costs one more trained network per model. */
export const KFOLD_RANGE = [2, 10] as const;

/** Checks a `data.kfold` value (a config's or a job's): an integer in KFOLD_RANGE. */
export function checkKFold(value: unknown): number {
  const [min, max] = KFOLD_RANGE;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw configError('data.kfold', `must be an integer in [${min}, ${max}] (the number of folds), got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The fold (0..k−1) of every sample. */
export function stratifiedFolds(labels: ArrayLike<number>, k: number, seed: number): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw configError('kfold', `must be an integer ≥ 2, got ${k}`);
  if (labels.length < k) throw configError('kfold', `${k} folds need at least ${k} samples, got ${labels.length}`);
  const rng = new Rng(seed);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i] as number;
    const list = byClass.get(c);
    if (list) list.push(i);
    else byClass.set(c, [i]);
  }
  const fold = new Int32Array(labels.length);
  let next = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    for (const i of rng.shuffle(byClass.get(c) as number[])) {
      fold[i] = next;
      next = (next + 1) % k;
    }
  }
  return fold;
}

export interface FoldIndices {
  readonly train: Int32Array;
  readonly val: Int32Array;
}

/** For each fold f: train on every other fold, validate on f. Indices ascending. */
export function kFoldSplits(labels: ArrayLike<number>, k: number, seed: number): FoldIndices[] {
  const fold = stratifiedFolds(labels, k, seed);
  return Array.from({ length: k }, (_, f) => {
    const train: number[] = [];
    const val: number[] = [];
    fold.forEach((g, i) => (g === f ? val : train).push(i));
    return { train: Int32Array.from(train), val: Int32Array.from(val) };
  });
}

/**
 * Out-of-fold predictions: foldProbs[f] holds the fold-f model's rows for the samples of splits[f].val, in that
 * order; the result is every sample's row, row-major [n, numClasses], in the original sample order.
 */
export function outOfFold(foldProbs: readonly Float32Array[], splits: readonly FoldIndices[], n: number, numClasses: number): Float32Array {
  if (foldProbs.length !== splits.length) throw configError('kfold', `${splits.length} folds but ${foldProbs.length} fold predictions`);
  const out = new Float32Array(n * numClasses);
  const seen = new Uint8Array(n);
  splits.forEach((s, f) => {
    const p = foldProbs[f] as Float32Array;
    if (p.length !== s.val.length * numClasses) throw configError('kfold', `fold ${f} predictions hold ${p.length} values, expected ${s.val.length} × ${numClasses}`);
    s.val.forEach((i, r) => {
      out.set(p.subarray(r * numClasses, (r + 1) * numClasses), i * numClasses);
      seen[i] = 1;
    });
  });
  const missing = seen.indexOf(0);
  if (missing >= 0) throw configError('kfold', `sample ${missing} is in no fold's validation part`);
  return out;
}
