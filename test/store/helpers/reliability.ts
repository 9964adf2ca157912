import { parseSearchConfig, type SearchConfig } from '../../../src/search/config.js';
import type { Executor, JobProgress, TrainingJob } from '../../../src/search/jobs.js';
import type { ModelResult } from '../../../src/store/types.js';
import { loadJobData, processJob } from '../../../src/workers/processor.js';

/** A small, fast search for the reliability tests: blobs, 3 models, one generation, 2 epochs. */
export const smallConfig = (overrides: Record<string, unknown> = {}): SearchConfig =>
  parseSearchConfig({
    name: 'reliability',
    seed: 7,
    data: { ref: 'synthetic:blobs' },
    population: 3,
    generations: 1,
    elite: 1,
    training: { epochs: 2, batchSize: 32 },
    generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono'], maxBrains: 2 },
    ...overrides,
  });

/** Trains in this process; `gate` (when set) holds every job until it resolves; counts what it started. */
export class InProcessExecutor implements Executor {
  readonly concurrency = 1;
  readonly started: string[] = [];
  constructor(
    private readonly gate?: Promise<void>,
    private readonly fail?: (job: TrainingJob) => string | null,
  ) {}
  async run(job: TrainingJob, onProgress?: (p: JobProgress) => void): Promise<ModelResult> {
    this.started.push(job.modelId);
    if (this.gate) await this.gate;
    const reason = this.fail?.(job) ?? null;
    if (reason) throw new Error(reason);
    return processJob(job, loadJobData(job.data), { worker: 'in-process', ...(onProgress ? { onProgress } : {}) });
  }
  async close(): Promise<void> {}
}
