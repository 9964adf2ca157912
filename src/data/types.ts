import type { RawColumn } from '../engine/preprocess.js';
import type { FoldIndices } from './kfold.js';

/**
 * The shapes shared by the data loaders: what a loader reads (RawData, before any split) and what
 * `loadDataset` hands to training (LoadedDataset, split and normalized). The engine's own `Dataset` is just
 * tensors ({x, y}); `splitTensors` turns one split of a LoadedDataset into that.
 */

/** Everything a loader reads, in its canonical sample order (the order the checksum is taken in). */
export interface RawData {
  /** Human name, e.g. 'mnist', 'iris', the CSV file name, 'synthetic:blobs'. */
  readonly name: string;
  /** Row-major features: count × prod(inputShape). */
  readonly x: Float32Array;
  /** Class index per sample, in [0, classNames.length). */
  readonly y: Int32Array;
  readonly count: number;
  /** Per-sample shape: [28, 28] for mnist (each image row is a token), [nFeatures] for tables. */
  readonly inputShape: readonly number[];
  readonly classNames: readonly string[];
  /** How features are normalized: 'zscore' is fitted on the train split only; 'none' keeps values as read. */
  readonly normalize: 'zscore' | 'none';
  /** Tables: the feature columns' names (in x's order) and the label column, kept so a model can read raw rows. */
  readonly columns?: DataColumns;
}

/** A table's column names: features in the order of x, and the label column with its position among all columns. */
export interface DataColumns {
  readonly features: readonly string[];
  readonly label: { readonly name: string; readonly index: number };
  /**
   * Tables with text or missing values: what each raw feature column (file order, label left out) holds; x then
   * holds their encoding (one-hot categories, NaN for a missing number until loadDataset fills it).
   */
  readonly table?: readonly TableColumn[];
}

/** A raw table column as read: numbers, or the categories (distinct values) of a text column. */
export type TableColumn = { readonly name: string; readonly kind: 'number' } | { readonly name: string; readonly kind: 'category'; readonly values: readonly string[] };

/** A loaded table's columns: as read, plus how a model turns raw rows into inputs (missing numbers' fills fitted on train). */
export interface LoadedColumns extends DataColumns {
  readonly raw?: readonly RawColumn[];
}

/** One split of a data set: `count` samples, features row-major. */
export interface DataSplit {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly count: number;
}

/**
 * How raw features were turned into model inputs, so an exported model can apply the same transform:
 * - none: x' = x (mnist: the package already stores pixel/255, so values are in [0, 1]);
 * - zscore: x'[f] = (x[f] - mean[f]) / std[f], mean and std fitted on the train split only (with k-fold: on
 *   every non-test row, the rows the fold models share)
 *   (a constant feature gets std 1).
 */
export type Normalization =
  | { readonly kind: 'none' }
  | { readonly kind: 'zscore'; readonly mean: readonly number[]; readonly std: readonly number[] };

/** Train / validation / test fractions: each in (0, 1), summing to 1. */
export type SplitFractions = readonly [train: number, val: number, test: number];

/**
 * How a data set is split: with the reference, enough for any process (a worker elsewhere) to rebuild the
 * identical train/val/test split. Config files (`data`), jobs (`DataRef`) and loaded data sets use these names.
 */
export interface SplitSpec {
  /** Seed of the stratified split. */
  readonly splitSeed: number;
  /** Train / val / test fractions (default 0.7 / 0.15 / 0.15). */
  readonly fractions?: SplitFractions;
  /** At most this many samples, drawn per class in proportion (for quick runs). */
  readonly limit?: number;
  /**
   * k-fold cross-validation (small data, see kfold.ts): the non-test rows are both train and val, cut into
   * `kfold` stratified folds; a job trains one network per fold and is scored on its out-of-fold predictions.
   */
  readonly kfold?: number;
}

export interface LoadedDataset {
  /** The reference it was loaded from: 'mnist', 'iris', 'csv:PATH', 'synthetic:NAME'. */
  readonly ref: string;
  readonly name: string;
  /** sha256 (hex) of the raw features + labels + class names before splitting, in canonical order. */
  readonly checksum: string;
  readonly inputShape: readonly number[];
  /** prod(inputShape): numbers per sample in x. */
  readonly featureSize: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly train: DataSplit;
  readonly val: DataSplit;
  readonly test: DataSplit;
  readonly normalization: Normalization;
  /** Provenance of the split, so a worker elsewhere can rebuild it. */
  readonly splitSeed: number;
  readonly fractions: SplitFractions;
  readonly limit?: number;
  /**
   * With k-fold (SplitSpec.kfold): `train` and `val` are the same rows (every non-test row, in the raw data's
   * order) and `folds` index into them; each sample's validation prediction is made by the fold model that did
   * not train on it. Absent: an ordinary train/val/test split.
   */
  readonly kfold?: number;
  readonly folds?: readonly FoldIndices[];
  /** Tables: the raw column names (see RawData.columns) and, for text or missing values, their encoding. */
  readonly columns?: LoadedColumns;
}
