import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { roundToFloat16 } from '../../src/engine/io/float16.js';
import { decodeLoomModel, encodeLoomModel } from '../../src/engine/io/loom-format.js';
import { encodeSafetensors, parseSafetensors, writeSafetensors } from '../../src/engine/io/safetensors.js';
import { Network, sequentialNetworkSpec, type NetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { tensor } from '../../src/engine/tensor.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';

/** A layer spec literal of any kind. */
const L = (s: { type: string; [field: string]: unknown }): LayerSpec => s;

const spec: NetworkSpec = {
  inputShape: [6],
  rows: 1,
  cols: 2,
  layersPerCell: 2,
  layers: [
    L({ type: 'dense', units: 8, activation: 'tanh' }),
    L({ type: 'layer_norm' }),
    L({ type: 'parallel', combine: 'concat', branches: [{ type: 'dense', units: 3 }, { type: 'dense', units: 2, activation: 'sigmoid' }] }),
    L({ type: 'dense', units: 4 }),
  ],
  frozen: [1],
};

function randomNetwork(seed: number): Network {
  const network = new Network(spec, new Rng(seed));
  const rng = new Rng(seed + 100);
  for (const p of network.params()) for (let i = 0; i < p.value.length; i++) p.value[i] = rng.normal(0, 0.7); // β, biases nonzero too
  network.modelId = 'm-1';
  return network;
}

const input = (): ReturnType<typeof tensor> => {
  const rng = new Rng(3);
  return tensor([5, 6], Float32Array.from({ length: 30 }, () => rng.normal()));
};

function expectModelFileError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an error').toBeInstanceOf(LoomError);
  expect((caught as LoomError).code).toBe('LOOM_ERR_MODEL_FILE');
  expect((caught as Error).message).toMatch(pattern);
}

describe('Loom model format', () => {
  it('round-trips float32 exactly: same spec, params and outputs', () => {
    const original = randomNetwork(1);
    const bytes = encodeLoomModel(original, { metadata: { run: 'r7', valAccuracy: 0.93 } });
    const loaded = decodeLoomModel(bytes);
    expect(loaded.modelId).toBe('m-1');
    expect(loaded.network.modelId).toBe('m-1');
    expect(loaded.dtype).toBe('float32');
    expect(loaded.metadata).toEqual({ run: 'r7', valAccuracy: 0.93 });
    expect(loaded.network.spec).toEqual(original.spec);
    expect(loaded.network.isFrozen(1)).toBe(true);
    const a = original.params();
    const b = loaded.network.params();
    expect(b.map((p) => p.name)).toEqual(a.map((p) => p.name));
    a.forEach((p, i) => expect(Array.from(b[i]!.value)).toEqual(Array.from(p.value)));
    expect(Array.from(loaded.network.forward(input()).data)).toEqual(Array.from(original.forward(input()).data));
  });

  it('names tensors as network.params() and keeps the spec as JSON in __metadata__', () => {
    const contents = parseSafetensors(encodeLoomModel(randomNetwork(2)));
    expect(contents.tensors.map((t) => t.name)).toEqual(randomNetwork(2).params().map((p) => p.name));
    expect(contents.tensors.map((t) => t.name)).toContain('L2.branch.1.kernel');
    expect(contents.metadata.format).toBe('loom-model');
    expect(contents.metadata.format_version).toBe('1');
    expect(JSON.parse(contents.metadata.spec!)).toEqual(randomNetwork(2).spec);
  });

  it('float16 keeps every weight within 2⁻¹¹ relative (2⁻²⁵ absolute for subnormals) and halves the size', () => {
    const original = randomNetwork(4);
    original.params()[0]!.value.set([1e-6, -3e-8, 65504, 0.1], 0);
    const f32 = encodeLoomModel(original);
    const f16 = encodeLoomModel(original, { dtype: 'float16' });
    const loaded = decodeLoomModel(f16);
    expect(loaded.dtype).toBe('float16');
    let worst = 0;
    original.params().forEach((p, k) => {
      const q = loaded.network.params()[k]!.value;
      p.value.forEach((w, i) => {
        const err = Math.abs((q[i] as number) - w);
        expect(q[i]).toBe(roundToFloat16(w));
        expect(err).toBeLessThanOrEqual(Math.max(Math.abs(w) * 2 ** -11, 2 ** -25));
        worst = Math.max(worst, err / Math.max(Math.abs(w), 2 ** -14));
      });
    });
    expect(worst).toBeGreaterThan(0);
    const paramBytes = original.paramCount();
    expect(f32.length - f16.length).toBeGreaterThanOrEqual(2 * paramBytes - 64);
    const diff = Math.max(...loaded.network.forward(input()).data.map((v, i) => Math.abs(v - original.forward(input()).data[i]!)));
    expect(diff).toBeLessThan(0.02);
  });

  it('int8 keeps every weight within max|w|/254 of its tensor (per-tensor symmetric scale)', () => {
    const original = randomNetwork(5);
    const loaded = decodeLoomModel(encodeLoomModel(original, { dtype: 'int8' }));
    expect(loaded.dtype).toBe('int8');
    original.params().forEach((p, k) => {
      const q = loaded.network.params()[k]!.value;
      const max = Math.max(...p.value.map(Math.abs));
      const levels = new Set<number>();
      p.value.forEach((w, i) => {
        expect(Math.abs((q[i] as number) - w)).toBeLessThanOrEqual((max / 254) * (1 + 1e-6));
        levels.add(Math.round(((q[i] as number) / max) * 127));
      });
      expect(Math.max(...q.map(Math.abs))).toBeCloseTo(max, 6); // the largest weight is exact
      expect(levels.size).toBeLessThanOrEqual(255);
    });
    const scales = JSON.parse(parseSafetensors(encodeLoomModel(original, { dtype: 'int8' })).metadata.scales!);
    expect(scales['L0.kernel']).toBeCloseTo(Math.max(...original.params()[0]!.value.map(Math.abs)) / 127, 7);
  });

  it('refuses float16 for weights beyond its range', () => {
    const network = randomNetwork(6);
    network.params()[0]!.value[3] = 1e5;
    expectModelFileError(() => encodeLoomModel(network, { dtype: 'float16' }), /L0.kernel\[3\] = 100000 is beyond float16's range/);
  });

  it('gives model-file errors for truncated, garbled and foreign files', () => {
    const bytes = encodeLoomModel(randomNetwork(7));
    for (const cut of [0, 7, 8, 40, bytes.length - 1]) {
      expectModelFileError(() => decodeLoomModel(bytes.subarray(0, cut)), /too short|truncated/);
    }
    expectModelFileError(() => decodeLoomModel(writeSafetensors(new Map([['w', { shape: [1], data: new Float32Array(1) }]]))), /not a Loom model/);

    const contents = parseSafetensors(bytes);
    const rewrite = (meta: Record<string, string>, tensors = contents.tensors): Uint8Array => encodeSafetensors(tensors, { ...contents.metadata, ...meta });
    expectModelFileError(() => decodeLoomModel(rewrite({ spec: '{"inputShape": [6], "rows": 1' })), /metadata "spec" is not valid JSON/);
    const badSpec = JSON.stringify({ ...spec, layers: [{ type: 'warp_drive' }, ...spec.layers.slice(1)] });
    expectModelFileError(() => decodeLoomModel(rewrite({ spec: badSpec })), /cannot be rebuilt: layer 0 \(warp_drive\): .*unknown layer type "warp_drive"/);
    expectModelFileError(() => decodeLoomModel(rewrite({ spec: JSON.stringify({ ...spec, rows: 'x' }) })), /rows must be a positive integer/);
    expectModelFileError(() => decodeLoomModel(rewrite({ format_version: '9' })), /format version 9 is newer/);
    expectModelFileError(() => decodeLoomModel(rewrite({}, contents.tensors.slice(1))), /no tensor for param L0.kernel/);
    const wrongShape = contents.tensors.map((t, i) => (i === 0 ? { ...t, shape: [8, 6] } : t));
    expectModelFileError(() => decodeLoomModel(rewrite({}, wrongShape)), /tensor L0.kernel has shape \[8, 6\] but the architecture needs \[6, 8\]/);
    const extra = [...contents.tensors, { name: 'stray', dtype: 'F32', shape: [1], bytes: new Uint8Array(4) }];
    expectModelFileError(() => decodeLoomModel(rewrite({}, extra)), /tensors stray belong to no param/);
  });

  it('rebuilds networks with no params and single layers', () => {
    const network = new Network(sequentialNetworkSpec([2, 3], [{ type: 'flatten' }, { type: 'softmax' }]), new Rng(1));
    const loaded = decodeLoomModel(encodeLoomModel(network)).network;
    expect(loaded.outputShape).toEqual([6]);
    expect(Array.from(loaded.forward(tensor([1, 2, 3], [1, 2, 3, 4, 5, 6])).data)).toEqual(
      Array.from(network.forward(tensor([1, 2, 3], [1, 2, 3, 4, 5, 6])).data),
    );
  });
});
