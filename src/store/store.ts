import Database from 'better-sqlite3';
import { LoomError } from '../engine/errors.js';
import { decodeFloat32, encodeFloat32, packMask, unpackMask } from './codec.js';
import {
  analysisFromRow,
  ensembleFromRow,
  eventFromRow,
  exportFromRow,
  generationFromRow,
  modelFromRow,
  num,
  runFromRow,
  str,
  toJson,
} from './rows.js';
import type { Row } from './rows.js';
import { appliedVersions, migrate, MIGRATIONS } from './schema.js';
import type {
  AnalysisRecord,
  EnsembleRecord,
  ExportRecord,
  GenerationRecord,
  ModelRecord,
  ModelResult,
  ModelStatus,
  NewEnsemble,
  NewModel,
  NewRun,
  PredictionSplit,
  RunEvent,
  RunRecord,
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

const storeError = (message: string): LoomError => new LoomError('LOOM_ERR_STORE', message);

function checkPredictions(result: ModelResult, split: PredictionSplit): number {
  const probs = split === 'val' ? result.valProbs : result.testProbs;
  const mask = split === 'val' ? result.valMask : result.testMask;
  if (!(Number.isInteger(result.numClasses) && result.numClasses > 0) || probs.length !== mask.length * result.numClasses) {
    throw storeError(
      `model ${result.modelId}: ${split} probabilities hold ${probs.length} numbers, expected ` +
        `${mask.length} samples × ${result.numClasses} classes`,
    );
  }
  return mask.length;
}

/**
 * The run database (SQLite, WAL, foreign keys on): the only place that writes SQL. One process writes (the
 * coordinator); the dashboard and the CLI open it read-only. Records returned are frozen snapshots: later
 * writes never change an object already handed out. Writing a model's result twice is a no-op.
 */
export class Store {
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
    readonly readonly: boolean,
    private readonly now: () => number,
  ) {}

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
        if (missing.length > 0) {
          throw storeError(`${path} needs schema migration ${missing[0]?.version}; open it once for writing (e.g. loom search)`);
        }
      } else {
        if (path !== ':memory:') db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        migrate(db, options.now);
      }
    } catch (err) {
      db.close();
      throw err instanceof LoomError ? err : storeError(`cannot use the run database ${path}: ${(err as Error).message}`);
    }
    return new Store(db, path, readonly, options.now ?? Date.now);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** The schema versions applied, oldest first. */
  schemaVersions(): number[] {
    return [...appliedVersions(this.db)].sort((a, b) => a - b);
  }

  // ── runs ────────────────────────────────────────────────────────────────────────────────────────

  createRun(run: NewRun): RunRecord {
    this.writable('create a run');
    if (this.getRun(run.id)) throw storeError(`run ${run.id} already exists`);
    this.stmt(
      `INSERT INTO runs (id, name, status, config, seed, data_ref, data_checksum, code_version, created_at)
       VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)`,
    ).run(run.id, run.name ?? run.id, toJson(run.config), run.seed, run.dataRef, run.dataChecksum, run.codeVersion, this.now());
    return this.getRun(run.id) as RunRecord;
  }

  getRun(id: string): RunRecord | undefined {
    const row = this.stmt('SELECT * FROM runs WHERE id = ?').get(id) as Row | undefined;
    return row ? runFromRow(row) : undefined;
  }

  /** All runs, newest first. */
  listRuns(): RunRecord[] {
    return (this.stmt('SELECT * FROM runs ORDER BY created_at DESC, rowid DESC').all() as Row[]).map(runFromRow);
  }

  /** Sets a run's status; back to 'running' (a resume) clears finished_at. */
  updateRunStatus(id: string, status: RunStatus): RunRecord {
    this.writable('update a run');
    const finishedAt = status === 'running' ? null : this.now();
    this.requireChange(
      this.stmt('UPDATE runs SET status = ?, finished_at = ? WHERE id = ?').run(status, finishedAt, id),
      `no run ${id}`,
    );
    return this.getRun(id) as RunRecord;
  }

  /** Ends a run with a summary (best model, ensembles, timings: whatever the coordinator reports). */
  finishRun(id: string, summary: unknown, status: Exclude<RunStatus, 'running'> = 'finished'): RunRecord {
    this.writable('finish a run');
    this.requireChange(
      this.stmt('UPDATE runs SET status = ?, finished_at = ?, summary = ? WHERE id = ?').run(status, this.now(), toJson(summary), id),
      `no run ${id}`,
    );
    return this.getRun(id) as RunRecord;
  }

  // ── generations ─────────────────────────────────────────────────────────────────────────────────

  /** Records a generation's start (with optional stats, e.g. its members); adding one that exists (a resumed run) keeps the original. */
  addGeneration(runId: string, index: number, stats?: unknown): void {
    this.writable('add a generation');
    this.guard(`add generation ${index} to run ${runId}`, () =>
      this.stmt('INSERT INTO generations (run_id, idx, started_at, stats) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(
        runId,
        index,
        this.now(),
        stats === undefined ? null : toJson(stats),
      ),
    );
  }

  finishGeneration(runId: string, index: number, stats: unknown): void {
    this.writable('finish a generation');
    this.requireChange(
      this.stmt('UPDATE generations SET finished_at = ?, stats = ? WHERE run_id = ? AND idx = ?').run(
        this.now(),
        toJson(stats),
        runId,
        index,
      ),
      `no generation ${index} in run ${runId}`,
    );
  }

  listGenerations(runId: string): GenerationRecord[] {
    const rows = this.stmt('SELECT * FROM generations WHERE run_id = ? ORDER BY idx').all(runId) as Row[];
    return rows.map(generationFromRow);
  }

  // ── models ──────────────────────────────────────────────────────────────────────────────────────

  /** Adds models as 'pending'; a model id already in the run is left as it is. Returns how many were new. */
  addModels(runId: string, models: readonly NewModel[]): number {
    this.writable('add models');
    const insert = this.stmt(
      `INSERT INTO models (run_id, model_id, generation, arch, parent_ids, seed, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING`,
    );
    return this.guard(`add models to run ${runId}`, () =>
      this.transaction(() => {
        const now = this.now();
        let added = 0;
        for (const m of models) {
          const info = insert.run(runId, m.modelId, m.generation, toJson(m.arch), toJson(m.parentIds ?? []), m.seed ?? null, now, now);
          added += info.changes;
        }
        return added;
      }),
    );
  }

  /** Marks a model as started on a worker and counts the attempt. A finished model is left alone (false). */
  markModelRunning(runId: string, modelId: string, worker?: string): boolean {
    this.writable('mark a model running');
    const info = this.stmt(
      `UPDATE models SET status = 'running', worker = ?, attempts = attempts + 1, error = NULL, updated_at = ?
       WHERE run_id = ? AND model_id = ? AND status != 'done'`,
    ).run(worker ?? null, this.now(), runId, modelId);
    return this.changedOrDone(info, runId, modelId);
  }

  /** Marks a model failed with its error; `attempts` overrides the count (a queue knows its own). */
  markModelFailed(runId: string, modelId: string, error: string, attempts?: number): boolean {
    this.writable('mark a model failed');
    const info = this.stmt(
      `UPDATE models SET status = 'failed', error = ?, attempts = COALESCE(?, attempts), updated_at = ?
       WHERE run_id = ? AND model_id = ? AND status != 'done'`,
    ).run(error, attempts ?? null, this.now(), runId, modelId);
    return this.changedOrDone(info, runId, modelId);
  }

  /** Puts a failed or running model back in the queue (a retry). */
  markModelPending(runId: string, modelId: string): boolean {
    this.writable('requeue a model');
    const info = this.stmt(
      `UPDATE models SET status = 'pending', updated_at = ? WHERE run_id = ? AND model_id = ? AND status != 'done'`,
    ).run(this.now(), runId, modelId);
    return this.changedOrDone(info, runId, modelId);
  }

  /** After a crash: every model left 'running' goes back to 'pending'. Returns how many. */
  resetRunningModels(runId: string): number {
    this.writable('reset running models');
    return this.stmt(`UPDATE models SET status = 'pending', updated_at = ? WHERE run_id = ? AND status = 'running'`).run(
      this.now(),
      runId,
    ).changes;
  }

  /**
   * Stores a finished model: its row (metrics, accuracies, timings), its val and test predictions and its
   * weights, in one transaction. Idempotent: a model already 'done' is not touched and false is returned, so a
   * result delivered twice (a retried queue job) leaves exactly one copy.
   */
  recordResult(runId: string, result: ModelResult, options: { fitness?: number } = {}): boolean {
    this.writable('record a result');
    const valCount = checkPredictions(result, 'val');
    const testCount = checkPredictions(result, 'test');
    return this.transaction(() => {
      const current = this.stmt('SELECT status FROM models WHERE run_id = ? AND model_id = ?').get(runId, result.modelId) as
        | { status: ModelStatus }
        | undefined;
      if (!current) throw storeError(`no model ${result.modelId} in run ${runId}; add it before recording its result`);
      if (current.status === 'done') return false;
      this.stmt(
        `UPDATE models SET status = 'done', error = NULL, worker = ?, metrics = ?, val_accuracy = ?, test_accuracy = ?,
           param_count = ?, train_ms = ?, fitness = COALESCE(?, fitness), updated_at = ?
         WHERE run_id = ? AND model_id = ?`,
      ).run(
        result.worker,
        toJson(result.metrics),
        result.valAccuracy,
        result.testAccuracy,
        result.paramCount,
        result.trainMs,
        options.fitness ?? null,
        this.now(),
        runId,
        result.modelId,
      );
      const insertPredictions = this.stmt(
        `INSERT INTO predictions (run_id, model_id, split, num_samples, num_classes, probs, correctness_mask)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      );
      insertPredictions.run(runId, result.modelId, 'val', valCount, result.numClasses, encodeFloat32(result.valProbs), packMask(result.valMask));
      insertPredictions.run(runId, result.modelId, 'test', testCount, result.numClasses, encodeFloat32(result.testProbs), packMask(result.testMask));
      this.stmt('INSERT INTO weights (run_id, model_id, format, bytes) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(
        runId,
        result.modelId,
        result.weightsFormat ?? 'loom',
        Buffer.from(result.weights.buffer, result.weights.byteOffset, result.weights.byteLength),
      );
      return true;
    });
  }

  /** Sets the fitness the search assigned to models (in one transaction). */
  setFitness(runId: string, fitness: ReadonlyArray<{ modelId: string; fitness: number }>): void {
    this.writable('set fitness');
    const update = this.stmt('UPDATE models SET fitness = ?, updated_at = ? WHERE run_id = ? AND model_id = ?');
    this.transaction(() => {
      for (const f of fitness) this.requireChange(update.run(f.fitness, this.now(), runId, f.modelId), `no model ${f.modelId} in run ${runId}`);
    });
  }

  getModel(runId: string, modelId: string): ModelRecord | undefined {
    const row = this.stmt('SELECT * FROM models WHERE run_id = ? AND model_id = ?').get(runId, modelId) as Row | undefined;
    return row ? modelFromRow(row) : undefined;
  }

  /** A run's models in the order they were added (generation by generation), optionally filtered. */
  listModels(runId: string, filter: { status?: ModelStatus; generation?: number } = {}): ModelRecord[] {
    const rows = this.stmt(
      `SELECT * FROM models
       WHERE run_id = @runId AND (@status IS NULL OR status = @status) AND (@generation IS NULL OR generation = @generation)
       ORDER BY generation, rowid`,
    ).all({ runId, status: filter.status ?? null, generation: filter.generation ?? null }) as Row[];
    return rows.map(modelFromRow);
  }

  /** How many of a run's models are in each status. */
  countModels(runId: string): Record<ModelStatus, number> {
    const counts: Record<ModelStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };
    const rows = this.stmt('SELECT status, COUNT(*) AS n FROM models WHERE run_id = ? GROUP BY status').all(runId) as Row[];
    for (const row of rows) counts[str(row, 'status') as ModelStatus] = num(row, 'n');
    return counts;
  }

  // ── predictions and weights ─────────────────────────────────────────────────────────────────────

  /** Every stored model's predictions on a split (or those of `modelIds`, in that order), decoded. */
  getPredictions(runId: string, split: PredictionSplit, modelIds?: readonly string[]): SplitPredictions {
    let rows = this.stmt(
      `SELECT p.* FROM predictions p JOIN models m ON m.run_id = p.run_id AND m.model_id = p.model_id
       WHERE p.run_id = ? AND p.split = ? ORDER BY m.generation, m.rowid`,
    ).all(runId, split) as Row[];
    if (modelIds) {
      const byId = new Map(rows.map((r) => [str(r, 'model_id'), r]));
      rows = modelIds.map((id) => {
        const row = byId.get(id);
        if (!row) throw storeError(`no ${split} predictions for model ${id} in run ${runId}`);
        return row;
      });
    }
    const numSamples = rows.length > 0 ? num(rows[0] as Row, 'num_samples') : 0;
    const numClasses = rows.length > 0 ? num(rows[0] as Row, 'num_classes') : 0;
    for (const row of rows) {
      if (num(row, 'num_samples') !== numSamples || num(row, 'num_classes') !== numClasses) {
        throw storeError(`run ${runId}: ${split} predictions of model ${str(row, 'model_id')} have a different shape`);
      }
    }
    return Object.freeze({
      split,
      modelIds: rows.map((r) => str(r, 'model_id')),
      numSamples,
      numClasses,
      probs: rows.map((r) => decodeFloat32(r['probs'] as Buffer)),
      masks: rows.map((r) => unpackMask(r['correctness_mask'] as Buffer, numSamples)),
    });
  }

  getWeights(runId: string, modelId: string): WeightsRecord | undefined {
    const row = this.stmt('SELECT * FROM weights WHERE run_id = ? AND model_id = ?').get(runId, modelId) as Row | undefined;
    if (!row) return undefined;
    const bytes = row['bytes'] as Buffer;
    return Object.freeze({ runId, modelId, format: str(row, 'format'), bytes: new Uint8Array(bytes) });
  }

  // ── analyses, ensembles, exports ────────────────────────────────────────────────────────────────

  addAnalysis(runId: string, kind: string, payload: unknown): AnalysisRecord {
    this.writable('add an analysis');
    const createdAt = this.now();
    const info = this.guard(`add an analysis to run ${runId}`, () =>
      this.stmt('INSERT INTO analyses (run_id, kind, created_at, payload) VALUES (?, ?, ?, ?)').run(runId, kind, createdAt, toJson(payload)),
    );
    return analysisFromRow(this.stmt('SELECT * FROM analyses WHERE id = ?').get(info.lastInsertRowid) as Row);
  }

  /** A run's analyses, oldest first, optionally of one kind. */
  getAnalyses(runId: string, kind?: string): AnalysisRecord[] {
    const rows = this.stmt('SELECT * FROM analyses WHERE run_id = @runId AND (@kind IS NULL OR kind = @kind) ORDER BY id').all({
      runId,
      kind: kind ?? null,
    }) as Row[];
    return rows.map(analysisFromRow);
  }

  addEnsemble(runId: string, ensemble: NewEnsemble): EnsembleRecord {
    this.writable('add an ensemble');
    const info = this.guard(`add an ensemble to run ${runId}`, () =>
      this.stmt(
        `INSERT INTO ensembles (run_id, method, members, weights, val_accuracy, test_accuracy, payload, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        runId,
        ensemble.method,
        toJson(ensemble.members),
        toJson(ensemble.weights),
        ensemble.valAccuracy,
        ensemble.testAccuracy,
        toJson(ensemble.payload),
        this.now(),
      ),
    );
    return ensembleFromRow(this.stmt('SELECT * FROM ensembles WHERE id = ?').get(info.lastInsertRowid) as Row);
  }

  listEnsembles(runId: string): EnsembleRecord[] {
    const rows = this.stmt('SELECT * FROM ensembles WHERE run_id = ? ORDER BY id').all(runId) as Row[];
    return rows.map(ensembleFromRow);
  }

  addExport(runId: string, entry: { ensembleId?: number | null; path: string; format: string }): ExportRecord {
    this.writable('add an export');
    const createdAt = this.now();
    const info = this.guard(`add an export to run ${runId}`, () =>
      this.stmt('INSERT INTO exports (run_id, ensemble_id, path, format, created_at) VALUES (?, ?, ?, ?, ?)').run(
        runId,
        entry.ensembleId ?? null,
        entry.path,
        entry.format,
        createdAt,
      ),
    );
    return exportFromRow(this.stmt('SELECT * FROM exports WHERE id = ?').get(info.lastInsertRowid) as Row);
  }

  listExports(runId: string): ExportRecord[] {
    const rows = this.stmt('SELECT * FROM exports WHERE run_id = ? ORDER BY id').all(runId) as Row[];
    return rows.map(exportFromRow);
  }

  // ── events ──────────────────────────────────────────────────────────────────────────────────────

  /** Appends a progress event for live views (the dashboard polls listEvents with the last id it saw). */
  appendEvent(runId: string, kind: string, payload?: unknown): RunEvent {
    this.writable('append an event');
    const ts = this.now();
    const info = this.guard(`append an event to run ${runId}`, () =>
      this.stmt('INSERT INTO run_events (run_id, ts, kind, payload) VALUES (?, ?, ?, ?)').run(runId, ts, kind, toJson(payload)),
    );
    return eventFromRow(this.stmt('SELECT * FROM run_events WHERE id = ?').get(info.lastInsertRowid) as Row);
  }

  /** A run's events with id greater than `afterId` (default: all), oldest first, at most `limit`. */
  listEvents(runId: string, options: { afterId?: number; limit?: number } = {}): RunEvent[] {
    const rows = this.stmt('SELECT * FROM run_events WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?').all(
      runId,
      options.afterId ?? 0,
      options.limit ?? 10_000,
    ) as Row[];
    return rows.map(eventFromRow);
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────────────

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private writable(what: string): void {
    if (this.readonly) throw storeError(`the run database ${this.path} is open read-only: cannot ${what}`);
  }

  private requireChange(info: Database.RunResult, message: string): void {
    if (info.changes === 0) throw storeError(message);
  }

  /** No change because the model is done is fine (false); no such model is an error. */
  private changedOrDone(info: Database.RunResult, runId: string, modelId: string): boolean {
    if (info.changes > 0) return true;
    if (!this.getModel(runId, modelId)) throw storeError(`no model ${modelId} in run ${runId}`);
    return false;
  }

  /** Turns SQLite constraint failures (an unknown run, mostly) into store errors that say what was attempted. */
  private guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof LoomError) throw err;
      const message = (err as Error).message;
      const hint = /FOREIGN KEY/i.test(message) ? ' (no such run?)' : '';
      throw storeError(`cannot ${what}: ${message}${hint}`);
    }
  }
}
