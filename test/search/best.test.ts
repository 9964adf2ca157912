import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { command as analyzeCommand } from '../../src/cli/analyze.js';
import { command as runsCommand } from '../../src/cli/runs.js';
import { command as showCommand } from '../../src/cli/show.js';
import { loadDataset } from '../../src/data/index.js';
import { runSummary } from '../../src/dashboard/summaries.js';
import { bestRecord, compareBest, pickBest } from '../../src/search/best.js';
import { computeFitness, partsRecord } from '../../src/search/fitness.js';
import { Store } from '../../src/store/store.js';

describe('the one best-model rule', () => {
  it('ranks by val accuracy, then val log-loss, then id', () => {
    const a = { modelId: 'b', valAccuracy: 0.9, valLogLoss: 0.3 };
    const b = { modelId: 'a', valAccuracy: 0.9, valLogLoss: 0.4 };
    const c = { modelId: 'c', valAccuracy: 0.91, valLogLoss: 0.9 };
    const d = { modelId: 'a2', valAccuracy: 0.9, valLogLoss: 0.3 };
    expect(pickBest([a, b, c])?.modelId).toBe('c');
    expect(pickBest([b, a])?.modelId).toBe('b');
    expect(pickBest([a, d])?.modelId).toBe('a2');
    expect(compareBest(a, { ...a, valLogLoss: null })).toBeLessThan(0);
    expect(pickBest([])).toBeNull();
  });

  describe('runs, show, analyze and the dashboard agree on a tie', () => {
    let dir: string;
    let db: string;
    const out: string[] = [];
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'loom-best-'));
      db = join(dir, 'loom.db');
      // Three models on the real blobs split. m0 and m1 tie on validation accuracy; m1 (the later id, listed
      // second) has the lower log-loss, so "first max accuracy" and "lowest id" would both pick m0, wrongly.
      const data = loadDataset('synthetic:blobs', { splitSeed: 5 });
      const c = data.numClasses;
      const rows = (y: Int32Array, sure: number, wrongEvery: number): Float32Array => {
        const p = new Float32Array(y.length * c);
        y.forEach((label, r) => {
          const cls = r % wrongEvery === 0 ? (label + 1) % c : label;
          for (let j = 0; j < c; j++) p[r * c + j] = j === cls ? sure : (1 - sure) / (c - 1);
        });
        return p;
      };
      const mask = (p: Float32Array, y: Int32Array): Uint8Array =>
        Uint8Array.from(y, (label, r) => {
          let best = 0;
          for (let j = 1; j < c; j++) if ((p[r * c + j] as number) > (p[r * c + best] as number)) best = j;
          return best === label ? 1 : 0;
        });
      const specs = [
        { id: 'm0', sure: 0.6, wrong: 5, testWrong: 7 },
        { id: 'm1', sure: 0.9, wrong: 5, testWrong: 3 },
        { id: 'm2', sure: 0.9, wrong: 2, testWrong: 2 },
      ];
      const store = Store.open(db);
      store.createRun({ id: 'tie', name: 'tie', config: { data: { ref: 'synthetic:blobs', splitSeed: 5 } }, seed: 5, dataRef: 'synthetic:blobs', dataChecksum: data.checksum, codeVersion: 't' });
      store.addModels('tie', specs.map((s) => ({ modelId: s.id, generation: 0, arch: { id: s.id } })));
      const valProbs: Float32Array[] = [];
      for (const s of specs) {
        const vp = rows(data.val.y, s.sure, s.wrong);
        const tp = rows(data.test.y, s.sure, s.testWrong);
        const vm = mask(vp, data.val.y);
        const tm = mask(tp, data.test.y);
        valProbs.push(vp);
        store.recordResult('tie', {
          modelId: s.id, metrics: [], valProbs: vp, testProbs: tp, valMask: vm, testMask: tm, weights: new Uint8Array(4), paramCount: 1, trainMs: 1,
          worker: 't', valAccuracy: vm.reduce((a, b) => a + b, 0) / vm.length, testAccuracy: tm.reduce((a, b) => a + b, 0) / tm.length, numClasses: c,
        });
      }
      // As the coordinator does after each generation: fitness and its parts (val log-loss among them).
      const f = computeFitness('accuracy', { modelIds: specs.map((s) => s.id), valProbs, labels: data.val.y, numClasses: c });
      specs.forEach((s, k) => store.setFitness('tie', s.id, f.fitness[k] as number, partsRecord(f.parts[k]!)));
      store.close();
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    afterEach(() => {
      out.length = 0;
      vi.restoreAllMocks();
    });
    const capture = (): void => {
      vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(args.join(' ')));
    };

    it('every view names m1', async () => {
      const store = Store.open(db, { readonly: true });
      const models = store.listModels('tie');
      const [m0, m1] = [models.find((m) => m.modelId === 'm0')!, models.find((m) => m.modelId === 'm1')!];
      expect(m0.valAccuracy).toBe(m1.valAccuracy); // the tie
      expect(m0.testAccuracy).not.toBe(m1.testAccuracy); // so a wrong pick would show in the figures
      expect(bestRecord(models)?.modelId).toBe('m1');
      const dashboard = runSummary(store, store.getRun('tie')!);
      store.close();
      expect(dashboard.bestModelId).toBe('m1');
      expect(dashboard.bestTestAccuracy).toBe(m1.testAccuracy);

      capture();
      await runsCommand.run(['--db', db, '--json']);
      const runs = JSON.parse(out.join('\n')) as { id: string; bestValAccuracy: number; bestTestAccuracy: number }[];
      expect(runs.find((r) => r.id === 'tie')?.bestTestAccuracy).toBe(m1.testAccuracy);

      out.length = 0;
      await showCommand.run(['tie', '--db', db, '--json']);
      expect((JSON.parse(out.join('\n')) as { models: { modelId: string }[] }).models[0]?.modelId).toBe('m1');

      out.length = 0;
      await analyzeCommand.run(['tie', '--db', db, '--json', '--no-save']);
      const analysis = JSON.parse(out.join('\n')) as { bestSingle: { modelId: string; testAccuracy: number } };
      expect(analysis.bestSingle.modelId).toBe('m1');
      expect(analysis.bestSingle.testAccuracy).toBeCloseTo(m1.testAccuracy!, 12);
    });
  });
});
