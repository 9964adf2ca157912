import { lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { command as analyzeCommand } from '../../src/cli/analyze.js';
import { command as exportCommand } from '../../src/cli/export.js';
import { command as graftCommand } from '../../src/cli/graft.js';
import { command as predictCommand } from '../../src/cli/predict.js';
import { LoomError } from '../../src/engine/errors.js';
import { predict } from '../../src/engine/eval.js';
import { encodeLoomModel } from '../../src/engine/io/index.js';
import { readModelFile } from '../../src/engine/io/files.js';
import { pickModel } from '../../src/engine/io/model.js';
import { analyzeRun, analyzePredictions } from '../../src/ensemble/analyze.js';
import { finishRun } from '../../src/ensemble/pipeline.js';
import { combineProbabilities } from '../../src/ensemble/select.js';
import type { LoadedDataset } from '../../src/data/index.js';
import { Store } from '../../src/store/store.js';
import { asTensor, blobs, DATA_REF, SPLIT_SEED, trainMembers, type TrainedMember } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-ensemble-'));
const db = join(dir, 'runs.db');
let data: LoadedDataset;
let members: TrainedMember[];

/** A finished run of 4 tiny real networks, stored with the real Store; plus an empty run. */
beforeAll(() => {
  data = blobs();
  members = trainMembers(data, 4);
  const store = Store.open(db);
  try {
    // The same 4 models in a run with the default selection and in one whose config asks for bagged selection.
    for (const [id, config] of [['r1', {}], ['r-bagged', { ensembleBags: 20 }]] as const) {
      store.createRun({ id, config: { data: { ref: DATA_REF, splitSeed: SPLIT_SEED }, ...config }, seed: 1, dataRef: DATA_REF, dataChecksum: data.checksum, codeVersion: 'test' });
      store.addModels(id, members.map((m) => ({ modelId: m.config.id, generation: 0, arch: m.config })));
      for (const m of members) {
        store.recordResult(id, {
          modelId: m.config.id, metrics: [], valProbs: m.val.probabilities, testProbs: m.test.probabilities, valMask: m.val.correctnessMask,
          testMask: m.test.correctnessMask, weights: encodeLoomModel(m.network, { modelId: m.config.id }), paramCount: m.network.paramCount(),
          trainMs: 1, worker: 'test', valAccuracy: m.val.accuracy, testAccuracy: m.test.accuracy, numClasses: data.numClasses,
        });
      }
      store.finishRun(id, {});
    }
    store.createRun({ id: 'empty', config: { data: { ref: DATA_REF, splitSeed: SPLIT_SEED } }, seed: 1, dataRef: DATA_REF, dataChecksum: data.checksum, codeVersion: 'test' });
    store.addModels('empty', [{ modelId: 'x', generation: 0, arch: {} }]);
  } finally {
    store.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Runs a CLI command and returns what it printed. */
async function cli(cmd: { run(argv: string[]): Promise<number> }, argv: string[]): Promise<string> {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(args.join(' ')));
  const code = await cmd.run(argv);
  vi.restoreAllMocks();
  expect(code).toBe(0);
  return out.join('\n');
}

/** A normalized split's rows as they were before the z-score (x·std + mean), as a user would have them. */
function rawRows(d: LoadedDataset, split: LoadedDataset['test']): number[][] {
  if (d.normalization.kind !== 'zscore') throw new Error('expected a z-scored data set');
  const { mean, std } = d.normalization;
  return Array.from({ length: split.count }, (_, r) => Array.from(split.x.subarray(r * d.featureSize, (r + 1) * d.featureSize), (v, f) => v * (std[f] as number) + (mean[f] as number)));
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

describe('loom analyze', () => {
  it('analyses the stored run (labels from the reloaded data set) and saves the analysis and its ensembles', async () => {
    const json = JSON.parse(await cli(analyzeCommand, ['r1', '--db', db, '--json']));
    expect(json.models).toBe(4);
    expect(json.samples).toEqual({ val: data.val.count, test: data.test.count });
    const best = Math.max(...members.map((m) => m.val.accuracy));
    expect(json.bestSingle.valAccuracy).toBe(best);
    expect(json.chosen.valAccuracy).toBeGreaterThanOrEqual(best);
    expect(json.ensembles.map((e: { method: string }) => e.method)).toContain('greedy');
    expect(json.clusters.k).toBeGreaterThanOrEqual(1);
    expect(json.correlation.parameters.length).toBeGreaterThan(0);
    const store = Store.open(db, { readonly: true });
    try {
      expect(store.listEnsembles('r1').map((e) => e.id)).toEqual(json.ensembleIds);
      expect(store.getAnalyses('r1', 'ensemble')).toHaveLength(1);
    } finally {
      store.close();
    }
    const text = await cli(analyzeCommand, ['r1', '--db', db, '--no-save']);
    expect(text).toMatch(/best single model \(chosen on validation\): m\d/);
    expect(text).toMatch(/← chosen/);
  });

  it('refuses a run with no finished models, and masks of different lengths', async () => {
    await expect(analyzeCommand.run(['empty', '--db', db, '--no-save'])).rejects.toThrow(/run empty has no finished models/);
    const p = new Float32Array(6).fill(0.5);
    expect(() =>
      analyzePredictions({
        modelIds: ['a', 'b'],
        val: { probs: [p, p], labels: Int32Array.from([0, 1, 0]), numClasses: 2, masks: [Uint8Array.of(1, 0, 1), Uint8Array.of(1, 0)] },
        test: { probs: [p, p], labels: Int32Array.from([0, 1, 0]), numClasses: 2 },
      }),
    ).toThrow(/different lengths: model a has 3 samples, model b has 2/);
    await expect(analyzeCommand.run(['nope', '--db', db])).rejects.toThrow(LoomError);
    await expect(analyzeCommand.run(['r1', '--db', db, '--no-save', '--bags', '-1'])).rejects.toThrow(/--bags must be an integer in \[0, 10000\], got "-1"/);
  });

  it("a run config's ensembleBags makes the chosen ensemble the bagged selection; --bags overrides it", async () => {
    const bagged = JSON.parse(await cli(analyzeCommand, ['r-bagged', '--db', db, '--no-save', '--json']));
    expect(bagged.chosen.method).toBe('bagged-greedy');
    expect(bagged.chosen.weights.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 9);
    const none = JSON.parse(await cli(analyzeCommand, ['r-bagged', '--db', db, '--no-save', '--json', '--bags', '0']));
    expect(none.ensembles.map((e: { method: string }) => e.method)).not.toContain('bagged-greedy');
    const one = JSON.parse(await cli(analyzeCommand, ['r1', '--db', db, '--no-save', '--json', '--bags', '1']));
    expect(one.chosen.method).toBe('bagged-greedy');
    // one climb on half of the 4 models picks from 2 of them
    expect(one.chosen.members.length).toBeLessThanOrEqual(2);
  });
});

describe('loom graft and loom export', () => {
  it('grafts a saved ensemble into a model whose predictions equal the offline ensemble, and loom predict runs it', async () => {
    const store = Store.open(db, { readonly: true });
    const ensemble = store.listEnsembles('r1').find((e) => e.method === 'greedy');
    store.close();
    expect(ensemble).toBeDefined();
    const out = join(dir, 'greedy.loom');
    const json = JSON.parse(await cli(graftCommand, ['r1', '--db', db, '--ensemble', String(ensemble!.id), '--out', out, '--json']));
    expect(json.members).toEqual(ensemble!.members);
    expect(json.testAccuracy).toBeCloseTo(ensemble!.testAccuracy as number, 12);
    const network = pickModel(readModelFile(out)).network;
    const idx = ensemble!.members.map((id) => members.findIndex((m) => m.config.id === id));
    const offline = combineProbabilities(members.map((m) => m.test.probabilities), idx, ensemble!.weights);
    expect(maxDiff(predict(network, asTensor(data, data.test).x).data, offline)).toBeLessThan(1e-5);

    // loom predict takes raw rows: the graft carries the run's z-score and applies it.
    const input = join(dir, 'input.json');
    writeFileSync(input, JSON.stringify(rawRows(data, data.test).slice(0, 5)));
    const predicted = JSON.parse(await cli(predictCommand, ['--model', out, '--input', input])) as number[][];
    expect(maxDiff(predicted.flat(), offline.subarray(0, 15))).toBeLessThan(1e-4);
  });

  it('hive-grafts members into a LOOM bundle with a trained head and reports its accuracy', async () => {
    const out = join(dir, 'hive.json');
    const json = JSON.parse(await cli(graftCommand, ['r1', '--db', db, '--members', 'm0,m1', '--mode', 'hive', '--epochs', '6', '--out', out, '--json']));
    expect(json.format).toBe('loom-bundle');
    expect(json.testAccuracy).toBeGreaterThan(0.8);
    const network = pickModel(readModelFile(out)).network;
    expect(network.isFrozen(0)).toBe(true);
    expect(readFileSync(out, 'utf8')).toMatch(/modelhost\/bundle/);
    await expect(graftCommand.run(['r1', '--db', db, '--members', 'm0,zz', '--out', join(dir, 'bad.loom')])).rejects.toThrow(/no finished model zz/);
  });

  it('exports a run model and re-exports a file in the other format, predictions unchanged', async () => {
    const bundle = join(dir, 'm1.json');
    await cli(exportCommand, ['r1:m1', '--db', db, '--out', bundle]);
    const x = asTensor(data, data.val).x;
    const want = predict((members[1] as TrainedMember).network, x).data;
    const fromBundle = pickModel(readModelFile(bundle)).network;
    expect(maxDiff(predict(fromBundle, x).data, want)).toBeLessThan(1e-6);
    const loom = join(dir, 'm1.loom');
    await cli(exportCommand, [bundle, '--format', 'loom', '--out', loom]);
    expect(maxDiff(predict(pickModel(readModelFile(loom)).network, x).data, want)).toBeLessThan(1e-6);
    // The run's preprocessing goes into the export and survives the re-export.
    const p = pickModel(readModelFile(bundle)).preprocessing;
    expect(p?.normalization).toEqual(data.normalization);
    expect(p?.classes).toEqual([...data.classNames]);
    expect(pickModel(readModelFile(loom)).preprocessing).toEqual(p);
    // A link planted at --out is replaced, the file it points to is left alone; exporting twice keeps one row.
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'keep me');
    const linked = join(dir, 'linked.loom');
    symlinkSync(outside, linked);
    await cli(exportCommand, ['r1:m1', '--db', db, '--out', linked]);
    await cli(exportCommand, ['r1:m1', '--db', db, '--out', linked]);
    expect(readFileSync(outside, 'utf8')).toBe('keep me');
    expect(lstatSync(linked).isSymbolicLink()).toBe(false);
    expect(maxDiff(predict(pickModel(readModelFile(linked)).network, x).data, want)).toBeLessThan(1e-6);
    const store = Store.open(db, { readonly: true });
    try {
      expect(store.listExports('r1').filter((e) => e.path === linked)).toHaveLength(1);
      expect(store.getAnalyses('r1')).toHaveLength(1);
    } finally {
      store.close();
    }
  });
});

describe('end of search', () => {
  it('analyses, grafts and exports the chosen ensemble, and summarizes best single vs ensemble', () => {
    const store = Store.open(db);
    try {
      const summary = finishRun(store, 'r1', { outDir: join(dir, 'runs', 'r1'), dataset: data });
      expect(summary.files.map((f) => f.format)).toEqual(['loom', 'loom-bundle']);
      expect(summary.graftTestAccuracy).toBeCloseTo(summary.ensemble.testAccuracy, 12);
      expect(summary.lines[0]).toMatch(/best single model m\d .*test \d+\.\d\d%/);
      expect(summary.lines.some((l) => /^ensemble \(.*validation \d+\.\d\d%.*, test \d+\.\d\d%/.test(l))).toBe(true);
      expect(summary.ensemble.testGain).toBe(summary.ensemble.testAccuracy - summary.bestSingle.testAccuracy);
      const network = pickModel(readModelFile(summary.files[0]!.path)).network;
      expect(network.modelId).toMatch(/^ensemble\(/);
      const analysis = analyzeRun(store, 'r1', { labels: { val: data.val.y, test: data.test.y } });
      expect(analysis.chosen.members).toEqual(summary.ensemble.members);
    } finally {
      store.close();
    }
  });
});
