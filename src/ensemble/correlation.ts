import { analysisError } from './masks.js';

/**
 * Pearson and Spearman correlation, correlation matrices and lists of strong correlations (LOOM's
 * correlation.go, with Spearman done as intended: average ranks for ties, then Pearson on the ranks).
 *
 * Undefined values are NaN (null in JSON), never a made-up number: a constant column has zero variance, so its
 * correlation with anything, itself included, is NaN (LOOM wrote 0 off the diagonal and 1 on it); fewer than two
 * samples also give NaN. Strong-correlation lists skip NaN.
 */

/** Pearson's r of two equally long series (accumulated in float64 around the means). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw analysisError(`correlation of series of different lengths (${x.length} and ${y.length})`);
  const n = x.length;
  if (n < 2) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i] as number;
    my += y[i] as number;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return clamp(sxy / Math.sqrt(sxx * syy));
}

const clamp = (r: number): number => Math.max(-1, Math.min(1, r));

/** 1-based ascending ranks; a tie group at sorted positions i..j−1 (0-based) gets the average rank (i + 1 + j)/2. */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (x[a] as number) - (x[b] as number) || a - b);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && x[order[j] as number] === x[order[i] as number]) j++;
    const rank = (i + 1 + j) / 2;
    for (let t = i; t < j; t++) ranks[order[t] as number] = rank;
    i = j;
  }
  return ranks;
}

/** Spearman's ρ: Pearson on average ranks. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw analysisError(`correlation of series of different lengths (${x.length} and ${y.length})`);
  return pearson(averageRanks(x), averageRanks(y));
}

export type CorrelationMethod = 'pearson' | 'spearman';

/** LOOM's CorrelationMatrix: labels, the symmetric matrix, n features, samples per feature. */
export interface CorrelationMatrix {
  readonly labels: readonly string[];
  readonly matrix: number[][];
  readonly n: number;
  readonly samples: number;
}

/**
 * Correlations between columns (features, or models' masks), each column one series of `samples` values.
 * Labels default to F0, F1, … (as LOOM). Columns are standardized once, so the cost is one dot product per pair.
 */
export function correlationMatrix(columns: readonly ArrayLike<number>[], labels?: readonly string[], method: CorrelationMethod = 'pearson'): CorrelationMatrix {
  const n = columns.length;
  const samples = n > 0 ? (columns[0] as ArrayLike<number>).length : 0;
  columns.forEach((c, i) => {
    if (c.length !== samples) throw analysisError(`correlation matrix: column ${labels?.[i] ?? i} has ${c.length} values, column ${labels?.[0] ?? 0} has ${samples}`);
  });
  const names = labels && labels.length === n ? [...labels] : columns.map((_, i) => `F${i}`);
  // z_i = (x_i − mean)/‖x_i − mean‖, so r_ij = z_i · z_j; a constant column gets no z (NaN row).
  const z = columns.map((c) => {
    const v = method === 'spearman' ? averageRanks(c) : Float64Array.from({ length: samples }, (_, i) => c[i] as number);
    let mean = 0;
    for (let i = 0; i < samples; i++) mean += v[i] as number;
    mean /= samples || 1;
    let ss = 0;
    for (let i = 0; i < samples; i++) {
      v[i] = (v[i] as number) - mean;
      ss += (v[i] as number) * (v[i] as number);
    }
    if (samples < 2 || ss === 0) return null;
    const inv = 1 / Math.sqrt(ss);
    for (let i = 0; i < samples; i++) v[i] = (v[i] as number) * inv;
    return v;
  });
  const matrix = Array.from({ length: n }, () => new Array<number>(n).fill(NaN));
  for (let i = 0; i < n; i++) {
    const zi = z[i];
    if (!zi) continue;
    (matrix[i] as number[])[i] = 1;
    for (let j = i + 1; j < n; j++) {
      const zj = z[j];
      if (!zj) continue;
      let dot = 0;
      for (let s = 0; s < samples; s++) dot += (zi[s] as number) * (zj[s] as number);
      (matrix[i] as number[])[j] = clamp(dot);
      (matrix[j] as number[])[i] = clamp(dot);
    }
  }
  return { labels: names, matrix, n, samples };
}

/** LOOM's FeaturePair. */
export interface FeaturePair {
  readonly feature1: string;
  readonly feature2: string;
  readonly correlation: number;
  readonly absCorrelation: number;
}

/** Upper-triangle pairs with |r| ≥ threshold, by |r| descending; ties keep (i, j) order. NaN never qualifies. */
export function strongCorrelations(cm: CorrelationMatrix, threshold: number, limit = Infinity): FeaturePair[] {
  const out: FeaturePair[] = [];
  for (let i = 0; i < cm.n; i++) {
    for (let j = i + 1; j < cm.n; j++) {
      const r = (cm.matrix[i] as number[])[j] as number;
      if (Math.abs(r) >= threshold) out.push({ feature1: cm.labels[i] as string, feature2: cm.labels[j] as string, correlation: r, absCorrelation: Math.abs(r) });
    }
  }
  return out.sort((a, b) => b.absCorrelation - a.absCorrelation).slice(0, limit);
}

/** Every other feature's correlation with the named one, by |r| descending (NaN last); [] for an unknown name. */
export function correlationsWith(cm: CorrelationMatrix, name: string): FeaturePair[] {
  const i = cm.labels.indexOf(name);
  if (i < 0) return [];
  const key = (p: FeaturePair): number => (Number.isNaN(p.absCorrelation) ? -1 : p.absCorrelation);
  return cm.labels
    .map((other, j) => ({ j, other }))
    .filter(({ j }) => j !== i)
    .map(({ j, other }) => {
      const r = (cm.matrix[i] as number[])[j] as number;
      return { feature1: name, feature2: other, correlation: r, absCorrelation: Math.abs(r) };
    })
    .sort((a, b) => key(b) - key(a));
}

/** How one numeric config parameter relates to accuracy across the models that have it. */
export interface ParameterCorrelation {
  readonly parameter: string;
  /** Models with a value for this parameter. */
  readonly n: number;
  readonly pearson: number;
  readonly spearman: number;
}

/**
 * Correlation of each numeric parameter with accuracy, over the models that have that parameter; sorted by
 * |Spearman| descending (NaN last: constant parameters). `parameters[k]` belongs to the model with `accuracy[k]`.
 */
export function parameterCorrelations(parameters: readonly Readonly<Record<string, number>>[], accuracy: ArrayLike<number>): ParameterCorrelation[] {
  if (parameters.length !== accuracy.length) throw analysisError(`${parameters.length} parameter sets for ${accuracy.length} accuracies`);
  const names = [...new Set(parameters.flatMap((p) => Object.keys(p)))].sort();
  const key = (p: ParameterCorrelation): number => (Number.isNaN(p.spearman) ? -1 : Math.abs(p.spearman));
  return names
    .map((parameter) => {
      const xs: number[] = [];
      const ys: number[] = [];
      parameters.forEach((p, k) => {
        const v = p[parameter];
        if (typeof v === 'number' && Number.isFinite(v)) {
          xs.push(v);
          ys.push(accuracy[k] as number);
        }
      });
      return { parameter, n: xs.length, pearson: pearson(xs, ys), spearman: spearman(xs, ys) };
    })
    .sort((a, b) => key(b) - key(a));
}
