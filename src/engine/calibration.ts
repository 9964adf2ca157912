import { dataError } from './errors.js';
import { predict } from './eval.js';
import type { DenseSpec } from './layers/dense.js';
import type { Network } from './network.js';
import type { Tensor } from './tensor.js';

/**
 * Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", 2017): one scalar T per model,
 * fitted on held-out data by minimizing the log-loss of softmax(logits / T) (against labels smoothed by Laplace's
 * rule, so that data the model gets entirely right does not make it infinitely sure). It never changes a
 * prediction (the argmax is the same for every T > 0), only how confident the probabilities are.
 *
 * Why the search needs it: ensemble selection and the ensemble-aware fitness compare models by validation
 * log-loss. Without calibration that comparison mostly measures confidence: a model trained with label smoothing
 * is more accurate yet under-confident, so its log-loss looks worse than a less accurate, sharper model's, and the
 * ensemble is built from the worse models. Calibrated, log-loss ranks what a model knows.
 *
 * The fitted T is folded into the model's output layer (a linear Dense that emits logits: kernel and bias divided
 * by T), so the saved model, its stored predictions, grafts, `loom predict` and every export agree without a new
 * layer or field.
 */

/** T is searched in [1/MAX_INVERSE, 1/MIN_INVERSE]: from 50× sharper to 50× softer. */
const MIN_INVERSE = 0.02;
const MAX_INVERSE = 50;

/**
 * The label smoothing of the fit: Laplace's rule of succession, one pseudo-observation per class spread evenly,
 * i.e. targets (1 − ε)·onehot + ε/c with ε = c / (n + c). Without it a validation set that the model gets entirely
 * right has no finite optimum (every sharpening lowers its log-loss), the fit runs to the 50× limit, and the first
 * wrong test row costs tens of nats; with it a model never claims more than (n + 1) / (n + c) on what n rows
 * showed. On hundreds of rows ε is under 2 % and moves T little. Half a pseudo-observation per class
 * (Krichevsky–Trofimov) gave lower test log-loss on the search bench's development seeds but a worse chosen
 * ensemble where validation is small (cars, 5-fold: evolution's 81.53 → 80.68 %), so Laplace's stays.
 */
export const laplaceSmoothing = (rows: number, classes: number): number => classes / (rows + classes);

/** Mean cross-entropy of softmax(β·logits) against targets smoothed by ε, and its derivative in β (convex in β). */
function lossAndSlope(logits: Float32Array, labels: Int32Array, c: number, beta: number, smoothing: number): { loss: number; slope: number } {
  const n = labels.length;
  let loss = 0;
  let slope = 0;
  for (let r = 0; r < n; r++) {
    const o = r * c;
    let max = -Infinity;
    for (let j = 0; j < c; j++) max = Math.max(max, logits[o + j] as number);
    let total = 0;
    let weighted = 0;
    let sum = 0;
    for (let j = 0; j < c; j++) {
      const z = (logits[o + j] as number) - max;
      const e = Math.exp(beta * z);
      total += e;
      weighted += e * z;
      sum += z;
    }
    // The target-weighted logit: (1 − ε)·z_y + ε·mean(z).
    const target = (1 - smoothing) * ((logits[o + (labels[r] as number)] as number) - max) + (smoothing * sum) / c;
    loss += Math.log(total) - beta * target;
    // d/dβ [log Σ exp(βz) − β·target] = E_softmax(βz)[z] − target
    slope += weighted / total - target;
  }
  return { loss: loss / n, slope: slope / n };
}

/**
 * The temperature T minimizing the mean cross-entropy of softmax(logits / T) over rows of `c` logits against the
 * labels smoothed by Laplace's rule (`laplaceSmoothing`): bisection on the sign of the (monotone) derivative in
 * β = 1/T. Returns 1 when there are no rows.
 */
export function fitTemperature(logits: Float32Array, labels: Int32Array, c: number): number {
  const n = labels.length;
  if (logits.length !== n * c) throw dataError(`fitTemperature: ${logits.length} logits for ${n} rows × ${c} classes`);
  labels.forEach((y, r) => {
    if (!(y >= 0 && y < c)) throw dataError(`fitTemperature: label ${y} of row ${r} is not a class in [0, ${c})`);
  });
  if (n === 0) return 1;
  const smoothing = laplaceSmoothing(n, c);
  let lo = Math.log(MIN_INVERSE);
  let hi = Math.log(MAX_INVERSE);
  // Bisection in log β: the derivative's sign does not change along the way (convexity), and 60 halvings of a
  // range of about 8 are far below float32 precision.
  if (lossAndSlope(logits, labels, c, Math.exp(lo), smoothing).slope >= 0) return 1 / Math.exp(lo);
  if (lossAndSlope(logits, labels, c, Math.exp(hi), smoothing).slope <= 0) return 1 / Math.exp(hi);
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (lossAndSlope(logits, labels, c, Math.exp(mid), smoothing).slope < 0) lo = mid;
    else hi = mid;
  }
  return 1 / Math.exp((lo + hi) / 2);
}

/**
 * The mean log-loss of softmax(logits / T) (for reports and tests); with `smoothing` ε, the cross-entropy against
 * the smoothed targets, which is what `fitTemperature` minimizes when ε = laplaceSmoothing(rows, c).
 */
export function temperatureLogLoss(logits: Float32Array, labels: Int32Array, c: number, temperature: number, smoothing = 0): number {
  return lossAndSlope(logits, labels, c, 1 / temperature, smoothing).loss;
}

/** The network's logit layer: its last enabled layer when that is a linear Dense (what the search builds), else null. */
function logitLayerIndex(network: Network): number | null {
  for (let i = network.layers.length - 1; i >= 0; i--) {
    if (network.isDisabled(i)) continue;
    const spec = (network.layers[i] as Network['layers'][number]).spec;
    if (spec.type !== 'dense') return null;
    return ((spec as DenseSpec).activation ?? 'linear') === 'linear' ? i : null;
  }
  return null;
}

export interface Calibration {
  /** The fitted temperature (1 when the network cannot be calibrated). */
  readonly temperature: number;
  /** False when the network does not end in a linear Dense emitting logits, and was left as it was. */
  readonly applied: boolean;
}

/**
 * Fits the network's temperature on (x, labels) — held-out data, never the training split — and folds it into the
 * output layer. A network that does not end in a linear Dense (for example one ending in a softmax layer) is left
 * unchanged.
 */
export function calibrateTemperature(network: Network, x: Tensor, labels: Int32Array): Calibration {
  const index = logitLayerIndex(network);
  const c = network.outputShape.reduce((a, b) => a * b, 1);
  if (index === null || network.outputShape.length !== 1 || labels.length !== x.shape[0]) return { temperature: 1, applied: false };
  const logits = predict(network, x).data;
  const temperature = fitTemperature(logits, labels, c);
  scaleLogitLayer(network, index, 1 / temperature);
  return { temperature, applied: true };
}

/**
 * The outputs `calibrateTemperature` would make the network give, without changing the network: its logits on
 * held-out data divided by the temperature fitted to them. For a network that goes on training (a paused one) whose
 * predictions are compared with calibrated ones. Outputs of a network without a logit layer come back unchanged.
 */
export function calibratedOutputs(network: Network, logits: Tensor, labels: Int32Array): { readonly output: Tensor; readonly calibration: Calibration } {
  const c = network.outputShape.reduce((a, b) => a * b, 1);
  if (logitLayerIndex(network) === null || network.outputShape.length !== 1 || labels.length !== logits.shape[0]) return { output: logits, calibration: { temperature: 1, applied: false } };
  const temperature = fitTemperature(logits.data, labels, c);
  return { output: { ...logits, data: logits.data.map((v) => v / temperature) }, calibration: { temperature, applied: true } };
}

/**
 * Undoes `calibrateTemperature`: multiplies the folded temperature back into the output layer, so the network is
 * again the one training produced. What training goes on from (weight inheritance) must be that network: the
 * calibrated one has its logits rescaled by a factor the optimizer never saw. Returns false (and changes nothing)
 * for a network without a logit layer.
 */
export function uncalibrate(network: Network, temperature: number): boolean {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw dataError(`uncalibrate: temperature must be a positive number, got ${temperature}`);
  const index = logitLayerIndex(network);
  if (index === null) return false;
  scaleLogitLayer(network, index, temperature);
  return true;
}

function scaleLogitLayer(network: Network, index: number, factor: number): void {
  for (const p of (network.layers[index] as Network['layers'][number]).params()) {
    for (let i = 0; i < p.value.length; i++) p.value[i] = (p.value[i] as number) * factor;
  }
}
