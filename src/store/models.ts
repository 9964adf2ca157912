import type Database from 'better-sqlite3';
import { decodeFloat32, encodeFloat32, packMask, unpackMask } from './codec.js';
import { storeError, type StoreDb } from './db.js';
import { checkFitnessParts, parseEpochMetrics, toJson } from './json.js';
import { blob, modelFromRow, num, str, type Row } from './rows.js';
import { emptyStatusCounts, type ModelRecord, type ModelResult, type ModelStatus, type NewModel, type PausedModel, type PausedRecord, type PausedState, type PredictionSplit, type PrunedModel, type SplitPredictions, type WeightsRecord } from './types.js';

/**
 * A run's models and their results: status transitions, the idempotent result write (row + predictions +
 * weights in one transaction), fitness, pruning, and reading predictions and weights back.
 *
 * 'done' and 'pruned' are final: no later transition touches such a model, which is what makes a result
 * delivered twice (a retried queue job, two coordinators racing) land exactly once.
 */

const FINAL = `status NOT IN ('done', 'pruned')`;

function checkPredictions(result: ModelResult, split: PredictionSplit): number {
  const probs = split === 'val' ? result.valProbs : result.testProbs;
  const mask = split === 'val' ? result.valMask : result.testMask;
  if (!(Number.isInteger(result.numClasses) && result.numClasses > 0) || probs.length !== mask.length * result.numClasses) {
    throw storeError(`model ${result.modelId}: ${split} probabilities hold ${probs.length} numbers, expected ${mask.length} samples × ${result.numClasses} classes`);
  }
  return mask.length;
}

/** No change because the model is final is fine (false); no such model is an error. */
function changedOrFinal(s: StoreDb, info: Database.RunResult, runId: string, modelId: string): boolean {
  if (info.changes > 0) return true;
  if (!getModel(s, runId, modelId)) throw storeError(`no model ${modelId} in run ${runId}`);
  return false;
}

/** Adds models as 'pending'; a model id already in the run is left as it is. Returns how many were new. */
export function addModels(s: StoreDb, runId: string, models: readonly NewModel[]): number {
  s.writable('add models');
  const insert = s.stmt(
    `INSERT INTO models (run_id, model_id, generation, arch, parent_ids, seed, status, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING`,
  );
  return s.guard(`add models to run ${runId}`, () =>
    s.transaction(() => {
      const now = s.now();
      let added = 0;
      for (const m of models) added += insert.run(runId, m.modelId, m.generation, toJson(m.arch), toJson(m.parentIds ?? []), m.seed ?? null, now, now).changes;
      return added;
    }),
  );
}

/** Marks a model as started on a worker and counts the attempt. A final model is left alone (false). */
export function markModelRunning(s: StoreDb, runId: string, modelId: string, worker?: string): boolean {
  s.writable('mark a model running');
  const info = s
    .stmt(`UPDATE models SET status = 'running', worker = ?, attempts = attempts + 1, error = NULL, updated_at = ? WHERE run_id = ? AND model_id = ? AND ${FINAL}`)
    .run(worker ?? null, s.now(), runId, modelId);
  return changedOrFinal(s, info, runId, modelId);
}

/** Marks a model failed with its error; `attempts` overrides the count (a queue knows its own). */
export function markModelFailed(s: StoreDb, runId: string, modelId: string, error: string, attempts?: number): boolean {
  s.writable('mark a model failed');
  const info = s
    .stmt(`UPDATE models SET status = 'failed', error = ?, attempts = COALESCE(?, attempts), updated_at = ? WHERE run_id = ? AND model_id = ? AND ${FINAL}`)
    .run(error, attempts ?? null, s.now(), runId, modelId);
  return changedOrFinal(s, info, runId, modelId);
}

/** Puts a failed or running model back in the queue (a retry). */
export function markModelPending(s: StoreDb, runId: string, modelId: string): boolean {
  s.writable('requeue a model');
  const info = s.stmt(`UPDATE models SET status = 'pending', updated_at = ? WHERE run_id = ? AND model_id = ? AND ${FINAL}`).run(s.now(), runId, modelId);
  return changedOrFinal(s, info, runId, modelId);
}

/**
 * Marks a model pruned (stopped early by the search, not a failure) with its partial epoch curve. Final like
 * 'done'; a model already final is left alone (false).
 */
export function markModelPruned(s: StoreDb, runId: string, modelId: string, pruned: PrunedModel): boolean {
  s.writable('mark a model pruned');
  return stopEarly(s, runId, modelId, 'pruned', pruned);
}

/** Bytes as a Buffer over the same memory (what SQLite binds as a BLOB), without a copy. */
const bytesOf = (a: Uint8Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** A model that stopped before its last epoch (pruned or paused): its status and partial curve; false if already final. */
function stopEarly(s: StoreDb, runId: string, modelId: string, status: 'pruned' | 'paused', stopped: PrunedModel): boolean {
  const metrics = toJson(parseEpochMetrics(stopped.metrics, `model ${modelId}: ${status} metrics`));
  const info = s
    .stmt(
      `UPDATE models SET status = ?, error = NULL, metrics = ?, val_accuracy = COALESCE(?, val_accuracy),
         train_ms = COALESCE(?, train_ms), worker = COALESCE(?, worker), updated_at = ?
       WHERE run_id = ? AND model_id = ? AND ${FINAL}`,
    )
    .run(status, metrics, stopped.valAccuracy ?? null, stopped.trainMs ?? null, stopped.worker ?? null, s.now(), runId, modelId);
  return changedOrFinal(s, info, runId, modelId);
}

/**
 * Marks a model paused at a rung (promotion-style successive halving): its curve so far, and the network and
 * training state a later job resumes it from, in one transaction. A model already final is left alone (false).
 */
export function markModelPaused(s: StoreDb, runId: string, modelId: string, paused: PausedModel): boolean {
  s.writable('mark a model paused');
  if (!(Number.isFinite(paused.epoch) && paused.epoch > 0)) throw storeError(`model ${modelId}: a pause point must be a positive number of epochs, got ${paused.epoch}`);
  if (!(Number.isInteger(paused.numClasses) && paused.numClasses > 0) || paused.valProbs.length !== paused.valMask.length * paused.numClasses) {
    throw storeError(`model ${modelId}: paused validation probabilities hold ${paused.valProbs.length} numbers, expected ${paused.valMask.length} samples × ${paused.numClasses} classes`);
  }
  return s.transaction(() => {
    if (!stopEarly(s, runId, modelId, 'paused', paused)) return false;
    s.stmt(
      `INSERT INTO paused_models (run_id, model_id, epoch, weights, state, num_classes, val_probs, val_mask) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id, model_id) DO UPDATE SET epoch = excluded.epoch, weights = excluded.weights, state = excluded.state,
         num_classes = excluded.num_classes, val_probs = excluded.val_probs, val_mask = excluded.val_mask`,
    ).run(runId, modelId, paused.epoch, bytesOf(paused.weights), bytesOf(paused.state), paused.numClasses, encodeFloat32(paused.valProbs), packMask(paused.valMask));
    return true;
  });
}

/** Records that a paused model was promoted: its resumed segment is item `item` of the run's steady schedule. */
export function markModelPromoted(s: StoreDb, runId: string, modelId: string, item: number): void {
  s.writable('promote a model');
  s.requireChange(
    s.stmt(`UPDATE paused_models SET resume_item = ? WHERE run_id = ? AND model_id = ? AND resume_item IS NULL`).run(item, runId, modelId),
    `model ${modelId} of run ${runId} is not a paused model waiting for promotion`,
  );
}

/** Drops a once-paused model's network and state (it has ended); its pause point and promotion stay on record. */
export function releasePausedState(s: StoreDb, runId: string, modelId: string): void {
  s.writable('release a paused state');
  s.stmt('UPDATE paused_models SET weights = NULL, state = NULL WHERE run_id = ? AND model_id = ?').run(runId, modelId);
}

/** Every model of the run that paused (in the order the models were added), with its promotion if any. */
export function listPausedModels(s: StoreDb, runId: string): PausedRecord[] {
  const rows = s
    .stmt(
      `SELECT p.model_id, p.epoch, p.state IS NOT NULL AS resumable, p.resume_item FROM paused_models p JOIN models m ON m.run_id = p.run_id AND m.model_id = p.model_id
       WHERE p.run_id = ? ORDER BY m.generation, m.rowid`,
    )
    .all(runId) as Row[];
  return rows.map((row) =>
    Object.freeze({
      modelId: str(row, 'model_id'),
      epoch: num(row, 'epoch'),
      resumable: num(row, 'resumable') === 1,
      resumeItem: row.resume_item === null ? null : num(row, 'resume_item'),
    }),
  );
}

/** The network and training state a paused model resumes from; undefined once dropped (it ended) or never paused. */
export function getPausedState(s: StoreDb, runId: string, modelId: string): PausedState | undefined {
  const row = s.stmt('SELECT weights, state FROM paused_models WHERE run_id = ? AND model_id = ? AND state IS NOT NULL').get(runId, modelId) as Row | undefined;
  return row ? Object.freeze({ weights: new Uint8Array(blob(row, 'weights')), state: new Uint8Array(blob(row, 'state')) }) : undefined;
}

/**
 * The validation predictions of paused (or once paused) models at their pause, in the order of `modelIds`, as
 * getPredictions gives a split's (probabilities and correctness masks).
 */
export function getPausedPredictions(s: StoreDb, runId: string, modelIds: readonly string[]): SplitPredictions {
  const read = s.stmt('SELECT num_classes, val_probs, val_mask FROM paused_models WHERE run_id = ? AND model_id = ?');
  const rows = modelIds.map((id) => {
    const row = read.get(runId, id) as Row | undefined;
    if (!row) throw storeError(`no paused predictions for model ${id} in run ${runId}`);
    return row;
  });
  const numClasses = rows[0] ? num(rows[0], 'num_classes') : 0;
  const probs = rows.map((r) => decodeFloat32(blob(r, 'val_probs')));
  const numSamples = numClasses > 0 ? (probs[0]?.length ?? 0) / numClasses : 0;
  rows.forEach((row, k) => {
    if (num(row, 'num_classes') !== numClasses || (probs[k] as Float32Array).length !== numSamples * numClasses) {
      throw storeError(`run ${runId}: the paused predictions of model ${modelIds[k]} have a different shape`);
    }
  });
  return Object.freeze({ split: 'val' as const, modelIds: [...modelIds], numSamples, numClasses, probs, masks: rows.map((r) => unpackMask(blob(r, 'val_mask'), numSamples)) });
}

/** After a crash: every model left 'running' goes back to 'pending'. Returns how many. */
export function resetRunningModels(s: StoreDb, runId: string): number {
  s.writable('reset running models');
  return s.stmt(`UPDATE models SET status = 'pending', updated_at = ? WHERE run_id = ? AND status = 'running'`).run(s.now(), runId).changes;
}

/**
 * Stores a finished model: its row (metrics, accuracies, timings), its val and test predictions and its weights,
 * in one transaction. Idempotent: a final model is not touched and false is returned, so a result delivered twice
 * leaves exactly one copy.
 */
export function recordResult(s: StoreDb, runId: string, result: ModelResult, options: { fitness?: number } = {}): boolean {
  s.writable('record a result');
  const valCount = checkPredictions(result, 'val');
  const testCount = checkPredictions(result, 'test');
  const metrics = toJson(parseEpochMetrics(result.metrics, `model ${result.modelId}: metrics`));
  return s.transaction(() => {
    const current = s.stmt('SELECT status FROM models WHERE run_id = ? AND model_id = ?').get(runId, result.modelId) as Row | undefined;
    if (!current) throw storeError(`no model ${result.modelId} in run ${runId}; add it before recording its result`);
    const status = str(current, 'status') as ModelStatus;
    if (status === 'done' || status === 'pruned') return false;
    s.stmt(
      `UPDATE models SET status = 'done', error = NULL, worker = ?, metrics = ?, val_accuracy = ?, test_accuracy = ?,
         param_count = ?, train_ms = ?, fitness = COALESCE(?, fitness), updated_at = ?
       WHERE run_id = ? AND model_id = ?`,
    ).run(result.worker, metrics, result.valAccuracy, result.testAccuracy, result.paramCount, result.trainMs, options.fitness ?? null, s.now(), runId, result.modelId);
    const insertPredictions = s.stmt(
      `INSERT INTO predictions (run_id, model_id, split, num_samples, num_classes, probs, correctness_mask)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    insertPredictions.run(runId, result.modelId, 'val', valCount, result.numClasses, encodeFloat32(result.valProbs), packMask(result.valMask));
    insertPredictions.run(runId, result.modelId, 'test', testCount, result.numClasses, encodeFloat32(result.testProbs), packMask(result.testMask));
    s.stmt('INSERT INTO weights (run_id, model_id, format, bytes) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(
      runId,
      result.modelId,
      result.weightsFormat ?? 'loom',
      bytesOf(result.weights),
    );
    return true;
  });
}

/**
 * Sets the fitness the search assigned to a model and the named parts it was made of. It leaves updated_at alone:
 * fitness is re-scored as the population grows (and again on a resume), which is not a change of the model's
 * state, and a finished model's record must stay as training left it.
 */
export function setFitness(s: StoreDb, runId: string, modelId: string, fitness: number, parts: Record<string, number>): void {
  s.writable('set fitness');
  const what = `model ${modelId} of run ${runId}`;
  if (typeof fitness !== 'number' || !Number.isFinite(fitness)) throw storeError(`${what}: fitness must be a finite number, got ${String(fitness)}`);
  checkFitnessParts(parts, what);
  s.requireChange(
    s.stmt('UPDATE models SET fitness = ?, fitness_parts = ? WHERE run_id = ? AND model_id = ?').run(fitness, toJson(parts), runId, modelId),
    `no model ${modelId} in run ${runId}`,
  );
}

export function getModel(s: StoreDb, runId: string, modelId: string): ModelRecord | undefined {
  const row = s.stmt('SELECT * FROM models WHERE run_id = ? AND model_id = ?').get(runId, modelId) as Row | undefined;
  return row ? modelFromRow(row) : undefined;
}

/** A run's models in the order they were added (generation by generation), optionally filtered. */
export function listModels(s: StoreDb, runId: string, filter: { status?: ModelStatus; generation?: number } = {}): ModelRecord[] {
  const rows = s
    .stmt(
      `SELECT * FROM models
       WHERE run_id = @runId AND (@status IS NULL OR status = @status) AND (@generation IS NULL OR generation = @generation)
       ORDER BY generation, rowid`,
    )
    .all({ runId, status: filter.status ?? null, generation: filter.generation ?? null }) as Row[];
  return rows.map(modelFromRow);
}

export function countModels(s: StoreDb, runId: string): Record<ModelStatus, number> {
  const counts = emptyStatusCounts();
  for (const row of s.stmt('SELECT status, COUNT(*) AS n FROM models WHERE run_id = ? GROUP BY status').all(runId) as Row[]) {
    const status = str(row, 'status');
    if (status in counts) counts[status as ModelStatus] = num(row, 'n');
  }
  return counts;
}

/** Every stored model's predictions on a split (or those of `modelIds`, in that order), decoded. */
export function getPredictions(s: StoreDb, runId: string, split: PredictionSplit, modelIds?: readonly string[]): SplitPredictions {
  let rows = s
    .stmt(
      `SELECT p.* FROM predictions p JOIN models m ON m.run_id = p.run_id AND m.model_id = p.model_id
       WHERE p.run_id = ? AND p.split = ? ORDER BY m.generation, m.rowid`,
    )
    .all(runId, split) as Row[];
  if (modelIds) {
    const byId = new Map(rows.map((r) => [str(r, 'model_id'), r]));
    rows = modelIds.map((id) => {
      const row = byId.get(id);
      if (!row) throw storeError(`no ${split} predictions for model ${id} in run ${runId}`);
      return row;
    });
  }
  const first = rows[0];
  const numSamples = first ? num(first, 'num_samples') : 0;
  const numClasses = first ? num(first, 'num_classes') : 0;
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
    probs: rows.map((r) => decodeFloat32(blob(r, 'probs'))),
    masks: rows.map((r) => unpackMask(blob(r, 'correctness_mask'), numSamples)),
  });
}

export function getWeights(s: StoreDb, runId: string, modelId: string): WeightsRecord | undefined {
  const row = s.stmt('SELECT * FROM weights WHERE run_id = ? AND model_id = ?').get(runId, modelId) as Row | undefined;
  if (!row) return undefined;
  return Object.freeze({ runId, modelId, format: str(row, 'format'), bytes: new Uint8Array(blob(row, 'bytes')) });
}
