/**
 * The ten softmax variants as row maps: each turns one row of (temperature-scaled) logits into one row of
 * probabilities and back-propagates through it. The Softmax layer applies a map to every row of its input.
 */
import {
  entmaxBackwardRow,
  entmaxRow,
  maskedSoftmaxRow,
  softmaxBackwardRow,
  softmaxRow,
  sparsemaxBackwardRow,
  sparsemaxRow,
  type ReadVec,
} from './rows.js';

/** One distribution map over a row of `inSize` logits giving `outSize` probabilities. */
export interface RowMap {
  readonly inSize: number;
  readonly outSize: number;
  /** Writes the probabilities y (outSize) for logits z (inSize). */
  forward(z: Float64Array, y: Float64Array): void;
  /** Writes dL/dz (inSize) from the forward's logits z and output y and the upstream gradient g (outSize). */
  backward(z: Float64Array, y: Float64Array, g: ReadVec, dz: Float64Array): void;
}

/** A map that keeps the row length: softmax, sparsemax, entmax, masked softmax. */
function sameSizeMap(
  size: number,
  forward: (z: Float64Array, y: Float64Array) => void,
  backward: (y: Float64Array, g: ReadVec, dz: Float64Array) => void,
): RowMap {
  return { inSize: size, outSize: size, forward, backward: (_z, y, g, dz) => backward(y, g, dz) };
}

export const softmaxMap = (size: number): RowMap => sameSizeMap(size, softmaxRow, softmaxBackwardRow);

export const sparsemaxMap = (size: number): RowMap => sameSizeMap(size, sparsemaxRow, sparsemaxBackwardRow);

export const entmaxMap = (size: number, alpha: number): RowMap =>
  sameSizeMap(
    size,
    (z, y) => entmaxRow(z, alpha, y),
    (y, g, dz) => entmaxBackwardRow(y, g, alpha, dz),
  );

/** The softmax Jacobian is already zero where y is zero, so masked positions need no special backward. */
export const maskedSoftmaxMap = (keep: readonly boolean[]): RowMap =>
  sameSizeMap(keep.length, (z, y) => maskedSoftmaxRow(z, keep, y), softmaxBackwardRow);

/**
 * A tree of conditional softmaxes. `levels` are branching factors: level l has n_l = b_1·…·b_l nodes.
 * Input layout: level 1's b_1 logits, then level 2's n_2 logits (the b_2 children of node 0 of level 1, then of
 * node 1, …), and so on; inSize = Σ_l n_l. Each group of siblings gets its own softmax, and a leaf's probability
 * is the product of the conditional probabilities along its path, so the n_L outputs sum to 1.
 */
export function hierarchicalMap(levels: readonly number[]): RowMap {
  const counts: number[] = []; // n_l
  const offsets: number[] = []; // where level l's logits start in the row
  let nodes = 1;
  let inSize = 0;
  for (const b of levels) {
    nodes *= b;
    counts.push(nodes);
    offsets.push(inSize);
    inSize += nodes;
  }
  const outSize = nodes;

  /** Conditional probabilities, laid out like the logits (each sibling group softmaxed on its own). */
  const conditionals = (z: Float64Array): Float64Array => {
    const c = new Float64Array(inSize);
    levels.forEach((b, l) => {
      for (let start = offsets[l]!; start < offsets[l]! + counts[l]!; start += b) {
        softmaxRow(z.subarray(start, start + b), c.subarray(start, start + b));
      }
    });
    return c;
  };
  /** Path probabilities of every node, laid out like the logits. */
  const paths = (c: Float64Array): Float64Array => {
    const p = new Float64Array(inSize);
    levels.forEach((b, l) => {
      for (let j = 0; j < counts[l]!; j++) {
        const parent = l === 0 ? 1 : p[offsets[l - 1]! + Math.floor(j / b)]!;
        p[offsets[l]! + j] = parent * c[offsets[l]! + j]!;
      }
    });
    return p;
  };

  return {
    inSize,
    outSize,
    forward(z, y) {
      const p = paths(conditionals(z));
      y.set(p.subarray(offsets[levels.length - 1]!));
    },
    backward(z, _y, g, dz) {
      const c = conditionals(z);
      const p = paths(c);
      const dPath = new Float64Array(inSize); // dL/d(path probability) per node
      const dCond = new Float64Array(inSize); // dL/d(conditional probability) per node
      const last = levels.length - 1;
      for (let j = 0; j < outSize; j++) dPath[offsets[last]! + j] = g[j]!;
      for (let l = last; l >= 0; l--) {
        const b = levels[l]!;
        for (let j = 0; j < counts[l]!; j++) {
          const node = offsets[l]! + j;
          const parentIndex = l === 0 ? -1 : offsets[l - 1]! + Math.floor(j / b);
          const parent = l === 0 ? 1 : p[parentIndex]!;
          dCond[node] = dPath[node]! * parent;
          if (l > 0) dPath[parentIndex] = dPath[parentIndex]! + dPath[node]! * c[node]!;
        }
        for (let start = offsets[l]!; start < offsets[l]! + counts[l]!; start += b) {
          softmaxBackwardRow(c.subarray(start, start + b), dCond.subarray(start, start + b), dz.subarray(start, start + b));
        }
      }
    },
  };
}

/**
 * Adaptive softmax (Grave et al. 2017). `clusters` = [shortlist size, tail cluster sizes…]; classes are numbered
 * shortlist first, then each tail cluster in order. Input layout: the head's logits (one per shortlist class, then
 * one per tail cluster), then each tail cluster's logits in order; inSize = classes + number of tail clusters.
 * p(c) = p_head(c) for shortlist classes and p_head(cluster k)·p_k(c) for the classes of tail cluster k.
 */
export function adaptiveMap(clusters: readonly number[]): RowMap {
  const shortlist = clusters[0]!;
  const tails = clusters.slice(1);
  const headSize = shortlist + tails.length;
  const outSize = clusters.reduce((a, b) => a + b, 0);
  const inSize = outSize + tails.length;

  /** Head probabilities, then each tail cluster's conditional probabilities, laid out like the logits. */
  const blocks = (z: Float64Array): Float64Array => {
    const q = new Float64Array(inSize);
    softmaxRow(z.subarray(0, headSize), q.subarray(0, headSize));
    let start = headSize;
    for (const size of tails) {
      softmaxRow(z.subarray(start, start + size), q.subarray(start, start + size));
      start += size;
    }
    return q;
  };

  return {
    inSize,
    outSize,
    forward(z, y) {
      const q = blocks(z);
      y.set(q.subarray(0, shortlist));
      let start = headSize;
      let out = shortlist;
      tails.forEach((size, k) => {
        const pCluster = q[shortlist + k]!;
        for (let j = 0; j < size; j++) y[out + j] = pCluster * q[start + j]!;
        start += size;
        out += size;
      });
    },
    backward(z, _y, g, dz) {
      const q = blocks(z);
      const dq = new Float64Array(inSize);
      for (let c = 0; c < shortlist; c++) dq[c] = g[c]!;
      let start = headSize;
      let out = shortlist;
      tails.forEach((size, k) => {
        const pCluster = q[shortlist + k]!;
        let dCluster = 0;
        for (let j = 0; j < size; j++) {
          dCluster += g[out + j]! * q[start + j]!;
          dq[start + j] = g[out + j]! * pCluster;
        }
        dq[shortlist + k] = dCluster;
        softmaxBackwardRow(q.subarray(start, start + size), dq.subarray(start, start + size), dz.subarray(start, start + size));
        start += size;
        out += size;
      });
      softmaxBackwardRow(q.subarray(0, headSize), dq.subarray(0, headSize), dz.subarray(0, headSize));
    },
  };
}

/**
 * Mixture of K softmaxes (Yang et al. 2018). Input layout: K mixture logits, then K blocks of `classes` logits;
 * inSize = K + K·classes. Output: Σ_k π_k·softmax(block_k) with π = softmax(mixture logits).
 */
export function mixtureMap(components: number, classes: number): RowMap {
  const inSize = components + components * classes;
  /** π, then each component's distribution, laid out like the logits. */
  const blocks = (z: Float64Array): Float64Array => {
    const q = new Float64Array(inSize);
    softmaxRow(z.subarray(0, components), q.subarray(0, components));
    for (let k = 0; k < components; k++) {
      const start = components + k * classes;
      softmaxRow(z.subarray(start, start + classes), q.subarray(start, start + classes));
    }
    return q;
  };
  return {
    inSize,
    outSize: classes,
    forward(z, y) {
      const q = blocks(z);
      y.fill(0);
      for (let k = 0; k < components; k++) {
        const start = components + k * classes;
        for (let c = 0; c < classes; c++) y[c] = y[c]! + q[k]! * q[start + c]!;
      }
    },
    backward(z, _y, g, dz) {
      const q = blocks(z);
      const dq = new Float64Array(inSize);
      for (let k = 0; k < components; k++) {
        const start = components + k * classes;
        let dWeight = 0;
        for (let c = 0; c < classes; c++) {
          dWeight += g[c]! * q[start + c]!;
          dq[start + c] = g[c]! * q[k]!;
        }
        dq[k] = dWeight;
        softmaxBackwardRow(q.subarray(start, start + classes), dq.subarray(start, start + classes), dz.subarray(start, start + classes));
      }
      softmaxBackwardRow(q.subarray(0, components), dq.subarray(0, components), dz.subarray(0, components));
    },
  };
}
