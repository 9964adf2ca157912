import type { Dataset } from '../eval.js';
import { configError } from '../errors.js';
import type { Network } from '../network.js';
import { trainStepping } from './step.js';
import { trainTweening, type TweenConfig } from './tween.js';
import { train, type TrainOptions, type TrainResult } from './loop.js';

/**
 * Training mode as a choice (search configs' `training.mode`): the same options and the same TrainResult whatever
 * the mode, so the search can evolve it like any other hyperparameter.
 * - 'normal': `train()`, mini-batch backprop.
 * - 'step': `trainStepping()`, micro-batches streamed through the stepping pipeline (step.ts).
 * - 'tween': `trainTweening()`, tweening in batch mode with per-layer-type rates (tween.ts).
 */
export const TRAINING_MODES = ['normal', 'step', 'tween'] as const;
export type TrainingMode = (typeof TRAINING_MODES)[number];

/** Whether a mode calls `onStep` after each optimizer step (only `train()` does), where a mid-epoch check can run. */
export const reportsSteps = (mode: TrainingMode): boolean => mode === 'normal';

export interface ModeTrainOptions extends TrainOptions {
  /** Default 'normal'. */
  readonly mode?: TrainingMode;
  /** Tween knobs (mode 'tween' only); `optimizer`, `clipNorm` and `loss` from the options win over them. */
  readonly tween?: Partial<TweenConfig>;
}

export function trainWithMode(network: Network, data: Dataset, options: ModeTrainOptions): TrainResult {
  const mode = options.mode ?? 'normal';
  switch (mode) {
    case 'normal':
      return train(network, data, options);
    case 'step':
      return trainStepping(network, data, options);
    case 'tween':
      return trainTweening(network, data, options);
    default:
      throw configError('training.mode', `must be one of ${TRAINING_MODES.join(', ')}, got "${String(mode)}"`);
  }
}
