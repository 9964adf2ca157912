import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeLoomModel } from '../../src/engine/io/loom-format.js';
import { Rng } from '../../src/engine/rng.js';
import { generateConfigs, type ArchConfig } from '../../src/search/arch.js';
import { buildNetwork } from '../../src/search/build.js';
import { loadDataset } from '../../src/data/index.js';
import { Store } from '../../src/store/store.js';
import type { EpochMetrics, ModelResult } from '../../src/store/types.js';

/**
 * A run database built through the real Store: two iris runs (the data set's real split, so the dashboard can
 * rebuild the labels), archs from the real generator, model files from real (untrained) networks, and
 * predictions synthesized so that each model's errors follow a known pattern — every accuracy the dashboard shows
 * is computable here and asserted in the tests.
 */

export const T0 = Date.UTC(2025, 0, 15, 9, 0, 0);
export const FINISHED = 'run-20250115090000-aaaa';
export const LIVE = 'run-20250115100000-bbbb';

export interface FixtureModel {
  readonly modelId: string;
  readonly generation: number;
  readonly arch: ArchConfig;
  readonly valAccuracy: number;
  readonly testAccuracy: number;
  readonly valMask: Uint8Array;
  readonly testMask: Uint8Array;
  readonly trainMs: number;
  readonly worker: string;
}

export interface Fixture {
  readonly dir: string;
  readonly dbPath: string;
  readonly clock: { now: number };
  readonly finished: readonly FixtureModel[];
  readonly failedModelId: string;
  readonly failedArch: ArchConfig;
  /** The live run's model ids, in order (0 and 1 done at the start, the rest pending). */
  readonly liveModelIds: readonly string[];
  readonly ensembleId: number;
  readonly ensembleTest: number;
  readonly ensembleVal: number;
  readonly valLabels: Int32Array;
  readonly testLabels: Int32Array;
  readonly classNames: readonly string[];
  /** A writable store on the same file, for live-update tests; close it when done. */
  readonly writer: Store;
  /** Trains (synthetically) one more model of the live run, as the coordinator would, events included. */
  addLiveModel(store: Store, index: number): FixtureModel;
  /**
   * Another running iris run without models, through `writer` (the fixture's 2025 clock, so its heartbeat is long
   * past: the dashboard shows it stalled). `data` replaces the split settings; `checksum` the data's checksum.
   */
  addRun(id: string, name: string, options?: { data?: Record<string, unknown>; checksum?: string }): void;
}

const DATA = { ref: 'iris', splitSeed: 0 };

/** Model k is wrong on sample i when (i·7 + k·3) mod period(k) = 0: better models have longer periods. */
function mask(count: number, k: number, period: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => ((i * 7 + k * 3) % period === 0 ? 0 : 1));
}

/** Probabilities consistent with the mask: 0.7 on the predicted class (true label, or the next class when wrong). */
function probsFor(labels: Int32Array, m: Uint8Array, numClasses: number): Float32Array {
  const p = new Float32Array(labels.length * numClasses).fill(0.3 / (numClasses - 1));
  labels.forEach((y, i) => (p[i * numClasses + (m[i] ? y : (y + 1) % numClasses)] = 0.7));
  return p;
}

/** The fitness parts the fixture records for a finished model of the finished run. */
export const fitnessParts = (m: { valAccuracy: number; generation: number }): { accuracy: number; size: number } => ({ accuracy: m.valAccuracy, size: -0.01 * (m.generation + 1) });

const accuracy = (m: Uint8Array): number => m.reduce((a, b) => a + b, 0) / m.length;

export function buildFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'loom-dashboard-'));
  const dbPath = join(dir, 'loom.db');
  const clock = { now: T0 };
  const store = Store.open(dbPath, { now: () => clock.now });
  const dataset = loadDataset('iris', { splitSeed: DATA.splitSeed });
  const task = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
  const archOptions = { dModels: [8, 16], numHeads: [2, 4], gridShapes: [{ rows: 1, cols: 1, name: '1x1 Mono' }, { rows: 2, cols: 2, name: '2x2 Standard' }], brainTypes: ['Dense', 'NormDense', 'MHA', 'RNN'] as const, brainDistribution: [0.4, 0.2, 0.2, 0.2] };

  const record = (s: Store, runId: string, arch: ArchConfig, k: number, generation: number, worker: string, trainMs: number): FixtureModel => {
    const period = 4 + ((k * 5) % 9); // accuracies between 3/4 and 12/13
    const valMask = mask(dataset.val.count, k, period);
    const testMask = mask(dataset.test.count, k + 1, period);
    const valAccuracy = accuracy(valMask);
    const testAccuracy = accuracy(testMask);
    const metrics: EpochMetrics[] = [1, 2, 3].map((epoch) => ({ epoch, loss: 1.2 / epoch, valLoss: 1.3 / epoch, accuracy: valAccuracy - 0.1 / epoch, valAccuracy: valAccuracy - 0.2 / epoch + 0.2 / 3, lr: 0.01, ms: trainMs / 3 }));
    const weights = encodeLoomModel(buildNetwork(arch, task, k), { modelId: arch.id });
    s.markModelRunning(runId, arch.id, worker);
    clock.now += trainMs;
    const result: ModelResult = {
      modelId: arch.id, metrics, worker, trainMs, valAccuracy, testAccuracy, numClasses: 3, paramCount: 100 + k * 37,
      valProbs: probsFor(dataset.val.y, valMask, 3), testProbs: probsFor(dataset.test.y, testMask, 3), valMask, testMask, weights,
    };
    s.recordResult(runId, result);
    s.appendEvent(runId, 'model-done', { kind: 'model-done', modelId: arch.id, valAccuracy, testAccuracy, trainMs, worker });
    return { modelId: arch.id, generation, arch, valAccuracy, testAccuracy, valMask, testMask, trainMs, worker };
  };

  // ── the finished run: 2 generations of 4, one model failed, one ensemble, one stored analysis ──
  const config = { name: 'iris-evo', seed: 11, data: DATA, population: 4, generations: 2, elite: 1, training: { epochs: 3, batchSize: 16 } };
  store.createRun({ id: FINISHED, name: 'iris-evo', config, seed: 11, dataRef: 'iris', dataChecksum: dataset.checksum, codeVersion: 'test' });
  const archs = generateConfigs(8, task, new Rng(5), archOptions, 'm');
  const finished: FixtureModel[] = [];
  for (const generation of [0, 1]) {
    const members = archs.slice(generation * 4, generation * 4 + 4);
    store.addGeneration(FINISHED, generation, { members: members.map((a) => a.id) });
    // Generation 1 is bred from the first two models of generation 0.
    const parentIds = generation === 0 ? [] : [(archs[0] as ArchConfig).id, (archs[1] as ArchConfig).id];
    store.addModels(FINISHED, members.map((a) => ({ modelId: a.id, generation, arch: a, seed: 1, parentIds })));
    store.appendEvent(FINISHED, 'generation-start', { kind: 'generation-start', generation, models: 4 });
    members.forEach((arch, j) => {
      const k = generation * 4 + j;
      if (k === 6) {
        store.markModelRunning(FINISHED, arch.id, 'w1');
        store.markModelFailed(FINISHED, arch.id, 'out of memory (synthetic)', 2);
        return;
      }
      const model = record(store, FINISHED, arch, k, generation, k % 2 ? 'w1' : 'w0', 400 + k * 50);
      // The search's fitness: accuracy minus a size cost (known parts, asserted on the model page).
      store.setFitness(FINISHED, model.modelId, fitnessParts(model).accuracy + fitnessParts(model).size, fitnessParts(model));
      finished.push(model);
    });
    clock.now += 1000;
    store.finishGeneration(FINISHED, generation, { members: members.map((a) => a.id) });
  }
  const ranked = [...finished].sort((a, b) => b.valAccuracy - a.valAccuracy || a.modelId.localeCompare(b.modelId));
  const [e1, e2, e3] = ranked as [FixtureModel, FixtureModel, FixtureModel];
  // The ensemble's accuracies are what a majority of three would get: stored as numbers, as the ensemble module does.
  const vote = (ms: Uint8Array[]) => accuracy(Uint8Array.from(ms[0] as Uint8Array, (_, i) => (ms.reduce((a, m) => a + (m[i] as number), 0) >= 2 ? 1 : 0)));
  const ensembleVal = vote([e1.valMask, e2.valMask, e3.valMask]);
  const ensembleTest = vote([e1.testMask, e2.testMask, e3.testMask]);
  const ensemble = store.addEnsemble(FINISHED, { method: 'greedy', members: [e1.modelId, e2.modelId, e3.modelId], weights: [0.5, 0.25, 0.25], valAccuracy: ensembleVal, testAccuracy: ensembleTest });
  store.addAnalysis(FINISHED, 'ensemble', { chosenEnsembleId: ensemble.id });
  store.finishRun(FINISHED, { bestModelId: e1.modelId });

  // ── the live run: one generation of 6, two done, the rest pending ──
  clock.now = T0 + 3_600_000;
  store.createRun({ id: LIVE, name: 'iris-live', config: { ...config, name: 'iris-live', population: 6, generations: 1 }, seed: 12, dataRef: 'iris', dataChecksum: dataset.checksum, codeVersion: 'test' });
  const liveArchs = generateConfigs(6, task, new Rng(9), archOptions, 'live-');
  store.addGeneration(LIVE, 0, { members: liveArchs.map((a) => a.id) });
  store.addModels(LIVE, liveArchs.map((a) => ({ modelId: a.id, generation: 0, arch: a })));
  store.appendEvent(LIVE, 'run-start', { kind: 'run-start', runId: LIVE, totalModels: 6, doneModels: 0, generations: 1 });
  const addLiveModel = (s: Store, index: number) => record(s, LIVE, liveArchs[index] as ArchConfig, 20 + index, 0, 'w0', 300);
  addLiveModel(store, 0);
  addLiveModel(store, 1);
  store.close();
  // The live run's coordinator holds the lease on the real clock (the dashboard reads it with Date.now()), so the
  // run shows as running, not stalled, for the length of the tests.
  const coordinator = Store.open(dbPath);
  coordinator.acquireRunLease(LIVE, 'fixture-coordinator', 3_600_000);
  coordinator.close();

  const writer = Store.open(dbPath, { now: () => clock.now });
  const addRun = (id: string, name: string, options: { data?: Record<string, unknown>; checksum?: string } = {}) => {
    writer.createRun({ id, name, config: { ...config, name, data: options.data ?? DATA }, seed: 13, dataRef: 'iris', dataChecksum: options.checksum ?? dataset.checksum, codeVersion: 'test' });
  };
  return {
    dir, dbPath, clock, addRun, liveModelIds: liveArchs.map((a) => a.id), finished, failedModelId: (archs[6] as ArchConfig).id, failedArch: archs[6] as ArchConfig, ensembleId: ensemble.id, ensembleTest, ensembleVal,
    valLabels: dataset.val.y, testLabels: dataset.test.y, classNames: dataset.classNames,
    writer,
    addLiveModel,
  };
}

export const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
