import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoomError } from '../engine/errors.js';
import { finishRun, type FinishSummary } from '../ensemble/pipeline.js';
import { LIMITS, MAX_SEED, parseSearchConfig, resolveAutoKFold, type ConfigOverrides, type SearchConfig } from '../search/config.js';
import { Coordinator, totalModels, type RunEvent, type RunSummary } from '../search/coordinator.js';
import { isRefitGeneration } from '../search/refit.js';
import { steadyLanes } from '../search/steady.js';
import { Store } from '../store/store.js';
import { ThreadPoolExecutor } from '../workers/pool.js';
import { QueueExecutor } from '../workers/queue.js';
import type { Executor } from '../search/jobs.js';
import { DEFAULT_DB, intOption, parseCommandArgs } from './args.js';
import { budgetedEta, ProgressBar } from './progress.js';
import { pct, type Command } from './shared.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_CONFIG = resolve(ROOT, 'configs', 'mnist-quick.json');
/** The config to copy (or use with --data) for a table of one's own. */
const CSV_EXAMPLE = resolve(ROOT, 'configs', 'csv-example.json');

const help = `usage: loom search [CONFIG] [options]

Runs an evolutionary architecture search: generates a population of diverse networks, trains and evaluates
each one, evolves the population over generations, and stores everything in SQLite.

  CONFIG              search config JSON (default: configs/mnist-quick.json, MNIST digits)
  --db FILE           run database (default: ${DEFAULT_DB})
  --workers N         training threads, 1 to 256 (default: one per core)
  --seed N            overrides the config's seed, an integer in [0, 2^32) (an explicit data.splitSeed stays)
  --data REF          overrides the config's data.ref: mnist, fashion-mnist, iris, idx:DIR, csv:PATH[?label=COLUMN]
                      (e.g. loom search configs/csv-example.json --data csv:my.csv?label=species)
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

/** Reads and validates a config file; `overrides` are the command line's (--seed, --data). */
export function readSearchConfig(path: string, overrides: ConfigOverrides = {}): SearchConfig {
  if (!existsSync(path)) throw new LoomError('LOOM_ERR_USAGE', `config file not found: ${path}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    // A data file given where the config goes: say how to search it.
    const data = /\.(csv|tsv|txt)$/i.test(path)
      ? `; loom search takes a config file, not data: try loom search ${relative(process.cwd(), CSV_EXAMPLE) || CSV_EXAMPLE} --data "csv:${path}" (add ?label=COLUMN unless the label is the last column)`
      : '';
    throw new LoomError('LOOM_ERR_CONFIG', `${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}${data}`);
  }
  return parseSearchConfig(json, overrides);
}

/** The command line of `loom search`, parsed and checked. */
interface SearchArgs {
  readonly configPath: string;
  readonly dbPath: string;
  readonly workers?: number;
  readonly seed?: number;
  readonly dataRef?: string;
  readonly resume?: string;
  readonly redis?: string;
  readonly json: boolean;
  readonly quiet: boolean;
}

function parseSearchArgs(argv: string[]): SearchArgs {
  const { values, positionals } = parseCommandArgs('search', argv, {
    db: { type: 'string' },
    workers: { type: 'string' },
    seed: { type: 'string' },
    data: { type: 'string' },
    resume: { type: 'string' },
    redis: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  if (positionals.length > 1) throw new LoomError('LOOM_ERR_USAGE', 'loom search takes at most one CONFIG file (see loom search --help)');
  const workers = intOption('workers', values.workers, 1, LIMITS.workers);
  const seed = intOption('seed', values.seed, 0, MAX_SEED);
  if (values.resume !== undefined && seed !== undefined) {
    throw new LoomError('LOOM_ERR_USAGE', '--seed cannot be combined with --resume: a resumed run keeps the seed it was started with');
  }
  if (values.resume !== undefined && values.data !== undefined) {
    throw new LoomError('LOOM_ERR_USAGE', '--data cannot be combined with --resume: a resumed run keeps the data it was started with');
  }
  return {
    configPath: positionals[0] ?? DEFAULT_CONFIG,
    dbPath: values.db ?? DEFAULT_DB,
    ...(workers === undefined ? {} : { workers }),
    ...(seed === undefined ? {} : { seed }),
    ...(values.data === undefined ? {} : { dataRef: values.data }),
    ...(values.resume === undefined ? {} : { resume: values.resume }),
    ...(values.redis === undefined ? {} : { redis: values.redis }),
    json: values.json ?? false,
    quiet: values.quiet ?? false,
  };
}

/** Where the jobs run: the given executor (tests), the Redis queue, or local worker threads. */
async function openExecutor(args: SearchArgs, deps: SearchCliOptions): Promise<Executor> {
  if (deps.executor) return deps.executor;
  if (args.redis) return QueueExecutor.connect({ redis: args.redis });
  return new ThreadPoolExecutor(args.workers === undefined ? {} : { threads: args.workers });
}

/** Opens the run database; on failure closes the executor opened before it, or the process would never exit. */
async function openStore(dbPath: string, executor: Executor): Promise<Store> {
  try {
    mkdirSync(dirname(resolve(dbPath)), { recursive: true });
    return Store.open(dbPath);
  } catch (err) {
    await executor.close();
    throw err;
  }
}

/** First Ctrl-C (or SIGTERM) stops the run cleanly through `abort`; a second one exits at once. Returns the release. */
function trapInterrupts(abort: AbortController): () => void {
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** Turns run events into the progress bar and the lines above it. */
class SearchProgress {
  readonly bar: ProgressBar;
  private readonly show: boolean;
  private done = 0;
  private total: number;
  private generation = 0;
  private generations: number;
  private readonly budget: SearchConfig['budget'];
  private best = 0;
  private readonly epochs = new Map<string, string>();
  private readonly timeBudgetMinutes: number;
  // The ETA of a time-budgeted search (cli/progress.ts budgetedEta): the coordinator's deadline, then the refit's epochs.
  private readonly started = Date.now();
  private searchDeadline: number | null = null;
  private refitEpochsPerModel: number;
  private readonly folds: number;
  private refitEpochs: number;
  private epochsDone = 0;
  private refitEpochsDone = 0;

  constructor(
    private readonly args: SearchArgs,
    private readonly where: string,
    config: SearchConfig | undefined,
  ) {
    this.show = !args.quiet && !args.json;
    this.bar = new ProgressBar(process.stderr, this.show);
    this.total = config ? totalModels(config) : 0;
    this.generations = config?.generations ?? 0;
    this.budget = config?.budget;
    this.timeBudgetMinutes = config?.timeBudgetMinutes ?? 0;
    // A k-fold model trains a network per fold: its progress counts every fold's epochs.
    this.folds = config?.data.kfold ?? 1;
    this.refitEpochsPerModel = config?.refit ? config.refit.epochs * this.folds : 0;
    this.refitEpochs = (config?.refit?.models ?? 0) * this.refitEpochsPerModel;
  }

  /** Generation `index` is the refit (the generation count is known from the run's start). */
  private isRefit(index: number): boolean {
    return this.generations > 0 && isRefitGeneration(index, this.generations);
  }

  private inRefit(): boolean {
    return this.isRefit(this.generation);
  }

  /** NaN (the model-rate ETA) unless the search is time-budgeted. */
  private eta(): number {
    if (this.searchDeadline === null) return Number.NaN;
    return budgetedEta({
      elapsedMs: Date.now() - this.started,
      searchEndsMs: this.inRefit() ? 0 : this.searchDeadline - this.started,
      epochsDone: this.epochsDone,
      refitEpochsLeft: Math.max(0, this.refitEpochs - this.refitEpochsDone),
    });
  }

  /** Lines that matter even with --quiet or --json (why a model failed) go to stderr either way. */
  warn(line: string): void {
    if (this.show) this.bar.log(line);
    else process.stderr.write(`${line}\n`);
  }

  private detail(): string {
    const best = this.done > 0 ? `${(this.best * 100).toFixed(1)}%` : '-';
    const training = this.epochs.size ? ` | training ${[...this.epochs.values()].join(' ')}` : '';
    // The refit is one extra generation after the search's last (search/refit.ts): named as such, not "gen 5/4".
    // A budgeted search's generation count is a cap, not a plan: no "of N".
    const budgeted = this.budget !== undefined || this.searchDeadline !== null;
    const phase = this.inRefit() ? 'refit' : `gen ${this.generation + 1}${budgeted ? '' : `/${this.generations}`}`;
    return `${phase} | best val ${best}${training}`;
  }

  /** "20 models over 3 generations", or what a budgeted search spends (its model count is not known up front). */
  private size(models: number, generations: number): string {
    if (!this.budget) return `${models} models over ${generations} generations${this.timeBudgetMinutes > 0 ? ` at most, new ones for ${this.timeBudgetMinutes} minutes` : ''}`;
    const parts = [this.budget.minutes !== undefined ? `${this.budget.minutes} minutes` : '', this.budget.epochs !== undefined ? `${this.budget.epochs} training epochs` : ''];
    return `models until a budget of ${parts.filter(Boolean).join(' or ')} is spent (at most ${generations} generations)`;
  }

  readonly onEvent = (e: RunEvent): void => {
    switch (e.kind) {
      case 'run-start':
        this.searchDeadline = e.searchDeadline ?? null;
        this.total = e.totalModels;
        this.done = e.doneModels;
        this.generations = e.generations;
        this.bar.log(`run ${e.runId}: ${this.size(e.totalModels, e.generations)} ${this.where}; database ${this.args.dbPath}`);
        break;
      case 'generation-start':
        this.generation = e.generation;
        // The refit's models are the last ones: the total is now known (a budget may have cut the search short).
        if (this.inRefit()) {
          this.total = this.done + e.models;
          this.refitEpochs = e.models * this.refitEpochsPerModel;
        }
        break;
      case 'model-progress':
        this.epochsDone++;
        if (this.inRefit()) this.refitEpochsDone++;
        this.epochs.set(e.progress.modelId, `${e.progress.modelId}:${e.progress.epoch}/${e.progress.epochs}`);
        break;
      case 'model-done':
        this.done++;
        this.best = Math.max(this.best, e.valAccuracy);
        this.epochs.delete(e.modelId);
        break;
      case 'model-failed':
        this.done++;
        this.epochs.delete(e.modelId);
        this.warn(`model ${e.modelId} failed after ${e.attempts} attempt(s): ${e.error}`);
        break;
      case 'model-pruned':
        this.done++;
        this.epochs.delete(e.modelId);
        break;
      case 'model-paused':
        // Not done: it ends when promoted (model-done) or when the search ends without promoting it (model-pruned).
        this.epochs.delete(e.modelId);
        break;
      case 'generation-done':
        this.bar.log(
          `${this.isRefit(e.generation) ? 'refit' : `generation ${e.generation + 1}`}: ${
            e.done > 0 ? `best val ${pct(e.bestValAccuracy)}, mean ${pct(e.meanValAccuracy)}` : 'no model trained to the end (pruned or failed)'
          }`,
        );
        break;
      case 'budget-exhausted':
        this.bar.log(`time budget reached before generation ${e.generation + 1}; finishing`);
        break;
      case 'refit-cut':
        this.refitEpochsPerModel = e.epochs * this.folds;
        this.bar.log(`refit: ${e.epochs} epochs instead of ${e.from}, to end within its ${e.minutes} minutes`);
        break;
      default:
        break;
    }
    const eta = this.eta();
    // A time-budgeted search's model count is what the budget decides: no total until the refit's is known.
    const total = this.searchDeadline !== null && !this.inRefit() ? 0 : this.total;
    this.bar.update({ done: this.done, total, detail: this.detail(), ...(Number.isNaN(eta) ? {} : { etaMs: eta }) }, e.kind !== 'model-progress');
  };
}

/** The end of the command: one JSON object (--json) or a few lines saying what happened and where to look. */
function printSummary(args: SearchArgs, summary: RunSummary, finish: FinishSummary | null): void {
  if (args.json) {
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
    console.log(`run ${summary.runId} interrupted after ${summary.modelsTrained} finished models; resume with: loom search --resume ${summary.runId} --db ${args.dbPath}`);
  } else {
    console.log(
      [
        `run ${summary.runId} finished: ${summary.modelsTrained} models trained${summary.modelsFailed ? `, ${summary.modelsFailed} failed` : ''} in ${(summary.wallMs / 1000).toFixed(0)} s`,
        ...(finish ? finish.lines : [`best single model ${summary.bestModelId}: validation ${pct(summary.bestValAccuracy)}, test ${pct(summary.bestTestAccuracy)}`]),
        `details: loom show ${summary.runId} --db ${args.dbPath}   (browse: loom dashboard --db ${args.dbPath})`,
      ].join('\n'),
    );
  }
}

export interface SearchCliOptions {
  readonly executor?: Executor;
}

export async function runSearch(argv: string[], deps: SearchCliOptions = {}): Promise<number> {
  const args = parseSearchArgs(argv);
  // data.kfold "auto" is decided here (the coordinator would too), so the progress bar counts the folds it trains.
  const config = args.resume
    ? undefined
    : resolveAutoKFold(readSearchConfig(args.configPath, { ...(args.seed === undefined ? {} : { seed: args.seed }), ...(args.dataRef === undefined ? {} : { dataRef: args.dataRef }) }));
  // Asked before connecting, so an unreachable server does not hide the config's problem (the coordinator asks too).
  if (args.redis && config?.schedule === 'steady') steadyLanes(config.lanes, undefined);
  // Connect to Redis before opening the database, so an unreachable server fails fast and leaves nothing open.
  const executor = await openExecutor(args, deps);
  const freshDb = !existsSync(args.dbPath);
  const store = await openStore(args.dbPath, executor);
  const abort = new AbortController();
  const release = trapInterrupts(abort);
  // Ctrl-C also stops the models training on local threads (they are pending again and retrain on --resume),
  // rather than waiting for them: with long trainings the first interrupt must take effect now. Jobs on a Redis
  // queue keep training on their workers and are collected on resume.
  if (!args.redis) abort.signal.addEventListener('abort', () => void executor.close(), { once: true });
  const progress = new SearchProgress(args, args.redis ? `through the queue at ${args.redis}` : `on ${executor.concurrency} worker thread(s)`, config);

  const finished: { summary?: FinishSummary } = {};
  // The population's payoff: analyse it, choose an ensemble on validation data, graft and export it. The
  // coordinator runs this under the run's lease and marks the run finalized after it, so a resume redoes it
  // when it was cut short.
  const finishing = (s: RunSummary): void => {
    progress.bar.log('analysing the population and grafting the best ensemble…');
    finished.summary = finishRun(store, s.runId, { outDir: join(dirname(resolve(args.dbPath)), s.runId) });
  };
  // BullMQ retries a job itself (attempts with backoff), so the coordinator must not retry on top of it.
  const coordinator = new Coordinator({
    store,
    executor,
    onEvent: progress.onEvent,
    signal: abort.signal,
    codeVersion: codeVersion(),
    finish: finishing,
    ...(args.redis ? { maxAttempts: 1 } : {}),
  });
  let summary: RunSummary;
  let started = false;
  try {
    summary = args.resume ? await coordinator.resume(args.resume) : await coordinator.start(config as SearchConfig);
    started = true;
  } finally {
    progress.bar.done();
    release();
    await executor.close();
    // A database this command created for a run that never began (bad data, say) is removed: a failed command
    // leaves no files behind.
    const leaveNoTrace = !started && freshDb && store.listRuns().length === 0;
    store.close();
    if (leaveNoTrace) for (const suffix of ['', '-wal', '-shm']) rmSync(`${args.dbPath}${suffix}`, { force: true });
  }
  printSummary(args, summary, finished.summary ?? null);
  return summary.status === 'interrupted' ? 130 : 0;
}

export const command: Command = { name: 'search', help, run: (argv) => runSearch(argv) };
