import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { cpuWasmBackend } from '../src/engine/backend/cpu-wasm.js';
import { defaultBackend } from '../src/engine/backend/index.js';
import type { Backend } from '../src/engine/backend/types.js';
import type { LayerSpec } from '../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../src/engine/network.js';
import { Rng } from '../src/engine/rng.js';
import { train } from '../src/engine/train/index.js';
import { startTorch, torchUnavailable } from './torch.js';
import { median, table, timeInterleaved } from './util.js';

/**
 * Training throughput, samples per second with Adam (lr 1e-3, no weight decay) on random data, Loom's real
 * `train()` loop against tfjs-wasm (the anchor: tfjs's fastest backend that installs here), side by side in one
 * process. Each figure is the median of several timed runs after a warm-up.
 */
export interface TrainingCase {
  readonly name: string;
  readonly inputShape: readonly number[];
  readonly classes: number;
  readonly batch: number;
  readonly loom: readonly LayerSpec[];
  /** Builds the same network in tfjs and returns one optimizer step on a fixed batch; null where tfjs-wasm cannot train it. */
  readonly tfjs: ((x: tf.Tensor, y: tf.Tensor) => () => Promise<void> | void) | null;
}

export interface TrainingRow {
  name: string;
  batch: number;
  loom: number;
  /** null where tfjs-wasm cannot train the network (it has no convolution gradient kernels). */
  tfjsWasm: number | null;
  ratio: number | null;
  /** PyTorch on one thread, samples/s; null when /usr/bin/python3 cannot import torch. */
  torch: number | null;
  ratioTorch: number | null;
  loomBackend: string;
  /** Loom on cpu-wasm, samples/s, when the default backend is another (cpu-native); null otherwise. */
  loomWasm: number | null;
}

const dense = (units: number, activation: string | undefined = undefined, perPosition = false): LayerSpec =>
  ({ type: 'dense', units, ...(activation ? { activation } : {}), ...(perPosition ? { perPosition } : {}) }) as LayerSpec;

/** tfjs MLP as raw variables and optimizer.minimize (the fastest tfjs training path for an MLP). */
function tfjsMlp(sizes: number[]) {
  return (x: tf.Tensor, y: tf.Tensor) => {
    const vars = sizes.slice(1).map((out, i) => ({
      w: tf.variable(tf.randomNormal([sizes[i] as number, out], 0, Math.sqrt(2 / (sizes[i] as number)))),
      b: tf.variable(tf.zeros([out])),
    }));
    const opt = tf.train.adam(1e-3);
    return () => {
      tf.tidy(() => {
        opt.minimize(() => {
          let h = x as tf.Tensor2D;
          vars.forEach((v, i) => {
            h = tf.add(tf.matMul(h, v.w as tf.Tensor2D), v.b);
            if (i < vars.length - 1) h = tf.relu(h);
          });
          return tf.losses.softmaxCrossEntropy(y, h) as tf.Scalar;
        });
      });
    };
  };
}

/** tfjs LSTM (returning every step) → flatten → dense, trained with trainOnBatch (model.fit's step). */
function tfjsLstm(seq: number, inSize: number, hidden: number, classes: number) {
  return (x: tf.Tensor, y: tf.Tensor) => {
    const model = tf.sequential({
      layers: [tf.layers.lstm({ units: hidden, returnSequences: true, inputShape: [seq, inSize] }), tf.layers.flatten(), tf.layers.dense({ units: classes })],
    });
    model.compile({ optimizer: tf.train.adam(1e-3), loss: (yt: tf.Tensor, yp: tf.Tensor) => tf.losses.softmaxCrossEntropy(yt, yp) });
    return async () => {
      await model.trainOnBatch(x, y);
    };
  };
}

/** tfjs pre-norm transformer block: LN → MHA → +x → LN → FFN(relu) → +, then a dense head over the flattened sequence. */
function tfjsAttentionBlock(seq: number, dModel: number, heads: number, ffn: number, classes: number) {
  return (x: tf.Tensor, y: tf.Tensor) => {
    const headDim = dModel / heads;
    const glorot = (i: number, o: number) => tf.variable(tf.randomNormal([i, o], 0, Math.sqrt(2 / (i + o))));
    const zeros = (n: number) => tf.variable(tf.zeros([n]));
    const ones = (n: number) => tf.variable(tf.ones([n]));
    const p = {
      g1: ones(dModel), b1: zeros(dModel), g2: ones(dModel), b2: zeros(dModel),
      wq: glorot(dModel, dModel), bq: zeros(dModel), wk: glorot(dModel, dModel), bk: zeros(dModel),
      wv: glorot(dModel, dModel), bv: zeros(dModel), wo: glorot(dModel, dModel), bo: zeros(dModel),
      w1: glorot(dModel, ffn), c1: zeros(ffn), w2: glorot(ffn, dModel), c2: zeros(dModel),
      wh: glorot(seq * dModel, classes), bh: zeros(classes),
    };
    const batch = x.shape[0] as number;
    const ln = (t: tf.Tensor2D, g: tf.Variable, b: tf.Variable): tf.Tensor2D => {
      const { mean, variance } = tf.moments(t, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b) as tf.Tensor2D;
    };
    const affine = (t: tf.Tensor2D, w: tf.Variable, b: tf.Variable): tf.Tensor2D => tf.add(tf.matMul(t, w as tf.Tensor2D), b) as tf.Tensor2D;
    const splitHeads = (t: tf.Tensor2D) => tf.transpose(tf.reshape(t, [batch, seq, heads, headDim]), [0, 2, 1, 3]);
    const opt = tf.train.adam(1e-3);
    return () => {
      tf.tidy(() => {
        opt.minimize(() => {
          const x2 = tf.reshape(x, [batch * seq, dModel]) as tf.Tensor2D;
          const h = ln(x2, p.g1, p.b1);
          const q = splitHeads(affine(h, p.wq, p.bq));
          const k = splitHeads(affine(h, p.wk, p.bk));
          const v = splitHeads(affine(h, p.wv, p.bv));
          const probs = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(headDim)));
          const attn = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [batch * seq, dModel]) as tf.Tensor2D;
          const r1 = tf.add(x2, affine(attn, p.wo, p.bo)) as tf.Tensor2D;
          const f = affine(tf.relu(affine(ln(r1, p.g2, p.b2), p.w1, p.c1)), p.w2, p.c2);
          const r2 = tf.add(r1, f);
          const logits = affine(tf.reshape(r2, [batch, seq * dModel]) as tf.Tensor2D, p.wh, p.bh);
          return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
        });
      });
    };
  };
}

const CONV_STEM = 'Conv stem 1×28×28: conv 3×3 ×24, pool, conv ×48, pool, dense 10';

export const TRAINING_CASES: readonly TrainingCase[] = [
  { name: 'MLP 64-128-10', inputShape: [64], classes: 10, batch: 32, loom: [dense(128, 'relu'), dense(10)], tfjs: tfjsMlp([64, 128, 10]) },
  { name: 'MLP 784-256-10', inputShape: [784], classes: 10, batch: 64, loom: [dense(256, 'relu'), dense(10)], tfjs: tfjsMlp([784, 256, 10]) },
  {
    name: 'LSTM seq 16, in 32, hidden 64',
    inputShape: [16, 32],
    classes: 10,
    batch: 32,
    loom: [{ type: 'lstm', hidden: 64 } as LayerSpec, dense(10)],
    tfjs: tfjsLstm(16, 32, 64, 10),
  },
  {
    name: 'Attention block seq 16, dModel 64, 4 heads (FFN 128)',
    inputShape: [16, 64],
    classes: 10,
    batch: 32,
    loom: [
      { type: 'layer_norm' } as LayerSpec,
      { type: 'mha', heads: 4 } as LayerSpec,
      { type: 'residual', back: 2 } as LayerSpec, // + the block's input
      { type: 'layer_norm' } as LayerSpec,
      dense(128, 'relu', true),
      dense(64, undefined, true),
      { type: 'residual', back: 3 } as LayerSpec, // + the second LayerNorm's input
      dense(10),
    ],
    tfjs: tfjsAttentionBlock(16, 64, 4, 128, 10),
  },
  {
    // The default image search's stem (its widest: 24 filters doubling), ReLU, on MNIST-sized inputs.
    name: CONV_STEM,
    inputShape: [1, 28, 28],
    classes: 10,
    batch: 32,
    loom: [
      { type: 'conv2d', filters: 24, kernelSize: 3, padding: 'same', activation: 'relu' } as LayerSpec,
      { type: 'pool', mode: 'max', size: 2 } as LayerSpec,
      { type: 'conv2d', filters: 48, kernelSize: 3, padding: 'same', activation: 'relu' } as LayerSpec,
      { type: 'pool', mode: 'max', size: 2 } as LayerSpec,
      { type: 'flatten' } as LayerSpec,
      dense(10),
    ],
    // tfjs-wasm registers no Conv2DBackpropFilter kernel: it cannot train a convolution, so PyTorch is the anchor.
    tfjs: null,
  },
];

/** Random inputs in [-1, 1] and random class labels. */
export function randomData(c: Pick<TrainingCase, 'inputShape' | 'classes'>, samples: number, seed = 1): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  const width = c.inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: samples * width }, () => rng.uniform(-1, 1));
  const y = Int32Array.from({ length: samples }, () => Math.floor(rng.uniform(0, c.classes)));
  return { x, y };
}

/** Loom: one epoch of `steps` batches through the real train() loop, as a function to time. */
function loomEpoch(c: TrainingCase, steps: number, backend?: Backend): () => void {
  const samples = c.batch * steps;
  const { x, y } = randomData(c, samples);
  const net = new Network(sequentialNetworkSpec(c.inputShape, c.loom), new Rng(2));
  const data = { x: { data: x, shape: [samples, ...c.inputShape] }, y };
  const options = { epochs: 1, batchSize: c.batch, learningRate: 1e-3, optimizer: { name: 'adamw' as const, weightDecay: 0 }, shuffle: false, ...(backend ? { backend } : {}) };
  return () => void train(net, data, options);
}

/** tfjs-wasm: `steps` optimizer steps on a fixed batch, as a function to time, and a cleanup. */
async function tfjsSteps(c: TrainingCase, build: NonNullable<TrainingCase['tfjs']>, steps: number): Promise<{ run: () => Promise<void>; dispose: () => void }> {
  await tf.setBackend('wasm');
  await tf.ready();
  const { x, y } = randomData(c, c.batch);
  const xs = tf.tensor(x, [c.batch, ...c.inputShape]);
  const ys = tf.oneHot(tf.tensor1d(y, 'int32'), c.classes);
  const step = build(xs, ys);
  for (let i = 0; i < 2; i++) await step(); // warm-up: kernels, optimizer slots
  return {
    run: async () => {
      for (let i = 0; i < steps; i++) await step();
    },
    dispose: () => {
      tf.disposeVariables();
      tf.dispose([xs, ys]);
    },
  };
}

/** Steps per timed run, sized so each side spends roughly a second per run on this kind of machine. */
const STEPS: Record<string, [loom: number, tfjs: number]> = {
  'MLP 64-128-10': [200, 100],
  'MLP 784-256-10': [40, 20],
  'LSTM seq 16, in 32, hidden 64': [20, 8],
  'Attention block seq 16, dModel 64, 4 heads (FFN 128)': [20, 8],
  [CONV_STEM]: [10, 4],
};

export async function benchTraining(runs = 7): Promise<TrainingRow[]> {
  const rows: TrainingRow[] = [];
  const torch = await startTorch();
  // With the native addon as the default, cpu-wasm runs too, interleaved, so the two compare within one run.
  const wasmToo = defaultBackend().name !== cpuWasmBackend.name;
  try {
    for (const c of TRAINING_CASES) {
      const [loomSteps, tfjsStepCount] = STEPS[c.name] ?? [20, 10];
      const anchor = c.tfjs === null ? null : await tfjsSteps(c, c.tfjs, tfjsStepCount);
      // PyTorch times its own epochs (no process round trip in the figure); the first one is its warm-up.
      const torchMs: number[] = [];
      const torchRun = async (): Promise<void> => {
        if (torch) torchMs.push(await torch.epoch(c.name, loomSteps));
      };
      // Alternating runs, so load from neighbours on a shared machine hits every engine alike.
      const wasmRun = wasmToo ? [loomEpoch(c, loomSteps, cpuWasmBackend)] : [];
      const [loomMs, tfjsMs, , wasmMs] = await timeInterleaved([loomEpoch(c, loomSteps), anchor?.run ?? (async () => {}), torchRun, ...wasmRun], runs, 0);
      anchor?.dispose();
      const loom = (loomSteps * c.batch) / ((loomMs as number) / 1000);
      const tfjsWasm = anchor === null ? null : (tfjsStepCount * c.batch) / ((tfjsMs as number) / 1000);
      const torchRate = torch ? (loomSteps * c.batch) / (median(torchMs.slice(1)) / 1000) : null;
      rows.push({
        name: c.name,
        batch: c.batch,
        loom,
        tfjsWasm,
        ratio: tfjsWasm === null ? null : loom / tfjsWasm,
        torch: torchRate,
        ratioTorch: torchRate === null ? null : loom / torchRate,
        loomBackend: defaultBackend().name,
        loomWasm: wasmMs === undefined ? null : (loomSteps * c.batch) / (wasmMs / 1000),
      });
    }
  } finally {
    torch?.close();
  }
  return rows;
}

/** Useful work of an MLP's training, FLOP per sample: 3 × forward (forward, dW, dx), each 2·in·out per layer. */
export function mlpTrainingFlops(name: string): number | null {
  const m = /^MLP ([\d-]+)$/.exec(name);
  if (!m) return null;
  const sizes = (m[1] as string).split('-').map(Number);
  let macs = 0;
  for (let i = 1; i < sizes.length; i++) macs += (sizes[i - 1] as number) * (sizes[i] as number);
  return 3 * 2 * macs;
}

export function trainingTable(rows: TrainingRow[]): string {
  const noTorch = rows.some((r) => r.torch === null) ? `\nPyTorch: torch not available (${torchUnavailable() || 'see scripts/install-torch.sh'})` : '';
  const wasm = rows.some((r) => r.loomWasm !== null);
  const vsTorch = (loom: number | null, torch: number | null): string => (loom === null ? '' : torch === null ? 'torch not available' : `${(loom / torch).toFixed(2)}×`);
  return (
    table(
      [
        'Network (Adam)',
        'batch',
        `Loom (${rows[0]?.loomBackend ?? ''})`,
        ...(wasm ? ['Loom (cpu-wasm)'] : []),
        'tfjs-wasm',
        'PyTorch 1 thread',
        'Loom / tfjs-wasm',
        'Loom / PyTorch',
        ...(wasm ? ['cpu-wasm / PyTorch'] : []),
      ],
      rows.map((r) => [
        r.name,
        String(r.batch),
        Math.round(r.loom),
        ...(wasm ? [r.loomWasm === null ? 'n/a' : Math.round(r.loomWasm)] : []),
        r.tfjsWasm === null ? 'n/a' : Math.round(r.tfjsWasm),
        r.torch === null ? 'n/a' : Math.round(r.torch),
        r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}×`,
        vsTorch(r.loom, r.torch),
        ...(wasm ? [vsTorch(r.loomWasm, r.torch)] : []),
      ]),
    ) +
    noTorch +
    rows
      .map((r) => {
        const flops = mlpTrainingFlops(r.name);
        if (flops === null) return '';
        const onWasm = r.loomWasm === null ? '' : `; cpu-wasm ${((r.loomWasm * flops) / 1e9).toFixed(1)}`;
        return `\n${r.name}: ${((r.loom * flops) / 1e9).toFixed(1)} GFLOP/s of useful work (3 × forward) on ${r.loomBackend}${onWasm}`;
      })
      .join('')
  );
}
