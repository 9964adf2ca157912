import ort from 'onnxruntime-node';
import { encodeOnnxModel } from '../../src/engine/io/onnx/index.js';
import type { OnnxExportOptions } from '../../src/engine/io/onnx/export.js';
import { Network, sequentialNetworkSpec, type NetworkSpec } from '../../src/engine/network.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';
import { sizeOf, type Tensor } from '../../src/engine/tensor.js';

/** A network with every parameter (biases and norm gains too) set to seeded noise, so no term hides behind a zero. */
export function noisyNetwork(spec: NetworkSpec, seed = 1): Network {
  const net = new Network(spec, new Rng(seed));
  const rng = new Rng(seed + 1000);
  for (const p of net.params()) for (let i = 0; i < p.value.length; i++) p.value[i] = (p.value[i] as number) + (rng.next() - 0.5) * 0.4;
  return net;
}

export const layersNet = (inputShape: readonly number[], layers: readonly LayerSpec[], seed = 1): Network =>
  noisyNetwork(sequentialNetworkSpec(inputShape, layers), seed);

/** Seeded inputs in [−2, 2) (or integer ids in [0, ids) for embeddings). */
export function randomInput(shape: readonly number[], batch: number, seed = 7, ids?: number): Tensor {
  const rng = new Rng(seed);
  const data = new Float32Array(batch * sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = ids ? Math.floor(rng.next() * ids) : (rng.next() - 0.5) * 4;
  return { data, shape: [batch, ...shape] };
}

export interface OnnxRun {
  readonly output: Float32Array;
  readonly dims: readonly number[];
  readonly label?: BigInt64Array;
}

/** Runs ONNX bytes in onnxruntime-node on one float input. */
export async function runOnnx(bytes: Uint8Array, x: Tensor): Promise<OnnxRun> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run({ input: new ort.Tensor('float32', x.data, [...x.shape]) });
    const out = result.output as ort.Tensor;
    const label = result.label as ort.Tensor | undefined;
    return {
      output: out.data as Float32Array,
      dims: out.dims,
      ...(label ? { label: label.data as BigInt64Array } : {}),
    };
  } finally {
    await session.release();
  }
}

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return Number.isNaN(m) ? Infinity : m;
};

/** Exports `net`, runs it in onnxruntime and returns Loom's and ONNX's outputs side by side with the largest gap. */
export async function compareWithOnnx(net: Network, x: Tensor, options: OnnxExportOptions = {}, loomInput: Tensor = x) {
  const loom = net.forward(loomInput);
  const onnx = await runOnnx(encodeOnnxModel(net, options), x);
  return { loom, onnx, diff: maxAbsDiff(loom.data, onnx.output) };
}
