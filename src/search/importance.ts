import { LoomError } from '../engine/errors.js';
import { Rng } from '../engine/rng.js';

/**
 * Gene importances: which genes (config fields) explain a population's accuracy. A small seeded random forest of
 * regression trees is fitted on the genes, then each gene's permutation importance is measured on the out-of-bag
 * samples: how much the forest's squared error grows when that gene's column is shuffled. Pure computation; every
 * random choice (bootstrap, feature subsets, shuffles) comes from the seeded Rng.
 *
 * Known answer: for y = Σ a_j·x_j with independent genes, shuffling gene j adds 2·a_j²·Var(x_j) to the squared
 * error of a perfect model, so the shares tend to a_j²·Var(x_j) / Σ a_k²·Var(x_k) (test/search/importance.test.ts).
 */

export type GeneValue = number | string | boolean | null;

export interface GeneColumn {
  readonly name: string;
  /** Categorical genes (species, combine mode, activation) are split by category; numeric ones by threshold. */
  readonly kind: 'numeric' | 'categorical';
  readonly values: readonly GeneValue[];
}

export interface ImportanceOptions {
  readonly seed: number;
  readonly trees?: number;
  readonly maxDepth?: number;
  readonly minLeaf?: number;
  /** Shuffles per gene (averaged). */
  readonly repeats?: number;
}

export interface GeneImportance {
  readonly gene: string;
  /** Mean increase of the out-of-bag squared error when the gene is shuffled (≥ 0). */
  readonly importance: number;
  /** importance / the sum over genes (0 when no gene matters). */
  readonly share: number;
}

interface Node {
  readonly feature: number;
  readonly threshold: number;
  readonly left: Node | null;
  readonly right: Node | null;
  readonly value: number;
}

/**
 * Columns → a numeric matrix. Categories are coded by their mean target (rank order), so one threshold split can
 * separate any group of categories that differ in accuracy; missing values take the column's mean code.
 */
function encode(columns: readonly GeneColumn[], target: readonly number[]): Float64Array[] {
  return columns.map((col) => {
    const out = new Float64Array(target.length);
    if (col.kind === 'numeric') {
      const nums = col.values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null));
      const present = nums.filter((v): v is number => v !== null);
      const mean = present.length ? present.reduce((a, b) => a + b, 0) / present.length : 0;
      nums.forEach((v, i) => (out[i] = v ?? mean));
      return out;
    }
    const sums = new Map<string, { sum: number; n: number }>();
    col.values.forEach((v, i) => {
      const key = String(v);
      const s = sums.get(key) ?? { sum: 0, n: 0 };
      s.sum += target[i] as number;
      s.n += 1;
      sums.set(key, s);
    });
    const ranked = [...sums].sort((a, b) => a[1].sum / a[1].n - b[1].sum / b[1].n || (a[0] < b[0] ? -1 : 1));
    const code = new Map(ranked.map(([key], rank) => [key, rank]));
    col.values.forEach((v, i) => (out[i] = code.get(String(v)) as number));
    return out;
  });
}

function mean(y: readonly number[], idx: readonly number[]): number {
  let s = 0;
  for (const i of idx) s += y[i] as number;
  return idx.length ? s / idx.length : 0;
}

function grow(x: readonly Float64Array[], y: readonly number[], idx: number[], depth: number, opts: Required<Omit<ImportanceOptions, 'seed'>>, rng: Rng, mtry: number): Node {
  const value = mean(y, idx);
  const leaf: Node = { feature: -1, threshold: 0, left: null, right: null, value };
  if (depth >= opts.maxDepth || idx.length < 2 * opts.minLeaf) return leaf;
  const features = rng.permutation(x.length).slice(0, mtry);
  let best = { gain: 1e-12, feature: -1, threshold: 0 };
  let total = 0;
  let totalSq = 0;
  for (const i of idx) {
    total += y[i] as number;
    totalSq += (y[i] as number) ** 2;
  }
  const baseSse = totalSq - (total * total) / idx.length;
  for (const f of features) {
    const col = x[f] as Float64Array;
    const order = [...idx].sort((a, b) => (col[a] as number) - (col[b] as number));
    let leftSum = 0;
    let leftSq = 0;
    for (let k = 0; k < order.length - 1; k++) {
      const yi = y[order[k] as number] as number;
      leftSum += yi;
      leftSq += yi * yi;
      const nl = k + 1;
      const nr = order.length - nl;
      const here = col[order[k] as number] as number;
      const nextValue = col[order[k + 1] as number] as number;
      if (nl < opts.minLeaf || nr < opts.minLeaf || here === nextValue) continue;
      const rightSum = total - leftSum;
      const sse = leftSq - (leftSum * leftSum) / nl + (totalSq - leftSq) - (rightSum * rightSum) / nr;
      const gain = baseSse - sse;
      if (gain > best.gain) best = { gain, feature: f, threshold: (here + nextValue) / 2 };
    }
  }
  if (best.feature < 0) return leaf;
  const col = x[best.feature] as Float64Array;
  const left = idx.filter((i) => (col[i] as number) <= best.threshold);
  const right = idx.filter((i) => (col[i] as number) > best.threshold);
  return {
    feature: best.feature,
    threshold: best.threshold,
    left: grow(x, y, left, depth + 1, opts, rng, mtry),
    right: grow(x, y, right, depth + 1, opts, rng, mtry),
    value,
  };
}

function predict(node: Node, x: readonly Float64Array[], i: number): number {
  let n = node;
  while (n.left && n.right) n = ((x[n.feature] as Float64Array)[i] as number) <= n.threshold ? n.left : n.right;
  return n.value;
}

/** Out-of-bag mean squared error of the forest on matrix x. */
function oobError(forest: readonly { tree: Node; oob: readonly number[] }[], x: readonly Float64Array[], y: readonly number[]): number {
  const sum = new Float64Array(y.length);
  const count = new Uint32Array(y.length);
  for (const { tree, oob } of forest) {
    for (const i of oob) {
      sum[i] = (sum[i] as number) + predict(tree, x, i);
      count[i] = (count[i] as number) + 1;
    }
  }
  let sse = 0;
  let n = 0;
  for (let i = 0; i < y.length; i++) {
    if (!count[i]) continue;
    sse += ((sum[i] as number) / (count[i] as number) - (y[i] as number)) ** 2;
    n++;
  }
  return n ? sse / n : 0;
}

export function geneImportances(columns: readonly GeneColumn[], target: readonly number[], options: ImportanceOptions): GeneImportance[] {
  for (const c of columns) {
    if (c.values.length !== target.length) throw new LoomError('LOOM_ERR_USAGE', `gene ${c.name} has ${c.values.length} values for ${target.length} targets`);
  }
  if (target.some((t) => !Number.isFinite(t))) throw new LoomError('LOOM_ERR_USAGE', 'gene importances need finite targets');
  const zero = () => columns.map((c) => ({ gene: c.name, importance: 0, share: 0 }));
  if (columns.length === 0 || target.length < 4) return zero();
  const opts = { trees: options.trees ?? 60, maxDepth: options.maxDepth ?? 8, minLeaf: options.minLeaf ?? 2, repeats: options.repeats ?? 3 };
  const rng = new Rng(options.seed);
  const x = encode(columns, target);
  const n = target.length;
  // Every gene is a candidate at each split: with few genes, subsets would hide a strong gene from whole trees.
  const mtry = columns.length;
  const forest = Array.from({ length: opts.trees }, () => {
    const inBag = new Uint8Array(n);
    const bag = Array.from({ length: n }, () => {
      const i = rng.int(n);
      inBag[i] = 1;
      return i;
    });
    const oob: number[] = [];
    for (let i = 0; i < n; i++) if (!inBag[i]) oob.push(i);
    return { tree: grow(x, target, bag, 0, opts, rng, mtry), oob };
  });
  const base = oobError(forest, x, target);
  const raw = columns.map((_, j) => {
    let increase = 0;
    for (let r = 0; r < opts.repeats; r++) {
      const order = rng.permutation(n);
      const col = x[j] as Float64Array;
      const shuffled = Float64Array.from(order, (i) => col[i] as number);
      const xs = x.map((c, k) => (k === j ? shuffled : c));
      increase += oobError(forest, xs, target) - base;
    }
    return Math.max(0, increase / opts.repeats);
  });
  const total = raw.reduce((a, b) => a + b, 0);
  return columns.map((c, j) => ({ gene: c.name, importance: raw[j] as number, share: total > 0 ? (raw[j] as number) / total : 0 }));
}
