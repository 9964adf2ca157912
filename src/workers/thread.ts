import { parentPort, workerData } from 'node:worker_threads';
import { LoomError } from '../engine/errors.js';
import type { FromThread, ToThread } from './pool.js';
import { loadJobData, processJob } from './processor.js';
import { transferList } from './wire.js';

/** The worker-thread side of the pool: receives jobs, trains, posts progress and the result. */
const name = (workerData as { name?: string } | null)?.name ?? 'thread';
const port = parentPort;
if (!port) throw new Error('thread.ts must run in a worker thread');

port.on('message', async (msg: ToThread) => {
  if (msg.kind !== 'job') return;
  const post = (m: FromThread, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  try {
    const dataset = loadJobData(msg.job.data);
    const result = await processJob(msg.job, dataset, {
      worker: name,
      onProgress: (progress) => post({ kind: 'progress', progress }),
    });
    post({ kind: 'result', result }, transferList(result));
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    post({ kind: 'error', message: e.message, code: e instanceof LoomError ? e.code : undefined });
  }
});
