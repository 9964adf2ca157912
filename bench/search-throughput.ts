import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSearchConfig } from '../src/search/config.js';
import { Coordinator } from '../src/search/coordinator.js';
import { Store } from '../src/store/store.js';
import { ThreadPoolExecutor } from '../src/workers/pool.js';
import { fmt, table } from './util.js';

/**
 * Search-level throughput: the default search (configs/mnist-quick.json: its search space and training settings)
 * run end to end by the coordinator on 1 and on 2 local worker threads, under an epoch budget that its first
 * generation spends, so both train the same models (every choice is seeded). Smaller than the real default (fewer
 * digits, an epoch budget instead of 4 minutes, no refit) so the bench stays short; the jobs are the real jobs'
 * kind — conv stems, hives, calibration, results written to SQLite — not a toy, and the generation's end (the
 * last model finishing while the other thread has nothing left) is counted as a search pays it.
 * Speedup = 1-thread wall / 2-thread wall; the aim is ≥ 1.8× on 2 cores.
 */
export const SEARCH_SPEEDUP_AIM = 1.8;

export interface SearchThroughputRow {
  readonly threads: number;
  readonly models: number;
  readonly epochs: number;
  readonly seconds: number;
  readonly modelsPerMinute: number;
}

export interface SearchThroughputOptions {
  /** Digits loaded (split 70/15/15 as in the default); default 2,000. */
  readonly limit?: number;
  /** Training epochs summed over models; default 24. */
  readonly budgetEpochs?: number;
  readonly threads?: readonly number[];
}

const DEFAULT_CONFIG = new URL('../configs/mnist-quick.json', import.meta.url);

export async function benchSearchThroughput(options: SearchThroughputOptions = {}): Promise<SearchThroughputRow[]> {
  const raw = JSON.parse(readFileSync(DEFAULT_CONFIG, 'utf8')) as Record<string, unknown>;
  // Its space and training, not its search policy: a steady schedule with a pruner would make what 1 and 2 threads
  // train depend on which job ends first under the epoch budget, and this compares the same models' wall time.
  const { refit: _refit, timeBudgetMinutes: _minutes, schedule: _schedule, pruner: _pruner, lanes: _lanes, data, ...rest } = raw;
  const config = parseSearchConfig({
    ...rest,
    data: { ...(typeof data === 'object' && data !== null ? data : {}), limit: options.limit ?? 2000 },
    budget: { epochs: options.budgetEpochs ?? 24 },
  });
  const dir = mkdtempSync(join(tmpdir(), 'loom-bench-search-'));
  const rows: SearchThroughputRow[] = [];
  try {
    for (const threads of options.threads ?? [1, 2]) {
      const store = Store.open(join(dir, `t${threads}.db`));
      const executor = new ThreadPoolExecutor({ threads, workerName: `bench-${threads}` });
      try {
        const t = performance.now();
        const summary = await new Coordinator({ store, executor }).start(config, `bench-${threads}`);
        const seconds = (performance.now() - t) / 1000;
        const trained = store.listModels(summary.runId).filter((m) => m.status === 'done' || m.status === 'pruned');
        const epochs = trained.reduce((s, m) => s + (m.metrics?.length ?? 0), 0);
        rows.push({ threads, models: trained.length, epochs, seconds, modelsPerMinute: (trained.length / seconds) * 60 });
      } finally {
        await executor.close();
        store.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export function searchThroughputTable(rows: readonly SearchThroughputRow[]): string {
  const base = rows[0]?.seconds ?? 0;
  return table(
    ['worker threads', 'models', 'epochs', 'seconds', 'models/min', `speedup (aim ≥ ${SEARCH_SPEEDUP_AIM}× at 2)`],
    rows.map((r) => [String(r.threads), String(r.models), String(r.epochs), r.seconds, r.modelsPerMinute, base > 0 ? `${fmt(base / r.seconds)}×` : '-']),
  );
}

// Run directly: node bin/run-ts.mjs bench/search-throughput.ts [THREADS,...]
if (process.argv[1]?.endsWith('search-throughput.ts')) {
  const threads = process.argv[2]?.split(',').map(Number);
  console.log(searchThroughputTable(await benchSearchThroughput(threads ? { threads } : {})));
}
