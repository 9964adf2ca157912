import type {
  AnalysisRecord,
  EnsembleRecord,
  EpochMetrics,
  ExportRecord,
  GenerationRecord,
  ModelRecord,
  ModelStatus,
  RunEvent,
  RunRecord,
  RunStatus,
} from './types.js';

/** SQLite rows → frozen records. JSON columns are parsed here, once, so callers get plain data. */
export type Row = Record<string, unknown>;

export const toJson = (value: unknown): string => JSON.stringify(value ?? null);
export const fromJson = (text: string | null): unknown => (text === null ? null : (JSON.parse(text) as unknown));

export const str = (row: Row, key: string): string => row[key] as string;
export const num = (row: Row, key: string): number => row[key] as number;
const numOrNull = (row: Row, key: string): number | null => (row[key] ?? null) as number | null;
const strOrNull = (row: Row, key: string): string | null => (row[key] ?? null) as string | null;

export function runFromRow(row: Row): RunRecord {
  return Object.freeze({
    id: str(row, 'id'),
    name: str(row, 'name'),
    status: str(row, 'status') as RunStatus,
    config: fromJson(str(row, 'config')),
    seed: num(row, 'seed'),
    dataRef: str(row, 'data_ref'),
    dataChecksum: str(row, 'data_checksum'),
    codeVersion: str(row, 'code_version'),
    createdAt: num(row, 'created_at'),
    finishedAt: numOrNull(row, 'finished_at'),
    summary: fromJson(strOrNull(row, 'summary')),
  });
}

export function generationFromRow(row: Row): GenerationRecord {
  return Object.freeze({
    runId: str(row, 'run_id'),
    index: num(row, 'idx'),
    startedAt: num(row, 'started_at'),
    finishedAt: numOrNull(row, 'finished_at'),
    stats: fromJson(strOrNull(row, 'stats')),
  });
}

export function modelFromRow(row: Row): ModelRecord {
  return Object.freeze({
    runId: str(row, 'run_id'),
    modelId: str(row, 'model_id'),
    generation: num(row, 'generation'),
    arch: fromJson(str(row, 'arch')),
    parentIds: Object.freeze(fromJson(str(row, 'parent_ids')) as string[]),
    seed: numOrNull(row, 'seed'),
    status: str(row, 'status') as ModelStatus,
    attempts: num(row, 'attempts'),
    error: strOrNull(row, 'error'),
    worker: strOrNull(row, 'worker'),
    createdAt: num(row, 'created_at'),
    updatedAt: num(row, 'updated_at'),
    metrics: fromJson(strOrNull(row, 'metrics')) as EpochMetrics[] | null,
    valAccuracy: numOrNull(row, 'val_accuracy'),
    testAccuracy: numOrNull(row, 'test_accuracy'),
    paramCount: numOrNull(row, 'param_count'),
    trainMs: numOrNull(row, 'train_ms'),
    fitness: numOrNull(row, 'fitness'),
  });
}

export function analysisFromRow(row: Row): AnalysisRecord {
  return Object.freeze({
    id: num(row, 'id'),
    runId: str(row, 'run_id'),
    kind: str(row, 'kind'),
    createdAt: num(row, 'created_at'),
    payload: fromJson(str(row, 'payload')),
  });
}

export function ensembleFromRow(row: Row): EnsembleRecord {
  return Object.freeze({
    id: num(row, 'id'),
    runId: str(row, 'run_id'),
    method: str(row, 'method'),
    members: Object.freeze(fromJson(str(row, 'members')) as string[]),
    weights: Object.freeze(fromJson(str(row, 'weights')) as number[]),
    valAccuracy: numOrNull(row, 'val_accuracy'),
    testAccuracy: numOrNull(row, 'test_accuracy'),
    payload: fromJson(strOrNull(row, 'payload')),
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
  return Object.freeze({
    id: num(row, 'id'),
    runId: str(row, 'run_id'),
    ts: num(row, 'ts'),
    kind: str(row, 'kind'),
    payload: fromJson(strOrNull(row, 'payload')),
  });
}
