import { describe, expect, it } from 'vitest';
import { calibrateTemperature, fitTemperature, temperatureLogLoss } from '../../src/engine/calibration.js';
import { evaluate, predict } from '../../src/engine/eval.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { parseTraining } from '../../src/search/config.js';

describe('fitTemperature', () => {
  it('finds the hand-computed optimum of a two-class case', () => {
    // Every row has logits [a, 0]; 3 of 4 rows are class 0. The log-loss is minimal where sigmoid(a / T) = 3/4,
    // i.e. T = a / ln 3.
    const a = 4;
    const rows = 400;
    const logits = new Float32Array(rows * 2);
    const labels = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      logits[r * 2] = a;
      labels[r] = r % 4 === 3 ? 1 : 0;
    }
    expect(fitTemperature(logits, labels, 2)).toBeCloseTo(a / Math.log(3), 6);
  });

  it('agrees with a brute-force scan of the log-loss on random logits', () => {
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
    for (let t = 0.05; t <= 20; t *= 1.001) {
      const loss = temperatureLogLoss(logits, labels, c, t);
      if (loss < bestLoss) [bestLoss, bestT] = [loss, t];
    }
    expect(fitted).toBeGreaterThan(1.5);
    expect(Math.abs(fitted - bestT) / bestT).toBeLessThan(0.002);
    expect(temperatureLogLoss(logits, labels, c, fitted)).toBeLessThanOrEqual(bestLoss + 1e-9);
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
