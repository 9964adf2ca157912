import { describe, expect, it } from 'vitest';
import { predict } from '../../src/engine/eval.js';
import { Rng } from '../../src/engine/rng.js';
import { train } from '../../src/engine/train/index.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { BRAIN_TYPES, finishConfig, type TaskShape } from '../../src/search/arch.js';
import { buildNetwork } from '../../src/search/build.js';

const SEQ = 6;
const TOKEN = 4;
const task: TaskShape = { inputShape: [SEQ, TOKEN], numClasses: 2 };

/** Label: is the first feature of the first token plus the second feature of the last token positive? */
function dataset(n: number, seed: number): { x: Tensor; y: Int32Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(n * SEQ * TOKEN);
  const y = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < SEQ * TOKEN; i++) x[s * SEQ * TOKEN + i] = rng.uniform(-1, 1);
    y[s] = (x[s * SEQ * TOKEN] as number) + (x[s * SEQ * TOKEN + (SEQ - 1) * TOKEN + 1] as number) > 0 ? 1 : 0;
  }
  return { x: { data: x, shape: [n, SEQ, TOKEN] }, y };
}

describe('every brain type trains inside a built network', () => {
  const trainSet = dataset(256, 1);
  const testSet = dataset(100, 2);
  for (const brain of BRAIN_TYPES) {
    it(`${brain}: its weights change, the loss falls and held-out accuracy is well above chance`, () => {
      const config = finishConfig({
        id: `train-${brain}`, gridRows: 1, gridCols: 1, brains: [brain], dModel: 8, numHeads: 2, learningRate: 0.01,
        budgetScale: 1, activation: 'tanh', combineMode: 'avg', initScale: 0.5, dtype: 'float32', seqLen: SEQ, tokenDim: TOKEN,
        numClasses: 2, parents: [], origin: 'random', mutations: [],
      });
      const net = buildNetwork(config, task, 3);
      const brainParams = net.params().filter((p) => p.name.startsWith('L1.branch.0.'));
      expect(brainParams.length).toBeGreaterThan(0);
      const before = brainParams.map((p) => Float32Array.from(p.value));
      const result = train(net, trainSet, { epochs: 25, batchSize: 16, learningRate: config.learningRate, seed: 4 });
      const first = result.history[0]!.loss;
      const last = result.history[result.history.length - 1]!.loss;
      expect(last).toBeLessThan(0.5 * first);
      brainParams.forEach((p, i) => {
        let moved = 0;
        for (let k = 0; k < p.value.length; k++) moved = Math.max(moved, Math.abs((p.value[k] as number) - (before[i]![k] as number)));
        expect(moved, `${p.name} never moved`).toBeGreaterThan(1e-3);
      });
      const logits = predict(net, testSet.x).data;
      let correct = 0;
      for (let s = 0; s < 100; s++) if (((logits[2 * s + 1] as number) > (logits[2 * s] as number) ? 1 : 0) === testSet.y[s]) correct++;
      expect(correct).toBeGreaterThanOrEqual(80);
    });
  }
});
