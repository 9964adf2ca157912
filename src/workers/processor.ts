import { dataError, LoomError } from '../engine/errors.js';
import { evaluate, type Evaluation } from '../engine/eval.js';
import type { Network } from '../engine/network.js';
import { deriveSeed } from '../engine/rng.js';
import { withTrainingGenes } from '../search/arch.js';
import { buildNetwork } from '../search/build.js';
import { dataOptions, loadDataset, splitTensors, type LoadedDataset } from '../data/index.js';
import type { ModelResult } from '../store/types.js';
import type { DataRef, TrainingJob } from '../search/jobs.js';
import { inheritMatchingWeights } from '../engine/io/weights.js';
import { encodeTrainState } from '../engine/train/state.js';
import { processBaggedJob } from './bagging.js';
import { parentNetwork, resumePoint, temperatureMetadata } from './warm-start.js';
import { assertFiniteProbabilities, encodeJobModel, fitJobNetwork, prunedResult, type ProcessOptions } from './fit.js';

export type { ProcessOptions } from './fit.js';

/**
 * The job function: (config, data, training settings, seed) → result. The same code runs in a local worker
 * thread and in a remote BullMQ worker. Pure apart from reading the data set, which is cached per process.
 */
const datasetCache = new Map<string, LoadedDataset>();

/** Loads (once per process) the split a job names, refusing data whose checksum differs from the run's. */
export function loadJobData(ref: DataRef): LoadedDataset {
  const options = dataOptions(ref);
  const key = JSON.stringify([ref.ref, options]);
  let dataset = datasetCache.get(key);
  if (!dataset) {
    dataset = loadDataset(ref.ref, options);
    datasetCache.set(key, dataset);
  }
  if (dataset.checksum !== ref.checksum) {
    throw dataError(
      `${ref.ref}: this worker's data has checksum ${dataset.checksum.slice(0, 12)}…, the run's is ${ref.checksum.slice(0, 12)}…; refusing to train on different data`,
    );
  }
  return dataset;
}

/**
 * Trains and evaluates one job. Weight init and training noise (shuffling, dropout) draw from separate streams
 * derived from the job's seed, so a change in how training consumes randomness never changes the initial weights.
 * A job with a warmStart starts from its parent's weights where they fit (the rest from its own init).
 * A k-fold data set (dataset.folds) trains a bag of fold networks instead (bagging.ts).
 */
export async function processJob(job: TrainingJob, dataset: LoadedDataset, options: ProcessOptions): Promise<ModelResult> {
  if (dataset.folds) {
    if (job.pauseAt !== undefined || job.resumeFrom) throw new LoomError('LOOM_ERR_CONFIG', `model ${job.modelId}: a k-fold job cannot pause or resume`);
    return processBaggedJob(job, dataset, dataset.folds, options);
  }
  if (job.resumeFrom && job.warmStart) throw new LoomError('LOOM_ERR_CONFIG', `model ${job.modelId}: a job resumes a paused run or inherits weights, not both`);
  const started = Date.now();
  const task = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
  const network: Network = buildNetwork(job.arch, task, deriveSeed(job.seed, 'init'));
  // Every param whose name and shape match the parent's (uncalibrated, warm-start.ts) is copied; the rest keep their init.
  if (job.warmStart) inheritMatchingWeights(network, parentNetwork(job.warmStart));
  // A resumed run takes every param back from where it paused (all of them, or it is not the same model).
  const resume = job.resumeFrom ? resumePoint(network, job.resumeFrom) : undefined;
  // The model's own training genes (epochs, batch size, weight decay) override the run's settings.
  const settings = withTrainingGenes(job.training, job.arch);
  const validation = splitTensors(dataset, dataset.val);
  const { history, calibration, pruned, paused } = fitJobNetwork(job, settings, network, splitTensors(dataset, dataset.train), validation, {
    seed: deriveSeed(job.seed, 'train'),
    prune: true,
    ...(job.pauseAt === undefined ? {} : { pauseAt: job.pauseAt }),
    ...(resume ? { resume: resume.state } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onEpoch: (m) =>
      options.onProgress?.({
        modelId: job.modelId,
        epoch: m.epoch,
        epochs: settings.epochs,
        loss: m.loss,
        ...(m.valAccuracy === undefined ? {} : { valAccuracy: m.valAccuracy }),
      }),
  });
  if (pruned) return prunedResult(job, history, network.paramCount(), dataset.numClasses, options.worker, started);
  if (paused) {
    // Like a pruned result (a curve, no test predictions), plus what a later job resumes from (the network and the
    // state) and its validation predictions at the pause, which a search breeds paused models by (NES fitness).
    assertFiniteProbabilities(job, paused.validation.probabilities);
    return {
      ...prunedResult(job, history, network.paramCount(), dataset.numClasses, options.worker, started),
      valProbs: paused.validation.probabilities,
      valMask: paused.validation.correctnessMask,
      weights: encodeJobModel(network, job, dataset, resume?.inherited ?? {}),
      weightsFormat: 'loom',
      paused: encodeTrainState(paused.state),
    };
  }
  const valEval: Evaluation = evaluate(network, validation);
  const testEval: Evaluation = evaluate(network, splitTensors(dataset, dataset.test));
  assertFiniteProbabilities(job, valEval.probabilities, testEval.probabilities);
  const weights = encodeJobModel(network, job, dataset, { ...resume?.inherited, ...temperatureMetadata(calibration?.applied ? calibration.temperature : null) });
  return {
    modelId: job.modelId,
    metrics: history,
    valProbs: valEval.probabilities,
    testProbs: testEval.probabilities,
    valMask: valEval.correctnessMask,
    testMask: testEval.correctnessMask,
    weights,
    weightsFormat: 'loom',
    paramCount: network.paramCount(),
    trainMs: Date.now() - started,
    worker: options.worker,
    valAccuracy: valEval.accuracy,
    testAccuracy: testEval.accuracy,
    numClasses: dataset.numClasses,
  };
}
