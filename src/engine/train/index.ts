/** Training: losses, optimizers, learning-rate schedules, gradient clipping and the `train()` loop. */
export {
  LOSS_NAMES,
  binaryCrossEntropy,
  endsInSoftmax,
  mse,
  probabilityCrossEntropy,
  resolveLoss,
  softmaxCrossEntropy,
  type ClassTargets,
  type Loss,
  type LossName,
  type LossResult,
  type Targets,
} from './losses.js';
export { OPTIMIZER_NAMES, adamw, createOptimizer, momentum, rmsprop, sgd, type Optimizer, type OptimizerName, type OptimizerSpec, type OptimizerState } from './optimizers.js';
export {
  SCHEDULE_TYPES,
  constant,
  cosine,
  cosineWarmRestarts,
  exponential,
  linear,
  makeSchedule,
  polynomial,
  stepDecay,
  warmup,
  type Schedule,
  type ScheduleSpec,
} from './schedulers.js';
export { clipGradNorm, globalGradNorm } from './clip.js';
export { decodeTrainState, encodeTrainState } from './state.js';
export { train, type EarlyStopping, type EpochMetrics, type StepProgress, type TrainOptions, type TrainResult, type TrainState } from './loop.js';
export type { Dataset } from '../eval.js';
