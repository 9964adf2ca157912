import Database from 'better-sqlite3';
import { LoomError } from '../engine/errors.js';
import * as analyses from './analysis.js';
import { storeError, StoreDb } from './db.js';
import * as ensembles from './ensembles.js';
import * as events from './events.js';
import * as generations from './generations.js';
import * as models from './models.js';
import * as runs from './runs.js';
import { appliedVersions, migrate, MIGRATIONS } from './schema.js';
import type {
  AnalysisPayload,
  AnalysisRecord,
  EnsembleRecord,
  ExportRecord,
  GenerationRecord,
  GenerationStats,
  ModelRecord,
  ModelResult,
  ModelStatus,
  NewEnsemble,
  NewModel,
  NewRun,
  PredictionSplit,
  PausedModel,
  PausedRecord,
  PausedState,
  PrunedModel,
  RunEvent,
  RunLease,
  RunRecord,
  RunState,
  RunStatus,
  SplitPredictions,
  WeightsRecord,
} from './types.js';

export interface StoreOptions {
  /** Open an existing database for reading only (the dashboard); every write method then throws. */
  readonly readonly?: boolean;
  /** Clock for timestamps (ms since the epoch); tests pass a fixed one. */
  readonly now?: () => number;
}

/**
 * The run database (SQLite, WAL, foreign keys on): the only place that writes SQL. One process writes a run at a
 * time (the coordinator holding its lease); the dashboard and the CLI open it read-only. Records returned are
 * frozen snapshots. Writing a model's result twice is a no-op.
 *
 * This class is a facade: each concept lives in its own module (runs.ts with the lease, models.ts with results,
 * generations.ts, ensembles.ts with exports, analysis.ts, events.ts), JSON columns are parsed in json.ts.
 */
export class Store {
  private constructor(private readonly s: StoreDb) {}

  get path(): string {
    return this.s.path;
  }

  get readonly(): boolean {
    return this.s.readonly;
  }

  /** Opens (and creates or migrates, unless read-only) the database at `path`, or ':memory:'. */
  static open(path: string, options: StoreOptions = {}): Store {
    const readonly = options.readonly ?? false;
    if (readonly && path === ':memory:') throw storeError('an in-memory store cannot be opened read-only');
    let db: Database.Database;
    try {
      db = new Database(path, readonly ? { readonly: true, fileMustExist: true } : {});
    } catch (err) {
      throw storeError(`cannot open the run database ${path}${readonly ? ' read-only' : ''}: ${(err as Error).message}`);
    }
    try {
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      if (readonly) {
        const applied = appliedVersions(db);
        const missing = MIGRATIONS.filter((m) => !applied.has(m.version));
        if (applied.size === 0) throw storeError(`${path} is not a Loom run database`);
        if (missing.length > 0) throw storeError(`${path} needs schema migration ${missing[0]?.version}; open it once for writing (e.g. loom search)`);
      } else {
        if (path !== ':memory:') db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        migrate(db, options.now);
      }
    } catch (err) {
      db.close();
      // "file is not a database" and the like: name the file, not SQLite's internals.
      throw err instanceof LoomError ? err : storeError(`cannot use the run database ${path}: ${(err as Error).message}`);
    }
    return new Store(new StoreDb(db, path, readonly, options.now ?? Date.now));
  }

  close(): void {
    if (this.s.db.open) this.s.db.close();
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    return this.s.transaction(fn);
  }

  /** The schema versions applied, oldest first. */
  schemaVersions(): number[] {
    return [...appliedVersions(this.s.db)].sort((a, b) => a - b);
  }

  // ── runs (runs.ts) ──────────────────────────────────────────────────────────────────────────────
  createRun(run: NewRun): RunRecord {
    return runs.createRun(this.s, run);
  }
  getRun(id: string): RunRecord | undefined {
    return runs.getRun(this.s, id);
  }
  /** A run's stored config as JSON, for the caller to parse (search/config.ts's parseRunConfig); throws for an unknown run. */
  getRunConfig(id: string): unknown {
    return runs.getRunConfig(this.s, id);
  }
  /** All runs, newest first. */
  listRuns(): RunRecord[] {
    return runs.listRuns(this.s);
  }
  /** The run's state now: its status, or 'stalled' for a running run whose coordinator stopped beating. */
  runState(run: RunRecord): RunState {
    return runs.runState(run, this.s.now());
  }
  updateRunStatus(id: string, status: RunStatus): RunRecord {
    return runs.updateRunStatus(this.s, id, status);
  }
  finishRun(id: string, summary: unknown, status: Exclude<RunStatus, 'running'> = 'finished'): RunRecord {
    return runs.finishRun(this.s, id, summary, status);
  }
  markRunFinalized(id: string): RunRecord {
    return runs.markRunFinalized(this.s, id);
  }
  acquireRunLease(runId: string, owner: string, ttlMs?: number): RunLease {
    return runs.acquireRunLease(this.s, runId, owner, ttlMs);
  }
  renewRunLease(runId: string, owner: string, ttlMs?: number): boolean {
    return runs.renewRunLease(this.s, runId, owner, ttlMs);
  }
  releaseRunLease(runId: string, owner: string): void {
    runs.releaseRunLease(this.s, runId, owner);
  }

  // ── generations (generations.ts) ────────────────────────────────────────────────────────────────
  addGeneration(runId: string, index: number, stats?: GenerationStats): void {
    generations.addGeneration(this.s, runId, index, stats);
  }
  updateGeneration(runId: string, index: number, stats: GenerationStats): void {
    generations.updateGeneration(this.s, runId, index, stats);
  }
  finishGeneration(runId: string, index: number, stats: GenerationStats): void {
    generations.finishGeneration(this.s, runId, index, stats);
  }
  listGenerations(runId: string): GenerationRecord[] {
    return generations.listGenerations(this.s, runId);
  }

  // ── models and results (models.ts) ──────────────────────────────────────────────────────────────
  addModels(runId: string, list: readonly NewModel[]): number {
    return models.addModels(this.s, runId, list);
  }
  markModelRunning(runId: string, modelId: string, worker?: string): boolean {
    return models.markModelRunning(this.s, runId, modelId, worker);
  }
  markModelFailed(runId: string, modelId: string, error: string, attempts?: number): boolean {
    return models.markModelFailed(this.s, runId, modelId, error, attempts);
  }
  markModelPending(runId: string, modelId: string): boolean {
    return models.markModelPending(this.s, runId, modelId);
  }
  markModelPruned(runId: string, modelId: string, pruned: PrunedModel): boolean {
    return models.markModelPruned(this.s, runId, modelId, pruned);
  }
  markModelPaused(runId: string, modelId: string, paused: PausedModel): boolean {
    return models.markModelPaused(this.s, runId, modelId, paused);
  }
  markModelPromoted(runId: string, modelId: string, item: number): void {
    models.markModelPromoted(this.s, runId, modelId, item);
  }
  releasePausedState(runId: string, modelId: string): void {
    models.releasePausedState(this.s, runId, modelId);
  }
  listPausedModels(runId: string): PausedRecord[] {
    return models.listPausedModels(this.s, runId);
  }
  getPausedState(runId: string, modelId: string): PausedState | undefined {
    return models.getPausedState(this.s, runId, modelId);
  }
  getPausedPredictions(runId: string, modelIds: readonly string[]): SplitPredictions {
    return models.getPausedPredictions(this.s, runId, modelIds);
  }
  resetRunningModels(runId: string): number {
    return models.resetRunningModels(this.s, runId);
  }
  recordResult(runId: string, result: ModelResult, options: { fitness?: number } = {}): boolean {
    return models.recordResult(this.s, runId, result, options);
  }
  setFitness(runId: string, modelId: string, fitness: number, parts: Record<string, number>): void {
    models.setFitness(this.s, runId, modelId, fitness, parts);
  }
  getModel(runId: string, modelId: string): ModelRecord | undefined {
    return models.getModel(this.s, runId, modelId);
  }
  listModels(runId: string, filter: { status?: ModelStatus; generation?: number } = {}): ModelRecord[] {
    return models.listModels(this.s, runId, filter);
  }
  countModels(runId: string): Record<ModelStatus, number> {
    return models.countModels(this.s, runId);
  }
  getPredictions(runId: string, split: PredictionSplit, modelIds?: readonly string[]): SplitPredictions {
    return models.getPredictions(this.s, runId, split, modelIds);
  }
  getWeights(runId: string, modelId: string): WeightsRecord | undefined {
    return models.getWeights(this.s, runId, modelId);
  }

  // ── analyses (analysis.ts), ensembles and exports (ensembles.ts) ─────────────────────────────────
  addAnalysis(runId: string, kind: string, payload: AnalysisPayload): AnalysisRecord {
    return analyses.addAnalysis(this.s, runId, kind, payload);
  }
  getAnalyses(runId: string, kind?: string): AnalysisRecord[] {
    return analyses.getAnalyses(this.s, runId, kind);
  }
  addEnsemble(runId: string, ensemble: NewEnsemble): EnsembleRecord {
    return ensembles.addEnsemble(this.s, runId, ensemble);
  }
  listEnsembles(runId: string): EnsembleRecord[] {
    return ensembles.listEnsembles(this.s, runId);
  }
  addExport(runId: string, entry: { ensembleId?: number | null; path: string; format: string }): ExportRecord {
    return ensembles.addExport(this.s, runId, entry);
  }
  listExports(runId: string): ExportRecord[] {
    return ensembles.listExports(this.s, runId);
  }

  // ── events (events.ts) ──────────────────────────────────────────────────────────────────────────
  appendEvent(runId: string, kind: string, payload?: unknown): RunEvent {
    return events.appendEvent(this.s, runId, kind, payload);
  }
  listEvents(runId: string, options: { afterId?: number; limit?: number } = {}): RunEvent[] {
    return events.listEvents(this.s, runId, options);
  }
}
