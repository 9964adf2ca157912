import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { matmulJs } from '../src/engine/backend/cpu-matmul.js';
import { matmulNative, nativeAvailable, nativeLoadError } from '../src/engine/backend/cpu-native.js';
import { matmulWasmVariant, wasmVariantsAvailable } from '../src/engine/backend/cpu-wasm.js';
import type { Backend } from '../src/engine/backend/types.js';
import { createWebGpuBackend } from '../src/engine/backend/webgpu/index.js';
import { Rng } from '../src/engine/rng.js';
import { table, timeInterleaved, timeMedian } from './util.js';

export interface MatmulRow {
  n: number;
  loomJs: number;
  /** Plain WebAssembly SIMD kernel; null without the built kernel. */
  loomWasm: number | null;
  /** Relaxed-SIMD (fused multiply-add) kernel; null where the runtime lacks relaxed SIMD (Node < 22). */
  loomWasmRelaxed: number | null;
  /** The native addon's AVX2 + FMA kernel; null where it is not built or the CPU lacks AVX2/FMA. */
  loomNative: number | null;
  /** null when no WebGPU adapter exists. */
  loomWebgpu: number | null;
  tfjsWasm: number;
  tfjsCpu: number;
  ratioWasmVsTfjsWasm: number | null;
}

const gflops = (n: number, ms: number): number => (2 * n ** 3) / (ms / 1000) / 1e9;

/** tfjs's matMul on one of its backends, as a function to time: tensors made once, the product read back each call. */
async function tfjsMatmul(backend: 'wasm' | 'cpu', n: number, a: Float32Array, b: Float32Array): Promise<{ run: () => Promise<void>; dispose: () => void }> {
  await tf.setBackend(backend);
  await tf.ready();
  const ta = tf.tensor2d(a, [n, n]);
  const tb = tf.tensor2d(b, [n, n]);
  return {
    run: async () => {
      const c = tf.matMul(ta, tb);
      await c.data();
      c.dispose();
    },
    dispose: () => tf.dispose([ta, tb]),
  };
}

/** The WebGPU adapter the matmul bench used ('' when none): software adapters (lavapipe) say nothing about speed. */
export interface WebGpuInfo {
  adapter: string;
  software: boolean;
}

/** Square matrix multiply GFLOP/s: Loom's kernels and tfjs's, side by side in one process. */
export async function benchMatmul(sizes = [128, 256, 512, 1024]): Promise<{ rows: MatmulRow[]; webgpu: WebGpuInfo }> {
  const rows: MatmulRow[] = [];
  const rng = new Rng(1);
  const gpu = await createWebGpuBackend({ minWork: 0 });
  const webgpu = { adapter: gpu?.adapter ?? '', software: gpu !== null && /llvmpipe|lavapipe|swiftshader|software|cpu/i.test(gpu.adapter) };
  const gpuRate = async (backend: Backend, n: number, a: Float32Array, b: Float32Array, c: Float32Array): Promise<number> =>
    gflops(n, await timeMedian(() => backend.matmul({ a, b, c, m: n, n, k: n }), webgpu.software && n >= 512 ? 2 : 5, webgpu.software ? 0 : 300));
  for (const n of sizes) {
    const a = Float32Array.from({ length: n * n }, () => rng.uniform(-1, 1));
    const b = Float32Array.from({ length: n * n }, () => rng.uniform(-1, 1));
    const c = new Float32Array(n * n);
    const slow = n >= 512;
    const loomJs = gflops(n, await timeMedian(() => matmulJs({ a, b, c, m: n, n, k: n }), slow ? 1 : 3, slow ? 0 : 300));
    // Loom's wasm kernel and its anchor, tfjs-wasm, in alternation; the slow columns on their own.
    const wasmAnchor = await tfjsMatmul('wasm', n, a, b);
    const variants = wasmVariantsAvailable();
    const kernels = variants.map((v) => {
      const matmul = matmulWasmVariant(v);
      return () => matmul({ a, b, c, m: n, n, k: n });
    });
    const native = nativeAvailable() ? [() => matmulNative({ a, b, c, m: n, n, k: n })] : [];
    const times = await timeInterleaved([...kernels, ...native, wasmAnchor.run], 7, 600);
    wasmAnchor.dispose();
    const rate = (v: string): number | null => {
      const i = variants.indexOf(v as (typeof variants)[number]);
      return i < 0 ? null : gflops(n, times[i] as number);
    };
    const loomWasm = rate('simd');
    const loomWasmRelaxed = rate('relaxed-simd');
    const tfjsWasm = gflops(n, times[times.length - 1] as number);
    const loomNative = native.length > 0 ? gflops(n, times[kernels.length] as number) : null;
    const bestWasm = loomWasmRelaxed ?? loomWasm;
    const loomWebgpu = gpu ? await gpuRate(gpu, n, a, b, c) : null;
    const cpuAnchor = await tfjsMatmul('cpu', n, a, b);
    const tfjsCpu = gflops(n, await timeMedian(cpuAnchor.run, slow ? 1 : 3, slow ? 0 : 300));
    cpuAnchor.dispose();
    rows.push({ n, loomJs, loomWasm, loomWasmRelaxed, loomNative, loomWebgpu, tfjsWasm, tfjsCpu, ratioWasmVsTfjsWasm: bestWasm === null ? null : bestWasm / tfjsWasm });
  }
  await gpu?.close();
  return { rows, webgpu };
}

export function matmulTable(rows: MatmulRow[], webgpu: WebGpuInfo): string {
  const gpuHeader = webgpu.software ? 'Loom webgpu (software*)' : 'Loom webgpu';
  const body = table(
    ['n', 'Loom cpu-js', 'Loom wasm SIMD', 'Loom wasm relaxed SIMD (FMA)', 'Loom cpu-native (AVX2 FMA)', gpuHeader, 'tfjs-wasm', 'tfjs-cpu', 'Loom best wasm / tfjs-wasm'],
    rows.map((r) => [
      String(r.n),
      r.loomJs,
      r.loomWasm ?? 'n/a',
      r.loomWasmRelaxed ?? 'n/a',
      r.loomNative ?? 'n/a',
      r.loomWebgpu ?? 'n/a',
      r.tfjsWasm,
      r.tfjsCpu,
      r.ratioWasmVsTfjsWasm === null ? 'n/a' : `${r.ratioWasmVsTfjsWasm.toFixed(2)}×`,
    ]),
  );
  const note = !webgpu.adapter
    ? 'webgpu: no adapter (n/a)'
    : `webgpu adapter: ${webgpu.adapter}${webgpu.software ? '\n* a software rasterizer on the CPU (lavapipe): checks correctness, says nothing about GPU speed' : ''}`;
  const relaxed = rows.some((r) => r.loomWasmRelaxed !== null) ? '' : `\nrelaxed SIMD: n/a on Node ${process.version} (needs Node >= 22)`;
  const native = rows.some((r) => r.loomNative !== null) ? '' : `\ncpu-native: n/a (${nativeLoadError()})`;
  return `${body}\n${note}${relaxed}${native}`;
}
