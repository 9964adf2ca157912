import { randomBytes } from 'node:crypto';
import { LoomError } from '../engine/errors.js';
import { deriveSeed, Rng } from '../engine/rng.js';
import type { Store } from '../store/store.js';
import { holdRunLease, type HeldLease, type LeaseOptions } from '../store/lease.js';
import type { ModelRecord, ModelResult } from '../store/types.js';
import type { Executor, JobProgress, TrainingJob } from './jobs.js';
import { expectAugmentable, generateConfigs, randomConfig, searchSpace, validateConfig, withTrainingGenes, type ArchConfig, type TaskShape } from './arch.js';
import { isRefitGeneration, refitConfigs, refitAugments, type RefitSpec } from './refit.js';
import { inheritsFrom } from './inherit.js';
import { parseRunConfig, resolveAutoKFold, type SearchConfig } from './config.js';
import { dataOptions, loadDataset, type LoadedDataset } from '../data/index.js';
import { nextGeneration, type Individual } from './evolve.js';
import { bestRecord } from './best.js';
import { computeFitness, partsRecord, type FitnessResult } from './fitness.js';
import { Budget, createPruner, curveOf, epochsRun, promotionRung, prunedAt, type Curve } from './pruners.js';
import type { RungThreshold } from './jobs.js';
import { SteadyModels, steadyLanes, type BreedingPool } from './steady.js';

/**
 * A search run: generations of configs, dispatched to an Executor (worker threads or BullMQ), results written
 * to the store. The coordinator is the only writer of the store.
 *
 * Crash safety: a generation's configs are written (as pending models) before any of them trains (with a steady
 * schedule, each model's before it trains), and every random choice is seeded from the run seed (and generation, or
 * model index), so `resume` re-creates exactly what an uninterrupted run would have, trains only the models that are
 * not done, and never trains a finished model twice.
 */
export type RunEvent =
  | {
      kind: 'run-start';
      runId: string;
      totalModels: number;
      doneModels: number;
      generations: number;
      /** When the search stops starting models (ms since the epoch, the coordinator's clock); absent with no minutes budget. */
      searchDeadline?: number;
    }
  | { kind: 'generation-start'; generation: number; models: number }
  | { kind: 'model-start'; modelId: string; generation: number }
  | { kind: 'model-progress'; progress: JobProgress }
  | { kind: 'model-done'; modelId: string; valAccuracy: number; testAccuracy: number; trainMs: number; worker: string }
  | { kind: 'model-failed'; modelId: string; error: string; attempts: number }
  | { kind: 'model-pruned'; modelId: string; epoch: number; valAccuracy: number; trainMs: number }
  /** Paused at a promotion rung (pruner.promote): it goes on only if promoted, else it ends pruned there. */
  | { kind: 'model-paused'; modelId: string; epoch: number; valAccuracy: number; trainMs: number }
  | { kind: 'generation-done'; generation: number; bestValAccuracy: number; meanValAccuracy: number; /** Members trained to the end (not pruned or failed). */ done: number }
  | { kind: 'budget-exhausted'; generation: number }
  /** The refit trains `epochs` instead of `from`: more would not fit its `minutes` (search/refit.ts refitEpochs). */
  | { kind: 'refit-cut'; epochs: number; from: number; minutes: number };

export interface CoordinatorOptions {
  readonly store: Store;
  readonly executor: Executor;
  readonly onEvent?: (event: RunEvent) => void;
  readonly signal?: AbortSignal;
  /** Attempts per model before it is marked failed (default 2). */
  readonly maxAttempts?: number;
  readonly codeVersion?: string;
  readonly now?: () => number;
  /** The run lease (one coordinator per run): owner name, TTL and heartbeat period; defaults in store/runs.ts. */
  readonly lease?: Omit<LeaseOptions, 'onLost'>;
  /**
   * Finishing steps of a finished run (analysis, graft, export), run under the lease. The run is marked finalized
   * only when they succeed, so `resume` of a run killed during them does them again.
   */
  readonly finish?: (summary: RunSummary) => void | Promise<void>;
}

export interface RunSummary {
  readonly runId: string;
  readonly status: 'finished' | 'interrupted';
  readonly modelsTrained: number;
  readonly modelsFailed: number;
  readonly bestModelId: string | null;
  readonly bestValAccuracy: number | null;
  readonly bestTestAccuracy: number | null;
  readonly wallMs: number;
}

export class RunInterrupted extends Error {
  constructor() {
    super('run interrupted');
    this.name = 'RunInterrupted';
  }
}

/**
 * Which part of a model's training a job does: all of it (no fields), the first segment up to a promotion rung
 * (`pauseAt`), or the segment a promotion resumes from the stored pause (`resumeFrom`, with the first segment's
 * pause point and training time, which the finished model's record adds up).
 */
interface Segment {
  readonly pauseAt?: number;
  readonly resumeFrom?: { readonly weights: Uint8Array; readonly state: Uint8Array; readonly epoch: number; readonly trainMs: number };
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

const generationSeed = (seed: number, generation: number): number => deriveSeed(seed, 'generation', generation);
const modelSeed = (seed: number, modelId: string): number => deriveSeed(seed, 'model', modelId);

const leaseLost = (runId: string): LoomError =>
  new LoomError('LOOM_ERR_USAGE', `run ${runId} was taken over by another coordinator after this one missed its heartbeats; stopped`);

export function totalModels(config: SearchConfig): number {
  // A budgeted search has no fixed size: an epoch budget gives a lower bound (pruned models cost less), minutes none.
  if (config.budget) return config.budget.epochs !== undefined ? Math.max(config.population, Math.ceil(config.budget.epochs / config.training.epochs)) : 0;
  // A steady schedule keeps no elites: every model is new.
  if (config.schedule === 'steady') return config.population * config.generations;
  return config.population + (config.generations - 1) * (config.population - config.elite);
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  // Unique per invocation on purpose (two runs with the same seed must not collide); it affects no result.
  return `run-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** What one epoch of a model costs the epoch budget: a k-fold model (a bag) trains one network per fold, so k. */
const epochCost = (config: SearchConfig): number => config.data.kfold ?? 1;

export class Coordinator {
  private readonly store: Store;
  private readonly executor: Executor;
  private readonly emit: (e: RunEvent) => void;
  private readonly maxAttempts: number;
  private readonly now: () => number;
  private currentRunId: string | null = null;

  constructor(private readonly options: CoordinatorOptions) {
    this.store = options.store;
    this.executor = options.executor;
    // Every event also goes to the store's event log, which live views (the dashboard) follow.
    this.emit = (event) => {
      options.onEvent?.(event);
      if (this.currentRunId) this.store.appendEvent(this.currentRunId, event.kind, event);
    };
    this.maxAttempts = options.maxAttempts ?? 2;
    this.now = options.now ?? Date.now;
  }

  /** Starts a new run and runs it to the end (or until interrupted). */
  async start(config: SearchConfig, runId = newRunId()): Promise<RunSummary> {
    config = resolveAutoKFold(config);
    // A steady schedule's results depend on its lanes: recorded with the run, so a resume with other workers replays it.
    if (config.schedule === 'steady') config = { ...config, lanes: steadyLanes(config.lanes, this.executor.workers) };
    const dataset = loadDataset(config.data.ref, dataOptions(config.data));
    // Refused before the run exists: what only the data's shape can rule out.
    const task: TaskShape = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
    searchSpace(task, config.generator);
    const augments = refitAugments(config.refit);
    if (augments) expectAugmentable(augments, task.inputShape);
    this.store.createRun({
      id: runId,
      name: config.name,
      config,
      seed: config.seed,
      dataRef: config.data.ref,
      dataChecksum: dataset.checksum,
      codeVersion: this.options.codeVersion ?? 'unknown',
    });
    return this.underLease(runId, () => this.execute(runId, config, dataset));
  }

  /**
   * Finishes an interrupted or stalled run (nothing finished is redone, nothing is lost), or only the finishing
   * steps of a finished run that lacks them. Refused while another coordinator holds the run's lease.
   */
  async resume(runId: string): Promise<RunSummary> {
    const known = this.store.getRun(runId);
    if (!known) throw new LoomError('LOOM_ERR_USAGE', `no run "${runId}" in this database (see \`loom runs\`)`);
    if (known.status === 'finished' && known.finalizedAt !== null) throw new LoomError('LOOM_ERR_USAGE', `run "${runId}" has already finished`);
    const config = parseRunConfig(this.store.getRunConfig(runId), runId);
    return this.underLease(runId, async () => {
      // Read again under the lease: the previous holder may have got further meanwhile.
      const run = this.store.getRun(runId);
      if (run?.status === 'finished') {
        if (run.finalizedAt !== null) throw new LoomError('LOOM_ERR_USAGE', `run "${runId}" has already finished`);
        this.currentRunId = runId;
        return this.finalize(this.summarize(runId, 'finished', 0));
      }
      const dataset = loadDataset(config.data.ref, { ...dataOptions(config.data), expectedChecksum: known.dataChecksum });
      this.store.updateRunStatus(runId, 'running');
      return this.execute(runId, config, dataset);
    });
  }

  private lease: HeldLease | null = null;

  /** Runs `work` holding the run's lease (taken now, heartbeat-renewed, released at the end whatever happens). */
  private async underLease(runId: string, work: () => Promise<RunSummary>): Promise<RunSummary> {
    this.lease = holdRunLease(this.store, runId, this.options.lease ?? {});
    try {
      return await work();
    } finally {
      this.lease.release();
      this.lease = null;
    }
  }

  /** The finishing steps, then the mark that says they are done. */
  private async finalize(summary: RunSummary): Promise<RunSummary> {
    if (summary.modelsTrained > 0) await this.options.finish?.(summary);
    this.store.markRunFinalized(summary.runId);
    return summary;
  }

  /** When every model failed, the run failed: marked so, and the error names the first failure's reason. */
  private failIfNothingTrained(summary: RunSummary): void {
    if (summary.modelsTrained > 0 || summary.modelsFailed === 0) return;
    const first = this.store
      .listModels(summary.runId, { status: 'failed' })
      .reduce((a, b) => (b.updatedAt < a.updatedAt ? b : a));
    this.store.finishRun(summary.runId, summary, 'failed');
    throw new LoomError(
      'LOOM_ERR_CONFIG',
      `every model of run ${summary.runId} failed (${summary.modelsFailed}); the first, ${first.modelId}: ${first.error ?? 'no reason recorded'}`,
    );
  }

  private async execute(runId: string, config: SearchConfig, dataset: LoadedDataset): Promise<RunSummary> {
    const started = this.now();
    this.currentRunId = runId;
    const task: TaskShape = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
    const budgetMs = config.timeBudgetMinutes > 0 ? config.timeBudgetMinutes * 60_000 : Infinity;
    // Models left 'running' by a process that died are simply pending again.
    this.store.resetRunningModels(runId);
    // The budget counts the epochs already trained (a resumed run) and the minutes from now.
    const budget = new Budget(config.budget, started, this.now);
    for (const m of this.store.listModels(runId)) if (m.status === 'done' || m.status === 'pruned' || m.status === 'paused') budget.spend(epochsRun(m.metrics ?? []) * epochCost(config));
    const deadline = Math.min(started + budgetMs, budget.deadline);
    const spent = (): boolean => this.now() > deadline || budget.exhausted();
    const total = totalModels(config);
    this.emit({
      kind: 'run-start',
      runId,
      totalModels: total,
      doneModels: this.store.listModels(runId, { status: 'done' }).length,
      generations: config.generations,
      ...(Number.isFinite(deadline) ? { searchDeadline: deadline } : {}),
    });

    let status: RunSummary['status'] = 'finished';
    try {
      // A run stopped during its refit had finished searching: a resume finishes the refit, with no new window.
      const searched = this.store.listGenerations(runId).some((g) => isRefitGeneration(g.index, config.generations));
      if (!searched) {
        if (config.schedule === 'steady') await this.searchSteady(runId, config, dataset, task, spent, budget);
        else await this.searchGenerations(runId, config, dataset, task, spent, deadline, budget);
      }
      if (config.refit) await this.refit(runId, config, dataset, config.refit);
    } catch (err) {
      if (this.lease?.lost) throw leaseLost(runId);
      if (err instanceof RunInterrupted) status = 'interrupted';
      else {
        this.store.updateRunStatus(runId, 'failed');
        throw err;
      }
    }
    // Another coordinator took the run over (this one stalled past its lease): leave the run to it.
    if (this.lease?.lost) throw leaseLost(runId);

    const summary = this.summarize(runId, status, this.now() - started);
    if (status === 'finished') {
      this.failIfNothingTrained(summary);
      this.store.finishRun(runId, summary);
      return this.finalize(summary);
    } else {
      this.store.resetRunningModels(runId);
      this.store.updateRunStatus(runId, 'interrupted');
    }
    return summary;
  }

  /**
   * The members of a generation, creating it when it does not exist yet: generation 0 from the generator,
   * later ones by evolution from the previous generation's trained members. Elites keep their ids (and results).
   */
  private ensureGeneration(runId: string, config: SearchConfig, task: TaskShape, generation: number, valLabels: Int32Array): ModelRecord[] {
    const existing = this.store.listGenerations(runId).find((g) => g.index === generation);
    let memberIds: string[];
    if (existing) {
      memberIds = [...(existing.stats?.members ?? [])];
    } else {
      const rng = new Rng(generationSeed(config.seed, generation));
      // The generator options fitted to the data (conv stems for images, MLP brains for tables; arch.ts).
      const space = searchSpace(task, config.generator);
      let configs: ArchConfig[];
      if (generation === 0) {
        configs = generateConfigs(config.population, task, rng, space, 'g0-');
      } else {
        const scored = this.fitnessOf(runId, config, generation - 1, valLabels);
        const population: Individual[] = scored.records.map((m, k) => ({
          config: validateConfig(m.arch),
          valAccuracy: m.valAccuracy ?? 0,
          valMask: scored.masks[k] as Uint8Array,
        }));
        if (population.length === 0) throw new LoomError('LOOM_ERR_CONFIG', `generation ${generation - 1} has no trained model to evolve from`);
        configs = nextGeneration(population, rng, {
          fitness: scored.fitness,
          parentPool: scored.parentPool,
          generation,
          size: config.population,
          elite: Math.min(config.elite, population.length),
          tournamentSize: config.tournamentSize,
          mutationRate: config.mutationRate,
          crossoverRate: config.crossoverRate,
          lambda: config.diversityWeight,
          genOptions: space,
        });
      }
      memberIds = configs.map((c) => c.id);
      const known = new Set(this.store.listModels(runId).map((m) => m.modelId));
      // One transaction: the generation and its pending models appear together or not at all.
      this.store.transaction(() => {
        this.store.addGeneration(runId, generation, { members: memberIds });
        this.store.addModels(
          runId,
          configs.filter((c) => !known.has(c.id)).map((c) => ({ modelId: c.id, generation, arch: c, parentIds: c.parents, seed: modelSeed(config.seed, c.id) })),
        );
      });
    }
    const byId = new Map(this.store.listModels(runId).map((m) => [m.modelId, m]));
    return memberIds.map((id) => byId.get(id)).filter((m): m is ModelRecord => m !== undefined);
  }

  /**
   * The final refit (search/refit.ts): one more generation, index config.generations, of the best models retrained
   * with the refit's epochs. Its own lanes rather than trainAll: a refit is never pruned and spends no search budget.
   * Resumable like any generation: the members are written before training, finished ones are not redone.
   */
  private async refit(runId: string, config: SearchConfig, dataset: LoadedDataset, spec: RefitSpec): Promise<void> {
    const generation = config.generations;
    const existing = this.store.listGenerations(runId).find((g) => g.index === generation);
    let memberIds: string[];
    if (existing) memberIds = [...(existing.stats?.members ?? [])];
    else {
      const configs = refitConfigs(this.store.listModels(runId), spec, config.generations, config.inherit === 'all', this.executor.concurrency);
      if (configs.length === 0) return;
      const epochs = configs[0]?.epochs ?? spec.epochs;
      if (epochs < spec.epochs) this.emit({ kind: 'refit-cut', epochs, from: spec.epochs, minutes: spec.minutes ?? 0 });
      memberIds = configs.map((c) => c.id);
      this.store.transaction(() => {
        this.store.addGeneration(runId, generation, { members: memberIds });
        this.store.addModels(runId, configs.map((c) => ({ modelId: c.id, generation, arch: c, parentIds: c.parents, seed: modelSeed(config.seed, c.id) })));
      });
    }
    const byId = new Map(this.store.listModels(runId).map((m) => [m.modelId, m]));
    const queue = memberIds.map((id) => byId.get(id)).filter((m): m is ModelRecord => m?.status === 'pending');
    this.emit({ kind: 'generation-start', generation, models: queue.length });
    const dataRef = { ref: config.data.ref, checksum: dataset.checksum, ...dataOptions(config.data) };
    const signal = this.options.signal;
    const lane = async (): Promise<void> => {
      for (;;) {
        if (signal?.aborted || this.lease?.lost) throw new RunInterrupted();
        const model = queue.shift();
        if (!model) return;
        await this.trainOne(runId, config, dataRef, model);
      }
    };
    const results = await Promise.allSettled(Array.from({ length: Math.min(this.executor.concurrency, queue.length) }, lane));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    if (signal?.aborted) throw new RunInterrupted();
    // Fitness parts give the refit models their validation log-loss (the best-model rule's tie-break); stored for
    // them only, so the search models keep the fitness evolution selected them on.
    const scored = this.fitnessOf(runId, config, generation, dataset.val.y);
    const mine = scored.records.flatMap((m, k) => (memberIds.includes(m.modelId) ? [k] : []));
    this.storeFitness(runId, {
      ...scored,
      records: mine.map((k) => scored.records[k] as ModelRecord),
      fitness: mine.map((k) => scored.fitness[k] as number),
      parts: mine.map((k) => scored.parts[k] as FitnessResult['parts'][number]),
    });
    this.finishGeneration(runId, generation, memberIds);
  }

  /** Marks a generation finished with its members' aggregates, and says so. */
  private finishGeneration(runId: string, generation: number, memberIds: readonly string[]): void {
    const done = this.store.listModels(runId, { status: 'done' }).filter((m) => memberIds.includes(m.modelId));
    const accs = done.map((m) => m.valAccuracy ?? 0);
    const stats = {
      members: [...memberIds],
      bestValAccuracy: accs.length ? Math.max(...accs) : 0,
      meanValAccuracy: accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : 0,
      done: done.length,
    };
    this.store.finishGeneration(runId, generation, stats);
    this.emit({ kind: 'generation-done', generation, bestValAccuracy: stats.bestValAccuracy, meanValAccuracy: stats.meanValAccuracy, done: stats.done });
  }

  /**
   * The population evolution selects from after `generation`, with its fitness (search/fitness.ts): for 'nes' every
   * model finished so far (the ensemble is chosen from all of them), otherwise the generation's finished members.
   */
  private fitnessOf(runId: string, config: SearchConfig, generation: number, valLabels: Int32Array): FitnessResult & { records: ModelRecord[]; masks: readonly Uint8Array[] } {
    const members = new Set(this.store.listGenerations(runId).find((g) => g.index === generation)?.stats?.members ?? []);
    const records = this.store
      .listModels(runId, { status: 'done' })
      .filter((m) => (config.fitness === 'nes' ? m.generation <= generation || members.has(m.modelId) : members.has(m.modelId)));
    return this.score(runId, config, records, valLabels);
  }

  /** The fitness (search/fitness.ts) of these finished models, from their stored validation predictions. */
  private score(
    runId: string,
    config: SearchConfig,
    records: ModelRecord[],
    valLabels: Int32Array,
    /** Models scored by their predictions at their pause (promotion), not as finished. */
    atPause: ReadonlySet<string> = new Set(),
  ): FitnessResult & { records: ModelRecord[]; masks: readonly Uint8Array[] } {
    if (records.length === 0) return { records, masks: [], fitness: [], parts: [], parentPool: [] };
    const ids = records.map((m) => m.modelId);
    const finished = ids.filter((id) => !atPause.has(id));
    const paused = ids.filter((id) => atPause.has(id));
    const sources = [
      ...(finished.length > 0 ? [this.store.getPredictions(runId, 'val', finished)] : []),
      ...(paused.length > 0 ? [this.store.getPausedPredictions(runId, paused)] : []),
    ];
    const byId = new Map(sources.flatMap((p) => p.modelIds.map((id, k) => [id, { probs: p.probs[k] as Float32Array, mask: p.masks[k] as Uint8Array }] as const)));
    const val = ids.map((id) => byId.get(id) as { probs: Float32Array; mask: Uint8Array });
    const numClasses = sources[0]?.numClasses ?? 0;
    if (sources.some((p) => p.numClasses !== numClasses)) throw new LoomError('LOOM_ERR_STORE', `run ${runId}: paused and finished models' predictions have different class counts`);
    const fitness = computeFitness(config.fitness, { modelIds: ids, valProbs: val.map((v) => v.probs), labels: valLabels, numClasses }, { lambda: config.diversityWeight });
    return { records, masks: val.map((v) => v.mask), ...fitness };
  }

  private storeFitness(runId: string, scored: FitnessResult & { records: ModelRecord[] }): void {
    this.store.transaction(() => {
      scored.records.forEach((m, k) => this.store.setFitness(runId, m.modelId, scored.fitness[k] as number, partsRecord(scored.parts[k] as FitnessResult['parts'][number])));
    });
  }

  /** Generational evolution (the default schedule): each generation trains, then the next is bred from it. */
  private async searchGenerations(runId: string, config: SearchConfig, dataset: LoadedDataset, task: TaskShape, spent: () => boolean, deadline: number, budget: Budget): Promise<void> {
    for (let generation = 0; generation < config.generations; generation++) {
      const members = this.ensureGeneration(runId, config, task, generation, dataset.val.y);
      if (spent()) {
        this.emit({ kind: 'budget-exhausted', generation });
        break;
      }
      const pending = members.filter((m) => m.status === 'pending');
      this.emit({ kind: 'generation-start', generation, models: pending.length });
      await this.trainAll(runId, config, dataset, pending, deadline, generation, budget, members.map((m) => m.modelId));
      // Every finished model gets its fitness and parts stored (auditable), including the last generation's.
      this.storeFitness(runId, this.fitnessOf(runId, config, generation, dataset.val.y));
      this.finishGeneration(runId, generation, members.map((m) => m.modelId));
      if (spent() && generation + 1 < config.generations) {
        this.emit({ kind: 'budget-exhausted', generation: generation + 1 });
        break;
      }
    }
  }

  /**
   * Steady-state evolution (config.schedule 'steady'; the schedule is search/steady.ts). Model k is generation 0's
   * k-th random config while k < population, else bred from the models that ended, in the schedule's virtual time, by
   * its start; its pruning thresholds come from the same models. It trains as soon as that is decided, so no worker
   * waits for a generation. Model k is `g<k div population>-<k mod population>` and joins that generation's members
   * when it is created (with its config, in one transaction), so `loom show` and the dashboard read a steady run like
   * any other, and a resumed run replays the schedule from the models already created.
   *
   * With promotion (`pruner.promote`), a model that trains past ASHA's last rung pauses there; a free lane then either
   * resumes a paused model (search/pruners.ts choosePromotion, from the values recorded at the rung by its virtual
   * start) or starts a new one. A resumed segment is an item of the schedule like a model, with its own lane, start
   * and cost; its index is stored with the promotion, so a resumed run replays it. Models still paused when the search
   * ends are pruned at the rung.
   */
  private async searchSteady(runId: string, config: SearchConfig, dataset: LoadedDataset, task: TaskShape, spent: () => boolean, budget: Budget): Promise<void> {
    const size = config.population;
    const cap = size * config.generations;
    const space = searchSpace(task, config.generator);
    const firstConfigs = generateConfigs(size, task, new Rng(generationSeed(config.seed, 0)), space, 'g0-');
    const folds = epochCost(config);
    const dataRef = { ref: config.data.ref, checksum: dataset.checksum, ...dataOptions(config.data) };
    // The promotions made before (a resumed run): schedule item index -> model id.
    const promotedAt = new Map(this.store.listPausedModels(runId).flatMap((p) => (p.resumeItem === null ? [] : [[p.resumeItem, p.modelId] as const])));
    const promotedIds = new Set(promotedAt.values());
    const book = new SteadyModels(
      {
        lanes: steadyLanes(config.lanes, this.executor.workers),
        training: config.training,
        pruner: createPruner(config.pruner),
        promotionRung: promotionRung(config.pruner, config.training.epochs),
        eta: config.pruner.eta ?? 3,
        folds,
        earlyStopping: config.training.patience > 0,
      },
      promotedIds,
    );
    const { schedule } = book;
    const isFinal = (m: ModelRecord): boolean => m.status === 'done' || m.status === 'pruned' || m.status === 'failed';
    const finishIfComplete = (generation: number): void => {
      const members = book.models.filter((m) => m.generation === generation);
      if (members.length === size && members.every(isFinal)) this.finishGeneration(runId, generation, members.map((m) => m.modelId));
    };

    // Replay: the items created before (a resumed run) take the slots they had: the models in creation order, and
    // each promotion at the item index stored with it.
    const stored = this.store.listModels(runId).filter((m) => m.generation < config.generations);
    const misfit = (what: string): LoomError => new LoomError('LOOM_ERR_STORE', `run ${runId}: ${what} does not fit the run's steady schedule; was the run's config changed?`);
    for (let next = 0, i = 0; next < stored.length || promotedAt.size > 0; i++) {
      const slot = schedule.next(true);
      const promotedId = promotedAt.get(i);
      if (promotedId !== undefined) {
        promotedAt.delete(i);
        const m = book.models.findIndex((r) => r.modelId === promotedId);
        if (!slot || m < 0 || book.pauseOf(m) === null) throw misfit(`the promotion of model ${promotedId}`);
        book.placeResumed(slot, m);
        if (isFinal(book.record(m))) book.finish(i);
        continue;
      }
      const model = stored[next++];
      if (!model) throw misfit(`schedule item ${i} (a promotion is missing)`);
      if (!slot) throw misfit(`model ${model.modelId}`);
      let arch: ArchConfig | null = null;
      try {
        arch = validateConfig(model.arch);
      } catch {
        // trainOne fails the model with the reason.
      }
      book.place(slot, model, arch);
      // Its first segment is over when it ended, paused, or was promoted (then it paused before).
      if (isFinal(model) || model.status === 'paused' || promotedIds.has(model.modelId)) book.finish(i);
    }

    let failure: unknown = null;
    let wake: (() => void) | null = null;
    const poke = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    const inFlight = new Set<Promise<void>>();
    const launch = (i: number): void => {
      const { model: m, resumed } = book.item(i);
      const record = book.record(m);
      const pause = book.pauseOf(m);
      let segment: Segment = pause === null ? {} : { pauseAt: pause };
      if (resumed) {
        const from = this.store.getPausedState(runId, record.modelId);
        if (!from || pause === null) throw new LoomError('LOOM_ERR_STORE', `run ${runId}: model ${record.modelId} was promoted but its paused state is not stored`);
        segment = { resumeFrom: { weights: from.weights, state: from.state, epoch: pause, trainMs: record.trainMs ?? 0 } };
      }
      const run: Promise<void> = this.trainOne(runId, config, dataRef, record, resumed ? [] : book.thresholdsOf(m), budget, (progress) => {
        if (folds === 1) schedule.raiseLowerBound(i, book.boundAt(i, progress.epoch));
        poke();
      }, segment)
        .then(() => {
          const model = this.store.getModel(runId, record.modelId);
          const ended = model !== undefined && (isFinal(model) || (!resumed && model.status === 'paused'));
          if (!model || !ended) throw new LoomError('LOOM_ERR_STORE', `run ${runId}: model ${record.modelId} is not final after training`);
          book.update(m, model);
          book.finish(i);
          if (isFinal(model)) finishIfComplete(model.generation);
        })
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => {
          inFlight.delete(run);
          poke();
        });
      inFlight.add(run);
    };
    for (let i = 0; i < schedule.size; i++) if (!schedule.isFinished(i)) launch(i);

    let announced = false;
    for (;;) {
      const stopping = failure !== null || this.options.signal?.aborted === true || this.lease?.lost === true;
      while (!stopping) {
        if (spent()) {
          // The first generation not started in full (a partial one has started).
          if (!announced) this.emit({ kind: 'budget-exhausted', generation: Math.ceil(book.models.length / size) });
          announced = true;
          break;
        }
        const slot = schedule.next();
        if (!slot) break;
        const promoted = book.promotionAt(slot.start);
        if (promoted !== null) {
          this.store.markModelPromoted(runId, book.record(promoted).modelId, schedule.size);
          launch(book.placeResumed(slot, promoted));
          continue;
        }
        if (book.models.length >= cap) break;
        const k = book.models.length;
        const generation = Math.floor(k / size);
        const position = k % size;
        const arch = k < size ? (firstConfigs[k] as ArchConfig) : this.breedSteady(runId, config, task, space, book.models, book.archs, book.breedingPool(slot.start), generation, position, dataset.val.y);
        const members = [...book.membersOf(generation), arch.id];
        this.store.transaction(() => {
          if (position === 0) this.store.addGeneration(runId, generation, { members });
          else this.store.updateGeneration(runId, generation, { members });
          this.store.addModels(runId, [{ modelId: arch.id, generation, arch, parentIds: arch.parents, seed: modelSeed(config.seed, arch.id) }]);
        });
        if (position === 0) this.emit({ kind: 'generation-start', generation, models: size });
        const model = this.store.getModel(runId, arch.id);
        if (!model) throw new LoomError('LOOM_ERR_STORE', `run ${runId}: model ${arch.id} was not stored`);
        launch(book.place(slot, model, arch));
      }
      if (inFlight.size === 0) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (failure !== null) throw failure;
    if (this.options.signal?.aborted || this.lease?.lost) throw new RunInterrupted();
    // The search is over: a model still paused was not promoted, so it was pruned at the rung.
    book.models.forEach((record, m) => {
      if (record.status !== 'paused') return;
      const at = book.pauseOf(m) ?? epochsRun(record.metrics ?? []);
      this.store.transaction(() => {
        this.store.markModelPruned(runId, record.modelId, { metrics: record.metrics ?? [] });
        this.store.releasePausedState(runId, record.modelId);
      });
      this.emit({ kind: 'model-pruned', modelId: record.modelId, epoch: at, valAccuracy: record.valAccuracy ?? Number.NaN, trainMs: record.trainMs ?? 0 });
      book.update(m, this.store.getModel(runId, record.modelId) ?? record);
    });
    const generations = [...new Set(book.models.map((m) => m.generation))];
    const finished = new Set(this.store.listGenerations(runId).flatMap((g) => (g.finishedAt ? [g.index] : [])));
    // The last generation may be partial (the budget ended the search): it is finished with what it has.
    const last = generations.length > 0 ? Math.max(...generations) : -1;
    for (const generation of generations) if (generation !== last && !finished.has(generation)) finishIfComplete(generation);
    if (last >= 0 && !finished.has(last)) this.finishGeneration(runId, last, book.membersOf(last));
    // Every finished model's fitness as evolution would see it next, as the last generation of a generational run has.
    this.storeFitness(runId, this.score(runId, config, this.steadyPopulation(config, book.models.filter((m) => m.status === 'done')), dataset.val.y));
  }

  /** Whom a steady search breeds from: NES chooses its ensemble from every finished model; the other fitnesses age (regularized evolution), keeping the `population` most recent. */
  private steadyPopulation(config: SearchConfig, done: ModelRecord[]): ModelRecord[] {
    return config.fitness === 'nes' ? done : done.slice(-config.population);
  }

  /**
   * Model k of a steady search (k ≥ population): one child of the models that ended before it starts, from its own
   * seed. `pool`: those models, finished or (with promotion) paused; a paused one takes part with its validation
   * predictions and accuracy at the pause, whatever became of it later.
   */
  private breedSteady(
    runId: string,
    config: SearchConfig,
    task: TaskShape,
    space: ReturnType<typeof searchSpace>,
    models: readonly ModelRecord[],
    archs: readonly (ArchConfig | null)[],
    pool: BreedingPool,
    generation: number,
    position: number,
    valLabels: Int32Array,
  ): ArchConfig {
    const rng = new Rng(deriveSeed(config.seed, 'steady-child', generation * config.population + position));
    const parents = pool.models.filter((i) => ((models[i] as ModelRecord).status === 'done' || pool.atPause.has(i)) && archs[i]);
    // Nothing finished or paused yet (everything so far pruned or failed): a fresh random config.
    if (parents.length === 0) return randomConfig(`g${generation}-${position}`, task, rng, space);
    const population = this.steadyPopulation(config, parents.map((i) => models[i] as ModelRecord));
    const atPause = new Set([...pool.atPause.keys()].map((i) => (models[i] as ModelRecord).modelId));
    const scored = this.score(runId, config, population, valLabels, atPause);
    this.storeFitness(runId, scored);
    const individuals: Individual[] = population.map((m, j) => {
      const i = models.indexOf(m);
      return { config: archs[i] as ArchConfig, valAccuracy: pool.atPause.get(i) ?? m.valAccuracy ?? 0, valMask: scored.masks[j] as Uint8Array };
    });
    const [child] = nextGeneration(individuals, rng, {
      fitness: scored.fitness,
      parentPool: scored.parentPool,
      generation,
      firstIndex: position,
      size: 1,
      elite: 0,
      tournamentSize: config.tournamentSize,
      mutationRate: config.mutationRate,
      crossoverRate: config.crossoverRate,
      lambda: config.diversityWeight,
      genOptions: space,
      avoid: archs.filter((a): a is ArchConfig => a !== null),
    });
    if (!child) throw new Error('nextGeneration returned no child');
    return child;
  }

  private async trainAll(
    runId: string,
    config: SearchConfig,
    dataset: LoadedDataset,
    models: ModelRecord[],
    deadline: number,
    generation: number,
    budget: Budget,
    memberIds: readonly string[] = models.map((m) => m.modelId),
  ): Promise<void> {
    const signal = this.options.signal;
    const dataRef = { ref: config.data.ref, checksum: dataset.checksum, ...dataOptions(config.data) };
    const pruner = createPruner(config.pruner);
    // With a pruner, a generation trains in waves of fixed size (by position in the generation, not by worker count):
    // a wave's thresholds come from the curves of earlier generations and earlier waves, all final by then, so the
    // decisions never depend on which job finished first, and a resumed run makes the same ones.
    const waveSize = config.pruner.kind === 'none' ? memberIds.length || 1 : (config.pruner.wave ?? 4);
    const position = new Map(memberIds.map((id, i) => [id, i]));
    const waveOf = (id: string): number => Math.floor((position.get(id) ?? 0) / waveSize);
    const waves = [...new Set(models.map((m) => waveOf(m.modelId)))].sort((a, b) => a - b);
    for (const wave of waves) {
      const earlier = new Set(memberIds.filter((id) => waveOf(id) < wave));
      const history: Curve[] = this.store
        .listModels(runId)
        .filter((m) => (m.status === 'done' || m.status === 'pruned') && (m.generation < generation || earlier.has(m.modelId)))
        .map((m) => curveOf(m.metrics ?? []));
      // Rungs up to the longest training any model may have (epochs can be a gene).
      const stopBelow = pruner.thresholds(history, Math.max(config.training.epochs, ...(config.generator.epochs ?? [])));
      const queue = models.filter((m) => waveOf(m.modelId) === wave);
      const lane = async (): Promise<void> => {
        for (;;) {
          if (signal?.aborted || this.lease?.lost) throw new RunInterrupted();
          if (this.now() > deadline || budget.exhausted()) return;
          const model = queue.shift();
          if (!model) return;
          await this.trainOne(runId, config, dataRef, model, stopBelow, budget);
        }
      };
      const lanes = Array.from({ length: Math.min(this.executor.concurrency, queue.length) }, lane);
      const results = await Promise.allSettled(lanes);
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
      if (signal?.aborted) throw new RunInterrupted();
      if (this.now() > deadline || budget.exhausted()) return;
    }
  }

  private async trainOne(
    runId: string,
    config: SearchConfig,
    dataRef: TrainingJob['data'],
    model: ModelRecord,
    stopBelow: readonly RungThreshold[] = [],
    budget?: Budget,
    onProgress?: (progress: JobProgress) => void,
    segment: Segment = {},
  ): Promise<void> {
    let arch: ArchConfig;
    try {
      arch = validateConfig(model.arch);
    } catch (err) {
      // A stored config that is no longer valid fails its model alone, not the run.
      const message = err instanceof Error ? err.message : String(err);
      this.store.markModelFailed(runId, model.modelId, message);
      this.emit({ kind: 'model-failed', modelId: model.modelId, error: message, attempts: model.attempts });
      return;
    }
    const job: TrainingJob = {
      runId,
      modelId: model.modelId,
      generation: model.generation,
      arch,
      data: dataRef,
      training: config.training,
      seed: model.seed ?? modelSeed(config.seed, model.modelId),
      ...(stopBelow.length > 0 ? { stopBelow } : {}),
      ...(segment.pauseAt === undefined ? {} : { pauseAt: segment.pauseAt }),
      // A resumed segment goes on from its own paused network; only a model's start inherits a parent's weights.
      ...(segment.resumeFrom
        ? { resumeFrom: { modelId: model.modelId, weights: base64(segment.resumeFrom.weights), state: base64(segment.resumeFrom.state) } }
        : this.warmStart(runId, config, model, arch)),
    };
    for (;;) {
      this.store.markModelRunning(runId, model.modelId);
      this.emit({ kind: 'model-start', modelId: model.modelId, generation: model.generation });
      let result: ModelResult;
      try {
        result = await this.executor.run(job, (progress) => {
          this.emit({ kind: 'model-progress', progress });
          onProgress?.(progress);
        });
      } catch (err) {
        if (this.options.signal?.aborted) throw new RunInterrupted();
        const message = err instanceof Error ? err.message : String(err);
        const attempts = this.store.getModel(runId, model.modelId)?.attempts ?? this.maxAttempts;
        if (attempts >= this.maxAttempts) {
          this.store.markModelFailed(runId, model.modelId, message);
          this.emit({ kind: 'model-failed', modelId: model.modelId, error: message, attempts });
          return;
        }
        this.store.markModelPending(runId, model.modelId);
        continue;
      }
      // A resumed segment's curve starts at epoch 0 (the whole history); it trained from the pause on.
      budget?.spend((epochsRun(result.metrics) - (segment.resumeFrom?.epoch ?? 0)) * epochCost(config));
      if (result.paused) {
        if (segment.pauseAt === undefined || result.valMask.length === 0) {
          const message = segment.pauseAt === undefined ? 'the worker returned a paused run for a job that was not told to pause' : 'the worker returned a paused run without its validation predictions';
          this.store.markModelFailed(runId, model.modelId, message);
          this.emit({ kind: 'model-failed', modelId: model.modelId, error: message, attempts: model.attempts });
          return;
        }
        this.store.markModelPaused(runId, model.modelId, {
          metrics: result.metrics,
          valAccuracy: result.valAccuracy,
          trainMs: result.trainMs,
          worker: result.worker,
          epoch: segment.pauseAt,
          weights: result.weights,
          state: result.paused,
          valProbs: result.valProbs,
          valMask: result.valMask,
          numClasses: result.numClasses,
        });
        this.emit({ kind: 'model-paused', modelId: model.modelId, epoch: segment.pauseAt, valAccuracy: result.valAccuracy, trainMs: result.trainMs });
        return;
      }
      const at = stopBelow.length > 0 ? prunedAt(curveOf(result.metrics), stopBelow) : null;
      // Pruned means it stopped at that rung. A bag is judged on fold 0 alone, so a bag that trained every fold is
      // done even where its folds' mean curve dips below a rung.
      if (at !== null && epochsRun(result.metrics) === at) {
        // Stopped by the pruner on purpose: kept with its partial curve, not a failure and not an ensemble candidate.
        this.store.markModelPruned(runId, model.modelId, { metrics: result.metrics, valAccuracy: result.valAccuracy, trainMs: result.trainMs, worker: result.worker });
        this.emit({ kind: 'model-pruned', modelId: model.modelId, epoch: at, valAccuracy: result.valAccuracy, trainMs: result.trainMs });
        return;
      }
      if (result.valProbs.length === 0) {
        // Only a pruned job returns no predictions: one that did not stop at a rung it was sent is a worker's fault.
        const message = `the worker returned no predictions, as for a pruned model, but its curve (to epoch ${epochsRun(result.metrics)}) did not stop at a rung it was sent`;
        this.store.markModelFailed(runId, model.modelId, message);
        this.emit({ kind: 'model-failed', modelId: model.modelId, error: message, attempts: model.attempts });
        return;
      }
      if (segment.resumeFrom) {
        // The model's training time is both segments'; its paused state is no longer needed.
        result = { ...result, trainMs: result.trainMs + segment.resumeFrom.trainMs };
        this.store.transaction(() => {
          this.store.recordResult(runId, result);
          this.store.releasePausedState(runId, model.modelId);
        });
      } else this.store.recordResult(runId, result);
      this.emit({ kind: 'model-done', modelId: model.modelId, valAccuracy: result.valAccuracy, testAccuracy: result.testAccuracy, trainMs: result.trainMs, worker: result.worker });
      return;
    }
  }

  /** The weights of the parent a model inherits from under the config's `inherit` (search/inherit.ts), if stored. */
  private warmStart(runId: string, config: SearchConfig, model: ModelRecord, arch: ArchConfig): Pick<TrainingJob, 'warmStart'> {
    const parentId = inheritsFrom(config.inherit, arch);
    const stored = parentId === undefined ? undefined : this.store.getWeights(runId, parentId);
    if (!stored || stored.format !== 'loom') return {};
    return { warmStart: { modelId: stored.modelId, weights: base64(stored.bytes) } };
  }

  private summarize(runId: string, status: RunSummary['status'], wallMs: number): RunSummary {
    const models = this.store.listModels(runId);
    const done = models.filter((m) => m.status === 'done');
    // Selection on validation accuracy only; the test accuracy is reported, never used to choose.
    const best = bestRecord(done);
    return {
      runId,
      status,
      modelsTrained: done.length,
      modelsFailed: models.filter((m) => m.status === 'failed').length,
      bestModelId: best?.modelId ?? null,
      bestValAccuracy: best?.valAccuracy ?? null,
      bestTestAccuracy: best?.testAccuracy ?? null,
      wallMs,
    };
  }
}

