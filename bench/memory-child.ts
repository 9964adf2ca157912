/**
 * Child process of bench/memory.ts: trains the MLP 784-256-10 (batch 64, Adam) on 6,400 random samples for
 * 2 epochs with one engine, then prints its peak resident set size as one JSON line. A process of its own, so
 * the peak belongs to this training alone; the Loom child never loads tfjs.
 */
import type { Tensor } from '@tensorflow/tfjs';
import type { LayerSpec } from '../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../src/engine/network.js';
import { Rng } from '../src/engine/rng.js';
import { train } from '../src/engine/train/index.js';

const engine = process.argv[2] === 'tfjs-wasm' ? 'tfjs-wasm' : 'loom';
const batch = 64;
const samples = batch * 100;
const epochs = 2;
const mb = (bytes: number): number => bytes / (1024 * 1024);

async function trainTfjs(x: Float32Array, y: Int32Array): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
  const xs = tf.tensor2d(x, [samples, 784]);
  const ys = tf.oneHot(tf.tensor1d(y, 'int32'), 10);
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 256, activation: 'relu', inputShape: [784] }), tf.layers.dense({ units: 10 })] });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: (yt: Tensor, yp: Tensor) => tf.losses.softmaxCrossEntropy(yt, yp) });
  await model.fit(xs, ys, { epochs, batchSize: batch, verbose: 0 });
}

function trainLoom(x: Float32Array, y: Int32Array): void {
  const layers: LayerSpec[] = [{ type: 'dense', units: 256, activation: 'relu' } as LayerSpec, { type: 'dense', units: 10 } as LayerSpec];
  const net = new Network(sequentialNetworkSpec([784], layers), new Rng(2));
  train(net, { x: { data: x, shape: [samples, 784] }, y }, { epochs, batchSize: batch, optimizer: { name: 'adamw', weightDecay: 0 } });
}

const baselineMB = mb(process.memoryUsage().rss);
const rng = new Rng(1);
const x = Float32Array.from({ length: samples * 784 }, () => rng.uniform(-1, 1));
const y = Int32Array.from({ length: samples }, () => Math.floor(rng.uniform(0, 10)));
const started = performance.now();
if (engine === 'loom') trainLoom(x, y);
else await trainTfjs(x, y);
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ engine, baselineMB, peakMB: process.resourceUsage().maxRSS / 1024, samplesPerSecond: (samples * epochs) / seconds }));
