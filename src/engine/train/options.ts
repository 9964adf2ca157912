import type { Backend } from '../backend/types.js';
import type { Dataset } from '../eval.js';
import type { Loss, LossName } from './losses.js';
import type { RngState } from '../rng.js';
import type { Tensor } from '../tensor.js';
import type { Optimizer, OptimizerName, OptimizerSpec, OptimizerState } from './optimizers.js';
import type { Schedule, ScheduleSpec } from './schedulers.js';

/**
 * What every training mode (train, stepping, tweening) takes and reports. Its own module so the mode files and the
 * shared epoch loop (epochs.ts) can all read it without importing each other.
 */

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
  /**
   * Called after each optimizer step (mode 'normal' only) with the progress in epochs (epoch − 1 + the share of this
   * epoch's rows done) and the mean training loss of this epoch so far: where a search checks a model mid-epoch.
   */
  readonly onStep?: (progress: StepProgress) => void;
  /** Checked between optimizer steps; training stops with stopReason 'aborted'. */
  readonly signal?: AbortSignal;
  readonly backend?: Backend;
  /** Batch size for validation inference (default 256). */
  readonly evalBatchSize?: number;
  /**
   * Pause once training reaches this many epochs (mode 'normal'; a share of an epoch allowed): after the optimizer
   * step that reaches it, or at the end of the epoch that step ends. The result's `paused` is what `resume` takes.
   */
  readonly pauseAt?: number;
  /**
   * Go on from a paused run (TrainResult.paused), on the network as the pause left it, with the same data and options
   * (pauseAt aside): the weights then equal those of the run without the pause. Not with earlyStopping.
   */
  readonly resume?: TrainState;
}

export interface StepProgress {
  readonly epochs: number;
  readonly loss: number;
}

export interface TrainResult {
  readonly history: EpochMetrics[];
  readonly stopReason: 'completed' | 'early_stopping' | 'aborted' | 'paused';
  /** Where a `pauseAt` stopped the run: pass it as `resume` to go on. */
  readonly paused?: TrainState;
  /**
   * A pause at an epoch's end that validated: the network's outputs on the validation data there (that epoch's
   * validation, the weights the run paused with), so a caller scores them without predicting them again.
   */
  readonly validationAtPause?: Tensor;
  /** Epoch of the best validation (the one early stopping restored), when validation ran. */
  readonly bestEpoch?: number;
  readonly lossName: string;
  readonly steps: number;
  readonly ms: number;
  readonly samplesPerSecond: number;
}

/**
 * A paused training run (TrainOptions.pauseAt → TrainResult.paused), everything but the network's weights: with the
 * same network, data and options, `train({... , resume: state})` goes on exactly as the run would have without the
 * pause (the same weights, bit for bit). Its binary form is state.ts's encodeTrainState.
 */
export interface TrainState {
  /** The epoch to go on with (1-based). */
  readonly epoch: number;
  /** Rows of that epoch already trained, in `order`; 0 when it has not begun (its order is drawn on resume). */
  readonly rowsDone: number;
  /** Optimizer steps so far: where the learning-rate schedule stands. */
  readonly step: number;
  /** The sample order of the epoch in progress, or of the last one (each epoch shuffles the previous order). */
  readonly order: Int32Array;
  readonly shuffleRng: RngState;
  /** The training noise (dropout, Gumbel) stream. */
  readonly rng: RngState;
  /** The epoch in progress' sums so far (zero when it has not begun). */
  readonly partial: EpochPartial;
  readonly optimizer: OptimizerState;
  /** The epochs completed, as TrainResult.history reports them. */
  readonly history: readonly EpochMetrics[];
}

export interface EpochPartial {
  readonly lossSum: number;
  readonly correct: number;
  readonly rows: number;
  readonly steps: number;
}
