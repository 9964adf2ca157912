import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { table } from './util.js';

/** Peak RSS of the MLP 784-256-10 training, each engine in a child process of its own (bench/memory-child.ts). */
export interface MemoryRow {
  engine: string;
  baselineMB: number;
  peakMB: number;
  samplesPerSecond: number;
}

export const MEMORY_GOAL_MB = 200;
const runTs = fileURLToPath(new URL('../bin/run-ts.mjs', import.meta.url));
const child = fileURLToPath(new URL('./memory-child.ts', import.meta.url));

export function benchMemory(): MemoryRow[] {
  return ['loom', 'tfjs-wasm'].map((engine) => {
    const out = execFileSync(process.execPath, [runTs, child, engine], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const line = out.trim().split('\n').pop() ?? '';
    return JSON.parse(line) as MemoryRow;
  });
}

export function memoryTable(rows: MemoryRow[]): string {
  return table(
    ['Engine', 'RSS at start (MB)', 'peak RSS (MB)', `goal < ${MEMORY_GOAL_MB} MB`, 'samples/s'],
    rows.map((r) => [r.engine, r.baselineMB, r.peakMB, r.engine === 'loom' ? (r.peakMB < MEMORY_GOAL_MB ? 'met' : 'MISSED') : '-', Math.round(r.samplesPerSecond)]),
  );
}
