import type { SandboxedJob } from 'bullmq';
import { selectBackend } from '../engine/backend/index.js';
import { LoomError } from '../engine/errors.js';
import { validateConfig } from '../search/arch.js';
import { loadJobData, processJob } from './processor.js';
import type { DataRef, ResumePoint, RungThreshold, TrainingJob, WarmStart } from '../search/jobs.js';
import { parseTraining } from '../search/config.js';
import { checkFractions, checkKFold } from '../data/index.js';
import { encodeResult, type WireResult } from './wire.js';

/**
 * The sandboxed BullMQ processor: one training job in a worker thread of `loom worker`, so the worker's main
 * event loop stays free to renew job locks however long the training takes. The job is plain JSON from Redis,
 * so its config is validated again here; data whose checksum differs from the run's is refused (loadJobData).
 */
const workerName = process.env.LOOM_WORKER_NAME ?? 'remote';
let backendReady: Promise<unknown> | null = null;

/** The backend this thread trains on: the worker's --device choice, made once per thread. */
function ensureBackend(): Promise<unknown> {
  backendReady ??= process.env.LOOM_WORKER_DEVICE === 'webgpu' ? selectBackend('webgpu') : Promise.resolve();
  return backendReady;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSeed = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/** The data reference of a job read from Redis: checked field by field, since it crossed a network. */
function checkDataRef(v: unknown): DataRef {
  const bad = (why: string): LoomError => new LoomError('LOOM_ERR_QUEUE', `a job's data reference ${why}: ${JSON.stringify(v)?.slice(0, 120)}`);
  if (!isObject(v) || typeof v.ref !== 'string' || typeof v.checksum !== 'string') throw bad('needs a ref and a checksum');
  if (!isSeed(v.splitSeed)) throw bad('needs an integer splitSeed in [0, 2^32)');
  if (v.limit !== undefined && !(typeof v.limit === 'number' && Number.isInteger(v.limit) && v.limit > 0)) throw bad('has a bad limit');
  return {
    ref: v.ref,
    checksum: v.checksum,
    splitSeed: v.splitSeed,
    ...(v.limit === undefined ? {} : { limit: v.limit }),
    ...(v.fractions === undefined ? {} : { fractions: checkFractions(v.fractions) }),
    ...(v.kfold === undefined ? {} : { kfold: checkKFold(v.kfold) }),
  };
}

function checkJob(data: unknown): TrainingJob {
  if (!isObject(data) || typeof data.runId !== 'string' || typeof data.modelId !== 'string' || typeof data.generation !== 'number' || !isObject(data.training) || !isSeed(data.seed)) {
    throw new LoomError('LOOM_ERR_QUEUE', `not a Loom training job: ${JSON.stringify(data)?.slice(0, 120)}`);
  }
  return {
    runId: data.runId,
    modelId: data.modelId,
    generation: data.generation,
    arch: validateConfig(data.arch),
    data: checkDataRef(data.data),
    training: parseTraining(data.training),
    seed: data.seed,
    ...(data.stopBelow === undefined ? {} : { stopBelow: checkStopBelow(data.stopBelow) }),
    ...(data.warmStart === undefined ? {} : { warmStart: checkWarmStart(data.warmStart) }),
    ...(data.pauseAt === undefined ? {} : { pauseAt: checkPauseAt(data.pauseAt) }),
    ...(data.resumeFrom === undefined ? {} : { resumeFrom: checkResumeFrom(data.resumeFrom) }),
  };
}

function checkPauseAt(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new LoomError('LOOM_ERR_QUEUE', `a job's pauseAt must be a positive number of epochs: ${JSON.stringify(v)}`);
  return v;
}

function checkResumeFrom(v: unknown): ResumePoint {
  if (!isObject(v) || typeof v.modelId !== 'string' || typeof v.weights !== 'string' || typeof v.state !== 'string') {
    throw new LoomError('LOOM_ERR_QUEUE', `a job's resumeFrom must be {modelId, weights (base64), state (base64)}: ${JSON.stringify(v)?.slice(0, 120)}`);
  }
  return { modelId: v.modelId, weights: v.weights, state: v.state };
}

function checkStopBelow(v: unknown): RungThreshold[] {
  const ok = (t: unknown): t is RungThreshold =>
    isObject(t) && typeof t.epoch === 'number' && Number.isFinite(t.epoch) && t.epoch > 0 && typeof t.minValAccuracy === 'number' && Number.isFinite(t.minValAccuracy);
  if (!Array.isArray(v) || !v.every(ok)) throw new LoomError('LOOM_ERR_QUEUE', `a job's stopBelow must be a list of {epoch, minValAccuracy}: ${JSON.stringify(v)?.slice(0, 120)}`);
  return v.map((t) => ({ epoch: t.epoch, minValAccuracy: t.minValAccuracy }));
}

function checkWarmStart(v: unknown): WarmStart {
  if (!isObject(v) || typeof v.modelId !== 'string' || typeof v.weights !== 'string') {
    throw new LoomError('LOOM_ERR_QUEUE', `a job's warmStart must be {modelId, weights (base64)}: ${JSON.stringify(v)?.slice(0, 120)}`);
  }
  return { modelId: v.modelId, weights: v.weights };
}

export default async function processTrainingJob(job: SandboxedJob<TrainingJob, WireResult>, _token?: string, signal?: AbortSignal): Promise<WireResult> {
  try {
    const training = checkJob(job.data);
    await ensureBackend();
    const dataset = loadJobData(training.data);
    const result = await processJob(training, dataset, {
      worker: workerName,
      onProgress: (progress) => void job.updateProgress({ ...progress }).catch(() => {}),
      ...(signal ? { signal } : {}),
    });
    return encodeResult(result);
  } catch (err) {
    // The message is what the run's database records: say which worker and which kind of error.
    const e = err instanceof Error ? err : new Error(String(err));
    const code = e instanceof LoomError ? ` (${e.code})` : '';
    throw new Error(`worker ${workerName}: ${e.message}${code}`);
  }
}
