import type { Dataset } from '../eval.js';
import { shapeError, LoomError } from '../errors.js';
import type { Layer, RunContext } from '../layers/types.js';
import { withDefaults, type Network } from '../network.js';
import { expectSampleShape, type Tensor } from '../tensor.js';
import { clipGradNorm } from './clip.js';
import { assertFiniteLoss, gatherRows, positiveInt, runEpochs, scaleInPlace, checkedLearningRate } from './epochs.js';
import { gatherTargets, type Targets } from './losses.js';
import type { TrainOptions, TrainResult } from './loop.js';
import { createOptimizer, type Optimizer } from './optimizers.js';
import { makeSchedule } from './schedulers.js';

/**
 * Stepping execution: the network as a pipeline. Every call to `stepForward` advances EVERY layer by one step at
 * once: layer i consumes what layer i−1 produced on the previous step (double buffering), so the layers work on
 * different data at the same time and a new input needs as many steps as there are layer positions to reach the
 * output. With a constant input, after `network.layers.length` steps the output equals `network.forward(input)`.
 *
 * Each value in flight carries a tag (the step at which it entered), so the output can always be paired with the
 * input and target that produced it. Positions that hold nothing yet carry a bubble (undefined): we never compute
 * on placeholder zeros, and `output()` is undefined until the first datum arrives.
 *
 * Disabled layers are identity stages (they still take one step), so the depth is always the number of positions.
 *
 * Backward (`stepBackward`) follows the datum now at the output back through the pipeline: layer j is
 * differentiated at the input it consumed when that same datum passed it (j steps after the datum entered), kept
 * in a per-position history. LOOM's StepBackward paired each layer's stored input with a pre-activation from a
 * different pipeline time, and rescaled every gradient by N·softmax(|g|); here every layer runs its own real
 * chain-rule backward (layers cache only their latest forward, so each is re-run on the historical input first).
 * Once parameters change between steps the recomputation uses the current weights on the historical inputs, the
 * usual weight staleness of pipelined training; with fixed weights the gradients equal a normal backward exactly.
 */

interface Slot {
  readonly value: Tensor;
  /** The step at which this datum entered position 0. */
  readonly tag: number;
}

export class StepState {
  readonly depth: number;
  private steps = 0;
  private input: Tensor | undefined;
  /** pending[j]: what position j consumes on the next step (j ≥ 1; position 0 reads the held input). pending[depth] = output. */
  private pending: (Slot | undefined)[];
  /** history[j][lag]: the input position j consumed `lag` steps ago (lag 0 = on the latest step). */
  private readonly history: (Slot | undefined)[][];

  constructor(readonly network: Network) {
    this.depth = network.layers.length;
    this.pending = new Array<Slot | undefined>(this.depth + 1).fill(undefined);
    this.history = Array.from({ length: this.depth }, () => []);
  }

  /** Holds `x` at the input: every following step feeds it in again (as a new datum) until changed or cleared. */
  setInput(x: Tensor): void {
    expectSampleShape('stepping input', x, this.network.inputShape);
    this.input = x;
  }

  /** Stops feeding: following steps push bubbles in, draining the pipeline. */
  clearInput(): void {
    this.input = undefined;
  }

  get stepCount(): number {
    return this.steps;
  }

  /** The latest network output, or undefined while the pipeline is still filling (or drained). */
  output(): Tensor | undefined {
    return this.pending[this.depth]?.value;
  }

  /** The step at which the datum now at the output entered. */
  outputTag(): number | undefined {
    return this.pending[this.depth]?.tag;
  }

  /** What layer `index` produced on the latest step (undefined for a bubble). */
  layerOutput(index: number): Tensor | undefined {
    return this.pending[index + 1]?.value;
  }

  /** Forgets everything in flight (the step count keeps running, so tags stay unique). */
  reset(): void {
    this.pending.fill(undefined);
    for (const h of this.history) h.length = 0;
  }

  /** @internal One pipeline step; see `stepForward`. */
  advance(ctx: RunContext): void {
    const step = ++this.steps;
    const { depth } = this;
    const consumed = this.pending.slice(0, depth);
    consumed[0] = this.input ? { value: this.input, tag: step } : undefined;
    const next = new Array<Slot | undefined>(depth + 1).fill(undefined);
    for (let j = 0; j < depth; j++) {
      const h = this.history[j] as (Slot | undefined)[];
      h.unshift(consumed[j]);
      if (h.length > depth) h.length = depth;
    }
    for (let j = 0; j < depth; j++) {
      const slot = consumed[j];
      if (!slot) continue;
      next[j + 1] = this.network.isDisabled(j) ? slot : { value: this.runLayer(j, 0, ctx), tag: slot.tag };
    }
    this.pending = next;
  }

  /** Runs layer j forward on the input it consumed `lag` steps ago (a Residual also gets its matching skip input). */
  runLayer(j: number, lag: number, ctx: RunContext): Tensor {
    const layer = this.network.layers[j] as Layer;
    const slot = this.history[j]?.[lag];
    if (!slot) throw new LoomError('LOOM_ERR_USAGE', `stepping: layer ${j} holds no input ${lag} step(s) back`);
    if (layer.skipBack !== undefined && layer.forwardSkip) {
      // The datum was at position j−back exactly `back` steps before it reached j.
      const skip = this.history[j - layer.skipBack]?.[lag + layer.skipBack];
      if (!skip || skip.tag !== slot.tag) throw shapeError(`${layer.spec.type} at position ${j}`, `a layer ${layer.skipBack} position(s) back`, []);
      return layer.forwardSkip(slot.value, skip.value, ctx);
    }
    return layer.forward(slot.value, ctx);
  }

  /** @internal The tag of what position j consumed `lag` steps ago. */
  tagAt(j: number, lag: number): number | undefined {
    return this.history[j]?.[lag]?.tag;
  }
}

/** Advances every layer one step (the input is held until changed). Returns the output, undefined while filling. */
export function stepForward(network: Network, state: StepState, input?: Tensor, ctx: Partial<RunContext> = {}): Tensor | undefined {
  if (state.network !== network) throw new LoomError('LOOM_ERR_USAGE', 'stepForward: the step state belongs to another network');
  if (input) state.setInput(input);
  state.advance(withDefaults(ctx));
  return state.output();
}

/**
 * Backpropagates dL/d(output) for the datum now at the output through the layers as that datum met them (see the
 * module comment). Parameter gradients are ADDED into each Param.grad, as `Network.backward` does; frozen layers
 * pass gradients through and their gradients are simply never applied. Returns dL/d(the datum's input).
 */
export function stepBackward(network: Network, state: StepState, dOutput: Tensor, ctx: Partial<RunContext> = {}): Tensor {
  const run = withDefaults(ctx);
  const tag = state.outputTag();
  if (tag === undefined) throw new LoomError('LOOM_ERR_USAGE', 'stepBackward: the pipeline has no output yet');
  expectSampleShape('stepping output gradient', dOutput, network.outputShape);
  const depth = state.depth;
  const pendingSkip = new Map<number, Float32Array>();
  let grad = dOutput;
  for (let j = depth - 1; j >= 0; j--) {
    const lag = depth - 1 - j;
    if (state.tagAt(j, lag) !== tag) throw new LoomError('LOOM_ERR_USAGE', `stepBackward: layer ${j} no longer holds the datum at the output`);
    if (!network.isDisabled(j)) {
      const layer = network.layers[j] as Layer;
      state.runLayer(j, lag, run);
      const dx = layer.backward(grad, run);
      if (layer.skipBack !== undefined && layer.skipGrad) {
        const target = j - layer.skipBack;
        const g = layer.skipGrad().data;
        const acc = pendingSkip.get(target);
        if (acc) for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) + (g[i] as number);
        else pendingSkip.set(target, Float32Array.from(g));
      }
      grad = dx;
    }
    const extra = pendingSkip.get(j);
    if (extra) {
      const merged = Float32Array.from(grad.data);
      for (let i = 0; i < merged.length; i++) merged[i] = (merged[i] as number) + (extra[i] as number);
      grad = { data: merged, shape: grad.shape };
    }
  }
  return grad;
}

/**
 * Training with stepping: micro-batches stream through the pipeline, one `stepForward` per micro-batch. Each
 * output is scored against the targets of the micro-batch that produced it (LOOM compared it with the current
 * step's target, L−1 steps too late) and backpropagated with `stepBackward`. `accumulate` consecutive micro-batches
 * form one optimizer step, their gradients summed sample-weighted (LOOM's "accumulation" kept only the last step),
 * then clipping and the scheduled learning rate apply, with the same options as `train()`. At the end of each epoch
 * the pipeline is drained with bubbles, so every sample is trained on exactly once per epoch.
 */
export function trainStepping(network: Network, data: Dataset, options: TrainOptions): TrainResult {
  const batchSize = positiveInt('batchSize', options.batchSize ?? 32);
  const accumulate = positiveInt('accumulate', options.accumulate ?? 1);
  const baseLr = checkedLearningRate(options);
  const optimizer: Optimizer =
    options.optimizer === undefined || typeof options.optimizer === 'string' || !('step' in options.optimizer)
      ? createOptimizer(options.optimizer ?? 'adamw')
      : options.optimizer;
  const samples = data.x.shape[0] as number;
  const groupSize = batchSize * accumulate;
  const totalSteps = positiveInt('epochs', options.epochs) * Math.ceil(samples / groupSize);
  const schedule = typeof options.schedule === 'function' ? options.schedule : makeSchedule(options.schedule ?? 'constant', baseLr, totalSteps);
  const state = new StepState(network);
  let step = 0;

  return runEpochs(network, data, options, (order, epoch, run) => {
    const ctx: RunContext = withDefaults({ training: true, rng: run.rng, ...(options.backend ? { backend: options.backend } : {}) });
    const inFlight = new Map<number, { targets: Targets; rows: number; group: number; groupRows: number; last: boolean }>();
    const totals = { lossSum: 0, correct: 0, rows: 0, lr: schedule(step), steps: 0, aborted: false };
    let pendingGroup = -1;
    network.zeroGrad();

    const consumeOutput = (): void => {
      const tag = state.outputTag();
      const out = state.output();
      const meta = tag === undefined ? undefined : inFlight.get(tag);
      if (!out || tag === undefined || !meta) return;
      inFlight.delete(tag);
      const result = run.loss.compute(out, meta.targets);
      assertFiniteLoss(result.loss, epoch, `stepping micro-batch at step ${tag}`);
      const counted = run.loss.correct(out, meta.targets);
      totals.lossSum += result.loss * meta.rows;
      totals.correct += counted.correct;
      totals.rows += counted.total;
      scaleInPlace(result.grad.data, meta.rows / meta.groupRows);
      stepBackward(network, state, result.grad, ctx);
      pendingGroup = meta.group;
      if (meta.last) {
        if (options.clipNorm) clipGradNorm(run.params, options.clipNorm);
        totals.lr = schedule(step);
        optimizer.step(run.params, totals.lr, ctx.backend);
        step++;
        totals.steps++;
        network.zeroGrad(); // frozen layers' gradients are never applied: keep them from growing
        pendingGroup = -1;
      }
    };

    for (let start = 0; start < order.length; start += batchSize) {
      if (options.signal?.aborted) {
        totals.aborted = true;
        break;
      }
      const end = Math.min(order.length, start + batchSize);
      const rows = order.subarray(start, end);
      const group = Math.floor(start / groupSize);
      const groupEnd = Math.min(order.length, (group + 1) * groupSize);
      state.setInput(gatherRows(data.x, rows));
      stepForward(network, state, undefined, ctx);
      inFlight.set(state.stepCount, {
        targets: gatherTargets(data.y, rows, rows.length, samples),
        rows: rows.length,
        group,
        groupRows: groupEnd - group * groupSize,
        last: end === groupEnd,
      });
      consumeOutput();
    }
    // Drain: push bubbles until everything in flight has come out.
    state.clearInput();
    for (let k = 0; k < state.depth && inFlight.size > 0 && !totals.aborted; k++) {
      stepForward(network, state, undefined, ctx);
      consumeOutput();
    }
    if (pendingGroup >= 0) network.zeroGrad();
    state.reset();
    return totals;
  });
}
