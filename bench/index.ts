import { mkdirSync, writeFileSync } from 'node:fs';
import { benchMatmul, matmulTable } from './matmul.js';

/**
 * `npm run bench`: every figure is measured side by side with its anchor in the same run and reported as a
 * ratio (machines here are shared and noisy). Sections can be chosen: `npm run bench -- matmul training`.
 */
const wanted = new Set(process.argv.slice(2));
const want = (name: string): boolean => wanted.size === 0 || wanted.has(name);
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };

if (want('matmul')) {
  console.log('\n## Matrix multiply, GFLOP/s (median), float32 square n×n');
  const rows = await benchMatmul();
  console.log(matmulTable(rows));
  results.matmul = rows;
}

mkdirSync('bench', { recursive: true });
writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`);
console.log('\nwrote bench/results.json');
