import { configError, dataError } from '../errors.js';
import { softmaxCrossEntropy, type ClassTargets, type Loss, type Targets } from './losses.js';

/**
 * Label-smoothed softmax cross-entropy from logits (Szegedy et al. 2016): the target of a row is
 * q = (1 − ε)·onehot(label) + ε/K over its K classes, the loss −Σ_j q_j log softmax(x)_j averaged over rows and
 * the gradient the exact (softmax − q)/rows. ε = 0 is `softmax_cross_entropy`. Accuracy counts argmax matches as
 * the plain loss does.
 */
export function labelSmoothingCrossEntropy(epsilon: number): Loss {
  if (!(typeof epsilon === 'number' && Number.isFinite(epsilon) && epsilon >= 0 && epsilon < 1)) {
    throw configError('labelSmoothing', `must be a number in [0, 1), got ${JSON.stringify(epsilon)}`);
  }
  if (epsilon === 0) return softmaxCrossEntropy;
  const name = 'label_smoothing_cross_entropy';
  const labelsOf = (target: Targets): ClassTargets => {
    if (!(target instanceof Int32Array) && !Array.isArray(target)) throw dataError(`${name} needs class indices, got a tensor`);
    return target as ClassTargets;
  };
  return {
    name,
    targets: 'classes',
    compute(output, target) {
      const labels = labelsOf(target);
      const rows = labels.length;
      const x = output.data;
      if (rows === 0 || x.length % rows !== 0) throw dataError(`${name}: ${rows} labels do not divide an output of ${x.length} values`);
      const classes = x.length / rows;
      const off = epsilon / classes;
      const grad = new Float32Array(x.length);
      let total = 0;
      for (let r = 0; r < rows; r++) {
        const o = r * classes;
        const label = labels[r] as number;
        if (!Number.isInteger(label) || label < 0 || label >= classes) throw dataError(`${name}: label ${label} outside 0..${classes - 1}`);
        let max = -Infinity;
        for (let j = 0; j < classes; j++) max = Math.max(max, x[o + j] as number);
        let sum = 0;
        for (let j = 0; j < classes; j++) sum += Math.exp((x[o + j] as number) - max);
        const logSum = Math.log(sum) + max;
        for (let j = 0; j < classes; j++) {
          const q = off + (j === label ? 1 - epsilon : 0);
          const logP = (x[o + j] as number) - logSum;
          total -= q * logP;
          grad[o + j] = (Math.exp(logP) - q) / rows;
        }
      }
      return { loss: total / rows, grad: { data: grad, shape: output.shape } };
    },
    correct(output, target) {
      return softmaxCrossEntropy.correct(output, labelsOf(target));
    },
  };
}
