import type { SandboxedJob } from 'bullmq';
import { selectBackend } from '../engine/backend/index.js';
import { LoomError } from '../engine/errors.js';
import { validateConfig } from '../search/arch.js';
import { loadJobData, processJob } from './processor.js';
import type { TrainingJob } from '../search/jobs.js';
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

function checkJob(data: unknown): TrainingJob {
  const job = data as Partial<TrainingJob> | null;
  if (!job || typeof job.runId !== 'string' || typeof job.modelId !== 'string' || !job.data || !job.training || typeof job.seed !== 'number') {
    throw new LoomError('LOOM_ERR_QUEUE', `not a Loom training job: ${JSON.stringify(data)?.slice(0, 120)}`);
  }
  return { ...(job as TrainingJob), arch: validateConfig(job.arch) };
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
