import { describe, expect, it } from 'vitest';
import { activationGradInto, applyActivation, type Activation } from '../../src/engine/activations.js';
import { activationGradNative, activationNative, cpuNativeBackend, nativeAvailable, NATIVE_PATH } from '../../src/engine/backend/cpu-native.js';
import type { ActivationArgs, ActivationGradArgs, Backend } from '../../src/engine/backend/types.js';
import { conv2dKind } from '../../src/engine/layers/conv2d.js';
import { denseKind } from '../../src/engine/layers/dense.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';

/**
 * The addon's GELU and SiLU kernels (native/loom_native.c) against activations.ts's loops, the reference. They agree
 * to float32 rounding, not bit for bit (the exp polynomials round differently in the last bits of a float64).
 */
const native = nativeAvailable();

// Tails where GELU underflows (−9 … −10), the SiLU/GELU crossings of their derivatives' zeros, overflow of v³ in
// float32 (not in float64), subnormals, signed zeros and the non-finite values.
const EDGES = [
  0, -0, 1, -1, 0.5, -0.75, -0.7517916, -1.2784645, 3, -3, 9, -9, -9.5, -10, -12, 20, -20, 40, -40, 88, -88, 104, -104,
  750, -750, 1e4, -1e4, 1e20, -1e20, 3.4e38, -3.4e38, 1e-40, -1e-40, 1e-45, -1e-45, 1.1754944e-38, -1.1754944e-38,
  NaN, Infinity, -Infinity,
];

/** n values: the edge cases first (as many as fit), then a spread of scales from the seeded generator. */
function values(n: number, seed: number, offset: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const edge = (i + offset) % (2 * EDGES.length);
    out[i] = edge < EDGES.length ? (EDGES[edge] as number) : rng.uniform(-1, 1) * 10 ** rng.uniform(-3, 1.5);
  }
  return out;
}

/** Index and size of the worst mismatch: NaN must meet NaN, infinities themselves, the rest 1e-6 relative or 1e-30. */
function worstMismatch(got: Float32Array, want: Float32Array): string | null {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const a = got[i] as number;
    const b = want[i] as number;
    if (Number.isNaN(a) || Number.isNaN(b)) {
      if (Number.isNaN(a) !== Number.isNaN(b)) return `[${i}]: ${a} vs ${b}`;
      continue;
    }
    if (a === b) continue;
    const diff = Math.abs(a - b);
    if (!(diff <= 1e-30 || diff <= 1e-6 * Math.max(Math.abs(a), Math.abs(b)))) return `[${i}]: ${a} vs ${b}`;
  }
  return null;
}

describe.skipIf(!native)(`activation kernels of the addon (${NATIVE_PATH})`, () => {
  const acts: Activation[] = ['gelu', 'silu'];
  for (const activation of acts) {
    for (const n of [1, 7, 8, 9, 1000]) {
      it(`${activation} forward and gradient match activations.ts for ${n} values`, () => {
        for (let offset = 0; offset < (n < 16 ? 2 * EDGES.length : 1); offset++) {
          const pre = values(n, 3 + n, offset);
          const dy = values(n, 5 + n, offset + 7);
          const want = new Float32Array(n);
          applyActivation(activation, pre, want);
          const got = new Float32Array(n).fill(42);
          activationNative({ activation, pre, out: got });
          expect(worstMismatch(got, want), `forward, offset ${offset}`).toBeNull();

          const wantGrad = new Float32Array(n);
          activationGradInto(activation, pre, dy, wantGrad);
          const gotGrad = new Float32Array(n).fill(42);
          activationGradNative({ activation, pre, dy, out: gotGrad });
          expect(worstMismatch(gotGrad, wantGrad), `gradient, offset ${offset}`).toBeNull();

          // In place (out = dy), as SwiGLU's backward uses it; and forward over its own input.
          const inPlace = Float32Array.from(dy);
          activationGradNative({ activation, pre, dy: inPlace, out: inPlace });
          expect(inPlace).toEqual(gotGrad);
          const overPre = Float32Array.from(pre);
          activationNative({ activation, pre: overPre, out: overPre });
          expect(overPre).toEqual(got);
        }
      });
    }
  }

  it('leaves the other activations to activations.ts, bit for bit', () => {
    const pre = values(37, 11, 0);
    const dy = values(37, 12, 3);
    for (const activation of ['relu', 'tanh', 'sigmoid', 'softplus', 'leaky_relu', 'scaled_relu', 'linear'] as const) {
      const want = new Float32Array(pre.length);
      const got = new Float32Array(pre.length);
      applyActivation(activation, pre, want);
      activationNative({ activation, pre, out: got });
      expect(got, activation).toEqual(want);
      activationGradInto(activation, pre, dy, want);
      activationGradNative({ activation, pre, dy, out: got });
      expect(got, activation).toEqual(want);
    }
  });

  it('refuses arrays of different lengths rather than reading past one', () => {
    const pre = new Float32Array(9);
    expect(() => activationNative({ activation: 'gelu', pre, out: new Float32Array(8) })).toThrow(/must match/);
    expect(() => activationGradNative({ activation: 'silu', pre, dy: new Float32Array(9), out: new Float32Array(10) })).toThrow(/must match/);
  });

  /** cpu-native, counting the activation calls that reach it, so a check proves the layer went through the kernel. */
  function countingBackend(): { backend: Backend; calls: { forward: number; grad: number } } {
    const calls = { forward: 0, grad: 0 };
    const backend: Backend = {
      ...cpuNativeBackend,
      activation: (args: ActivationArgs) => {
        calls.forward++;
        activationNative(args);
      },
      activationGrad: (args: ActivationGradArgs) => {
        calls.grad++;
        activationGradNative(args);
      },
    };
    return { backend, calls };
  }

  it('a dense layer with gelu: gradients match finite differences through the kernels', () => {
    const { backend, calls } = countingBackend();
    const layer = denseKind.create({ type: 'dense', units: 7, activation: 'gelu' }, [5], new Rng(3));
    expectGradientsMatch(layer, randomTensor([3, 5], 8, -2, 2), { backend });
    expect(calls.forward).toBeGreaterThan(0);
    expect(calls.grad).toBeGreaterThan(0);
  });

  it('a conv2d layer with gelu: gradients match finite differences through the kernels', () => {
    const { backend, calls } = countingBackend();
    const layer = conv2dKind.create({ type: 'conv2d', filters: 3, kernelSize: 3, padding: 1, activation: 'gelu' }, [2, 5, 6], new Rng(4));
    expectGradientsMatch(layer, randomTensor([2, 2, 5, 6], 9, -2, 2), { backend });
    expect(calls.forward).toBeGreaterThan(0);
    expect(calls.grad).toBeGreaterThan(0);
  });
});
