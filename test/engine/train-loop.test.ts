import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { evaluate } from '../../src/engine/eval.js';
import { makeParam } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { tensor, type Tensor } from '../../src/engine/tensor.js';
import { clipGradNorm, globalGradNorm } from '../../src/engine/train/clip.js';
import { train, type EpochMetrics, type TrainOptions } from '../../src/engine/train/loop.js';
import { gaussianBlobs } from '../helpers/blobs.js';

const mlp = (seed = 1, hidden = 8): Network =>
  new Network(
    sequentialNetworkSpec([4], [
      { type: 'dense', units: hidden, activation: 'tanh' },
      { type: 'dense', units: 3 },
    ] as never),
    new Rng(seed),
  );

/** Three Gaussian blobs in 4-D, labelled by blob. */
const blobs = (n: number, seed: number): { x: Tensor; y: Int32Array } => gaussianBlobs(n, seed, 0.7);

const weights = (net: Network): Float32Array[] => net.params().map((p) => Float32Array.from(p.value));
const maxDiff = (a: Float32Array[], b: Float32Array[]): number =>
  Math.max(...a.map((arr, i) => Math.max(...arr.map((v, j) => Math.abs(v - (b[i] as Float32Array)[j]!)))));

describe('gradient clipping', () => {
  it('scales all gradients together when their joint norm exceeds the limit', () => {
    const a = makeParam('a', [2]);
    const b = makeParam('b', [1]);
    a.grad.set([3, 0]);
    b.grad.set([4]);
    expect(globalGradNorm([a, b])).toBe(5);
    expect(clipGradNorm([a, b], 10)).toBe(5);
    expect(Array.from(a.grad)).toEqual([3, 0]);
    expect(clipGradNorm([a, b], 1)).toBe(5);
    expect(Array.from(a.grad)).toEqual([Math.fround(0.6), 0]);
    expect(Array.from(b.grad)).toEqual([Math.fround(0.8)]);
  });

  it('bounds each SGD step in train()', () => {
    const net = mlp();
    const before = weights(net);
    train(net, blobs(12, 1), { epochs: 1, batchSize: 12, learningRate: 1, optimizer: 'sgd', clipNorm: 0.01 });
    const after = weights(net);
    let sq = 0;
    before.forEach((arr, i) => arr.forEach((v, j) => (sq += (after[i]![j]! - v) ** 2)));
    expect(Math.sqrt(sq)).toBeLessThanOrEqual(0.01 + 1e-6);
    expect(Math.sqrt(sq)).toBeGreaterThan(0.009);
  });
});

describe('gradient accumulation', () => {
  const sgdStep: TrainOptions = { epochs: 1, learningRate: 0.5, optimizer: 'sgd', shuffle: false };

  it('2 micro-batches of 8 make the same step as 1 batch of 16', () => {
    const data = blobs(16, 2);
    const whole = mlp(3);
    const micro = mlp(3);
    const start = weights(whole);
    const r1 = train(whole, data, { ...sgdStep, batchSize: 16 });
    const r2 = train(micro, data, { ...sgdStep, batchSize: 8, accumulate: 2 });
    expect(r1.steps).toBe(1);
    expect(r2.steps).toBe(1);
    expect(maxDiff(weights(whole), weights(micro))).toBeLessThan(1e-6);
    expect(maxDiff(weights(whole), start)).toBeGreaterThan(1e-2);
    // and it is not "the last micro-batch only" (LOOM's accumulation)
    const lastOnly = mlp(3);
    train(lastOnly, { x: tensor([8, 4], data.x.data.slice(32)), y: data.y.slice(8) }, { ...sgdStep, batchSize: 8 });
    expect(maxDiff(weights(lastOnly), weights(micro))).toBeGreaterThan(1e-3);
  });

  it('weights uneven micro-batches by their size (8 + 6 == 14)', () => {
    const data = blobs(14, 4);
    const whole = mlp(5);
    const micro = mlp(5);
    train(whole, data, { ...sgdStep, batchSize: 14 });
    train(micro, data, { ...sgdStep, batchSize: 8, accumulate: 2 });
    expect(maxDiff(weights(whole), weights(micro))).toBeLessThan(1e-6);
  });
});

describe('train()', () => {
  it('learns separable blobs and reports per-epoch metrics', () => {
    const net = mlp(7);
    const seen: EpochMetrics[] = [];
    const result = train(net, blobs(90, 8), {
      epochs: 6,
      batchSize: 10,
      learningRate: 0.05,
      schedule: 'linear',
      validation: blobs(30, 9),
      validateEvery: 4,
      onEpoch: (m) => seen.push(m),
    });
    expect(result.stopReason).toBe('completed');
    expect(result.lossName).toBe('softmax_cross_entropy');
    expect(result.steps).toBe(6 * 9);
    expect(seen).toEqual(result.history);
    expect(seen.map((m) => m.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    // validated at epoch 4 and at the last epoch only
    expect(seen.map((m) => m.valLoss !== undefined)).toEqual([false, false, false, true, false, true]);
    // linear decay over 54 steps from 0.05 to 0.0005: the last step of epoch e is step 9e − 1
    seen.forEach((m) => expect(m.lr).toBeCloseTo(0.05 + ((0.0005 - 0.05) * (9 * m.epoch - 1)) / 54, 10));
    expect(seen[5]!.loss).toBeLessThan(seen[0]!.loss);
    expect(seen[5]!.accuracy).toBeGreaterThan(0.85);
    expect(seen[5]!.valAccuracy).toBeGreaterThan(0.85);
    seen.forEach((m) => expect(m.ms).toBeGreaterThanOrEqual(0));
    // the reported validation numbers are those of the final weights
    const check = evaluate(net, blobs(30, 9));
    expect(seen[5]!.valLoss).toBeCloseTo(check.loss, 6);
    expect(seen[5]!.valAccuracy).toBeCloseTo(check.accuracy, 10);
  });

  it('the same seed gives identical weights; another seed does not', () => {
    const data = blobs(30, 10);
    const opts: TrainOptions = { epochs: 3, batchSize: 4, learningRate: 0.01, seed: 42 };
    const a = mlp(1);
    const b = mlp(1);
    const c = mlp(1);
    train(a, data, opts);
    train(b, data, opts);
    train(c, data, { ...opts, seed: 43 });
    expect(maxDiff(weights(a), weights(b))).toBe(0);
    expect(maxDiff(weights(a), weights(c))).toBeGreaterThan(1e-4);
  });

  it('early stopping restores the best validated weights', () => {
    const data = blobs(60, 11);
    // a quarter of the validation labels rotated: validation loss falls, then rises as the fit grows confident
    const val = blobs(30, 12);
    const rotated = { x: val.x, y: val.y.map((c, i) => (i % 4 === 0 ? (c + 1) % 3 : c)) };
    const net = mlp(13);
    const snapshots: Float32Array[][] = [];
    const result = train(net, data, {
      epochs: 40,
      batchSize: 10,
      learningRate: 0.01,
      validation: rotated,
      earlyStopping: { patience: 3 },
      onEpoch: () => snapshots.push(weights(net)),
    });
    expect(result.stopReason).toBe('early_stopping');
    const valLosses = result.history.map((m) => m.valLoss as number);
    const best = valLosses.indexOf(Math.min(...valLosses)) + 1;
    expect(result.bestEpoch).toBe(best);
    expect(best).toBeGreaterThan(2);
    expect(result.history.length).toBe(best + 3);
    expect(maxDiff(weights(net), snapshots[best - 1]!)).toBe(0);
    expect(maxDiff(weights(net), snapshots[snapshots.length - 1]!)).toBeGreaterThan(1e-4);
  });

  it('early stopping on accuracy waits for an increase', () => {
    const net = mlp(14);
    const result = train(net, blobs(60, 15), {
      epochs: 30,
      batchSize: 10,
      learningRate: 0.05,
      validation: blobs(30, 16),
      earlyStopping: { monitor: 'valAccuracy', patience: 2 },
    });
    const accs = result.history.map((m) => m.valAccuracy as number);
    const bestEpoch = result.bestEpoch as number;
    expect(accs[bestEpoch - 1]).toBe(Math.max(...accs));
    // the first epoch reaching the maximum is the best (later ties are not improvements)
    expect(accs.indexOf(Math.max(...accs)) + 1).toBe(bestEpoch);
    expect(result.stopReason).toBe('early_stopping');
    expect(result.history.length).toBe(bestEpoch + 2);
  });

  it('a NaN loss stops training with LOOM_ERR_NAN_LOSS naming the epoch', () => {
    const net = mlp(17);
    let caught: unknown;
    try {
      train(net, blobs(20, 18), {
        epochs: 5,
        batchSize: 5,
        onEpoch: (m) => {
          if (m.epoch === 2) net.params()[0]!.value[0] = NaN;
        },
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(LoomError);
    expect((caught as LoomError).code).toBe('LOOM_ERR_NAN_LOSS');
    expect((caught as LoomError).message).toMatch(/epoch 3 \(batch 1\)/);
  });

  it('an AbortSignal stops training between steps', () => {
    const controller = new AbortController();
    const result = train(mlp(19), blobs(20, 20), {
      epochs: 10,
      batchSize: 5,
      signal: controller.signal,
      onEpoch: (m) => m.epoch === 2 && controller.abort(),
    });
    expect(result.stopReason).toBe('aborted');
    expect(result.history.length).toBe(2);
    expect(result.steps).toBe(8);
  });

  it('frozen layers keep their weights and still pass gradients', () => {
    const net = mlp(21);
    net.setFrozen(0, true);
    const before = weights(net);
    train(net, blobs(20, 22), { epochs: 2, batchSize: 5, learningRate: 0.05 });
    const after = weights(net);
    expect(maxDiff(after.slice(0, 2), before.slice(0, 2))).toBe(0);
    expect(maxDiff(after.slice(2), before.slice(2))).toBeGreaterThan(1e-3);
  });

  it('trains a regression target with MSE', () => {
    const net = new Network(sequentialNetworkSpec([1], [{ type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 1 }] as never), new Rng(3));
    const n = 64;
    const x = tensor([n, 1], Array.from({ length: n }, (_, i) => -1 + (2 * i) / (n - 1)));
    const y = tensor([n, 1], Array.from(x.data, (v) => v * v));
    const result = train(net, { x, y }, { epochs: 200, batchSize: 16, learningRate: 0.02 });
    expect(result.lossName).toBe('mse');
    expect(result.history[199]!.loss).toBeLessThan(0.01);
    expect(result.history[199]!.loss).toBeLessThan(result.history[0]!.loss / 5);
  });

  it('rejects bad options and mismatched data', () => {
    const net = mlp();
    const data = blobs(6, 1);
    expect(() => train(net, data, { epochs: 0 })).toThrow(/epochs/);
    expect(() => train(net, data, { epochs: 1, earlyStopping: { patience: 2 } })).toThrow(/needs validation/);
    expect(() => train(net, { x: data.x, y: data.y.slice(1) }, { epochs: 1 })).toThrow(/5 target rows for 6 samples/);
    expect(() => train(net, { x: tensor([2, 3]), y: [0, 1] }, { epochs: 1 })).toThrow(/the network takes \[4\]/);
  });
});

describe('the per-step hook', () => {
  it('reports each optimizer step\'s progress in epochs and the epoch\'s running mean loss', () => {
    const data = blobs(50, 4);
    const steps: { epochs: number; loss: number }[] = [];
    const result = train(mlp(), data, { epochs: 2, batchSize: 16, seed: 1, learningRate: 0.05, onStep: (p) => steps.push(p) });
    // 50 rows in batches of 16: 4 steps an epoch, ending at 16, 32, 48 and 50 rows.
    expect(steps.map((s) => s.epochs)).toEqual([16 / 50, 32 / 50, 48 / 50, 1, 1 + 16 / 50, 1 + 32 / 50, 1 + 48 / 50, 2]);
    expect(result.steps).toBe(steps.length);
    // The running mean at each epoch's last step is that epoch's loss.
    expect(steps[3]!.loss).toBeCloseTo(result.history[0]!.loss, 6);
    expect(steps[7]!.loss).toBeCloseTo(result.history[1]!.loss, 6);
  });
});
