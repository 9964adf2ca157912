import { defaultBackend } from '../backend/index.js';
import type { Dataset } from '../eval.js';
import type { RunContext } from '../layers/types.js';
import type { Network } from '../network.js';
import { sampleSize } from '../tensor.js';
import { clipGradNorm } from './clip.js';
import { assertFiniteLoss, checkedLearningRate, positiveInt, runEpochs, scaleInPlace, type EpochTotals } from './epochs.js';
import { gatherTargets } from './losses.js';
import { createOptimizer } from './optimizers.js';
import { makeSchedule } from './schedulers.js';
import type { TrainOptions, TrainResult } from './options.js';

export type { EarlyStopping, EpochMetrics, StepProgress, TrainOptions, TrainResult, TrainState } from './options.js';

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
  let step = options.resume?.step ?? 0;
  const pausable = { optimizer, steps: () => step };

  return runEpochs(network, data, options, (order, epoch, run, from) => {
    // inputGrad false: nothing reads dL/d(input data), so the first layer skips that product (a third of an MLP's backward).
    const ctx: Partial<RunContext> = { training: true, inputGrad: false, rng: run.rng, ...(options.backend ? { backend: options.backend } : {}) };
    const { lossSum, correct, rows, steps } = from.partial;
    const totals: EpochTotals = { lossSum, correct, rows, lr: schedule(step), steps, aborted: false };
    for (let groupStart = from.rowsDone; groupStart < samples; groupStart += batchSize * accumulate) {
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
      optimizer.step(run.params, totals.lr, options.backend ?? defaultBackend());
      step++;
      totals.steps++;
      const progress = epoch - 1 + groupEnd / samples;
      options.onStep?.({ epochs: progress, loss: totals.lossSum / groupEnd });
      // A pause at the epoch's last step waits for the epoch's end (its validation and history line): runEpochs.
      if (options.pauseAt !== undefined && progress >= options.pauseAt && groupEnd < samples) {
        totals.pausedAtRows = groupEnd;
        break;
      }
    }
    return totals;
  }, pausable);
}
