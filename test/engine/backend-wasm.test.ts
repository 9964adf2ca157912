import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { conv2dBackwardJs, conv2dJs } from '../../src/engine/backend/cpu-conv2d.js';
import { matmulJs } from '../../src/engine/backend/cpu-matmul.js';
import {
  cpuWasmBackend,
  matmulWasm,
  matmulWasmVariant,
  relaxedSimdSupported,
  wasmAvailable,
  wasmLoadError,
  wasmVariant,
  wasmVariantsAvailable,
  WASM_PATH,
  WASM_PATHS,
} from '../../src/engine/backend/cpu-wasm.js';
import { defaultBackend, getBackend, selectBackend } from '../../src/engine/backend/index.js';
import { nativeAvailable } from '../../src/engine/backend/cpu-native.js';
import type { Conv2dArgs, MatmulArgs } from '../../src/engine/backend/types.js';
import { Rng } from '../../src/engine/rng.js';
import { matmulReference, maxAbsDiff } from '../helpers/matmul-reference.js';

const rng = new Rng(7);
const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));

describe('cpu-wasm backend', () => {
  it('loads the WebAssembly kernel (built by npm ci)', () => {
    // Fails loudly rather than skipping: a missing kernel silently costs 10-50× in speed.
    expect(wasmAvailable(), `${WASM_PATH}: ${wasmLoadError()}`).toBe(true);
  });

  it('uses the relaxed-SIMD (fused multiply-add) kernel where the runtime has relaxed SIMD (Node >= 22)', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(relaxedSimdSupported()).toBe(major >= 22);
    expect(wasmVariantsAvailable(), `${WASM_PATHS['relaxed-simd']}: ${wasmLoadError()}`).toEqual(major >= 22 ? ['relaxed-simd', 'simd'] : ['simd']);
    expect(wasmVariant()).toBe(major >= 22 ? 'relaxed-simd' : 'simd');
    if (major < 22) expect(() => matmulWasmVariant('relaxed-simd')).toThrow(/relaxed SIMD/);
  });

  const sizes: [number, number, number][] = [
    [1, 1, 1],
    [1, 97, 31], // a single row, primes
    [97, 1, 31], // a single column
    [31, 97, 1],
    [3, 7, 17],
    [17, 3, 7],
    [7, 33, 1],
    [33, 17, 100],
    [100, 33, 3],
    [5, 9, 300], // deeper than one packed block (KC = 256)
    [101, 600, 5], // wider than one packed block (NC = 512), rows past one block (MC = 96)
  ];
  // Every kernel variant this runtime loads (plain SIMD everywhere, relaxed SIMD on Node >= 22), then the default.
  const kernels: [string, (args: MatmulArgs) => void][] = [...wasmVariantsAvailable().map((v) => [v, matmulWasmVariant(v)] as [string, (args: MatmulArgs) => void]), ['default', matmulWasm]];
  for (const [m, n, k] of sizes) {
    it(`matches the definition and matmulJs for ${m}×${n}×${k}, every trans/accumulate/offset combination, every kernel variant`, () => {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const accumulate of [false, true]) {
            for (const [aOffset, bOffset, cOffset] of [[0, 0, 0], [3, 5, 2]] as const) {
              const a = random(aOffset + m * k + 4);
              const b = random(bOffset + k * n + 1);
              const c = random(cOffset + m * n + 3);
              const args = { a, b, m, n, k, transA, transB, accumulate, aOffset, bOffset, cOffset };
              const want = matmulReference({ ...args, c });
              const viaJs = Float32Array.from(c);
              matmulJs({ ...args, c: viaJs });
              const tol = 1e-5 * Math.sqrt(k) + 1e-6;
              const where = `transA=${transA} transB=${transB} accumulate=${accumulate} offsets=${aOffset},${bOffset},${cOffset}`;
              expect(maxAbsDiff(viaJs, want), `js ${where}`).toBeLessThan(tol);
              for (const [variant, matmul] of kernels) {
                const viaWasm = Float32Array.from(c);
                matmul({ ...args, c: viaWasm });
                expect(maxAbsDiff(viaWasm, want), `wasm ${variant} ${where}`).toBeLessThan(tol);
                // Values outside the C window are untouched.
                expect(viaWasm.subarray(0, cOffset)).toEqual(c.subarray(0, cOffset));
                expect(viaWasm.subarray(cOffset + m * n)).toEqual(c.subarray(cOffset + m * n));
              }
            }
          }
        }
      }
    });
  }

  it('multiplies a hand-computed product', () => {
    const c = new Float32Array(2 * 9);
    // A = [[1, 2], [3, 4]], B is 2×9 with B[0][j] = j and B[1][j] = 1.
    const b = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    matmulWasm({ a: Float32Array.from([1, 2, 3, 4]), b, c, m: 2, n: 9, k: 2 });
    expect(Array.from(c)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 4, 7, 10, 13, 16, 19, 22, 25, 28]);
  });

  it('keeps working when its memory grows between calls', () => {
    for (const n of [8, 300, 20]) {
      const a = random(n * n);
      const b = random(n * n);
      const want = new Float32Array(n * n);
      const got = new Float32Array(n * n);
      matmulJs({ a, b, c: want, m: n, n, k: n });
      for (const [variant, matmul] of kernels) {
        matmul({ a, b, c: got, m: n, n, k: n });
        expect(maxAbsDiff(got, want), variant).toBeLessThan(1e-4);
      }
    }
  });

  it('rejects operands shorter than the product needs', () => {
    const args = { a: new Float32Array(20), b: new Float32Array(20), c: new Float32Array(20), m: 4, n: 5, k: 5 };
    expect(() => matmulWasm(args)).toThrow(/matmul: b holds 20 values, needs 25 from offset 0/);
    expect(() => matmulWasm({ ...args, b: new Float32Array(25), aOffset: 1 })).toThrow(/matmul: a holds 20 values, needs 20 from offset 1/);
  });

  const convCases: [string, Omit<Conv2dArgs, 'x' | 'w' | 'bias' | 'y'>][] = [
    ['3×3 pad 1', { batch: 2, inC: 3, inH: 7, inW: 6, outC: 5, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 7, outW: 6 }],
    ['2×3 stride 2, no pad', { batch: 3, inC: 2, inH: 9, inW: 8, outC: 4, kH: 2, kW: 3, strideH: 2, strideW: 2, padH: 0, padW: 0, outH: 4, outW: 3 }],
    ['1×1 pointwise', { batch: 2, inC: 6, inH: 5, inW: 5, outC: 3, kH: 1, kW: 1, strideH: 1, strideW: 1, padH: 0, padW: 0, outH: 5, outW: 5 }],
  ];
  for (const [name, g] of convCases) {
    it(`conv2d forward and backward match cpu-js (${name})`, () => {
      const inSize = g.batch * g.inC * g.inH * g.inW;
      const wSize = g.outC * g.inC * g.kH * g.kW;
      const outSize = g.batch * g.outC * g.outH * g.outW;
      const x = random(inSize);
      const w = random(wSize);
      const bias = random(g.outC);
      const yJs = new Float32Array(outSize);
      const yWasm = new Float32Array(outSize);
      conv2dJs({ ...g, x, w, bias, y: yJs });
      cpuWasmBackend.conv2d({ ...g, x, w, bias, y: yWasm });
      expect(maxAbsDiff(yWasm, yJs)).toBeLessThan(1e-5);

      const dy = random(outSize);
      const grads = () => ({ dx: random(inSize), dw: random(wSize), db: random(g.outC) });
      const js = grads();
      const wasm = { dx: Float32Array.from(js.dx), dw: Float32Array.from(js.dw), db: Float32Array.from(js.db) };
      conv2dBackwardJs({ ...g, x, w, bias, dy, ...js });
      cpuWasmBackend.conv2dBackward({ ...g, x, w, bias, dy, ...wasm });
      expect(maxAbsDiff(wasm.dx, js.dx)).toBeLessThan(1e-5);
      expect(maxAbsDiff(wasm.dw, js.dw)).toBeLessThan(1e-4);
      expect(maxAbsDiff(wasm.db, js.db)).toBeLessThan(1e-5);
    });
  }

  it('is the default backend when the kernel loads and the native addon does not', async () => {
    // With the native addon (backend-native.test.ts) that one is the default; cpu-wasm is then chosen by name.
    expect(defaultBackend().name).toBe(nativeAvailable() ? 'cpu-native' : 'cpu-wasm');
    expect(getBackend('cpu-wasm')).toBe(cpuWasmBackend);
    expect(await selectBackend('cpu-js')).toBe(cpuJsBackend);
    expect(defaultBackend()).toBe(cpuJsBackend);
    expect(await selectBackend('cpu-wasm')).toBe(cpuWasmBackend);
    expect((await selectBackend('auto')).name).toBe(nativeAvailable() ? 'cpu-native' : 'cpu-wasm');
  });
});
