import { describe, expect, it } from 'vitest';
import { calibratedOutputs, calibrateTemperature, fitTemperature, laplaceSmoothing, temperatureLogLoss, uncalibrate } from '../../src/engine/calibration.js';
import { evaluate, predict } from '../../src/engine/eval.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { parseTraining } from '../../src/search/config.js';

describe('fitTemperature', () => {
  it('finds the hand-computed optimum of a two-class case', () => {
    // Every row has logits [a, 0]; 300 of 400 rows are class 0. With one pseudo-observation per class (Laplace's
    // rule) the fit is minimal where sigmoid(a / T) = 301/402, i.e. T = a / ln(301/101).
    const a = 4;
    const rows = 400;
    const logits = new Float32Array(rows * 2);
    const labels = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      logits[r * 2] = a;
      labels[r] = r % 4 === 3 ? 1 : 0;
    }
    expect(fitTemperature(logits, labels, 2)).toBeCloseTo(a / Math.log(301 / 101), 6);
  });

  it('stays finite on validation data the model gets entirely right: no more confidence than n rows support', () => {
    // 60 rows, all class 0 with logits [a, 0]: without smoothing every sharpening lowers the loss and the fit runs
    // to the 50× limit. With Laplace's rule the optimum is sigmoid(a / T) = 61/62.
    const a = 3;
    const rows = 60;
    const logits = new Float32Array(rows * 2);
    for (let r = 0; r < rows; r++) logits[r * 2] = a;
    const labels = new Int32Array(rows);
    expect(fitTemperature(logits, labels, 2)).toBeCloseTo(a / Math.log(61), 6);
    expect(laplaceSmoothing(rows, 2)).toBeCloseTo(2 / 62, 12);
    expect(temperatureLogLoss(logits, labels, 2, 0.02)).toBeLessThan(temperatureLogLoss(logits, labels, 2, a / Math.log(61)));
  });

  it('agrees with a brute-force scan of the smoothed log-loss on random logits', () => {
    const rng = new Rng(5);
    const n = 300;
    const c = 5;
    const logits = Float32Array.from({ length: n * c }, () => rng.uniform(-6, 6));
    // Labels drawn from a softer distribution than the logits say: the best T is above 1.
    const labels = Int32Array.from({ length: n }, (_, r) => {
      const row = Array.from({ length: c }, (_, j) => Math.exp((logits[r * c + j] as number) / 3));
      let u = rng.uniform(0, row.reduce((s, v) => s + v, 0));
      for (let j = 0; j < c; j++) if ((u -= row[j] as number) <= 0) return j;
      return c - 1;
    });
    const fitted = fitTemperature(logits, labels, c);
    let bestT = 1;
    let bestLoss = Infinity;
    const smoothing = laplaceSmoothing(n, c);
    for (let t = 0.05; t <= 20; t *= 1.001) {
      const loss = temperatureLogLoss(logits, labels, c, t, smoothing);
      if (loss < bestLoss) [bestLoss, bestT] = [loss, t];
    }
    expect(fitted).toBeGreaterThan(1.5);
    expect(Math.abs(fitted - bestT) / bestT).toBeLessThan(0.002);
    expect(temperatureLogLoss(logits, labels, c, fitted, smoothing)).toBeLessThanOrEqual(bestLoss + 1e-9);
  });

  it('refuses labels outside the classes and mismatched sizes', () => {
    expect(() => fitTemperature(new Float32Array(4), Int32Array.from([0, 2]), 2)).toThrow(/label 2 of row 1/);
    expect(() => fitTemperature(new Float32Array(5), Int32Array.from([0, 1]), 2)).toThrow(/5 logits for 2 rows/);
  });
});

describe('calibrateTemperature on a network', () => {
  const layers: LayerSpec[] = [{ type: 'dense', units: 8, activation: 'tanh' } as LayerSpec, { type: 'dense', units: 3 } as LayerSpec];
  const data = (seed: number): { x: { data: Float32Array; shape: number[] }; y: Int32Array } => {
    const rng = new Rng(seed);
    const n = 120;
    const x = { data: Float32Array.from({ length: n * 4 }, () => rng.uniform(-1, 1)), shape: [n, 4] };
    // Noisy labels: a weakly predictable target, so the untrained net's confidence is wrong.
    const y = Int32Array.from({ length: n }, (_, r) => (((x.data[r * 4] as number) > 0 ? 1 : 0) + (rng.uniform(0, 1) < 0.3 ? 1 : 0)) % 3);
    return { x, y };
  };

  it('keeps every prediction, lowers the log-loss on the data it was fitted on, and outputs softmax(logits / T)', () => {
    const net = new Network(sequentialNetworkSpec([4], layers), new Rng(2));
    // Sharpen the output layer so the uncalibrated net is over-confident.
    for (const p of net.layers[1]?.params() ?? []) for (let i = 0; i < p.value.length; i++) p.value[i] = (p.value[i] as number) * 8;
    const { x, y } = data(1);
    const logitsBefore = Float32Array.from(predict(net, x).data);
    const before = evaluate(net, { x, y });
    const calibration = calibrateTemperature(net, x, y);
    const after = evaluate(net, { x, y });
    expect(calibration.applied).toBe(true);
    expect(calibration.temperature).toBeGreaterThan(1);
    expect(after.predictions).toEqual(before.predictions);
    expect(after.loss).toBeLessThan(before.loss);
    expect(after.loss).toBeCloseTo(temperatureLogLoss(logitsBefore, y, 3, calibration.temperature), 4);
    const scaled = predict(net, x).data;
    logitsBefore.forEach((z, i) => expect(scaled[i]).toBeCloseTo(z / calibration.temperature, 4));
  });

  it('uncalibrate restores the output layer training produced; a network without a logit layer is left alone', () => {
    const net = new Network(sequentialNetworkSpec([4], layers), new Rng(3));
    for (const p of net.layers[1]?.params() ?? []) for (let i = 0; i < p.value.length; i++) p.value[i] = (p.value[i] as number) * 8;
    const trained = net.params().map((p) => Float32Array.from(p.value));
    const { x, y } = data(3);
    const { temperature } = calibrateTemperature(net, x, y);
    expect(Math.abs(temperature - 1)).toBeGreaterThan(0.1);
    expect(uncalibrate(net, temperature)).toBe(true);
    net.params().forEach((p, k) => p.value.forEach((v, i) => expect(v).toBeCloseTo(trained[k]![i]!, 5)));
    const withSoftmax = new Network(sequentialNetworkSpec([4], [...layers, { type: 'softmax' } as LayerSpec]), new Rng(2));
    const before = withSoftmax.params().map((p) => Float32Array.from(p.value));
    expect(uncalibrate(withSoftmax, 2)).toBe(false);
    expect(withSoftmax.params().map((p) => Float32Array.from(p.value))).toEqual(before);
    expect(() => uncalibrate(net, 0)).toThrow(/temperature/);
  });

  it('calibratedOutputs gives the outputs calibration would, leaving the network as it is', () => {
    const net = new Network(sequentialNetworkSpec([4], layers), new Rng(4));
    for (const p of net.layers[1]?.params() ?? []) for (let i = 0; i < p.value.length; i++) p.value[i] = (p.value[i] as number) * 8;
    const { x, y } = data(4);
    const trained = net.params().map((p) => Float32Array.from(p.value));
    const { output, calibration } = calibratedOutputs(net, predict(net, x), y);
    expect(net.params().map((p) => Float32Array.from(p.value))).toEqual(trained);
    expect(calibration.applied).toBe(true);
    expect(calibration.temperature).toBeGreaterThan(1);
    const folded = calibrateTemperature(net, x, y);
    expect(folded.temperature).toBe(calibration.temperature);
    const scaled = predict(net, x).data;
    output.data.forEach((z, i) => expect(z).toBeCloseTo(scaled[i] as number, 5));
    const withSoftmax = new Network(sequentialNetworkSpec([4], [...layers, { type: 'softmax' } as LayerSpec]), new Rng(2));
    const probs = predict(withSoftmax, x);
    expect(calibratedOutputs(withSoftmax, probs, y)).toEqual({ output: probs, calibration: { temperature: 1, applied: false } });
  });

  it('leaves a network that ends in a softmax layer unchanged', () => {
    const net = new Network(sequentialNetworkSpec([4], [...layers, { type: 'softmax' } as LayerSpec]), new Rng(2));
    const { x, y } = data(2);
    const before = Float32Array.from(predict(net, x).data);
    expect(calibrateTemperature(net, x, y)).toEqual({ temperature: 1, applied: false });
    expect(predict(net, x).data).toEqual(before);
  });
});

describe('training.calibration in a search config', () => {
  it('defaults to temperature, accepts none and refuses anything else', () => {
    expect(parseTraining({}).calibration).toBe('temperature');
    expect(parseTraining({ calibration: 'none' }).calibration).toBe('none');
    expect(() => parseTraining({ calibration: 'platt' })).toThrow(/training\.calibration/);
  });
});
