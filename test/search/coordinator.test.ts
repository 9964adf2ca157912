import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSearchConfig, type SearchConfig } from '../../src/search/config.js';
import { Coordinator, totalModels, type RunEvent } from '../../src/search/coordinator.js';
import { ThreadPoolExecutor } from '../../src/workers/pool.js';
import { transferList } from '../../src/workers/wire.js';
import { Store } from '../../src/store/store.js';
import { InProcessExecutor } from '../helpers/in-process-executor.js';
import type { ModelResult } from '../../src/store/types.js';

const config: SearchConfig = parseSearchConfig({
  name: 'test',
  seed: 5,
  data: { ref: 'synthetic:blobs' },
  population: 4,
  generations: 3,
  elite: 1,
  training: { epochs: 2, batchSize: 16 },
  generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono', '1x4 Wide'], maxBrains: 4 },
});

const accuracies = (store: Store, runId: string): Record<string, number | null> =>
  Object.fromEntries(store.listModels(runId).map((m) => [m.modelId, m.valAccuracy]));

describe('coordinator', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'loom-coord-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every generation on worker threads and records every model once', async () => {
    const store = Store.open(join(dir, 'threads.db'));
    const executor = new ThreadPoolExecutor({ threads: 2 });
    const events: RunEvent[] = [];
    try {
      const summary = await new Coordinator({ store, executor, onEvent: (e) => events.push(e) }).start(config, 'run-threads');
      expect(summary.status).toBe('finished');
      const models = store.listModels('run-threads');
      expect(models).toHaveLength(totalModels(config)); // 4 + 2·(4 − 1)
      expect(models.every((m) => m.status === 'done')).toBe(true);
      expect(new Set(models.map((m) => m.worker)).size).toBeGreaterThanOrEqual(1);
      expect(store.listGenerations('run-threads')).toHaveLength(3);
      // The reported best is the best on validation, and its test accuracy is the stored one.
      const best = [...models].sort((a, b) => (b.valAccuracy ?? 0) - (a.valAccuracy ?? 0))[0]!;
      expect(summary.bestValAccuracy).toBe(best.valAccuracy);
      expect(summary.bestTestAccuracy).toBe(best.testAccuracy);
      expect(events.filter((e) => e.kind === 'model-done')).toHaveLength(totalModels(config));
      expect(events.some((e) => e.kind === 'model-progress')).toBe(true);
      // Live views read the same events from the store.
      expect(store.listEvents('run-threads').some((e) => e.kind === 'generation-done')).toBe(true);
    } finally {
      await executor.close();
      store.close();
    }
  });

  it('is reproducible: the same config and seed give the same models and accuracies', async () => {
    const a = Store.open(':memory:');
    const b = Store.open(':memory:');
    await new Coordinator({ store: a, executor: new InProcessExecutor() }).start(config, 'r');
    await new Coordinator({ store: b, executor: new InProcessExecutor() }).start(config, 'r');
    expect(accuracies(a, 'r')).toEqual(accuracies(b, 'r'));
    expect(a.listModels('r').map((m) => m.arch)).toEqual(b.listModels('r').map((m) => m.arch));
  });

  it('resumes an interrupted run without redoing or losing finished models', async () => {
    const reference = Store.open(':memory:');
    await new Coordinator({ store: reference, executor: new InProcessExecutor() }).start(config, 'r');

    const store = Store.open(join(dir, 'resume.db'));
    const abort = new AbortController();
    let done = 0;
    const first = await new Coordinator({
      store,
      executor: new InProcessExecutor(),
      signal: abort.signal,
      onEvent: (e) => {
        if (e.kind === 'model-done' && ++done === 5) abort.abort(); // Ctrl-C in the middle of generation 2
      },
    }).start(config, 'r');
    expect(first.status).toBe('interrupted');
    expect(store.getRun('r')?.status).toBe('interrupted');
    const finishedBefore = store.listModels('r', { status: 'done' }).map((m) => m.modelId);
    expect(finishedBefore).toHaveLength(5);

    const executor = new InProcessExecutor();
    const second = await new Coordinator({ store, executor }).resume('r');
    expect(second.status).toBe('finished');
    expect(executor.started.filter((id) => finishedBefore.includes(id))).toEqual([]); // nothing redone
    expect(store.listModels('r', { status: 'done' })).toHaveLength(totalModels(config)); // nothing lost
    // And the resumed run is exactly the run that was never interrupted.
    expect(accuracies(store, 'r')).toEqual(accuracies(reference, 'r'));
    store.close();
  });

  it('marks a job that keeps failing as failed and finishes the run without it', async () => {
    const store = Store.open(':memory:');
    const executor = new InProcessExecutor(undefined, (job) => (job.modelId === 'g0-1' ? `poisoned job ${job.modelId}` : null));
    const summary = await new Coordinator({ store, executor, maxAttempts: 2 }).start(config, 'r');
    expect(summary.status).toBe('finished');
    const failed = store.getModel('r', 'g0-1');
    expect(failed?.status).toBe('failed');
    expect(failed?.attempts).toBe(2);
    expect(failed?.error).toMatch(/poisoned job g0-1/);
    expect(executor.started.filter((id) => id === 'g0-1')).toHaveLength(2);
    expect(summary.modelsFailed).toBe(1);
    expect(summary.modelsTrained).toBe(totalModels(config) - 1);
  });

  it('refuses to resume when the data changed', async () => {
    const path = join(dir, 'checksum.db');
    const store = Store.open(path);
    await new Coordinator({ store, executor: new InProcessExecutor() }).start({ ...config, generations: 1 }, 'r');
    store.updateRunStatus('r', 'interrupted');
    store.close();
    // Another machine's data: the run's recorded checksum no longer matches what this machine loads.
    const raw = new Database(path);
    raw.prepare('UPDATE runs SET data_checksum = ? WHERE id = ?').run('0'.repeat(64), 'r');
    raw.close();
    const reopened = Store.open(path);
    await expect(new Coordinator({ store: reopened, executor: new InProcessExecutor() }).resume('r')).rejects.toThrow(/checksum/);
    reopened.close();
  });

  for (const mode of ['step', 'tween'] as const) {
    it(`trains search models with training.mode "${mode}"`, async () => {
      const store = Store.open(':memory:');
      const modeConfig = parseSearchConfig({ ...JSON.parse(JSON.stringify(config)), generations: 1, population: 2, elite: 1, training: { epochs: 3, batchSize: 16, mode } });
      expect(modeConfig.training.mode).toBe(mode);
      const summary = await new Coordinator({ store, executor: new InProcessExecutor() }).start(modeConfig, 'r');
      expect(summary.modelsTrained).toBe(2);
      const metrics = store.listModels('r').map((m) => m.metrics ?? []);
      // Training really happened: the loss fell over the epochs of every model.
      for (const m of metrics) expect(m[m.length - 1]!.loss).toBeLessThan(m[0]!.loss);
    });
  }
});

describe('worker-thread results', () => {
  it('move their own buffers to the pool, never a buffer another array shares', () => {
    const shared = new Float32Array(12);
    const result = {
      modelId: 'm', metrics: [], valProbs: new Float32Array(6), testProbs: shared.subarray(0, 6), valMask: new Uint8Array(2), testMask: new Uint8Array(2),
      weights: new Uint8Array(8), paramCount: 1, trainMs: 1, worker: 'w', valAccuracy: 1, testAccuracy: 1, numClasses: 3,
    } satisfies ModelResult;
    const list = transferList(result);
    const expected = [result.valProbs.buffer, result.valMask.buffer, result.testMask.buffer, result.weights.buffer];
    expect(list).toHaveLength(expected.length);
    expected.forEach((buffer, i) => expect(list[i]).toBe(buffer));
    expect(list).not.toContain(shared.buffer);
  });
});
