// Export a trained model to ONNX (opset 17): the normalization runs inside the graph, so ONNX runtimes take raw rows.
// Run: node examples/export-onnx.mjs [OUT.onnx]
import { writeFileSync } from 'node:fs';
import { Network, Rng, exportOnnx, loadDataset, preprocessingFor, sequentialNetworkSpec, splitTensors, train } from 'loom';

const data = loadDataset('iris', { splitSeed: 2 });
const network = new Network(
  sequentialNetworkSpec(data.inputShape, [
    { type: 'dense', units: 12, activation: 'relu' },
    { type: 'dense', units: data.numClasses },
    { type: 'softmax' },
  ]),
  new Rng(2),
);
train(network, splitTensors(data, data.train), { epochs: 30, batchSize: 16, learningRate: 0.02, seed: 2 });
const bytes = exportOnnx(network, { preprocessing: preprocessingFor(data), modelId: 'iris' });
const out = process.argv[2];
if (out) writeFileSync(out, bytes);
console.log(`ONNX model: ${bytes.length} bytes${out ? ` written to ${out}` : ''}; input "input" [N, 4] raw values, outputs "output" (probabilities) and "label"`);
