import type { Param } from '../../src/engine/layers/types.js';

/**
 * A deliberately independent training kit for layer tests: softmax cross-entropy and Adam written out by hand,
 * so a test that a layer learns does not depend on the engine's own losses, optimizers or training loop.
 */

/** Mean softmax cross-entropy over the batch; writes dL/dlogits into `grad`. */
export function softmaxCrossEntropy(logits: Float32Array, labels: Int32Array, grad: Float32Array, classes: number): number {
  const batch = labels.length;
  let loss = 0;
  for (let b = 0; b < batch; b++) {
    const row = b * classes;
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, logits[row + k]!);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(logits[row + k]! - max);
    for (let k = 0; k < classes; k++) {
      const p = Math.exp(logits[row + k]! - max) / sum;
      grad[row + k] = (p - (k === labels[b] ? 1 : 0)) / batch;
      if (k === labels[b]) loss -= Math.log(p);
    }
  }
  return loss / batch;
}

/** Plain Adam over every param, reading and zeroing the accumulated grads. */
export function adam(params: Param[], lr: number): () => void {
  const m = params.map((p) => new Float32Array(p.value.length));
  const v = params.map((p) => new Float32Array(p.value.length));
  let step = 0;
  return () => {
    step++;
    const c1 = 1 - 0.9 ** step;
    const c2 = 1 - 0.999 ** step;
    params.forEach((p, j) => {
      const mj = m[j]!;
      const vj = v[j]!;
      for (let i = 0; i < p.value.length; i++) {
        const g = p.grad[i]!;
        mj[i] = 0.9 * mj[i]! + 0.1 * g;
        vj[i] = 0.999 * vj[i]! + 0.001 * g * g;
        p.value[i] -= (lr * (mj[i]! / c1)) / (Math.sqrt(vj[i]! / c2) + 1e-8);
      }
      p.grad.fill(0);
    });
  };
}
