import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { evaluate, evaluateOutput, predict } from '../../src/engine/eval.js';
import { decodeLoomModel, encodeLoomModel } from '../../src/engine/io/loom-format.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { train, type TrainOptions, type TrainResult, type TrainState } from '../../src/engine/train/loop.js';
import { trainWithMode } from '../../src/engine/train/modes.js';
import { decodeTrainState, encodeTrainState } from '../../src/engine/train/state.js';
import { gaussianBlobs } from '../helpers/blobs.js';

/**
 * Pause and resume (TrainOptions.pauseAt / resume): a run paused anywhere, carried across a "process boundary" (the
 * network as a Loom model file, the state as bytes) and resumed ends with the very weights and history of the run
 * that never paused. Dropout and a cosine schedule make the noise stream and the schedule's position matter.
 */

const net = (seed = 1): Network =>
  new Network(
    sequentialNetworkSpec([4], [
      { type: 'dense', units: 12, activation: 'relu' },
      { type: 'dropout', rate: 0.3 },
      { type: 'dense', units: 3 },
    ] as never),
    new Rng(seed),
  );

const blobs = (n: number, seed: number): { x: Tensor; y: Int32Array } => gaussianBlobs(n, seed, 0.9);

const data = blobs(90, 1);
const validation = blobs(30, 2);
// 90 rows in batches of 8: 12 steps an epoch, the last one short.
const options: TrainOptions = { epochs: 3, batchSize: 8, learningRate: 0.01, optimizer: 'adamw', schedule: 'cosine', seed: 7, validation };

const weights = (n: Network): number[][] => n.params().map((p) => Array.from(p.value));
/** History without wall times (a resumed run does not repeat the paused one's clock). */
const curve = (r: TrainResult): unknown[] => r.history.map(({ ms: _ms, ...m }) => m);

/** Through bytes, as a worker would hand a paused model to another: weights as a Loom file, the state encoded. */
function carry(network: Network, state: TrainState): { network: Network; state: TrainState } {
  return { network: decodeLoomModel(encodeLoomModel(network)).network, state: decodeTrainState(encodeTrainState(state)) };
}

describe('pausing and resuming training', () => {
  const straight = net();
  const reference = train(straight, data, options);

  it('ends, after a pause mid-epoch and a resume elsewhere, with the weights and history of the run that never paused', () => {
    const first = net();
    const paused = train(first, data, { ...options, pauseAt: 0.3 });
    expect(paused.stopReason).toBe('paused');
    expect(paused.history).toEqual([]); // no epoch ended yet
    expect(paused.paused?.epoch).toBe(1);
    expect(paused.paused?.rowsDone).toBe(32); // the step reaching 0.3 of 90 rows ends at row 32
    expect(paused.paused?.step).toBe(4);
    // The pause changed something: training stopped short of the reference.
    expect(weights(first)).not.toEqual(weights(straight));

    const moved = carry(first, paused.paused as TrainState);
    const resumed = train(moved.network, data, { ...options, resume: moved.state });
    expect(resumed.stopReason).toBe('completed');
    expect(weights(moved.network)).toEqual(weights(straight));
    expect(curve(resumed)).toEqual(curve(reference));
    expect(resumed.steps).toBe(reference.steps);
    expect(resumed.bestEpoch).toBe(reference.bestEpoch);
  });

  it('pauses at an epoch boundary after that epoch is validated, and chains pauses', () => {
    let network = net();
    const atOne = train(network, data, { ...options, pauseAt: 1 });
    expect(atOne.stopReason).toBe('paused');
    expect(atOne.history.map((m) => m.epoch)).toEqual([1]);
    expect(atOne.history[0]?.valAccuracy).toBe(reference.history[0]?.valAccuracy);
    expect(atOne.paused).toMatchObject({ epoch: 2, rowsDone: 0, step: 12 });
    // That epoch's validation outputs come with the pause: the paused network's, scored as evaluate scores it.
    expect(Array.from(atOne.validationAtPause?.data ?? [])).toEqual(Array.from(predict(network, validation.x).data));
    expect(evaluateOutput(network, atOne.validationAtPause as Tensor, validation)).toEqual(evaluate(network, validation));

    let state = atOne.paused as TrainState;
    for (const pauseAt of [1.5, 2.9]) {
      ({ network, state } = carry(network, state));
      const next = train(network, data, { ...options, pauseAt, resume: state });
      expect(next.stopReason).toBe('paused');
      state = next.paused as TrainState;
    }
    expect(state).toMatchObject({ epoch: 3, rowsDone: 88 });
    // Mid-epoch pauses validate nothing there: no outputs handed over.
    expect(train(net(), data, { ...options, pauseAt: 0.3 }).validationAtPause).toBeUndefined();
    ({ network, state } = carry(network, state));
    const last = train(network, data, { ...options, resume: state });
    expect(weights(network)).toEqual(weights(straight));
    expect(curve(last)).toEqual(curve(reference));
  });

  it('a pause at or past the last epoch changes nothing', () => {
    const network = net();
    const result = train(network, data, { ...options, pauseAt: 3 });
    expect(result.stopReason).toBe('completed');
    expect(result.paused).toBeUndefined();
    expect(weights(network)).toEqual(weights(straight));
  });

  it('keeps every optimizer buffer through the bytes, and refuses bytes that are not a training state', () => {
    const paused = train(net(), data, { ...options, pauseAt: 0.5 }).paused as TrainState;
    const back = decodeTrainState(encodeTrainState(paused));
    expect(back.optimizer.name).toBe('adamw');
    expect(back.optimizer.slots.map((s) => Object.keys(s).sort())).toEqual(paused.optimizer.slots.map((s) => Object.keys(s).sort()));
    paused.optimizer.slots.forEach((slots, i) => {
      for (const [name, buf] of Object.entries(slots)) expect(Array.from(back.optimizer.slots[i]?.[name] ?? [])).toEqual(Array.from(buf));
    });
    expect(Array.from(back.order)).toEqual(Array.from(paused.order));
    expect(back.shuffleRng).toEqual(paused.shuffleRng);
    expect(back.rng).toEqual(paused.rng);

    const bytes = encodeTrainState(paused);
    expect(() => decodeTrainState(bytes.subarray(0, bytes.length - 4))).toThrow(/not a Loom training state: it is \d+ bytes, its header describes \d+/);
    expect(() => decodeTrainState(new TextEncoder().encode('{"epoch": 1}'))).toThrow(/does not start with LOOMTRS1/);
    const garbled = Uint8Array.from(bytes);
    garbled[14] = 0x7b; // a brace inside the JSON header
    expect(() => decodeTrainState(garbled)).toThrow(LoomError);
  });

  it('refuses what it cannot honour: another mode, early stopping, other data, a pause before the resume point', () => {
    const paused = train(net(), data, { ...options, pauseAt: 1.5 }).paused as TrainState;
    expect(() => trainWithMode(net(), data, { ...options, mode: 'step', pauseAt: 1 })).toThrow(/pausing and resuming need training mode "normal"/);
    expect(() => train(net(), data, { ...options, pauseAt: 1, earlyStopping: { patience: 2 } })).toThrow(/cannot be combined with earlyStopping/);
    expect(() => train(net(), blobs(60, 3), { ...options, resume: paused })).toThrow(/trained on 90 rows, this data has 60/);
    expect(() => train(net(), data, { ...options, pauseAt: 1.2, resume: paused })).toThrow(/1.2 is not past the point the run resumes from/);
    expect(() => train(net(), data, { ...options, optimizer: 'sgd', resume: paused })).toThrow(/saved training state is of adamw, this training uses sgd/);
    const smaller = new Network(sequentialNetworkSpec([4], [{ type: 'dense', units: 3 }] as never), new Rng(1));
    expect(() => train(smaller, data, { ...options, resume: paused })).toThrow(/has 4 parameters, the network 2/);
  });
});
