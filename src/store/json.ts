import { storeError } from './db.js';
import type { AnalysisPayload, EpochMetrics, GenerationStats } from './types.js';

/**
 * The store's typed JSON columns: each shape the store reads back has exactly one parser, here. Parsers take
 * the decoded JSON and `what` (which row, for the message) and throw LOOM_ERR_STORE naming the row and field.
 */

export const toJson = (value: unknown): string => JSON.stringify(value ?? null);

export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw storeError(`${what} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON has no NaN: JSON.stringify writes a non-finite metric as null, read back as NaN. */
function metricNumber(o: Record<string, unknown>, keys: readonly string[], what: string, required: boolean): number | undefined {
  for (const key of keys) {
    const v = o[key];
    if (v === undefined) continue;
    if (v === null) return Number.NaN;
    if (typeof v !== 'number') throw storeError(`${what}: "${key}" is not a number: ${JSON.stringify(v)}`);
    return v;
  }
  if (required) throw storeError(`${what}: "${keys[0]}" is missing`);
  return undefined;
}

/**
 * Epoch metrics under the engine's names. Rows written before the store kept those names (trainLoss,
 * trainAccuracy, learningRate) are read under the new ones.
 */
export function parseEpochMetrics(value: unknown, what: string): EpochMetrics[] {
  if (!Array.isArray(value)) throw storeError(`${what}: epoch metrics must be an array`);
  return value.map((entry, i) => {
    const at = `${what}, epoch entry ${i}`;
    if (!isObject(entry)) throw storeError(`${at} is not an object`);
    const epoch = metricNumber(entry, ['epoch'], at, true) as number;
    const loss = metricNumber(entry, ['loss', 'trainLoss'], at, true) as number;
    const accuracy = metricNumber(entry, ['accuracy', 'trainAccuracy'], at, false);
    const valLoss = metricNumber(entry, ['valLoss'], at, false);
    const valAccuracy = metricNumber(entry, ['valAccuracy'], at, false);
    const lr = metricNumber(entry, ['lr', 'learningRate'], at, false);
    const ms = metricNumber(entry, ['ms'], at, false);
    return Object.freeze({
      epoch,
      loss,
      accuracy: accuracy ?? Number.NaN,
      ...(valLoss === undefined ? {} : { valLoss }),
      ...(valAccuracy === undefined ? {} : { valAccuracy }),
      lr: lr ?? Number.NaN,
      ms: ms ?? Number.NaN,
    });
  });
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) throw storeError(`${what} must be a list of strings`);
  return value;
}

function numberList(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((v): v is number => typeof v === 'number')) throw storeError(`${what} must be a list of numbers`);
  return value;
}

export const parseStringList = (value: unknown, what: string): readonly string[] => Object.freeze(stringList(value, what));
export const parseNumberList = (value: unknown, what: string): readonly number[] => Object.freeze(numberList(value, what));

const STAT_NUMBERS = ['bestValAccuracy', 'meanValAccuracy', 'done', 'failed', 'pruned'] as const;

export function parseGenerationStats(value: unknown, what: string): GenerationStats {
  if (!isObject(value)) throw storeError(`${what}: generation stats must be an object`);
  const out: { -readonly [K in keyof GenerationStats]: GenerationStats[K] } = { members: Object.freeze(stringList(value.members, `${what}: members`)) };
  for (const key of STAT_NUMBERS) {
    const v = value[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number') throw storeError(`${what}: "${key}" is not a number: ${JSON.stringify(v)}`);
    out[key] = v;
  }
  return Object.freeze(out);
}

export function parseAnalysisPayload(value: unknown, what: string): AnalysisPayload {
  if (!isObject(value)) throw storeError(`${what}: an analysis payload must be a JSON object`);
  if (value.ensembleIds !== undefined) numberList(value.ensembleIds, `${what}: ensembleIds`);
  const chosen = value.chosenEnsembleId;
  if (chosen !== undefined && chosen !== null && typeof chosen !== 'number') throw storeError(`${what}: chosenEnsembleId is not a number or null`);
  return value as AnalysisPayload; // checked field by field above
}

export function parseFitnessParts(value: unknown, what: string): Readonly<Record<string, number>> {
  if (!isObject(value)) throw storeError(`${what}: fitness parts must be an object of numbers`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'number' && v !== null) throw storeError(`${what}: fitness part "${k}" is not a number`);
  }
  return Object.freeze(Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === null ? Number.NaN : (v as number)])));
}

/** Checks fitness parts before they are written: names and finite numbers only. */
export function checkFitnessParts(parts: Record<string, number>, what: string): void {
  for (const [k, v] of Object.entries(parts)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw storeError(`${what}: fitness part "${k}" must be a finite number, got ${String(v)}`);
  }
}
