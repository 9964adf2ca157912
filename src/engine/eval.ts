import type { Backend } from './backend/types.js';
import { dataError } from './errors.js';
import type { Network } from './network.js';
import { Rng } from './rng.js';
import { sampleSize, type Tensor } from './tensor.js';
import { argmax, sigmoid, softmaxInto } from './math.js';
import { binaryCrossEntropy, checkTargets, endsInSoftmax, isTensorTarget, resolveLoss, type Loss, type LossName, type Targets } from './train/losses.js';

/**
 * Evaluation: batched inference, accuracy, per-sample class probabilities, correctness masks (what ensemble
 * analysis clusters on), the confusion matrix, and LOOM's deviation metrics done right.
 *
 * Probabilities: a network that ends in a softmax layer already outputs probabilities and they are taken as they
 * are; otherwise outputs are logits and are softmaxed per row (sigmoid for binary cross-entropy). Targets with one
 * value per sample (regression or a binary 0/1 target) are read as two classes split at 0.5.
 * Accuracies are fractions in [0, 1].
 */
export interface Dataset {
  /** Batch-first inputs. */
  readonly x: Tensor;
  /** Class indices (one or more per sample) or a target tensor shaped like the outputs. */
  readonly y: Targets;
}

export interface EvalOptions {
  readonly batchSize?: number;
  readonly loss?: LossName | Loss;
  readonly backend?: Backend;
}

/** Runs the network in inference mode over `x` in batches of `batchSize` and returns all outputs. */
export function predict(network: Network, x: Tensor, batchSize = 256, backend?: Backend): Tensor {
  const n = x.shape[0] as number;
  const inWidth = sampleSize(x);
  const outWidth = network.outputShape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * outWidth);
  const ctx = { training: false, rng: new Rng(0), ...(backend ? { backend } : {}) };
  const step = Math.max(1, Math.floor(batchSize));
  for (let start = 0; start < n; start += step) {
    const end = Math.min(n, start + step);
    const batch = { data: x.data.subarray(start * inWidth, end * inWidth), shape: [end - start, ...x.shape.slice(1)] };
    out.set(network.forward(batch, ctx).data, start * outWidth);
  }
  return { data: out, shape: [n, ...network.outputShape] };
}

/** Mean loss and accuracy of outputs already computed (what training's validation needs, and no more). */
export function scoreOutputs(output: Tensor, y: Targets, loss: Loss): { loss: number; accuracy: number } {
  const { correct, total } = loss.correct(output, y);
  return { loss: loss.compute(output, y).loss, accuracy: total ? correct / total : 0 };
}

export interface Evaluation {
  /** Rows scored: samples, or samples × positions when there are several labels per sample. */
  readonly rows: number;
  readonly classes: number;
  readonly loss: number;
  readonly lossName: string;
  readonly accuracy: number;
  /** rows × classes, each row summing to 1. */
  readonly probabilities: Float32Array;
  readonly predictions: Int32Array;
  readonly labels: Int32Array;
  /** 1 where the prediction is right. */
  readonly correctnessMask: Uint8Array;
  /** confusion[label][prediction] = count. */
  readonly confusion: number[][];
  readonly deviation: DeviationMetrics;
}

/** Evaluates a network on a data set: see the module comment for how probabilities and labels are read. */
export function evaluate(network: Network, data: Dataset, opts: EvalOptions = {}): Evaluation {
  return evaluateOutput(network, predict(network, data.x, opts.batchSize ?? 256, opts.backend), data, opts);
}

/** `evaluate` from the network's outputs on `data`, already predicted (the training loop's validation at a pause). */
export function evaluateOutput(network: Network, output: Tensor, data: Dataset, opts: Pick<EvalOptions, 'loss'> = {}): Evaluation {
  const samples = data.x.shape[0] as number;
  checkTargets(data.y, samples, 'evaluate');
  if (output.shape[0] !== samples) throw dataError(`evaluate: ${output.shape[0]} output rows for ${samples} samples`);
  const loss = resolveLoss(network, data.y, opts.loss);
  const lossValue = loss.compute(output, data.y).loss;

  const tensorTarget = isTensorTarget(data.y);
  const rows = tensorTarget ? samples : data.y.length;
  const width = output.data.length / rows;
  if (!Number.isInteger(width)) throw dataError(`evaluate: ${rows} target rows for ${output.data.length} outputs`);
  const binary = width === 1;
  const classes = binary ? 2 : width;

  const probabilities = new Float32Array(rows * classes);
  const predictions = new Int32Array(rows);
  const labels = new Int32Array(rows);
  const alreadyProbabilities = endsInSoftmax(network);
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    const p = probabilities.subarray(r * classes, (r + 1) * classes);
    if (binary) {
      const v = output.data[o] as number;
      const p1 = loss === binaryCrossEntropy ? sigmoid(v) : Math.min(1, Math.max(0, v));
      p[0] = 1 - p1;
      p[1] = p1;
    } else if (alreadyProbabilities) p.set(output.data.subarray(o, o + width));
    else softmaxInto(output.data, o, width, p);
    predictions[r] = binary ? Number((p[1] as number) > 0.5) : argmax(output.data, o, width);
    labels[r] = labelOf(data.y, r, width);
  }

  const correctnessMask = new Uint8Array(rows);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const label = labels[r] as number;
    const pred = predictions[r] as number;
    if (label < 0 || label >= classes) throw dataError(`evaluate: label ${label} outside 0..${classes - 1}`);
    if (label === pred) {
      correctnessMask[r] = 1;
      correct++;
    }
    if (pred >= 0) (confusion[label] as number[])[pred]++; // an all-NaN output row predicts no class
  }

  // Deviation: for a regression target the value itself; for classes the probability given to the true class
  // against 1 (LOOM compared argmax indices as numbers, which made class 1 for class 2 a "50% deviation").
  const deviation =
    tensorTarget && binary && loss !== binaryCrossEntropy
      ? deviationMetrics(data.y.data, output.data)
      : deviationMetrics(new Float32Array(rows).fill(1), Float32Array.from(labels, (label, r) => probabilities[r * classes + label] as number));

  return {
    rows,
    classes,
    loss: lossValue,
    lossName: loss.name,
    accuracy: rows ? correct / rows : 0,
    probabilities,
    predictions,
    labels,
    correctnessMask,
    confusion,
    deviation,
  };
}

/** The class of target row r: the index itself, the argmax of a one-hot row, or a single value split at 0.5. */
function labelOf(y: Targets, r: number, width: number): number {
  if (!isTensorTarget(y)) return y[r] as number;
  if (width === 1) return Number((y.data[r] as number) > 0.5);
  return argmax(y.data, r * width, width);
}

// ── Deviation metrics (LOOM §6.7) ────────────────────────────────────────────────────────────────────────────

export const DEVIATION_BUCKETS = ['0-10%', '10-20%', '20-30%', '30-40%', '40-50%', '50-100%', '100%+'] as const;
export type DeviationBucket = (typeof DEVIATION_BUCKETS)[number];
const BUCKET_UPPER = [10, 20, 30, 40, 50, 100];

export interface SampleDeviation {
  readonly index: number;
  readonly expected: number;
  readonly actual: number;
  /** Percent; Infinity when the prediction (or the target) is not finite. */
  readonly deviation: number;
  readonly bucket: DeviationBucket;
}

export interface DeviationMetrics {
  readonly buckets: Record<DeviationBucket, { count: number; samples: number[] }>;
  readonly totalSamples: number;
  /** Samples in the 100%+ bucket, non-finite predictions included. */
  readonly failures: number;
  /** Samples whose prediction or target was NaN or ±Infinity. */
  readonly nonFinite: number;
  /** Mean quality max(0, 100 − deviation), 0–100. */
  readonly score: number;
  /** Mean deviation over the finite samples (percent). */
  readonly averageDeviation: number;
  readonly samples: readonly SampleDeviation[];
}

/**
 * Percent deviation of a prediction: |a − e|/|e|·100, or |a − e|·100 when |e| < 1e-10.
 * A non-finite value is Infinity: a failure (LOOM scored NaN as 100%, i.e. "50-100%" and not a failure).
 */
export function deviationOf(expected: number, actual: number): number {
  if (!Number.isFinite(expected) || !Number.isFinite(actual)) return Infinity;
  const diff = Math.abs(actual - expected);
  return Math.abs(expected) < 1e-10 ? diff * 100 : (diff / Math.abs(expected)) * 100;
}

/** Bucket of a deviation; upper bounds are inclusive (10 is in 0-10%). */
export function deviationBucket(deviation: number): DeviationBucket {
  const i = BUCKET_UPPER.findIndex((upper) => deviation <= upper);
  return DEVIATION_BUCKETS[i < 0 ? 6 : i] as DeviationBucket;
}

export function deviationMetrics(expected: ArrayLike<number>, actual: ArrayLike<number>): DeviationMetrics {
  if (expected.length !== actual.length) throw dataError(`deviation metrics: ${expected.length} expected values, ${actual.length} predictions`);
  const buckets = Object.fromEntries(DEVIATION_BUCKETS.map((b) => [b, { count: 0, samples: [] as number[] }])) as DeviationMetrics['buckets'];
  const samples: SampleDeviation[] = [];
  let failures = 0;
  let nonFinite = 0;
  let quality = 0;
  let finiteSum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    const a = actual[i] as number;
    const deviation = deviationOf(e, a);
    const bucket = deviationBucket(deviation);
    buckets[bucket].count++;
    buckets[bucket].samples.push(i);
    if (bucket === '100%+') failures++;
    if (deviation === Infinity) nonFinite++;
    else finiteSum += deviation;
    quality += Math.max(0, 100 - deviation);
    samples.push({ index: i, expected: e, actual: a, deviation, bucket });
  }
  const n = expected.length;
  const finite = n - nonFinite;
  return {
    buckets,
    totalSamples: n,
    failures,
    nonFinite,
    score: n ? quality / n : 0,
    averageDeviation: finite ? finiteSum / finite : 0,
    samples,
  };
}

/** The `n` samples with the largest deviation, worst first (ties: lower index first). */
export function worstSamples(metrics: DeviationMetrics, n: number): SampleDeviation[] {
  return [...metrics.samples].sort((a, b) => b.deviation - a.deviation || a.index - b.index).slice(0, Math.max(0, n));
}
