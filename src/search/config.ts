import { configError } from '../engine/errors.js';
import { TRAINING_MODES } from '../engine/train/modes.js';
import { OPTIMIZER_NAMES } from '../engine/train/optimizers.js';
import type { TrainingSettings } from './jobs.js';
import { STANDARD_GRID_SHAPES, resolveGenOptions, type ArchGenOptions, type GridShape } from './arch.js';

/**
 * A search config file (configs/*.json): what to search on, how big the population is, how each model trains,
 * and how the generator and evolution behave. Every field has a default, so `{}` is a valid config;
 * validation errors name the field and the allowed values.
 */
export interface SearchConfig {
  readonly name: string;
  /** Seeds generation, training and evolution (the data split has its own seed in `data`). */
  readonly seed: number;
  readonly data: {
    readonly ref: string;
    readonly limit?: number;
    readonly fractions?: readonly [number, number, number];
    readonly splitSeed: number;
  };
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
  readonly training: TrainingSettings;
  /** Architecture generator options (arch.ts ArchGenOptions); grid shapes may be given by name ("2x2 Standard"). */
  readonly generator: Partial<ArchGenOptions>;
}

export const DEFAULT_TRAINING: TrainingSettings = {
  epochs: 4,
  batchSize: 32,
  optimizer: 'adamw',
  weightDecay: 1e-4,
  patience: 0,
  scheduler: 'cosine',
  mode: 'normal',
};

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function int(field: string, v: unknown, min: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw configError(field, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function num(field: string, v: unknown, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw configError(field, `must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
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

function parseTraining(v: unknown): TrainingSettings {
  if (v === undefined) return DEFAULT_TRAINING;
  if (!isObject(v)) throw configError('training', 'must be an object');
  rejectUnknown('training', v, ['epochs', 'batchSize', 'optimizer', 'weightDecay', 'clipNorm', 'patience', 'scheduler', 'mode']);
  const d = DEFAULT_TRAINING;
  return {
    epochs: int('training.epochs', v.epochs, 1, d.epochs),
    batchSize: int('training.batchSize', v.batchSize, 1, d.batchSize),
    optimizer: oneOf('training.optimizer', v.optimizer, OPTIMIZER_NAMES, d.optimizer),
    weightDecay: num('training.weightDecay', v.weightDecay, 0, 1, d.weightDecay),
    ...(v.clipNorm === undefined ? {} : { clipNorm: num('training.clipNorm', v.clipNorm, 0, 1e9, 0) }),
    patience: int('training.patience', v.patience, 0, d.patience),
    scheduler: oneOf('training.scheduler', v.scheduler, ['constant', 'cosine', 'linear'] as const, d.scheduler),
    mode: oneOf('training.mode', v.mode, TRAINING_MODES, d.mode),
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

/** Parses and validates a config object (from JSON). Throws LOOM_ERR_CONFIG naming the bad field. */
export function parseSearchConfig(value: unknown): SearchConfig {
  if (!isObject(value)) throw configError('(root)', 'a search config must be a JSON object');
  rejectUnknown('', value, [
    'name', 'seed', 'data', 'population', 'generations', 'elite', 'tournamentSize', 'mutationRate', 'crossoverRate',
    'diversityWeight', 'timeBudgetMinutes', 'training', 'generator', '$comment',
  ]);
  const dataIn = value.data === undefined ? {} : value.data;
  if (!isObject(dataIn)) throw configError('data', 'must be an object like {"ref": "mnist"}');
  rejectUnknown('data', dataIn, ['ref', 'limit', 'fractions', 'splitSeed']);
  const ref = dataIn.ref ?? 'mnist';
  if (typeof ref !== 'string' || ref === '') throw configError('data.ref', 'must be "mnist", "iris", "csv:PATH" or "synthetic:NAME"');
  let fractions: [number, number, number] | undefined;
  if (dataIn.fractions !== undefined) {
    const f = dataIn.fractions;
    if (!Array.isArray(f) || f.length !== 3 || !f.every((x) => typeof x === 'number' && x > 0)) {
      throw configError('data.fractions', `must be three positive numbers [train, val, test], got ${JSON.stringify(f)}`);
    }
    fractions = [f[0], f[1], f[2]];
  }
  const seed = int('seed', value.seed, 0, 1);
  const population = int('population', value.population, 2, 8);
  const elite = int('elite', value.elite, 0, Math.min(2, population - 1));
  if (elite >= population) throw configError('elite', `must be smaller than population (${population}), got ${elite}`);
  const generatorIn = value.generator === undefined ? {} : value.generator;
  if (!isObject(generatorIn)) throw configError('generator', 'must be an object of architecture generator options');
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
  return {
    name,
    seed,
    data: {
      ref,
      ...(dataIn.limit === undefined ? {} : { limit: int('data.limit', dataIn.limit, 10, 0) }),
      ...(fractions ? { fractions } : {}),
      splitSeed: int('data.splitSeed', dataIn.splitSeed, 0, seed),
    },
    population,
    generations: int('generations', value.generations, 1, 3),
    elite,
    tournamentSize: int('tournamentSize', value.tournamentSize, 1, 3),
    mutationRate: num('mutationRate', value.mutationRate, 0, 1, 0.8),
    crossoverRate: num('crossoverRate', value.crossoverRate, 0, 1, 0.3),
    diversityWeight: num('diversityWeight', value.diversityWeight, 0, 10, 0.1),
    timeBudgetMinutes: num('timeBudgetMinutes', value.timeBudgetMinutes, 0, 1e6, 0),
    training: parseTraining(value.training),
    generator,
  };
}
