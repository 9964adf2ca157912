import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { parseSearchConfig, type SearchConfig } from '../../src/search/config.js';
import { Coordinator, totalModels, type RunEvent } from '../../src/search/coordinator.js';
import type { JobProgress, TrainingJob } from '../../src/search/jobs.js';
import { epochsRun } from '../../src/search/pruners.js';
import { Store } from '../../src/store/store.js';
import type { ModelResult } from '../../src/store/types.js';
import { cliThenRemove } from '../helpers/cli.js';
import { CurveExecutor } from '../helpers/curve-executor.js';

/** Steady-state evolution (schedule "steady"): models start as workers free up, and the run is still a function of its seed. */

const base = {
  name: 'steady',
  seed: 5,
  data: { ref: 'synthetic:blobs' },
  population: 4,
  generations: 6,
  schedule: 'steady',
  training: { epochs: 9, batchSize: 16 },
  pruner: { kind: 'asha', minEpochs: 0.25, minSamples: 1 },
  generator: { dModels: [8, 16], numHeads: [2], gridShapes: ['1x1 Mono', '4x1 Tall', '1x4 Wide'], maxBrains: 4 },
};

/** Random real pauses per curve point, so jobs end in an order of their own. */
const jittered = (workers: number, seed: number): CurveExecutor => {
  const rng = new Rng(seed);
  return new CurveExecutor(workers, () => rng.int(4));
};

/** Everything a run decided, per model: config, lineage, thresholds sent, outcome. */
function runSnapshot(store: Store, runId: string, executor: CurveExecutor): unknown[] {
  const thresholds = new Map(executor.jobs.map((j) => [j.modelId, j.stopBelow ?? []]));
  return store.listModels(runId).map((m) => ({
    id: m.modelId,
    generation: m.generation,
    arch: m.arch,
    parents: m.parentIds,
    status: m.status,
    curve: (m.metrics ?? []).map((p) => [p.epoch, p.valAccuracy]),
    stopBelow: thresholds.get(m.modelId),
  }));
}

async function steadyRun(config: SearchConfig, executor: CurveExecutor, runId = 's'): Promise<{ store: Store; events: RunEvent[] }> {
  const store = Store.open(':memory:');
  const events: RunEvent[] = [];
  await new Coordinator({ store, executor, onEvent: (e) => events.push(e) }).start(config, runId);
  return { store, events };
}

describe('steady-state search', () => {
  it('breeds and prunes the same models whatever order jobs end in and however many workers run them', async () => {
    const config = parseSearchConfig({ ...base, lanes: 3 });
    const a = jittered(3, 1);
    const first = await steadyRun(config, a);
    const want = runSnapshot(first.store, 's', a);
    const models = first.store.listModels('s');
    expect(models).toHaveLength(totalModels(config));
    expect(totalModels(config)).toBe(24);
    // Meaningful: children were bred, and models were pruned, some inside the first epoch.
    expect(models.filter((m) => m.parentIds.length > 0).length).toBeGreaterThan(10);
    expect(models.filter((m) => m.status === 'pruned' && epochsRun(m.metrics ?? []) === 0.25).length).toBeGreaterThan(0);
    expect(models.filter((m) => m.status === 'done').length).toBeGreaterThan(3);
    // Every generation is recorded with its members in order and finished.
    const generations = first.store.listGenerations('s');
    expect(generations.map((g) => g.stats?.members)).toEqual([0, 1, 2, 3, 4, 5].map((g) => [0, 1, 2, 3].map((p) => `g${g}-${p}`)));
    expect(generations.every((g) => g.finishedAt !== null)).toBe(true);
    // Fitness of every finished model is stored (auditable), as a generational run stores it.
    expect(models.filter((m) => m.status === 'done').every((m) => m.fitness !== null)).toBe(true);
    first.store.close();
    for (const executor of [jittered(3, 2), jittered(1, 3), new CurveExecutor(2)]) {
      const again = await steadyRun(config, executor);
      expect(runSnapshot(again.store, 's', executor)).toEqual(want);
      again.store.close();
    }
  });

  it('records the lanes it ran on, so a resume with other workers replays the same schedule', async () => {
    const config = parseSearchConfig(base);
    expect(config.lanes).toBeUndefined();
    const executor = new CurveExecutor(3);
    const run = await steadyRun(config, executor, 'l');
    expect(parseSearchConfig(run.store.getRunConfig('l')).lanes).toBe(3);
    const want = runSnapshot(run.store, 'l', executor);
    run.store.close();
    // Interrupted mid-run with jobs in flight (they reject, as worker threads do), then resumed on one worker.
    const store = Store.open(':memory:');
    const abort = new AbortController();
    class Interruptible extends CurveExecutor {
      override run(job: TrainingJob, onProgress?: (p: JobProgress) => void): Promise<ModelResult> {
        return new Promise((resolve, reject) => {
          // Removed when the job settles: one listener per job on the run's signal would pile up past Node's limit.
          const stop = (): void => reject(new Error('worker stopped'));
          abort.signal.addEventListener('abort', stop, { once: true });
          super
            .run(job, onProgress)
            .then(resolve, reject)
            .finally(() => abort.signal.removeEventListener('abort', stop));
        });
      }
    }
    const rng = new Rng(9);
    const interrupted = new Interruptible(3, () => 1 + rng.int(3));
    let started = 0;
    const summary = await new Coordinator({
      store,
      executor: interrupted,
      signal: abort.signal,
      onEvent: (e) => {
        if (e.kind === 'model-start') started++;
        // On a progress report, so that job at least is still training when the run stops.
        if (e.kind === 'model-progress' && started >= 12 && !abort.signal.aborted) abort.abort();
      },
    }).start(config, 'l');
    expect(summary.status).toBe('interrupted');
    const created = store.listModels('l');
    expect(created.length).toBeLessThan(24);
    // Meaningful: models were in flight when it stopped, and are pending again.
    expect(created.filter((m) => m.status === 'pending').length).toBeGreaterThan(0);
    const resumed = jittered(1, 4);
    await new Coordinator({ store, executor: resumed }).resume('l');
    const snapshot = runSnapshot(store, 'l', resumed) as { id: string; stopBelow: unknown }[];
    // Thresholds of models trained before the interruption were sent to the first executor.
    const sentFirst = new Map(interrupted.jobs.map((j) => [j.modelId, j.stopBelow ?? []]));
    expect(snapshot.map((m) => ({ ...m, stopBelow: m.stopBelow ?? sentFirst.get(m.id) }))).toEqual(want);
    store.close();
  });

  it('refuses to start without lanes on an executor that cannot count its workers (a queue), and creates no run', async () => {
    const store = Store.open(':memory:');
    // A queue's concurrency is how many jobs it keeps enqueued (256 by default), not a fleet: no `workers`.
    const curves = new CurveExecutor(256);
    const queueLike = { concurrency: curves.concurrency, run: curves.run.bind(curves), close: () => curves.close() };
    const coordinator = new Coordinator({ store, executor: queueLike });
    await expect(coordinator.start(parseSearchConfig(base), 'q')).rejects.toThrow(/"steady" schedule through a queue needs "lanes"/);
    expect(store.getRun('q')).toBeUndefined();
    expect(curves.jobs).toHaveLength(0);
    // Named lanes: it runs.
    await new Coordinator({ store, executor: queueLike }).start(parseSearchConfig({ ...base, lanes: 2 }), 'q');
    expect(parseSearchConfig(store.getRunConfig('q')).lanes).toBe(2);
    store.close();
  });

  it('reads in loom show like any run: generations in order, the refit named, all-pruned generations said so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-steady-'));
    const db = join(dir, 'loom.db');
    const store = Store.open(db);
    await new Coordinator({ store, executor: new CurveExecutor(2) }).start(parseSearchConfig({ ...base, lanes: 2, refit: { models: 2, epochs: 3 } }), 'v');
    const generations = store.listGenerations('v');
    store.close();
    const shown = await cliThenRemove(dir, 'show', 'v', '--db', db);
    const lines = shown.out.split('\n').filter((l) => /^  (generation \d+|refit):/.test(l));
    expect(lines).toHaveLength(7);
    expect(lines[6]).toMatch(/^  refit: 2 members, best val/);
    // Meaningful: this run has a generation whose members were all pruned.
    expect(generations.filter((g) => g.stats?.done === 0).length).toBeGreaterThan(0);
    generations.slice(0, 6).forEach((g, i) => {
      expect(lines[i]).toMatch(g.stats?.done === 0 ? /^  generation \d+: 4 members, none trained to the end/ : /^  generation \d+: 4 members, best val \d/);
    });
  });

  it('refits the models best at the furthest point a pruned model reached, finished or not; under inherit "all" the finished first', async () => {
    const sources = async (inherit: 'none' | 'all'): Promise<{ store: Store; refit: string[] }> => {
      const { store } = await steadyRun(parseSearchConfig({ ...base, lanes: 2, inherit, refit: { models: 3, epochs: 3 } }), new CurveExecutor(2));
      const refit = store.listModels('s').filter((m) => m.generation === base.generations).map((m) => m.parentIds[0] as string);
      return { store, refit };
    };
    const scratch = await sources('none');
    const searched = scratch.store.listModels('s').filter((m) => m.generation < base.generations && (m.status === 'done' || m.status === 'pruned'));
    const furthest = Math.max(...searched.filter((m) => m.status === 'pruned').map((m) => epochsRun(m.metrics ?? [])));
    const atFurthest = (m: (typeof searched)[number]): [number, number] => {
      const level = Math.min(epochsRun(m.metrics ?? []), furthest);
      return [level, Math.max(...(m.metrics ?? []).filter((p) => p.epoch <= level).map((p) => p.valAccuracy ?? -Infinity))];
    };
    const expected = [...searched]
      .sort((a, b) => atFurthest(b)[0] - atFurthest(a)[0] || atFurthest(b)[1] - atFurthest(a)[1] || (a.modelId < b.modelId ? -1 : 1))
      .slice(0, 3)
      .map((m) => m.modelId);
    expect(scratch.refit).toEqual(expected);
    const status = new Map(searched.map((m) => [m.modelId, m.status]));
    // Meaningful: a pruned model is refit here while a finished one is not.
    expect(scratch.refit.some((id) => status.get(id) === 'pruned')).toBe(true);
    expect(searched.some((m) => m.status === 'done' && !scratch.refit.includes(m.modelId))).toBe(true);
    // Refits that go on from their source's weights take the finished models first.
    const continued = await sources('all');
    const finished = continued.store.listModels('s').filter((m) => m.generation < base.generations && m.status === 'done');
    expect(finished.length).toBeGreaterThanOrEqual(3);
    expect(continued.refit.every((id) => finished.some((m) => m.modelId === id))).toBe(true);
    scratch.store.close();
    continued.store.close();
  });

  it('is a config choice: "lanes" belongs to it, and an unknown schedule is named', () => {
    expect(parseSearchConfig({}).schedule).toBe('generations');
    expect(parseSearchConfig({ schedule: 'steady', lanes: 4 }).lanes).toBe(4);
    expect(() => parseSearchConfig({ lanes: 4 })).toThrow(/lanes.*steady/);
    expect(() => parseSearchConfig({ schedule: 'async' })).toThrow(/schedule/);
    expect(() => parseSearchConfig({ schedule: 'steady', lanes: 0 })).toThrow(/lanes/);
    // No elites in a steady run: population × generations models at most.
    expect(totalModels(parseSearchConfig({ schedule: 'steady', population: 5, generations: 3, elite: 2 }))).toBe(15);
  });
});
