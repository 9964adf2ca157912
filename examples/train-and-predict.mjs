// Train a small classifier on iris, save it with its preprocessing, load it back and predict on raw measurements.
// Run: node examples/train-and-predict.mjs   (after `npm install`, which builds dist/)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Network, Rng, evaluate, loadDataset, loadModel, predict, preprocessingFor, saveModel, sequentialNetworkSpec, splitTensors, train } from 'loom';

const data = loadDataset('iris', { splitSeed: 1 }); // split 70/15/15, z-scored with the train split's statistics
const network = new Network(
  sequentialNetworkSpec(data.inputShape, [
    { type: 'dense', units: 16, activation: 'tanh' },
    { type: 'dense', units: data.numClasses },
  ]),
  new Rng(1),
);
train(network, splitTensors(data, data.train), { epochs: 60, batchSize: 16, learningRate: 0.02, seed: 1 });
const { accuracy } = evaluate(network, splitTensors(data, data.test));
console.log(`test accuracy ${(accuracy * 100).toFixed(1)}%`);

const dir = mkdtempSync(join(tmpdir(), 'loom-example-'));
try {
  const file = join(dir, 'iris.loom');
  saveModel(file, network, 'loom', { preprocessing: preprocessingFor(data) });
  const model = loadModel(file);
  // Raw measurements, as a user has them: sepal length, sepal width, petal length, petal width (cm).
  const predictions = predict(model, [
    [5.1, 3.5, 1.4, 0.2],
    [6.7, 3.0, 5.2, 2.3],
  ]);
  for (const p of predictions) console.log(`${p.label} (${(Math.max(...p.probabilities) * 100).toFixed(1)}%)`);
  if (accuracy < 0.8 || predictions[0].label !== 'setosa') process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
