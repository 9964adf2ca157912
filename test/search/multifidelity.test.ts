import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSearchConfig, type SearchConfig } from '../../src/search/config.js';
import { Coordinator, type RunEvent } from '../../src/search/coordinator.js';
import type { Executor, JobProgress, TrainingJob } from '../../src/search/jobs.js';
import { curveOf, epochsRun, prunedAt } from '../../src/search/pruners.js';
import { cli, cliThenRemove } from '../helpers/cli.js';
import { CurveExecutor } from '../helpers/curve-executor.js';
import { Store } from '../../src/store/store.js';
import type { ModelResult } from '../../src/store/types.js';

const base = {
  name: 'mf',
  seed: 3,
  data: { ref: 'synthetic:blobs' },
  population: 6,
  elite: 1,
  training: { epochs: 9, batchSize: 16 },
  generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono', '1x4 Wide'], maxBrains: 4 },
};

describe('multi-fidelity search', () => {
  it('prunes models below an ASHA rung as "pruned" with their partial curve, and stores NES fitness with parts', async () => {
    const config: SearchConfig = parseSearchConfig({ ...base, generations: 3, pruner: { kind: 'asha', eta: 3 } });
    expect(config.fitness).toBe('nes');
    const dir = mkdtempSync(join(tmpdir(), 'loom-mf-'));
    const db = join(dir, 'loom.db');
    const store = Store.open(db);
    const executor = new CurveExecutor();
    const events: RunEvent[] = [];
    const summary = await new Coordinator({ store, executor, onEvent: (e) => events.push(e) }).start(config, 'r');
    expect(summary.status).toBe('finished');
    const models = store.listModels('r');
    // The first wave (4 models) of generation 0 has no earlier curves: it trains fully, without thresholds.
    const firstWave = store.listGenerations('r')[0]!.stats!.members.slice(0, 4);
    expect(models.filter((m) => firstWave.includes(m.modelId)).every((m) => m.status === 'done')).toBe(true);
    expect(executor.jobs.filter((j) => firstWave.includes(j.modelId)).every((j) => j.stopBelow === undefined)).toBe(true);
    expect(executor.jobs.filter((j) => !firstWave.includes(j.modelId)).every((j) => (j.stopBelow?.length ?? 0) > 0)).toBe(true);
    const pruned = models.filter((m) => m.status === 'pruned');
    expect(pruned.length).toBeGreaterThan(0);
    for (const m of pruned) {
      const job = executor.jobs.find((j) => j.modelId === m.modelId)!;
      const curve = curveOf(m.metrics ?? []);
      expect(curve.length).toBeLessThan(9);
      expect(prunedAt(curve, job.stopBelow ?? [])).toBe(curve.length);
      expect(events.some((e) => e.kind === 'model-pruned' && e.modelId === m.modelId)).toBe(true);
    }
    expect(models.some((m) => m.status === 'failed')).toBe(false);
    // Every finished model has its fitness and its parts; NES members have positive gain.
    const done = models.filter((m) => m.status === 'done');
    expect(done.every((m) => m.fitness !== null && m.fitnessParts !== null && typeof m.fitnessParts.valLogLoss === 'number')).toBe(true);
    const members = done.filter((m) => (m.fitnessParts?.picks ?? 0) > 0);
    expect(members.length).toBeGreaterThan(0);
    expect(members.every((m) => (m.fitness ?? 0) > 0)).toBe(true);
    store.close();
    // loom show lists the pruned models with their partial curves, apart from the failures.
    let shown: { out: string };
    let shownJson: { out: string };
    try {
      shown = await cli('show', 'r', '--db', db);
      shownJson = await cli('show', 'r', '--db', db, '--json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const text = shown.out;
    expect(text).toContain(`${pruned.length} pruned`);
    expect(text).toContain('pruned models (stopped early by the pruner');
    expect(text).toContain(`${pruned[0]!.modelId}`);
    const json = JSON.parse(shownJson.out) as { pruned: { modelId: string; status: string }[] };
    expect(json.pruned.map((m) => m.modelId).sort()).toEqual(pruned.map((m) => m.modelId).sort());
  });

  it('checks a first rung below one epoch mid-epoch: pruned models end there and loom show marks the point', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-mf-'));
    const db = join(dir, 'loom.db');
    const store = Store.open(db);
    const executor = new CurveExecutor();
    await new Coordinator({ store, executor }).start(parseSearchConfig({ ...base, generations: 2, pruner: { kind: 'asha', minEpochs: 0.25 } }), 'q');
    // Rungs for 9 epochs: 0.25, 0.75, then whole epochs 2 and 6. Every job is told the mid-epoch rungs (threshold 0
    // until three models have a value there), so the first wave records them too.
    expect(executor.jobs.every((j) => (j.stopBelow ?? []).slice(0, 2).map((t) => t.epoch).join() === '0.25,0.75')).toBe(true);
    const pruned = store.listModels('q').filter((m) => m.status === 'pruned');
    const atQuarter = pruned.filter((m) => epochsRun(m.metrics ?? []) === 0.25);
    expect(atQuarter.length).toBeGreaterThan(0);
    store.close();
    const shown = await cliThenRemove(dir, 'show', 'q', '--db', db);
    const line = shown.out.split('\n').find((l) => l.includes(atQuarter[0]!.modelId) && l.includes('after'));
    expect(line).toMatch(/after 0\.25 epoch\(s\): \d+\.\d+%@0\.25$/);
  });

  it('labels pruned only a model that stopped at the rung, not a full curve below it (a bag judged on fold 0)', async () => {
    // A bag's returned curve is its folds' mean, which can dip below a rung fold 0 passed: it trains on regardless.
    class FullCurves extends CurveExecutor {
      readonly thresholds: TrainingJob['stopBelow'][] = [];
      override run(job: TrainingJob, onProgress?: (p: JobProgress) => void): Promise<ModelResult> {
        this.thresholds.push(job.stopBelow);
        return super.run({ ...job, stopBelow: undefined }, onProgress);
      }
    }
    const store = Store.open(':memory:');
    const executor = new FullCurves();
    await new Coordinator({ store, executor }).start(parseSearchConfig({ ...base, generations: 2, pruner: 'asha' }), 'f');
    const models = store.listModels('f');
    expect(models.every((m) => m.status === 'done')).toBe(true);
    // Meaningful: some of these full curves are below a threshold their job was sent.
    const below = executor.jobs.filter((j, k) => prunedAt(curveOf(models.find((m) => m.modelId === j.modelId)?.metrics ?? []), executor.thresholds[k] ?? []) !== null);
    expect(below.length).toBeGreaterThan(0);
    store.close();
  });

  it('fails, rather than storing or crashing on, a result without predictions from a model that stopped at no rung', async () => {
    // Only a pruned job returns no predictions (fit.ts prunedResult); anything else is a worker's fault, named.
    class Hollow extends CurveExecutor {
      override async run(job: TrainingJob, onProgress?: (p: JobProgress) => void): Promise<ModelResult> {
        const r = await super.run(job, onProgress);
        if (job.modelId !== 'g0-1') return r;
        return { ...r, valProbs: new Float32Array(0), testProbs: new Float32Array(0), valMask: new Uint8Array(0), testMask: new Uint8Array(0) };
      }
    }
    const store = Store.open(':memory:');
    const summary = await new Coordinator({ store, executor: new Hollow() }).start(parseSearchConfig({ ...base, generations: 1 }), 'h');
    const hollow = store.getModel('h', 'g0-1');
    expect(hollow?.status).toBe('failed');
    expect(hollow?.error).toMatch(/no predictions.*did not stop at a rung/);
    expect(summary.modelsTrained).toBe(5);
    store.close();
  });

  it('announces when a minutes budget stops the search (the progress bar\'s ETA reads it), and nothing without one', async () => {
    const startEvent = async (extra: object): Promise<RunEvent | undefined> => {
      const store = Store.open(':memory:');
      const events: RunEvent[] = [];
      await new Coordinator({ store, executor: new CurveExecutor(), onEvent: (e) => events.push(e) }).start(parseSearchConfig({ ...base, generations: 1, ...extra }), 's');
      store.close();
      return events.find((e) => e.kind === 'run-start');
    };
    const before = Date.now();
    const timed = await startEvent({ timeBudgetMinutes: 5, budget: { minutes: 7 } });
    const after = Date.now();
    // The earlier of the two minute budgets, from the run's start.
    const deadline = timed?.kind === 'run-start' ? timed.searchDeadline : undefined;
    expect(deadline).toBeGreaterThanOrEqual(before + 5 * 60_000);
    expect(deadline).toBeLessThanOrEqual(after + 5 * 60_000);
    const untimed = await startEvent({});
    expect(untimed?.kind).toBe('run-start');
    expect(untimed !== undefined && 'searchDeadline' in untimed).toBe(false);
  });

  it('makes the same pruning decisions whatever the number of workers', async () => {
    const statuses = async (workers: number): Promise<Record<string, string>> => {
      const store = Store.open(':memory:');
      await new Coordinator({ store, executor: new CurveExecutor(workers) }).start(parseSearchConfig({ ...base, generations: 3, pruner: 'asha' }), 'w');
      const out = Object.fromEntries(store.listModels('w').map((m) => [m.modelId, m.status]));
      store.close();
      return out;
    };
    const one = await statuses(1);
    expect(Object.values(one)).toContain('pruned');
    expect(await statuses(3)).toEqual(one);
  });

  it('spends an epoch budget instead of a fixed number of generations, trying more models when pruning', async () => {
    const run = async (pruner: unknown): Promise<{ models: number; epochs: number }> => {
      const store = Store.open(':memory:');
      const executor = new CurveExecutor();
      await new Coordinator({ store, executor }).start(parseSearchConfig({ ...base, budget: { epochs: 200 }, pruner }), 'b');
      const all = store.listModels('b').filter((m) => m.status === 'done' || m.status === 'pruned');
      const epochs = all.reduce((a, m) => a + epochsRun(m.metrics ?? []), 0);
      store.close();
      return { models: all.length, epochs };
    };
    const plain = await run('none');
    const asha = await run('asha');
    // A first rung at a quarter epoch: most models stop after a share of one, counted as that share.
    const quarter = await run({ kind: 'asha', minEpochs: 0.25 });
    // The budget is spent (up to the models in flight when it ran out), not more than a generation over it.
    for (const r of [plain, asha, quarter]) {
      expect(r.epochs).toBeGreaterThanOrEqual(200);
      expect(r.epochs).toBeLessThan(200 + 6 * 9);
    }
    expect(asha.models).toBeGreaterThan(plain.models);
    expect(quarter.models).toBeGreaterThan(2 * asha.models); // 223 vs 83 vs 22 without a pruner
  });
});
