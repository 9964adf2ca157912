import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { matmulJs } from '../src/engine/backend/cpu-matmul.js';
import { matmulWasm, wasmAvailable } from '../src/engine/backend/cpu-wasm.js';
import { Rng } from '../src/engine/rng.js';
import { table, timeMedian } from './util.js';

export interface MatmulRow {
  n: number;
  loomJs: number;
  loomWasm: number | null;
  tfjsWasm: number;
  tfjsCpu: number;
  ratioWasmVsTfjsWasm: number | null;
}

const gflops = (n: number, ms: number): number => (2 * n ** 3) / (ms / 1000) / 1e9;

async function tfjsRate(backend: 'wasm' | 'cpu', n: number, a: Float32Array, b: Float32Array): Promise<number> {
  await tf.setBackend(backend);
  await tf.ready();
  const ta = tf.tensor2d(a, [n, n]);
  const tb = tf.tensor2d(b, [n, n]);
  const ms = await timeMedian(async () => {
    const c = tf.matMul(ta, tb);
    await c.data();
    c.dispose();
  }, backend === 'cpu' && n >= 512 ? 1 : 3, backend === 'cpu' && n >= 512 ? 0 : 300);
  ta.dispose();
  tb.dispose();
  return gflops(n, ms);
}

/** Square matrix multiply GFLOP/s: Loom's kernels and tfjs's, side by side in one process. */
export async function benchMatmul(sizes = [128, 256, 512, 1024]): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  const rng = new Rng(1);
  for (const n of sizes) {
    const a = Float32Array.from({ length: n * n }, () => rng.uniform(-1, 1));
    const b = Float32Array.from({ length: n * n }, () => rng.uniform(-1, 1));
    const c = new Float32Array(n * n);
    const slow = n >= 512;
    const loomJs = gflops(n, await timeMedian(() => matmulJs({ a, b, c, m: n, n, k: n }), slow ? 1 : 3, slow ? 0 : 300));
    const loomWasm = wasmAvailable() ? gflops(n, await timeMedian(() => matmulWasm({ a, b, c, m: n, n, k: n }))) : null;
    const tfjsWasm = await tfjsRate('wasm', n, a, b);
    const tfjsCpu = await tfjsRate('cpu', n, a, b);
    rows.push({ n, loomJs, loomWasm, tfjsWasm, tfjsCpu, ratioWasmVsTfjsWasm: loomWasm === null ? null : loomWasm / tfjsWasm });
  }
  return rows;
}

export function matmulTable(rows: MatmulRow[]): string {
  return table(
    ['n', 'Loom cpu-js', 'Loom cpu-wasm', 'tfjs-wasm', 'tfjs-cpu', 'Loom wasm / tfjs-wasm'],
    rows.map((r) => [r.n, r.loomJs, r.loomWasm ?? 'n/a', r.tfjsWasm, r.tfjsCpu, r.ratioWasmVsTfjsWasm === null ? 'n/a' : `${r.ratioWasmVsTfjsWasm.toFixed(2)}×`]),
  );
}
