import { dataError } from '../engine/errors.js';
import { evaluate, type Evaluation } from '../engine/eval.js';
import type { Network } from '../engine/network.js';
import type { EpochMetrics as TrainEpoch } from '../engine/train/index.js';
import { trainWithMode } from '../engine/train/modes.js';
import { tensor } from '../engine/tensor.js';
import { buildNetwork } from '../search/build.js';
import { loadDataset, type Dataset } from '../data/index.js';
import type { DataSplit } from '../data/types.js';
import { encodeLoomModel } from '../engine/io/loom-format.js';
import type { EpochMetrics, ModelResult } from '../store/types.js';
import type { DataRef, JobProgress, TrainingJob } from '../search/jobs.js';

/**
 * The job function: (config, data, training settings, seed) → result. The same code runs in a local worker
 * thread and in a remote BullMQ worker. Pure apart from reading the data set, which is cached per process.
 */
const datasetCache = new Map<string, Dataset>();

/** Loads (once per process) the split a job names, refusing data whose checksum differs from the run's. */
export function loadJobData(ref: DataRef): Dataset {
  const key = JSON.stringify([ref.ref, ref.splitSeed, ref.limit ?? null, ref.fractions ?? null]);
  let dataset = datasetCache.get(key);
  if (!dataset) {
    dataset = loadDataset(ref.ref, {
      seed: ref.splitSeed,
      ...(ref.limit === undefined ? {} : { limit: ref.limit }),
      ...(ref.fractions === undefined ? {} : { fractions: ref.fractions }),
    });
    datasetCache.set(key, dataset);
  }
  if (dataset.checksum !== ref.checksum) {
    throw dataError(
      `${ref.ref}: this worker's data has checksum ${dataset.checksum.slice(0, 12)}…, the run's is ${ref.checksum.slice(0, 12)}…; refusing to train on different data`,
    );
  }
  return dataset;
}

const asTrainingData = (split: DataSplit, inputShape: readonly number[]) => ({
  x: tensor([split.count, ...inputShape], split.x),
  y: split.y,
});

const toStoreMetrics = (m: TrainEpoch): EpochMetrics => ({
  epoch: m.epoch,
  trainLoss: m.loss,
  trainAccuracy: m.accuracy,
  ...(m.valLoss === undefined ? {} : { valLoss: m.valLoss }),
  ...(m.valAccuracy === undefined ? {} : { valAccuracy: m.valAccuracy }),
  learningRate: m.lr,
  ms: m.ms,
});

export interface ProcessOptions {
  readonly worker: string;
  readonly onProgress?: (p: JobProgress) => void;
  readonly signal?: AbortSignal;
}

export async function processJob(job: TrainingJob, dataset: Dataset, options: ProcessOptions): Promise<ModelResult> {
  const started = Date.now();
  const task = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
  const network: Network = buildNetwork(job.arch, task, job.seed);
  const settings = job.training;
  const validation = asTrainingData(dataset.val, dataset.inputShape);
  const history = trainWithMode(network, asTrainingData(dataset.train, dataset.inputShape), {
    mode: settings.mode,
    epochs: settings.epochs,
    batchSize: settings.batchSize,
    learningRate: job.arch.learningRate,
    optimizer: { name: settings.optimizer, weightDecay: settings.weightDecay },
    schedule: settings.scheduler,
    ...(settings.clipNorm ? { clipNorm: settings.clipNorm } : {}),
    seed: job.seed,
    validation,
    ...(settings.patience > 0 ? { earlyStopping: { monitor: 'valAccuracy' as const, patience: settings.patience } } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onEpoch: (m) =>
      options.onProgress?.({
        modelId: job.modelId,
        epoch: m.epoch,
        epochs: settings.epochs,
        loss: m.loss,
        ...(m.valAccuracy === undefined ? {} : { valAccuracy: m.valAccuracy }),
      }),
  }).history;
  const valEval: Evaluation = evaluate(network, validation);
  const testEval: Evaluation = evaluate(network, asTrainingData(dataset.test, dataset.inputShape));
  const weights = encodeLoomModel(network, {
    dtype: 'float32',
    modelId: job.modelId,
    metadata: { runId: job.runId, generation: String(job.generation), dataChecksum: dataset.checksum },
  });
  return {
    modelId: job.modelId,
    metrics: history.map(toStoreMetrics),
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
