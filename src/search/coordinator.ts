import { randomBytes } from 'node:crypto';
import { LoomError } from '../engine/errors.js';
import { Rng } from '../engine/rng.js';
import type { Store } from '../store/store.js';
import type { ModelRecord, ModelResult } from '../store/types.js';
import type { Executor, JobProgress, TrainingJob } from './jobs.js';
import { generateConfigs, validateConfig, type ArchConfig, type TaskShape } from './arch.js';
import type { SearchConfig } from './config.js';
import { loadDataset, type Dataset } from '../data/index.js';
import { nextGeneration, type Individual } from './evolve.js';

/**
 * A search run: generations of configs, dispatched to an Executor (worker threads or BullMQ), results written
 * to the store. The coordinator is the only writer of the store.
 *
 * Crash safety: a generation's configs are written (as pending models) before any of them trains, and every
 * random choice is seeded from (run seed, generation), so `resume` re-creates exactly what an uninterrupted run
 * would have, trains only the models that are not done, and never trains a finished model twice.
 */
export type RunEvent =
  | { kind: 'run-start'; runId: string; totalModels: number; doneModels: number; generations: number }
  | { kind: 'generation-start'; generation: number; models: number }
  | { kind: 'model-start'; modelId: string; generation: number }
  | { kind: 'model-progress'; progress: JobProgress }
  | { kind: 'model-done'; modelId: string; valAccuracy: number; testAccuracy: number; trainMs: number; worker: string }
  | { kind: 'model-failed'; modelId: string; error: string; attempts: number }
  | { kind: 'generation-done'; generation: number; bestValAccuracy: number; meanValAccuracy: number }
  | { kind: 'budget-exhausted'; generation: number };

export interface CoordinatorOptions {
  readonly store: Store;
  readonly executor: Executor;
  readonly onEvent?: (event: RunEvent) => void;
  readonly signal?: AbortSignal;
  /** Attempts per model before it is marked failed (default 2). */
  readonly maxAttempts?: number;
  readonly codeVersion?: string;
  readonly now?: () => number;
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

const generationSeed = (seed: number, generation: number): number => (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(generation + 1, 0x85ebca6b)) >>> 0;
const modelSeed = (seed: number, modelId: string): number => {
  let h = seed >>> 0;
  for (let i = 0; i < modelId.length; i++) h = Math.imul(h ^ modelId.charCodeAt(i), 0x01000193) >>> 0;
  return h;
};

export function totalModels(config: SearchConfig): number {
  return config.population + (config.generations - 1) * (config.population - config.elite);
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  // Unique per invocation on purpose (two runs with the same seed must not collide); it affects no result.
  return `run-${stamp}-${randomBytes(2).toString('hex')}`;
}

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
    const dataset = loadDataset(config.data.ref, this.dataOptions(config));
    this.store.createRun({
      id: runId,
      name: config.name,
      config,
      seed: config.seed,
      dataRef: config.data.ref,
      dataChecksum: dataset.checksum,
      codeVersion: this.options.codeVersion ?? 'unknown',
    });
    return this.execute(runId, config, dataset);
  }

  /** Finishes an interrupted run: nothing finished is redone, nothing is lost. */
  async resume(runId: string): Promise<RunSummary> {
    const run = this.store.getRun(runId);
    if (!run) throw new LoomError('LOOM_ERR_USAGE', `no run "${runId}" in this database (see \`loom runs\`)`);
    if (run.status === 'finished') throw new LoomError('LOOM_ERR_USAGE', `run "${runId}" has already finished`);
    const config = run.config as SearchConfig;
    const dataset = loadDataset(config.data.ref, { ...this.dataOptions(config), expectedChecksum: run.dataChecksum });
    this.store.updateRunStatus(runId, 'running');
    return this.execute(runId, config, dataset);
  }

  private dataOptions(config: SearchConfig) {
    return {
      seed: config.data.splitSeed,
      ...(config.data.limit === undefined ? {} : { limit: config.data.limit }),
      ...(config.data.fractions === undefined ? {} : { fractions: config.data.fractions }),
    };
  }

  private async execute(runId: string, config: SearchConfig, dataset: Dataset): Promise<RunSummary> {
    const started = this.now();
    this.currentRunId = runId;
    const task: TaskShape = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
    const budgetMs = config.timeBudgetMinutes > 0 ? config.timeBudgetMinutes * 60_000 : Infinity;
    // Models left 'running' by a process that died are simply pending again.
    this.store.resetRunningModels(runId);
    const total = totalModels(config);
    this.emit({ kind: 'run-start', runId, totalModels: total, doneModels: this.store.listModels(runId, { status: 'done' }).length, generations: config.generations });

    let status: RunSummary['status'] = 'finished';
    try {
      for (let generation = 0; generation < config.generations; generation++) {
        const members = this.ensureGeneration(runId, config, task, generation);
        if (this.now() - started > budgetMs) {
          this.emit({ kind: 'budget-exhausted', generation });
          break;
        }
        const pending = members.filter((m) => m.status === 'pending');
        this.emit({ kind: 'generation-start', generation, models: pending.length });
        await this.trainAll(runId, config, dataset, pending, started + budgetMs);
        const done = this.store.listModels(runId, { status: 'done' }).filter((m) => members.some((x) => x.modelId === m.modelId));
        const accs = done.map((m) => m.valAccuracy ?? 0);
        const stats = {
          members: members.map((m) => m.modelId),
          bestValAccuracy: accs.length ? Math.max(...accs) : 0,
          meanValAccuracy: accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : 0,
          done: done.length,
        };
        this.store.finishGeneration(runId, generation, stats);
        this.emit({ kind: 'generation-done', generation, bestValAccuracy: stats.bestValAccuracy, meanValAccuracy: stats.meanValAccuracy });
        if (this.now() - started > budgetMs && generation + 1 < config.generations) {
          this.emit({ kind: 'budget-exhausted', generation: generation + 1 });
          break;
        }
      }
    } catch (err) {
      if (err instanceof RunInterrupted) status = 'interrupted';
      else {
        this.store.updateRunStatus(runId, 'failed');
        throw err;
      }
    }

    const summary = this.summarize(runId, status, this.now() - started);
    if (status === 'finished') this.store.finishRun(runId, summary);
    else {
      this.store.resetRunningModels(runId);
      this.store.updateRunStatus(runId, 'interrupted');
    }
    return summary;
  }

  /**
   * The members of a generation, creating it when it does not exist yet: generation 0 from the generator,
   * later ones by evolution from the previous generation's trained members. Elites keep their ids (and results).
   */
  private ensureGeneration(runId: string, config: SearchConfig, task: TaskShape, generation: number): ModelRecord[] {
    const existing = this.store.listGenerations(runId).find((g) => g.index === generation);
    let memberIds: string[];
    if (existing) {
      memberIds = (existing.stats as { members: string[] }).members;
    } else {
      const rng = new Rng(generationSeed(config.seed, generation));
      let configs: ArchConfig[];
      if (generation === 0) {
        configs = generateConfigs(config.population, task, rng, config.generator, 'g0-');
      } else {
        const previous = this.store.listGenerations(runId).find((g) => g.index === generation - 1);
        const prevIds = new Set((previous?.stats as { members?: string[] } | undefined)?.members ?? []);
        const val = this.store.getPredictions(runId, 'val');
        const masks = new Map(val.modelIds.map((id, k) => [id, val.masks[k] as Uint8Array]));
        const population: Individual[] = this.store
          .listModels(runId, { status: 'done' })
          .filter((m) => prevIds.has(m.modelId) && masks.has(m.modelId))
          .map((m) => ({ config: validateConfig(m.arch), valAccuracy: m.valAccuracy ?? 0, valMask: masks.get(m.modelId) as Uint8Array }));
        if (population.length === 0) throw new LoomError('LOOM_ERR_CONFIG', `generation ${generation - 1} has no trained model to evolve from`);
        configs = nextGeneration(population, rng, {
          generation,
          size: config.population,
          elite: Math.min(config.elite, population.length),
          tournamentSize: config.tournamentSize,
          mutationRate: config.mutationRate,
          crossoverRate: config.crossoverRate,
          lambda: config.diversityWeight,
          genOptions: config.generator,
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

  private async trainAll(runId: string, config: SearchConfig, dataset: Dataset, models: ModelRecord[], deadline: number): Promise<void> {
    const signal = this.options.signal;
    const queue = [...models];
    const dataRef = {
      ref: config.data.ref,
      checksum: dataset.checksum,
      splitSeed: config.data.splitSeed,
      ...(config.data.limit === undefined ? {} : { limit: config.data.limit }),
      ...(config.data.fractions === undefined ? {} : { fractions: config.data.fractions }),
    };
    const lane = async (): Promise<void> => {
      for (;;) {
        if (signal?.aborted) throw new RunInterrupted();
        if (this.now() > deadline) return;
        const model = queue.shift();
        if (!model) return;
        await this.trainOne(runId, config, dataRef, model);
      }
    };
    const lanes = Array.from({ length: Math.min(this.executor.concurrency, queue.length) }, lane);
    const results = await Promise.allSettled(lanes);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    if (signal?.aborted) throw new RunInterrupted();
  }

  private async trainOne(runId: string, config: SearchConfig, dataRef: TrainingJob['data'], model: ModelRecord): Promise<void> {
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
    };
    for (;;) {
      this.store.markModelRunning(runId, model.modelId);
      this.emit({ kind: 'model-start', modelId: model.modelId, generation: model.generation });
      let result: ModelResult;
      try {
        result = await this.executor.run(job, (progress) => this.emit({ kind: 'model-progress', progress }));
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
      this.store.recordResult(runId, result);
      this.emit({ kind: 'model-done', modelId: model.modelId, valAccuracy: result.valAccuracy, testAccuracy: result.testAccuracy, trainMs: result.trainMs, worker: result.worker });
      return;
    }
  }

  private summarize(runId: string, status: RunSummary['status'], wallMs: number): RunSummary {
    const models = this.store.listModels(runId);
    const done = models.filter((m) => m.status === 'done');
    // Selection on validation accuracy only; the test accuracy is reported, never used to choose.
    const best = done.reduce<ModelRecord | null>((b, m) => (!b || (m.valAccuracy ?? 0) > (b.valAccuracy ?? 0) ? m : b), null);
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
