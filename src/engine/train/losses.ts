import { configError, dataError } from '../errors.js';
import { argmax, sigmoid } from '../math.js';
import type { Layer } from '../layers/types.js';
import { sizeOf, type Tensor } from '../tensor.js';

/**
 * Losses. Each takes a batch of network outputs and its targets and returns the mean loss and dL/d(output)
 * (the gradient of that mean, so a batch of any size gives gradients on the same scale).
 *
 * Targets are either class indices (one label per row: Int32Array or number[]) or a float tensor shaped like the
 * output. For class indices the output is read as `rows` rows of `classes` values, rows = number of labels; the
 * usual case is one label per sample ([batch, classes]), and a sequence model may give one per position.
 *
 * Cross-entropy comes in two numerically different forms, and `cross_entropy` picks the right one:
 * - `softmax_cross_entropy`: the outputs are logits; log-softmax is computed with the max subtracted, and the
 *   gradient is the exact (softmax − onehot)/rows.
 * - `probability_cross_entropy`: the network already ends in a softmax layer, so its outputs are probabilities;
 *   the loss is −ln p[label] (p floored at 1e-12) and the gradient −1/p at the label, which the softmax layer's
 *   backward turns into softmax − onehot again.
 * - `cross_entropy` (what configs normally say) resolves to the probability form when the network ends in a
 *   softmax layer and to the logits form otherwise, so a softmax is never applied twice.
 */
export type ClassTargets = Int32Array | readonly number[];
export type Targets = ClassTargets | Tensor;

export interface LossResult {
  /** Mean loss over the batch. */
  readonly loss: number;
  /** dL/d(output), shaped like the output. */
  readonly grad: Tensor;
}

export interface Loss {
  readonly name: string;
  readonly targets: 'classes' | 'tensor';
  compute(output: Tensor, target: Targets): LossResult;
  /** How many rows of this batch are right (argmax for classes, threshold or nearest for tensors) and out of how many. */
  correct(output: Tensor, target: Targets): { readonly correct: number; readonly total: number };
}

export const isTensorTarget = (t: Targets): t is Tensor =>
  typeof t === 'object' && t !== null && 'data' in t && 'shape' in t && !(t instanceof Int32Array);

function classRows(output: Tensor, labels: ClassTargets, where: string): { rows: number; classes: number } {
  const rows = labels.length;
  const total = output.data.length;
  if (rows === 0 || total % rows !== 0) throw dataError(`${where}: ${rows} labels do not divide an output of ${total} values`);
  const classes = total / rows;
  const last = output.shape[output.shape.length - 1] as number;
  if (classes !== last && classes !== sizeOf(output.shape.slice(1))) {
    throw dataError(`${where}: ${rows} labels for output shape [${output.shape.join(', ')}]`);
  }
  return { rows, classes };
}

function checkLabel(label: number, classes: number, where: string): number {
  if (!Number.isInteger(label) || label < 0 || label >= classes) throw dataError(`${where}: label ${label} outside 0..${classes - 1}`);
  return label;
}

function expectTensorTarget(output: Tensor, target: Targets, where: string): Tensor {
  if (!isTensorTarget(target)) throw dataError(`${where} needs a target tensor, got class indices`);
  if (target.data.length !== output.data.length) {
    throw dataError(`${where}: target shape [${target.shape.join(', ')}] does not match output shape [${output.shape.join(', ')}]`);
  }
  return target;
}

function expectClassTarget(target: Targets, where: string): ClassTargets {
  if (isTensorTarget(target)) throw dataError(`${where} needs class indices, got a tensor`);
  return target;
}

function countArgmaxMatches(output: Tensor, labels: ClassTargets, where: string): { correct: number; total: number } {
  const { rows, classes } = classRows(output, labels, where);
  let correct = 0;
  for (let r = 0; r < rows; r++) if (argmax(output.data, r * classes, classes) === labels[r]) correct++;
  return { correct, total: rows };
}

export const softmaxCrossEntropy: Loss = {
  name: 'softmax_cross_entropy',
  targets: 'classes',
  compute(output, target) {
    const labels = expectClassTarget(target, this.name);
    const { rows, classes } = classRows(output, labels, this.name);
    const x = output.data;
    const grad = new Float32Array(x.length);
    let total = 0;
    for (let r = 0; r < rows; r++) {
      const o = r * classes;
      const label = checkLabel(labels[r] as number, classes, this.name);
      let max = -Infinity;
      for (let j = 0; j < classes; j++) if ((x[o + j] as number) > max) max = x[o + j] as number;
      let sum = 0;
      for (let j = 0; j < classes; j++) {
        const e = Math.exp((x[o + j] as number) - max);
        grad[o + j] = e;
        sum += e;
      }
      // −log softmax[label] = log Σ exp(x − max) − (x[label] − max)
      total += Math.log(sum) - ((x[o + label] as number) - max);
      for (let j = 0; j < classes; j++) grad[o + j] = (grad[o + j] as number) / sum / rows;
      grad[o + label] = (grad[o + label] as number) - 1 / rows;
    }
    return { loss: total / rows, grad: { data: grad, shape: output.shape } };
  },
  correct(output, target) {
    return countArgmaxMatches(output, expectClassTarget(target, this.name), this.name);
  },
};

const PROBABILITY_FLOOR = 1e-12;

export const probabilityCrossEntropy: Loss = {
  name: 'probability_cross_entropy',
  targets: 'classes',
  compute(output, target) {
    const labels = expectClassTarget(target, this.name);
    const { rows, classes } = classRows(output, labels, this.name);
    const grad = new Float32Array(output.data.length);
    let total = 0;
    for (let r = 0; r < rows; r++) {
      const i = r * classes + checkLabel(labels[r] as number, classes, this.name);
      const p = Math.max(output.data[i] as number, PROBABILITY_FLOOR);
      total -= Math.log(p);
      grad[i] = -1 / (p * rows);
    }
    return { loss: total / rows, grad: { data: grad, shape: output.shape } };
  },
  correct(output, target) {
    return countArgmaxMatches(output, expectClassTarget(target, this.name), this.name);
  },
};

/** Per-row nearest match for tensor targets: argmax agreement for rows wider than 1, |o − t| < 0.5 for single values. */
function countTensorMatches(output: Tensor, target: Tensor, single: (o: number, t: number) => boolean): { correct: number; total: number } {
  const rows = target.shape[0] as number;
  const width = target.data.length / rows;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    if (width === 1) {
      if (single(output.data[o] as number, target.data[o] as number)) correct++;
    } else if (argmax(output.data, o, width) === argmax(target.data, o, width)) correct++;
  }
  return { correct, total: rows };
}

/** Mean squared error over every value: Σ(o − t)²/n, gradient 2(o − t)/n. */
export const mse: Loss = {
  name: 'mse',
  targets: 'tensor',
  compute(output, target) {
    const t = expectTensorTarget(output, target, this.name).data;
    const o = output.data;
    const n = o.length;
    const grad = new Float32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const d = (o[i] as number) - (t[i] as number);
      total += d * d;
      grad[i] = (2 * d) / n;
    }
    return { loss: total / n, grad: { data: grad, shape: output.shape } };
  },
  correct(output, target) {
    return countTensorMatches(output, expectTensorTarget(output, target, this.name), (o, t) => Math.abs(o - t) < 0.5);
  },
};

/**
 * Binary cross-entropy from logits z against targets t ∈ [0, 1], mean over every value.
 * Stable form: max(z, 0) − z·t + log(1 + e^−|z|); gradient (σ(z) − t)/n.
 */
export const binaryCrossEntropy: Loss = {
  name: 'binary_cross_entropy',
  targets: 'tensor',
  compute(output, target) {
    const t = expectTensorTarget(output, target, this.name).data;
    const z = output.data;
    const n = z.length;
    const grad = new Float32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const zi = z[i] as number;
      const ti = t[i] as number;
      total += Math.max(zi, 0) - zi * ti + Math.log1p(Math.exp(-Math.abs(zi)));
      const s = sigmoid(zi);
      grad[i] = (s - ti) / n;
    }
    return { loss: total / n, grad: { data: grad, shape: output.shape } };
  },
  correct(output, target) {
    return countTensorMatches(output, expectTensorTarget(output, target, this.name), (z, t) => z > 0 === t > 0.5);
  },
};

export const LOSS_NAMES = ['auto', 'cross_entropy', 'softmax_cross_entropy', 'probability_cross_entropy', 'mse', 'binary_cross_entropy'] as const;
export type LossName = (typeof LOSS_NAMES)[number];

/** Anything with an ordered list of layers and a way to tell which are disabled: a Network. */
export interface LayerStack {
  readonly layers: readonly Layer[];
  isDisabled(index: number): boolean;
}

/** True when the last enabled layer (looking inside a trailing Sequential) is a softmax: outputs are probabilities. */
export function endsInSoftmax(net: LayerStack): boolean {
  let last: Layer | undefined;
  for (let i = net.layers.length - 1; i >= 0 && !last; i--) if (!net.isDisabled(i)) last = net.layers[i];
  while (last && last.spec.type === 'sequential') {
    const kids = last.children?.() ?? [];
    last = kids[kids.length - 1];
  }
  return last?.spec.type === 'softmax';
}

/**
 * The loss to use for a network and its targets. `auto` (the default) picks cross-entropy for class indices
 * and MSE for target tensors; `cross_entropy` picks the logits or probability form as described above.
 */
export function resolveLoss(net: LayerStack, targets: Targets, choice: LossName | Loss = 'auto'): Loss {
  if (typeof choice !== 'string') return choice;
  const classes = !isTensorTarget(targets);
  switch (choice) {
    case 'auto':
      return classes ? resolveLoss(net, targets, 'cross_entropy') : mse;
    case 'cross_entropy':
      return endsInSoftmax(net) ? probabilityCrossEntropy : softmaxCrossEntropy;
    case 'softmax_cross_entropy':
      return softmaxCrossEntropy;
    case 'probability_cross_entropy':
      return probabilityCrossEntropy;
    case 'mse':
      return mse;
    case 'binary_cross_entropy':
      return binaryCrossEntropy;
    default:
      throw configError('loss', `unknown loss "${String(choice)}" (known: ${LOSS_NAMES.join(', ')})`);
  }
}

/** The targets of the given samples, in that order, written into fresh arrays. */
export function gatherTargets(t: Targets, rows: ArrayLike<number>, count: number, samples: number): Targets {
  if (isTensorTarget(t)) {
    const width = t.data.length / (t.shape[0] as number);
    const out = new Float32Array(count * width);
    for (let i = 0; i < count; i++) {
      const r = rows[i] as number;
      out.set(t.data.subarray(r * width, (r + 1) * width), i * width);
    }
    return { data: out, shape: [count, ...t.shape.slice(1)] };
  }
  const k = t.length / samples;
  const out = new Int32Array(count * k);
  for (let i = 0; i < count; i++) {
    const r = rows[i] as number;
    for (let j = 0; j < k; j++) out[i * k + j] = t[r * k + j] as number;
  }
  return out;
}

/** Throws a data error unless the targets fit `samples` samples (a whole number of labels per sample). */
export function checkTargets(t: Targets, samples: number, where: string): void {
  const n = isTensorTarget(t) ? (t.shape[0] as number) : t.length;
  const ok = isTensorTarget(t) ? n === samples : samples > 0 && n % samples === 0 && n > 0;
  if (!ok) throw dataError(`${where}: ${n} target rows for ${samples} samples`);
}
