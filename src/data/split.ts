import { configError, dataError } from '../engine/errors.js';
import { Rng } from '../engine/rng.js';
import type { DataSplit, Normalization, RawData, SplitFractions, SplitSpec } from './types.js';

export const DEFAULT_FRACTIONS: SplitFractions = [0.7, 0.15, 0.15];

/** Fewest samples a class needs so that train, validation and test each get one. */
export const MIN_PER_CLASS = 3;

export interface SplitIndices {
  readonly train: readonly number[];
  readonly val: readonly number[];
  readonly test: readonly number[];
}

/** How far the fractions' sum may be from 1 (three decimals written by hand, like 0.7/0.15/0.15, are fine). */
const FRACTION_SUM_TOLERANCE = 1e-6;

/**
 * Checks split fractions: three finite numbers in (0, 1) that sum to 1 (±1e-6); returns them rescaled to sum
 * to exactly 1. Throws a config error on `data.fractions` otherwise (a sum of Infinity or of 4 is a mistake, not
 * a ratio to rescale).
 */
export function checkFractions(value: unknown): SplitFractions {
  const shown = JSON.stringify(value) ?? String(value);
  if (!Array.isArray(value) || value.length !== 3 || !value.every((f) => typeof f === 'number' && Number.isFinite(f) && f > 0 && f < 1)) {
    throw configError('data.fractions', `must be three numbers in (0, 1) [train, val, test] summing to 1, got ${shown}`);
  }
  const [a, b, c] = value as [number, number, number];
  const total = a + b + c;
  if (Math.abs(total - 1) > FRACTION_SUM_TOLERANCE) {
    throw configError('data.fractions', `must sum to 1, got ${shown} (sum ${total})`);
  }
  return [a / total, b / total, c / total];
}

/** Per-class quotas summing to `limit`, proportional to class sizes (largest remainder, ties to the lower class). */
function stratifiedQuotas(sizes: readonly number[], limit: number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((n) => (limit * n) / total);
  const quotas = exact.map(Math.floor);
  let left = limit - quotas.reduce((a, b) => a + b, 0);
  const order = exact.map((e, c) => ({ c, frac: e - Math.floor(e) })).sort((a, b) => b.frac - a.frac || a.c - b.c);
  for (const { c } of order) {
    if (left <= 0) break;
    quotas[c] = (quotas[c] as number) + 1;
    left--;
  }
  return quotas;
}

/** How many of a class's n samples go to train / val / test: every split gets at least one. */
function classCounts(n: number, [, fVal, fTest]: SplitFractions): [number, number, number] {
  let nVal = Math.max(1, Math.round(fVal * n));
  let nTest = Math.max(1, Math.round(fTest * n));
  while (n - nVal - nTest < 1) {
    if (nVal >= nTest) nVal--;
    else nTest--;
  }
  return [n - nVal - nTest, nVal, nTest];
}

/**
 * A seeded, stratified train/val/test split: each class is shuffled with `Rng(splitSeed)` and cut by the fractions,
 * then each split's order is shuffled. The same raw data and options always give the same indices.
 * Throws a data error when a class is too small to put a sample in every split.
 */
export function stratifiedSplit(raw: RawData, options: SplitSpec): SplitIndices {
  const fractions = checkFractions(options.fractions ?? DEFAULT_FRACTIONS);
  const numClasses = raw.classNames.length;
  if (numClasses < 2) {
    throw dataError(`${raw.name}: found ${numClasses} class${numClasses === 1 ? '' : 'es'}; classification needs at least 2`);
  }
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < raw.count; i++) (byClass[raw.y[i] as number] as number[]).push(i);

  const rng = new Rng(options.splitSeed);
  for (const members of byClass) rng.shuffle(members);

  let taken = byClass;
  const limit = options.limit;
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < 1) throw configError('data.limit', `need a positive integer, got ${limit}`);
    if (limit < raw.count) {
      const quotas = stratifiedQuotas(
        byClass.map((m) => m.length),
        limit,
      );
      taken = byClass.map((m, c) => m.slice(0, quotas[c]));
    }
  }

  const train: number[] = [];
  const val: number[] = [];
  const test: number[] = [];
  taken.forEach((members, c) => {
    if (members.length < MIN_PER_CLASS) {
      const why = limit !== undefined && limit < raw.count ? ` after limiting to ${limit} samples` : '';
      throw dataError(
        `${raw.name}: class "${raw.classNames[c]}" has ${members.length} sample(s)${why}; ` +
          `a stratified train/val/test split needs at least ${MIN_PER_CLASS} per class`,
      );
    }
    const [nTrain, nVal] = classCounts(members.length, fractions);
    train.push(...members.slice(0, nTrain));
    val.push(...members.slice(nTrain, nTrain + nVal));
    test.push(...members.slice(nTrain + nVal));
  });
  return { train: rng.shuffle(train), val: rng.shuffle(val), test: rng.shuffle(test) };
}

/** Copies the given samples (rows) out of the raw data or a split (a k-fold job's fold). */
export function gather(source: DataSplit, indices: ArrayLike<number>): DataSplit {
  const size = source.x.length / Math.max(1, source.count);
  const x = new Float32Array(indices.length * size);
  const y = new Int32Array(indices.length);
  for (let dst = 0; dst < indices.length; dst++) {
    const src = indices[dst] as number;
    x.set(source.x.subarray(src * size, (src + 1) * size), dst * size);
    y[dst] = source.y[src] as number;
  }
  return { x, y, count: indices.length };
}

/** Per-feature mean and (population) standard deviation over the train split only; constant features get std 1. */
export function fitZScore(train: DataSplit, featureSize: number): Normalization {
  const mean = new Float64Array(featureSize);
  const sq = new Float64Array(featureSize);
  for (let s = 0; s < train.count; s++) {
    for (let f = 0; f < featureSize; f++) mean[f] = (mean[f] as number) + (train.x[s * featureSize + f] as number);
  }
  for (let f = 0; f < featureSize; f++) mean[f] = (mean[f] as number) / train.count;
  for (let s = 0; s < train.count; s++) {
    for (let f = 0; f < featureSize; f++) {
      const d = (train.x[s * featureSize + f] as number) - (mean[f] as number);
      sq[f] = (sq[f] as number) + d * d;
    }
  }
  const std = Array.from(sq, (v) => {
    const s = Math.sqrt(v / train.count);
    return s > 1e-12 ? s : 1;
  });
  return { kind: 'zscore', mean: Array.from(mean), std };
}

/** Applies a normalization in place. */
export function applyNormalization(split: DataSplit, norm: Normalization, featureSize: number): void {
  if (norm.kind === 'none') return;
  for (let s = 0; s < split.count; s++) {
    for (let f = 0; f < featureSize; f++) {
      const i = s * featureSize + f;
      split.x[i] = ((split.x[i] as number) - (norm.mean[f] as number)) / (norm.std[f] as number);
    }
  }
}
