import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { availableParallelism, hostname } from 'node:os';
import { DEFAULT_QUEUE_NAME } from './queue.js';
import { closeRedis, connectRedis, DEFAULT_QUEUE_PREFIX } from './redis.js';
import { WorkerRegistry, type WorkerDevice, type WorkerStatus } from './registry.js';
import type { TrainingJob } from '../search/jobs.js';
import type { WireResult } from './wire.js';

/**
 * A `loom worker` process: takes training jobs from the queue and runs each in a sandboxed worker thread
 * (sandbox-entry.mjs), so this thread's event loop only does BullMQ bookkeeping and renews job locks on time
 * however long a model trains (field notes §3.2.1). It registers itself in Redis with a heartbeat.
 *
 * Stopping: stop() lets the jobs in hand finish; stop(true) hands them back to the queue at once (another worker
 * takes them) and exits without waiting. A worker killed outright stops renewing its locks, and its jobs are taken
 * over by the other workers within about 11 s (see the lock constants below).
 */

/**
 * Recovery from a killed worker: its job's lock lapses at most LOCK_DURATION after the last renewal, and every
 * live worker looks for lapsed locks each STALLED_INTERVAL, so a job is back in the queue within
 * LOCK_DURATION + STALLED_INTERVAL = 11 s of the kill (an idle worker takes it at once). Locks are renewed every
 * LOCK_RENEW (a quarter of the duration, so three renewals in a row may be missed); the renewing thread only does
 * queue bookkeeping while models train in sandbox threads, so a lock lapses only when the process is gone or
 * cut off from Redis. Were a lock to lapse on a live worker anyway, its late result is refused by BullMQ (lock
 * lost) and the store records a model's result once whatever arrives twice.
 */
export const DEFAULT_LOCK_DURATION_MS = 8_000;
export const DEFAULT_LOCK_RENEW_MS = 2_000;
export const DEFAULT_STALLED_INTERVAL_MS = 3_000;

export type DeviceChoice = 'cpu' | 'webgpu' | 'auto';

export interface RemoteWorkerOptions {
  readonly redis: string;
  readonly prefix?: string;
  readonly queueName?: string;
  /** Jobs trained at once, one worker thread each (default: one per core). */
  readonly concurrency?: number;
  readonly device?: DeviceChoice;
  /** Name in `loom workers` and in the results (default host-pid). */
  readonly name?: string;
  /** A job's lock lives this long without renewal (default DEFAULT_LOCK_DURATION_MS); renewed every quarter of it. */
  readonly lockDurationMs?: number;
  /** How often this worker looks for other workers' stalled jobs (default DEFAULT_STALLED_INTERVAL_MS). */
  readonly stalledIntervalMs?: number;
  /** Stalls a job may survive before it fails (default 2). */
  readonly maxStalledCount?: number;
  readonly heartbeatMs?: number;
  readonly connectTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** Software rasterizers that expose a WebGPU adapter but compute on the CPU, slower than the CPU backends. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software/i;

/**
 * Resolves --device: 'webgpu' uses any adapter; 'auto' uses a hardware one only (a software adapter such as
 * llvmpipe is a CPU in disguise). Without an adapter the worker trains on the CPU.
 */
export async function resolveDevice(choice: DeviceChoice, log: (line: string) => void = () => {}): Promise<{ device: WorkerDevice; adapter?: string }> {
  if (choice === 'cpu') return { device: 'cpu' };
  const { createWebGpuBackend } = await import('../engine/backend/webgpu/index.js');
  const gpu = await createWebGpuBackend({ notice: false }).catch(() => null);
  if (!gpu) {
    if (choice === 'webgpu') log('no WebGPU adapter on this machine; training on the CPU');
    return { device: 'cpu' };
  }
  const adapter = gpu.adapter;
  await gpu.close();
  if (choice === 'auto' && SOFTWARE_ADAPTER.test(adapter)) {
    log(`WebGPU adapter "${adapter}" is a software renderer; training on the CPU (--device webgpu to use it anyway)`);
    return { device: 'cpu' };
  }
  return { device: 'webgpu', adapter };
}

export class RemoteWorker {
  private readonly inHand = new Map<string, Job>();
  private readonly heartbeat: NodeJS.Timeout;
  private status: WorkerStatus = 'idle';
  private stopping: Promise<void> | null = null;
  private forcing: Promise<void> | null = null;
  private forced = false;
  private finished = false;
  private resolveStopped!: () => void;
  /** Resolves once the worker has stopped and deregistered. */
  readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));

  private constructor(
    readonly name: string,
    readonly device: WorkerDevice,
    readonly concurrency: number,
    private readonly worker: Worker<TrainingJob, WireResult>,
    private readonly connection: Redis,
    private readonly registry: WorkerRegistry,
    heartbeatMs: number,
    private readonly log: (line: string) => void,
  ) {
    worker.on('active', (job) => {
      if (job.id) this.inHand.set(job.id, job);
      this.status = 'busy';
      // A stall (a worker that died or lost Redis) is no failed attempt, yet the job started before: say so.
      const retaken = job.attemptsStarted > job.attemptsMade + 1 ? `, taken over: started ${job.attemptsStarted - job.attemptsMade - 1} time(s) before by a worker that stopped` : '';
      log(`training ${job.data.modelId} of ${job.data.runId} (attempt ${job.attemptsMade + 1}${retaken})`);
    });
    worker.on('completed', (job, result) => {
      this.release(job);
      log(`done ${job.data.modelId}: validation ${(result.valAccuracy * 100).toFixed(2)}% in ${(result.trainMs / 1000).toFixed(1)} s`);
      void registry.recordJob(name, true).catch(() => {});
    });
    worker.on('failed', (job, err) => {
      if (job) this.release(job);
      if (this.forced) return; // the job was handed back on purpose
      log(`failed ${job?.data.modelId ?? '?'}: ${err.message}`);
      void registry.recordJob(name, false).catch(() => {});
    });
    worker.on('error', (err) => log(`queue error: ${err.message}`));
    this.heartbeat = setInterval(() => void this.beat(), heartbeatMs);
  }

  static async start(options: RemoteWorkerOptions): Promise<RemoteWorker> {
    const log = options.log ?? (() => {});
    const name = options.name ?? `${hostname()}-${process.pid}`;
    const prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
    const concurrency = Math.max(1, options.concurrency ?? availableParallelism());
    const connection = await connectRedis(options.redis, { connectionName: `loom-worker-${name}`, ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}) });
    try {
      const { device, adapter } = await resolveDevice(options.device ?? 'auto', log);
      const heartbeatMs = options.heartbeatMs ?? 5000;
      const registry = new WorkerRegistry(connection, prefix, Math.max(10, Math.ceil((3 * heartbeatMs) / 1000)));
      const now = Date.now();
      await registry.register({
        name,
        device,
        ...(adapter ? { adapter } : {}),
        host: hostname(),
        pid: process.pid,
        cores: availableParallelism(),
        concurrency,
        status: 'idle',
        active: 0,
        jobsDone: 0,
        jobsFailed: 0,
        startedAt: now,
        lastSeen: now,
      });
      const worker = new Worker<TrainingJob, WireResult>(options.queueName ?? DEFAULT_QUEUE_NAME, new URL('./sandbox-entry.mjs', import.meta.url), {
        connection,
        prefix,
        concurrency,
        useWorkerThreads: true,
        workerThreadsOptions: { env: { ...process.env, LOOM_WORKER_NAME: name, LOOM_WORKER_DEVICE: device } },
        lockDuration: options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
        lockRenewTime: options.lockDurationMs === undefined ? DEFAULT_LOCK_RENEW_MS : Math.max(50, Math.floor(options.lockDurationMs / 4)),
        stalledInterval: options.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
        maxStalledCount: options.maxStalledCount ?? 2,
        // Started below, once the listeners are on: a job taken before them would be trained untracked (no
        // 'active' event), so a forced stop would not hand it back.
        autorun: false,
      });
      await worker.waitUntilReady();
      const remote = new RemoteWorker(name, device, concurrency, worker, connection, registry, heartbeatMs, log);
      log(`worker ${name} ready: ${device}${adapter ? ` (${adapter})` : ''}, ${concurrency} job(s) at a time, queue ${prefix}:${options.queueName ?? DEFAULT_QUEUE_NAME}`);
      worker.run().catch((err: unknown) => log(`queue error: ${err instanceof Error ? err.message : String(err)}`));
      return remote;
    } catch (err) {
      await closeRedis(connection);
      throw err;
    }
  }

  /** Jobs being trained right now. */
  get active(): number {
    return this.inHand.size;
  }

  /**
   * Stops taking jobs. Graceful: waits for the jobs in hand to finish. Forced (or a second call with force):
   * moves the jobs in hand back to the queue for another worker and closes without waiting.
   */
  stop(force = false): Promise<void> {
    if (force && !this.forcing) {
      this.forced = true;
      const handBack = [...this.inHand.values()].map((job) => (job.token ? job.moveToWait(job.token).catch(() => 0) : 0));
      // close(true) returns the pending graceful close when there is one, so it is bounded by a deadline.
      this.forcing = Promise.allSettled(handBack)
        .then(() => Promise.race([this.worker.close(true), new Promise((resolve) => setTimeout(resolve, 1000).unref())]))
        .then(() => this.finish());
    }
    if (this.forcing) return this.forcing;
    if (!this.stopping) {
      this.status = 'stopping';
      void this.beat();
      this.stopping = this.worker.close().then(() => this.finish());
    }
    return this.stopping;
  }

  private release(job: Job): void {
    if (job.id) this.inHand.delete(job.id);
    if (this.inHand.size === 0 && this.status === 'busy') this.status = 'idle';
  }

  private async beat(): Promise<void> {
    await this.registry.heartbeat(this.name, { status: this.status, active: this.inHand.size }).catch(() => {});
  }

  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.heartbeat);
    await this.registry.unregister(this.name).catch(() => {});
    await closeRedis(this.connection);
    this.resolveStopped();
  }
}
