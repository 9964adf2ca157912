import type { Backend } from '../backend/types.js';
import { configError, dataError, LoomError } from '../errors.js';
import { predict, scoreOutputs, type Dataset } from '../eval.js';
import type { Param, RunContext } from '../layers/types.js';
import type { Network } from '../network.js';
import { Rng } from '../rng.js';
import { sameShape, sampleSize } from '../tensor.js';
import { clipGradNorm } from './clip.js';
import { checkTargets, gatherTargets, resolveLoss, type Loss, type LossName } from './losses.js';
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

const positiveInt = (field: string, v: number): number => {
  if (!Number.isInteger(v) || v < 1) throw configError(field, `must be a positive integer, got ${v}`);
  return v;
};

/** Tracks the best validation and decides when to stop; keeps a copy of the best weights. */
class BestTracker {
  best = NaN;
  bestEpoch = 0;
  private snapshot: Float32Array[] | undefined;

  constructor(private readonly rule: EarlyStopping | undefined, private readonly params: readonly Param[]) {}

  /** Records a validation; returns true when patience has run out. */
  observe(epoch: number, valLoss: number, valAccuracy: number): boolean {
    const higher = this.rule?.monitor === 'valAccuracy';
    const value = higher ? valAccuracy : valLoss;
    const delta = this.rule?.minDelta ?? 0;
    const improved = Number.isNaN(this.best) || (higher ? value > this.best + delta : value < this.best - delta);
    if (improved) {
      this.best = value;
      this.bestEpoch = epoch;
      if (this.rule && (this.rule.restoreBest ?? true)) this.snapshot = this.params.map((p) => Float32Array.from(p.value));
    }
    return this.rule !== undefined && epoch - this.bestEpoch >= this.rule.patience;
  }

  restore(): void {
    this.snapshot?.forEach((values, i) => (this.params[i] as Param).value.set(values));
  }
}

/**
 * Trains a network with mini-batch gradient descent. Each epoch visits every sample once in a seeded random
 * order; `accumulate` micro-batches make one optimizer step, their gradients summed with weights
 * (micro-batch size / step size) so the step equals one big batch of the same samples. A NaN or infinite loss
 * stops training with LOOM_ERR_NAN_LOSS naming the epoch and batch.
 */
export function train(network: Network, data: Dataset, options: TrainOptions): TrainResult {
  const epochs = positiveInt('epochs', options.epochs);
  const batchSize = positiveInt('batchSize', options.batchSize ?? 32);
  const accumulate = positiveInt('accumulate', options.accumulate ?? 1);
  const validateEvery = positiveInt('validateEvery', options.validateEvery ?? 1);
  const baseLr = options.learningRate ?? 0.001;
  if (!(baseLr > 0) || !Number.isFinite(baseLr)) throw configError('learningRate', `must be a positive number, got ${baseLr}`);
  if (options.earlyStopping && !options.validation) throw configError('earlyStopping', 'needs validation data');
  if (options.earlyStopping && !(options.earlyStopping.patience >= 0)) {
    throw configError('earlyStopping.patience', `must be a non-negative number, got ${options.earlyStopping.patience}`);
  }

  const samples = checkDataset(network, data, 'training data');
  if (options.validation) checkDataset(network, options.validation, 'validation data');
  const loss = resolveLoss(network, data.y, options.loss);
  const optimizer = options.optimizer === undefined || typeof options.optimizer === 'string' || !('step' in options.optimizer)
    ? createOptimizer(options.optimizer ?? 'adamw')
    : options.optimizer;
  const batchesPerEpoch = Math.ceil(samples / batchSize);
  const totalSteps = epochs * Math.ceil(batchesPerEpoch / accumulate);
  const schedule = typeof options.schedule === 'function' ? options.schedule : makeSchedule(options.schedule ?? 'constant', baseLr, totalSteps);

  const rng = new Rng(options.seed ?? 0);
  const shuffleRng = rng.fork();
  const ctx: Partial<RunContext> = { training: true, rng: rng.fork(), ...(options.backend ? { backend: options.backend } : {}) };
  const params = network.trainableParams();
  const tracker = new BestTracker(options.earlyStopping, params);
  const inWidth = sampleSize(data.x);
  const order = Int32Array.from({ length: samples }, (_, i) => i);
  const inputBuffers = new Map<number, Float32Array>();
  const history: EpochMetrics[] = [];
  const started = performance.now();
  let step = 0;
  let stopReason: TrainResult['stopReason'] = 'completed';

  for (let epoch = 1; epoch <= epochs && stopReason === 'completed'; epoch++) {
    const epochStart = performance.now();
    if (options.shuffle ?? true) shuffleInPlace(order, shuffleRng);
    let lossSum = 0;
    let correct = 0;
    let rows = 0;
    let lr = schedule(step);
    for (let groupStart = 0; groupStart < samples; groupStart += batchSize * accumulate) {
      if (options.signal?.aborted) {
        stopReason = 'aborted';
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
        const result = loss.compute(output, yb);
        if (!Number.isFinite(result.loss)) {
          throw new LoomError(
            'LOOM_ERR_NAN_LOSS',
            `training loss became ${result.loss} at epoch ${epoch} (batch ${Math.floor(start / batchSize) + 1}): lower the learning rate or set clipNorm`,
          );
        }
        const counted = loss.correct(output, yb);
        lossSum += result.loss * b;
        correct += counted.correct;
        rows += counted.total;
        scaleInPlace(result.grad.data, b / (groupEnd - groupStart));
        network.backward(result.grad, ctx);
      }
      if (options.clipNorm) clipGradNorm(params, options.clipNorm);
      lr = schedule(step);
      optimizer.step(params, lr);
      step++;
    }
    if (stopReason === 'aborted') break;

    let valLoss: number | undefined;
    let valAccuracy: number | undefined;
    if (options.validation && (epoch % validateEvery === 0 || epoch === epochs)) {
      const val = options.validation;
      const scored = scoreOutputs(predict(network, val.x, options.evalBatchSize ?? 256, options.backend), val.y, loss);
      valLoss = scored.loss;
      valAccuracy = scored.accuracy;
      if (tracker.observe(epoch, valLoss, valAccuracy)) stopReason = 'early_stopping';
    }
    const metrics: EpochMetrics = {
      epoch,
      loss: lossSum / samples,
      accuracy: rows ? correct / rows : 0,
      ...(valLoss !== undefined ? { valLoss, valAccuracy: valAccuracy as number } : {}),
      lr,
      ms: performance.now() - epochStart,
    };
    history.push(metrics);
    options.onEpoch?.(metrics);
  }

  if (options.earlyStopping && tracker.bestEpoch > 0 && tracker.bestEpoch !== history[history.length - 1]?.epoch) tracker.restore();
  const ms = performance.now() - started;
  const seen = history.length * samples;
  return {
    history,
    stopReason,
    ...(tracker.bestEpoch > 0 ? { bestEpoch: tracker.bestEpoch } : {}),
    lossName: loss.name,
    steps: step,
    ms,
    samplesPerSecond: ms > 0 ? (seen / ms) * 1000 : 0,
  };
}

function checkDataset(network: Network, data: Dataset, where: string): number {
  const samples = data.x.shape[0] as number;
  if (!(samples > 0)) throw dataError(`${where} is empty`);
  if (!sameShape(data.x.shape.slice(1), network.inputShape)) {
    throw dataError(`${where}: samples of shape [${data.x.shape.slice(1).join(', ')}], the network takes [${network.inputShape.join(', ')}]`);
  }
  checkTargets(data.y, samples, where);
  return samples;
}

function shuffleInPlace(order: Int32Array, rng: Rng): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
}

function scaleInPlace(values: Float32Array, factor: number): void {
  if (factor === 1) return;
  for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) * factor;
}
