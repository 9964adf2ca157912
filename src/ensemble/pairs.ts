import { checkMasks, countBoth, packMasks, type PackedMasks } from './masks.js';

/**
 * Pairs of models judged by their correctness masks: LOOM's complementary matches (coverage and overlap) and the
 * pairwise diversity measures of Kuncheva & Whitaker (2003). For a pair (i, k) over N samples:
 * N¹¹ both right, N⁰⁰ both wrong, N¹⁰ only i right, N⁰¹ only k right.
 *
 *   coverage     = |A ∨ B|/N = 1 − N⁰⁰/N (the pair's oracle accuracy)      overlap = |A ∧ B|/N = N¹¹/N
 *   disagreement = (N⁰¹ + N¹⁰)/N                                           double-fault = N⁰⁰/N
 *   Yule's Q     = (N¹¹N⁰⁰ − N⁰¹N¹⁰)/(N¹¹N⁰⁰ + N⁰¹N¹⁰)
 *   correlation  = (N¹¹N⁰⁰ − N⁰¹N¹⁰)/√((N¹¹+N¹⁰)(N⁰¹+N⁰⁰)(N¹¹+N⁰¹)(N¹⁰+N⁰⁰))  (Pearson = Spearman on 0/1 masks)
 *
 * Q and the correlation are undefined (NaN; null in JSON) when their denominator is 0, e.g. for a model that is
 * right on every sample; averages skip undefined pairs.
 */

export interface PairCounts {
  readonly n11: number;
  readonly n10: number;
  readonly n01: number;
  readonly n00: number;
  readonly n: number;
}

export interface PairStats extends PairCounts {
  readonly coverage: number;
  readonly overlap: number;
  readonly disagreement: number;
  readonly doubleFault: number;
  readonly yulesQ: number;
  readonly correlation: number;
}

/** The four counts of a pair from raw masks. */
export function pairCounts(a: ArrayLike<number>, b: ArrayLike<number>): PairCounts {
  checkMasks([a, b]);
  let n11 = 0;
  let n10 = 0;
  let n01 = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ? 1 : 0;
    const y = b[i] ? 1 : 0;
    if (x && y) n11++;
    else if (x) n10++;
    else if (y) n01++;
  }
  return { n11, n10, n01, n00: a.length - n11 - n10 - n01, n: a.length };
}

/** Counts of pair (i, k) from packed masks: one popcount per 32 samples. */
export function packedPairCounts(packed: PackedMasks, i: number, k: number): PairCounts {
  const n11 = countBoth(packed.bits[i] as Int32Array, packed.bits[k] as Int32Array);
  const ci = packed.correct[i] as number;
  const ck = packed.correct[k] as number;
  return { n11, n10: ci - n11, n01: ck - n11, n00: packed.samples - ci - ck + n11, n: packed.samples };
}

export function pairStats(c: PairCounts): PairStats {
  const { n11, n10, n01, n00, n } = c;
  const agree = n11 * n00 - n01 * n10;
  const qDen = n11 * n00 + n01 * n10;
  const rDen = Math.sqrt((n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00));
  return {
    n11,
    n10,
    n01,
    n00,
    n,
    coverage: (n - n00) / n,
    overlap: n11 / n,
    disagreement: (n01 + n10) / n,
    doubleFault: n00 / n,
    yulesQ: qDen === 0 ? NaN : agree / qDen,
    correlation: rDen === 0 ? NaN : agree / rDen,
  };
}

export interface ModelMask {
  readonly id: string;
  readonly mask: ArrayLike<number>;
}

/** LOOM's EnsembleMatch, with camel-case keys. */
export interface ComplementaryMatch {
  readonly modelA: string;
  readonly modelB: string;
  readonly coverage: number;
  readonly overlap: number;
}

/**
 * LOOM's FindComplementaryMatches: every unordered pair i < j in input order whose coverage ≥ minCoverage, sorted
 * by coverage descending, then overlap ascending; ties keep input order (LOOM's sort was not stable). Keys are
 * compared as integer counts, so equal fractions are exactly equal. Unlike LOOM, masks of different lengths are an
 * error (LOOM skipped the pair silently), and no match gives [] (LOOM: nil). `limit` keeps the first matches.
 */
export function findComplementaryMatches(models: readonly ModelMask[], minCoverage = 0, limit = Infinity): ComplementaryMatch[] {
  if (models.length < 2) return [];
  checkMasks(models.map((m) => m.mask), models.map((m) => m.id));
  const packed = packMasks(models.map((m) => m.mask));
  const n = packed.samples;
  const found: { i: number; k: number; union: number; both: number }[] = [];
  for (let i = 0; i < models.length; i++) {
    for (let k = i + 1; k < models.length; k++) {
      const c = packedPairCounts(packed, i, k);
      const union = n - c.n00;
      if (union / n >= minCoverage) found.push({ i, k, union, both: c.n11 });
    }
  }
  found.sort((a, b) => b.union - a.union || a.both - b.both);
  return found.slice(0, limit).map(({ i, k, union, both }) => ({
    modelA: (models[i] as ModelMask).id,
    modelB: (models[k] as ModelMask).id,
    coverage: union / n,
    overlap: both / n,
  }));
}

/** Population-level diversity: mean pairwise measures plus the non-pairwise ones that need only l(z). */
export interface DiversitySummary {
  readonly models: number;
  readonly samples: number;
  readonly meanAccuracy: number;
  /** Fraction of samples at least one model gets right. */
  readonly oracleAccuracy: number;
  readonly disagreement: number;
  readonly doubleFault: number;
  /** Mean over pairs where Q is defined; NaN when none is. */
  readonly yulesQ: number;
  readonly correlation: number;
  /** Kohavi–Wolpert variance: 1/(N L²) Σ_j l_j (L − l_j). */
  readonly kohaviWolpert: number;
  /** Entropy E = (1/N) Σ_j min(l_j, L − l_j)/(L − ⌈L/2⌉); 0 for a single model. */
  readonly entropy: number;
}

/** Every pair's statistics (i < k, in order) from packed masks. */
export function allPairStats(packed: PackedMasks): { i: number; k: number; stats: PairStats }[] {
  const L = packed.bits.length;
  const out: { i: number; k: number; stats: PairStats }[] = [];
  for (let i = 0; i < L; i++) for (let k = i + 1; k < L; k++) out.push({ i, k, stats: pairStats(packedPairCounts(packed, i, k)) });
  return out;
}

export function diversitySummary(masks: readonly ArrayLike<number>[], ids?: readonly string[]): DiversitySummary {
  const n = checkMasks(masks, ids);
  const L = masks.length;
  const packed = packMasks(masks);
  const mean = (xs: number[]): number => {
    const ok = xs.filter((x) => !Number.isNaN(x));
    return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
  };
  const pairs = allPairStats(packed).map((p) => p.stats);
  const counts = new Int32Array(n);
  for (const m of masks) for (let j = 0; j < n; j++) if (m[j]) counts[j]++;
  let kw = 0;
  let entropy = 0;
  let covered = 0;
  const half = L - Math.ceil(L / 2);
  for (let j = 0; j < n; j++) {
    const l = counts[j] as number;
    kw += l * (L - l);
    if (half > 0) entropy += Math.min(l, L - l) / half;
    if (l > 0) covered++;
  }
  return {
    models: L,
    samples: n,
    meanAccuracy: packed.correct.reduce((a, b) => a + b, 0) / (L * n),
    oracleAccuracy: covered / n,
    disagreement: mean(pairs.map((p) => p.disagreement)),
    doubleFault: mean(pairs.map((p) => p.doubleFault)),
    yulesQ: mean(pairs.map((p) => p.yulesQ)),
    correlation: mean(pairs.map((p) => p.correlation)),
    kohaviWolpert: kw / (n * L * L),
    entropy: entropy / n,
  };
}

/**
 * The models' mask correlation matrix (Pearson; on 0/1 masks Spearman with average ranks gives the same value),
 * computed from pair counts. A constant mask (always right or always wrong) has NaN everywhere in its row,
 * diagonal included: its correlation is undefined.
 */
export function maskCorrelationMatrix(masks: readonly ArrayLike<number>[], ids?: readonly string[]): number[][] {
  checkMasks(masks, ids);
  const packed = packMasks(masks);
  const L = masks.length;
  const matrix = Array.from({ length: L }, () => new Array<number>(L).fill(NaN));
  for (let i = 0; i < L; i++) {
    const ci = packed.correct[i] as number;
    if (ci > 0 && ci < packed.samples) (matrix[i] as number[])[i] = 1;
    for (let k = i + 1; k < L; k++) {
      const r = pairStats(packedPairCounts(packed, i, k)).correlation;
      (matrix[i] as number[])[k] = r;
      (matrix[k] as number[])[i] = r;
    }
  }
  return matrix;
}
