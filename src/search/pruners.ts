import { configError } from '../engine/errors.js';
import type { RungThreshold } from './jobs.js';

/**
 * Multi-fidelity search: pruners (as Optuna's pruners and Ray Tune's schedulers) stop unpromising models after a
 * few epochs, and a budget (minutes or epochs) replaces the fixed population.
 *
 * How pruning fits the job model: a job cannot be talked to while it trains (a worker thread or a remote BullMQ
 * worker), so the coordinator sends the rule WITH the job, as per-epoch thresholds (`TrainingJob.stopBelow`):
 * the job stops after epoch e when its best validation accuracy so far is below the threshold for e, and returns
 * its partial curve. The thresholds are computed from the curves of models that are final before the job starts:
 * earlier generations, and earlier WAVES of its own generation (a generation trains in waves of `wave` models,
 * by position), so pruning decisions never depend on the order jobs finish in and a resumed run makes the same
 * decisions. The first wave of generation 0 trains fully; it fills the rungs.
 *
 * - Asynchronous successive halving (ASHA, Li et al. 2020, the stopping form Ray Tune uses): rungs at epochs
 *   r, r·η, r·η², … below the full budget; at a rung a model continues only when it is in the top 1/η of the
 *   values recorded at that rung (its value ≥ the ⌈n/η⌉-th highest of the n recorded ones). A first rung below one
 *   epoch (say 0.25) is checked mid-epoch, after the optimizer step that reaches it: where one epoch is already
 *   long, most models then stop after a share of one.
 * - Median stopping (Golovin et al. 2017, Google Vizier): after `warmupEpochs`, a model stops at epoch e when its
 *   best value so far is below the median, over earlier models, of their running mean of validation accuracy up to e.
 */

/**
 * One finished (or pruned) model's validation accuracy, as points in training epochs: one per epoch, plus a point at
 * each sub-epoch rung it was checked at (an ASHA `minEpochs` below 1, checked mid-epoch).
 */
export interface CurvePoint {
  readonly epoch: number;
  readonly valAccuracy: number;
}
export type Curve = readonly CurvePoint[];

/** A stored or returned model's curve: its metrics entries in epoch order (NaN where an entry was not validated). */
export function curveOf(metrics: readonly { readonly epoch: number; readonly valAccuracy?: number }[]): Curve {
  return metrics.map((m) => ({ epoch: m.epoch, valAccuracy: m.valAccuracy ?? Number.NaN })).sort((a, b) => a.epoch - b.epoch);
}

/** A curve of one value per whole epoch (epoch i + 1 for value i). */
export function epochCurve(values: readonly number[]): Curve {
  return values.map((valAccuracy, i) => ({ epoch: i + 1, valAccuracy }));
}

/** The training epochs a curve stands for (its last point; a model pruned mid-epoch trained a fraction of one). */
export function epochsRun(metrics: readonly { readonly epoch: number }[]): number {
  return metrics.reduce((most, m) => Math.max(most, m.epoch), 0);
}

export interface Pruner {
  readonly name: PrunerKind;
  /** Thresholds for a new model that trains up to `maxEpochs`, given the curves of earlier models. */
  thresholds(history: readonly Curve[], maxEpochs: number): RungThreshold[];
}

export const PRUNER_KINDS = ['none', 'asha', 'median'] as const;
export type PrunerKind = (typeof PRUNER_KINDS)[number];

export interface PrunerSpec {
  readonly kind: PrunerKind;
  /** ASHA: reduction factor η (default 3). */
  readonly eta?: number;
  /** ASHA: the first rung, in epochs (default 1): a whole number, or a share of the first epoch below 1 (checked mid-epoch). */
  readonly minEpochs?: number;
  /** ASHA: compare a model at a rung with the `window` most recent values there only (default all; see ashaPruner). */
  readonly window?: number;
  /** Median: no stopping up to this epoch (default 0). */
  readonly warmupEpochs?: number;
  /** Both: a rung (or epoch) needs values from at least this many earlier models before it prunes (default η for ASHA, 3 for median). */
  readonly minSamples?: number;
  /**
   * Both: a generation trains in waves of this many models; each wave is pruned against the curves of earlier
   * generations and earlier waves (default 4). Smaller waves prune sooner, larger ones keep more workers busy.
   */
  readonly wave?: number;
  /**
   * ASHA in a steady search: the last rung promotes instead of stopping (ASHA's promotion form, Li et al. 2020). A
   * model pauses there with its network and training state kept, and goes on only when promoted: in the top 1/η of
   * the values recorded at that rung while fewer than 1/η of them have been promoted (choosePromotion below; the steady
   * schedule that runs it is coordinator.ts searchSteady). Default false.
   */
  readonly promote?: boolean;
}

/**
 * Epochs of ASHA's rungs below maxEpochs: r, r·η, r·η², … (the full budget itself is no rung: stopping there saves
 * nothing). Rungs from one epoch up are whole epochs (rounded, at least one apart), so only a first rung below 1
 * (a share of an epoch, for data where one epoch is already expensive) and its successors below 1 are mid-epoch.
 */
export function ashaRungs(maxEpochs: number, minEpochs = 1, eta = 3): number[] {
  const wholeOrShare = Number.isInteger(minEpochs) ? minEpochs >= 1 : minEpochs > 0 && minEpochs < 1;
  if (!wholeOrShare) throw configError('pruner.minEpochs', `must be a whole number ≥ 1 or a share of an epoch between 0 and 1, got ${minEpochs}`);
  if (!(Number.isFinite(eta) && eta > 1)) throw configError('pruner.eta', `must be a number > 1, got ${eta}`);
  const rungs: number[] = [];
  for (let r = minEpochs; r < maxEpochs; ) {
    rungs.push(r);
    // Rounded to 1e-9 so a share like 1/9 · 3 · 3 is 0.999, not 0.9990000000000001, in curves and `loom show`.
    const next = Math.round(r * eta * 1e9) / 1e9;
    r = next < 1 ? next : Math.max(Math.floor(r) + 1, Math.round(next));
  }
  return rungs;
}

/** The rung where an ASHA spec with `promote` pauses models of `maxEpochs` epochs (its last rung), or null for none. */
export function promotionRung(spec: PrunerSpec, maxEpochs: number): number | null {
  if (spec.kind !== 'asha' || spec.promote !== true) return null;
  const rungs = ashaRungs(maxEpochs, spec.minEpochs ?? 1, spec.eta ?? 3);
  return rungs[rungs.length - 1] ?? null;
}

/** The value a model must reach at a rung to be in the top 1/η of `recorded` (the ⌈n/η⌉-th highest). */
export function ashaCutoff(recorded: readonly number[], eta: number): number {
  if (recorded.length === 0) return -Infinity;
  const sorted = [...recorded].sort((a, b) => b - a);
  return sorted[Math.max(1, Math.ceil(sorted.length / eta)) - 1] as number;
}

/** Synchronous successive halving on one rung: indices of the top ⌈n/η⌉ values (ties to the lower index). */
export function promote(values: readonly number[], eta: number): number[] {
  const keep = Math.max(1, Math.ceil(values.length / eta));
  return values
    .map((v, i) => ({ v, i }))
    .sort((a, b) => b.v - a.v || a.i - b.i)
    .slice(0, keep)
    .map((x) => x.i)
    .sort((a, b) => a - b);
}

/** A value recorded at a promotion rung: whose (a model index) and whether that model waits there (paused, not yet promoted). */
export interface RungEntry {
  readonly model: number;
  readonly value: number;
  readonly waiting: boolean;
}

/**
 * ASHA's promotion (Li et al. 2020, Algorithm 2) for one free worker: the waiting model to promote, or null. Of the n
 * values recorded at the rung, the top ⌊n/η⌋ may go on (ties to the lower model index); while fewer than ⌊n/η⌋ have
 * been promoted, the best waiting model among them is.
 */
export function choosePromotion(entries: readonly RungEntry[], promoted: number, eta: number): number | null {
  const top = Math.floor(entries.length / eta);
  if (promoted >= top) return null;
  const ranked = [...entries].sort((a, b) => b.value - a.value || a.model - b.model).slice(0, top);
  return ranked.find((e) => e.waiting)?.model ?? null;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** The best value a curve reached up to `epoch` (NaN where it has no validated point by then). */
export const bestUpTo = (curve: Curve, epoch: number): number => {
  const values = curve.filter((p) => p.epoch <= epoch && !Number.isNaN(p.valAccuracy)).map((p) => p.valAccuracy);
  return values.length > 0 ? Math.max(...values) : Number.NaN;
};

/** Whether a curve has a point at or beyond `epoch` (it trained that far). */
const reached = (curve: Curve, epoch: number): boolean => curve.some((p) => p.epoch >= epoch);

/**
 * `window`: compare with the `window` most recent values at each rung only (history is in the order models were
 * created). ASHA's top 1/η assumes the models it compares come from one distribution; evolution's do not — children
 * of good parents beat the random first models, so against every value ever recorded they pass more often than 1/η.
 */
export function ashaPruner(eta = 3, minEpochs = 1, minSamples = Math.ceil(eta), window = Infinity): Pruner {
  ashaRungs(minEpochs + 1, minEpochs, eta); // validates eta and minEpochs now
  if (!(window >= 1)) throw configError('pruner.window', `must be a whole number ≥ 1, got ${window}`);
  return {
    name: 'asha',
    thresholds(history, maxEpochs) {
      return ashaRungs(maxEpochs, minEpochs, eta).flatMap((epoch) => {
        const all = history.filter((c) => reached(c, epoch)).map((c) => bestUpTo(c, epoch)).filter((v) => !Number.isNaN(v));
        const recorded = all.slice(Math.max(0, all.length - window));
        if (recorded.length >= minSamples) return [{ epoch, minValAccuracy: ashaCutoff(recorded, eta) }];
        // A mid-epoch rung is only measured where a job is told to check it: without enough values yet, it is sent
        // with threshold 0 (never stops), so the job records its value there for later thresholds.
        return Number.isInteger(epoch) ? [] : [{ epoch, minValAccuracy: 0 }];
      });
    },
  };
}

export function medianPruner(warmupEpochs = 0, minSamples = 3): Pruner {
  return {
    name: 'median',
    thresholds(history, maxEpochs) {
      const out: RungThreshold[] = [];
      for (let epoch = warmupEpochs + 1; epoch < maxEpochs; epoch++) {
        // Per whole epoch: a median rule has no mid-epoch points.
        const means = history
          .map((c) => c.filter((p) => Number.isInteger(p.epoch) && p.epoch <= epoch))
          .filter((c) => c.length >= epoch)
          .map((c) => c.reduce((a, p) => a + p.valAccuracy, 0) / epoch);
        if (means.length >= minSamples) out.push({ epoch, minValAccuracy: median(means) });
      }
      return out;
    },
  };
}

export const noPruner: Pruner = { name: 'none', thresholds: () => [] };

export function createPruner(spec: PrunerSpec): Pruner {
  if (spec.kind === 'none') return noPruner;
  if (spec.kind === 'asha') {
    const eta = spec.eta ?? 3;
    return ashaPruner(eta, spec.minEpochs ?? 1, spec.minSamples ?? Math.ceil(eta), spec.window ?? Infinity);
  }
  if (spec.kind === 'median') return medianPruner(spec.warmupEpochs ?? 0, spec.minSamples ?? 3);
  throw configError('pruner.kind', `must be one of ${PRUNER_KINDS.map((k) => `"${k}"`).join(', ')}, got ${JSON.stringify(spec.kind)}`);
}

/**
 * The epoch after which a curve was pruned by these thresholds (the first epoch whose best-so-far value is below
 * its threshold), or null. The job applies the same rule while training; the coordinator uses this to label it.
 */
export function prunedAt(curve: Curve, thresholds: readonly RungThreshold[]): number | null {
  for (const t of [...thresholds].sort((a, b) => a.epoch - b.epoch)) {
    if (!reached(curve, t.epoch)) return null;
    if (bestUpTo(curve, t.epoch) < t.minValAccuracy) return t.epoch;
  }
  return null;
}

// ---- budget ----------------------------------------------------------------------------------------------------

/** What a search may spend: wall minutes, or training epochs summed over models (pruned models count what they ran). */
export interface BudgetSpec {
  readonly minutes?: number;
  readonly epochs?: number;
}

/** Tracks what a search has spent against its budget (no budget: never exhausted). */
export class Budget {
  private epochsSpent = 0;

  constructor(
    readonly spec: BudgetSpec | undefined,
    private readonly startedAt: number,
    private readonly now: () => number,
  ) {
    if (spec?.minutes !== undefined && !(spec.minutes > 0)) throw configError('budget.minutes', `must be > 0, got ${spec.minutes}`);
    if (spec?.epochs !== undefined && !(Number.isInteger(spec.epochs) && spec.epochs > 0)) throw configError('budget.epochs', `must be a positive integer, got ${spec.epochs}`);
  }

  /** Counts epochs trained (on resume, the epochs of the models already finished). */
  spend(epochs: number): void {
    this.epochsSpent += epochs;
  }

  get epochs(): number {
    return this.epochsSpent;
  }

  /** The wall-clock time when minutes run out (Infinity when no minutes budget). */
  get deadline(): number {
    return this.spec?.minutes !== undefined ? this.startedAt + this.spec.minutes * 60_000 : Infinity;
  }

  exhausted(): boolean {
    if (!this.spec) return false;
    if (this.spec.epochs !== undefined && this.epochsSpent >= this.spec.epochs) return true;
    return this.now() >= this.deadline;
  }
}
