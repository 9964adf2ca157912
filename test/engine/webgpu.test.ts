import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { attentionBackwardJs, attentionJs } from '../../src/engine/backend/cpu-attention.js';
import { conv2dBackwardJs, conv2dJs } from '../../src/engine/backend/cpu-conv2d.js';
import { matmulJs } from '../../src/engine/backend/cpu-matmul.js';
import { defaultBackend, selectBackend } from '../../src/engine/backend/index.js';
import type { AttentionArgs, Conv2dArgs } from '../../src/engine/backend/types.js';
import { createWebGpuBackend, type WebGpuBackend } from '../../src/engine/backend/webgpu/index.js';
import { Rng } from '../../src/engine/rng.js';

/**
 * The WebGPU kernels against the CPU reference. CI installs lavapipe (scripts/install-lavapipe.sh), so there an
 * adapter is required and its absence fails the suite; elsewhere, with no Vulkan driver at all, the suite skips.
 */
const ICD_DIR = '/usr/share/vulkan/icd.d';
const lavapipeInstalled = existsSync(ICD_DIR) && readdirSync(ICD_DIR).some((f) => f.startsWith('lvp_icd'));
const adapterRequired = lavapipeInstalled || Boolean(process.env.CI);

const rng = new Rng(11);
const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));

function maxAbsDiff(x: Float32Array, y: Float32Array): number {
  expect(x.length).toBe(y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs((x[i] as number) - (y[i] as number)));
  return worst;
}

let gpu: WebGpuBackend | null = null;

beforeAll(async () => {
  gpu = await createWebGpuBackend({ minWork: 0, notice: false }); // minWork 0: every call goes to the GPU
});

afterAll(async () => {
  await gpu?.close();
});

describe('webgpu backend', () => {
  it('finds an adapter where lavapipe (or a GPU) is installed', () => {
    if (adapterRequired) expect(gpu, 'no WebGPU adapter: run scripts/install-lavapipe.sh').not.toBeNull();
    else console.warn('webgpu tests skipped: no Vulkan driver here (scripts/install-lavapipe.sh installs one)');
  });

  it('resolves to null with a one-line notice when no adapter matches, and selectBackend falls back to the CPU', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await createWebGpuBackend({ dawnOptions: ['adapter=no-such-adapter'] })).toBeNull();
      const fallback = await selectBackend('webgpu', { dawnOptions: ['adapter=no-such-adapter'] });
      expect(fallback.name).toMatch(/^cpu-/);
      expect(defaultBackend()).toBe(fallback);
      const notices = write.mock.calls.map((c) => String(c[0])).filter((s) => s.includes('WebGPU unavailable'));
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatch(/^loom: WebGPU unavailable \(.+\); falling back to the CPU backend\n$/);
    } finally {
      write.mockRestore();
    }
  });

  const sizes: [number, number, number][] = [
    [1, 1, 1],
    [3, 7, 17],
    [65, 70, 33], // ragged edges of the 64×64 tiles
    [130, 9, 200],
  ];
  for (const [m, n, k] of sizes) {
    it.skipIf(!adapterRequired)(`matmul ${m}×${n}×${k} matches matmulJs for every trans/accumulate/offset combination`, () => {
      const backend = gpu as WebGpuBackend;
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const accumulate of [false, true]) {
            const [aOffset, bOffset, cOffset] = transA === transB ? [0, 0, 0] : [3, 5, 2];
            const a = random(aOffset + m * k + 2);
            const b = random(bOffset + k * n + 1);
            const c = random(cOffset + m * n + 3);
            const args = { a, b, m, n, k, transA, transB, accumulate, aOffset, bOffset, cOffset };
            const want = Float32Array.from(c);
            const got = Float32Array.from(c);
            matmulJs({ ...args, c: want });
            backend.matmul({ ...args, c: got });
            expect(maxAbsDiff(got, want), `transA=${transA} transB=${transB} accumulate=${accumulate}`).toBeLessThan(1e-5 * Math.sqrt(k) + 1e-6);
          }
        }
      }
    });
  }

  it.skipIf(!adapterRequired)('matmul of a 512 square matches the CPU', () => {
    const n = 512;
    const a = random(n * n);
    const b = random(n * n);
    const want = new Float32Array(n * n);
    const got = new Float32Array(n * n);
    matmulJs({ a, b, c: want, m: n, n, k: n });
    (gpu as WebGpuBackend).matmul({ a, b, c: got, m: n, n, k: n });
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
  });

  const convCases: [string, Omit<Conv2dArgs, 'x' | 'w' | 'bias' | 'y'>][] = [
    ['3×3 pad 1', { batch: 2, inC: 3, inH: 7, inW: 6, outC: 5, kH: 3, kW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, outH: 7, outW: 6 }],
    ['2×3 stride 2×1, pad 1×0', { batch: 3, inC: 2, inH: 9, inW: 8, outC: 4, kH: 2, kW: 3, strideH: 2, strideW: 1, padH: 1, padW: 0, outH: 5, outW: 6 }],
    ['1×1 pointwise', { batch: 2, inC: 6, inH: 5, inW: 5, outC: 3, kH: 1, kW: 1, strideH: 1, strideW: 1, padH: 0, padW: 0, outH: 5, outW: 5 }],
  ];
  for (const [name, g] of convCases) {
    it.skipIf(!adapterRequired)(`conv2d forward and backward match cpu-js (${name})`, () => {
      const backend = gpu as WebGpuBackend;
      const inSize = g.batch * g.inC * g.inH * g.inW;
      const wSize = g.outC * g.inC * g.kH * g.kW;
      const outSize = g.batch * g.outC * g.outH * g.outW;
      const x = random(inSize);
      const w = random(wSize);
      const bias = random(g.outC);
      const want = new Float32Array(outSize);
      const got = new Float32Array(outSize);
      conv2dJs({ ...g, x, w, bias, y: want });
      backend.conv2d({ ...g, x, w, bias, y: got });
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);

      const dy = random(outSize);
      const js = { dx: random(inSize), dw: random(wSize), db: random(g.outC) }; // dw, db accumulate; dx is overwritten
      const dev = { dx: Float32Array.from(js.dx), dw: Float32Array.from(js.dw), db: Float32Array.from(js.db) };
      conv2dBackwardJs({ ...g, x, w, bias, dy, ...js });
      backend.conv2dBackward({ ...g, x, w, bias, dy, ...dev });
      expect(maxAbsDiff(dev.dx, js.dx)).toBeLessThan(1e-5);
      expect(maxAbsDiff(dev.dw, js.dw)).toBeLessThan(1e-4);
      expect(maxAbsDiff(dev.db, js.db)).toBeLessThan(1e-4);
    });
  }

  it.skipIf(!adapterRequired)('rejects a conv geometry whose output size is wrong', () => {
    const g = { ...(convCases[0] as [string, Omit<Conv2dArgs, 'x' | 'w' | 'bias' | 'y'>])[1], outH: 6 };
    const args = { ...g, x: random(2 * 3 * 7 * 6), w: random(5 * 3 * 9), bias: random(5), y: new Float32Array(2 * 5 * 6 * 6) };
    expect(() => (gpu as WebGpuBackend).conv2d(args)).toThrow(/output 6×6 does not match/);
  });

  const attentionCases: [string, Omit<AttentionArgs, 'q' | 'k' | 'v' | 'out' | 'probs'>][] = [
    ['self-attention, 4 heads', { batch: 2, heads: 4, kvHeads: 4, seqQ: 6, seqK: 6, headDim: 5, causal: false, scale: 1 / Math.sqrt(5) }],
    ['causal, grouped kv heads', { batch: 2, heads: 4, kvHeads: 2, seqQ: 7, seqK: 7, headDim: 8, causal: true, scale: 1 / Math.sqrt(8) }],
    ['cross-attention seqQ ≠ seqK, one kv head', { batch: 1, heads: 3, kvHeads: 1, seqQ: 5, seqK: 9, headDim: 4, causal: false, scale: 0.7 }],
  ];
  for (const [name, g] of attentionCases) {
    it.skipIf(!adapterRequired)(`attention forward and backward match cpu-js (${name})`, () => {
      const backend = gpu as WebGpuBackend;
      const qLen = g.batch * g.seqQ * g.heads * g.headDim;
      const kvLen = g.batch * g.seqK * g.kvHeads * g.headDim;
      const pLen = g.batch * g.heads * g.seqQ * g.seqK;
      const q = random(qLen);
      const k = random(kvLen);
      const v = random(kvLen);
      const js = { out: new Float32Array(qLen), probs: new Float32Array(pLen) };
      const dev = { out: random(qLen), probs: random(pLen) }; // garbage in: every entry must be overwritten
      attentionJs({ ...g, q, k, v, ...js });
      backend.attention({ ...g, q, k, v, ...dev });
      expect(maxAbsDiff(dev.probs, js.probs)).toBeLessThan(1e-5);
      expect(maxAbsDiff(dev.out, js.out)).toBeLessThan(1e-5);
      if (g.causal) expect(dev.probs[1]).toBe(0); // query 0 sees key 0 only

      const dOut = random(qLen);
      const grads = () => ({ dq: random(qLen), dk: random(kvLen), dv: random(kvLen) });
      const jsGrads = grads();
      const devGrads = grads();
      attentionBackwardJs({ ...g, q, k, v, probs: js.probs, dOut, ...jsGrads });
      backend.attentionBackward({ ...g, q, k, v, probs: js.probs, dOut, ...devGrads });
      expect(maxAbsDiff(devGrads.dq, jsGrads.dq)).toBeLessThan(1e-5);
      expect(maxAbsDiff(devGrads.dk, jsGrads.dk)).toBeLessThan(1e-5);
      expect(maxAbsDiff(devGrads.dv, jsGrads.dv)).toBeLessThan(1e-5);
    });
  }

  it.skipIf(!adapterRequired)('sends small products to the CPU backend below minWork', async () => {
    const cpuCalls: number[] = [];
    const small = await createWebGpuBackend({
      minWork: 1000,
      cpu: { ...(gpu as WebGpuBackend), name: 'spy', matmul: (args) => { cpuCalls.push(args.m * args.n * args.k); matmulJs(args); } },
    });
    try {
      const c = new Float32Array(4);
      small?.matmul({ a: Float32Array.from([1, 2, 3, 4]), b: Float32Array.from([5, 6, 7, 8]), c, m: 2, n: 2, k: 2 });
      expect(Array.from(c)).toEqual([19, 22, 43, 50]);
      small?.matmul({ a: random(20 * 10), b: random(10 * 20), c: new Float32Array(400), m: 20, n: 20, k: 10 });
      expect(cpuCalls).toEqual([8]);
    } finally {
      await small?.close();
    }
  });
});
