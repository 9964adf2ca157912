import { configError, dataError, LoomError } from '../errors.js';
import { predict, scoreOutputs, type Dataset } from '../eval.js';
import type { Param } from '../layers/types.js';
import type { Network } from '../network.js';
import { Rng } from '../rng.js';
import { sameShape, sampleSize, type Tensor } from '../tensor.js';
import { checkTargets, resolveLoss, type Loss } from './losses.js';
import type { Optimizer } from './optimizers.js';
import type { EpochMetrics, EpochPartial, TrainOptions, TrainResult, TrainState } from './options.js';

/**
 * The epoch loop shared by the alternative training modes (stepping, tweening): option checks, seeded shuffling,
 * validation, early stopping with best-weight restore, history and the result. The mode supplies only what
 * happens inside one epoch, so every mode reports the same TrainResult as `train()`.
 */

/** What one epoch of a mode measured. Losses are summed per sample; accuracy counts rows as `Loss.correct` does. */
export interface EpochTotals {
  lossSum: number;
  correct: number;
  rows: number;
  /** Learning rate of the epoch's last update. */
  lr: number;
  /** Optimizer updates made. */
  steps: number;
  aborted: boolean;
  /** Rows of the epoch trained when `pauseAt` stopped it mid-epoch (the epoch is not over). */
  pausedAtRows?: number;
}

/** Where an epoch begins: row 0 with nothing summed, or where a paused run left it (TrainOptions.resume). */
export interface EpochStart {
  readonly rowsDone: number;
  readonly partial: EpochPartial;
}

const FRESH_EPOCH: EpochStart = { rowsDone: 0, partial: { lossSum: 0, correct: 0, rows: 0, steps: 0 } };

/** What a mode that can pause lends the epoch loop to save and restore a run: its optimizer and its step count. */
export interface Pausable {
  readonly optimizer: Optimizer;
  steps(): number;
}

export interface EpochRun {
  readonly loss: Loss;
  readonly rng: Rng;
  readonly samples: number;
  readonly params: Param[];
}

export const positiveInt = (field: string, v: number): number => {
  if (!Number.isInteger(v) || v < 1) throw configError(field, `must be a positive integer, got ${v}`);
  return v;
};

export function checkedLearningRate(options: TrainOptions): number {
  const lr = options.learningRate ?? 0.001;
  if (!(lr > 0) || !Number.isFinite(lr)) throw configError('learningRate', `must be a positive number, got ${lr}`);
  return lr;
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

/** The given rows of a batch-first tensor, copied in order. */
export function gatherRows(x: Tensor, rows: ArrayLike<number>): Tensor {
  const width = sampleSize(x);
  const out = new Float32Array(rows.length * width);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    out.set(x.data.subarray(r * width, (r + 1) * width), i * width);
  }
  return { data: out, shape: [rows.length, ...x.shape.slice(1)] };
}

export function assertFiniteLoss(loss: number, epoch: number, where: string): void {
  if (!Number.isFinite(loss)) {
    throw new LoomError('LOOM_ERR_NAN_LOSS', `training loss became ${loss} at epoch ${epoch} (${where}): lower the learning rate or set clipNorm`);
  }
}

export function scaleInPlace(values: Float32Array, factor: number): void {
  if (factor === 1) return;
  for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) * factor;
}

/** Refuses what pausing cannot honour: a mode that cannot pause, early stopping, a resume past its own pause point. */
function checkPauseOptions(options: TrainOptions, epochs: number, samples: number, pausable: Pausable | undefined): void {
  const { pauseAt, resume } = options;
  if (pauseAt === undefined && !resume) return;
  const field = pauseAt !== undefined ? 'pauseAt' : 'resume';
  if (!pausable) throw configError(field, 'pausing and resuming need training mode "normal"');
  if (options.earlyStopping) throw configError(field, 'cannot be combined with earlyStopping (its best weights are not part of the saved state)');
  if (pauseAt !== undefined && !(pauseAt > 0 && Number.isFinite(pauseAt))) throw configError('pauseAt', `must be a positive number of epochs, got ${pauseAt}`);
  if (!resume) return;
  if (resume.order.length !== samples) throw configError('resume', `the paused run trained on ${resume.order.length} rows, this data has ${samples}`);
  if (resume.epoch > epochs) throw configError('resume', `the paused run is at epoch ${resume.epoch}, past this run's ${epochs} epochs`);
  const at = resume.epoch - 1 + resume.rowsDone / samples;
  if (pauseAt !== undefined && pauseAt <= at) throw configError('pauseAt', `${pauseAt} is not past the point the run resumes from (${at.toFixed(3)} epochs)`);
}

/**
 * Runs `options.epochs` epochs: each gets a fresh seeded order of the samples (unless shuffle is off) and calls
 * `runEpoch`, then validates and applies early stopping exactly as `train()` does.
 */
export function runEpochs(
  network: Network,
  data: Dataset,
  options: TrainOptions,
  runEpoch: (order: Int32Array, epoch: number, run: EpochRun, from: EpochStart) => EpochTotals,
  pausable?: Pausable,
): TrainResult {
  const epochs = positiveInt('epochs', options.epochs);
  const validateEvery = positiveInt('validateEvery', options.validateEvery ?? 1);
  checkedLearningRate(options);
  const rule = options.earlyStopping;
  if (rule && !options.validation) throw configError('earlyStopping', 'needs validation data');
  if (rule && !(rule.patience >= 0)) throw configError('earlyStopping.patience', `must be a non-negative number, got ${rule.patience}`);
  const samples = checkDataset(network, data, 'training data');
  if (options.validation) checkDataset(network, options.validation, 'validation data');
  const resume = options.resume;
  checkPauseOptions(options, epochs, samples, pausable);
  const loss = resolveLoss(network, data.y, options.loss);
  const rng = new Rng(options.seed ?? 0);
  // A resumed run draws on from where the pause left both streams.
  const shuffleRng = resume ? Rng.fromState(resume.shuffleRng) : rng.fork();
  const run: EpochRun = { loss, rng: resume ? Rng.fromState(resume.rng) : rng.fork(), samples, params: network.trainableParams() };
  if (resume && pausable) pausable.optimizer.importState(run.params, resume.optimizer);
  const order = resume ? Int32Array.from(resume.order) : Int32Array.from({ length: samples }, (_, i) => i);
  const history: EpochMetrics[] = resume ? [...resume.history] : [];
  const started = performance.now();
  let best = NaN;
  let bestEpoch = 0;
  let snapshot: Float32Array[] | undefined;
  let steps = resume ? resume.step - resume.partial.steps : 0;
  let stopReason: TrainResult['stopReason'] = 'completed';
  let paused: TrainState | undefined;
  let validated: { readonly epoch: number; readonly output: Tensor } | undefined;
  const pauseHere = (epoch: number, rowsDone: number, partial: EpochPartial): TrainState => {
    if (!pausable) throw configError('pauseAt', 'pausing needs training mode "normal"'); // checked above; for the types
    return {
      epoch,
      rowsDone,
      step: pausable.steps(),
      order: Int32Array.from(order),
      shuffleRng: shuffleRng.state(),
      rng: run.rng.state(),
      partial,
      optimizer: pausable.optimizer.exportState(run.params),
      history: [...history],
    };
  };
  const higher = rule?.monitor === 'valAccuracy';
  const delta = rule?.minDelta ?? 0;
  const improves = (value: number): boolean => Number.isNaN(best) || (higher ? value > best + delta : value < best - delta);
  for (const m of history) {
    // The best validation so far, as the epochs before the pause found it (TrainResult.bestEpoch).
    const value = higher ? m.valAccuracy : m.valLoss;
    if (value !== undefined && improves(value)) {
      best = value;
      bestEpoch = m.epoch;
    }
  }

  for (let epoch = resume?.epoch ?? 1; epoch <= epochs && stopReason === 'completed'; epoch++) {
    const epochStart = performance.now();
    // A run paused mid-epoch resumes that epoch in the order it had drawn.
    const from = resume && epoch === resume.epoch ? resume : FRESH_EPOCH;
    if ((options.shuffle ?? true) && from.rowsDone === 0) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = shuffleRng.int(i + 1);
        const t = order[i] as number;
        order[i] = order[j] as number;
        order[j] = t;
      }
    }
    const totals = runEpoch(order, epoch, run, from);
    steps += totals.steps;
    if (totals.aborted) {
      stopReason = 'aborted';
      break;
    }
    if (totals.pausedAtRows !== undefined) {
      stopReason = 'paused';
      paused = pauseHere(epoch, totals.pausedAtRows, { lossSum: totals.lossSum, correct: totals.correct, rows: totals.rows, steps: totals.steps });
      break;
    }
    let valLoss: number | undefined;
    let valAccuracy: number | undefined;
    if (options.validation && (epoch % validateEvery === 0 || epoch === epochs)) {
      const val = options.validation;
      const output = predict(network, val.x, options.evalBatchSize ?? 256, options.backend);
      validated = { epoch, output };
      const scored = scoreOutputs(output, val.y, loss);
      valLoss = scored.loss;
      valAccuracy = scored.accuracy;
      const value = higher ? valAccuracy : valLoss;
      if (improves(value)) {
        best = value;
        bestEpoch = epoch;
        if (rule && (rule.restoreBest ?? true)) snapshot = run.params.map((p) => Float32Array.from(p.value));
      }
      if (rule && epoch - bestEpoch >= rule.patience) stopReason = 'early_stopping';
    }
    const metrics: EpochMetrics = {
      epoch,
      loss: totals.lossSum / samples,
      accuracy: totals.rows ? totals.correct / totals.rows : 0,
      ...(valLoss !== undefined ? { valLoss, valAccuracy: valAccuracy as number } : {}),
      lr: totals.lr,
      ms: performance.now() - epochStart,
    };
    history.push(metrics);
    options.onEpoch?.(metrics);
    if (options.pauseAt !== undefined && epoch >= options.pauseAt && epoch < epochs && stopReason === 'completed') {
      stopReason = 'paused';
      paused = pauseHere(epoch + 1, 0, FRESH_EPOCH.partial);
    }
  }

  const restore = rule && snapshot && bestEpoch !== history[history.length - 1]?.epoch;
  if (restore) snapshot?.forEach((v, i) => (run.params[i] as Param).value.set(v));
  // Paused at an epoch's end (its next epoch not begun) that validated, with the weights it validated.
  const validationAtPause = paused && paused.rowsDone === 0 && validated?.epoch === paused.epoch - 1 && !restore ? validated.output : undefined;
  const ms = performance.now() - started;
  return {
    history,
    stopReason,
    ...(paused ? { paused } : {}),
    ...(validationAtPause ? { validationAtPause } : {}),
    ...(bestEpoch > 0 ? { bestEpoch } : {}),
    lossName: loss.name,
    steps,
    ms,
    samplesPerSecond: ms > 0 ? ((history.length * samples) / ms) * 1000 : 0,
  };
}
