import { configError, LoomError } from '../engine/errors.js';
import type { ModelRecord } from '../store/types.js';
import { withTrainingGenes, type ArchConfig, type TrainingGeneFields } from './arch.js';
import type { RungThreshold } from './jobs.js';
import { bestUpTo, choosePromotion, curveOf, epochsRun, type Curve, type Pruner, type RungEntry } from './pruners.js';

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
 * lane gets is decided from what ended by its start (SteadyModels below); coordinator.ts (searchSteady) trains the
 * items and stores what they give.
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

/**
 * Whom a steady search breeds a model from (model indices, in creation order), and of those, the ones that take part
 * as they were at their pause (promotion), with their validation accuracy there.
 */
export interface BreedingPool {
  readonly models: readonly number[];
  readonly atPause: ReadonlyMap<number, number>;
}

/** What a steady search's bookkeeping reads of its run: the rules that set each model's cost, rungs and promotion. */
export interface SteadyRules {
  readonly lanes: number;
  /** The run's training settings, which a model's own genes (epochs) override. */
  readonly training: TrainingGeneFields;
  readonly pruner: Pruner;
  /** Where models pause for promotion (pruners.ts promotionRung), or null without promotion. */
  readonly promotionRung: number | null;
  /** ASHA's η: the share of the models recorded at the promotion rung that go on. */
  readonly eta: number;
  /** Networks per model (a k-fold bag trains one per fold). */
  readonly folds: number;
  readonly earlyStopping: boolean;
}

/** One item of the schedule: the model it trains, and whether it is that model's resumed segment. */
interface SteadyItem {
  readonly model: number;
  readonly resumed: boolean;
}

/**
 * The models of a steady search and the schedule items that train them: what each item costs and how soon it could
 * end, what a model starting at virtual time t is pruned against and bred from, and which paused model a free lane
 * resumes. Pure bookkeeping over the records the coordinator hands it (no store, no jobs), so every decision is a
 * function of the models' stored outcomes and the schedule, as a resumed run replays them.
 *
 * Per model m: its record (replaced when an item of it ends), its validated config (null if the stored one no longer
 * is), its thresholds, and its items: the first segment, and the resumed one once promoted.
 */
export class SteadyModels {
  readonly schedule: SteadySchedule;
  private readonly records: ModelRecord[] = [];
  private readonly configs: (ArchConfig | null)[] = [];
  private readonly stops: RungThreshold[][] = [];
  private readonly firstItem: number[] = [];
  private readonly resumeItem: (number | undefined)[] = [];
  private readonly items: SteadyItem[] = [];

  /** `promotedBefore`: the ids of models promoted before (a resumed run), whose first segment paused whatever followed. */
  constructor(
    private readonly rules: SteadyRules,
    private readonly promotedBefore: ReadonlySet<string> = new Set(),
  ) {
    this.schedule = new SteadySchedule(rules.lanes);
  }

  /** The models so far, in creation order (index = model number). */
  get models(): readonly ModelRecord[] {
    return this.records;
  }

  /** Their validated configs (null where the stored one no longer validates). */
  get archs(): readonly (ArchConfig | null)[] {
    return this.configs;
  }

  /** How many models have been promoted (their resumed segment placed). */
  get promotions(): number {
    return this.resumeItem.filter((i) => i !== undefined).length;
  }

  item(i: number): SteadyItem {
    const item = this.items[i];
    if (!item) throw new RangeError(`no schedule item ${i}`);
    return item;
  }

  record(m: number): ModelRecord {
    const record = this.records[m];
    if (!record) throw new RangeError(`no steady model ${m}`);
    return record;
  }

  /** Model m's record as it now stands (an item of it ended). */
  update(m: number, record: ModelRecord): void {
    this.record(m);
    this.records[m] = record;
  }

  /** The thresholds model m's first segment trains under (set when it was placed). */
  thresholdsOf(m: number): readonly RungThreshold[] {
    return this.stops[m] ?? [];
  }

  /** A model's epochs: the run's, or its own epochs gene. */
  epochsOf(m: number): number {
    const arch = this.configs[m] ?? null;
    return arch ? withTrainingGenes(this.rules.training, arch).epochs : this.rules.training.epochs;
  }

  /** The promotion rung when model m pauses there (it trains beyond it), else null. */
  pauseOf(m: number): number | null {
    const rung = this.rules.promotionRung;
    return rung !== null && this.epochsOf(m) > rung ? rung : null;
  }

  /** What final item i cost in virtual epochs. */
  costOf(i: number): number {
    const { model: m, resumed } = this.item(i);
    const record = this.record(m);
    const outcome = record.status === 'done' || record.status === 'pruned' ? record.status : 'failed';
    const pause = this.pauseOf(m);
    const ran = epochsRun(record.metrics ?? []);
    if (resumed) return modelCost(outcome, ran - (pause ?? 0), this.epochsOf(m) - (pause ?? 0), 1);
    // A first segment that paused cost the epochs to the rung, whatever became of the model afterwards.
    if (pause !== null && (record.status === 'paused' || this.resumeItem[m] !== undefined || this.promotedBefore.has(record.modelId))) return MODEL_OVERHEAD_EPOCHS + pause;
    return modelCost(outcome, ran, pause ?? this.epochsOf(m), this.rules.folds);
  }

  /**
   * The earliest virtual cost at which item i, having reported progress up to epoch `progress`, could end. A bag's
   * progress counts its folds' epochs one after another, which no rung refers to: its bound stays the first.
   */
  boundAt(i: number, progress: number): number {
    const { model: m, resumed } = this.item(i);
    const pause = this.pauseOf(m);
    if (resumed) return MODEL_OVERHEAD_EPOCHS + this.epochsOf(m) - (pause ?? 0);
    return costLowerBound(progress, (pause ?? this.epochsOf(m)) * this.rules.folds, this.stops[m] ?? [], this.rules.earlyStopping);
  }

  /** Item i is final: its model's record says how it ended. */
  finish(i: number): void {
    this.schedule.finish(i, this.costOf(i));
  }

  /** The models with an item ended by virtual time t, in creation order (a model's first segment ends before any other of its items). */
  private endedModels(t: number): number[] {
    return [...new Set(this.schedule.endedBy(t).map((i) => this.item(i).model))].sort((a, b) => a - b);
  }

  // A model's curve may already hold points of a resumed segment that ends after t; no rule below reads a point
  // past the promotion rung (thresholds stop below it, promotion reads the best value up to it), so that is harmless.
  private curveOf(m: number): Curve {
    return curveOf(this.record(m).metrics ?? []);
  }

  /** The thresholds of a model of `epochs` epochs starting at t: from the curves of the models ended by then. */
  private thresholdsAt(start: number, epochs: number): RungThreshold[] {
    const history = this.endedModels(start).map((m) => this.curveOf(m)).filter((c) => c.length > 0);
    const all = this.rules.pruner.thresholds(history, epochs);
    // A model that pauses at the promotion rung is not stopped there or beyond: promotion decides.
    const rung = this.rules.promotionRung;
    return rung !== null && epochs > rung ? all.filter((t) => t.epoch < rung) : all;
  }

  /** The models done by virtual time t: their last item (the resumed segment, if promoted) ended by then. */
  private doneBy(t: number): number[] {
    return this.endedModels(t).filter((m) => {
      const last = this.resumeItem[m] ?? this.firstItem[m];
      return this.record(m).status === 'done' && last !== undefined && this.schedule.isFinished(last) && this.schedule.endOf(last) <= t;
    });
  }

  /**
   * Whom a model starting at t is bred from: the models done by t, and those paused by t (promoted or not, their
   * resumed segment had not ended by then), scored by their validation predictions at the pause.
   */
  breedingPool(t: number): BreedingPool {
    const done = this.doneBy(t);
    const atPause = new Map<number, number>();
    for (const m of this.endedModels(t)) {
      const resumed = this.resumeItem[m];
      const stillPaused = resumed === undefined ? this.record(m).status === 'paused' : !(this.schedule.isFinished(resumed) && this.schedule.endOf(resumed) <= t);
      const value = this.curveOf(m).find((p) => p.epoch === this.pauseOf(m))?.valAccuracy;
      if (stillPaused && !done.includes(m) && value !== undefined && !Number.isNaN(value)) atPause.set(m, value);
    }
    return { models: [...done, ...atPause.keys()].sort((a, b) => a - b), atPause };
  }

  /** The paused model a lane free at t resumes, or null (pruners.ts choosePromotion). */
  promotionAt(t: number): number | null {
    const rung = this.rules.promotionRung;
    if (rung === null) return null;
    const entries: RungEntry[] = this.endedModels(t).flatMap((m) => {
      const curve = this.curveOf(m);
      if (!curve.some((p) => p.epoch >= rung)) return [];
      const value = bestUpTo(curve, rung);
      return Number.isNaN(value) ? [] : [{ model: m, value, waiting: this.record(m).status === 'paused' && this.resumeItem[m] === undefined }];
    });
    return choosePromotion(entries, this.promotions, this.rules.eta);
  }

  /** A new model's first segment takes the slot, with thresholds from what ended by its start; returns its item index. */
  place(slot: Slot, model: ModelRecord, arch: ArchConfig | null): number {
    const m = this.records.length;
    this.records.push(model);
    this.configs.push(arch);
    this.stops.push(this.thresholdsAt(slot.start, this.epochsOf(m)));
    const i = this.items.length;
    this.items.push({ model: m, resumed: false });
    this.firstItem.push(i);
    this.resumeItem.push(undefined);
    return this.schedule.add(slot, this.boundAt(i, 0));
  }

  /** Paused model m's resumed segment takes the slot; returns its item index. */
  placeResumed(slot: Slot, m: number): number {
    const i = this.items.length;
    this.items.push({ model: m, resumed: true });
    this.resumeItem[m] = i;
    return this.schedule.add(slot, this.boundAt(i, 0));
  }

  /** The ids of generation g's models so far. */
  membersOf(generation: number): string[] {
    return this.records.filter((m) => m.generation === generation).map((m) => m.modelId);
  }
}
