import { configError, LoomError } from '../engine/errors.js';
import { reportsSteps, TRAINING_MODES } from '../engine/train/modes.js';
import { OPTIMIZER_NAMES } from '../engine/train/optimizers.js';
import { readRaw, stratifiedSplit } from '../data/index.js';
import { checkKFold, KFOLD_MAX_ROWS } from '../data/kfold.js';
import { checkFractions } from '../data/split.js';
import type { SplitSpec } from '../data/types.js';
import type { TrainingSettings } from './jobs.js';
import { FITNESS_KINDS, type FitnessKind } from './fitness.js';
import { PRUNER_KINDS, createPruner, type BudgetSpec, type PrunerSpec } from './pruners.js';
import { refitAugments, refitField, type RefitSpec } from './refit.js';
import { OPTIONAL_GEN_FIELDS, STANDARD_GRID_SHAPES, defaultArchGenOptions, resolveGenOptions, type ArchGenOptions, type GridShape } from './arch.js';

/**
 * A search config file (configs/*.json): what to search on, how big the population is, how each model trains,
 * and how the generator and evolution behave. Every field has a default, so `{}` is a valid config;
 * validation errors name the field and the allowed values.
 */
export interface SearchConfig {
  readonly name: string;
  /** Seeds generation, training and evolution (the data split has its own seed in `data`, default this one). */
  readonly seed: number;
  /**
   * The data and its split. `autoKFold` (the config's `data.kfold: "auto"`): k-fold with that many folds when the
   * non-test rows are few enough for it (KFOLD_MAX_ROWS), else a plain split; resolveAutoKFold decides when the run
   * starts, so a stored run config never holds it.
   */
  readonly data: { readonly ref: string; readonly autoKFold?: number } & SplitSpec;
  /** Models per generation. */
  readonly population: number;
  readonly generations: number;
  /** Best models carried over unchanged into the next generation. */
  readonly elite: number;
  readonly tournamentSize: number;
  /** Probability that a child is mutated. */
  readonly mutationRate: number;
  /** Probability that a child is bred from two parents. */
  readonly crossoverRate: number;
  /** λ: weight of the uniqueness of a model's correct validation samples in its fitness. */
  readonly diversityWeight: number;
  /** Stop starting new models after this many minutes (0 = no budget). */
  readonly timeBudgetMinutes: number;
  /** What evolution selects on (search/fitness.ts): 'nes' (default), 'accuracy' or 'uniqueness' (uses diversityWeight). */
  readonly fitness: FitnessKind;
  /** Multi-fidelity pruning of unpromising models (search/pruners.ts); default {kind: 'none'}. */
  readonly pruner: PrunerSpec;
  /** Spend this (wall minutes and/or summed training epochs) instead of a fixed number of generations. */
  readonly budget?: BudgetSpec;
  /**
   * How models are started: 'generations' (default) trains a generation, then breeds the next from it; 'steady'
   * (search/steady.ts) breeds one model whenever a worker is free, from the models finished by then, so no worker
   * waits for a generation's slowest model. `population × generations` is then only a cap on the models.
   */
  readonly schedule: ScheduleKind;
  /** A steady schedule's virtual lanes (its results depend on them): default the worker count when the run starts, then recorded. */
  readonly lanes?: number;
  /** Final refit (search/refit.ts): the best `models` are retrained with `epochs` epochs before the ensemble is formed. */
  readonly refit?: RefitSpec;
  /**
   * Weight inheritance: 'children' starts every child of evolution from its first parent's trained weights where
   * names and shapes match (Lamarckian, as population-based training's exploit step), 'all' also continues the
   * refit models from the models they refit instead of training them anew; 'none' (default) trains every model
   * from its own init. With k-fold data each fold network inherits from the parent bag's network of the same fold.
   */
  readonly inherit: InheritMode;
  /** What the end-of-run ensemble selection optimizes on validation: 'log_loss' (default) or 'accuracy'. */
  readonly ensembleMetric: 'log_loss' | 'accuracy';
  /**
   * 0 (default): the end-of-run ensemble is the best on validation among one greedy climb over every model, the
   * top-5 and all-model averages, the best pair and the best single model. N > 0: Caruana's bagged selection, the
   * average of N climbs each on a random half of the models (ensemble/select.ts baggedSelection).
   */
  readonly ensembleBags: number;
  readonly training: TrainingSettings;
  /** Architecture generator options (arch.ts ArchGenOptions); grid shapes may be given by name ("2x2 Standard"). */
  readonly generator: Partial<ArchGenOptions>;
}

export const SCHEDULE_KINDS = ['generations', 'steady'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

export const INHERIT_MODES = ['none', 'children', 'all'] as const;
export type InheritMode = (typeof INHERIT_MODES)[number];

export const DEFAULT_TRAINING: TrainingSettings = {
  epochs: 4,
  batchSize: 32,
  optimizer: 'adamw',
  weightDecay: 1e-4,
  patience: 0,
  scheduler: 'cosine',
  mode: 'normal',
  calibration: 'temperature',
};

/**
 * Upper bounds, so that a typo like `population: 1e9` is an immediate error instead of an allocation that
 * hangs. Each is far beyond what a search on one machine or a small cluster can use.
 */
export const LIMITS = {
  population: 10_000,
  generations: 10_000,
  epochs: 10_000,
  batchSize: 65_536,
  /** Training threads (`--workers`); also the most jobs the coordinator keeps in flight. */
  workers: 256,
  /** data.limit: samples. */
  samples: 1_000_000_000,
} as const;

/** Seeds are unsigned 32-bit integers: larger values would wrap silently (2^32 + 1 would reproduce seed 1). */
export const MAX_SEED = 0xffffffff;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function int(field: string, v: unknown, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw configError(field, `must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A seed: an integer in [0, 2^32). */
export function parseSeed(field: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_SEED) {
    throw configError(field, `must be an integer in [0, 2^32) (at most ${MAX_SEED}), got ${JSON.stringify(v)}`);
  }
  return v;
}

function num(field: string, v: unknown, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw configError(field, `must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw configError(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw configError(field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

function rejectUnknown(where: string, obj: Json, known: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) throw configError(where ? `${where}.${key}` : key, `unknown field; known fields: ${known.join(', ')}`);
  }
}

/** Training settings (a config's `training`, or a job's read back from Redis); defaults for what is absent. */
export function parseTraining(v: unknown): TrainingSettings {
  if (v === undefined) return DEFAULT_TRAINING;
  if (!isObject(v)) throw configError('training', 'must be an object');
  rejectUnknown('training', v, ['epochs', 'batchSize', 'optimizer', 'weightDecay', 'clipNorm', 'patience', 'scheduler', 'mode', 'calibration']);
  const d = DEFAULT_TRAINING;
  return {
    epochs: int('training.epochs', v.epochs, 1, LIMITS.epochs, d.epochs),
    batchSize: int('training.batchSize', v.batchSize, 1, LIMITS.batchSize, d.batchSize),
    optimizer: oneOf('training.optimizer', v.optimizer, OPTIMIZER_NAMES, d.optimizer),
    weightDecay: num('training.weightDecay', v.weightDecay, 0, 1, d.weightDecay),
    ...(v.clipNorm === undefined ? {} : { clipNorm: num('training.clipNorm', v.clipNorm, 0, 1e9, 0) }),
    patience: int('training.patience', v.patience, 0, LIMITS.epochs, d.patience),
    scheduler: oneOf('training.scheduler', v.scheduler, ['constant', 'cosine', 'linear'] as const, d.scheduler),
    mode: oneOf('training.mode', v.mode, TRAINING_MODES, d.mode),
    calibration: oneOf('training.calibration', v.calibration, ['temperature', 'none'] as const, 'temperature'),
  };
}

function parseGridShapes(v: unknown): GridShape[] {
  if (!Array.isArray(v)) throw configError('generator.gridShapes', 'must be an array of shape names or {rows, cols} objects');
  return v.map((s, i) => {
    if (typeof s === 'string') {
      const found = STANDARD_GRID_SHAPES.find((g) => g.name === s || g.name.split(' ')[0] === s);
      if (!found) {
        throw configError(`generator.gridShapes[${i}]`, `unknown shape "${s}"; known: ${STANDARD_GRID_SHAPES.map((g) => `"${g.name}"`).join(', ')}`);
      }
      return found;
    }
    if (isObject(s) && typeof s.rows === 'number' && typeof s.cols === 'number') {
      return { rows: s.rows, cols: s.cols, name: typeof s.name === 'string' ? s.name : `${s.rows}x${s.cols}` };
    }
    throw configError(`generator.gridShapes[${i}]`, `must be a shape name or {rows, cols}, got ${JSON.stringify(s)}`);
  });
}

/** `pruner`: a kind name ("asha") or {kind, eta, minEpochs, warmupEpochs, minSamples}. */
function parsePruner(v: unknown): PrunerSpec {
  if (v === undefined) return { kind: 'none' };
  if (typeof v === 'string') return { kind: oneOf('pruner', v, PRUNER_KINDS, 'none') };
  if (!isObject(v)) throw configError('pruner', `must be one of ${PRUNER_KINDS.map((k) => `"${k}"`).join(', ')} or an object {kind, eta, minEpochs, warmupEpochs, minSamples}`);
  rejectUnknown('pruner', v, ['kind', 'eta', 'minEpochs', 'warmupEpochs', 'minSamples', 'wave', 'window', 'promote']);
  const spec: PrunerSpec = {
    kind: oneOf('pruner.kind', v.kind, PRUNER_KINDS, 'asha'),
    ...(v.eta === undefined ? {} : { eta: num('pruner.eta', v.eta, 1.01, 100, 3) }),
    ...(v.minEpochs === undefined ? {} : { minEpochs: num('pruner.minEpochs', v.minEpochs, 0.001, LIMITS.epochs, 1) }),
    ...(v.warmupEpochs === undefined ? {} : { warmupEpochs: int('pruner.warmupEpochs', v.warmupEpochs, 0, LIMITS.epochs, 0) }),
    ...(v.minSamples === undefined ? {} : { minSamples: int('pruner.minSamples', v.minSamples, 1, LIMITS.population, 3) }),
    ...(v.wave === undefined ? {} : { wave: int('pruner.wave', v.wave, 1, LIMITS.population, 4) }),
    ...(v.window === undefined ? {} : { window: int('pruner.window', v.window, 1, LIMITS.population, 1) }),
    ...(v.promote === undefined ? {} : { promote: bool('pruner.promote', v.promote) }),
  };
  createPruner(spec); // validates the combination now, before any training
  return spec;
}

/** `budget`: {minutes} and/or {epochs} (training epochs summed over models). */
function parseBudget(v: unknown): BudgetSpec {
  if (!isObject(v)) throw configError('budget', 'must be an object like {"minutes": 10} or {"epochs": 200}');
  rejectUnknown('budget', v, ['minutes', 'epochs']);
  if (v.minutes === undefined && v.epochs === undefined) throw configError('budget', 'needs "minutes" or "epochs"');
  return {
    ...(v.minutes === undefined ? {} : { minutes: num('budget.minutes', v.minutes, 0.01, 1e6, 1) }),
    ...(v.epochs === undefined ? {} : { epochs: int('budget.epochs', v.epochs, 1, 1e9, 1) }),
  };
}

const parseInherit = (v: unknown): InheritMode => oneOf('inherit', v, INHERIT_MODES, 'none');

/** Generator fields a config may set: those of ArchGenOptions. */
const GENERATOR_FIELDS: readonly string[] = [...Object.keys(defaultArchGenOptions()), ...OPTIONAL_GEN_FIELDS];

/** Folds of `data.kfold: "auto"` on small data: the search benchmark's tabular setting. */
export const AUTO_KFOLDS = 5;

/**
 * A config with `data.kfold: "auto"` made concrete: k-fold (AUTO_KFOLDS) when the split leaves at most
 * KFOLD_MAX_ROWS non-test rows, else a plain train/val/test split. Reads the data once to count; other configs
 * come back as they are.
 */
export function resolveAutoKFold(config: SearchConfig): SearchConfig {
  const { autoKFold, ...data } = config.data;
  if (autoKFold === undefined) return config;
  // Only the split's sizes matter: the raw data and its split, without gathering or normalizing any split.
  const { fractions, limit, splitSeed } = data;
  const split = stratifiedSplit(readRaw(data.ref), { splitSeed, ...(fractions ? { fractions } : {}), ...(limit === undefined ? {} : { limit }) });
  const rows = split.train.length + split.val.length;
  return { ...config, data: rows <= KFOLD_MAX_ROWS ? { ...data, kfold: autoKFold } : data };
}

export interface ConfigOverrides {
  /** Replaces the config's `seed` (the CLI's --seed); `data.splitSeed` follows it unless the config sets one. */
  readonly seed?: number;
  /** Replaces the config's `data.ref` (the CLI's --data), so one config serves several data sets. */
  readonly dataRef?: string;
}

/**
 * A run's stored config (Store.getRunConfig), parsed by the same parser as a config file (defaults filled, every
 * field checked), so a resumed run trains under exactly the checked config; an invalid one is a store error naming the run.
 */
export function parseRunConfig(value: unknown, runId: string): SearchConfig {
  try {
    return parseSearchConfig(value);
  } catch (err) {
    if (err instanceof LoomError) throw new LoomError('LOOM_ERR_STORE', `run ${runId}'s stored config is no longer valid: ${err.message}`);
    throw err;
  }
}

/**
 * Parses and validates a config object (from JSON), with optional overrides from the command line.
 * Throws LOOM_ERR_CONFIG naming the bad field.
 */
export function parseSearchConfig(value: unknown, overrides: ConfigOverrides = {}): SearchConfig {
  if (!isObject(value)) throw configError('(root)', 'a search config must be a JSON object');
  rejectUnknown('', value, [
    'name', 'seed', 'data', 'population', 'generations', 'elite', 'tournamentSize', 'mutationRate', 'crossoverRate',
    'diversityWeight', 'timeBudgetMinutes', 'training', 'generator', '$comment', 'fitness', 'pruner', 'budget', 'ensembleMetric', 'ensembleBags', 'refit', 'inherit',
    'schedule', 'lanes',
  ]);
  const dataIn = value.data === undefined ? {} : value.data;
  if (!isObject(dataIn)) throw configError('data', 'must be an object like {"ref": "mnist"}');
  rejectUnknown('data', dataIn, ['ref', 'limit', 'fractions', 'splitSeed', 'kfold']);
  const ref = overrides.dataRef ?? dataIn.ref ?? 'mnist';
  if (typeof ref !== 'string' || ref === '') throw configError(overrides.dataRef === undefined ? 'data.ref' : '--data', 'must be "mnist", "iris", "csv:PATH" or "synthetic:NAME"');
  const fractions = dataIn.fractions === undefined ? undefined : checkFractions(dataIn.fractions);
  const seed = overrides.seed === undefined ? parseSeed('seed', value.seed, 1) : parseSeed('--seed', overrides.seed, 1);
  const population = int('population', value.population, 2, LIMITS.population, 8);
  const elite = int('elite', value.elite, 0, LIMITS.population, Math.min(2, population - 1));
  if (elite >= population) throw configError('elite', `must be smaller than population (${population}), got ${elite}`);
  const generatorIn = value.generator === undefined ? {} : value.generator;
  if (!isObject(generatorIn)) throw configError('generator', 'must be an object of architecture generator options');
  rejectUnknown('generator', generatorIn, GENERATOR_FIELDS);
  const generator: Partial<ArchGenOptions> = {
    ...(generatorIn as Partial<ArchGenOptions>),
    ...(generatorIn.gridShapes === undefined ? {} : { gridShapes: parseGridShapes(generatorIn.gridShapes) }),
  };
  try {
    resolveGenOptions(generator); // validates every generator field now, before any training
  } catch (err) {
    if (err instanceof Error) err.message = err.message.replace('invalid config field "', 'invalid config field "generator.');
    throw err;
  }
  const name = value.name ?? 'search';
  if (typeof name !== 'string') throw configError('name', 'must be a string');
  const pruner = parsePruner(value.pruner);
  const training = parseTraining(value.training);
  // Refused here, before any training; fit.ts refuses such a job too (it may come from elsewhere over a queue).
  if (pruner.kind === 'asha' && !Number.isInteger(pruner.minEpochs ?? 1) && !reportsSteps(training.mode)) {
    throw configError('pruner.minEpochs', `a rung within the first epoch (${pruner.minEpochs}) needs training.mode "normal", not "${training.mode}"`);
  }
  const schedule = oneOf('schedule', value.schedule, SCHEDULE_KINDS, 'generations');
  if (value.lanes !== undefined && schedule !== 'steady') throw configError('lanes', 'applies to "schedule": "steady" only');
  if (pruner.promote === true) {
    // A paused model is resumed by a later job of the steady schedule; only single-split runs in mode "normal" pause.
    if (pruner.kind !== 'asha') throw configError('pruner.promote', `applies to the "asha" pruner only, not "${pruner.kind}"`);
    if (schedule !== 'steady') throw configError('pruner.promote', 'applies to "schedule": "steady" only');
    if (dataIn.kfold !== undefined) throw configError('pruner.promote', 'a k-fold run (data.kfold) cannot pause its models');
    if (!reportsSteps(training.mode)) throw configError('pruner.promote', `needs training.mode "normal", not "${training.mode}"`);
    if (training.patience > 0) throw configError('pruner.promote', 'a paused model cannot be resumed exactly under early stopping (training.patience): set patience 0');
  }
  const refit = refitField(value.refit);
  const inherit = parseInherit(value.inherit);
  const augments = refitAugments(refit.refit);
  if (augments && inherit === 'all') {
    // Weights are matched by layer position, and augmentation layers go first: a continued refit would inherit nothing.
    throw configError(augments, 'cannot be combined with inherit "all" (a refit that goes on from its model\'s weights keeps its layers)');
  }
  return {
    name,
    seed,
    data: {
      ref,
      ...(dataIn.limit === undefined ? {} : { limit: int('data.limit', dataIn.limit, 10, LIMITS.samples, 0) }),
      ...(fractions ? { fractions } : {}),
      ...(dataIn.kfold === undefined ? {} : dataIn.kfold === 'auto' ? { autoKFold: AUTO_KFOLDS } : { kfold: checkKFold(dataIn.kfold) }),
      // An explicit split seed stays: --seed changes the search, not which samples are held out.
      splitSeed: parseSeed('data.splitSeed', dataIn.splitSeed, seed),
    },
    population,
    // With a budget and no explicit generations, generations continue until the budget is spent.
    generations: int('generations', value.generations, 1, LIMITS.generations, value.budget === undefined ? 3 : LIMITS.generations),
    elite,
    tournamentSize: int('tournamentSize', value.tournamentSize, 1, LIMITS.population, 3),
    mutationRate: num('mutationRate', value.mutationRate, 0, 1, 0.8),
    crossoverRate: num('crossoverRate', value.crossoverRate, 0, 1, 0.3),
    diversityWeight: num('diversityWeight', value.diversityWeight, 0, 10, 0.1),
    timeBudgetMinutes: num('timeBudgetMinutes', value.timeBudgetMinutes, 0, 1e6, 0),
    fitness: oneOf('fitness', value.fitness, FITNESS_KINDS, 'nes'),
    pruner,
    ...(value.budget === undefined ? {} : { budget: parseBudget(value.budget) }),
    schedule,
    ...(value.lanes === undefined ? {} : { lanes: int('lanes', value.lanes, 1, 256, 1) }),
    ...refit,
    inherit,
    ensembleMetric: oneOf('ensembleMetric', value.ensembleMetric, ['log_loss', 'accuracy'] as const, 'log_loss'),
    ensembleBags: int('ensembleBags', value.ensembleBags, 0, 10_000, 0),
    training,
    generator,
  };
}
