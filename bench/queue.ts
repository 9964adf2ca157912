import { Worker } from 'bullmq';
import { Rng } from '../src/engine/rng.js';
import { generateConfigs } from '../src/search/arch.js';
import { DEFAULT_TRAINING } from '../src/search/config.js';
import { loadDataset } from '../src/data/index.js';
import type { ModelResult } from '../src/store/types.js';
import { DEFAULT_QUEUE_NAME, QueueExecutor } from '../src/workers/queue.js';
import { closeRedis, connectRedis, DEFAULT_REDIS_URL } from '../src/workers/redis.js';
import { RemoteWorker } from '../src/workers/remote-worker.js';
import type { TrainingJob } from '../src/search/jobs.js';
import { encodeResult } from '../src/workers/wire.js';
import { fmt, median, table } from './util.js';

/**
 * The distributed queue's costs, against the real Redis: (1) overhead per job — enqueue, pick-up by a worker,
 * completion event, result decode — with a processor that does nothing; goal < 20 ms. (2) Models per minute with
 * 1 and 2 local worker threads (sandboxed, as `loom worker` runs them) on a tiny synthetic search; goal ≥ 1.7×
 * on 2 cores. Each measurement uses its own key prefix and deletes it afterwards.
 */
export const QUEUE_OVERHEAD_GOAL_MS = 20;
export const QUEUE_SPEEDUP_GOAL = 1.7;

export interface QueueOverhead {
  readonly jobs: number;
  readonly medianMs: number;
  readonly p90Ms: number;
}

export interface QueueThroughputRow {
  readonly threads: number;
  readonly models: number;
  readonly seconds: number;
  readonly modelsPerMinute: number;
}

const benchPrefix = (label: string): string => `loombench-${label}-${process.pid}-${Date.now().toString(36)}`;

async function deletePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = await connectRedis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await closeRedis(redis);
  }
}

/** A result the size of a small model's (100 validation and test samples, 3 classes, 4 KB of weights). */
function tinyResult(modelId: string): ModelResult {
  return {
    modelId,
    metrics: [{ epoch: 1, loss: 1, accuracy: 0.5, lr: 0.01, ms: 1 }],
    valProbs: new Float32Array(300),
    testProbs: new Float32Array(300),
    valMask: new Uint8Array(100),
    testMask: new Uint8Array(100),
    weights: new Uint8Array(4096),
    paramCount: 1000,
    trainMs: 0,
    worker: 'bench',
    valAccuracy: 0,
    testAccuracy: 0,
    numClasses: 3,
  };
}

/** Jobs for a tiny search on synthetic blobs: `count` small grid networks, `epochs` epochs each. */
function tinyJobs(runId: string, count: number, epochs: number): TrainingJob[] {
  const dataset = loadDataset('synthetic:blobs', { splitSeed: 1 });
  const task = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
  // One architecture for every job (seeds differ): equal jobs measure throughput, not how unequal jobs pack.
  const [arch] = generateConfigs(1, task, new Rng(7), { dModels: [16], numHeads: [2], gridShapes: [{ rows: 2, cols: 2, name: '2x2 Standard' }] });
  return Array.from({ length: count }, (_, k) => ({
    runId,
    modelId: `m${k}`,
    generation: 0,
    arch: { ...(arch as TrainingJob['arch']), id: `m${k}` },
    data: { ref: 'synthetic:blobs', checksum: dataset.checksum, splitSeed: 1 },
    training: { ...DEFAULT_TRAINING, epochs, batchSize: 16 },
    seed: 100 + k,
  }));
}

/** Round-trip time of one job through the queue with a processor that returns at once, jobs one after another. */
export async function benchQueueOverhead(options: { redis?: string; jobs?: number } = {}): Promise<QueueOverhead> {
  const redisUrl = options.redis ?? DEFAULT_REDIS_URL;
  const prefix = benchPrefix('overhead');
  const jobs = options.jobs ?? 60;
  const executor = await QueueExecutor.connect({ redis: redisUrl, prefix });
  const connection = await connectRedis(redisUrl);
  const worker = new Worker<TrainingJob>(DEFAULT_QUEUE_NAME, async (job) => encodeResult(tinyResult(job.data.modelId)), { connection, prefix, concurrency: 1 });
  try {
    await worker.waitUntilReady();
    const [template] = tinyJobs('bench-overhead', 1, 1) as [TrainingJob];
    const times: number[] = [];
    for (let i = 0; i < jobs + 5; i++) {
      const t = performance.now();
      await executor.run({ ...template, modelId: `m${i}` });
      if (i >= 5) times.push(performance.now() - t); // the first few warm up connections and scripts
    }
    const sorted = [...times].sort((a, b) => a - b);
    return { jobs, medianMs: median(times), p90Ms: sorted[Math.floor(sorted.length * 0.9)] as number };
  } finally {
    await worker.close();
    await executor.close();
    await closeRedis(connection);
    await deletePrefix(redisUrl, prefix);
  }
}

/**
 * Models per minute through the queue with 1 and with 2 sandboxed worker threads (one `loom worker` each). The
 * thread counts are measured in alternation for `rounds` rounds and each keeps its best round, so a burst of load
 * from a neighbour on a shared machine does not decide the ratio.
 */
export async function benchQueueThroughput(
  options: { redis?: string; models?: number; epochs?: number; threads?: readonly number[]; rounds?: number } = {},
): Promise<QueueThroughputRow[]> {
  const redisUrl = options.redis ?? DEFAULT_REDIS_URL;
  const models = options.models ?? 8;
  const epochs = options.epochs ?? 20;
  const setups = await Promise.all(
    (options.threads ?? [1, 2]).map(async (threads) => {
      const prefix = benchPrefix(`threads${threads}`);
      const executor = await QueueExecutor.connect({ redis: redisUrl, prefix });
      const worker = await RemoteWorker.start({ redis: redisUrl, prefix, concurrency: threads, device: 'cpu', name: `bench-${threads}` });
      return { threads, prefix, executor, worker, best: Infinity };
    }),
  );
  try {
    for (const s of setups) {
      // Warm-up, one full job per thread: thread start-up and JIT warm-up are not timed.
      await Promise.all(tinyJobs('bench-warmup', s.threads, epochs).map((job) => s.executor.run(job)));
    }
    for (let round = 0; round < (options.rounds ?? 3); round++) {
      for (const s of setups) {
        const jobs = tinyJobs(`bench-run-${round}`, models, epochs);
        const t = performance.now();
        await Promise.all(jobs.map((job) => s.executor.run(job)));
        s.best = Math.min(s.best, (performance.now() - t) / 1000);
      }
    }
    return setups.map((s) => ({ threads: s.threads, models, seconds: s.best, modelsPerMinute: (models / s.best) * 60 }));
  } finally {
    for (const s of setups) {
      await s.worker.stop();
      await s.executor.close();
      await deletePrefix(redisUrl, s.prefix);
    }
  }
}

export function queueTable(overhead: QueueOverhead, throughput: readonly QueueThroughputRow[]): string {
  const base = throughput[0]?.modelsPerMinute ?? 0;
  return [
    `queue overhead per job: median ${fmt(overhead.medianMs)} ms, p90 ${fmt(overhead.p90Ms)} ms over ${overhead.jobs} jobs (goal < ${QUEUE_OVERHEAD_GOAL_MS} ms)`,
    '',
    table(
      ['worker threads', 'models', 'seconds', 'models/min', `speedup (goal ≥ ${QUEUE_SPEEDUP_GOAL}× at 2)`],
      throughput.map((r) => [String(r.threads), String(r.models), r.seconds, r.modelsPerMinute, base > 0 ? `${fmt(r.modelsPerMinute / base)}×` : '-']),
    ),
  ].join('\n');
}

// Run directly: node bin/run-ts.mjs bench/queue.ts [REDIS_URL]
if (process.argv[1]?.endsWith('queue.ts')) {
  const redis = process.argv[2] ?? DEFAULT_REDIS_URL;
  const overhead = await benchQueueOverhead({ redis });
  const throughput = await benchQueueThroughput({ redis });
  console.log(queueTable(overhead, throughput));
}
