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
import { cli, cliThenRemove } from '../helpers/cli.js';
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

/** Jobs in flight reject when the run is stopped, as worker threads do. */
class Interruptible extends CurveExecutor {
  constructor(
    private readonly signal: AbortSignal,
    workers: number,
    pause: (job: TrainingJob, epoch: number) => number,
  ) {
    super(workers, pause);
  }
  override run(job: TrainingJob, onProgress?: (p: JobProgress) => void): Promise<ModelResult> {
    return new Promise((resolve, reject) => {
      // Removed when the job settles: one listener per job on the run's signal would pile up past Node's limit.
      const stop = (): void => reject(new Error('worker stopped'));
      this.signal.addEventListener('abort', stop, { once: true });
      super
        .run(job, onProgress)
        .then(resolve, reject)
        .finally(() => this.signal.removeEventListener('abort', stop));
    });
  }
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
    const rng = new Rng(9);
    const interrupted = new Interruptible(abort.signal, 3, () => 1 + rng.int(3));
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

  it('resumed during its refit, finishes the refit without searching again (no new time window)', async () => {
    // The window closes before the cap of 24 models: a second window would have room for more. Its clock moves 20 ms
    // with each model created, so the window (120 ms) ends after the same few models however loaded the machine is
    // (on the wall clock, a loaded CI machine once started only one model in it, and the refit had one to refit).
    const config = parseSearchConfig({ ...base, lanes: 2, timeBudgetMinutes: 0.002, refit: { models: 2, epochs: 3 } });
    const store = Store.open(':memory:');
    const abort = new AbortController();
    const executor = new Interruptible(abort.signal, 2, () => 20);
    const started = Date.now();
    const summary = await new Coordinator({
      store,
      executor,
      signal: abort.signal,
      now: () => started + 20 * (store.getRun('r') ? store.listModels('r').length : 0),
      onEvent: (e) => {
        if (e.kind === 'model-progress' && e.progress.modelId.endsWith('-refit') && !abort.signal.aborted) abort.abort();
      },
    }).start(config, 'r');
    expect(summary.status).toBe('interrupted');
    const searched = store.listModels('r').filter((m) => m.generation < config.generations).map((m) => m.modelId);
    expect(searched.length).toBeLessThan(24);
    await new Coordinator({ store, executor: new CurveExecutor(2, () => 5) }).resume('r');
    expect(store.listModels('r').filter((m) => m.generation < config.generations).map((m) => m.modelId)).toEqual(searched);
    expect(store.listModels('r', { generation: config.generations }).map((m) => m.status)).toEqual(['done', 'done']);
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

describe('steady-state search with promotion (pruner.promote)', () => {
  // Rungs at 1 and 3 epochs of 9: models pause at 3, and the top third of those there go on to 9.
  const promoting = { ...base, generations: 12, pruner: { kind: 'asha', minEpochs: 1, minSamples: 2, promote: true } };

  /** What a promoting run decided: every model's outcome and curve, and which were promoted at which schedule item. */
  const promotionSnapshot = (store: Store, runId: string): unknown => ({
    models: store.listModels(runId).map((m) => ({ id: m.modelId, arch: m.arch, parents: m.parentIds, status: m.status, curve: (m.metrics ?? []).map((p) => [p.epoch, p.valAccuracy]) })),
    promotions: store.listPausedModels(runId).map((p) => [p.modelId, p.epoch, p.resumeItem]),
  });

  it('pauses models at the last rung and resumes the top third, the same whatever order jobs end in', async () => {
    const config = parseSearchConfig({ ...promoting, lanes: 3 });
    const first = jittered(3, 1);
    const run = await steadyRun(config, first);
    const want = promotionSnapshot(run.store, 's');
    const models = run.store.listModels('s');
    const paused = run.store.listPausedModels('s');
    const promoted = paused.filter((p) => p.resumeItem !== null).map((p) => p.modelId);
    // Meaningful: models paused at 3, some were promoted and finished at 9, the others were pruned at 3 when the search ended.
    expect(paused.length).toBeGreaterThan(10);
    expect(paused.every((p) => p.epoch === 3)).toBe(true);
    expect(promoted.length).toBeGreaterThan(3);
    expect(promoted.length).toBeLessThanOrEqual(Math.floor(paused.length / 3));
    for (const m of models.filter((x) => paused.some((p) => p.modelId === x.modelId))) {
      expect([m.status, epochsRun(m.metrics ?? [])]).toEqual(promoted.includes(m.modelId) ? ['done', 9] : ['pruned', 3]);
    }
    // No model is left paused, and no paused state is kept once a model has ended.
    expect(models.some((m) => m.status === 'paused')).toBe(false);
    expect(paused.every((p) => !p.resumable && run.store.getPausedState('s', p.modelId) === undefined)).toBe(true);
    // A promoted model's second job went on from its pause, with its stored state and no thresholds.
    const resumedJobs = first.jobs.filter((j) => j.resumeFrom);
    expect(resumedJobs.map((j) => j.modelId).sort()).toEqual([...promoted].sort());
    expect(resumedJobs.every((j) => j.stopBelow === undefined && j.pauseAt === undefined && j.warmStart === undefined)).toBe(true);
    // The first jobs were told to pause at 3, with no threshold at 3 or beyond (promotion decides there).
    const firstJobs = first.jobs.filter((j) => !j.resumeFrom);
    expect(firstJobs.every((j) => j.pauseAt === 3 && (j.stopBelow ?? []).every((t) => t.epoch < 3))).toBe(true);
    expect(firstJobs.some((j) => (j.stopBelow ?? []).length > 0)).toBe(true);
    // Paused models are parents too (by their predictions at the pause), promoted or not.
    const parents = new Set(models.flatMap((m) => m.parentIds));
    expect(promoted.some((id) => parents.has(id))).toBe(true);
    expect(paused.some((p) => p.resumeItem === null && parents.has(p.modelId))).toBe(true);
    run.store.close();
    for (const executor of [jittered(3, 2), jittered(1, 3), new CurveExecutor(2)]) {
      const again = await steadyRun(config, executor);
      expect(promotionSnapshot(again.store, 's')).toEqual(want);
      again.store.close();
    }
  });

  it('replays its promotions on resume: a run stopped with models paused and resumed segments in flight ends as the uninterrupted one', async () => {
    const config = parseSearchConfig({ ...promoting, lanes: 3 });
    const whole = await steadyRun(config, new CurveExecutor(3), 'p');
    const want = promotionSnapshot(whole.store, 'p');
    whole.store.close();
    const store = Store.open(':memory:');
    const abort = new AbortController();
    const rng = new Rng(11);
    const interrupted = new Interruptible(abort.signal, 3, () => 1 + rng.int(3));
    const resumedJobs = (): TrainingJob[] => interrupted.jobs.filter((j) => j.resumeFrom);
    const summary = await new Coordinator({
      store,
      executor: interrupted,
      signal: abort.signal,
      onEvent: (e) => {
        // Stopped while the third resumed segment reports progress (so it is in flight), after earlier ones finished.
        const latest = resumedJobs()[2];
        if (e.kind === 'model-progress' && e.progress.modelId === latest?.modelId && !abort.signal.aborted) abort.abort();
      },
    }).start(config, 'p');
    expect(summary.status).toBe('interrupted');
    const stopped = store.listModels('p');
    const statusOf = (id: string): string | undefined => stopped.find((m) => m.modelId === id)?.status;
    // Meaningful: it stopped with paused models waiting, a promoted model finished and a promoted one unfinished (pending again).
    expect(stopped.some((m) => m.status === 'paused')).toBe(true);
    const promotedThen = store.listPausedModels('p').filter((p) => p.resumeItem !== null);
    expect(promotedThen.some((p) => statusOf(p.modelId) === 'done')).toBe(true);
    expect(promotedThen.some((p) => statusOf(p.modelId) === 'pending')).toBe(true);
    const resumed = jittered(2, 4);
    await new Coordinator({ store, executor: resumed }).resume('p');
    expect(promotionSnapshot(store, 'p')).toEqual(want);
    // The unfinished promoted model went on from its stored pause, not from scratch.
    expect(resumed.jobs.some((j) => j.resumeFrom && promotedThen.some((p) => p.modelId === j.modelId))).toBe(true);
    store.close();
  });

  it('reads in loom show: paused models while they wait, and where each promoted one paused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-promote-'));
    const db = join(dir, 'loom.db');
    const config = parseSearchConfig({ ...promoting, lanes: 2 });
    let store = Store.open(db);
    const abort = new AbortController();
    let pausedEvents = 0;
    await new Coordinator({
      store,
      executor: new Interruptible(abort.signal, 2, () => 1),
      signal: abort.signal,
      onEvent: (e) => {
        if (e.kind === 'model-paused' && ++pausedEvents === 3) abort.abort();
      },
    }).start(config, 'w');
    const waiting = store.listModels('w').filter((m) => m.status === 'paused').map((m) => m.modelId);
    store.close();
    expect(waiting.length).toBeGreaterThan(0);
    const during = await cli('show', 'w', '--db', db);
    expect(during.out).toContain(`${waiting.length} paused`);
    expect(during.out).toContain('paused models (waiting at the promotion rung');
    for (const id of waiting) expect(during.out).toMatch(new RegExp(`\\n    ${id} +after 3 epoch\\(s\\)`));
    store = Store.open(db);
    await new Coordinator({ store, executor: new CurveExecutor(2) }).resume('w');
    const promoted = store.listPausedModels('w').filter((p) => p.resumeItem !== null).map((p) => p.modelId);
    store.close();
    const after = await cliThenRemove(dir, 'show', 'w', '--db', db, '--json');
    const shown = JSON.parse(after.out) as { paused: unknown[]; promotions: { modelId: string; promoted: boolean }[] };
    expect(shown.paused).toEqual([]);
    expect(shown.promotions.filter((p) => p.promoted).map((p) => p.modelId)).toEqual(promoted);
    expect(promoted.length).toBeGreaterThan(0);
  });

  it('is refused where a paused model could not resume exactly', () => {
    expect(() => parseSearchConfig({ ...promoting, schedule: 'generations' })).toThrow(/pruner.promote.*"steady" only/);
    expect(() => parseSearchConfig({ ...promoting, pruner: { kind: 'median', promote: true } })).toThrow(/pruner.promote.*"asha" pruner only/);
    expect(() => parseSearchConfig({ ...promoting, training: { ...promoting.training, patience: 2 } })).toThrow(/pruner.promote.*early stopping/);
    expect(() => parseSearchConfig({ ...promoting, data: { ref: 'synthetic:blobs', kfold: 3 } })).toThrow(/pruner.promote.*k-fold/);
    expect(() => parseSearchConfig({ ...promoting, pruner: { ...promoting.pruner, promote: 'yes' } })).toThrow(/pruner.promote.*true or false/);
    expect(parseSearchConfig(promoting).pruner.promote).toBe(true);
  });
});
