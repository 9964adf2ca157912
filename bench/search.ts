import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { dataOptions, loadDataset, splitTensors, type LoadedDataset } from '../src/data/index.js';
import { evaluate } from '../src/engine/eval.js';
import type { LayerSpec } from '../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../src/engine/network.js';
import { deriveSeed, Rng } from '../src/engine/rng.js';
import { train } from '../src/engine/train/index.js';
import { analyzeRun } from '../src/ensemble/analyze.js';
import { scoreRows } from '../src/ensemble/select.js';
import { pickBest } from '../src/search/best.js';
import { parseSearchConfig } from '../src/search/config.js';
import { Coordinator } from '../src/search/coordinator.js';
import type { TrainingJob } from '../src/search/jobs.js';
import { Store } from '../src/store/store.js';
import { ThreadPoolExecutor } from '../src/workers/pool.js';
import { table } from './util.js';

/**
 * The search benchmark (issue 12): at an equal training budget (the same total epochs on the same data), over
 * several seeds, on several data sets, compare
 * - evolution: Loom's search as shipped for budgets (NES fitness, ASHA pruning, budget in epochs), ending as the
 *   default config does with a refit of its best `refit` models with full epochs — paid from the same budget: the
 *   search itself gets budget − refit·epochs;
 * - random: the same generator and training, no evolution, no pruning, the same epoch budget;
 * - deep ensemble: the random search's best architecture (chosen on validation) retrained with M seeds, averaged;
 * - MLP: a tuned plain multilayer perceptron (a small grid of width × learning rate, Loom's engine).
 * For each: best single model's test accuracy (chosen on validation), the chosen ensemble's test accuracy and test
 * log-loss (selected on validation log-loss), and models per minute. Mean ± sd over seeds.
 *
 * Sizes come from LOOM_SEARCH_BENCH, e.g. "seeds=3,budget=60,epochs=3,limit=1500,members=4,datasets=mnist+penguins".
 * The MLP grid and the deep ensemble are extra to the budget (they are reference points, not searches).
 */

export interface SearchBenchSettings {
  readonly seeds: number;
  /** Training epochs each search may spend (summed over its models). */
  readonly budget: number;
  /** Epochs a model trains for at most. */
  readonly epochs: number;
  /** Sample cap for the image data sets (stratified). */
  readonly limit: number;
  /** Deep-ensemble members. */
  readonly members: number;
  /** Evolution: models per generation (generation 0 trains fully; later ones are pruned by ASHA). */
  readonly population: number;
  /** Evolution: how many of its best models are refit with `epochs` epochs at the end, within its budget (0: none). */
  readonly refit: number;
  /**
   * Evolution: ASHA's first rung, in epochs (pruner.minEpochs; later rungs ×3). 2: on Fashion-MNIST's validation
   * data the ranking after one epoch put the eventual best model 10th of 15 in one seed of three (pruned at η = 3).
   */
  readonly firstRung: number;
  readonly threads: number;
  readonly datasets: readonly string[];
  readonly methods: readonly string[];
}

export const DEFAULT_SEARCH_BENCH: SearchBenchSettings = {
  seeds: 3,
  budget: 60,
  epochs: 6,
  limit: 1500,
  members: 4,
  population: 6,
  refit: 3,
  firstRung: 2,
  threads: 2,
  datasets: ['mnist', 'fashion-mnist', 'penguins', 'sequence'],
  methods: ['evolution', 'random', 'deep-ensemble', 'mlp'],
};

export function searchBenchSettings(spec = process.env.LOOM_SEARCH_BENCH ?? ''): SearchBenchSettings {
  const out: Record<string, unknown> = { ...DEFAULT_SEARCH_BENCH };
  for (const part of spec.split(',').filter(Boolean)) {
    const [key, value] = part.split('=') as [string, string | undefined];
    if (!(key in DEFAULT_SEARCH_BENCH) || value === undefined) throw new Error(`LOOM_SEARCH_BENCH: unknown setting "${part}" (known: ${Object.keys(DEFAULT_SEARCH_BENCH).join(', ')})`);
    out[key] = key === 'datasets' || key === 'methods' ? value.split('+') : Number(value);
  }
  return out as unknown as SearchBenchSettings;
}

/** A data set of the benchmark: its data ref and split settings. */
interface BenchData {
  readonly name: string;
  readonly ref: string;
  readonly limit?: number;
}

/** penguins (vega-datasets): numeric CSV, rows with missing values dropped, Island and Sex one-hot, label Species. */
function penguinsCsv(): string {
  const require = createRequire(import.meta.url);
  // The package exports only its JS entry (build/index.js); the data files sit beside build/.
  const file = join(dirname(require.resolve('vega-datasets')), '..', 'data', 'penguins.json');
  const rows = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string | number | null>[];
  const numeric = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'];
  const islands = ['Biscoe', 'Dream', 'Torgersen'];
  const complete = rows.filter((r) => numeric.every((k) => typeof r[k] === 'number') && (r.Sex === 'MALE' || r.Sex === 'FEMALE') && typeof r.Species === 'string');
  const header = ['beak_length', 'beak_depth', 'flipper_length', 'body_mass', ...islands.map((i) => `island_${i}`), 'male', 'species'];
  const lines = complete.map((r) => [...numeric.map((k) => r[k]), ...islands.map((i) => Number(r.Island === i)), Number(r.Sex === 'MALE'), r.Species].join(','));
  const dir = join(tmpdir(), 'loom-bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'penguins.csv');
  writeFileSync(path, `${header.join(',')}\n${lines.join('\n')}\n`);
  return path;
}

function benchData(name: string, settings: SearchBenchSettings): BenchData {
  if (name === 'mnist' || name === 'fashion-mnist') return { name, ref: name, limit: settings.limit };
  if (name === 'penguins') return { name, ref: `csv:${penguinsCsv()}?label=species` };
  if (name === 'sequence') return { name, ref: 'synthetic:sequence' };
  throw new Error(`search bench: unknown data set "${name}" (known: mnist, fashion-mnist, penguins, sequence)`);
}

export interface MethodResult {
  readonly bestSingleTest: number;
  readonly ensembleTest: number | null;
  readonly ensembleTestLogLoss: number | null;
  readonly models: number;
  readonly wallMs: number;
  readonly modelsPerMinute: number;
}

export interface SearchBenchRow {
  readonly dataset: string;
  readonly method: string;
  readonly seeds: number;
  readonly bestSingleTest: { mean: number; sd: number };
  readonly ensembleTest: { mean: number; sd: number } | null;
  readonly ensembleTestLogLoss: { mean: number; sd: number } | null;
  readonly modelsPerMinute: { mean: number; sd: number };
  readonly runs: MethodResult[];
}

const meanSd = (xs: readonly number[]): { mean: number; sd: number } => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
};

/** One search (evolution or random) through the real coordinator; its analysis as `loom analyze` makes it. */
async function runSearch(
  kind: 'evolution' | 'random',
  data: BenchData,
  dataset: LoadedDataset,
  seed: number,
  settings: SearchBenchSettings,
  executor: ThreadPoolExecutor,
): Promise<{ result: MethodResult; bestArch: unknown }> {
  const common = {
    name: `bench-${kind}`,
    seed,
    data: { ref: data.ref, splitSeed: seed, ...(data.limit ? { limit: data.limit } : {}) },
    training: { epochs: settings.epochs, batchSize: 32 },
    budget: { epochs: settings.budget },
  };
  const refitEpochs = settings.refit * settings.epochs;
  if (kind === 'evolution' && refitEpochs >= settings.budget) throw new Error(`search bench: refit ${settings.refit}×${settings.epochs} epochs leaves nothing of the budget ${settings.budget}`);
  const config = parseSearchConfig(
    kind === 'evolution'
      ? {
          ...common,
          budget: { epochs: settings.budget - refitEpochs },
          population: settings.population,
          elite: Math.min(2, settings.population - 1),
          fitness: 'nes',
          pruner: { kind: 'asha', eta: 3, wave: 3, minEpochs: settings.firstRung },
          ...(settings.refit > 0 ? { refit: { models: settings.refit, epochs: settings.epochs } } : {}),
        }
      : { ...common, population: Math.ceil(settings.budget / settings.epochs), generations: 1, elite: 0 },
  );
  const store = Store.open(':memory:');
  try {
    const started = performance.now();
    await new Coordinator({ store, executor }).start(config, 'bench');
    const wallMs = performance.now() - started;
    const models = store.listModels('bench').filter((m) => m.status === 'done' || m.status === 'pruned').length;
    const analysis = analyzeRun(store, 'bench', { labels: { val: dataset.val.y, test: dataset.test.y }, selection: { metric: 'log_loss' } });
    const bestArch = store.getModel('bench', analysis.bestSingle.modelId)?.arch;
    return {
      result: {
        bestSingleTest: analysis.bestSingle.testAccuracy,
        ensembleTest: analysis.chosen.testAccuracy,
        ensembleTestLogLoss: analysis.chosen.testLogLoss,
        models,
        wallMs,
        modelsPerMinute: models / (wallMs / 60_000),
      },
      bestArch,
    };
  } finally {
    store.close();
  }
}

/** The best random-search architecture retrained with M seeds; equal-weight average (Lakshminarayanan et al. 2017). */
async function deepEnsemble(arch: unknown, data: BenchData, dataset: LoadedDataset, seed: number, settings: SearchBenchSettings, executor: ThreadPoolExecutor): Promise<MethodResult> {
  const started = performance.now();
  const jobs: TrainingJob[] = Array.from({ length: settings.members }, (_, k) => ({
    runId: 'bench-deep',
    modelId: `deep-${k}`,
    generation: 0,
    arch: arch as TrainingJob['arch'],
    data: { ref: data.ref, checksum: dataset.checksum, ...dataOptions({ splitSeed: seed, ...(data.limit ? { limit: data.limit } : {}) }) },
    training: { epochs: settings.epochs, batchSize: 32, optimizer: 'adamw', weightDecay: 1e-4, patience: 0, scheduler: 'cosine', mode: 'normal' },
    seed: deriveSeed(seed, 'deep-ensemble', k),
  }));
  const results = await Promise.all(jobs.map((j) => executor.run(j)));
  const wallMs = performance.now() - started;
  const c = dataset.numClasses;
  const best = pickBest(results.map((r, k) => ({ k, modelId: r.modelId, valAccuracy: r.valAccuracy, valLogLoss: scoreRows(r.valProbs, dataset.val.y, c).logLoss })));
  const avg = new Float32Array(results[0]!.testProbs.length);
  for (const r of results) r.testProbs.forEach((v, i) => (avg[i] = (avg[i] as number) + v / results.length));
  const score = scoreRows(avg, dataset.test.y, c);
  return {
    bestSingleTest: results[best!.k]!.testAccuracy,
    ensembleTest: score.accuracy,
    ensembleTestLogLoss: score.logLoss,
    models: results.length,
    wallMs,
    modelsPerMinute: results.length / (wallMs / 60_000),
  };
}

/** A tuned plain MLP: flatten → dense(w, relu) → dense(w, relu) → dense(classes); grid of width × lr, chosen on validation. */
function tunedMlp(dataset: LoadedDataset, seed: number, settings: SearchBenchSettings): MethodResult {
  const started = performance.now();
  const grid = [64, 256].flatMap((width) => [1e-3, 3e-3].map((lr) => ({ width, lr })));
  const trainData = splitTensors(dataset, dataset.train);
  const valData = splitTensors(dataset, dataset.val);
  const testData = splitTensors(dataset, dataset.test);
  const scored = grid.map((g, k) => {
    const layers = [
      { type: 'flatten' },
      { type: 'dense', units: g.width, activation: 'relu' },
      { type: 'dense', units: g.width, activation: 'relu' },
      { type: 'dense', units: dataset.numClasses },
    ] as LayerSpec[];
    const net = new Network(sequentialNetworkSpec(dataset.inputShape, layers), new Rng(deriveSeed(seed, 'mlp', k)));
    train(net, trainData, { epochs: Math.max(settings.epochs, 10), batchSize: 32, learningRate: g.lr, optimizer: { name: 'adamw', weightDecay: 1e-4 }, schedule: 'cosine', seed: deriveSeed(seed, 'mlp-train', k) });
    const val = evaluate(net, valData);
    return { k, modelId: `mlp-${k}`, valAccuracy: val.accuracy, valLogLoss: val.loss, net };
  });
  const best = pickBest(scored)!;
  const test = evaluate(best.net, testData);
  const wallMs = performance.now() - started;
  return { bestSingleTest: test.accuracy, ensembleTest: null, ensembleTestLogLoss: null, models: grid.length, wallMs, modelsPerMinute: grid.length / (wallMs / 60_000) };
}

export async function benchSearch(settings: SearchBenchSettings = searchBenchSettings()): Promise<{ settings: SearchBenchSettings; rows: SearchBenchRow[] }> {
  const executor = new ThreadPoolExecutor({ threads: settings.threads });
  const rows: SearchBenchRow[] = [];
  try {
    for (const name of settings.datasets) {
      const data = benchData(name, settings);
      const perMethod = new Map<string, MethodResult[]>(settings.methods.map((m) => [m, []]));
      for (let s = 0; s < settings.seeds; s++) {
        const seed = 101 + s;
        const dataset = loadDataset(data.ref, dataOptions({ splitSeed: seed, ...(data.limit ? { limit: data.limit } : {}) }));
        let randomArch: unknown = null;
        for (const method of settings.methods) {
          let r: MethodResult;
          if (method === 'evolution') r = (await runSearch('evolution', data, dataset, seed, settings, executor)).result;
          else if (method === 'random') {
            const out = await runSearch('random', data, dataset, seed, settings, executor);
            randomArch = out.bestArch;
            r = out.result;
          } else if (method === 'deep-ensemble') {
            if (randomArch === null) randomArch = (await runSearch('random', data, dataset, seed, settings, executor)).bestArch;
            r = await deepEnsemble(randomArch, data, dataset, seed, settings, executor);
          } else if (method === 'mlp') r = tunedMlp(dataset, seed, settings);
          else throw new Error(`search bench: unknown method "${method}"`);
          perMethod.get(method)!.push(r);
          console.log(
            `  ${name} seed ${seed} ${method}: best single ${(r.bestSingleTest * 100).toFixed(2)}%, ensemble ${r.ensembleTest === null ? '-' : `${(r.ensembleTest * 100).toFixed(2)}%`}, ${r.models} models in ${(r.wallMs / 1000).toFixed(0)} s`,
          );
        }
      }
      for (const [method, runs] of perMethod) {
        const ens = runs.filter((r) => r.ensembleTest !== null);
        rows.push({
          dataset: name,
          method,
          seeds: runs.length,
          bestSingleTest: meanSd(runs.map((r) => r.bestSingleTest)),
          ensembleTest: ens.length ? meanSd(ens.map((r) => r.ensembleTest as number)) : null,
          ensembleTestLogLoss: ens.length ? meanSd(ens.map((r) => r.ensembleTestLogLoss as number)) : null,
          modelsPerMinute: meanSd(runs.map((r) => r.modelsPerMinute)),
          runs,
        });
      }
    }
  } finally {
    await executor.close();
  }
  return { settings, rows };
}

const pm = (x: { mean: number; sd: number } | null, scale = 100, digits = 2): string => (x ? `${(x.mean * scale).toFixed(digits)} ± ${(x.sd * scale).toFixed(digits)}` : '-');

export function searchTable(out: { settings: SearchBenchSettings; rows: SearchBenchRow[] }): string {
  const s = out.settings;
  return [
    `settings: ${s.seeds} seeds, budget ${s.budget} epochs per search, ≤ ${s.epochs} epochs per model, image data capped at ${s.limit} samples, deep ensemble of ${s.members}, evolution population ${s.population}, ${s.threads} worker threads`,
    table(
      ['data', 'method', 'best single test %', 'ensemble test %', 'ensemble test log-loss', 'models / min'],
      out.rows.map((r) => [r.dataset, r.method, pm(r.bestSingleTest), pm(r.ensembleTest), pm(r.ensembleTestLogLoss, 1, 3), pm(r.modelsPerMinute, 1, 1)]),
    ),
  ].join('\n');
}
