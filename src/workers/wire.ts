import { parseEpochMetrics } from '../store/json.js';
import type { EpochMetrics, ModelResult } from '../store/types.js';
import { queueError } from './redis.js';
import type { JobProgress } from '../search/jobs.js';

/**
 * ModelResult as JSON for Redis: BullMQ stores a job's return value with JSON.stringify, which would turn a
 * Float32Array into an object of numbered keys. Typed arrays travel as base64 of their little-endian bytes
 * (every platform Node runs on); everything else is already plain JSON.
 */
export interface WireResult {
  readonly v: 1;
  readonly modelId: string;
  readonly metrics: readonly EpochMetrics[];
  readonly valProbs: string;
  readonly testProbs: string;
  readonly valMask: string;
  readonly testMask: string;
  readonly weights: string;
  readonly weightsFormat?: string;
  readonly paramCount: number;
  readonly trainMs: number;
  readonly worker: string;
  readonly valAccuracy: number;
  readonly testAccuracy: number;
  readonly numClasses: number;
  /** A paused job's training state (ModelResult.paused). */
  readonly paused?: string;
}

const toBase64 = (a: Float32Array | Uint8Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/** A fresh, aligned copy of the decoded bytes (Buffer.from may hand out an unaligned view of a shared pool). */
function bytes(field: string, text: unknown): Uint8Array {
  if (typeof text !== 'string') throw queueError(`a job result's ${field} is missing or not base64`);
  const b = Buffer.from(text, 'base64');
  const out = new Uint8Array(b.byteLength);
  out.set(b);
  return out;
}

function floats(field: string, text: unknown): Float32Array {
  const b = bytes(field, text);
  if (b.byteLength % 4 !== 0) throw queueError(`a job result's ${field} has ${b.byteLength} bytes, not a whole number of float32s`);
  return new Float32Array(b.buffer, 0, b.byteLength / 4);
}

/**
 * Worker threads: the result's buffers to move (not copy) to the pool; probabilities, masks and weights can be
 * megabytes. Only arrays that own their whole buffer qualify: transferring a view would detach what shares it.
 */
export function transferList(result: ModelResult): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const a of [result.valProbs, result.testProbs, result.valMask, result.testMask, result.weights, ...(result.paused ? [result.paused] : [])]) {
    if (a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) buffers.add(a.buffer);
  }
  return [...buffers];
}

export function encodeResult(r: ModelResult): WireResult {
  return {
    v: 1,
    modelId: r.modelId,
    metrics: r.metrics,
    valProbs: toBase64(r.valProbs),
    testProbs: toBase64(r.testProbs),
    valMask: toBase64(r.valMask),
    testMask: toBase64(r.testMask),
    weights: toBase64(r.weights),
    ...(r.weightsFormat === undefined ? {} : { weightsFormat: r.weightsFormat }),
    paramCount: r.paramCount,
    trainMs: r.trainMs,
    worker: r.worker,
    valAccuracy: r.valAccuracy,
    testAccuracy: r.testAccuracy,
    numClasses: r.numClasses,
    ...(r.paused ? { paused: toBase64(r.paused) } : {}),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function num(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw queueError(`a job result's ${key} is not a number: ${JSON.stringify(v)}`);
  return v;
}

function str(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw queueError(`a job result's ${key} is not a string: ${JSON.stringify(v)}`);
  return v;
}

/** Decodes and checks a result read back from Redis (it crossed a network: trust nothing). */
export function decodeResult(value: unknown, expectedModelId?: string): ModelResult {
  if (!isObject(value) || value.v !== 1) throw queueError(`a job's return value is not a Loom result (v1): ${JSON.stringify(value)?.slice(0, 80)}`);
  const modelId = str(value, 'modelId');
  if (expectedModelId !== undefined && modelId !== expectedModelId) {
    throw queueError(`a job for model ${expectedModelId} returned the result of model ${modelId}`);
  }
  if (!Array.isArray(value.metrics)) throw queueError(`the result of model ${modelId} has no metrics array`);
  const numClasses = num(value, 'numClasses');
  const valProbs = floats('valProbs', value.valProbs);
  const testProbs = floats('testProbs', value.testProbs);
  const valMask = bytes('valMask', value.valMask);
  const testMask = bytes('testMask', value.testMask);
  if (valProbs.length !== valMask.length * numClasses || testProbs.length !== testMask.length * numClasses) {
    throw queueError(`the result of model ${modelId} has probabilities and masks of inconsistent sizes`);
  }
  return {
    modelId,
    metrics: parseEpochMetrics(value.metrics, `the result of model ${modelId}`),
    valProbs,
    testProbs,
    valMask,
    testMask,
    weights: bytes('weights', value.weights),
    ...(typeof value.weightsFormat === 'string' ? { weightsFormat: value.weightsFormat } : {}),
    paramCount: num(value, 'paramCount'),
    trainMs: num(value, 'trainMs'),
    worker: str(value, 'worker'),
    valAccuracy: num(value, 'valAccuracy'),
    // A pruned model's result has no test predictions, and so no test accuracy (JSON carries its NaN as null).
    testAccuracy: testMask.length === 0 ? Number.NaN : num(value, 'testAccuracy'),
    numClasses,
    ...(value.paused === undefined ? {} : { paused: bytes('paused', value.paused) }),
  };
}

/** A progress payload from the queue's event stream, or null when it is not one of ours. */
export function parseProgress(data: unknown): JobProgress | null {
  if (!isObject(data)) return null;
  const { modelId, epoch, epochs, loss, valAccuracy } = data;
  if (typeof modelId !== 'string' || typeof epoch !== 'number' || typeof epochs !== 'number' || typeof loss !== 'number') return null;
  return { modelId, epoch, epochs, loss, ...(typeof valAccuracy === 'number' ? { valAccuracy } : {}) };
}
