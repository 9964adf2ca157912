import { calibratedOutputs, calibrateTemperature, type Calibration } from '../engine/calibration.js';
import { LoomError } from '../engine/errors.js';
import { encodeLoomModel } from '../engine/io/loom-format.js';
import type { Network } from '../engine/network.js';
import { labelSmoothingCrossEntropy } from '../engine/train/smoothing.js';
import { reportsSteps, trainWithMode } from '../engine/train/modes.js';
import type { EpochMetrics, StepProgress, TrainState } from '../engine/train/index.js';
import { evaluate, evaluateOutput, predict, type Dataset, type Evaluation } from '../engine/eval.js';
import type { LoadedDataset } from '../data/index.js';
import type { JobProgress, TrainingJob, TrainingSettings } from '../search/jobs.js';
import type { ModelResult } from '../store/types.js';

/**
 * Training one network of a job on one train/validation pair, then calibrating it on that validation data:
 * what the single-split path (processor.ts) does once and the k-fold path (bagging.ts) once per fold.
 */

/** How a job is run: who runs it, where its progress goes, what stops it. */
export interface ProcessOptions {
  readonly worker: string;
  readonly onProgress?: (p: JobProgress) => void;
  readonly signal?: AbortSignal;
}

export interface FitOptions {
  /** Seed of the training noise (shuffling, dropout). */
  readonly seed: number;
  /** Apply the job's pruning thresholds (job.stopBelow) to this network's curve. */
  readonly prune: boolean;
  readonly signal?: AbortSignal;
  /** After each epoch, and after each mid-epoch pruning check (its point on the curve). */
  readonly onEpoch?: (m: EpochMetrics) => void;
  /** Pause there (epochs) and return the run's state instead of calibrating (TrainOptions.pauseAt). */
  readonly pauseAt?: number;
  /** Go on from a paused run of this network (TrainOptions.resume). */
  readonly resume?: TrainState;
}

export interface Fit {
  /** One entry per epoch trained, plus one per mid-epoch rung checked (pruning only), in epoch order. */
  readonly history: EpochMetrics[];
  /** Stopped by the job's pruning thresholds (its curve fell below a rung). */
  readonly pruned: boolean;
  /** The fitted temperature, or null when `settings.calibration` is 'none' (or the run paused). */
  readonly calibration: Calibration | null;
  /**
   * Where `pauseAt` stopped the run (its curve then ends with the validation at the pause point), with the network's
   * validation there: its predictions, which a search breeds paused models by.
   */
  readonly paused?: { readonly state: TrainState; readonly validation: Evaluation };
}

/**
 * Trains `network` on `train`, validating on `validation` every epoch; with `prune`, stops after an epoch whose
 * best validation accuracy so far is below the job's threshold for it (search/pruners.ts). A threshold at a share of
 * an epoch (a rung below 1) is checked after the optimizer step that reaches it, and its value joins the history at
 * that epoch; checking changes no weight. A point is reported (options.onEpoch) after its check and only when the job
 * goes on, so progress at a rung means the rung was passed. Then, unless the settings say 'none', fits a temperature
 * on `validation` (engine/calibration.ts): predictions unchanged, probabilities honest.
 */
export function fitJobNetwork(job: TrainingJob, settings: TrainingSettings, network: Network, train: Dataset, validation: Dataset & { y: Int32Array }, options: FitOptions): Fit {
  const pruning = options.prune && job.stopBelow && job.stopBelow.length > 0 ? new AbortController() : null;
  let bestVal = -Infinity;
  const signal = pruning ? (options.signal ? AbortSignal.any([options.signal, pruning.signal]) : pruning.signal) : options.signal;
  const midEpoch = pruning ? (job.stopBelow ?? []).filter((t) => !Number.isInteger(t.epoch)).sort((a, b) => a.epoch - b.epoch) : [];
  if (midEpoch.length > 0 && !reportsSteps(settings.mode)) {
    throw new LoomError('LOOM_ERR_CONFIG', `model ${job.modelId}: a pruning rung within an epoch (${midEpoch[0]?.epoch}) needs training.mode "normal", not "${settings.mode}"`);
  }
  const checks: EpochMetrics[] = [];
  let stoppedAtCheck: number | null = null;
  const trained = trainWithMode(network, train, {
    mode: settings.mode,
    epochs: settings.epochs,
    batchSize: settings.batchSize,
    learningRate: job.arch.learningRate,
    optimizer: { name: settings.optimizer, weightDecay: settings.weightDecay },
    schedule: settings.scheduler,
    ...(job.arch.labelSmoothing ? { loss: labelSmoothingCrossEntropy(job.arch.labelSmoothing) } : {}),
    ...(settings.clipNorm ? { clipNorm: settings.clipNorm } : {}),
    seed: options.seed,
    validation,
    ...(settings.patience > 0 ? { earlyStopping: { monitor: 'valAccuracy' as const, patience: settings.patience } } : {}),
    ...(signal ? { signal } : {}),
    ...(options.pauseAt === undefined ? {} : { pauseAt: options.pauseAt }),
    ...(options.resume ? { resume: options.resume } : {}),
    ...(midEpoch.length > 0
      ? {
          onStep: (p: StepProgress) => {
            for (;;) {
              const rung = midEpoch[checks.length];
              if (!rung || p.epochs < rung.epoch || pruning?.signal.aborted) return;
              const started = performance.now();
              const scored = evaluate(network, validation);
              const check = { epoch: rung.epoch, loss: p.loss, accuracy: Number.NaN, valLoss: scored.loss, valAccuracy: scored.accuracy, lr: Number.NaN, ms: performance.now() - started };
              checks.push(check);
              bestVal = Math.max(bestVal, scored.accuracy);
              if (bestVal < rung.minValAccuracy) {
                stoppedAtCheck = rung.epoch;
                pruning?.abort();
              } else options.onEpoch?.(check);
            }
          },
        }
      : {}),
    onEpoch: (m) => {
      if (pruning && m.valAccuracy !== undefined) {
        bestVal = Math.max(bestVal, m.valAccuracy);
        const rung = job.stopBelow?.find((t) => t.epoch === m.epoch);
        if (rung && bestVal < rung.minValAccuracy) pruning.abort();
      }
      // Reported once checked, and only while the job goes on: a steady run reads a reported point as a rung passed
      // (search/steady.ts costLowerBound). An epoch ending at a mid-epoch check that stopped the job is not reported.
      if (!pruning?.signal.aborted) options.onEpoch?.(m);
    },
  });
  // A check at an epoch's last step stops nothing more in that epoch, and the loop still records the epoch (no step
  // after the check, the same weights): the model stopped at the check, so its curve ends there.
  const epochs = stoppedAtCheck === null ? trained.history : trained.history.filter((m) => m.epoch <= (stoppedAtCheck ?? Infinity));
  const history = [...epochs, ...checks].sort((a, b) => a.epoch - b.epoch);
  const pruned = pruning?.signal.aborted ?? false;
  if (trained.paused && !pruned) {
    // The paused model's value at the pause: what decides whether it goes on. A pause at an epoch's end has it in
    // the curve already (that epoch's validation, whose outputs the loop hands over), as has one at a pruning rung;
    // its predictions are scored here, from those outputs where there are some. They are calibrated as a finished
    // model's are (the network itself is left as training made it, to go on from), so that a search comparing
    // paused and finished models by validation log-loss compares what they know, not how sure they are.
    const at = Math.min(options.pauseAt ?? Infinity, settings.epochs);
    const started = performance.now();
    const output = trained.validationAtPause ?? predict(network, validation.x);
    const calibrated = evaluateOutput(network, (settings.calibration ?? 'temperature') === 'temperature' ? calibratedOutputs(network, output, validation.y).output : output, validation);
    if (!history.some((m) => m.epoch === at && m.valAccuracy !== undefined)) {
      // The curve's point, as every epoch's: the uncalibrated loss.
      const scored = evaluateOutput(network, output, validation);
      const { partial, rowsDone } = trained.paused;
      const point = { epoch: at, loss: rowsDone > 0 ? partial.lossSum / rowsDone : Number.NaN, accuracy: Number.NaN, valLoss: scored.loss, valAccuracy: scored.accuracy, lr: Number.NaN, ms: performance.now() - started };
      history.push(point);
      options.onEpoch?.(point);
    }
    return { history, pruned: false, calibration: null, paused: { state: trained.paused, validation: calibrated } };
  }
  // A pruned network is no ensemble candidate (prunedResult): calibrating it would be time spent on nothing.
  const calibration = !pruned && (settings.calibration ?? 'temperature') === 'temperature' ? calibrateTemperature(network, validation.x, validation.y) : null;
  return { history, pruned, calibration };
}

/**
 * A pruned job's result: its curve and its validation accuracy where it stopped (the curve's last validated point;
 * nothing trained after that check), with no predictions and no weights. The coordinator keeps only these of a
 * pruned model, which is no ensemble candidate, so scoring it on validation and test and encoding it would be time
 * spent on nothing: they were about half of what a model stopped at a quarter of an MNIST epoch cost.
 */
export function prunedResult(job: TrainingJob, history: readonly EpochMetrics[], paramCount: number, numClasses: number, worker: string, startedAt: number): ModelResult {
  const validated = history.filter((m) => m.valAccuracy !== undefined && !Number.isNaN(m.valAccuracy));
  const last = validated[validated.length - 1];
  if (!last) throw new LoomError('LOOM_ERR_CONFIG', `model ${job.modelId} was pruned before any validated point`);
  return {
    modelId: job.modelId,
    metrics: history,
    valProbs: new Float32Array(0),
    testProbs: new Float32Array(0),
    valMask: new Uint8Array(0),
    testMask: new Uint8Array(0),
    weights: new Uint8Array(0),
    paramCount,
    trainMs: Date.now() - startedAt,
    worker,
    valAccuracy: last.valAccuracy as number,
    testAccuracy: Number.NaN,
    numClasses,
  };
}

/** A diverged network can end an epoch with a finite loss yet output NaN: that model failed, it is no result. */
export function assertFiniteProbabilities(job: TrainingJob, ...probabilities: readonly Float32Array[]): void {
  if (!probabilities.every((p) => p.every(Number.isFinite))) {
    throw new LoomError('LOOM_ERR_NAN_LOSS', `model ${job.modelId} outputs non-finite probabilities after training (it diverged): lower the learning rate or set clipNorm`);
  }
}

/** The job's model file: the network with the run, generation, data checksum and the parent it inherited from (plus `metadata`) recorded. */
export function encodeJobModel(network: Network, job: TrainingJob, dataset: LoadedDataset, metadata: Record<string, string>): Uint8Array {
  return encodeLoomModel(network, {
    dtype: 'float32',
    modelId: job.modelId,
    metadata: {
      runId: job.runId,
      generation: String(job.generation),
      dataChecksum: dataset.checksum,
      ...(job.warmStart ? { inheritedFrom: job.warmStart.modelId } : {}),
      ...metadata,
    },
  });
}
