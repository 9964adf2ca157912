import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ModelResult } from '../store/types.js';
import { JobFailedError, type Executor, type JobProgress, type TrainingJob } from '../search/jobs.js';

/** Messages between the pool and a worker thread. */
export type ToThread = { kind: 'job'; job: TrainingJob };
export type FromThread =
  | { kind: 'progress'; progress: JobProgress }
  | { kind: 'result'; result: ModelResult }
  | { kind: 'error'; message: string; code?: string };

interface Pending {
  job: TrainingJob;
  onProgress?: (p: JobProgress) => void;
  resolve: (r: ModelResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  current: Pending | null;
}

/**
 * Runs training jobs on worker threads, one per core by default. Each thread keeps the data sets it has
 * loaded, so a run pays for loading once per thread. A thread that crashes fails only its own job and is replaced.
 */
export class ThreadPoolExecutor implements Executor {
  readonly concurrency: number;
  get workers(): number {
    return this.concurrency;
  }
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private closed = false;

  constructor(options: { threads?: number; workerName?: string } = {}) {
    this.concurrency = Math.max(1, options.threads ?? availableParallelism());
    for (let i = 0; i < this.concurrency; i++) this.slots.push(this.spawn(`${options.workerName ?? 'local'}-${i}`));
  }

  run(job: TrainingJob, onProgress?: (p: JobProgress) => void): Promise<ModelResult> {
    if (this.closed) return Promise.reject(new Error('pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, onProgress, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const stopped = new Error('pool closed before the job finished');
    for (const p of this.queue.splice(0)) p.reject(stopped);
    await Promise.all(
      this.slots.map(async (slot) => {
        slot.current?.reject(stopped);
        slot.current = null;
        await slot.worker.terminate();
      }),
    );
  }

  private spawn(name: string): Slot {
    const worker = new Worker(new URL('./thread-entry.mjs', import.meta.url), { workerData: { name } });
    const slot: Slot = { worker, current: null };
    worker.on('message', (msg: FromThread) => {
      const pending = slot.current;
      if (!pending) return;
      if (msg.kind === 'progress') {
        pending.onProgress?.(msg.progress);
        return;
      }
      slot.current = null;
      if (msg.kind === 'result') pending.resolve(msg.result);
      else pending.reject(new JobFailedError(msg.message, msg.code));
      this.dispatch();
    });
    const onDeath = (err: Error): void => {
      if (this.closed) return;
      const pending = slot.current;
      slot.current = null;
      pending?.reject(new JobFailedError(`worker thread ${name} died: ${err.message}`));
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots[index] = this.spawn(name);
      this.dispatch();
    };
    worker.on('error', onDeath);
    worker.on('exit', (code) => {
      if (!this.closed && code !== 0) onDeath(new Error(`exit code ${code}`));
    });
    worker.unref();
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.current || this.queue.length === 0) continue;
      const next = this.queue.shift() as Pending;
      slot.current = next;
      slot.worker.ref();
      slot.worker.postMessage({ kind: 'job', job: next.job } satisfies ToThread);
    }
    // Idle threads must not keep the process alive.
    for (const slot of this.slots) if (!slot.current) slot.worker.unref();
  }
}
