import { dataError, LoomError } from '../engine/errors.js';
import { evaluate, type Evaluation } from '../engine/eval.js';
import type { Network } from '../engine/network.js';
import { deriveSeed } from '../engine/rng.js';
import { trainWithMode } from '../engine/train/modes.js';
import { withTrainingGenes } from '../search/arch.js';
import { buildNetwork } from '../search/build.js';
import { labelSmoothingCrossEntropy } from '../engine/train/smoothing.js';
import { dataOptions, loadDataset, splitTensors, type LoadedDataset } from '../data/index.js';
import { encodeLoomModel } from '../engine/io/loom-format.js';
import type { ModelResult } from '../store/types.js';
import type { DataRef, JobProgress, TrainingJob } from '../search/jobs.js';

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

export interface ProcessOptions {
  readonly worker: string;
  readonly onProgress?: (p: JobProgress) => void;
  readonly signal?: AbortSignal;
}

/**
 * Trains and evaluates one job. Weight init and training noise (shuffling, dropout) draw from separate streams
 * derived from the job's seed, so a change in how training consumes randomness never changes the initial weights.
 */
export async function processJob(job: TrainingJob, dataset: LoadedDataset, options: ProcessOptions): Promise<ModelResult> {
  const started = Date.now();
  const task = { inputShape: dataset.inputShape, numClasses: dataset.numClasses };
  const network: Network = buildNetwork(job.arch, task, deriveSeed(job.seed, 'init'));
  // The model's own training genes (epochs, batch size, weight decay) override the run's settings.
  const settings = withTrainingGenes(job.training, job.arch);
  const validation = splitTensors(dataset, dataset.val);
  // Pruning (search/pruners.ts): stop after an epoch whose best validation accuracy so far is below its threshold.
  const pruning = job.stopBelow && job.stopBelow.length > 0 ? new AbortController() : null;
  let bestVal = -Infinity;
  const signal = pruning ? (options.signal ? AbortSignal.any([options.signal, pruning.signal]) : pruning.signal) : options.signal;
  const history = trainWithMode(network, splitTensors(dataset, dataset.train), {
    mode: settings.mode,
    epochs: settings.epochs,
    batchSize: settings.batchSize,
    learningRate: job.arch.learningRate,
    optimizer: { name: settings.optimizer, weightDecay: settings.weightDecay },
    schedule: settings.scheduler,
    ...(job.arch.labelSmoothing ? { loss: labelSmoothingCrossEntropy(job.arch.labelSmoothing) } : {}),
    ...(settings.clipNorm ? { clipNorm: settings.clipNorm } : {}),
    seed: deriveSeed(job.seed, 'train'),
    validation,
    ...(settings.patience > 0 ? { earlyStopping: { monitor: 'valAccuracy' as const, patience: settings.patience } } : {}),
    ...(signal ? { signal } : {}),
    onEpoch: (m) => {
      options.onProgress?.({
        modelId: job.modelId,
        epoch: m.epoch,
        epochs: settings.epochs,
        loss: m.loss,
        ...(m.valAccuracy === undefined ? {} : { valAccuracy: m.valAccuracy }),
      });
      if (pruning && m.valAccuracy !== undefined) {
        bestVal = Math.max(bestVal, m.valAccuracy);
        const rung = job.stopBelow?.find((t) => t.epoch === m.epoch);
        if (rung && bestVal < rung.minValAccuracy) pruning.abort();
      }
    },
  }).history;
  const valEval: Evaluation = evaluate(network, validation);
  const testEval: Evaluation = evaluate(network, splitTensors(dataset, dataset.test));
  // A diverged network can end an epoch with a finite loss yet output NaN: that model failed, it is no result.
  if (!valEval.probabilities.every(Number.isFinite) || !testEval.probabilities.every(Number.isFinite)) {
    throw new LoomError('LOOM_ERR_NAN_LOSS', `model ${job.modelId} outputs non-finite probabilities after training (it diverged): lower the learning rate or set clipNorm`);
  }
  const weights = encodeLoomModel(network, {
    dtype: 'float32',
    modelId: job.modelId,
    metadata: { runId: job.runId, generation: String(job.generation), dataChecksum: dataset.checksum },
  });
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
