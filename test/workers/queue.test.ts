import { Redis } from 'ioredis';
import { Worker } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { decodeLoomModel } from '../../src/engine/io/loom-format.js';
import { Coordinator, totalModels, type RunEvent } from '../../src/search/coordinator.js';
import { Store } from '../../src/store/store.js';
import type { ModelResult } from '../../src/store/types.js';
import { ThreadPoolExecutor } from '../../src/workers/pool.js';
import { QueueExecutor, queueJobId, TRAIN_JOB_NAME } from '../../src/workers/queue.js';
import { parseRedisUrl } from '../../src/workers/redis.js';
import { WorkerRegistry } from '../../src/workers/registry.js';
import type { Executor, JobProgress, TrainingJob } from '../../src/search/jobs.js';
import { decodeResult, encodeResult } from '../../src/workers/wire.js';
import { deletePrefix, REDIS_URL, spawnLoom, startWorker, stopAll, tinyConfig, tinyJob, uniquePrefix, type Spawned } from './helpers/redis-test.js';

const spawned: Spawned[] = [];
const prefixes: string[] = [];
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => {});
  await stopAll(spawned.splice(0));
  for (const p of prefixes.splice(0)) await deletePrefix(p);
});

function newPrefix(label: string): string {
  const p = uniquePrefix(label);
  prefixes.push(p);
  return p;
}

async function executor(prefix: string, extra: Partial<Parameters<typeof QueueExecutor.connect>[0]> = {}): Promise<QueueExecutor> {
  const ex = await QueueExecutor.connect({ redis: REDIS_URL, prefix, backoffMs: 50, pollMs: 500, ...extra });
  closers.push(() => ex.close());
  return ex;
}

/** A result with awkward sizes: 5 validation samples × 3 classes, 3 test samples, 7 weight bytes. */
function awkwardResult(): ModelResult {
  return {
    modelId: 'g0-7',
    metrics: [{ epoch: 1, loss: 0.5, accuracy: 0.5, valAccuracy: 0.6, lr: 0.01, ms: 3 }],
    valProbs: Float32Array.from({ length: 15 }, (_, i) => Math.fround(i / 15 + 1e-7)),
    testProbs: Float32Array.from({ length: 9 }, (_, i) => Math.fround(-i * 0.3)),
    valMask: Uint8Array.from([1, 0, 1, 1, 0]),
    testMask: Uint8Array.from([0, 1, 1]),
    weights: Uint8Array.from([1, 2, 3, 250, 251, 0, 7]),
    weightsFormat: 'loom',
    paramCount: 42,
    trainMs: 12,
    worker: 'w',
    valAccuracy: 0.6,
    testAccuracy: 2 / 3,
    numClasses: 3,
  };
}

describe('job results on the wire', () => {
  it('round-trips typed arrays through JSON exactly, aligned, from offset views', () => {
    const r = awkwardResult();
    // Views that start mid-buffer must encode only their own bytes.
    const big = new Float32Array(20);
    big.set(r.valProbs, 3);
    const viewed = { ...r, valProbs: big.subarray(3, 18) };
    const back = decodeResult(JSON.parse(JSON.stringify(encodeResult(viewed))), 'g0-7');
    expect(back.valProbs).toBeInstanceOf(Float32Array);
    expect(Array.from(back.valProbs)).toEqual(Array.from(r.valProbs));
    expect(Array.from(back.testProbs)).toEqual(Array.from(r.testProbs));
    expect(Array.from(back.valMask)).toEqual([1, 0, 1, 1, 0]);
    expect(Array.from(back.testMask)).toEqual([0, 1, 1]);
    expect(Array.from(back.weights)).toEqual([1, 2, 3, 250, 251, 0, 7]);
    expect(back.valProbs.byteOffset % 4).toBe(0);
    expect({ ...back, valProbs: 0, testProbs: 0, valMask: 0, testMask: 0, weights: 0 }).toEqual({ ...r, valProbs: 0, testProbs: 0, valMask: 0, testMask: 0, weights: 0 });
  });

  it('rejects a result for another model or with inconsistent sizes', () => {
    const wire = encodeResult(awkwardResult());
    expect(() => decodeResult(wire, 'g0-8')).toThrow(/model g0-8 returned the result of model g0-7/);
    expect(() => decodeResult({ ...wire, valMask: Buffer.from([1, 0]).toString('base64') })).toThrow(/inconsistent sizes/);
    expect(() => decodeResult({ ...wire, v: 2 })).toThrow(LoomError);
  });
});

describe('connecting to Redis', () => {
  it('fails fast with LOOM_ERR_QUEUE when Redis is unreachable', async () => {
    const err = await QueueExecutor.connect({ redis: 'redis://127.0.0.1:1', prefix: 'unused' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoomError);
    expect((err as LoomError).code).toBe('LOOM_ERR_QUEUE');
    expect((err as LoomError).message).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  }, 10_000);

  it('`loom worker` exits non-zero with the error instead of hanging', async () => {
    const w = spawnLoom('worker', ['--redis', 'redis://127.0.0.1:1', '--device', 'cpu']);
    spawned.push(w);
    expect(await w.exit).toBe(1);
    expect(w.output()).toMatch(/loom worker: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  }, 15_000);

  it('parses URLs and rejects what is not one', () => {
    expect(parseRedisUrl('redis://u:p%40ss@db.example:6380/2')).toEqual({ host: 'db.example', port: 6380, db: 2, username: 'u', password: 'p@ss' });
    expect(() => parseRedisUrl('localhost:6379')).toThrow(/redis:\/\//);
    expect(() => parseRedisUrl('http://x')).toThrow(/redis:\/\/ or rediss:\/\//);
  });
});

describe('a search through the queue', () => {
  it('runs end to end on two worker processes, each model exactly once, with the local pool’s results', async () => {
    const prefix = newPrefix('e2e');
    const workers = await Promise.all([startWorker(prefix, 'alpha'), startWorker(prefix, 'beta')]);
    spawned.push(...workers);
    // Children inherit their parents' weights, which travel in the job (base64) and must reach the sandboxed processor.
    const config = tinyConfig({ population: 4, generations: 2, elite: 1, inherit: 'children' });
    const ex = await executor(prefix);
    const store = Store.open(':memory:');
    closers.push(async () => store.close());
    const progress: JobProgress[] = [];
    const failures: string[] = [];
    const onEvent = (e: RunEvent): void => {
      if (e.kind === 'model-progress') progress.push(e.progress);
      if (e.kind === 'model-failed') failures.push(`${e.modelId}: ${e.error}`);
    };
    const summary = await new Coordinator({ store, executor: ex, onEvent, maxAttempts: 1 }).start(config, 'run-e2e');

    const total = totalModels(config);
    expect(summary.status).toBe('finished');
    expect(summary.modelsTrained, failures.join('\n')).toBe(total);
    const models = store.listModels('run-e2e');
    expect(models.map((m) => m.status)).toEqual(Array(total).fill('done'));
    expect(new Set(models.map((m) => m.worker)).size).toBeGreaterThanOrEqual(1);
    for (const m of models) expect(['alpha', 'beta']).toContain(m.worker);
    // Per-epoch progress crossed from the workers' threads to the coordinator.
    expect(progress.some((p) => p.epoch === 2 && p.epochs === 2 && Number.isFinite(p.loss))).toBe(true);

    // Exactly once: one completed BullMQ job per model, started once, and the workers counted exactly that many.
    for (const m of models) {
      const job = await ex.bullQueue.getJob(queueJobId({ runId: 'run-e2e', modelId: m.modelId }));
      expect(await job?.getState()).toBe('completed');
      expect(job?.attemptsStarted).toBe(1);
    }
    const redis = new Redis(REDIS_URL);
    closers.push(async () => void redis.disconnect());
    const registered = await new WorkerRegistry(redis, prefix).list();
    expect(registered.map((w) => [w.name, w.alive, w.device])).toEqual([
      ['alpha', true, 'cpu'],
      ['beta', true, 'cpu'],
    ]);
    expect(registered.reduce((s, w) => s + (w.jobsDone ?? 0), 0)).toBe(total);

    const children = models.filter((m) => m.generation === 1 && (m.arch as { origin: string }).origin !== 'random');
    expect(children.length).toBeGreaterThan(0);
    for (const m of children) {
      const file = decodeLoomModel(store.getWeights('run-e2e', m.modelId)!.bytes);
      expect(file.metadata.inheritedFrom).toBe(m.parentIds[0]);
    }

    // Where a job runs must not change what it produces: the same run on the local thread pool.
    const local = Store.open(':memory:');
    const pool = new ThreadPoolExecutor({ threads: 1 });
    try {
      await new Coordinator({ store: local, executor: pool, maxAttempts: 1 }).start(config, 'run-e2e');
      const accuracies = (s: Store) => s.listModels('run-e2e').map((m) => [m.modelId, m.valAccuracy, m.testAccuracy]);
      expect(accuracies(store)).toEqual(accuracies(local));
    } finally {
      await pool.close();
      local.close();
    }

    // `loom workers` lists them.
    const listing = spawnLoom('workers', ['--redis', REDIS_URL, '--prefix', prefix]);
    spawned.push(listing);
    expect(await listing.exit).toBe(0);
    expect(listing.output()).toMatch(/alpha\s+cpu/);
    expect(listing.output()).toMatch(/beta\s+cpu/);
  }, 60_000);

  it('settles a job that completed between reading it and reading its state with its result, not the stale null', async () => {
    const prefix = newPrefix('race');
    const ex = await executor(prefix);
    const queue = ex.bullQueue;
    const job = { ...tinyJob('run-race', 1), modelId: 'g0-7' };
    const id = queueJobId(job);
    await queue.add(TRAIN_JOB_NAME, job, { jobId: id });
    // Read while waiting (no return value yet), as a coordinator's getJob that loses the race reads it.
    const stale = await queue.getJob(id);
    expect(stale?.returnvalue ?? null).toBeNull();
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const worker = new Worker(queue.name, async () => encodeResult(awkwardResult()), { connection, prefix });
    closers.push(async () => void connection.disconnect(), () => worker.close());
    await new Promise<void>((resolve) => worker.once('completed', () => resolve()));
    await worker.close();
    // The coordinator comes back to the job (a restarted run): it reads the stale job, then its state, 'completed'.
    vi.spyOn(queue, 'getJob').mockResolvedValueOnce(stale);
    const result = await ex.run(job);
    expect(result.modelId).toBe('g0-7');
    expect(Array.from(result.weights)).toEqual(Array.from(awkwardResult().weights));
  }, 30_000);

  it('fails a poisoned job alone after its attempts, and the run goes on', async () => {
    const prefix = newPrefix('poison');
    spawned.push(await startWorker(prefix, 'solo'));
    const ex = await executor(prefix, { attempts: 2 });
    let poisoned = '';
    // Corrupts one job's config on its way to the queue: numHeads 3 does not divide dModel 8.
    const poisoning: Executor = {
      concurrency: ex.concurrency,
      run: (job: TrainingJob, onProgress) => {
        if (poisoned && poisoned !== job.modelId) return ex.run(job, onProgress);
        poisoned = job.modelId;
        return ex.run({ ...job, arch: { ...job.arch, numHeads: 3 } }, onProgress);
      },
      close: () => ex.close(),
    };
    const store = Store.open(':memory:');
    closers.push(async () => store.close());
    const config = tinyConfig({ population: 3 });
    const summary = await new Coordinator({ store, executor: poisoning, maxAttempts: 1 }).start(config, 'run-poison');

    expect(summary.status).toBe('finished');
    const failed = store.listModels('run-poison', { status: 'failed' }).map((m) => [m.modelId, m.error]);
    expect(failed).toEqual([[poisoned, expect.stringMatching(/worker solo: .*numHeads.*LOOM_ERR_CONFIG/)]]);
    expect(summary.modelsTrained).toBe(2);
    const job = await ex.bullQueue.getJob(queueJobId({ runId: 'run-poison', modelId: poisoned }));
    expect(job?.attemptsMade).toBe(2);
    expect(store.listModels('run-poison').filter((m) => m.status === 'done')).toHaveLength(2);
  }, 60_000);
});
