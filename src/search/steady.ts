import { configError, LoomError } from '../engine/errors.js';
import type { RungThreshold } from './jobs.js';

/**
 * Steady-state evolution's schedule: a new model starts as soon as a worker is free (no generation waits for its
 * slowest model), and yet what it is and how it is pruned are a deterministic function of the run's seed.
 *
 * How: the search runs on L virtual lanes (L = the run's `lanes`, recorded in its config), each training one model
 * at a time on a virtual clock that counts epochs trained, plus a fixed overhead per model. Model k goes to the lane
 * whose clock is lowest (ties: the lower lane) and starts at that clock's time s_k; it is bred, and its pruning
 * thresholds are set, from the models that ended by s_k in virtual time. That schedule depends only on what each
 * model cost in epochs, never on which job happened to finish first.
 *
 * The coordinator runs it conservatively: model k is decided only once nothing still training could end at or
 * before s_k. A training model cannot end before its next possible stop (its next pruning rung, or its last epoch),
 * so its lower bound rises with the progress it reports, and most decisions wait for nothing. The result equals the
 * schedule full knowledge of every cost would give (tested), for any real order of job ends and on resume.
 *
 * With promotion (pruner.promote) an item of the schedule is either a model's first segment (up to its pause) or a
 * paused model's resumed segment; both take a lane and have a start, a cost and a lower bound alike. Which one a free
 * lane gets is decided in coordinator.ts (searchSteady) from what ended by its start.
 */

/** The virtual cost of a model beyond its epochs (building, checking, scoring): a pruned model is never free. */
export const MODEL_OVERHEAD_EPOCHS = 0.2;

/**
 * A steady run's lanes: the config's `lanes`, else the executor's workers when it can count them (a thread pool).
 * A queue cannot count its fleet, and the lanes decide the run's models, so there the config must name them.
 */
export function steadyLanes(lanes: number | undefined, workers: number | undefined): number {
  if (lanes !== undefined) return lanes;
  if (workers !== undefined) return workers;
  throw new LoomError('LOOM_ERR_CONFIG', 'a "steady" schedule through a queue needs "lanes" in the config: the number of jobs your workers train at once');
}

export interface Slot {
  readonly lane: number;
  /** Virtual start: the lane's clock when the model was given to it. */
  readonly start: number;
}

interface Scheduled extends Slot {
  /** Virtual end, once the model is final (done, pruned or failed). */
  end: number | null;
  /** While it trains: the earliest virtual time it could still end. */
  lowerBound: number;
}

export class SteadySchedule {
  private readonly models: Scheduled[] = [];

  constructor(readonly lanes: number) {
    if (!Number.isInteger(lanes) || lanes < 1) throw configError('lanes', `must be a positive integer, got ${lanes}`);
  }

  get size(): number {
    return this.models.length;
  }

  /** Each lane's last model, or undefined for an unused lane. */
  private lastOnLanes(): (Scheduled | undefined)[] {
    const last: (Scheduled | undefined)[] = Array.from({ length: this.lanes });
    for (const m of this.models) last[m.lane] = m;
    return last;
  }

  /**
   * The slot of the next model, or null while it is not decided yet: a model still training could end at or before
   * the earliest free lane's clock (wait for its progress or its end). `replay` decides as the original run did for a
   * model that already exists: its lane's previous model had ended, and every model still unfinished then (and so
   * unfinished now) ended after it started.
   */
  next(replay = false): Slot | null {
    const last = this.lastOnLanes();
    let best: Slot | null = null;
    last.forEach((m, lane) => {
      if (m && m.end === null) return;
      const clock = m?.end ?? 0;
      if (best === null || clock < best.start) best = { lane, start: clock };
    });
    if (best === null) return null;
    const chosen: Slot = best;
    if (replay) return chosen;
    // Strict: a model ending exactly at the chosen start would count among what the new one is bred from.
    return this.models.some((m) => m.end === null && m.lowerBound <= chosen.start) ? null : chosen;
  }

  /** Gives the next model its slot; returns its index. `lowerBound` is its cost's floor before any progress. */
  add(slot: Slot, lowerBoundCost: number): number {
    this.models.push({ ...slot, end: null, lowerBound: slot.start + lowerBoundCost });
    return this.models.length - 1;
  }

  private at(index: number): Scheduled {
    const m = this.models[index];
    if (!m) throw new RangeError(`no scheduled model ${index}`);
    return m;
  }

  slot(index: number): Slot {
    const { lane, start } = this.at(index);
    return { lane, start };
  }

  /** A training model reported progress: it cannot end before start + this cost (never lowers what is known). */
  raiseLowerBound(index: number, cost: number): void {
    const m = this.at(index);
    m.lowerBound = Math.max(m.lowerBound, m.start + cost);
  }

  /** The model is final; `cost` in virtual epochs (see modelCost). */
  finish(index: number, cost: number): void {
    const m = this.at(index);
    if (m.end !== null) throw new Error(`scheduled model ${index} finished twice`);
    m.end = m.start + cost;
  }

  /** The virtual end of a final item. */
  endOf(index: number): number {
    const { end } = this.at(index);
    if (end === null) throw new Error(`scheduled item ${index} has not ended`);
    return end;
  }

  isFinished(index: number): boolean {
    return this.at(index).end !== null;
  }

  /** Indices of the models that ended by virtual time t: what a model starting at t is bred and pruned from. */
  endedBy(t: number): number[] {
    return this.models.flatMap((m, i) => (m.end !== null && m.end <= t ? [i] : []));
  }
}

/** What a final model cost in virtual epochs: the epochs it trained (every fold of a bag) plus the overhead. */
export function modelCost(outcome: 'done' | 'pruned' | 'failed', epochsRun: number, maxEpochs: number, folds: number): number {
  // A failure is charged as the longest the model could have trained: never below a lower bound given earlier.
  if (outcome === 'failed') return MODEL_OVERHEAD_EPOCHS + maxEpochs * folds;
  // A pruned bag stopped during fold 0; a done one trained every fold.
  return MODEL_OVERHEAD_EPOCHS + epochsRun * (outcome === 'done' ? folds : 1);
}

/**
 * The earliest virtual cost at which a model that has reported progress up to epoch `progress` could still end: its
 * next pruning rung after that point that can stop it, any whole epoch from that point on when early stopping is on,
 * else its last epoch. A job reports a point only once it has passed that point's rung (workers/fit.ts), so the rung
 * at `progress` is behind it; early stopping decides an epoch before reporting it, and may still end the job there.
 */
export function costLowerBound(progress: number, maxEpochs: number, stopBelow: readonly RungThreshold[], earlyStopping: boolean): number {
  const stops = [
    maxEpochs,
    ...stopBelow.filter((t) => t.minValAccuracy > 0 && t.epoch > progress).map((t) => t.epoch),
    ...(earlyStopping ? [Math.max(1, Math.ceil(progress))] : []),
  ];
  return MODEL_OVERHEAD_EPOCHS + Math.min(...stops);
}
