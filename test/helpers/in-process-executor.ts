import type { Executor, JobProgress, TrainingJob } from '../../src/search/jobs.js';
import type { ModelResult } from '../../src/store/types.js';
import { loadJobData, processJob } from '../../src/workers/processor.js';

/**
 * Trains in this process, through the same processor as the worker threads. Records every job it is handed
 * (`jobs`, and their ids in `started`); `gate` (when set) holds every job until it resolves; `fail` may name a
 * reason to fail a job instead of training it.
 */
export class InProcessExecutor implements Executor {
  readonly concurrency = 1;
  readonly workers = 1;
  readonly jobs: TrainingJob[] = [];
  readonly started: string[] = [];
  constructor(
    private readonly gate?: Promise<void>,
    private readonly fail?: (job: TrainingJob) => string | null,
  ) {}
  async run(job: TrainingJob, onProgress?: (p: JobProgress) => void): Promise<ModelResult> {
    this.jobs.push(job);
    this.started.push(job.modelId);
    if (this.gate) await this.gate;
    const reason = this.fail?.(job) ?? null;
    if (reason) throw new Error(reason);
    return processJob(job, loadJobData(job.data), { worker: 'in-process', ...(onProgress ? { onProgress } : {}) });
  }
  async close(): Promise<void> {}
}
