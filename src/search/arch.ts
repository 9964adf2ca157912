import { ACTIVATIONS, isActivation, type Activation } from '../engine/activations.js';
import { configError } from '../engine/errors.js';
import type { Rng } from '../engine/rng.js';
import type { LayerSpec } from '../engine/layers/types.js';
import type { RandomElasticSpec } from '../engine/layers/random-elastic.js';
import type { RandomRotationSpec } from '../engine/layers/random-rotation.js';
import type { RandomShiftSpec } from '../engine/layers/random-shift.js';

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

/** 'refit': a chosen model retrained with the final refit's larger epoch budget (search/refit.ts). */
export const ORIGINS = ['random', 'mutation', 'crossover', 'refit'] as const;
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
  // Optional genes (HYPER_GENES): absent unless the generator's options list values for them, so configs from
  // before they existed stay valid; an absent training gene means "the search config's training setting".
  /** Conv blocks of the image stem (conv2d 3×3 'same' + 2×2 max pool each) before the tokens; 0/absent: none. */
  readonly convBlocks?: number;
  /** Filters of the stem's first block; each further block doubles them. */
  readonly convWidth?: number;
  /** Dropout rate before the output layer. */
  readonly dropout?: number;
  /** Image inputs: the largest random shift, in pixels, of each training image (augmentation; none at evaluation). */
  readonly shift?: number;
  /** Image inputs: the largest random rotation, in degrees, of each training image (augmentation; none at evaluation). */
  readonly rotation?: number;
  /** Image inputs: α of each training image's random elastic distortion, in pixels (augmentation; none at evaluation). */
  readonly elastic?: number;
  readonly weightDecay?: number;
  /** ε of label-smoothed cross-entropy. */
  readonly labelSmoothing?: number;
  readonly batchSize?: number;
  readonly epochs?: number;
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
  /** Which data-fitted defaults `searchSpace` adds (default 'auto': from the input shape). */
  readonly space?: SearchSpace;
  // The values each optional gene is drawn from (uniformly by index); absent: the gene is not searched.
  readonly convBlocks?: readonly number[];
  readonly convWidths?: readonly number[];
  readonly dropouts?: readonly number[];
  readonly shifts?: readonly number[];
  readonly rotations?: readonly number[];
  readonly elastics?: readonly number[];
  readonly weightDecays?: readonly number[];
  readonly labelSmoothings?: readonly number[];
  readonly batchSizes?: readonly number[];
  readonly epochs?: readonly number[];
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
  if (o.space !== undefined && !(SEARCH_SPACES as readonly unknown[]).includes(o.space)) {
    throw configError('space', `must be ${listOf(SEARCH_SPACES)}, got ${JSON.stringify(o.space)}`);
  }
  for (const h of HYPER_GENES) {
    if (o[h.option] !== undefined) checkList(h.option, o[h.option], null, (v) => isFiniteNumber(v) && h.ok(v));
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
export function describeConfig(
  c: Pick<ArchConfig, 'gridRows' | 'gridCols' | 'combineMode' | 'activation' | 'dModel' | 'dtype' | 'learningRate' | 'convBlocks' | 'convWidth'>,
): string {
  // A conv stem is named up front ("Conv2x16_…"); configs without one keep LOOM's string.
  const stem = c.convBlocks ? `Conv${c.convBlocks}x${c.convWidth ?? DEFAULT_CONV_WIDTH}_` : '';
  return `${stem}${c.gridRows}x${c.gridCols}_${c.combineMode}_${ACTIVATION_LABELS[c.activation]}_D${c.dModel}_${c.dtype}_LR${c.learningRate.toFixed(4)}`;
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
  const hyper = drawHyperGenes(rng, o);
  if (hyper.convBlocks) stemLayout(task.inputShape, hyper.convBlocks, hyper.convWidth ?? DEFAULT_CONV_WIDTH);
  return finishConfig({
    ...hyper,
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

// ---- optional genes and data-fitted search spaces --------------------------------------------------------------

export type HyperGeneName = 'convBlocks' | 'convWidth' | 'dropout' | 'shift' | 'rotation' | 'elastic' | 'weightDecay' | 'labelSmoothing' | 'batchSize' | 'epochs';
type HyperOption = 'convBlocks' | 'convWidths' | 'dropouts' | 'shifts' | 'rotations' | 'elastics' | 'weightDecays' | 'labelSmoothings' | 'batchSizes' | 'epochs';

/** One optional numeric gene: the config field, the generator option listing its values, and what a value must be. */
export interface HyperGene {
  readonly gene: HyperGeneName;
  readonly option: HyperOption;
  readonly ok: (v: number) => boolean;
  readonly want: string;
}

/** The first stem block's filters when a config has conv blocks but no width. */
export const DEFAULT_CONV_WIDTH = 8;

/**
 * The gene table evolution reads (evolve.ts): each gene is drawn from its option list, mutated to a neighbouring
 * value of that list and inherited from either parent. The training genes override the search config's `training`
 * for that model (workers/processor.ts); the stem genes, dropout and the augmentations shape the network (build.ts).
 */
export const HYPER_GENES: readonly HyperGene[] = [
  { gene: 'convBlocks', option: 'convBlocks', ok: (v) => Number.isInteger(v) && v >= 0 && v <= 4, want: 'an integer in 0..4' },
  { gene: 'convWidth', option: 'convWidths', ok: (v) => isPositiveInt(v) && v <= 256, want: 'an integer in 1..256' },
  { gene: 'dropout', option: 'dropouts', ok: (v) => v >= 0 && v < 1, want: 'a number in [0, 1)' },
  { gene: 'shift', option: 'shifts', ok: (v) => Number.isInteger(v) && v >= 0 && v <= 64, want: 'an integer in 0..64' },
  { gene: 'rotation', option: 'rotations', ok: (v) => v >= 0 && v <= 180, want: 'a number of degrees in [0, 180]' },
  { gene: 'elastic', option: 'elastics', ok: (v) => v >= 0 && v <= 1000, want: 'a number of pixels in [0, 1000]' },
  { gene: 'weightDecay', option: 'weightDecays', ok: (v) => v >= 0 && v <= 1, want: 'a number in [0, 1]' },
  { gene: 'labelSmoothing', option: 'labelSmoothings', ok: (v) => v >= 0 && v < 1, want: 'a number in [0, 1)' },
  { gene: 'batchSize', option: 'batchSizes', ok: (v) => isPositiveInt(v) && v <= 65_536, want: 'an integer in 1..65536' },
  { gene: 'epochs', option: 'epochs', ok: (v) => isPositiveInt(v) && v <= 10_000, want: 'an integer in 1..10000' },
];

export interface TrainingGeneFields {
  readonly epochs: number;
  readonly batchSize: number;
  readonly weightDecay: number;
}

/**
 * A run's training settings (jobs.ts's TrainingSettings) with a config's training genes (epochs, batch size, weight
 * decay) in place. Typed by the fields it sets, so this file does not import the job contract, which imports it.
 */
export function withTrainingGenes<T extends TrainingGeneFields>(settings: T, c: Pick<ArchConfig, 'epochs' | 'batchSize' | 'weightDecay'>): T {
  return {
    ...settings,
    ...(c.epochs === undefined ? {} : { epochs: c.epochs }),
    ...(c.batchSize === undefined ? {} : { batchSize: c.batchSize }),
    ...(c.weightDecay === undefined ? {} : { weightDecay: c.weightDecay }),
  };
}

/** Generator option names besides ArchGenOptions' defaults (a config's `generator` may set them). */
export const OPTIONAL_GEN_FIELDS: readonly string[] = ['tokenDim', 'space', ...HYPER_GENES.map((h) => h.option)];

type MutableGenes = { -readonly [K in keyof ArchGenes]: ArchGenes[K] };

/** One value per gene whose option list is given, drawn uniformly by index (repeats weight a value). */
export function drawHyperGenes(rng: Rng, o: ArchGenOptions): { -readonly [K in HyperGeneName]?: number } {
  const genes: { -readonly [K in HyperGeneName]?: number } = {};
  for (const h of HYPER_GENES) {
    const values = o[h.option];
    if (values && values.length > 0) genes[h.gene] = rng.pick(values);
  }
  return genes;
}

const sortedDistinct = (values: readonly number[]): number[] => [...new Set(values)].sort((a, b) => a - b);

/** The optional genes mutation can change on these genes: those whose option list holds another value. */
export function hyperGeneOps(g: ArchGenes, o: ArchGenOptions): HyperGeneName[] {
  return HYPER_GENES.filter((h) => {
    const values = o[h.option];
    // The stem's width only matters when there is a stem.
    if (h.gene === 'convWidth' && !g.convBlocks) return false;
    return !!values && values.some((v) => v !== g[h.gene]);
  }).map((h) => h.gene);
}

/**
 * Moves one optional gene to a neighbouring value of its option list (sorted), so a rate or a size changes by a
 * step rather than jumping across the range; a value not in the list moves to any listed value. Returns the label.
 */
export function mutateHyperGene(name: HyperGeneName, g: MutableGenes, rng: Rng, o: ArchGenOptions): string {
  const h = HYPER_GENES.find((x) => x.gene === name);
  const values = h ? sortedDistinct(o[h.option] ?? []) : [];
  if (!h || values.length === 0) throw configError(name, 'has no values to mutate to');
  const current = g[name];
  const at = current === undefined ? -1 : values.indexOf(current);
  const choices = at < 0 ? values.filter((v) => v !== current) : [values[at - 1], values[at + 1]].filter((v): v is number => v !== undefined);
  const next = rng.pick(choices.length > 0 ? choices : values);
  g[name] = next;
  return `${name}:${next}`;
}

/** The optional genes of a crossover child: each from either parent with probability ½ (absent stays absent). */
export function crossHyperGenes(a: ArchGenes, b: ArchGenes, pick: <T>(x: T, y: T) => T): { -readonly [K in HyperGeneName]?: number } {
  const genes: { -readonly [K in HyperGeneName]?: number } = {};
  for (const h of HYPER_GENES) {
    if (a[h.gene] === undefined && b[h.gene] === undefined) continue;
    const v = pick(a[h.gene], b[h.gene]);
    if (v !== undefined) genes[h.gene] = v;
  }
  return genes;
}

/** The optional genes a config has, as [name, value] pairs (empty for configs without any: their identity is unchanged). */
export const hyperGeneKey = (g: ArchGenes): [string, number][] =>
  HYPER_GENES.flatMap((h) => (g[h.gene] === undefined ? [] : [[h.gene, g[h.gene] as number] as [string, number]]));

/** σ of the elastic distortion's smoothing, in pixels: Simard, Steinkraus and Platt's (2003) value for 28×28 digits. */
export const ELASTIC_SIGMA = 4;

/**
 * The image augmentations a config can carry, in the order build.ts puts their layers first (warp, turn, then move):
 * the gene, the option listing its values (`generator.shifts` to search it, `refit.shifts` to cycle it over the
 * refits), what a value is, and the layer a value above 0 builds.
 */
export const AUGMENTATIONS = [
  { gene: 'elastic', option: 'elastics', values: 'numbers of pixels in [0, 1000] (α of an elastic distortion)', layer: (alpha: number): RandomElasticSpec => ({ type: 'random_elastic', alpha, sigma: ELASTIC_SIGMA }) },
  { gene: 'rotation', option: 'rotations', values: 'degrees in [0, 180]', layer: (degrees: number): RandomRotationSpec => ({ type: 'random_rotation', degrees }) },
  { gene: 'shift', option: 'shifts', values: 'whole numbers of pixels in [0, 64]', layer: (pixels: number): RandomShiftSpec => ({ type: 'random_shift', pixels }) },
] as const satisfies readonly { gene: HyperGeneName; option: HyperOption; values: string; layer: (value: number) => LayerSpec }[];
export type Augmentation = (typeof AUGMENTATIONS)[number];

/** Refuses image augmentation (a gene of AUGMENTATIONS, asked for by `field`) where the input is no image. */
export function expectAugmentable(field: string, inputShape: readonly number[]): void {
  if (!imageShape(inputShape)) throw configError(field, `augmenting by ${AUGMENTATIONS.map((a) => a.option).join(', ')} needs an image input ([H, W] or [C, H, W]), got [${inputShape.join(', ')}]`);
}

/** The [channels, height, width] an input is read as by a conv stem, or null when it is not image-like. */
export function imageShape(inputShape: readonly number[]): [number, number, number] | null {
  if (inputShape.length === 3) return [inputShape[0] as number, inputShape[1] as number, inputShape[2] as number];
  if (inputShape.length === 2) return [1, inputShape[0] as number, inputShape[1] as number];
  return null;
}

/**
 * The stem's output for an input: after `blocks` blocks of conv (same size) + 2×2 max pooling, `channels` feature
 * maps of height × width; each map becomes one token of height·width values. Throws when the input is no image
 * or too small to pool that often.
 */
export function stemLayout(
  inputShape: readonly number[],
  blocks: number,
  width: number,
): { image: [number, number, number]; channels: number; height: number; width: number } {
  const img = imageShape(inputShape);
  if (!img) throw configError('convBlocks', `a conv stem needs an image input ([H, W] or [C, H, W]), got [${inputShape.join(', ')}]`);
  const scale = 2 ** blocks;
  const [, h, w] = img;
  if (h < scale || w < scale) throw configError('convBlocks', `${blocks} blocks pool ${h}×${w} below 1×1; use at most ${Math.floor(Math.log2(Math.min(h, w)))}`);
  return { image: img, channels: width * 2 ** (blocks - 1), height: Math.floor(h / scale), width: Math.floor(w / scale) };
}

export const SEARCH_SPACES = ['auto', 'image', 'tabular', 'sequence'] as const;
export type SearchSpace = (typeof SEARCH_SPACES)[number];

/**
 * The kind of data an input shape suggests: [C, H, W] or a square [H, H] of side ≥ 8 is an image (MNIST's
 * [28, 28], the synthetic bars' [8, 8]); a flat vector is a table row; anything else a sequence of feature vectors.
 */
export function inferSpace(inputShape: readonly number[]): Exclude<SearchSpace, 'auto'> {
  if (inputShape.length === 3) return 'image';
  if (inputShape.length === 2 && inputShape[0] === inputShape[1] && (inputShape[0] as number) >= 8) return 'image';
  if (inputShape.length === 1) return 'tabular';
  return 'sequence';
}

const uniform = (n: number): number[] => Array.from({ length: n }, () => 1);

/**
 * Data-fitted defaults (issue 12): images get a conv stem (1-2 blocks) before small hives of position-wise and
 * mixing brains with ReLU-family activations; table rows become one token, so Dense/NormDense/SwiGLU brains are
 * MLPs; sequences keep LOOM's brains. Both image and table spaces search dropout, weight decay and label smoothing.
 */
export function spaceDefaults(space: Exclude<SearchSpace, 'auto'>, task: TaskShape): Partial<ArchGenOptions> {
  const shapes = (names: string[]): GridShape[] => STANDARD_GRID_SHAPES.filter((s) => names.includes(s.name));
  switch (space) {
    case 'image':
      return {
        convBlocks: [2],
        convWidths: [8, 12, 16],
        dModels: [32, 64],
        numHeads: [4],
        gridShapes: shapes(['1x1 Mono', '2x2 Standard', '1x4 Wide']),
        maxBrains: 4,
        brainTypes: ['Dense', 'NormDense', 'SwiGLU', 'MHA', 'Conv1D'],
        brainDistribution: [0.3, 0.2, 0.2, 0.15, 0.15],
        combineModes: ['avg', 'add', 'concat'],
        combineDistribution: [0.4, 0.3, 0.3],
        activations: ['relu', 'leaky_relu', 'gelu', 'silu'],
        activationDistribution: uniform(4),
        lrMin: 1e-3,
        lrMax: 4e-3,
        dropouts: [0, 0.1, 0.25, 0.4],
        weightDecays: [1e-4, 5e-4, 2e-3],
        labelSmoothings: [0, 0.05, 0.1],
      };
    case 'tabular': {
      const features = task.inputShape.reduce((a, b) => a * b, 1);
      return {
        tokenDim: features,
        dModels: [32, 64, 128],
        numHeads: [4],
        gridShapes: shapes(['1x1 Mono', '2x2 Standard', '1x4 Wide', '4x1 Tall']),
        maxBrains: 4,
        brainTypes: ['Dense', 'NormDense', 'SwiGLU'],
        brainDistribution: [0.4, 0.3, 0.3],
        combineModes: ['avg', 'add', 'concat'],
        combineDistribution: [0.4, 0.3, 0.3],
        activations: ['relu', 'gelu', 'silu', 'tanh'],
        activationDistribution: uniform(4),
        lrMin: 5e-4,
        lrMax: 1e-2,
        dropouts: [0, 0.1, 0.2, 0.3],
        weightDecays: [0, 1e-4, 1e-3],
        labelSmoothings: [0, 0.05, 0.1],
      };
    }
    case 'sequence':
      return {};
    default: {
      const unknown: never = space;
      throw configError('space', `unknown search space ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * The generator options a search uses for a task: the data-fitted defaults of `generator.space` (default 'auto':
 * inferred from the input shape), overridden by every field the config sets. A list the config sets without its
 * distribution is drawn uniformly (the space's weights belong to the space's list).
 */
export function searchSpace(task: TaskShape, generator: Partial<ArchGenOptions> = {}): Partial<ArchGenOptions> {
  const chosen = generator.space ?? 'auto';
  const space = chosen === 'auto' ? inferSpace(task.inputShape) : chosen;
  for (const { option } of AUGMENTATIONS) if (generator[option]?.some((v) => v > 0)) expectAugmentable(`generator.${option}`, task.inputShape);
  const defaults: Partial<ArchGenOptions> = { ...spaceDefaults(space, task) };
  const merged: { -readonly [K in keyof ArchGenOptions]?: ArchGenOptions[K] } = { ...defaults, ...generator, space };
  const pairs = [['brainTypes', 'brainDistribution'], ['combineModes', 'combineDistribution'], ['activations', 'activationDistribution']] as const;
  for (const [list, weights] of pairs) {
    const values = generator[list];
    if (values !== undefined && generator[weights] === undefined && defaults[weights] !== undefined && Array.isArray(values)) {
      merged[weights] = uniform(values.length);
    }
  }
  return merged;
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
  const hyper: { -readonly [K in HyperGeneName]?: number } = {};
  for (const h of HYPER_GENES) {
    if (o[h.gene] === undefined) continue;
    hyper[h.gene] = field<number>(o, h.gene, path, (v) => isFiniteNumber(v) && h.ok(v), h.want);
  }
  return {
    id, name, species, mutationStr, gridRows, gridCols, numBrains, dModel, numHeads, learningRate, budgetScale, activation,
    combineMode, brains: [...brains], brainNames: [...brainNames], initScale, dtype, seqLen, tokenDim, numClasses,
    parents: [...parents], origin, mutations: [...mutations], ...hyper,
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
