import { dataError } from '../engine/errors.js';
import { deriveSeed } from '../engine/rng.js';
import { checksumRaw } from './checksum.js';
import { CSV_DELIMITERS, readCsv, type CsvDelimiter, type CsvOptions } from './csv.js';
import { readFashionMnist, readIdx } from './idx.js';
import { readIris } from './iris.js';
import { checkKFold, KFOLD_MAX_ROWS, kFoldSplits } from './kfold.js';
import { readMnist } from './mnist.js';
import { applyNormalization, DEFAULT_FRACTIONS, fitZScore, gather, stratifiedSplit } from './split.js';
import { readSynthetic, SYNTHETIC_TASKS } from './synthetic.js';
import type { RawColumn } from '../engine/preprocess.js';
import type { DataColumns, DataSplit, LoadedColumns, LoadedDataset, Normalization, RawData, SplitFractions, SplitSpec } from './types.js';

export type { DataColumns, DataSplit, LoadedDataset, Normalization, RawData, SplitFractions, SplitSpec } from './types.js';
export { checksumRaw } from './checksum.js';
export { checkFractions, DEFAULT_FRACTIONS, gather, MIN_PER_CLASS, stratifiedSplit } from './split.js';
export { splitTensors } from './tensors.js';
export { SYNTHETIC_TASKS } from './synthetic.js';
export { checkKFold, KFOLD_MAX_ROWS, KFOLD_RANGE, kFoldSplits, outOfFold, stratifiedFolds, type FoldIndices } from './kfold.js';

export const DEFAULT_DATA_REF = 'mnist';

export interface LoadDatasetOptions extends Partial<SplitSpec> {
  /** CSV only: the label column's name (default: the last column, or `?label=NAME` in the ref). */
  readonly labelColumn?: string;
  /** When given, loading fails unless the raw data hashes to this (a worker refusing mismatched data). */
  readonly expectedChecksum?: string;
}

/**
 * The split part of anything that names one (a config's `data`, a job's `DataRef`, a run's stored config):
 * the one conversion to loader options, with absent fields left out (so it also serves as a cache key).
 */
export function dataOptions(data: SplitSpec): SplitSpec {
  return {
    splitSeed: data.splitSeed,
    ...(data.fractions === undefined ? {} : { fractions: data.fractions }),
    ...(data.limit === undefined ? {} : { limit: data.limit }),
    ...(data.kfold === undefined ? {} : { kfold: data.kfold }),
  };
}

/** A csv reference's path and options: 'csv:PATH', optionally followed by '?label=COLUMN&delimiter=;&ignore=A,B'. */
function parseCsvRef(ref: string, labelColumn: string | undefined): { path: string } & CsvOptions {
  let path = ref.slice('csv:'.length);
  let delimiter: CsvDelimiter | undefined;
  const ignore: string[] = [];
  const q = path.lastIndexOf('?');
  // Only a query of known keys is one: a '?' elsewhere stays part of the file name.
  if (q >= 0 && /^(label|delimiter|ignore)=/.test(path.slice(q + 1))) {
    const params = new URLSearchParams(path.slice(q + 1));
    path = path.slice(0, q);
    for (const [key, value] of params) {
      if (key === 'label') labelColumn ??= value;
      else if (key === 'ignore') ignore.push(...value.split(',').filter((c) => c !== ''));
      else if (key === 'delimiter') {
        const d = value === 'tab' ? '\t' : value;
        if (!(CSV_DELIMITERS as readonly string[]).includes(d)) {
          throw dataError(`csv: unknown delimiter "${value}" in ${ref}; use one of , ; | tab (or leave it out to detect it)`);
        }
        delimiter = d as CsvDelimiter;
      } else throw dataError(`csv: unknown option "${key}" in ${ref}; known: label, delimiter, ignore`);
    }
  }
  return {
    path,
    ...(labelColumn === undefined ? {} : { labelColumn }),
    ...(delimiter === undefined ? {} : { delimiter }),
    ...(ignore.length === 0 ? {} : { ignoreColumns: ignore }),
  };
}

/**
 * Reads the raw (unsplit) data a reference names:
 * 'mnist', 'iris', 'synthetic:NAME', or 'csv:PATH' (optionally 'csv:PATH?label=COLUMN&delimiter=;', so that a
 * reference alone tells a remote worker everything; the delimiter is detected when not given).
 */
export function readRaw(ref: string, options: Pick<LoadDatasetOptions, 'labelColumn'> = {}): RawData {
  if (ref === 'mnist') return readMnist();
  if (ref === 'iris') return readIris();
  if (ref === 'fashion-mnist') return readFashionMnist();
  if (ref.startsWith('idx:')) {
    const dir = ref.slice('idx:'.length);
    if (dir === '') throw dataError('idx: the reference "idx:" needs a directory of IDX files, e.g. idx:/usr/share/datasets/fashion-mnist');
    return readIdx(dir);
  }
  if (ref.startsWith('synthetic:')) return readSynthetic(ref.slice('synthetic:'.length));
  if (ref.startsWith('csv:')) {
    const { path, ...csvOptions } = parseCsvRef(ref, options.labelColumn);
    if (path === '') throw dataError('csv: the reference "csv:" needs a file path, e.g. csv:data/train.csv');
    return readCsv(path, csvOptions);
  }
  throw dataError(
    `unknown data set "${ref}"; use mnist, fashion-mnist, iris, idx:DIR, csv:PATH or synthetic:NAME (${Object.keys(SYNTHETIC_TASKS).join(', ')})`,
  );
}

/**
 * Loads a data set, checksums it, splits it (seeded, stratified) and normalizes it with statistics fitted on
 * the train split only. Every error (missing file, bad value, class too small to split, checksum mismatch)
 * is a LOOM_ERR_DATA raised here, before any training starts.
 *
 * With `kfold`, the test split is exactly the one without it; the other rows (train ∪ val, in the raw data's
 * order) are both `train` and `val`, cut into stratified `folds` seeded from the split seed, and normalization is
 * fitted on all of them (the fold models of one job share one input transform, so their graft has one too).
 */
export function loadDataset(ref: string = DEFAULT_DATA_REF, options: LoadDatasetOptions = {}): LoadedDataset {
  const raw = readRaw(ref, options);
  const checksum = checksumRaw(raw);
  if (options.expectedChecksum !== undefined && options.expectedChecksum !== checksum) {
    throw dataError(
      `${ref}: data checksum ${checksum.slice(0, 12)}… does not match the run's ${options.expectedChecksum.slice(0, 12)}…; ` +
        'the data on this machine differs from the data the run was started with',
    );
  }
  const splitSeed = options.splitSeed ?? 0;
  const fractions = options.fractions ?? DEFAULT_FRACTIONS;
  const kfold = options.kfold === undefined ? undefined : checkKFold(options.kfold);
  const indices = stratifiedSplit(raw, { splitSeed, fractions, ...(options.limit === undefined ? {} : { limit: options.limit }) });
  // k-fold: every non-test row, in the raw data's order, is both train and val (one array).
  const rest = kfold === undefined ? null : [...indices.train, ...indices.val].sort((a, b) => a - b);
  if (rest && rest.length > KFOLD_MAX_ROWS) {
    throw dataError(
      `${ref}: data.kfold is for small data (at most ${KFOLD_MAX_ROWS} non-test rows), this split has ${rest.length}; ` +
        'a validation split that large is enough: drop data.kfold, or set data.limit',
    );
  }
  const train = gather(raw, rest ?? indices.train);
  const val = rest ? train : gather(raw, indices.val);
  const test = gather(raw, indices.test);
  const folds = kfold === undefined ? undefined : kFoldSplits(train.y, kfold, deriveSeed(splitSeed, 'kfold'));
  const featureSize = raw.inputShape.reduce((a, b) => a * b, 1);

  const columns = raw.columns ? loadedColumns(raw.columns, [train, val, test], featureSize) : undefined;
  let normalization: Normalization = { kind: 'none' };
  if (raw.normalize === 'zscore') {
    normalization = fitZScore(train, featureSize);
    // With k-fold, val is train (one array): normalize it once.
    for (const split of new Set([train, val, test])) applyNormalization(split, normalization, featureSize);
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
    splitSeed,
    fractions,
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
    ...(kfold !== undefined && folds ? { kfold, folds } : {}),
    ...(columns ? { columns } : {}),
  };
}

/**
 * A table with text or missing values: each missing number (NaN in x) becomes its column's mean over the train
 * split (the value a model fills in for a missing cell later, so training and prediction agree), in every split.
 */
function loadedColumns(columns: DataColumns, splits: readonly DataSplit[], featureSize: number): LoadedColumns {
  if (!columns.table) return columns;
  const [train] = splits as [DataSplit];
  let f = 0;
  const raw = columns.table.map((c): RawColumn => {
    if (c.kind === 'category') {
      f += c.values.length;
      return c;
    }
    let sum = 0;
    let n = 0;
    for (let i = 0; i < train.count; i++) {
      const v = train.x[i * featureSize + f] as number;
      if (Number.isNaN(v)) continue;
      sum += v;
      n++;
    }
    const fill = Math.fround(n > 0 ? sum / n : 0);
    for (const split of new Set(splits)) for (let i = 0; i < split.count; i++) if (Number.isNaN(split.x[i * featureSize + f])) split.x[i * featureSize + f] = fill;
    f++;
    return { name: c.name, kind: 'number', fill };
  });
  return { ...columns, raw };
}
