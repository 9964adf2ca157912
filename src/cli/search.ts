import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configError, LoomError } from '../engine/errors.js';
import { finishRun, type FinishSummary } from '../ensemble/pipeline.js';
import { parseSearchConfig, type SearchConfig } from '../search/config.js';
import { Coordinator, totalModels, type RunEvent, type RunSummary } from '../search/coordinator.js';
import { Store } from '../store/store.js';
import { ThreadPoolExecutor } from '../workers/pool.js';
import { QueueExecutor } from '../workers/queue.js';
import type { Executor } from '../search/jobs.js';
import { DEFAULT_DB, intOption, parseCommandArgs } from './args.js';
import type { Command } from './main.js';
import { ProgressBar } from './progress.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_CONFIG = resolve(ROOT, 'configs', 'mnist-quick.json');

const help = `usage: loom search [CONFIG] [options]

Runs an evolutionary architecture search: generates a population of diverse networks, trains and evaluates
each one, evolves the population over generations, and stores everything in SQLite.

  CONFIG              search config JSON (default: configs/mnist-quick.json, MNIST digits)
  --db FILE           run database (default: ${DEFAULT_DB})
  --workers N         training threads (default: one per core)
  --seed N            overrides the config's seed
  --resume RUN        finishes an interrupted run (nothing finished is redone)
  --redis URL         hand training jobs to \`loom worker\` processes through Redis instead of local
                      threads (see docs/workers.md); works with --resume too
  --json              prints one JSON object at the end instead of the text summary
  --quiet             no progress bar
  -h, --help          this help

Ctrl-C stops cleanly: finished models are kept, and \`loom search --resume RUN\` finishes the run.`;

/** The code version recorded with a run: package version plus the git commit when there is one. */
export function codeVersion(): string {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string };
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return `${pkg.version}+${sha}`;
  } catch {
    return pkg.version;
  }
}

export function readSearchConfig(path: string): SearchConfig {
  if (!existsSync(path)) throw configError('CONFIG', `config file not found: ${path}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw configError('CONFIG', `${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseSearchConfig(json);
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);

export interface SearchCliOptions {
  readonly executor?: Executor;
}

export async function runSearch(argv: string[], deps: SearchCliOptions = {}): Promise<number> {
  const { values, positionals } = parseCommandArgs('search', argv, {
    db: { type: 'string' },
    workers: { type: 'string' },
    seed: { type: 'string' },
    resume: { type: 'string' },
    redis: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  if (positionals.length > 1) throw new LoomError('LOOM_ERR_USAGE', 'loom search takes at most one CONFIG file (see loom search --help)');
  const dbPath = values.db ?? DEFAULT_DB;
  mkdirSync(dirname(resolve(dbPath)), { recursive: true });
  const workers = intOption('workers', values.workers, 1);
  const seed = intOption('seed', values.seed, 0);

  let config: SearchConfig | undefined;
  if (!values.resume) {
    config = readSearchConfig(positionals[0] ?? DEFAULT_CONFIG);
    if (seed !== undefined) config = { ...config, seed, data: { ...config.data, splitSeed: seed } };
  }
  // Connect to Redis before opening the database, so an unreachable server fails fast and leaves nothing open.
  const executor =
    deps.executor ??
    (values.redis
      ? await QueueExecutor.connect({ redis: values.redis })
      : new ThreadPoolExecutor(workers === undefined ? {} : { threads: workers }));
  const store = Store.open(dbPath);
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const bar = new ProgressBar(process.stderr, !values.quiet && !values.json);
  let done = 0;
  let total = config ? totalModels(config) : 0;
  let generation = 0;
  let generations = config?.generations ?? 0;
  let best = 0;
  let runId = values.resume ?? '';
  const epochs = new Map<string, string>();
  const detail = (): string =>
    `gen ${generation + 1}/${generations} | best val ${done > 0 ? `${(best * 100).toFixed(1)}%` : '-'}${epochs.size ? ` | training ${[...epochs.values()].join(' ')}` : ''}`;
  const onEvent = (e: RunEvent): void => {
    switch (e.kind) {
      case 'run-start':
        runId = e.runId;
        total = e.totalModels;
        done = e.doneModels;
        generations = e.generations;
        bar.log(`run ${e.runId}: ${e.totalModels} models over ${e.generations} generations ${values.redis ? `through the queue at ${values.redis}` : `on ${executor.concurrency} worker thread(s)`}; database ${dbPath}`);
        break;
      case 'generation-start':
        generation = e.generation;
        break;
      case 'model-progress':
        epochs.set(e.progress.modelId, `${e.progress.modelId}:${e.progress.epoch}/${e.progress.epochs}`);
        break;
      case 'model-done':
        done++;
        best = Math.max(best, e.valAccuracy);
        epochs.delete(e.modelId);
        break;
      case 'model-failed':
        done++;
        epochs.delete(e.modelId);
        bar.log(`model ${e.modelId} failed after ${e.attempts} attempt(s): ${e.error}`);
        break;
      case 'generation-done':
        bar.log(`generation ${e.generation + 1}: best val ${(e.bestValAccuracy * 100).toFixed(2)}%, mean ${(e.meanValAccuracy * 100).toFixed(2)}%`);
        break;
      case 'budget-exhausted':
        bar.log(`time budget reached before generation ${e.generation + 1}; finishing`);
        break;
      default:
        break;
    }
    bar.update({ done, total, detail: detail() }, e.kind !== 'model-progress');
  };

  // BullMQ retries a job itself (attempts with backoff), so the coordinator must not retry on top of it.
  const coordinator = new Coordinator({ store, executor, onEvent, signal: abort.signal, codeVersion: codeVersion(), ...(values.redis ? { maxAttempts: 1 } : {}) });
  let summary: RunSummary;
  let finish: FinishSummary | null = null;
  try {
    summary = values.resume ? await coordinator.resume(values.resume) : await coordinator.start(config as SearchConfig);
    if (summary.status === 'finished' && summary.modelsTrained > 0) {
      // The population's payoff: analyse it, choose an ensemble on validation data, graft and export it.
      bar.log('analysing the population and grafting the best ensemble…');
      finish = finishRun(store, summary.runId, { outDir: join(dirname(resolve(dbPath)), summary.runId) });
    }
  } finally {
    bar.done();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await executor.close();
    store.close();
  }
  if (values.json) {
    console.log(JSON.stringify({
      runId: summary.runId,
      status: summary.status,
      modelsTrained: summary.modelsTrained,
      modelsFailed: summary.modelsFailed,
      bestModelId: summary.bestModelId,
      bestValAccuracy: summary.bestValAccuracy,
      bestTestAccuracy: summary.bestTestAccuracy,
      wallSeconds: Math.round(summary.wallMs / 100) / 10,
      ...(finish
        ? {
            ensemble: {
              id: finish.ensembleId,
              method: finish.ensemble.method,
              members: finish.ensemble.members,
              weights: finish.ensemble.weights,
              valAccuracy: finish.ensemble.valAccuracy,
              testAccuracy: finish.ensemble.testAccuracy,
            },
            files: finish.files.map((f) => f.path),
          }
        : {}),
    }));
  } else if (summary.status === 'interrupted') {
    console.log(`run ${summary.runId} interrupted after ${summary.modelsTrained} finished models; resume with: loom search --resume ${summary.runId} --db ${dbPath}`);
  } else {
    console.log(
      [
        `run ${summary.runId} finished: ${summary.modelsTrained} models trained${summary.modelsFailed ? `, ${summary.modelsFailed} failed` : ''} in ${(summary.wallMs / 1000).toFixed(0)} s`,
        ...(finish ? finish.lines : [`best single model ${summary.bestModelId}: validation ${pct(summary.bestValAccuracy)}, test ${pct(summary.bestTestAccuracy)}`]),
        `details: loom show ${summary.runId} --db ${dbPath}   (browse: loom dashboard --db ${dbPath})`,
      ].join('\n'),
    );
  }
  return summary.status === 'interrupted' ? 130 : 0;
}

export const command: Command = { name: 'search', help, run: (argv) => runSearch(argv) };
