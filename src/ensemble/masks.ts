import { LoomError } from '../engine/errors.js';
import { argmax } from '../engine/math.js';

/**
 * Correctness masks (one byte per sample, 1 = the model's argmax is the true class) and the helpers every
 * analysis shares: input checks that fail with a clear LOOM_ERR_ANALYSIS, bit packing for fast pair counts, and
 * argmax/accuracy on probability rows.
 */

export const analysisError = (message: string): LoomError => new LoomError('LOOM_ERR_ANALYSIS', message);

/** Checks that there is at least one mask, that all have the same non-zero length; returns that length. */
export function checkMasks(masks: readonly ArrayLike<number>[], ids?: readonly string[], what = 'masks'): number {
  if (masks.length === 0) throw analysisError(`no ${what} to analyse: the run has no finished models`);
  const name = (i: number): string => (ids?.[i] !== undefined ? `model ${ids[i]}` : `model #${i}`);
  const n = (masks[0] as ArrayLike<number>).length;
  masks.forEach((m, i) => {
    if (m.length !== n) throw analysisError(`${what} have different lengths: ${name(0)} has ${n} samples, ${name(i)} has ${m.length}`);
  });
  if (n === 0) throw analysisError(`${what} are empty: there are no samples to analyse`);
  return n;
}

/** Masks as bitsets (32 samples per word, in Int32Array so bit operations stay on small integers) plus each model's number of correct samples. */
export interface PackedMasks {
  readonly samples: number;
  readonly words: number;
  readonly bits: readonly Int32Array[];
  readonly correct: Int32Array;
}

export function packMasks(masks: readonly ArrayLike<number>[]): PackedMasks {
  const samples = masks.length > 0 ? (masks[0] as ArrayLike<number>).length : 0;
  const words = Math.ceil(samples / 32);
  const correct = new Int32Array(masks.length);
  const bits = masks.map((m, k) => {
    const out = new Int32Array(words);
    let count = 0;
    for (let i = 0; i < samples; i++) {
      if (m[i]) {
        out[i >>> 5] = (out[i >>> 5] as number) | (1 << (i & 31));
        count++;
      }
    }
    correct[k] = count;
    return out;
  });
  return { samples, words, bits, correct };
}

/** Number of set bits of a 32-bit word. */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** |A ∧ B| of two packed masks. */
export function countBoth(a: Int32Array, b: Int32Array): number {
  let n = 0;
  for (let w = 0; w < a.length; w++) n += popcount32((a[w] as number) & (b[w] as number));
  return n;
}

/** Index of the largest value of row r: the engine's argmax (first on ties, NaN never wins, all-NaN gives -1). */
export const argmaxRow = (values: ArrayLike<number>, r: number, width: number): number => argmax(values, r * width, width);

/** The correctness mask of probability rows [labels.length, width]: 1 where a row's argmax is its label. */
export const correctnessMask = (probs: ArrayLike<number>, labels: Int32Array, width: number): Uint8Array =>
  Uint8Array.from(labels, (label, r) => Number(argmaxRow(probs, r, width) === label));

/** Fraction of samples set in a mask. */
export function maskAccuracy(mask: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  return mask.length ? n / mask.length : 0;
}

/** Oracle accuracy of a set of models: the fraction of samples at least one of them gets right (an upper bound). */
export function oracleAccuracy(masks: readonly ArrayLike<number>[]): number {
  if (masks.length === 0) return 0;
  const n = (masks[0] as ArrayLike<number>).length;
  let covered = 0;
  for (let i = 0; i < n; i++) {
    for (const m of masks) {
      if (m[i]) {
        covered++;
        break;
      }
    }
  }
  return n ? covered / n : 0;
}
