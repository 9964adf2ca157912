import { configError } from '../engine/errors.js';
import { uniqueness } from './evolve.js';

/**
 * The fitness evolution selects on, computed from the population's VALIDATION predictions only:
 *
 * - 'nes' (default; Neural Ensemble Search, Zaidi et al. 2021): forward-select an ensemble from the population
 *   on validation log-loss (Caruana-style, with replacement), then score each model by its marginal gain to that
 *   ensemble: for a non-member, L(E) − L(E + m); for a member, L(E − one pick of m) − L(E) (the loss of the empty
 *   ensemble is that of the uniform prediction, ln C). Parents are drawn from the ensemble's members, so evolution
 *   explores around what the ensemble uses instead of around the single best model.
 * - 'accuracy': validation accuracy.
 * - 'uniqueness': validation accuracy + λ · uniqueness of the samples a model gets right (the former default).
 *
 * Every score comes with its parts, so a stored fitness can be audited.
 *
 * The forward selection is written here rather than imported from ensemble/select.ts because search sits below
 * ensemble in the dependency order; it is the same update on the same metric.
 */

export const FITNESS_KINDS = ['nes', 'accuracy', 'uniqueness'] as const;
export type FitnessKind = (typeof FITNESS_KINDS)[number];

export interface FitnessInput {
  readonly modelIds: readonly string[];
  /** Per model, row-major [samples, classes] validation class probabilities. */
  readonly valProbs: readonly Float32Array[];
  readonly labels: Int32Array;
  readonly numClasses: number;
}

/** What went into one model's fitness (stored next to it; the kind is the run config's `fitness`). */
export interface FitnessParts {
  readonly valAccuracy: number;
  readonly valLogLoss: number;
  /** 'uniqueness': the uniqueness term and λ. */
  readonly uniqueness?: number;
  readonly lambda?: number;
  /** 'nes': validation log-loss of the selected ensemble, and of the ensemble with / without this model. */
  readonly ensembleLogLoss?: number;
  readonly withLogLoss?: number;
  readonly withoutLogLoss?: number;
  /** 'nes': times this model was picked into the ensemble (0 = not a member). */
  readonly picks?: number;
}

export interface FitnessResult {
  /** Higher is better, aligned with modelIds. */
  readonly fitness: number[];
  readonly parts: FitnessParts[];
  /** Indices parents are drawn from: the ensemble's members for 'nes', everyone otherwise. */
  readonly parentPool: number[];
}

export interface FitnessOptions {
  /** λ for 'uniqueness' (default 0.1). */
  readonly lambda?: number;
  /** 'nes': at most this many forward-selection picks (default 25). */
  readonly steps?: number;
  /** 'nes': at most this many distinct members (default 10). */
  readonly maxMembers?: number;
}

const LOG_FLOOR = 1e-15;

/** Mean log-loss of rows given as (unnormalized) sums: each row is divided by its total. */
export function logLossOfSum(sum: ArrayLike<number>, labels: Int32Array, c: number): number {
  const n = labels.length;
  if (n === 0) return 0;
  let loss = 0;
  for (let r = 0; r < n; r++) {
    let total = 0;
    for (let j = 0; j < c; j++) total += sum[r * c + j] as number;
    loss -= Math.log(Math.max(LOG_FLOOR, (sum[r * c + (labels[r] as number)] as number) / (total || 1)));
  }
  return loss / n;
}

/** Log-loss of (sum + sign·p) without materializing it. */
function logLossWith(sum: Float64Array, p: Float32Array, sign: 1 | -1, labels: Int32Array, c: number): number {
  const n = labels.length;
  if (n === 0) return 0;
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const o = r * c;
    let total = 0;
    for (let j = 0; j < c; j++) total += (sum[o + j] as number) + sign * (p[o + j] as number);
    const label = labels[r] as number;
    loss -= Math.log(Math.max(LOG_FLOOR, ((sum[o + label] as number) + sign * (p[o + label] as number)) / (total || 1)));
  }
  return loss / n;
}

function accuracyOf(p: Float32Array, labels: Int32Array, c: number): number {
  const n = labels.length;
  let correct = 0;
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let j = 1; j < c; j++) if ((p[r * c + j] as number) > (p[r * c + best] as number)) best = j;
    if (best === labels[r]) correct++;
  }
  return n ? correct / n : 0;
}

export interface ForwardSelection {
  /** Model indices in pick order (the chosen prefix: the one with the lowest validation log-loss). */
  readonly picks: number[];
  readonly logLoss: number;
}

/**
 * Greedy forward selection with replacement on validation log-loss: starts from the single model with the lowest
 * log-loss, adds the model (possibly again) that lowers the ensemble's log-loss most, up to `steps` picks, and
 * keeps the best prefix (earliest on ties). Ties between candidates go to the lower index.
 */
export function forwardSelect(input: FitnessInput, steps = 25, maxMembers = 10): ForwardSelection {
  const { valProbs, labels, numClasses: c } = input;
  const L = valProbs.length;
  if (L === 0) throw configError('population', 'is empty');
  const sum = new Float64Array(labels.length * c);
  const picks: number[] = [];
  const members = new Set<number>();
  const trace: number[] = [];
  for (let t = 0; t < Math.max(1, steps); t++) {
    let bestM = -1;
    let bestLoss = Infinity;
    for (let m = 0; m < L; m++) {
      if (!members.has(m) && members.size >= maxMembers) continue;
      const loss = logLossWith(sum, valProbs[m] as Float32Array, 1, labels, c);
      if (loss < bestLoss) {
        bestLoss = loss;
        bestM = m;
      }
    }
    const p = valProbs[bestM] as Float32Array;
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (p[i] as number);
    picks.push(bestM);
    members.add(bestM);
    trace.push(bestLoss);
  }
  let at = 0;
  for (let t = 1; t < trace.length; t++) if ((trace[t] as number) < (trace[at] as number)) at = t;
  return { picks: picks.slice(0, at + 1), logLoss: trace[at] as number };
}

function checkInput(input: FitnessInput): void {
  const n = input.labels.length;
  const c = input.numClasses;
  if (input.valProbs.length !== input.modelIds.length) {
    throw configError('population', `${input.modelIds.length} models but ${input.valProbs.length} validation predictions`);
  }
  input.valProbs.forEach((p, m) => {
    if (p.length !== n * c) throw configError(`population[${m}].valProbs`, `hold ${p.length} values, expected ${n} samples × ${c} classes`);
  });
}

/** NES fitness: marginal validation log-loss gain of each model to the forward-selected ensemble (see the module comment). */
export function nesFitness(input: FitnessInput, options: FitnessOptions = {}): FitnessResult {
  checkInput(input);
  const { valProbs, labels, numClasses: c } = input;
  const selection = forwardSelect(input, options.steps ?? 25, options.maxMembers ?? 10);
  const sum = new Float64Array(labels.length * c);
  const counts = new Map<number, number>();
  for (const m of selection.picks) {
    const p = valProbs[m] as Float32Array;
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (p[i] as number);
    counts.set(m, (counts.get(m) ?? 0) + 1);
  }
  const ensembleLoss = selection.logLoss;
  const uniform = Math.log(c);
  const fitness: number[] = [];
  const parts: FitnessParts[] = valProbs.map((p, m) => {
    const picks = counts.get(m) ?? 0;
    const base = { valAccuracy: accuracyOf(p, labels, c), valLogLoss: logLossOfSum(p, labels, c), ensembleLogLoss: ensembleLoss, picks };
    if (picks === 0) {
      const withLoss = logLossWith(sum, p, 1, labels, c);
      fitness.push(ensembleLoss - withLoss);
      return { ...base, withLogLoss: withLoss, withoutLogLoss: ensembleLoss };
    }
    const withoutLoss = selection.picks.length === 1 ? uniform : logLossWith(sum, p, -1, labels, c);
    fitness.push(withoutLoss - ensembleLoss);
    return { ...base, withLogLoss: ensembleLoss, withoutLogLoss: withoutLoss };
  });
  return { fitness, parts, parentPool: [...counts.keys()] };
}

/** The fitness of a population by kind (see the module comment). */
export function computeFitness(kind: FitnessKind, input: FitnessInput, options: FitnessOptions = {}): FitnessResult {
  if (kind === 'nes') return nesFitness(input, options);
  checkInput(input);
  const { valProbs, labels, numClasses: c } = input;
  const all = valProbs.map((_, m) => m);
  const base = valProbs.map((p) => ({ valAccuracy: accuracyOf(p, labels, c), valLogLoss: logLossOfSum(p, labels, c) }));
  if (kind === 'accuracy') {
    return { fitness: base.map((b) => b.valAccuracy), parts: base.map((b) => ({ ...b })), parentPool: all };
  }
  if (kind === 'uniqueness') {
    const lambda = options.lambda ?? 0.1;
    if (!(lambda >= 0) || !Number.isFinite(lambda)) throw configError('diversityWeight', `must be a finite number ≥ 0, got ${lambda}`);
    const masks = valProbs.map((p) => {
      const mask = new Uint8Array(labels.length);
      for (let r = 0; r < labels.length; r++) {
        let best = 0;
        for (let j = 1; j < c; j++) if ((p[r * c + j] as number) > (p[r * c + best] as number)) best = j;
        mask[r] = best === labels[r] ? 1 : 0;
      }
      return mask;
    });
    const u = uniqueness(masks);
    return {
      fitness: base.map((b, m) => b.valAccuracy + lambda * (u[m] as number)),
      parts: base.map((b, m) => ({ ...b, uniqueness: u[m] as number, lambda })),
      parentPool: all,
    };
  }
  throw configError('fitness', `must be one of ${FITNESS_KINDS.map((k) => `"${k}"`).join(', ')}, got ${JSON.stringify(kind)}`);
}

/** The parts as a plain record of numbers (what the store keeps). */
export function partsRecord(parts: FitnessParts): Record<string, number> {
  return Object.fromEntries(Object.entries(parts).filter((e): e is [string, number] => typeof e[1] === 'number'));
}
