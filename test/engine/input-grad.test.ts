import { describe, expect, it } from 'vitest';
import { cpuWasmBackend } from '../../src/engine/backend/cpu-wasm.js';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { cpuNativeBackend, nativeAvailable } from '../../src/engine/backend/cpu-native.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';

/**
 * Training passes `inputGrad: false` (nothing reads dL/d(input data)), and the network's first layer then skips
 * its input-gradient product. Every parameter gradient must stay exactly what a full backward gives.
 */
const cases: [string, number[], LayerSpec[]][] = [
  ['dense → dense', [7], [{ type: 'dense', units: 5, activation: 'relu' } as LayerSpec, { type: 'dense', units: 3 } as LayerSpec]],
  ['lstm → dense', [4, 3], [{ type: 'lstm', hidden: 5 } as LayerSpec, { type: 'dense', units: 2 } as LayerSpec]],
  [
    'conv2d → pool → conv2d → dense (a conv stem)',
    [2, 6, 6],
    [
      { type: 'conv2d', filters: 3, kernelSize: 3, padding: 1, activation: 'gelu' } as LayerSpec,
      { type: 'pool', mode: 'max', size: 2 } as LayerSpec,
      { type: 'conv2d', filters: 2, kernelSize: 3, padding: 1, activation: 'relu' } as LayerSpec,
      { type: 'flatten' } as LayerSpec,
      { type: 'dense', units: 3 } as LayerSpec,
    ],
  ],
  [
    'augmentation → reshape → conv2d → dense (the search\'s conv stem: the first layer with parameters skips it)',
    [6, 6],
    [
      { type: 'random_rotation', degrees: 15 } as LayerSpec,
      { type: 'reshape', shape: [1, 6, 6], pad: false } as LayerSpec,
      { type: 'conv2d', filters: 3, kernelSize: 3, padding: 'same', activation: 'gelu' } as LayerSpec,
      { type: 'flatten' } as LayerSpec,
      { type: 'dense', units: 3 } as LayerSpec,
    ],
  ],
  ['swiglu → dense', [3, 4], [{ type: 'swiglu', hidden: 6 } as LayerSpec, { type: 'dense', units: 2 } as LayerSpec]],
  [
    'a residual back to the input',
    [6],
    [{ type: 'dense', units: 6, activation: 'tanh' } as LayerSpec, { type: 'dense', units: 6 } as LayerSpec, { type: 'residual', back: 2 } as LayerSpec, { type: 'dense', units: 2 } as LayerSpec],
  ],
];

describe('skipping the input gradient of the first layer', () => {
  for (const backend of [cpuJsBackend, cpuWasmBackend, ...(nativeAvailable() ? [cpuNativeBackend] : [])]) {
    for (const [name, inputShape, layers] of cases) {
      it(`leaves every parameter gradient unchanged (${name}, ${backend.name})`, () => {
        const rng = new Rng(3);
        const width = inputShape.reduce((a, b) => a * b, 1);
        const x = { data: Float32Array.from({ length: 3 * width }, () => rng.uniform(-1, 1)), shape: [3, ...inputShape] };
        const grads = (inputGrad: boolean | undefined): { params: Float32Array[]; dx: Float32Array } => {
          const net = new Network(sequentialNetworkSpec(inputShape, layers), new Rng(9));
          const ctx = { backend, ...(inputGrad === undefined ? {} : { inputGrad }) };
          const y = net.forward(x, ctx);
          const dy = { data: Float32Array.from(y.data, (_, i) => Math.sin(i + 1)), shape: y.shape };
          const dx = net.backward(dy, ctx).data;
          return { params: net.params().map((p) => Float32Array.from(p.grad)), dx };
        };
        const full = grads(undefined);
        const skipped = grads(false);
        expect(skipped.params).toEqual(full.params);
        expect(grads(true).dx).toEqual(full.dx);
        // The skipped product really is skipped: without the residual's share the input gradient is all zeros.
        if (!name.includes('residual')) expect(skipped.dx.every((v) => v === 0)).toBe(true);
        expect(full.dx.some((v) => v !== 0)).toBe(true);
      });
    }
  }

  it('still returns the input gradient through disabled leading layers when it is wanted', () => {
    const dense = (units: number): LayerSpec => ({ type: 'dense', units, activation: 'tanh' }) as LayerSpec;
    const x = { data: Float32Array.from({ length: 2 * 4 }, (_, i) => Math.sin(i + 1)), shape: [2, 4] };
    const dxOf = (net: Network): number[] => {
      const y = net.forward(x, { backend: cpuJsBackend });
      return Array.from(net.backward({ data: Float32Array.from(y.data, (_, i) => Math.cos(i)), shape: y.shape }, { backend: cpuJsBackend }).data);
    };
    // A disabled first layer is the identity, so the input gradient is the second layer's alone.
    const withDisabled = new Network({ ...sequentialNetworkSpec([4], [dense(4), dense(3)]), disabled: [0] }, new Rng(5));
    const alone = new Network(sequentialNetworkSpec([4], [dense(3)]), new Rng(5));
    alone.params().forEach((p, i) => p.value.set((withDisabled.params()[i + 2] as { value: Float32Array }).value));
    const dx = dxOf(withDisabled);
    expect(dx.some((v) => v !== 0)).toBe(true);
    expect(dx).toEqual(dxOf(alone));
  });

  it('skips the input-gradient product of a conv behind parameter-free layers, and only there', () => {
    // The backend records what each conv backward was asked for.
    const asked: boolean[] = [];
    const backend = { ...cpuJsBackend, conv2dBackward: (args: Parameters<typeof cpuJsBackend.conv2dBackward>[0]) => { asked.push(args.inputGrad !== false); cpuJsBackend.conv2dBackward(args); } };
    const conv = (filters: number): LayerSpec => ({ type: 'conv2d', filters, kernelSize: 3, padding: 'same', activation: 'relu' }) as LayerSpec;
    const net = new Network(sequentialNetworkSpec([6, 6], [{ type: 'random_shift', pixels: 1 } as LayerSpec, { type: 'reshape', shape: [1, 6, 6], pad: false } as LayerSpec, conv(2), conv(2), { type: 'flatten' } as LayerSpec, { type: 'dense', units: 2 } as LayerSpec]), new Rng(1));
    const x = { data: Float32Array.from({ length: 2 * 36 }, (_, i) => Math.cos(i)), shape: [2, 6, 6] };
    const y = net.forward(x, { backend, training: true, rng: new Rng(2) });
    const dx = net.backward({ data: new Float32Array(y.data.length).fill(1), shape: y.shape }, { backend, training: true, rng: new Rng(2), inputGrad: false });
    // Backward runs last layer first: the second conv's input gradient feeds the first conv, the first's feeds nothing.
    expect(asked).toEqual([true, false]);
    expect(dx.shape).toEqual([2, 6, 6]);
    asked.length = 0;
    net.forward(x, { backend });
    net.backward({ data: new Float32Array(y.data.length).fill(1), shape: y.shape }, { backend });
    expect(asked).toEqual([true, true]);
  });
});
