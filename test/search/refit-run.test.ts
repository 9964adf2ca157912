import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSearchConfig } from '../../src/search/config.js';
import { Coordinator } from '../../src/search/coordinator.js';
import { InProcessExecutor } from '../helpers/in-process-executor.js';
import { refitId } from '../../src/search/refit.js';
import { STANDARD_GRID_SHAPES, finishConfig, generateConfigs, searchSpace } from '../../src/search/arch.js';
import { Rng } from '../../src/engine/rng.js';
import { loadDataset } from '../../src/data/index.js';
import { Store } from '../../src/store/store.js';
import { processJob } from '../../src/workers/processor.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-refit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One generation of three small conv-stem models on the synthetic bar images, then the given refit. */
const barsSearch = (epochs: number, refit: Record<string, number | number[]>): ReturnType<typeof parseSearchConfig> =>
  parseSearchConfig({
    seed: 3,
    data: { ref: 'synthetic:bars' },
    population: 3,
    generations: 1,
    elite: 1,
    training: { epochs, batchSize: 16 },
    generator: { convWidths: [2], dModels: [8], gridShapes: ['1x1 Mono'], maxBrains: 1 },
    refit,
  });

describe('a search with a final refit on image data', () => {
  it('searches conv-stem configs, then refits the best with the refit epochs as one more generation', async () => {
    const config = barsSearch(1, { models: 2, epochs: 3 });
    const store = Store.open(join(dir, 'refit.db'));
    const executor = new InProcessExecutor();
    try {
      const summary = await new Coordinator({ store, executor }).start(config, 'run-refit');
      expect(summary.status).toBe('finished');
      const models = store.listModels('run-refit');
      const search = models.filter((m) => m.generation === 0);
      const refits = models.filter((m) => m.generation === 1);
      expect(search).toHaveLength(3);
      // The image space gave every searched config a conv stem and the optional genes.
      for (const m of search) expect(m.arch).toMatchObject({ convBlocks: 2, convWidth: 2 });
      expect(refits).toHaveLength(2);
      for (const m of refits) {
        expect(m.status).toBe('done');
        expect(m.arch).toMatchObject({ origin: 'refit', epochs: 3 });
        expect(m.metrics).toHaveLength(3);
        const source = (m.arch as { parents: string[] }).parents[0] as string;
        expect(m.modelId).toBe(refitId(source));
      }
      expect(store.listGenerations('run-refit').map((g) => g.index)).toEqual([0, 1]);
      // The refit jobs ran with the refit's epochs and no pruning thresholds.
      const refitJobs = executor.jobs.filter((j) => j.generation === 1);
      expect(refitJobs.map((j) => j.arch.epochs)).toEqual([3, 3]);
      expect(refitJobs.every((j) => j.stopBelow === undefined)).toBe(true);
    } finally {
      store.close();
    }
  }, 120_000);

  it('refits with random shifts when refit.shifts lists them: the refit jobs carry the gene, the searched ones do not', async () => {
    const config = barsSearch(1, { models: 2, epochs: 2, shifts: [1, 0] });
    const store = Store.open(join(dir, 'refit-shift.db'));
    const executor = new InProcessExecutor();
    try {
      const summary = await new Coordinator({ store, executor }).start(config, 'run-shift');
      expect(summary.status).toBe('finished');
      const refits = store.listModels('run-shift').filter((m) => m.generation === 1);
      expect(refits.map((m) => m.status)).toEqual(['done', 'done']);
      expect(executor.jobs.filter((j) => j.generation === 1).map((j) => j.arch.shift)).toEqual([1, 0]);
      expect(executor.jobs.filter((j) => j.generation === 0).every((j) => j.arch.shift === undefined)).toBe(true);
    } finally {
      store.close();
    }
  }, 120_000);

  it('refuses shifts on data that is not images before the run exists, naming the field', async () => {
    const store = Store.open(join(dir, 'refit-shift-iris.db'));
    const iris = (extra: Record<string, unknown>) => parseSearchConfig({ seed: 1, data: { ref: 'iris' }, population: 2, generations: 1, ...extra });
    try {
      const coordinator = new Coordinator({ store, executor: new InProcessExecutor() });
      await expect(coordinator.start(iris({ refit: { models: 1, epochs: 2, shifts: [0, 2] } }))).rejects.toThrow(/refit.shifts.*needs an image input.*\[4\]/);
      await expect(coordinator.start(iris({ generator: { shifts: [0, 2] } }))).rejects.toThrow(/generator.shifts.*needs an image input/);
      await expect(coordinator.start(iris({ refit: { models: 1, epochs: 2, rotations: [15] } }))).rejects.toThrow(/refit.rotations.*needs an image input.*\[4\]/);
      await expect(coordinator.start(iris({ generator: { rotations: [15] } }))).rejects.toThrow(/generator.rotations.*needs an image input/);
      expect(store.listRuns()).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('cuts the refit epochs to fit refit.minutes, from the epoch times of the searched models, and says so', async () => {
    // A millisecond: no epoch of any model fits, so every refit trains one.
    const config = barsSearch(2, { models: 2, epochs: 3, minutes: 1 / 60_000 });
    const store = Store.open(join(dir, 'refit-minutes.db'));
    const events: string[] = [];
    try {
      const summary = await new Coordinator({ store, executor: new InProcessExecutor(), onEvent: (e) => events.push(e.kind) }).start(config, 'run-cut');
      expect(summary.status).toBe('finished');
      const refits = store.listModels('run-cut').filter((m) => m.generation === 1);
      expect(refits).toHaveLength(2);
      for (const m of refits) {
        expect(m.arch).toMatchObject({ origin: 'refit', epochs: 1 });
        expect(m.metrics).toHaveLength(1);
      }
      const cut = store.listEvents('run-cut').filter((e) => e.kind === 'refit-cut');
      expect(cut.map((e) => e.payload)).toEqual([{ kind: 'refit-cut', epochs: 1, from: 3, minutes: 1 / 60_000 }]);
      expect(events.indexOf('refit-cut')).toBeLessThan(events.lastIndexOf('generation-start'));
    } finally {
      store.close();
    }
  }, 120_000);

  it('trains a job with its own genes: epochs, batch size and label smoothing override the run settings', async () => {
    const dataset = loadDataset('synthetic:bars', { splitSeed: 1 });
    const task = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
    const [base] = generateConfigs(1, task, new Rng(2), searchSpace(task, { convWidths: [2], dModels: [8], gridShapes: [STANDARD_GRID_SHAPES[0]!], maxBrains: 1 }));
    const training = { epochs: 1, batchSize: 16, optimizer: 'adamw' as const, weightDecay: 0, patience: 0, scheduler: 'constant' as const, mode: 'normal' as const };
    const { name: _n, species: _s, mutationStr: _m, numBrains: _b, brainNames: _bn, ...genes } = base!;
    const run = (labelSmoothing: number) =>
      processJob(
        { runId: 'r', modelId: 'm', generation: 0, arch: finishConfig({ ...genes, epochs: 2, batchSize: 8, dropout: 0, labelSmoothing }), data: { ref: 'synthetic:bars', checksum: dataset.checksum, splitSeed: 1 }, training, seed: 4 },
        dataset,
        { worker: 'w' },
      );
    const plain = await run(0);
    const smoothed = await run(0.3);
    expect(plain.metrics).toHaveLength(2);
    // Same init, same order, same batches: only the loss differs, and the smoothed one cannot reach 0.
    expect(smoothed.metrics[0]!.loss).not.toBeCloseTo(plain.metrics[0]!.loss, 4);
    expect(smoothed.metrics[1]!.loss).toBeGreaterThan(0.3);
  }, 60_000);
});
