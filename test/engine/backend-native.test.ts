import { afterEach, describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { conv2dBackwardJs, conv2dJs, convLoopsJs, type Conv2dGeometry } from '../../src/engine/backend/cpu-conv2d.js';
import { adamwJs } from '../../src/engine/backend/cpu-adamw.js';
import { matmulJs } from '../../src/engine/backend/cpu-matmul.js';
import { layerNormBackwardJs, layerNormJs } from '../../src/engine/backend/cpu-layernorm.js';
import { maxPool2x2Js } from '../../src/engine/backend/cpu-pool.js';
import {
  adamwNative, convLoopsNative, cpuNativeBackend, layerNormBackwardNative, layerNormNative, lstmForwardNative, matmulNative, matmulNativeStrict, maxPool2x2Native, nativeAvailable, nativeLoadError, NATIVE_PATH,
} from '../../src/engine/backend/cpu-native.js';
import { cpuWasmBackend } from '../../src/engine/backend/cpu-wasm.js';
import { lstmForwardJs } from '../../src/engine/backend/cpu-wasm-lstm.js';
import { defaultBackend, getBackend, selectBackend, setDefaultBackend } from '../../src/engine/backend/index.js';
import type { Backend, Conv2dArgs, LayerNormArgs, LayerNormBackwardArgs, LstmForwardArgs, MatmulArgs } from '../../src/engine/backend/types.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { adamw } from '../../src/engine/train/optimizers.js';
import { expectGradientsMatch, randomTensor } from '../helpers/gradcheck.js';
import { matmulReference, maxAbsDiff } from '../helpers/matmul-reference.js';

/**
 * The optional native addon (native/loom_native.c, AVX2 + FMA). Built at install where a C compiler is present;
 * where it is not (or the CPU lacks AVX2/FMA) the addon's tests skip, and the fallback's do not.
 */
const native = nativeAvailable();
const rng = new Rng(11);
const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));

describe('cpu-native fallback', () => {
  afterEach(() => {
    delete process.env.LOOM_BACKEND;
  });

  it('is the default backend exactly when the addon loads, else cpu-wasm, and says why not', async () => {
    expect(nativeLoadError() === '').toBe(native);
    if (!native) expect(nativeLoadError()).toMatch(/loom_native\.node|AVX2/);
    expect((await selectBackend('auto')).name).toBe(native ? 'cpu-native' : 'cpu-wasm');
    expect((await selectBackend('cpu-native')).name).toBe(native ? 'cpu-native' : 'cpu-wasm');
    expect(await selectBackend('cpu-wasm')).toBe(cpuWasmBackend);
    expect(defaultBackend()).toBe(cpuWasmBackend);
  });

  it('LOOM_BACKEND forces a CPU backend; an unknown value means auto', async () => {
    process.env.LOOM_BACKEND = 'cpu-js';
    expect(await selectBackend('auto')).toBe(cpuJsBackend);
    process.env.LOOM_BACKEND = 'cpu-wasm';
    expect(await selectBackend()).toBe(cpuWasmBackend);
    // An explicit choice wins over the variable.
    expect((await selectBackend('cpu-js')).name).toBe('cpu-js');
    process.env.LOOM_BACKEND = 'cpu-quantum';
    expect((await selectBackend()).name).toBe(native ? 'cpu-native' : 'cpu-wasm');
    setDefaultBackend(cpuWasmBackend);
  });

  it('matmulNative gives the reference result whether or not the addon loads', () => {
    const args = { a: random(7 * 13), b: random(13 * 9), m: 7, n: 9, k: 13, transB: false };
    const got = new Float32Array(63);
    matmulNative({ ...args, c: got });
    expect(maxAbsDiff(got, matmulReference({ ...args, c: new Float32Array(63) }))).toBeLessThan(1e-5);
  });
});

describe.skipIf(!native)(`cpu-native addon (${NATIVE_PATH})`, () => {
  const sizes: [number, number, number][] = [
    [1, 1, 1],
    [1, 97, 31], // a single row, primes
    [97, 1, 31], // a single column
    [31, 97, 1],
    [3, 7, 17],
    [17, 3, 7],
    [6, 16, 5], // exactly one register tile
    [7, 17, 257], // one past a tile each way, one past a depth block (KC = 256)
    [33, 17, 100],
    [101, 600, 5], // rows past one block (MC = 96)
    [5, 1031, 3], // columns past one block (NC = 1024)
    [97, 61, 523], // primes over two depth blocks
  ];
  for (const [m, n, k] of sizes) {
    it(`matches the definition for ${m}×${n}×${k}, every trans/accumulate/offset combination`, () => {
      const matmul = matmulNativeStrict();
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const accumulate of [false, true]) {
            for (const [aOffset, bOffset, cOffset] of [[0, 0, 0], [3, 5, 2]] as const) {
              const a = random(aOffset + m * k + 4);
              const b = random(bOffset + k * n + 1);
              const c = random(cOffset + m * n + 3);
              const args = { a, b, m, n, k, transA, transB, accumulate, aOffset, bOffset, cOffset };
              const want = matmulReference({ ...args, c });
              const got = Float32Array.from(c);
              matmul({ ...args, c: got });
              const where = `transA=${transA} transB=${transB} accumulate=${accumulate} offsets=${aOffset},${bOffset},${cOffset}`;
              expect(maxAbsDiff(got, want), where).toBeLessThan(1e-5 * Math.sqrt(k) + 1e-6);
              // Values outside the C window are untouched.
              expect(got.subarray(0, cOffset)).toEqual(c.subarray(0, cOffset));
              expect(got.subarray(cOffset + m * n)).toEqual(c.subarray(cOffset + m * n));
            }
          }
        }
      }
    });
  }

  it('agrees with matmulJs on a training-sized product, and k = 0 gives zeros or leaves C', () => {
    const [m, n, k] = [64, 256, 784];
    const a = random(m * k);
    const b = random(k * n);
    const want = new Float32Array(m * n);
    const got = new Float32Array(m * n);
    matmulJs({ a, b, c: want, m, n, k });
    matmulNative({ a, b, c: got, m, n, k });
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
    // A product with no depth: m·n·k is 0, the JS path, which must still zero C or leave it when accumulating.
    const c = random(m * n);
    const kept = Float32Array.from(c);
    matmulNative({ a, b, c, m, n, k: 0, accumulate: true });
    expect(c).toEqual(kept);
    matmulNative({ a, b, c, m, n, k: 0 });
    expect(c.every((v) => v === 0)).toBe(true);
  });

  it('rejects operands shorter than the product needs', () => {
    const args = { a: new Float32Array(100), b: new Float32Array(100), c: new Float32Array(100), m: 10, n: 10, k: 10 };
    expect(() => matmulNative({ ...args, b: new Float32Array(99) })).toThrow(/matmul: b holds 99 values, needs 100 from offset 0/);
    expect(() => matmulNative({ ...args, cOffset: 1 })).toThrow(/matmul: c holds 100 values, needs 100 from offset 1/);
  });

  it('adamw writes exactly the bits of the JS loop, for every length (tails of 0-3) and hyperparameters', () => {
    for (const n of [0, 1, 3, 4, 7, 1031]) {
      for (const [beta1, beta2, eps, stepSize, invSqrtC2, decay] of [[0.9, 0.999, 1e-8, 1e-3, 31.6, 0], [0.5, 0.9, 1e-3, 0.3, 1.7, 1e-2]] as const) {
        const w = random(n).map((x) => x * 3);
        const g = random(n).map((x, i) => (i % 5 === 0 ? 0 : x * 1e-3));
        const m = random(n).map((x) => x * 1e-2);
        const v = random(n).map((x) => x * x * 1e-4);
        const js = { w: Float32Array.from(w), g, m: Float32Array.from(m), v: Float32Array.from(v), beta1, beta2, eps, stepSize, invSqrtC2, decay };
        const nat = { ...js, w: Float32Array.from(w), m: Float32Array.from(m), v: Float32Array.from(v) };
        adamwJs(js);
        adamwNative(nat);
        expect(nat.w, `w, n=${n}`).toEqual(js.w);
        expect(nat.m, `m, n=${n}`).toEqual(js.m);
        expect(nat.v, `v, n=${n}`).toEqual(js.v);
        if (n > 1) expect(nat.w).not.toEqual(w);
      }
    }
    expect(() => adamwNative({ w: new Float32Array(4), g: new Float32Array(3), m: new Float32Array(4), v: new Float32Array(4), beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 1, invSqrtC2: 1, decay: 0 })).toThrow(/must match/);
  });

  it('the AdamW optimizer trains to the same bits with and without the fused step', () => {
    const make = () => ({ name: 'w', value: Float32Array.from({ length: 301 }, (_, i) => Math.sin(i)), grad: new Float32Array(301), shape: [7, 43] });
    const [plain, fused] = [make(), make()];
    const [optPlain, optFused] = [adamw({ weightDecay: 0.01 }), adamw({ weightDecay: 0.01 })];
    for (let step = 0; step < 5; step++) {
      for (const p of [plain, fused]) p.grad.set(p.value.map((x, i) => Math.cos(x * (step + 1) + i)));
      optPlain.step([plain], 1e-2);
      optFused.step([fused], 1e-2, cpuNativeBackend);
      expect(fused.value, `step ${step}`).toEqual(plain.value);
      expect(fused.grad.every((x) => x === 0)).toBe(true);
    }
  });

  // [batch, seq, inSize, hidden]: hidden a multiple of 8 runs in the addon; 12 falls back to cpu-wasm's kernel.
  const lstmShapes: [number, number, number, number][] = [
    [1, 1, 1, 8],
    [1, 7, 3, 8],
    [5, 3, 13, 16],
    [3, 4, 5, 12],
    [32, 16, 32, 64],
  ];
  for (const [batch, seq, inSize, hidden] of lstmShapes) {
    it(`the fused LSTM forward matches the JS reference for batch ${batch}, seq ${seq}, in ${inSize}, hidden ${hidden}`, () => {
      for (const scale of [0.5, 4]) {
        // scale 4 drives the gates deep into saturation, where the vector exp's clamping shows.
        const r = new Rng(batch * 100 + hidden);
        const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => r.uniform(-scale, scale));
        const g4 = 4 * hidden;
        const step = batch * hidden;
        // Stale values everywhere: every output must be overwritten.
        const outputs = () => ({ hs: new Float32Array((seq + 1) * step).fill(5), cs: new Float32Array((seq + 1) * step).fill(5), gates: new Float32Array(seq * batch * g4).fill(5), cellTanh: new Float32Array(seq * step).fill(5) });
        const inputs = { x: rand(batch * seq * inSize), kernel: rand(inSize * g4), recurrent: rand(hidden * g4), bias: rand(g4), batch, seq, inSize, hidden };
        const want: LstmForwardArgs = { ...inputs, ...outputs() };
        const got: LstmForwardArgs = { ...inputs, ...outputs() };
        lstmForwardJs(want);
        lstmForwardNative(got);
        for (const key of ['hs', 'cs', 'gates', 'cellTanh'] as const) {
          expect(maxAbsDiff(got[key], want[key]), `${key}, scale ${scale}`).toBeLessThan(2e-5 * Math.max(1, scale * Math.sqrt(inSize + hidden)));
        }
      }
    });
  }

  it('the fused LSTM forward rejects arrays shorter than the sizes need', () => {
    const args: LstmForwardArgs = {
      x: new Float32Array(2 * 3 * 4), kernel: new Float32Array(4 * 32), recurrent: new Float32Array(8 * 32), bias: new Float32Array(32),
      hs: new Float32Array(4 * 16), cs: new Float32Array(4 * 16), gates: new Float32Array(3 * 2 * 32), cellTanh: new Float32Array(3 * 16 - 1),
      batch: 2, seq: 3, inSize: 4, hidden: 8,
    };
    expect(() => lstmForwardNative(args)).toThrow(/cellTanh holds 47 values, needs 48/);
  });

  // widths: 1, tails of the 4-lane sums and 2-lane backward sums, the bench's 64, and one past it
  for (const width of [1, 2, 3, 5, 6, 7, 64, 67]) {
    it(`LayerNorm forward and backward write exactly the bits of the JS loops (width ${width})`, () => {
      const rows = 9;
      const n = rows * width;
      // an offset mean (where a one-pass variance would lose digits) and a large-scale row
      const x = random(n).map((v, i) => (i < width ? v * 1e3 : v + 7));
      const gamma = random(width).map((v) => v + 1);
      const beta = random(width);
      const outputs = () => ({ y: new Float32Array(n).fill(5), xHat: new Float32Array(n).fill(5), invStd: new Float32Array(rows).fill(5) });
      const want: LayerNormArgs = { x, gamma, beta, ...outputs(), rows, width, epsilon: 1e-5 };
      const got: LayerNormArgs = { x, gamma, beta, ...outputs(), rows, width, epsilon: 1e-5 };
      layerNormJs(want);
      layerNormNative(got);
      expect(got.y).toEqual(want.y);
      expect(got.xHat).toEqual(want.xHat);
      expect(got.invStd).toEqual(want.invStd);
      const dy = random(n);
      const grads = () => ({ dx: new Float32Array(n).fill(5), dGamma: Float32Array.from(beta), dBeta: Float32Array.from(gamma) });
      const bWant: LayerNormBackwardArgs = { dy, xHat: want.xHat, invStd: want.invStd, gamma, ...grads(), rows, width };
      const bGot: LayerNormBackwardArgs = { dy, xHat: want.xHat, invStd: want.invStd, gamma, ...grads(), rows, width };
      layerNormBackwardJs(bWant);
      layerNormBackwardNative(bGot);
      expect(bGot.dx).toEqual(bWant.dx);
      expect(bGot.dGamma).toEqual(bWant.dGamma);
      expect(bGot.dBeta).toEqual(bWant.dBeta);
      expect(bGot.dBeta).not.toEqual(gamma); // added to, not skipped
    });
  }

  it('LayerNorm rejects arrays shorter than the sizes need', () => {
    const args: LayerNormArgs = {
      x: new Float32Array(12), gamma: new Float32Array(4), beta: new Float32Array(4), y: new Float32Array(12), xHat: new Float32Array(11), invStd: new Float32Array(3), rows: 3, width: 4, epsilon: 1e-5,
    };
    expect(() => layerNormNative(args)).toThrow(/layerNorm: xHat holds 11 values, needs 12/);
    expect(() => layerNormBackwardNative({ dy: new Float32Array(12), xHat: new Float32Array(12), invStd: new Float32Array(2), gamma: new Float32Array(4), dx: new Float32Array(12), dGamma: new Float32Array(4), dBeta: new Float32Array(4), rows: 3, width: 4 }))
      .toThrow(/layerNormBackward: invStd holds 2 values, needs 3/);
  });

  // Rows of 8 or more outputs go through the addon's eight-wide loop (28: one block and 6 left; 33: two blocks, an odd
  // column dropped); narrower ones through its scalar steps.
  for (const [planes, h, w] of [[5, 8, 6], [3, 7, 9], [1, 2, 2], [2, 1, 5], [3, 28, 28], [2, 5, 33]] as const) {
    it(`2×2 max pooling writes the JS loop's maxima and winners, with ties and NaN (${planes}×${h}×${w})`, () => {
      const r = new Rng(planes * 100 + h * 10 + w);
      // Few distinct values (ties in most windows), some NaN and signed zeros.
      const x = Float32Array.from({ length: planes * h * w }, (_, i) => (i % 13 === 4 ? NaN : i % 11 === 3 ? -0 : Math.floor(r.uniform(-2, 2))));
      const out = planes * Math.floor(h / 2) * Math.floor(w / 2);
      const want = { y: new Float32Array(out), argmax: new Int32Array(out) };
      const got = { y: new Float32Array(out), argmax: new Int32Array(out).fill(-1) };
      maxPool2x2Js({ x, ...want, planes, h, w });
      maxPool2x2Native({ x, ...got, planes, h, w });
      expect(Array.from(got.argmax)).toEqual(Array.from(want.argmax));
      expect(got.y.every((v, i) => Object.is(v, want.y[i]))).toBe(true);
    });
  }

  it('2×2 max pooling rejects arrays shorter than the sizes need', () => {
    expect(() => maxPool2x2Native({ x: new Float32Array(15), y: new Float32Array(4), argmax: new Int32Array(4), planes: 1, h: 4, w: 4 })).toThrow(/maxPool2x2: sizes do not match/);
    expect(() => maxPool2x2Native({ x: new Float32Array(16), y: new Float32Array(4), argmax: new Int32Array(3), planes: 1, h: 4, w: 4 })).toThrow(/maxPool2x2: sizes do not match/);
  });

  it('is registered under its name once it loads', () => {
    expect(getBackend('cpu-native')).toBe(cpuNativeBackend);
  });

  const convCases: [string, Omit<Conv2dArgs, 'x' | 'w' | 'bias' | 'y'>][] = [
    ['3×3 pad 1', { batch: 2, inC: 3, inH: 7, inW: 6, outC: 5, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 7, outW: 6 }],
    ['2×3 stride 2, no pad', { batch: 3, inC: 2, inH: 9, inW: 8, outC: 4, kH: 2, kW: 3, strideH: 2, strideW: 2, padH: 0, padW: 0, outH: 4, outW: 3 }],
  ];
  for (const [name, g] of convCases) {
    it(`conv2d forward and backward match cpu-js (${name})`, () => {
      const inSize = g.batch * g.inC * g.inH * g.inW;
      const wSize = g.outC * g.inC * g.kH * g.kW;
      const outSize = g.batch * g.outC * g.outH * g.outW;
      const [x, w, bias, dy] = [random(inSize), random(wSize), random(g.outC), random(outSize)];
      const yJs = new Float32Array(outSize);
      const yNative = new Float32Array(outSize);
      conv2dJs({ ...g, x, w, bias, y: yJs });
      cpuNativeBackend.conv2d({ ...g, x, w, bias, y: yNative });
      expect(maxAbsDiff(yNative, yJs)).toBeLessThan(1e-5);
      const js = { dx: random(inSize), dw: random(wSize), db: random(g.outC) };
      const nat = { dx: Float32Array.from(js.dx), dw: Float32Array.from(js.dw), db: Float32Array.from(js.db) };
      conv2dBackwardJs({ ...g, x, w, bias, dy, ...js });
      cpuNativeBackend.conv2dBackward({ ...g, x, w, bias, dy, ...nat });
      expect(maxAbsDiff(nat.dx, js.dx)).toBeLessThan(1e-5);
      expect(maxAbsDiff(nat.dw, js.dw)).toBeLessThan(1e-4);
      expect(maxAbsDiff(nat.db, js.db)).toBeLessThan(1e-5);
    });
  }

  // The addon's unrolling against cpu-conv2d.ts's loops: 'same' padding at stride 1 (the JS block-copy path), padding
  // wider than the kernel's reach, strides of 2 and 3, one channel, one-pixel kernels off the pointwise path.
  const unrollCases: Conv2dGeometry[] = [
    { batch: 1, inC: 3, inH: 7, inW: 6, outC: 1, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 7, outW: 6 },
    { batch: 1, inC: 1, inH: 28, inW: 28, outC: 1, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 28, outW: 28 },
    { batch: 1, inC: 2, inH: 9, inW: 11, outC: 1, kH: 3, kW: 2, strideH: 2, strideW: 3, padH: 1, padW: 2, outH: 5, outW: 5 },
    { batch: 1, inC: 2, inH: 5, inW: 4, outC: 1, kH: 2, kW: 3, strideH: 1, strideW: 1, padH: 3, padW: 3, outH: 10, outW: 8 },
    { batch: 1, inC: 4, inH: 6, inW: 6, outC: 1, kH: 1, kW: 1, strideH: 2, strideW: 2, padH: 0, padW: 0, outH: 3, outW: 3 },
  ];
  for (const g of unrollCases) {
    it(`unrolls and folds back as cpu-conv2d.ts's loops do (${g.inC}×${g.inH}×${g.inW}, kernel ${g.kH}×${g.kW}, stride ${g.strideH}/${g.strideW}, pad ${g.padH}/${g.padW})`, () => {
      const inSize = g.inC * g.inH * g.inW;
      const unrolled = g.inC * g.kH * g.kW * g.outH * g.outW;
      // Two samples back to back: the second one's offset is what the kernel reads and writes.
      const x = random(2 * inSize);
      const colsJs = new Float32Array(unrolled).fill(7);
      const colsNative = new Float32Array(unrolled).fill(7);
      convLoopsJs.im2col(x, inSize, g, colsJs);
      convLoopsNative.im2col(x, inSize, g, colsNative);
      expect(colsNative).toEqual(colsJs);
      const dCols = random(unrolled);
      const dxJs = random(2 * inSize);
      const dxNative = Float32Array.from(dxJs);
      convLoopsJs.col2imAdd(Float32Array.from(dCols), g, dxJs, inSize);
      convLoopsNative.col2imAdd(Float32Array.from(dCols), g, dxNative, inSize);
      // The same additions in the same order: equal values (the JS loop also adds +0 where the addon skips).
      expect(maxAbsDiff(dxNative, dxJs)).toBe(0);
      const dy = random(2 * 5 * 13);
      const dbJs = random(5);
      const dbNative = Float32Array.from(dbJs);
      convLoopsJs.biasGradAdd(dy, 5 * 13, dbJs, 5, 13);
      convLoopsNative.biasGradAdd(dy, 5 * 13, dbNative, 5, 13);
      expect(maxAbsDiff(dbNative, dbJs)).toBeLessThan(1e-6);
    });
  }

  it('refuses an inconsistent convolution geometry or short arrays rather than reading past them', () => {
    const g: Conv2dGeometry = { batch: 1, inC: 2, inH: 6, inW: 6, outC: 1, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 6, outW: 6 };
    const x = random(2 * 36);
    const cols = new Float32Array(2 * 9 * 36);
    expect(() => convLoopsNative.im2col(x, 0, { ...g, outH: 7 }, cols)).toThrow(/im2col: the geometry is inconsistent/);
    expect(() => convLoopsNative.col2imAdd(cols, { ...g, strideW: 0 }, x, 0)).toThrow(/col2imAdd: the geometry is inconsistent/);
    expect(() => convLoopsNative.im2col(x, 1, g, cols)).toThrow(/im2col: an array is shorter/);
    expect(() => convLoopsNative.im2col(x, 0, g, cols.subarray(1))).toThrow(/im2col: an array is shorter/);
    expect(() => convLoopsNative.col2imAdd(cols, g, x.subarray(1), 0)).toThrow(/col2imAdd: an array is shorter/);
    expect(() => convLoopsNative.biasGradAdd(x, 10, new Float32Array(6), 6, 11)).toThrow(/biasGradAdd: an array is shorter/);
  });

  // Sizes keep most products above SMALL_PRODUCT, so they run in the addon rather than the JS shortcut.
  const nets: [string, number[], LayerSpec[]][] = [
    ['dense → dense', [11], [{ type: 'dense', units: 13, activation: 'tanh' } as LayerSpec, { type: 'dense', units: 5 } as LayerSpec]],
    ['conv2d → flatten → dense', [2, 6, 5], [{ type: 'conv2d', filters: 4, kernelSize: 3, padding: 1, activation: 'tanh' } as LayerSpec, { type: 'flatten' } as LayerSpec, { type: 'dense', units: 3 } as LayerSpec]],
    ['lstm → dense', [5, 6], [{ type: 'lstm', hidden: 8 } as LayerSpec, { type: 'dense', units: 3 } as LayerSpec]],
    ['lstm (hidden 16) → dense', [4, 3], [{ type: 'lstm', hidden: 16 } as LayerSpec, { type: 'dense', units: 2 } as LayerSpec]],
    ['mha → dense', [5, 8], [{ type: 'mha', heads: 2 } as LayerSpec, { type: 'flatten' } as LayerSpec, { type: 'dense', units: 3 } as LayerSpec]],
  ];
  for (const [name, inputShape, layers] of nets) {
    it(`gradients match finite differences, and cpu-js's outputs and gradients (${name})`, () => {
      const spec = sequentialNetworkSpec(inputShape, layers);
      const x = randomTensor([3, ...inputShape], 5);
      // The key bias shifts every score of a query row alike, which softmax ignores: its gradient is exactly zero.
      const net = new Network(spec, new Rng(2));
      const checked = { forward: net.forward.bind(net), backward: net.backward.bind(net), params: () => net.params().filter((p) => !p.name.endsWith('.kBias')) };
      expectGradientsMatch(checked, x, { backend: cpuNativeBackend });
      const run = (backend: Backend) => {
        const net = new Network(spec, new Rng(1));
        const y = net.forward(x, { backend });
        const dx = net.backward({ data: Float32Array.from(y.data, (_, i) => Math.cos(i)), shape: y.shape }, { backend });
        return { y: y.data, dx: dx.data, grads: net.params().map((p) => Float32Array.from(p.grad)) };
      };
      const js = run(cpuJsBackend);
      const nat = run(cpuNativeBackend);
      expect(maxAbsDiff(nat.y, js.y)).toBeLessThan(1e-5);
      expect(maxAbsDiff(nat.dx, js.dx)).toBeLessThan(1e-5);
      nat.grads.forEach((g, i) => expect(maxAbsDiff(g, js.grads[i]!)).toBeLessThan(1e-4));
    });
  }
});
