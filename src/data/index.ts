import { dataError } from '../engine/errors.js';
import { checksumRaw } from './checksum.js';
import { readCsv } from './csv.js';
import { readIris } from './iris.js';
import { readMnist } from './mnist.js';
import { applyNormalization, DEFAULT_FRACTIONS, fitZScore, gather, stratifiedSplit } from './split.js';
import { readSynthetic, SYNTHETIC_TASKS } from './synthetic.js';
import type { Dataset, Normalization, RawData, SplitFractions } from './types.js';

export type { DataSplit, Dataset, Normalization, RawData, SplitFractions } from './types.js';
export { checksumRaw } from './checksum.js';
export { DEFAULT_FRACTIONS, MIN_PER_CLASS, stratifiedSplit } from './split.js';
export { SYNTHETIC_TASKS } from './synthetic.js';

export const DEFAULT_DATA_REF = 'mnist';

export interface LoadDatasetOptions {
  /** Seed of the stratified split (default 0). */
  readonly seed?: number;
  /** Train / val / test fractions (default 0.7 / 0.15 / 0.15). */
  readonly fractions?: SplitFractions;
  /** At most this many samples, drawn per class in proportion (for quick runs). */
  readonly limit?: number;
  /** CSV only: the label column's name (default: the last column, or `?label=NAME` in the ref). */
  readonly labelColumn?: string;
  /** When given, loading fails unless the raw data hashes to this (a worker refusing mismatched data). */
  readonly expectedChecksum?: string;
}

/**
 * Reads the raw (unsplit) data a reference names:
 * 'mnist', 'iris', 'synthetic:NAME', or 'csv:PATH' (optionally 'csv:PATH?label=COLUMN', so that a reference
 * alone tells a remote worker everything).
 */
export function readRaw(ref: string, options: Pick<LoadDatasetOptions, 'labelColumn'> = {}): RawData {
  if (ref === 'mnist') return readMnist();
  if (ref === 'iris') return readIris();
  if (ref.startsWith('synthetic:')) return readSynthetic(ref.slice('synthetic:'.length));
  if (ref.startsWith('csv:')) {
    let path = ref.slice('csv:'.length);
    let labelColumn = options.labelColumn;
    const q = path.lastIndexOf('?label=');
    if (q >= 0) {
      labelColumn ??= path.slice(q + '?label='.length);
      path = path.slice(0, q);
    }
    if (path === '') throw dataError('csv: the reference "csv:" needs a file path, e.g. csv:data/train.csv');
    return readCsv(path, { labelColumn });
  }
  throw dataError(
    `unknown data set "${ref}"; use mnist, iris, csv:PATH or synthetic:NAME (${Object.keys(SYNTHETIC_TASKS).join(', ')})`,
  );
}

/**
 * Loads a data set, checksums it, splits it (seeded, stratified) and normalizes it with statistics fitted on
 * the train split only. Every error (missing file, bad value, class too small to split, checksum mismatch)
 * is a LOOM_ERR_DATA raised here, before any training starts.
 */
export function loadDataset(ref: string = DEFAULT_DATA_REF, options: LoadDatasetOptions = {}): Dataset {
  const raw = readRaw(ref, options);
  const checksum = checksumRaw(raw);
  if (options.expectedChecksum !== undefined && options.expectedChecksum !== checksum) {
    throw dataError(
      `${ref}: data checksum ${checksum.slice(0, 12)}… does not match the run's ${options.expectedChecksum.slice(0, 12)}…; ` +
        'the data on this machine differs from the data the run was started with',
    );
  }
  const seed = options.seed ?? 0;
  const fractions = options.fractions ?? DEFAULT_FRACTIONS;
  const indices = stratifiedSplit(raw, { seed, fractions, limit: options.limit });
  const train = gather(raw, indices.train);
  const val = gather(raw, indices.val);
  const test = gather(raw, indices.test);
  const featureSize = raw.inputShape.reduce((a, b) => a * b, 1);

  let normalization: Normalization = { kind: 'none' };
  if (raw.normalize === 'zscore') {
    normalization = fitZScore(train, featureSize);
    for (const split of [train, val, test]) applyNormalization(split, normalization, featureSize);
  }
  return {
    ref,
    name: raw.name,
    checksum,
    inputShape: raw.inputShape,
    featureSize,
    numClasses: raw.classNames.length,
    classNames: raw.classNames,
    train,
    val,
    test,
    normalization,
    seed,
    fractions,
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
  };
}
