import { ACTIVATIONS, isActivation, type Activation } from '../engine/activations.js';
import { configError } from '../engine/errors.js';
import type { Rng } from '../engine/rng.js';

/**
 * Architecture configs (LOOM's ArchConfig, §1 of the behaviour notes) and their seeded generator.
 *
 * Differences from LOOM, on purpose: brains and activations are names, not ints; every draw goes through the Rng
 * passed in; distributions are validated and normalized; 'filter' and 'Conv1D' can be drawn; the head count is
 * picked among the counts that divide dModel (LOOM's redraw loop can hang); MutationStr's activation label is the
 * real one. Classification adds seqLen/tokenDim (the input adapter's token layout) and numClasses.
 */

export const BRAIN_TYPES = ['MHA', 'LSTM', 'RNN', 'Dense', 'SwiGLU', 'NormDense', 'Conv1D'] as const;
export type BrainType = (typeof BRAIN_TYPES)[number];

export const COMBINE_MODES = ['concat', 'add', 'avg', 'grid_scatter', 'filter'] as const;
export type CombineMode = (typeof COMBINE_MODES)[number];

export const ORIGINS = ['random', 'mutation', 'crossover'] as const;
export type Origin = (typeof ORIGINS)[number];

/** Metadata only: the engine computes in float32 (LOOM's DType is ignored by its builder too). */
export const DTYPES = ['float32', 'float64', 'int32', 'int16', 'int8'] as const;

export interface GridShape {
  readonly rows: number;
  readonly cols: number;
  readonly name: string;
}

/** LOOM's StandardGridShapes, in LOOM's order. */
export const STANDARD_GRID_SHAPES: readonly GridShape[] = [
  { rows: 1, cols: 1, name: '1x1 Mono' },
  { rows: 2, cols: 2, name: '2x2 Standard' },
  { rows: 3, cols: 3, name: '3x3 Complex' },
  { rows: 4, cols: 1, name: '4x1 Tall' },
  { rows: 1, cols: 4, name: '1x4 Wide' },
  { rows: 2, cols: 3, name: '2x3 Rect' },
  { rows: 3, cols: 2, name: '3x2 Rect' },
  { rows: 8, cols: 1, name: '8x1 Scanner' },
  { rows: 6, cols: 4, name: '6x4 Matrix' },
];

/** The species name of a grid: the standard name when there is one, else "RxC Custom" (shapes made by mutation). */
export function speciesName(rows: number, cols: number): string {
  return STANDARD_GRID_SHAPES.find((s) => s.rows === rows && s.cols === cols)?.name ?? `${rows}x${cols} Custom`;
}

/** Display labels for MutationStr: LOOM's names, mapped from the activation itself (LOOM permuted them, §1.5). */
export const ACTIVATION_LABELS: Record<Activation, string> = {
  scaled_relu: 'ScaledReLU',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  softplus: 'Softplus',
  leaky_relu: 'LeakyReLU',
  linear: 'Linear',
  relu: 'ReLU',
  gelu: 'GELU',
  silu: 'SiLU',
};

export interface ArchConfig {
  readonly id: string;
  readonly name: string;
  /** Grid shape name, e.g. "2x2 Standard". */
  readonly species: string;
  readonly mutationStr: string;
  readonly gridRows: number;
  readonly gridCols: number;
  /** gridRows·gridCols. */
  readonly numBrains: number;
  readonly dModel: number;
  /** Attention heads of the MHA brains; always divides dModel. */
  readonly numHeads: number;
  readonly learningRate: number;
  readonly budgetScale: number;
  readonly activation: Activation;
  readonly combineMode: CombineMode;
  /** One brain per grid cell, row-major. */
  readonly brains: readonly BrainType[];
  /** Same as brains (LOOM keeps both). */
  readonly brainNames: readonly string[];
  readonly initScale: number;
  readonly dtype: string;
  /** Tokens per sample fed to the hive: ceil(inputSize / tokenDim). */
  readonly seqLen: number;
  /** Input values per token (before the adapter maps each token to dModel). */
  readonly tokenDim: number;
  readonly numClasses: number;
  /** Ids of the configs this one was bred from (empty for random ones). */
  readonly parents: readonly string[];
  readonly origin: Origin;
  /** What mutation changed, e.g. ["lr", "brain@1,0"] (empty unless origin is mutation, or a mutated crossover). */
  readonly mutations: readonly string[];
}

/** The task shape a config is built for. */
export interface TaskShape {
  /** Per-sample input shape: [28, 28], [1, 28, 28], [4], … */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
}

export interface ArchGenOptions {
  /** Sampled uniformly by index, so repeats weight a value (LOOM: [64, 64, 64, 32] ⇒ 75% 64). */
  readonly dModels: readonly number[];
  /** Head counts; a config draws uniformly among those dividing its dModel. */
  readonly numHeads: readonly number[];
  readonly gridShapes: readonly GridShape[];
  /** Shapes with more brains are left out (the 6x4 grid is 24 brains); mutation never grows past it. */
  readonly maxBrains: number;
  /** Learning rate, log-uniform in [lrMin, lrMax]. */
  readonly lrMin: number;
  readonly lrMax: number;
  readonly initScale: number;
  /** Budget scale, uniform in [budgetMin, budgetMax] (metadata, as in LOOM). */
  readonly budgetMin: number;
  readonly budgetMax: number;
  /** Allowed brain types, and their weights (same length; normalized). */
  readonly brainTypes: readonly BrainType[];
  readonly brainDistribution: readonly number[];
  readonly combineModes: readonly CombineMode[];
  readonly combineDistribution: readonly number[];
  readonly activations: readonly Activation[];
  readonly activationDistribution: readonly number[];
  readonly dtypes: readonly string[];
  readonly dtypeDistribution: readonly number[];
  /** Values per token for flat inputs; default ceil(√n). Inputs of rank ≥ 2 use their last axis. */
  readonly tokenDim?: number;
}

/** LOOM's DefaultArchGenOptions, plus Conv1D and 'filter' with small weights. */
export function defaultArchGenOptions(): ArchGenOptions {
  return {
    dModels: [64, 64, 64, 32],
    numHeads: [4, 8],
    gridShapes: STANDARD_GRID_SHAPES,
    maxBrains: 24,
    lrMin: 1e-4,
    lrMax: 1e-2,
    initScale: 0.5,
    budgetMin: 0.5,
    budgetMax: 1.0,
    brainTypes: ['MHA', 'LSTM', 'RNN', 'Dense', 'SwiGLU', 'NormDense', 'Conv1D'],
    brainDistribution: [0.3, 0.25, 0.15, 0.15, 0.08, 0.07, 0.05],
    combineModes: ['avg', 'add', 'concat', 'grid_scatter', 'filter'],
    combineDistribution: [0.35, 0.3, 0.2, 0.15, 0.05],
    activations: ['scaled_relu', 'sigmoid', 'tanh', 'softplus', 'leaky_relu'],
    activationDistribution: [0.2, 0.2, 0.2, 0.2, 0.2],
    dtypes: ['float32'],
    dtypeDistribution: [1],
  };
}

/** Validated options: distributions normalized to sum 1, grid shapes filtered by maxBrains. */
export type ResolvedGenOptions = ArchGenOptions & { readonly __resolved: true };

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkList<T>(field: string, list: unknown, allowed: readonly T[] | null, check?: (v: unknown) => boolean): void {
  if (!Array.isArray(list) || list.length === 0) throw configError(field, `must be a non-empty array, got ${JSON.stringify(list)}`);
  list.forEach((v, i) => {
    const ok = allowed ? (allowed as readonly unknown[]).includes(v) : (check?.(v) ?? true);
    if (!ok) {
      const want = allowed ? `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}` : 'a valid value';
      throw configError(`${field}[${i}]`, `must be ${want}, got ${JSON.stringify(v)}`);
    }
  });
}

function normalizeDistribution(field: string, weights: unknown, listField: string, listLength: number): number[] {
  if (!Array.isArray(weights)) throw configError(field, `must be an array of weights, got ${JSON.stringify(weights)}`);
  if (weights.length !== listLength) {
    throw configError(field, `has ${weights.length} weights but ${listField} has ${listLength} entries; they must match`);
  }
  weights.forEach((w, i) => {
    if (!isFiniteNumber(w) || w < 0) throw configError(`${field}[${i}]`, `weights must be finite and ≥ 0, got ${JSON.stringify(w)}`);
  });
  const total = (weights as number[]).reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw configError(field, 'weights must not all be zero');
  return (weights as number[]).map((w) => w / total);
}

/** Head counts among `heads` that divide dModel, with repeats kept (they weight the draw as in LOOM). */
export const compatibleHeads = (dModel: number, heads: readonly number[]): number[] => heads.filter((h) => dModel % h === 0);

/** Fills defaults, checks every field (errors name the field and the allowed values) and normalizes distributions. */
export function resolveGenOptions(partial: Partial<ArchGenOptions> = {}): ResolvedGenOptions {
  const o: ArchGenOptions = { ...defaultArchGenOptions(), ...partial };
  checkList('dModels', o.dModels, null, isPositiveInt);
  checkList('numHeads', o.numHeads, null, isPositiveInt);
  for (const d of o.dModels) {
    if (compatibleHeads(d, o.numHeads).length === 0) {
      throw configError('numHeads', `none of [${o.numHeads.join(', ')}] divides dModel ${d}; each of dModels needs a head count that divides it`);
    }
  }
  if (!isPositiveInt(o.maxBrains)) throw configError('maxBrains', `must be a positive integer, got ${JSON.stringify(o.maxBrains)}`);
  checkList('gridShapes', o.gridShapes, null, (s) => {
    const g = s as GridShape;
    return !!g && isPositiveInt(g.rows) && isPositiveInt(g.cols) && typeof g.name === 'string';
  });
  const gridShapes = o.gridShapes.filter((s) => s.rows * s.cols <= o.maxBrains);
  if (gridShapes.length === 0) {
    throw configError('maxBrains', `${o.maxBrains} leaves no grid shape (smallest has ${Math.min(...o.gridShapes.map((s) => s.rows * s.cols))} brains)`);
  }
  if (!isFiniteNumber(o.lrMin) || o.lrMin <= 0) throw configError('lrMin', `must be a number > 0, got ${JSON.stringify(o.lrMin)}`);
  if (!isFiniteNumber(o.lrMax) || o.lrMax < o.lrMin) throw configError('lrMax', `must be a number ≥ lrMin (${o.lrMin}), got ${JSON.stringify(o.lrMax)}`);
  if (!isFiniteNumber(o.initScale) || o.initScale <= 0) throw configError('initScale', `must be a number > 0, got ${JSON.stringify(o.initScale)}`);
  if (!isFiniteNumber(o.budgetMin) || o.budgetMin < 0) throw configError('budgetMin', `must be a number ≥ 0, got ${JSON.stringify(o.budgetMin)}`);
  if (!isFiniteNumber(o.budgetMax) || o.budgetMax < o.budgetMin) {
    throw configError('budgetMax', `must be a number ≥ budgetMin (${o.budgetMin}), got ${JSON.stringify(o.budgetMax)}`);
  }
  checkList('brainTypes', o.brainTypes, BRAIN_TYPES);
  checkList('combineModes', o.combineModes, COMBINE_MODES);
  checkList('activations', o.activations, ACTIVATIONS);
  checkList('dtypes', o.dtypes, DTYPES);
  if (o.tokenDim !== undefined && !isPositiveInt(o.tokenDim)) {
    throw configError('tokenDim', `must be a positive integer, got ${JSON.stringify(o.tokenDim)}`);
  }
  return {
    ...o,
    gridShapes,
    brainDistribution: normalizeDistribution('brainDistribution', o.brainDistribution, 'brainTypes', o.brainTypes.length),
    combineDistribution: normalizeDistribution('combineDistribution', o.combineDistribution, 'combineModes', o.combineModes.length),
    activationDistribution: normalizeDistribution('activationDistribution', o.activationDistribution, 'activations', o.activations.length),
    dtypeDistribution: normalizeDistribution('dtypeDistribution', o.dtypeDistribution, 'dtypes', o.dtypes.length),
    __resolved: true,
  };
}

const asResolved = (o: Partial<ArchGenOptions> | ResolvedGenOptions | undefined): ResolvedGenOptions =>
  o && '__resolved' in o ? o : resolveGenOptions(o);

/**
 * Token layout of a task's input: rank ≥ 2 inputs use their last axis as the token ([28, 28]: 28 tokens of 28
 * pixels); flat inputs [n] are cut into tokens of tokenDim values (default ceil(√n)), the last one zero padded.
 */
export function inputLayout(inputShape: readonly number[], tokenDim?: number): { seqLen: number; tokenDim: number } {
  if (!Array.isArray(inputShape) || inputShape.length === 0 || !inputShape.every(isPositiveInt)) {
    throw configError('inputShape', `must be a non-empty list of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  const size = inputShape.reduce((a, b) => a * b, 1);
  const dim = tokenDim ?? (inputShape.length >= 2 ? (inputShape[inputShape.length - 1] as number) : Math.ceil(Math.sqrt(size)));
  if (!isPositiveInt(dim)) throw configError('tokenDim', `must be a positive integer, got ${JSON.stringify(dim)}`);
  return { seqLen: Math.ceil(size / dim), tokenDim: dim };
}

/** LOOM's compact description "RxC_combine_Activation_D64_float32_LR0.0012", with the correct activation label. */
export function describeConfig(c: Pick<ArchConfig, 'gridRows' | 'gridCols' | 'combineMode' | 'activation' | 'dModel' | 'dtype' | 'learningRate'>): string {
  return `${c.gridRows}x${c.gridCols}_${c.combineMode}_${ACTIVATION_LABELS[c.activation]}_D${c.dModel}_${c.dtype}_LR${c.learningRate.toFixed(4)}`;
}

export const drawBrain = (rng: Rng, o: ResolvedGenOptions): BrainType => o.brainTypes[rng.weighted(o.brainDistribution)] as BrainType;
export const drawHeads = (rng: Rng, dModel: number, o: ResolvedGenOptions): number => {
  const heads = compatibleHeads(dModel, o.numHeads);
  if (heads.length === 0) throw configError('numHeads', `none of [${o.numHeads.join(', ')}] divides dModel ${dModel}`);
  return rng.pick(heads);
};

/** The genes of a config; `finishConfig` derives the bookkeeping fields from them. */
export type ArchGenes = Omit<ArchConfig, 'name' | 'species' | 'mutationStr' | 'numBrains' | 'brainNames'>;

/** Derives name, species, numBrains, brainNames and mutationStr, then validates. */
export function finishConfig(g: ArchGenes): ArchConfig {
  return validateConfig({
    ...g,
    name: `Net-${g.id}`,
    species: speciesName(g.gridRows, g.gridCols),
    mutationStr: describeConfig(g),
    numBrains: g.gridRows * g.gridCols,
    brainNames: [...g.brains],
  });
}

/** One random config. Draw order follows LOOM: shape, brains, dModel, heads, lr, activation, combine, budget, dtype. */
export function randomConfig(id: string, task: TaskShape, rng: Rng, options?: Partial<ArchGenOptions> | ResolvedGenOptions): ArchConfig {
  const o = asResolved(options);
  const layout = inputLayout(task.inputShape, o.tokenDim);
  const shape = rng.pick(o.gridShapes);
  const brains = Array.from({ length: shape.rows * shape.cols }, () => drawBrain(rng, o));
  const dModel = rng.pick(o.dModels);
  const numHeads = drawHeads(rng, dModel, o);
  const learningRate = rng.logUniform(o.lrMin, o.lrMax);
  const activation = o.activations[rng.weighted(o.activationDistribution)] as Activation;
  const combineMode = o.combineModes[rng.weighted(o.combineDistribution)] as CombineMode;
  const budgetScale = rng.uniform(o.budgetMin, o.budgetMax);
  const dtype = o.dtypes[rng.weighted(o.dtypeDistribution)] as string;
  return finishConfig({
    id,
    gridRows: shape.rows,
    gridCols: shape.cols,
    dModel,
    numHeads,
    learningRate,
    budgetScale,
    activation,
    combineMode,
    brains,
    initScale: o.initScale,
    dtype,
    seqLen: layout.seqLen,
    tokenDim: layout.tokenDim,
    numClasses: task.numClasses,
    parents: [],
    origin: 'random',
    mutations: [],
  });
}

/** `count` random configs with ids `${idPrefix}${i}`. Same seed and options → identical configs. */
export function generateConfigs(
  count: number,
  task: TaskShape,
  rng: Rng,
  options?: Partial<ArchGenOptions>,
  idPrefix = 'g0-',
): ArchConfig[] {
  if (!Number.isInteger(count) || count < 0) throw configError('count', `must be a non-negative integer, got ${count}`);
  if (!isPositiveInt(task.numClasses) || task.numClasses < 2) {
    throw configError('numClasses', `must be an integer ≥ 2, got ${JSON.stringify(task.numClasses)}`);
  }
  const o = resolveGenOptions(options);
  return Array.from({ length: count }, (_, i) => randomConfig(`${idPrefix}${i}`, task, rng, o));
}

// ---- validation and bundles ------------------------------------------------------------------------------------

export const CONFIG_BUNDLE_VERSION = 1;

/** LOOM's ArchConfigBundle. */
export interface ArchConfigBundle {
  readonly version: number;
  readonly configs: readonly ArchConfig[];
}

type Obj = Record<string, unknown>;

function field<T>(o: Obj, key: string, path: string, ok: (v: unknown) => boolean, want: string): T {
  const v = o[key];
  if (!ok(v)) throw configError(path ? `${path}.${key}` : key, `must be ${want}, got ${JSON.stringify(v)}`);
  return v as T;
}
const oneOf = (allowed: readonly unknown[]) => (v: unknown): boolean => allowed.includes(v);
const listOf = (allowed: readonly unknown[]) => `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`;
const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * Checks every field of a config (as read from JSON or built in code) and returns it typed. Errors name the field
 * by path (e.g. "configs[3].dModel") and say what is allowed. Derived fields must agree with the genes.
 */
export function validateConfig(value: unknown, path = ''): ArchConfig {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw configError(path || 'config', `must be an object, got ${JSON.stringify(value)}`);
  const o = value as Obj;
  const at = (key: string): string => (path ? `${path}.${key}` : key);
  const id = field<string>(o, 'id', path, (v) => isString(v) && v.length > 0, 'a non-empty string');
  const name = field<string>(o, 'name', path, isString, 'a string');
  const species = field<string>(o, 'species', path, isString, 'a string');
  const mutationStr = field<string>(o, 'mutationStr', path, isString, 'a string');
  const gridRows = field<number>(o, 'gridRows', path, isPositiveInt, 'a positive integer');
  const gridCols = field<number>(o, 'gridCols', path, isPositiveInt, 'a positive integer');
  const numBrains = field<number>(o, 'numBrains', path, (v) => v === gridRows * gridCols, `gridRows·gridCols = ${gridRows * gridCols}`);
  const dModel = field<number>(o, 'dModel', path, isPositiveInt, 'a positive integer');
  const numHeads = field<number>(o, 'numHeads', path, (v) => isPositiveInt(v) && dModel % v === 0, `a positive integer dividing dModel ${dModel}`);
  const learningRate = field<number>(o, 'learningRate', path, (v) => isFiniteNumber(v) && v > 0, 'a number > 0');
  const budgetScale = field<number>(o, 'budgetScale', path, (v) => isFiniteNumber(v) && v >= 0, 'a number ≥ 0');
  const activation = field<Activation>(o, 'activation', path, isActivation, listOf(ACTIVATIONS));
  const combineMode = field<CombineMode>(o, 'combineMode', path, oneOf(COMBINE_MODES), listOf(COMBINE_MODES));
  const brains = field<BrainType[]>(o, 'brains', path, (v) => Array.isArray(v) && v.length === numBrains, `an array of ${numBrains} brain names (one per cell)`);
  brains.forEach((b, i) => {
    if (!(BRAIN_TYPES as readonly unknown[]).includes(b)) throw configError(`${at('brains')}[${i}]`, `must be ${listOf(BRAIN_TYPES)}, got ${JSON.stringify(b)}`);
  });
  const brainNames = field<string[]>(o, 'brainNames', path, (v) => Array.isArray(v) && v.length === brains.length && v.every((n, i) => n === brains[i]), `equal to brains ${JSON.stringify(brains)}`);
  const initScale = field<number>(o, 'initScale', path, (v) => isFiniteNumber(v) && v > 0, 'a number > 0');
  const dtype = field<string>(o, 'dtype', path, oneOf(DTYPES), listOf(DTYPES));
  const seqLen = field<number>(o, 'seqLen', path, isPositiveInt, 'a positive integer');
  const tokenDim = field<number>(o, 'tokenDim', path, isPositiveInt, 'a positive integer');
  const numClasses = field<number>(o, 'numClasses', path, (v) => isPositiveInt(v) && v >= 2, 'an integer ≥ 2');
  const parents = field<string[]>(o, 'parents', path, (v) => Array.isArray(v) && v.every(isString), 'an array of config ids');
  const origin = field<Origin>(o, 'origin', path, oneOf(ORIGINS), listOf(ORIGINS));
  const mutations = field<string[]>(o, 'mutations', path, (v) => Array.isArray(v) && v.every(isString), 'an array of strings');
  return {
    id, name, species, mutationStr, gridRows, gridCols, numBrains, dModel, numHeads, learningRate, budgetScale, activation,
    combineMode, brains: [...brains], brainNames: [...brainNames], initScale, dtype, seqLen, tokenDim, numClasses,
    parents: [...parents], origin, mutations: [...mutations],
  };
}

/** LOOM's bundle JSON: 2-space indent and a trailing newline. */
export function configBundleToJSON(configs: readonly ArchConfig[]): string {
  const bundle: ArchConfigBundle = { version: CONFIG_BUNDLE_VERSION, configs: configs.map((c, i) => validateConfig(c, `configs[${i}]`)) };
  return `${JSON.stringify(bundle, null, 2)}\n`;
}

/** Parses and validates a bundle; every config is checked field by field, and ids must be unique. */
export function configBundleFromJSON(text: string): ArchConfigBundle {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw configError('bundle', `is not valid JSON (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw configError('bundle', 'must be an object {version, configs}');
  const o = raw as Obj;
  field<number>(o, 'version', '', (v) => v === CONFIG_BUNDLE_VERSION, `${CONFIG_BUNDLE_VERSION}`);
  const list = field<unknown[]>(o, 'configs', '', Array.isArray, 'an array of configs');
  const configs = list.map((c, i) => validateConfig(c, `configs[${i}]`));
  const seen = new Set<string>();
  configs.forEach((c, i) => {
    if (seen.has(c.id)) throw configError(`configs[${i}].id`, `must be unique, "${c.id}" appears twice`);
    seen.add(c.id);
  });
  return { version: CONFIG_BUNDLE_VERSION, configs };
}
