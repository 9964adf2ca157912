import type { Backend } from '../backend/types.js';
import { Chain } from '../chain.js';
import type { Dataset } from '../eval.js';
import { LoomError } from '../errors.js';
import { layerRegistry } from '../layers/registry.js';
import type { Layer, Param, RunContext } from '../layers/types.js';
import { withDefaults, type Network } from '../network.js';
import { Rng } from '../rng.js';
import { StepState, stepForward } from './step.js';
import { expectSampleShape, type Tensor } from '../tensor.js';
import { clipGradNorm } from './clip.js';
import { assertFiniteLoss, checkedLearningRate, gatherRows, positiveInt, runEpochs, scaleInPlace } from './epochs.js';
import { gatherTargets, resolveLoss, type Loss, type LossName, type Targets } from './losses.js';
import type { TrainOptions, TrainResult } from './options.js';
import { createOptimizer, type Optimizer, type OptimizerName, type OptimizerSpec } from './optimizers.js';
import { makeSchedule } from './schedulers.js';

/**
 * Neural tweening (LOOM's TweenState), on real gradients. Each tween step runs a forward pass (what every layer
 * actually produces) and a backward pass from the target (what every layer should produce: its output moved
 * against the loss gradient, `target = act − targetStep·∂L/∂act`); the two meet at every layer, where the gap
 * between them is measured (link budget, gap, depth barrier) and closed by a weight update.
 *
 * Chain-rule mode (`tweenStep`): one sample or micro-batch, one update. Batch mode (`accumulate` + `applyBatch`, or
 * `tweenBatch`): gradients summed over many samples, then one averaged update (LOOM's batch mode was documented
 * as ineffective; with real gradients it is mini-batch descent).
 *
 * Differences from LOOM, on purpose:
 * - The backward pass is each layer's own chain-rule backward (dL/dx and dL/dθ for every kind), not LOOM's
 *   heuristics (√outSize normalisation, 1.2^depth amplification, per-element clipping, approximate MHA/SwiGLU/
 *   LSTM/Conv2D rules, a wrong Softplus derivative).
 * - Every trainable parameter is updated, Parallel branches and Sequential steps included, recurrent hidden-to-
 *   hidden weights included; LOOM never updated the hive (Parallel) nor RNN/LSTM hidden weights.
 * - Updates go through a real optimizer (default SGD with momentum 0.9, LOOM's Momentum knob) instead of an EMA
 *   of clipped deltas.
 *
 * Config knobs kept from LOOM's TweenConfig: the per-type rates (as layer-wise learning-rate multipliers, LOOM's
 * defaults), Momentum (as the default optimizer), ExplosionDetection (its baseline/growth rule), BatchSize (batch
 * mode), and the link-budget/gap diagnostics. Dropped, because real gradients make them unnecessary or wrong:
 * DepthScaleFactor, GradientScale, the per-element clips, ReLUSlope/LeakyReLUSlope/DerivativeEpsilon,
 * LSTMGateScale, the Attention/Norm sub-rates, Bias/WeightRateMultiplier, the activation clamps and the legacy
 * heuristic (non-chain-rule) mode. Frontier and pruning are dropped too: changing the architecture is the search's
 * job (its mutation operators), not the trainer's; early stopping lives in the shared epoch loop.
 */

/**
 * LOOM's DefaultTweenConfig per-type rates (each kind's `tweenRate`, in its file), here layer-wise learning-rate
 * multipliers. Kinds without one get 1.
 */
export const defaultTweenRates = (): Readonly<Record<string, number>> =>
  Object.fromEntries([...layerRegistry().values()].flatMap((k) => (k.tweenRate === undefined ? [] : [[k.type, k.tweenRate]])));

export interface TweenConfig {
  /** Learning-rate multiplier per layer type (the type of the layer that owns the parameter, inside branches too). */
  readonly rates: Readonly<Record<string, number>>;
  /** Default SGD with momentum 0.9. */
  readonly optimizer: Optimizer | OptimizerSpec | OptimizerName;
  /** Global gradient-norm clip before each update (default 1; 0 = off). Replaces LOOM's always-on per-element clips. */
  readonly clipNorm: number;
  readonly loss: LossName | Loss;
  /** How far the backward target sits from the forward activation along −∂L/∂act (LOOM used 0.1). */
  readonly targetStep: number;
  /** LOOM's adaptive rate: shrink the rate while the mean gap explodes (default off, as LOOM). */
  readonly explosionDetection: boolean;
  readonly backend?: Backend;
  readonly seed: number;
}

export const defaultTweenConfig = (): TweenConfig => ({
  rates: defaultTweenRates(),
  optimizer: { name: 'momentum', momentum: 0.9 },
  clipNorm: 1,
  loss: 'auto',
  targetStep: 0.1,
  explosionDetection: false,
  seed: 0,
});

interface RateGroup {
  readonly rate: number;
  readonly params: Param[];
}

/** Maps each parameter array to the type of the innermost layer that owns it. */
function ownerTypes(layer: Layer, out: Map<Float32Array, string>): void {
  for (const child of layer.children?.() ?? []) ownerTypes(child, out);
  for (const p of layer.params()) if (!out.has(p.value)) out.set(p.value, layer.spec.type);
}

export class TweenState {
  readonly config: TweenConfig;
  /** forwardActs[0] = the input, forwardActs[i+1] = output of layer i (what the layer produces). */
  forwardActs: Float32Array[] = [];
  /** backwardTargets[i+1] = what layer i should produce: its output moved `targetStep` against the loss gradient. */
  backwardTargets: Float32Array[] = [];
  /** chainGradients[i] = ∂L/∂(forwardActs[i]) from the real backward pass (times the sample weight in batch mode). */
  chainGradients: Float32Array[] = [];
  /** Per layer: (cos(act, target) + 1)/2, the share of the signal the layer already gets right (0.5 when tiny). */
  linkBudgets: number[] = [];
  /** Per layer: mean squared distance between what it produces and what it should produce. */
  gaps: number[] = [];
  /** depthBarrier[i] = ∏ linkBudgets[0..i]. */
  depthBarrier: number[] = [];
  /** Current explosion-detection multiplier (1 unless explosionDetection is on). */
  adaptiveRate = 1;
  tweenSteps = 0;
  readonly lossHistory: number[] = [];
  private readonly optimizer: Optimizer;
  private readonly chain: Chain;
  private readonly ctx: RunContext;
  private batchRows = 0;
  private batchLoss = 0;
  private baselineGap = 0;
  private gapSamples = 0;
  private prevGap = 0;
  private explosions = 0;

  constructor(readonly network: Network, config: Partial<TweenConfig> = {}) {
    this.config = { ...defaultTweenConfig(), ...config, rates: { ...defaultTweenRates(), ...config.rates } };
    const o = this.config.optimizer;
    this.optimizer = typeof o === 'string' || !('step' in o) ? createOptimizer(o) : o;
    const depth = network.layers.length;
    this.chain = new Chain(
      network.layers.map((layer, i) => ({ layer, disabled: network.isDisabled(i) })),
      {
        onForward: (i, _layer, _input, output) => (this.forwardActs[i + 1] = output.data),
        onBackward: (i, _layer, dOutput) => (this.chainGradients[i + 1] = dOutput.data),
      },
    );
    this.ctx = withDefaults({ training: true, rng: new Rng(this.config.seed), ...(this.config.backend ? { backend: this.config.backend } : {}) });
    this.linkBudgets = new Array<number>(depth).fill(1);
  }

  /** Forward pass: pushes `x` through the network and records every layer's activation. */
  forwardPass(x: Tensor): Tensor {
    expectSampleShape('tween input', x, this.network.inputShape);
    this.forwardActs = new Array<Float32Array>(this.network.layers.length + 1);
    this.forwardActs[0] = x.data;
    const out = this.chain.forward(x, this.ctx);
    // Disabled layers fire no hook: they pass their input through.
    for (let i = 1; i < this.forwardActs.length; i++) this.forwardActs[i] ??= this.forwardActs[i - 1] as Float32Array;
    return out;
  }

  /**
   * Backward pass from the targets: the loss gradient is backpropagated with every layer's real backward, its
   * parameter gradients added (scaled by `weight`), and the per-layer targets, gaps and link budgets computed.
   */
  backwardPass(output: Tensor, y: Targets, weight = 1): { loss: number; correct: number; total: number } {
    const loss = resolveLoss(this.network, y, this.config.loss);
    const result = loss.compute(output, y);
    const counted = loss.correct(output, y);
    const depth = this.network.layers.length;
    this.chainGradients = new Array<Float32Array>(depth + 1);
    scaleInPlace(result.grad.data, weight);
    this.chainGradients[depth] = result.grad.data;
    this.chainGradients[0] = this.chain.backward(result.grad, this.ctx).data;
    for (let i = depth - 1; i >= 0; i--) this.chainGradients[i] ??= this.chainGradients[i + 1] as Float32Array;
    this.measureGaps(depth, 1 / weight);
    return { loss: result.loss, correct: counted.correct, total: counted.total };
  }

  /** Chain-rule mode: one forward, one backward, one update of every trainable parameter. Returns the loss. */
  tweenStep(x: Tensor, y: Targets, rate: number): number {
    this.network.zeroGrad();
    this.batchRows = 0;
    const output = this.forwardPass(x);
    const { loss } = this.backwardPass(output, y);
    this.record(loss);
    this.update(rate * this.adaptiveMultiplier());
    return loss;
  }

  /** Batch mode: adds this micro-batch's gradients (sample-weighted) without updating. Returns its mean loss. */
  accumulate(x: Tensor, y: Targets): { loss: number; correct: number; total: number } {
    if (this.batchRows === 0) this.network.zeroGrad();
    const rows = x.shape[0] as number;
    const output = this.forwardPass(x);
    const result = this.backwardPass(output, y, rows);
    this.batchRows += rows;
    this.batchLoss += result.loss * rows;
    return result;
  }

  /** Batch mode: applies the averaged gradients of everything accumulated since the last update. */
  applyBatch(rate: number): void {
    if (this.batchRows === 0) return;
    const inv = 1 / this.batchRows;
    for (const p of this.network.trainableParams()) scaleInPlace(p.grad, inv);
    this.record(this.batchLoss * inv);
    this.update(rate * this.adaptiveMultiplier());
  }

  /** Batch mode in one call: the whole batch, one averaged update. Returns the batch's mean loss. */
  tweenBatch(x: Tensor, y: Targets, rate: number): number {
    this.batchRows = 0;
    const { loss } = this.accumulate(x, y);
    this.applyBatch(rate);
    return loss;
  }

  budgetSummary(): { avg: number; min: number; max: number } {
    const b = this.linkBudgets;
    return { avg: b.reduce((s, v) => s + v, 0) / Math.max(1, b.length), min: Math.min(...b), max: Math.max(...b) };
  }

  /** Parameter groups by learning-rate multiplier: frozen and disabled layers are left out. */
  private rateGroups(): RateGroup[] {
    const owners = new Map<Float32Array, string>();
    this.network.layers.forEach((layer) => ownerTypes(layer, owners));
    const byRate = new Map<number, Param[]>();
    for (const p of this.network.trainableParams()) {
      const type = owners.get(p.value) ?? '';
      const rate = this.config.rates[type] ?? 1;
      if (rate === 0) continue;
      const group = byRate.get(rate);
      if (group) group.push(p);
      else byRate.set(rate, [p]);
    }
    return [...byRate].map(([rate, params]) => ({ rate, params }));
  }

  private update(rate: number): void {
    if (this.config.clipNorm > 0) clipGradNorm(this.network.trainableParams(), this.config.clipNorm);
    for (const g of this.rateGroups()) this.optimizer.step(g.params, rate * g.rate, this.ctx.backend);
    this.network.zeroGrad(); // frozen layers pass gradients through but never apply them
    this.batchRows = 0;
    this.batchLoss = 0;
    this.tweenSteps++;
  }

  private record(loss: number): void {
    if (!Number.isFinite(loss)) throw new LoomError('LOOM_ERR_NAN_LOSS', `tween loss became ${loss} at tween step ${this.tweenSteps + 1}: lower the rate or set clipNorm`);
    this.lossHistory.push(loss);
  }

  /** Targets, gaps, link budgets and the depth barrier from the recorded activations and (weight-scaled) gradients. */
  private measureGaps(depth: number, gradScale: number): void {
    const step = this.config.targetStep * gradScale;
    this.backwardTargets = new Array<Float32Array>(depth + 1);
    this.gaps = [];
    this.linkBudgets = [];
    this.depthBarrier = [];
    let barrier = 1;
    for (let i = 0; i < depth; i++) {
      const act = this.forwardActs[i + 1] as Float32Array;
      const grad = this.chainGradients[i + 1] as Float32Array;
      const target = new Float32Array(act.length);
      let dot = 0;
      let na = 0;
      let nt = 0;
      let sq = 0;
      for (let k = 0; k < act.length; k++) {
        const a = act[k] as number;
        const t = a - step * ((grad[k] as number) || 0);
        target[k] = t;
        dot += a * t;
        na += a * a;
        nt += t * t;
        sq += (a - t) * (a - t);
      }
      this.backwardTargets[i + 1] = target;
      const budget = na < 1e-3 || nt < 1e-3 ? 0.5 : (dot / Math.sqrt(na * nt) + 1) / 2;
      this.linkBudgets.push(budget);
      this.gaps.push(act.length ? sq / act.length : 0);
      barrier *= budget;
      this.depthBarrier.push(barrier);
    }
  }

  /** LOOM's explosion detection: a 10-sample baseline, then shrink the rate while the mean gap explodes. */
  private adaptiveMultiplier(): number {
    if (!this.config.explosionDetection) return 1;
    const gap = this.gaps.reduce((s, v) => s + v, 0) / Math.max(1, this.gaps.length);
    if (this.gapSamples < 10) {
      this.baselineGap = (this.baselineGap * this.gapSamples + gap) / (this.gapSamples + 1);
      this.gapSamples++;
    } else {
      const growth = this.prevGap > 0 ? gap / this.prevGap : 1;
      if (growth > 1.5 || gap > 10 * this.baselineGap) {
        this.explosions++;
        const factor = this.explosions > 10 ? 0.3 : this.explosions > 5 ? 0.5 : 0.7;
        this.adaptiveRate = Math.max(0.01, this.adaptiveRate * factor);
      } else {
        this.explosions = 0;
        this.adaptiveRate = Math.min(1, this.adaptiveRate * 1.05);
      }
    }
    this.prevGap = gap;
    return this.adaptiveRate;
  }
}

/**
 * LOOM's StepTweenChain: the stepping pipeline produces the outputs an agent acts on, while each incoming sample
 * also gets an immediate chain-rule tween step. Outputs lag the input by depth−1 steps (`outputTag` says which
 * input an output belongs to); the updates do not.
 */
export class StepTweenChain {
  readonly state: StepState;
  readonly tween: TweenState;

  constructor(readonly network: Network, config: Partial<TweenConfig> = {}) {
    this.state = new StepState(network);
    this.tween = new TweenState(network, config);
  }

  /** Feeds `x` into the pipeline (returning its current output) and tweens on (x, y). */
  step(x: Tensor, y: Targets, rate: number): { output: Tensor | undefined; outputTag: number | undefined; loss: number } {
    const output = stepForward(this.network, this.state, x, { training: false, ...(this.tween.config.backend ? { backend: this.tween.config.backend } : {}) });
    const outputTag = this.state.outputTag();
    const loss = this.tween.tweenStep(x, y, rate);
    return { output, outputTag, loss };
  }
}

/** Training options for tweening: the shared TrainOptions plus the tween knobs. */
export interface TweenTrainOptions extends TrainOptions {
  readonly tween?: Partial<TweenConfig>;
}

/**
 * Epoch training with tweening in batch mode: `batchSize` samples per micro-batch, `accumulate` micro-batches per
 * averaged update, the learning rate from `schedule` times each layer type's rate. With `batchSize` 1 and
 * `accumulate` 1 every sample gets its own chain-rule tween step, as LOOM's TweenState.Train did.
 * The optimizer is `options.optimizer`, else the tween config's (SGD momentum 0.9).
 */
export function trainTweening(network: Network, data: Dataset, options: TweenTrainOptions): TrainResult {
  const batchSize = positiveInt('batchSize', options.batchSize ?? 32);
  const accumulate = positiveInt('accumulate', options.accumulate ?? 1);
  const baseLr = checkedLearningRate(options);
  const samples = data.x.shape[0] as number;
  const groupSize = batchSize * accumulate;
  const totalSteps = positiveInt('epochs', options.epochs) * Math.ceil(samples / groupSize);
  const schedule = typeof options.schedule === 'function' ? options.schedule : makeSchedule(options.schedule ?? 'constant', baseLr, totalSteps);
  const tween = new TweenState(network, {
    ...options.tween,
    ...(options.optimizer !== undefined ? { optimizer: options.optimizer } : {}),
    ...(options.clipNorm ? { clipNorm: options.clipNorm } : {}),
    ...(options.loss !== undefined ? { loss: options.loss } : {}),
    ...(options.backend ? { backend: options.backend } : {}),
    seed: options.seed ?? 0,
  });
  let step = 0;
  return runEpochs(network, data, options, (order, epoch) => {
    const totals = { lossSum: 0, correct: 0, rows: 0, lr: schedule(step), steps: 0, aborted: false };
    for (let groupStart = 0; groupStart < order.length; groupStart += groupSize) {
      if (options.signal?.aborted) {
        totals.aborted = true;
        break;
      }
      const groupEnd = Math.min(order.length, groupStart + groupSize);
      for (let start = groupStart; start < groupEnd; start += batchSize) {
        const rows = order.subarray(start, Math.min(groupEnd, start + batchSize));
        const result = tween.accumulate(gatherRows(data.x, rows), gatherTargets(data.y, rows, rows.length, samples));
        assertFiniteLoss(result.loss, epoch, `tween batch ${Math.floor(start / batchSize) + 1}`);
        totals.lossSum += result.loss * rows.length;
        totals.correct += result.correct;
        totals.rows += result.total;
      }
      totals.lr = schedule(step);
      tween.applyBatch(totals.lr);
      step++;
      totals.steps++;
    }
    return totals;
  });
}
