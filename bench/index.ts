import { mkdirSync, writeFileSync } from 'node:fs';
import { benchMatmul, matmulTable } from './matmul.js';
import { benchMemory, memoryTable, MEMORY_GOAL_MB } from './memory.js';
import { benchTraining, trainingTable } from './training.js';

/**
 * `npm run bench`: every figure is measured side by side with its anchor in the same run and reported as a
 * ratio (machines here are shared and noisy). Sections can be chosen: `npm run bench -- matmul training memory`.
 */
const wanted = new Set(process.argv.slice(2));
const want = (name: string): boolean => wanted.size === 0 || wanted.has(name);
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };

if (want('matmul')) {
  console.log('\n## Matrix multiply, GFLOP/s (median), float32 square n×n');
  const { rows, webgpu } = await benchMatmul();
  console.log(matmulTable(rows, webgpu));
  results.matmul = rows;
  results.webgpu = webgpu;
}

if (want('training')) {
  console.log('\n## Training throughput, samples/s (median), Adam, random data');
  const rows = await benchTraining();
  console.log(trainingTable(rows));
  results.training = rows;
}

if (want('memory')) {
  console.log(`\n## Peak memory, MLP 784-256-10 training (batch 64, Adam, 6,400 samples, 2 epochs), one child process each; goal < ${MEMORY_GOAL_MB} MB`);
  const rows = benchMemory();
  console.log(memoryTable(rows));
  results.memory = rows;
}

mkdirSync('bench', { recursive: true });
writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`);
console.log('\nwrote bench/results.json');
