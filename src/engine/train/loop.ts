import type { Backend } from '../backend/types.js';
import type { Dataset } from '../eval.js';
import type { RunContext } from '../layers/types.js';
import type { Network } from '../network.js';
import { sampleSize } from '../tensor.js';
import { clipGradNorm } from './clip.js';
import { assertFiniteLoss, checkedLearningRate, positiveInt, runEpochs, scaleInPlace, type EpochTotals } from './epochs.js';
import { gatherTargets, type Loss, type LossName } from './losses.js';
import { createOptimizer, type Optimizer, type OptimizerName, type OptimizerSpec } from './optimizers.js';
import { makeSchedule, type Schedule, type ScheduleSpec } from './schedulers.js';

export interface EarlyStopping {
  /** What must improve: validation loss (lower, the default) or validation accuracy (higher). */
  readonly monitor?: 'valLoss' | 'valAccuracy';
  /** Stop once this many epochs have passed since the best validation. */
  readonly patience: number;
  /** An improvement smaller than this does not count (default 0). */
  readonly minDelta?: number;
  /** Put the best validated weights back when training ends (default true). */
  readonly restoreBest?: boolean;
}

/** One line of training history: what progress bars and dashboards show. Accuracies are fractions in [0, 1]. */
export interface EpochMetrics {
  /** 1-based. */
  readonly epoch: number;
  /** Mean training loss over the epoch's samples (measured during the epoch, in training mode). */
  readonly loss: number;
  readonly accuracy: number;
  /** Present on the epochs where validation ran. */
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  /** Learning rate of the epoch's last optimizer step. */
  readonly lr: number;
  /** Wall time of the epoch, validation included. */
  readonly ms: number;
}

export interface TrainOptions {
  readonly epochs: number;
  /** Samples per micro-batch (default 32). */
  readonly batchSize?: number;
  /** Base (peak) learning rate (default 0.001). */
  readonly learningRate?: number;
  /** Default AdamW. */
  readonly optimizer?: Optimizer | OptimizerSpec | OptimizerName;
  /** Default constant. A JSON spec is built over the run's total optimizer steps. */
  readonly schedule?: Schedule | ScheduleSpec | ScheduleSpec['type'];
  /** Default 'auto': cross-entropy for class indices, MSE for target tensors (see losses.ts). */
  readonly loss?: LossName | Loss;
  /** Global gradient-norm clipping threshold (off when unset or 0). */
  readonly clipNorm?: number;
  /** Micro-batches whose gradients are summed, sample-weighted, into one optimizer step (default 1). */
  readonly accumulate?: number;
  /** Seeds shuffling and the training-mode noise (default 0). */
  readonly seed?: number;
  /** Reshuffle the samples every epoch (default true). */
  readonly shuffle?: boolean;
  readonly validation?: Dataset;
  /** Validate every N epochs (default 1); the last epoch is always validated. */
  readonly validateEvery?: number;
  /** Needs `validation`. */
  readonly earlyStopping?: EarlyStopping;
  readonly onEpoch?: (metrics: EpochMetrics) => void;
  /** Checked between optimizer steps; training stops with stopReason 'aborted'. */
  readonly signal?: AbortSignal;
  readonly backend?: Backend;
  /** Batch size for validation inference (default 256). */
  readonly evalBatchSize?: number;
}

export interface TrainResult {
  readonly history: EpochMetrics[];
  readonly stopReason: 'completed' | 'early_stopping' | 'aborted';
  /** Epoch of the best validation (the one early stopping restored), when validation ran. */
  readonly bestEpoch?: number;
  readonly lossName: string;
  readonly steps: number;
  readonly ms: number;
  readonly samplesPerSecond: number;
}

/**
 * Trains a network with mini-batch gradient descent. Each epoch visits every sample once in a seeded random
 * order; `accumulate` micro-batches make one optimizer step, their gradients summed with weights
 * (micro-batch size / step size) so the step equals one big batch of the same samples. A NaN or infinite loss
 * stops training with LOOM_ERR_NAN_LOSS naming the epoch and batch. The epoch loop itself (shuffling,
 * validation, early stopping, history) is `runEpochs`, shared with the stepping and tweening modes.
 */
export function train(network: Network, data: Dataset, options: TrainOptions): TrainResult {
  const epochs = positiveInt('epochs', options.epochs);
  const batchSize = positiveInt('batchSize', options.batchSize ?? 32);
  const accumulate = positiveInt('accumulate', options.accumulate ?? 1);
  const baseLr = checkedLearningRate(options);
  const optimizer = options.optimizer === undefined || typeof options.optimizer === 'string' || !('step' in options.optimizer)
    ? createOptimizer(options.optimizer ?? 'adamw')
    : options.optimizer;
  const samples = data.x.shape[0] as number;
  const totalSteps = epochs * Math.ceil(Math.ceil(samples / batchSize) / accumulate);
  const schedule = typeof options.schedule === 'function' ? options.schedule : makeSchedule(options.schedule ?? 'constant', baseLr, totalSteps);
  const inWidth = sampleSize(data.x);
  const inputBuffers = new Map<number, Float32Array>();
  let step = 0;

  return runEpochs(network, data, options, (order, epoch, run) => {
    const ctx: Partial<RunContext> = { training: true, rng: run.rng, ...(options.backend ? { backend: options.backend } : {}) };
    const totals: EpochTotals = { lossSum: 0, correct: 0, rows: 0, lr: schedule(step), steps: 0, aborted: false };
    for (let groupStart = 0; groupStart < samples; groupStart += batchSize * accumulate) {
      if (options.signal?.aborted) {
        totals.aborted = true;
        break;
      }
      const groupEnd = Math.min(samples, groupStart + batchSize * accumulate);
      network.zeroGrad();
      for (let start = groupStart; start < groupEnd; start += batchSize) {
        const end = Math.min(groupEnd, start + batchSize);
        const b = end - start;
        const rowsOfBatch = order.subarray(start, end);
        let xb = inputBuffers.get(b);
        if (!xb) inputBuffers.set(b, (xb = new Float32Array(b * inWidth)));
        for (let i = 0; i < b; i++) {
          const r = rowsOfBatch[i] as number;
          xb.set(data.x.data.subarray(r * inWidth, (r + 1) * inWidth), i * inWidth);
        }
        const yb = gatherTargets(data.y, rowsOfBatch, b, samples);
        const output = network.forward({ data: xb, shape: [b, ...network.inputShape] }, ctx);
        const result = run.loss.compute(output, yb);
        assertFiniteLoss(result.loss, epoch, `batch ${Math.floor(start / batchSize) + 1}`);
        const counted = run.loss.correct(output, yb);
        totals.lossSum += result.loss * b;
        totals.correct += counted.correct;
        totals.rows += counted.total;
        scaleInPlace(result.grad.data, b / (groupEnd - groupStart));
        network.backward(result.grad, ctx);
      }
      if (options.clipNorm) clipGradNorm(run.params, options.clipNorm);
      totals.lr = schedule(step);
      optimizer.step(run.params, totals.lr);
      step++;
      totals.steps++;
    }
    return totals;
  });
}
