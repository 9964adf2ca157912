import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_NAME, QueueExecutor, queueJobId } from '../../src/workers/queue.js';
import { DEFAULT_LOCK_DURATION_MS, DEFAULT_STALLED_INTERVAL_MS } from '../../src/workers/remote-worker.js';
import { deletePrefix, REDIS_URL, startWorker, stopAll, tinyJob, uniquePrefix, type Spawned } from './helpers/redis-test.js';

/**
 * Recovery time of a SIGKILLed worker's job on the DEFAULT lock settings (no --lock-duration/--stalled-interval):
 * from the kill to the job being active on another worker, measured, and required to be ≤ 15 s. The job then
 * is in the rescuer's hands (exactly-once recording of a result delivered twice is test/store's).
 */
const spawned: Spawned[] = [];
const closers: Array<() => Promise<void>> = [];
const prefixes: string[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => {});
  await stopAll(spawned.splice(0));
  for (const p of prefixes.splice(0)) await deletePrefix(p);
});

describe('worker recovery on default settings', () => {
  it('retakes a SIGKILLed worker\'s job within 15 s', async () => {
    expect(DEFAULT_LOCK_DURATION_MS + DEFAULT_STALLED_INTERVAL_MS).toBeLessThanOrEqual(15_000); // the promise, by construction
    const prefix = uniquePrefix('recovery');
    prefixes.push(prefix);
    const executor = await QueueExecutor.connect({ redis: REDIS_URL, prefix, pollMs: 500 });
    const eventsConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const events = new QueueEvents(DEFAULT_QUEUE_NAME, { connection: eventsConnection, prefix, autorun: true });
    await events.waitUntilReady();
    closers.push(() => executor.close(), () => events.close(), async () => void eventsConnection.disconnect());

    const doomed = await startWorker(prefix, 'doomed');
    spawned.push(doomed);
    // Far too long to finish during the test: what is measured is the takeover, not the training.
    const job = tinyJob('run-recovery', 10_000);
    const id = queueJobId(job);
    let firstProgress!: () => void;
    let failed!: (err: unknown) => void;
    const training = new Promise<void>((resolve, reject) => ((firstProgress = resolve), (failed = reject)));
    // Rejected when the executor closes at the end; before the first progress, a rejection is the job failing.
    executor.run(job, () => firstProgress()).catch((err: unknown) => failed(err));
    await training;
    // A second, idle worker, ready before the kill.
    const rescuer = await startWorker(prefix, 'rescuer');
    spawned.push(rescuer);

    const retaken = new Promise<number>((resolve) =>
      events.on('active', ({ jobId }) => {
        if (jobId === id) resolve(Date.now());
      }),
    );
    const killedAt = Date.now();
    doomed.child.kill('SIGKILL');
    const recoveryMs = (await Promise.race([retaken, new Promise<number>((r) => setTimeout(() => r(Number.POSITIVE_INFINITY), 30_000))])) - killedAt;
    console.log(`worker recovery on default settings: ${(recoveryMs / 1000).toFixed(1)} s from SIGKILL to the job active on another worker`);
    expect(recoveryMs).toBeLessThanOrEqual(15_000);

    const bull = await executor.bullQueue.getJob(id);
    expect(await bull?.getState()).toBe('active');
    expect(bull?.attemptsStarted).toBe(2); // once on the dead worker, now on the rescuer
    await rescuer.waitFor(/training \S+ of run-recovery/); // the rescuer has it, not a ghost of the dead one
  }, 90_000);
});
