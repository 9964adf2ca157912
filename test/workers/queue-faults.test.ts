import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Coordinator, type RunEvent } from '../../src/search/coordinator.js';
import { Store } from '../../src/store/store.js';
import { QueueExecutor, queueJobId } from '../../src/workers/queue.js';
import { WorkerRegistry } from '../../src/workers/registry.js';
import { deletePrefix, REDIS_URL, startWorker, stopAll, tinyConfig, tinyJob, uniquePrefix, type Spawned } from './helpers/redis-test.js';
import { spawn } from 'node:child_process';
import { ROOT } from './helpers/redis-test.js';

/** Faults: a worker killed mid-job, a coordinator killed mid-run. Every model must end up recorded exactly once. */
const dir = mkdtempSync(join(tmpdir(), 'loom-queue-'));
const spawned: Spawned[] = [];
const prefixes: string[] = [];
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => {});
  await stopAll(spawned.splice(0));
  for (const p of prefixes.splice(0)) await deletePrefix(p);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function setup(label: string): Promise<{ prefix: string; executor: QueueExecutor; redis: Redis }> {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  const executor = await QueueExecutor.connect({ redis: REDIS_URL, prefix, backoffMs: 50, pollMs: 500 });
  const redis = new Redis(REDIS_URL);
  closers.push(() => executor.close(), async () => void redis.disconnect());
  return { prefix, executor, redis };
}

const FAST_STALL = ['--lock-duration', '1500', '--stalled-interval', '500'];

describe('faults in a distributed search', () => {
  it('takes over the job of a worker SIGKILLed mid-job, and records every model once', async () => {
    const { prefix, executor, redis } = await setup('kill');
    const doomed = await startWorker(prefix, 'doomed', FAST_STALL);
    spawned.push(doomed);
    // Long enough per model (1,000 epochs, over a second) that the kill lands mid-training even when the first
    // progress event reaches the coordinator late (40 epochs took 0.2 s: a late event could find the job done).
    const config = tinyConfig({ population: 2, training: { epochs: 1000, batchSize: 16 } });
    const store = Store.open(':memory:');
    closers.push(async () => store.close());
    let victim = '';
    let rescuer: Promise<Spawned> | null = null;
    const rescuers: Spawned[] = []; // the one rescuer, once started (a callback's assignment is invisible to narrowing)
    const onEvent = (e: RunEvent): void => {
      if (e.kind !== 'model-progress' || victim) return;
      victim = e.progress.modelId;
      doomed.child.kill('SIGKILL');
      rescuer = startWorker(prefix, 'rescuer', FAST_STALL).then((w) => (spawned.push(w), rescuers.push(w), w));
    };
    const summary = await new Coordinator({ store, executor, onEvent, maxAttempts: 1 }).start(config, 'run-kill');
    await rescuer;
    // Both workers' logs name what happened to a model that did not end 'done' on the rescuer.
    const logs = `doomed's log:\n${doomed.output()}\nrescuer's log:\n${rescuers[0]?.output() ?? '(never started)'}`;

    expect(victim).not.toBe('');
    expect(await doomed.exit).toBe(null); // killed by the signal
    expect(summary.status).toBe('finished');
    const models = store.listModels('run-kill');
    expect(models.filter((m) => m.status !== 'done').map((m) => `${m.modelId} ${m.status}: ${m.error ?? 'no error recorded'}`), logs).toEqual([]);
    expect(models.map((m) => [m.status, m.worker]), logs).toEqual([
      ['done', 'rescuer'],
      ['done', 'rescuer'],
    ]);
    const job = await executor.bullQueue.getJob(queueJobId({ runId: 'run-kill', modelId: victim }));
    expect(await job?.getState()).toBe('completed');
    expect(job?.attemptsStarted).toBe(2); // once on the dead worker, once on the rescuer
    expect(rescuers[0]?.output()).toContain(`training ${victim} of run-kill (attempt 1, taken over: started 1 time(s) before by a worker that stopped)`);
    const rescuerInfo = (await new WorkerRegistry(redis, prefix).list()).find((w) => w.name === 'rescuer');
    expect(rescuerInfo?.jobsDone).toBe(2);
  }, 60_000);

  it('resumes after the coordinator is killed: nothing lost, nothing trained twice', async () => {
    const { prefix, executor, redis } = await setup('resume');
    spawned.push(await startWorker(prefix, 'steady'));
    const config = tinyConfig({ population: 4, training: { epochs: 6, batchSize: 32 } });
    const dbPath = join(dir, 'resume.db');
    const child = spawn(
      process.execPath,
      ['bin/run-ts.mjs', 'test/workers/helpers/coordinator-child.ts', dbPath, prefix, 'run-resume', JSON.stringify(config)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<void>((res) => child.on('exit', () => res()));
    // Kill the coordinator as soon as its first result is stored.
    await new Promise<void>((res, rej) => {
      let lines = '';
      child.stdout.on('data', (chunk: Buffer) => {
        lines += chunk.toString();
        if (lines.includes('"kind":"model-done"')) {
          child.kill('SIGKILL');
          res();
        }
      });
      void exited.then(() => rej(new Error(`coordinator exited before any model finished:\n${lines}`)));
    });
    await exited;

    const store = Store.open(dbPath);
    closers.push(async () => store.close());
    const before = store.listModels('run-resume');
    expect(before).toHaveLength(4);
    expect(before.filter((m) => m.status === 'done').length).toBeGreaterThanOrEqual(1);
    expect(before.filter((m) => m.status === 'done').length).toBeLessThan(4);

    // The dead coordinator's lease still holds the run: a resume is refused until it lapses (5 s in the child).
    await expect(new Coordinator({ store, executor, maxAttempts: 1 }).resume('run-resume')).rejects.toThrow(/already being run by another coordinator/);
    await new Promise((r) => setTimeout(r, Math.max(0, (store.getRun('run-resume')?.leaseExpiresAt ?? 0) - Date.now()) + 50));
    expect(store.runState(store.getRun('run-resume')!)).toBe('stalled');
    const summary = await new Coordinator({ store, executor, maxAttempts: 1 }).resume('run-resume');
    expect(summary.status).toBe('finished');
    const after = store.listModels('run-resume');
    // Named with their errors first, so a failure says why (a bare status list hides the reason).
    expect(after.filter((m) => m.status !== 'done').map((m) => `${m.modelId} ${m.status}: ${m.error ?? 'no error recorded'}`)).toEqual([]);
    expect(after.map((m) => m.status)).toEqual(['done', 'done', 'done', 'done']);
    // The worker trained each model once: results finished while no coordinator listened came from Redis.
    const steady = (await new WorkerRegistry(redis, prefix).list()).find((w) => w.name === 'steady');
    expect(steady?.jobsDone).toBe(4);
    for (const m of after) {
      const job = await executor.bullQueue.getJob(queueJobId({ runId: 'run-resume', modelId: m.modelId }));
      expect(job?.attemptsStarted).toBe(1);
    }
  }, 60_000);

  it('SIGTERM lets the job in hand finish; a second SIGINT hands it back to the queue', async () => {
    const { prefix, executor, redis } = await setup('signals');
    // Long enough that the signals land mid-training even when the first progress event arrives late (150 epochs,
    // about 0.3 s); the graceful stop waits for the whole job. The forced stop's job never finishes: 5,000 epochs.
    const medium = tinyJob('run-signals', 150);
    const long = { ...medium, modelId: `${medium.modelId}-long`, training: { ...medium.training, epochs: 5000 } };
    const registry = new WorkerRegistry(redis, prefix);

    // Graceful: the job finishes on the worker that had it, which then exits 0 and deregisters.
    const gentle = await startWorker(prefix, 'gentle');
    spawned.push(gentle);
    let signalled = false;
    const finished = executor.run(medium, () => {
      if (!signalled) gentle.child.kill('SIGTERM');
      signalled = true;
    });
    const result = await finished;
    expect(result.worker).toBe('gentle');
    expect(result.metrics.length).toBe(150);
    expect(await gentle.exit).toBe(0);
    expect(gentle.output()).toMatch(/SIGTERM: finishing 1 job\(s\) in hand/);
    expect((await registry.list()).map((w) => w.name)).not.toContain('gentle');

    // Forced: Ctrl-C twice hands the job back at once (no stall wait) and exits 130.
    const hasty = await startWorker(prefix, 'hasty');
    spawned.push(hasty);
    const second = long;
    let interrupted = false;
    const pending = executor.run(second, () => {
      if (interrupted) return;
      interrupted = true;
      hasty.child.kill('SIGINT');
      setTimeout(() => hasty.child.kill('SIGINT'), 100);
    });
    pending.catch(() => {}); // rejected when the executor closes
    expect(await hasty.exit).toBe(130);
    expect(hasty.output()).toMatch(/SIGINT again: handing 1 job\(s\) back/);
    const handedBack = await executor.bullQueue.getJob(queueJobId(second));
    expect(await handedBack?.getState()).toBe('waiting');
  }, 60_000);

  it('tracks a job that was waiting before the worker started: a forced stop hands it back too', async () => {
    const { prefix, executor } = await setup('early');
    const job = { ...tinyJob('run-early', 5000), modelId: 'early' };
    let started!: () => void;
    const training = new Promise<void>((resolve) => (started = resolve));
    // Queued first, so the worker takes it the moment it starts, before anything else happens in it.
    executor.run(job, () => started()).catch(() => {}); // rejected when the executor closes
    const early = await startWorker(prefix, 'early');
    spawned.push(early);
    await training;
    early.child.kill('SIGINT');
    setTimeout(() => early.child.kill('SIGINT'), 100);
    expect(await early.exit).toBe(130);
    expect(early.output()).toMatch(/training early of run-early/);
    expect(early.output()).toMatch(/SIGINT again: handing 1 job\(s\) back/);
    expect(await (await executor.bullQueue.getJob(queueJobId(job)))?.getState()).toBe('waiting');
  }, 60_000);
});
