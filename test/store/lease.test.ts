import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { Coordinator } from '../../src/search/coordinator.js';
import { holdRunLease, RUN_LEASE_TTL_MS, runState, Store } from '../../src/store/index.js';
import type { NewRun } from '../../src/store/index.js';
import { runCli } from '../fuzz/harness.js';
import { InProcessExecutor, smallConfig } from './helpers/reliability.js';

/** The run lease (one coordinator per run), stalled-run detection and resumable finishing. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'loom-lease-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const newRun = (id: string): NewRun => ({ id, config: smallConfig(), seed: 7, dataRef: 'synthetic:blobs', dataChecksum: 'x', codeVersion: 'test' });

async function rejection(promise: Promise<unknown>): Promise<LoomError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(LoomError);
    return err as LoomError;
  }
  throw new Error('expected a rejection');
}

describe('run lease (store)', () => {
  it('admits one owner at a time, is renewed by its holder, and lapses when the holder stops beating', () => {
    let clock = 1_000_000;
    const store = Store.open(':memory:', { now: () => clock });
    store.createRun(newRun('r'));
    store.acquireRunLease('r', 'A', 10_000);
    expect(() => store.acquireRunLease('r', 'B', 10_000)).toThrow(/already being run by another coordinator \(A, last heartbeat 0 s ago; it expires in 10 s/);
    expect(store.acquireRunLease('r', 'A', 10_000).expiresAt).toBe(clock + 10_000); // the holder may take it again

    clock += 8_000;
    expect(store.renewRunLease('r', 'A', 10_000)).toBe(true);
    clock += 8_000; // 16 s after the first take, but only 8 s after the renewal
    expect(() => store.acquireRunLease('r', 'B', 10_000)).toThrow(/already being run/);
    expect(runState(store.getRun('r')!, clock, 10_000)).toBe('running');

    clock += 10_001; // A died: no renewal for longer than the TTL
    expect(runState(store.getRun('r')!, clock, 10_000)).toBe('stalled');
    expect(store.acquireRunLease('r', 'B', 10_000).owner).toBe('B');
    expect(store.renewRunLease('r', 'A', 10_000)).toBe(false); // A learns it lost the run
    store.releaseRunLease('r', 'A'); // a no-op: A does not hold it
    expect(store.getRun('r')?.leaseOwner).toBe('B');
    store.releaseRunLease('r', 'B');
    expect(store.getRun('r')).toMatchObject({ leaseOwner: null, leaseExpiresAt: null });
    store.close();
  });

  it('calls a run stalled only while it is marked running', () => {
    let clock = 5_000;
    const store = Store.open(':memory:', { now: () => clock });
    store.createRun(newRun('r'));
    clock += RUN_LEASE_TTL_MS + 1; // no lease was ever taken: the creation heartbeat ages out
    expect(store.runState(store.getRun('r')!)).toBe('stalled');
    store.updateRunStatus('r', 'interrupted');
    expect(store.runState(store.getRun('r')!)).toBe('interrupted');
    store.close();
  });

  it('holdRunLease renews on a timer and reports a lease taken over', async () => {
    const store = Store.open(':memory:');
    store.createRun(newRun('r'));
    let lostCalls = 0;
    const held = holdRunLease(store, 'r', { owner: 'A', ttlMs: 200, heartbeatMs: 40, onLost: () => lostCalls++ });
    const first = store.getRun('r')?.leaseExpiresAt ?? 0;
    await new Promise((r) => setTimeout(r, 150));
    expect(store.getRun('r')?.leaseExpiresAt ?? 0).toBeGreaterThan(first); // renewed
    expect(() => store.acquireRunLease('r', 'B', 200)).toThrow(/already being run/); // still held: the heartbeat keeps it alive
    // Someone forcibly takes the run over (as after an expiry): the holder notices on its next beat.
    store.releaseRunLease('r', 'A');
    store.acquireRunLease('r', 'B', 10_000);
    await new Promise((r) => setTimeout(r, 120));
    expect(held.lost).toBe(true);
    expect(lostCalls).toBe(1);
    held.release();
    expect(store.getRun('r')?.leaseOwner).toBe('B'); // a lost lease is not released on the new owner's behalf
    store.close();
  });
});

describe('two coordinators on one run', () => {
  it('refuses a second coordinator while the first runs, then reports the run finished', async () => {
    const path = join(dir, 'two.db');
    const storeA = Store.open(path);
    const storeB = Store.open(path);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const executorA = new InProcessExecutor(gate);
    const running = new Coordinator({ store: storeA, executor: executorA }).start(smallConfig(), 'run-two');
    await new Promise((r) => setTimeout(r, 50)); // A has created the run and taken its lease
    const executorB = new InProcessExecutor();
    const refused = await rejection(new Coordinator({ store: storeB, executor: executorB }).resume('run-two'));
    expect(refused.message).toMatch(/run run-two is already being run by another coordinator \(.*pid \d+.*; it expires in \d+ s if that coordinator has died\)/);
    expect(executorB.started).toEqual([]); // B trained nothing
    open();
    const summary = await running;
    expect(summary.status).toBe('finished');
    expect(storeA.getRun('run-two')).toMatchObject({ status: 'finished', leaseOwner: null });
    expect(storeA.getRun('run-two')?.finalizedAt).not.toBeNull();
    expect((await rejection(new Coordinator({ store: storeB, executor: executorB }).resume('run-two'))).message).toMatch(/already finished/);
    // Every model trained once, by A.
    expect(executorA.started).toHaveLength(3);
    expect(new Set(executorA.started).size).toBe(3);
    storeA.close();
    storeB.close();
  });

  it('a SIGKILLed coordinator blocks --resume until its lease lapses; the run shows stalled, then resumes', async () => {
    const path = join(dir, 'killed.db');
    const child = spawn(process.execPath, ['bin/run-ts.mjs', 'test/store/helpers/hung-coordinator.ts', path, 'run-killed', JSON.stringify(smallConfig())], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (b: Buffer) => b.toString().includes('leased') && res());
      child.on('exit', (code) => rej(new Error(`the coordinator exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));

    const store = Store.open(path);
    const executor = new InProcessExecutor();
    const refused = await rejection(new Coordinator({ store, executor }).resume('run-killed'));
    expect(refused.message).toMatch(/already being run by another coordinator/);
    const expiresAt = store.getRun('run-killed')?.leaseExpiresAt ?? 0;
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 50)); // the child's TTL is 5 s
    expect(store.runState(store.getRun('run-killed')!)).toBe('stalled');
    // `loom runs` shows it so, with the way out.
    const listed = await runCli(['runs', '--db', path], 30_000);
    expect(listed.stdout).toMatch(/run-killed\s+stalled .*\(coordinator gone; resume: loom search --resume run-killed\)/);
    const json = await runCli(['runs', '--db', path, '--json'], 30_000);
    expect((JSON.parse(json.stdout) as { id: string; status: string }[]).find((r) => r.id === 'run-killed')?.status).toBe('stalled');
    const summary = await new Coordinator({ store, executor }).resume('run-killed');
    expect(summary).toMatchObject({ status: 'finished', modelsTrained: 3 });
    expect(store.runState(store.getRun('run-killed')!)).toBe('finished');
    store.close();
  }, 30_000);
});

describe('finishing is resumable', () => {
  it('a run killed during analysis/graft/export is finished by --resume without training again', async () => {
    const store = Store.open(join(dir, 'finish.db'));
    const executor = new InProcessExecutor();
    let calls = 0;
    const dying = new Coordinator({
      store,
      executor,
      finish: () => {
        calls++;
        throw new Error('killed during the graft');
      },
    });
    await expect(dying.start(smallConfig(), 'run-fin')).rejects.toThrow(/killed during the graft/);
    expect(store.getRun('run-fin')).toMatchObject({ status: 'finished', finalizedAt: null, leaseOwner: null });

    const again = new InProcessExecutor();
    let finishedWith: string | null = null;
    const summary = await new Coordinator({ store, executor: again, finish: (s) => void (finishedWith = s.runId) }).resume('run-fin');
    expect(summary).toMatchObject({ status: 'finished', modelsTrained: 3 });
    expect(finishedWith).toBe('run-fin');
    expect(again.started).toEqual([]); // nothing trained again
    expect(calls).toBe(1);
    expect(store.getRun('run-fin')?.finalizedAt).not.toBeNull();
    await expect(new Coordinator({ store, executor: again }).resume('run-fin')).rejects.toThrow(/already finished/);
    store.close();
  });

  it('a run in which every model failed is marked failed and says why, naming the first failure', async () => {
    const store = Store.open(':memory:');
    const executor = new InProcessExecutor(undefined, (job) => `loss became NaN (model ${job.modelId})`);
    const err = await rejection(new Coordinator({ store, executor, maxAttempts: 1 }).start(smallConfig(), 'run-bad'));
    expect(err.message).toMatch(/every model of run run-bad failed \(3\); the first, g0-\w+: loss became NaN/);
    expect(store.getRun('run-bad')).toMatchObject({ status: 'failed', leaseOwner: null });
    store.close();
  });
});
