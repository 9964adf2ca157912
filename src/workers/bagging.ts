import { evaluate, type Dataset } from '../engine/eval.js';
import type { Network } from '../engine/network.js';
import { inheritMatchingWeights } from '../engine/io/weights.js';
import { deriveSeed } from '../engine/rng.js';
import type { EpochMetrics } from '../engine/train/index.js';
import { gather, outOfFold, splitTensors, type FoldIndices, type LoadedDataset } from '../data/index.js';
import { graftEnsemble } from '../ensemble/graft.js';
import { correctnessMask, maskAccuracy } from '../ensemble/masks.js';
import { combineProbabilities } from '../ensemble/select.js';
import { withTrainingGenes } from '../search/arch.js';
import { buildNetwork } from '../search/build.js';
import type { TrainingJob } from '../search/jobs.js';
import type { ModelResult } from '../store/types.js';
import { assertFiniteProbabilities, encodeJobModel, fitJobNetwork, prunedResult, type ProcessOptions } from './fit.js';
import { foldTemperaturesMetadata, parentFoldNetworks } from './warm-start.js';

/**
 * A job on a k-fold data set (data.kfold, dataset.folds): a bag of k networks of the job's architecture, as
 * bagged ensembles are built. Fold network f trains on every fold but f (its seed is deriveSeed(job seed, 'fold',
 * f), split into the usual 'init' and 'train' streams), validates and is temperature-calibrated on fold f. With a
 * warm start (a config's `inherit`), fold network f starts from the parent bag's fold network f, which never trained
 * on fold f either, so the out-of-fold predictions stay out of fold; a fold the parent never trained (a stopped bag)
 * starts from its own init.
 *
 * - valProbs: out-of-fold predictions — each row predicted by the one fold network that did not train on it — in
 *   the order of dataset.val, so evolution and ensemble selection read them like any validation predictions.
 * - testProbs: the mean of the fold networks' test probabilities.
 * - weights: the fold networks grafted into one network with equal weights (ensemble/graft.ts), whose
 *   predictions are that mean; a graft of such bags flattens them.
 * - metrics: per epoch, the mean over folds of each fold's metrics (ms: their sum, the epoch's cost).
 *
 * Pruning is judged on fold 0's curve while it trains: folds train one after another, so a fold-mean curve exists
 * only once every fold has trained, when stopping saves nothing. A bag stopped there returns fold 0's curve and
 * nothing else (fit.ts prunedResult), which the coordinator, checking it against the same thresholds, marks pruned.
 * An interrupted bag is the folds trained so far: its metrics are their mean curve, rows of untrained folds get the
 * trained networks' (in-sample) mean, and its valAccuracy counts only out-of-fold rows. A complete bag is judged by
 * the coordinator on its fold-mean curve.
 */
export async function processBaggedJob(job: TrainingJob, dataset: LoadedDataset, folds: readonly FoldIndices[], options: ProcessOptions): Promise<ModelResult> {
  const started = Date.now();
  const task = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
  const settings = withTrainingGenes(job.training, job.arch);
  const classes = dataset.numClasses;
  const test = splitTensors(dataset, dataset.test);
  const parents = job.warmStart ? parentFoldNetworks(job.warmStart) : [];
  const trained: FoldModel[] = [];
  for (const [f, fold] of folds.entries()) {
    const seed = deriveSeed(job.seed, 'fold', f);
    const network = buildNetwork(job.arch, task, deriveSeed(seed, 'init'));
    const parent = parents[f];
    if (parent) inheritMatchingWeights(network, parent);
    network.modelId = `${job.modelId}/fold${f}`;
    const validation = splitTensors(dataset, gather(dataset.train, fold.val));
    const fit = fitJobNetwork(job, settings, network, splitTensors(dataset, gather(dataset.train, fold.train)), validation, {
      seed: deriveSeed(seed, 'train'),
      prune: f === 0,
      ...(options.signal ? { signal: options.signal } : {}),
      onEpoch: (m) =>
        options.onProgress?.({
          modelId: job.modelId,
          epoch: f * settings.epochs + m.epoch,
          epochs: folds.length * settings.epochs,
          loss: m.loss,
          ...(m.valAccuracy === undefined ? {} : { valAccuracy: m.valAccuracy }),
        }),
    });
    // A bag is pruned on fold 0's curve: then it is no ensemble candidate, and nothing of it is scored (fit.ts).
    if (fit.pruned) return prunedResult(job, fit.history, network.paramCount(), classes, options.worker, started);
    const heldOut = evaluate(network, validation).probabilities;
    const testProbs = evaluate(network, test).probabilities;
    assertFiniteProbabilities(job, heldOut, testProbs);
    trained.push({ network, history: fit.history, heldOut, testProbs, temperature: fit.calibration?.applied ? fit.calibration.temperature : null });
    if (fit.pruned || options.signal?.aborted) break;
  }

  const valProbs =
    trained.length === folds.length
      ? outOfFold(trained.map((t) => t.heldOut), folds, dataset.val.count, classes)
      : partialValidation(trained, folds, splitTensors(dataset, dataset.val), classes);
  const outOfFoldRows = trained.flatMap((_, f) => Array.from((folds[f] as FoldIndices).val));
  const equal = trained.map(() => 1 / trained.length);
  const testProbs = combineProbabilities(trained.map((t) => t.testProbs), trained.map((_, f) => f), equal);
  const valMask = correctnessMask(valProbs, dataset.val.y, classes);
  const testMask = correctnessMask(testProbs, dataset.test.y, classes);
  const bag = graftEnsemble(trained.map((t) => ({ network: t.network, weight: 1 })));
  // Each fold's temperature: what a child inheriting fold f divides back out.
  const weights = encodeJobModel(bag, job, dataset, { folds: String(folds.length), ...foldTemperaturesMetadata(trained.map((t) => t.temperature)) });
  return {
    modelId: job.modelId,
    metrics: meanCurve(trained.map((t) => t.history)),
    valProbs,
    testProbs,
    valMask,
    testMask,
    weights,
    weightsFormat: 'loom',
    paramCount: bag.paramCount(),
    trainMs: Date.now() - started,
    worker: options.worker,
    valAccuracy: outOfFoldRows.reduce((a, i) => a + (valMask[i] as number), 0) / outOfFoldRows.length,
    testAccuracy: maskAccuracy(testMask),
    numClasses: classes,
  };
}

interface FoldModel {
  readonly network: Network;
  readonly history: EpochMetrics[];
  /** Class probabilities of the fold's own validation rows, in the fold's order. */
  readonly heldOut: Float32Array;
  readonly testProbs: Float32Array;
  readonly temperature: number | null;
}

/** A stopped bag's validation rows: out-of-fold where a trained network held the row out, else the trained networks' mean. */
function partialValidation(trained: readonly FoldModel[], folds: readonly FoldIndices[], rows: Dataset, classes: number): Float32Array {
  const all = trained.map((t) => evaluate(t.network, rows).probabilities);
  const out = combineProbabilities(all, all.map((_, f) => f), all.map(() => 1 / all.length));
  trained.forEach((t, f) => {
    (folds[f] as FoldIndices).val.forEach((i, r) => out.set(t.heldOut.subarray(r * classes, (r + 1) * classes), i * classes));
  });
  return out;
}

/**
 * Per epoch, the mean over the folds that reached it (early stopping can end folds at different epochs) of loss,
 * accuracy, validation loss and accuracy and learning rate; ms is their sum. A mid-epoch pruning check (fold 0's
 * alone) is an epoch of its own.
 */
export function meanCurve(histories: readonly (readonly EpochMetrics[])[]): EpochMetrics[] {
  const epochs = [...new Set(histories.flatMap((h) => h.map((m) => m.epoch)))].sort((a, b) => a - b);
  return epochs.map((epoch) => {
    const rows = histories.map((h) => h.find((m) => m.epoch === epoch)).filter((m): m is EpochMetrics => m !== undefined);
    const mean = (pick: (m: EpochMetrics) => number | undefined): number | undefined => {
      const values = rows.map(pick).filter((v): v is number => v !== undefined);
      return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
    };
    const valLoss = mean((m) => m.valLoss);
    const valAccuracy = mean((m) => m.valAccuracy);
    return {
      epoch,
      loss: mean((m) => m.loss) as number,
      accuracy: mean((m) => m.accuracy) as number,
      ...(valLoss === undefined ? {} : { valLoss }),
      ...(valAccuracy === undefined ? {} : { valAccuracy }),
      lr: mean((m) => m.lr) as number,
      ms: rows.reduce((a, m) => a + m.ms, 0),
    };
  });
}
