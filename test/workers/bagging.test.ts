import type { SandboxedJob } from 'bullmq';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/eval.js';
import { decodeModels, pickModel } from '../../src/engine/io/model.js';
import { deriveSeed, Rng } from '../../src/engine/rng.js';
import { gather, loadDataset, splitTensors, type FoldIndices, type LoadedDataset } from '../../src/data/index.js';
import { finishConfig, generateConfigs, searchSpace, STANDARD_GRID_SHAPES, withTrainingGenes, type ArchConfig } from '../../src/search/arch.js';
import { buildNetwork } from '../../src/search/build.js';
import { DEFAULT_TRAINING } from '../../src/search/config.js';
import type { JobProgress, TrainingJob } from '../../src/search/jobs.js';
import { curveOf, prunedAt } from '../../src/search/pruners.js';
import type { ModelResult } from '../../src/store/types.js';
import { meanCurve } from '../../src/workers/bagging.js';
import { fitJobNetwork } from '../../src/workers/fit.js';
import { parentFoldNetworks } from '../../src/workers/warm-start.js';
import { maxParamGap } from '../helpers/params.js';
import { ensembleMembers } from '../../src/ensemble/graft.js';
import type { Network } from '../../src/engine/network.js';
import { processJob } from '../../src/workers/processor.js';
import processTrainingJob from '../../src/workers/sandbox.js';
import { decodeResult, type WireResult } from '../../src/workers/wire.js';

const K = 3;
const EPOCHS = 6;
let dataset: LoadedDataset;
let job: TrainingJob;
let result: ModelResult;

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

function irisArch(data: LoadedDataset): ArchConfig {
  const task = { inputShape: data.inputShape, numClasses: data.numClasses };
  const [base] = generateConfigs(1, task, new Rng(3), searchSpace(task, { dModels: [8], gridShapes: [STANDARD_GRID_SHAPES[0]!], maxBrains: 1, lrMin: 0.01, lrMax: 0.02 }));
  const { name: _n, species: _s, mutationStr: _m, numBrains: _b, brainNames: _bn, ...genes } = base!;
  return finishConfig({ ...genes, epochs: EPOCHS, batchSize: 16, dropout: 0, labelSmoothing: 0 });
}

/** Fold f's network rebuilt independently: the job's architecture and fold seeds, trained on every fold but f. */
function rebuildFold(f: number) {
  const fold = (dataset.folds as FoldIndices[])[f] as FoldIndices;
  const seed = deriveSeed(job.seed, 'fold', f);
  const network = buildNetwork(job.arch, { inputShape: dataset.inputShape, numClasses: dataset.numClasses }, deriveSeed(seed, 'init'));
  const heldOut = splitTensors(dataset, gather(dataset.train, fold.val));
  const fit = fitJobNetwork(job, withTrainingGenes(job.training, job.arch), network, splitTensors(dataset, gather(dataset.train, fold.train)), heldOut, { seed: deriveSeed(seed, 'train'), prune: false });
  return { fold, network, history: fit.history, heldOut: evaluate(network, heldOut).probabilities, test: evaluate(network, splitTensors(dataset, dataset.test)).probabilities };
}

beforeAll(async () => {
  dataset = loadDataset('iris', { splitSeed: 2, kfold: K });
  job = {
    runId: 'r', modelId: 'm1', generation: 0, arch: irisArch(dataset),
    data: { ref: 'iris', checksum: dataset.checksum, splitSeed: 2, kfold: K },
    training: { ...DEFAULT_TRAINING, epochs: EPOCHS }, seed: 11,
  };
  result = await processJob(job, dataset, { worker: 'test' });
}, 60_000);

describe('a bagged (k-fold) job', () => {
  it('predicts each validation row with the fold network that did not train on it', () => {
    const c = dataset.numClasses;
    expect(result.valProbs.length).toBe(dataset.val.count * c);
    for (let f = 0; f < K; f++) {
      const rebuilt = rebuildFold(f);
      expect(rebuilt.fold.train.some((i) => rebuilt.fold.val.includes(i))).toBe(false);
      rebuilt.fold.val.forEach((row, r) => {
        const stored = result.valProbs.subarray(row * c, (row + 1) * c);
        expect(maxDiff(stored, rebuilt.heldOut.subarray(r * c, (r + 1) * c))).toBeLessThan(1e-6);
      });
    }
  });

  it('stores one network, the equal-weight bag of the folds, whose test predictions are the folds\' mean', () => {
    const folds = Array.from({ length: K }, (_, f) => rebuildFold(f));
    const mean = Float32Array.from(result.testProbs, (_, i) => folds.reduce((a, g) => a + (g.test[i] as number), 0) / K);
    expect(maxDiff(result.testProbs, mean)).toBeLessThan(1e-6);
    const decoded = pickModel(decodeModels(result.weights));
    expect(decoded.modelId).toBe('m1');
    expect(decoded.metadata?.folds).toBe(String(K));
    // Each fold network was temperature-calibrated on its own held-out fold.
    expect(String(decoded.metadata?.temperatures).split(',').map(Number).every((t) => t > 0)).toBe(true);
    expect(String(decoded.metadata?.temperatures).split(',')).toHaveLength(K);
    const stored = evaluate(decoded.network, splitTensors(dataset, dataset.test));
    expect(maxDiff(stored.probabilities, result.testProbs)).toBeLessThan(1e-5);
    expect(stored.accuracy).toBe(result.testAccuracy);
    expect(result.paramCount).toBe(decoded.network.paramCount());
    // Metrics are the per-epoch mean of the folds' curves.
    expect(result.metrics).toHaveLength(EPOCHS);
    const expected = meanCurve(folds.map((g) => g.history));
    result.metrics.forEach((m, e) => {
      expect(m.valAccuracy).toBeCloseTo(expected[e]?.valAccuracy as number, 10);
      expect(m.loss).toBeCloseTo(expected[e]?.loss as number, 10);
    });
  });

  it('reports masks and accuracies of the out-of-fold and mean predictions', () => {
    const c = dataset.numClasses;
    const argmax = (p: Float32Array, r: number): number => {
      const row = Array.from(p.subarray(r * c, (r + 1) * c));
      return row.indexOf(Math.max(...row));
    };
    expect(Array.from(result.valMask)).toEqual(Array.from(dataset.val.y, (y, r) => Number(argmax(result.valProbs, r) === y)));
    expect(Array.from(result.testMask)).toEqual(Array.from(dataset.test.y, (y, r) => Number(argmax(result.testProbs, r) === y)));
    expect(result.valAccuracy).toBeCloseTo(result.valMask.reduce((a, v) => a + v, 0) / dataset.val.count, 12);
    expect(result.valAccuracy).toBeGreaterThan(0.7);
  });

  it('is pruned on fold 0\'s curve: a stopped bag returns fold 0 alone, and the coordinator\'s check agrees', async () => {
    const stopBelow = [{ epoch: 2, minValAccuracy: 1.01 }];
    const progress: JobProgress[] = [];
    const pruned = await processJob({ ...job, stopBelow }, dataset, { worker: 'test', onProgress: (p) => progress.push(p) });
    expect(pruned.metrics).toHaveLength(2);
    expect(prunedAt(curveOf(pruned.metrics), stopBelow)).toBe(2);
    // Only fold 0 trained: progress never went past its epochs (epoch 2, where it stopped, is not reported: a job
    // reports a point only once it goes on from it), and the bag holds one network.
    expect(progress.map((p) => p.epoch)).toEqual([1]);
    expect(progress[0]?.epochs).toBe(K * EPOCHS);
    // Its accuracy is fold 0's on its held-out rows where it stopped; nothing else of it is scored or stored.
    expect(pruned.valAccuracy).toBe(pruned.metrics[1]?.valAccuracy);
    expect([pruned.valProbs.length, pruned.testProbs.length, pruned.weights.length]).toEqual([0, 0, 0]);
    expect(pruned.paramCount).toBeLessThan(result.paramCount);
  });

  it('keeps its folds when it crosses Redis: the remote worker\'s processor rebuilds the same bag', async () => {
    const remote = (data: unknown) => processTrainingJob({ data, updateProgress: async () => {} } as unknown as SandboxedJob<TrainingJob, WireResult>);
    const wire = await remote(JSON.parse(JSON.stringify(job)));
    const back = decodeResult(wire, 'm1');
    expect(back.valProbs.length).toBe(result.valProbs.length);
    expect(maxDiff(back.valProbs, result.valProbs)).toBe(0);
    expect(maxDiff(back.testProbs, result.testProbs)).toBe(0);
    await expect(remote({ ...job, data: { ...job.data, kfold: 1 } })).rejects.toThrow(/data\.kfold/);
  });
});

describe('a warm-started (inheriting) bagged job', () => {
  /** The fold networks of a bag's stored file, each as training left it (uncalibrated), by fold. */
  const storedFolds = (r: ModelResult): Network[] => parentFoldNetworks({ modelId: r.modelId, weights: Buffer.from(r.weights).toString('base64') });
  const gap = (a: Network, b: Network): number => maxParamGap(a.params(), b.params());
  /** A child of `parent` that trains too slowly to move (and is not calibrated), so its folds show where they started. */
  const child = (parent: ModelResult | null) =>
    processJob(
      {
        ...job,
        modelId: 'c1',
        seed: 12,
        arch: { ...job.arch, learningRate: 1e-7, epochs: 1 },
        training: { ...job.training, epochs: 1, calibration: 'none' },
        ...(parent ? { warmStart: { modelId: parent.modelId, weights: Buffer.from(parent.weights).toString('base64') } } : {}),
      },
      dataset,
      { worker: 'test' },
    );

  it("starts fold network f from the parent's fold network f, with the parent's temperature taken back out", async () => {
    const parentFile = pickModel(decodeModels(result.weights));
    const temperatures = String(parentFile.metadata?.temperatures).split(',').map(Number);
    expect(temperatures.some((t) => Math.abs(t - 1) > 0.05)).toBe(true);
    const parents = storedFolds(result);
    expect(parents).toHaveLength(K);
    const warm = await child(result);
    expect(pickModel(decodeModels(warm.weights)).metadata?.inheritedFrom).toBe('m1');
    const children = storedFolds(warm);
    for (let f = 0; f < K; f++) {
      expect(gap(children[f]!, parents[f]!)).toBeLessThan(1e-4);
      // Not some other fold's network (each trained on fold f's rows), and not the calibrated one.
      expect(gap(children[f]!, parents[(f + 1) % K]!)).toBeGreaterThan(1e-2);
    }
    const calibrated = ensembleMembers(parentFile.network)!;
    const scaled = temperatures.findIndex((t) => Math.abs(t - 1) > 0.05);
    expect(gap(children[scaled]!, calibrated[scaled]!.network)).toBeGreaterThan(1e-3);
  }, 60_000);

  it('a fold the parent never trained (a bag stopped after fold 0) starts from its own init', async () => {
    // Interrupted once fold 0 has trained: the bag holds fold 0 alone.
    const stop = new AbortController();
    const onProgress = (p: JobProgress): void => {
      if (p.epoch === EPOCHS) stop.abort();
    };
    const stopped = await processJob({ ...job, modelId: 'p0' }, dataset, { worker: 'test', signal: stop.signal, onProgress });
    const parents = storedFolds(stopped);
    expect(parents).toHaveLength(1);
    const [warm, cold] = [storedFolds(await child(stopped)), storedFolds(await child(null))];
    expect(gap(warm[0]!, parents[0]!)).toBeLessThan(1e-4);
    expect(gap(cold[0]!, parents[0]!)).toBeGreaterThan(1e-2);
    for (let f = 1; f < K; f++) expect(gap(warm[f]!, cold[f]!)).toBe(0);
  }, 60_000);

  it('refuses to cross a single-split parent with a k-fold job, and the reverse', async () => {
    const plain = loadDataset('iris', { splitSeed: 2 });
    // processJob trains on the data set it is given: the plain split makes a single-split job.
    const single = await processJob({ ...job, modelId: 's1' }, plain, { worker: 'test' });
    await expect(child(single)).rejects.toThrow(/parent s1 is not a k-fold bag/);
    const fromBag = { ...job, modelId: 'c2', warmStart: { modelId: 'm1', weights: Buffer.from(result.weights).toString('base64') } };
    await expect(processJob(fromBag, plain, { worker: 'test' })).rejects.toThrow(/parent m1 is a k-fold bag/);
  }, 60_000);
});
