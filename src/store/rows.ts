import { storeError } from './db.js';
import { parseAnalysisPayload, parseEpochMetrics, parseFitnessParts, parseGenerationStats, parseJsonText, parseNumberList, parseStringList } from './json.js';
import {
  MODEL_STATUSES,
  type AnalysisRecord,
  type EnsembleRecord,
  type ExportRecord,
  type GenerationRecord,
  type ModelRecord,
  type ModelStatus,
  type RunEvent,
  type RunRecord,
  type RunStatus,
} from './types.js';

/** SQLite rows → frozen records. Every column is checked and JSON columns are parsed here, once. */
export type Row = Record<string, unknown>;

const RUN_STATUSES: readonly RunStatus[] = ['running', 'finished', 'interrupted', 'failed'];

export function str(row: Row, key: string): string {
  const v = row[key];
  if (typeof v !== 'string') throw storeError(`column ${key} holds ${typeof v}, expected text`);
  return v;
}

export function num(row: Row, key: string): number {
  const v = row[key];
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'number') throw storeError(`column ${key} holds ${typeof v}, expected a number`);
  return v;
}

const numOrNull = (row: Row, key: string): number | null => (row[key] === null || row[key] === undefined ? null : num(row, key));
const strOrNull = (row: Row, key: string): string | null => (row[key] === null || row[key] === undefined ? null : str(row, key));
const jsonOrNull = (row: Row, key: string, what: string): unknown => {
  const text = strOrNull(row, key);
  return text === null ? null : parseJsonText(text, what);
};

export function blob(row: Row, key: string): Uint8Array {
  const v = row[key];
  if (!(v instanceof Uint8Array)) throw storeError(`column ${key} holds ${typeof v}, expected bytes`);
  return v;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw storeError(`${what} "${value}" is not one of ${allowed.join(', ')}`);
  return found;
}

export function runFromRow(row: Row): RunRecord {
  const id = str(row, 'id');
  return Object.freeze({
    id,
    name: str(row, 'name'),
    status: oneOf(str(row, 'status'), RUN_STATUSES, `run ${id}: status`),
    config: parseJsonText(str(row, 'config'), `run ${id}: config`),
    seed: num(row, 'seed'),
    dataRef: str(row, 'data_ref'),
    dataChecksum: str(row, 'data_checksum'),
    codeVersion: str(row, 'code_version'),
    createdAt: num(row, 'created_at'),
    finishedAt: numOrNull(row, 'finished_at'),
    summary: jsonOrNull(row, 'summary', `run ${id}: summary`),
    leaseOwner: strOrNull(row, 'lease_owner'),
    leaseExpiresAt: numOrNull(row, 'lease_expires_at'),
    heartbeatAt: numOrNull(row, 'heartbeat_at'),
    finalizedAt: numOrNull(row, 'finalized_at'),
  });
}

export function generationFromRow(row: Row): GenerationRecord {
  const runId = str(row, 'run_id');
  const index = num(row, 'idx');
  const what = `run ${runId} generation ${index}: stats`;
  const stats = jsonOrNull(row, 'stats', what);
  return Object.freeze({
    runId,
    index,
    startedAt: num(row, 'started_at'),
    finishedAt: numOrNull(row, 'finished_at'),
    stats: stats === null ? null : parseGenerationStats(stats, what),
  });
}

export function modelFromRow(row: Row): ModelRecord {
  const runId = str(row, 'run_id');
  const modelId = str(row, 'model_id');
  const at = `run ${runId} model ${modelId}`;
  const metrics = jsonOrNull(row, 'metrics', `${at}: metrics`);
  const parts = jsonOrNull(row, 'fitness_parts', `${at}: fitness parts`);
  return Object.freeze({
    runId,
    modelId,
    generation: num(row, 'generation'),
    arch: parseJsonText(str(row, 'arch'), `${at}: arch`),
    parentIds: parseStringList(parseJsonText(str(row, 'parent_ids'), `${at}: parent ids`), `${at}: parent ids`),
    seed: numOrNull(row, 'seed'),
    status: oneOf<ModelStatus>(str(row, 'status'), MODEL_STATUSES, `${at}: status`),
    attempts: num(row, 'attempts'),
    error: strOrNull(row, 'error'),
    worker: strOrNull(row, 'worker'),
    createdAt: num(row, 'created_at'),
    updatedAt: num(row, 'updated_at'),
    metrics: metrics === null ? null : Object.freeze(parseEpochMetrics(metrics, `${at}: metrics`)),
    valAccuracy: numOrNull(row, 'val_accuracy'),
    testAccuracy: numOrNull(row, 'test_accuracy'),
    paramCount: numOrNull(row, 'param_count'),
    trainMs: numOrNull(row, 'train_ms'),
    fitness: numOrNull(row, 'fitness'),
    fitnessParts: parts === null ? null : parseFitnessParts(parts, `${at}: fitness parts`),
  });
}

export function analysisFromRow(row: Row): AnalysisRecord {
  const id = num(row, 'id');
  const what = `analysis ${id}: payload`;
  return Object.freeze({
    id,
    runId: str(row, 'run_id'),
    kind: str(row, 'kind'),
    createdAt: num(row, 'created_at'),
    payload: parseAnalysisPayload(parseJsonText(str(row, 'payload'), what), what),
  });
}

export function ensembleFromRow(row: Row): EnsembleRecord {
  const id = num(row, 'id');
  const at = `ensemble ${id}`;
  return Object.freeze({
    id,
    runId: str(row, 'run_id'),
    method: str(row, 'method'),
    members: parseStringList(parseJsonText(str(row, 'members'), `${at}: members`), `${at}: members`),
    weights: parseNumberList(parseJsonText(str(row, 'weights'), `${at}: weights`), `${at}: weights`),
    valAccuracy: numOrNull(row, 'val_accuracy'),
    testAccuracy: numOrNull(row, 'test_accuracy'),
    payload: jsonOrNull(row, 'payload', `${at}: payload`),
    createdAt: num(row, 'created_at'),
  });
}

export function exportFromRow(row: Row): ExportRecord {
  return Object.freeze({
    id: num(row, 'id'),
    runId: str(row, 'run_id'),
    ensembleId: numOrNull(row, 'ensemble_id'),
    path: str(row, 'path'),
    format: str(row, 'format'),
    createdAt: num(row, 'created_at'),
  });
}

export function eventFromRow(row: Row): RunEvent {
  const id = num(row, 'id');
  return Object.freeze({
    id,
    runId: str(row, 'run_id'),
    ts: num(row, 'ts'),
    kind: str(row, 'kind'),
    payload: jsonOrNull(row, 'payload', `event ${id}: payload`),
  });
}
