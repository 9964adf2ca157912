import { Queue, QueueEvents, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ModelResult } from '../store/types.js';
import { JobFailedError } from '../search/jobs.js';
import { closeRedis, connectRedis, DEFAULT_QUEUE_PREFIX } from './redis.js';
import type { Executor, JobProgress, TrainingJob } from '../search/jobs.js';
import { decodeResult, parseProgress, type WireResult } from './wire.js';

/**
 * The coordinator's side of distributed training: an Executor that puts jobs on a BullMQ queue in Redis and
 * waits for any `loom worker` process, on any machine, to return their results.
 *
 * - Job ids are `${runId}/${modelId}` (BullMQ forbids ':' in custom ids), so enqueueing a model twice — a
 *   restarted coordinator, a resumed run — finds the job that is already there instead of training it again; a
 *   job that finished while no coordinator was listening hands over its stored result.
 * - Retries are BullMQ's (attempts with exponential backoff). A job that keeps failing rejects its promise with
 *   the worker's reason; calling run() again for it starts a fresh job.
 * - Results come back as the job's return value. Workers never touch the run database.
 * - Completion is learnt from the queue's event stream, with a slow poll as a safety net because the stream is
 *   trimmed and best-effort (field notes §3.2.4).
 */

export const DEFAULT_QUEUE_NAME = 'loom-train';
/** Name of every training job in the queue (the data says which model). */
export const TRAIN_JOB_NAME = 'train';

export interface QueueExecutorOptions {
  /** redis://host:port[/db] URL, or a connected client the executor will not close. */
  readonly redis: string | Redis;
  /** Redis key prefix (default 'loom'); workers must use the same one. */
  readonly prefix?: string;
  readonly queueName?: string;
  /** Jobs the coordinator keeps enqueued at once (default 256: effectively the whole generation). */
  readonly concurrency?: number;
  /** Tries per job before it fails (default 3). */
  readonly attempts?: number;
  /** First retry delay; doubles on each retry (default 2000 ms). */
  readonly backoffMs?: number;
  /** How long finished jobs (and their results) stay in Redis for a restarted coordinator (default 7 days). */
  readonly keepFinishedSeconds?: number;
  /** Safety-net poll of unfinished jobs' states (default 5000 ms). */
  readonly pollMs?: number;
  readonly connectTimeoutMs?: number;
}

interface Waiter {
  readonly job: TrainingJob;
  readonly onProgress?: (p: JobProgress) => void;
  readonly resolve: (r: ModelResult) => void;
  readonly reject: (e: Error) => void;
}

export const queueJobId = (job: Pick<TrainingJob, 'runId' | 'modelId'>): string => `${job.runId}/${job.modelId}`;

export class QueueExecutor implements Executor {
  readonly concurrency: number;
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly poller: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly connection: Redis,
    private readonly ownsConnection: boolean,
    private readonly options: QueueExecutorOptions,
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 256);
    events.on('completed', ({ jobId, returnvalue }) => this.settle(jobId, { returnvalue }));
    events.on('failed', ({ jobId, failedReason }) => this.settle(jobId, { failedReason }));
    events.on('progress', ({ jobId, data }) => {
      const progress = parseProgress(data);
      if (progress) for (const w of this.waiters.get(jobId) ?? []) w.onProgress?.(progress);
    });
    events.on('error', () => {}); // reconnects on its own; the poll covers what it misses
    this.poller = setInterval(() => void this.poll(), options.pollMs ?? 5000);
    this.poller.unref();
  }

  /** Connects to Redis (failing within seconds with LOOM_ERR_QUEUE when it is unreachable) and starts listening. */
  static async connect(options: QueueExecutorOptions): Promise<QueueExecutor> {
    const owns = typeof options.redis === 'string';
    const connection =
      typeof options.redis === 'string'
        ? await connectRedis(options.redis, { connectionName: 'loom-coordinator', ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}) })
        : options.redis;
    const prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
    const name = options.queueName ?? DEFAULT_QUEUE_NAME;
    // Results ride in 'completed' events too; a short events stream keeps Redis memory bounded.
    const queue = new Queue(name, { connection, prefix, streams: { events: { maxLen: 1000 } } });
    const events = new QueueEvents(name, { connection, prefix, autorun: true });
    queue.on('error', () => {});
    try {
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    } catch (err) {
      await Promise.allSettled([events.close(), queue.close()]);
      if (owns) await closeRedis(connection);
      throw err;
    }
    return new QueueExecutor(queue, events, connection, owns, options);
  }

  run(job: TrainingJob, onProgress?: (p: JobProgress) => void): Promise<ModelResult> {
    if (this.closed) return Promise.reject(new Error('queue executor is closed'));
    const id = queueJobId(job);
    return new Promise<ModelResult>((resolve, reject) => {
      // Listen before looking or adding, so an event that arrives in between is not lost.
      const waiter: Waiter = { job, ...(onProgress ? { onProgress } : {}), resolve, reject };
      this.waiters.set(id, [...(this.waiters.get(id) ?? []), waiter]);
      this.enqueue(id, job).catch((err: unknown) => this.settle(id, { error: err instanceof Error ? err : new Error(String(err)) }));
    });
  }

  /** Counts of the queue's jobs by state (for `loom workers` and tests). */
  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
  }

  /** The BullMQ queue, for admin and tests. */
  get bullQueue(): Queue {
    return this.queue;
  }

  /**
   * Rejects every waiting promise and takes this coordinator's not-yet-started jobs off the queue (a resumed
   * run enqueues them again). Jobs already running finish on their workers and keep their results in Redis, where
   * a resumed run picks them up.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poller);
    const stopped = new Error('queue executor closed before the job finished');
    const ids = [...this.waiters.keys()];
    for (const id of ids) this.settle(id, { error: stopped });
    await Promise.allSettled(
      ids.map(async (id) => {
        const job = await this.queue.getJob(id);
        const state = await job?.getState();
        if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) await job.remove();
      }),
    );
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    if (this.ownsConnection) await closeRedis(this.connection);
  }

  private async enqueue(id: string, job: TrainingJob): Promise<void> {
    const existing = await this.queue.getJob(id);
    if (existing) {
      const state = await existing.getState();
      if (state === 'completed' || state === 'active' || state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') {
        // Already there (a restarted coordinator): wait for it, or take the result it already has.
        if (state === 'completed') await this.settleFinished(id, state);
        return;
      }
      // Failed (or unknown): the caller asks for another try, so start a fresh job under the same id.
      await existing.remove().catch(() => {});
    }
    const keep = this.options.keepFinishedSeconds ?? 7 * 24 * 3600;
    await this.queue.add(TRAIN_JOB_NAME, job, {
      jobId: id,
      attempts: Math.max(1, this.options.attempts ?? 3),
      backoff: { type: 'exponential', delay: this.options.backoffMs ?? 2000 },
      removeOnComplete: { age: keep },
      removeOnFail: { age: keep },
    });
  }

  /** Resolves or rejects everyone waiting on a job. */
  private settle(id: string, outcome: { returnvalue?: unknown; failedReason?: string; error?: Error }): void {
    const waiters = this.waiters.get(id);
    if (!waiters) return;
    this.waiters.delete(id);
    for (const w of waiters) {
      if (outcome.error) w.reject(outcome.error);
      else if (outcome.failedReason !== undefined) w.reject(new JobFailedError(outcome.failedReason || 'the job failed without a reason', 'LOOM_ERR_QUEUE'));
      else {
        try {
          w.resolve(decodeResult(outcome.returnvalue as WireResult, w.job.modelId));
        } catch (err) {
          w.reject(err as Error);
        }
      }
    }
  }

  /**
   * Settles a job seen finished. Its outcome is read again: a job read before its state may predate the finish
   * (BullMQ sets the return value and the state in one step, but reading the two takes two), and a job that
   * completed between the two reads has a null return value in the first.
   */
  private async settleFinished(id: string, state: 'completed' | 'failed'): Promise<void> {
    const job: Job | undefined = await this.queue.getJob(id);
    if (state === 'completed') this.settle(id, { returnvalue: job?.returnvalue });
    else this.settle(id, { failedReason: job?.failedReason ?? '' });
  }

  /** Safety net for events lost from the trimmed stream or during a reconnect. */
  private async poll(): Promise<void> {
    for (const [id, waiters] of [...this.waiters]) {
      if (this.closed) return;
      try {
        const job: Job | undefined = await this.queue.getJob(id);
        if (!job) {
          // Gone (removed by hand, Redis restarted without persistence): put it back.
          const first = waiters[0];
          if (first) await this.enqueue(id, first.job);
          continue;
        }
        const state = await job.getState();
        if (state === 'completed' || state === 'failed') await this.settleFinished(id, state);
      } catch {
        // Redis unreachable for now: try again next tick.
      }
    }
  }
}
