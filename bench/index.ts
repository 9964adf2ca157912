import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { benchMatmul, matmulTable } from './matmul.js';
import { benchMemory, memoryTable, MEMORY_GOAL_MB } from './memory.js';
import { benchTraining, trainingTable } from './training.js';
import { benchEnsemble, ensembleTable } from './ensemble.js';
import { benchDashboard, dashboardTable } from './dashboard.js';
import { benchAdaptation, adaptationTable } from './adaptation.js';
import { benchQueueOverhead, benchQueueThroughput, queueTable } from './queue.js';
import { benchGenerate, generateTable } from './generate.js';
import { benchSearch, searchTable } from './search.js';
import { benchSearchThroughput, searchThroughputTable } from './search-throughput.js';

/**
 * `npm run bench`: every figure is measured side by side with its anchor in the same run and reported as a
 * ratio (machines here are shared and noisy). Sections can be chosen: `npm run bench -- matmul training memory`.
 */
const wanted = new Set(process.argv.slice(2));
const want = (name: string): boolean => wanted.size === 0 || wanted.has(name);
/**
 * bench/results.json is committed: the figures behind the README's tables. A run replaces only the sections it
 * measured (each section records its own date and Node version), so `npm run bench -- search` keeps the rest.
 */
const RESULTS_FILE = 'bench/results.json';
const previous: unknown = existsSync(RESULTS_FILE) ? JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) : {};
const results: Record<string, unknown> = previous !== null && typeof previous === 'object' && !Array.isArray(previous) ? { ...previous } : {};
const measured = { date: new Date().toISOString(), node: process.version };
const record = (section: string, value: unknown): void => {
  results[section] = { ...measured, result: value };
};

if (want('matmul')) {
  console.log(`\n## Matrix multiply, GFLOP/s (median), float32 square n×n (Node ${process.version})`);
  const { rows, webgpu } = await benchMatmul();
  console.log(matmulTable(rows, webgpu));
  record('matmul', rows);
  record('webgpu', webgpu);
}

if (want('training')) {
  console.log('\n## Training throughput, samples/s (median), Adam, random data, one thread each (PyTorch: torch.set_num_threads(1))');
  const rows = await benchTraining();
  console.log(trainingTable(rows));
  record('training', rows);
}

if (want('memory')) {
  console.log(`\n## Peak memory, MLP 784-256-10 training (batch 64, Adam, 6,400 samples, 2 epochs), one child process each; goal < ${MEMORY_GOAL_MB} MB`);
  const rows = benchMemory();
  console.log(memoryTable(rows));
  record('memory', rows);
}

if (want('workers')) {
  console.log('\n## Search throughput: the first generation of the default MNIST search (its space and training; 2,000 digits, 24 epochs in all) on 1 and 2 local worker threads');
  const search = await benchSearchThroughput();
  console.log(searchThroughputTable(search));
  record('searchThroughput', search);
  console.log('\n## Workers: models per minute with 1 and 2 local worker threads, and the BullMQ queue overhead per job');
  try {
    const overhead = await benchQueueOverhead();
    const throughput = await benchQueueThroughput();
    console.log(queueTable(overhead, throughput));
    record('workers', { overhead, throughput });
  } catch (err) {
    // Redis is needed for this section only; the rest of the bench runs without it.
    console.log(`skipped: ${err instanceof Error ? err.message : String(err)}`);
  }
}

if (want('ensemble')) {
  console.log('\n## Ensemble analysis: 200 models × 10,000 samples (goal < 10 s)');
  const r = await benchEnsemble();
  console.log(ensembleTable(r));
  record('ensemble', r);
}

if (want('dashboard')) {
  console.log('\n## Dashboard: run page with 2,000 models (goal < 1 s)');
  const r = await benchDashboard();
  console.log(dashboardTable(r));
  record('dashboard', r);
}

if (want('adaptation')) {
  console.log('\n## Adaptation to task changes: backprop vs stepping + backprop vs StepTweenChain');
  const r = await benchAdaptation();
  console.log(adaptationTable(r));
  record('adaptation', r);
}

// Not in the default set: it trains hundreds of models (minutes to hours). `npm run bench -- search`; sizes in LOOM_SEARCH_BENCH.
if (wanted.has('search')) {
  console.log('\n## Search: evolution vs random search vs deep ensemble vs tuned MLP at equal epoch budget (test figures; selection on validation)');
  const r = await benchSearch();
  console.log(searchTable(r));
  record('search', r);
}

if (want('generate')) {
  console.log('\n## Transformer generation: greedy tokens/s with and without the key/value cache');
  const r = await benchGenerate();
  console.log(generateTable(r));
  record('generate', r);
}

mkdirSync('bench', { recursive: true });
writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${RESULTS_FILE}`);
