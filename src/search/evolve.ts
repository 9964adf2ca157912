import type { Activation } from '../engine/activations.js';
import { configError } from '../engine/errors.js';
import type { Rng } from '../engine/rng.js';
import {
  compatibleHeads,
  drawBrain,
  drawHeads,
  finishConfig,
  resolveGenOptions,
  crossHyperGenes,
  hyperGeneKey,
  hyperGeneOps,
  mutateHyperGene,
  type ArchConfig,
  type ArchGenes,
  type ArchGenOptions,
  type BrainType,
  type CombineMode,
  type ResolvedGenOptions,
} from './arch.js';

/**
 * Evolution: pure functions over configs, every random choice from the Rng passed in.
 * Mutation and crossover always return a validated config with a new id, its parents and a fresh mutationStr.
 */

/** 'hyper': one optional gene of arch.ts's HYPER_GENES (stem, dropout, weight decay, label smoothing, batch size, epochs). */
export const MUTATION_OPS = ['brain', 'shape', 'dModel', 'heads', 'lr', 'activation', 'combine', 'addBrain', 'removeBrain', 'hyper'] as const;
export type MutationOp = (typeof MUTATION_OPS)[number];

export interface MutateOptions {
  /** The space mutation draws from (brain types, shapes, dModels, …); default LOOM's. */
  readonly genOptions?: Partial<ArchGenOptions> | ResolvedGenOptions;
  /** Id of the child; default a random hex id from the Rng. */
  readonly id?: string;
  /** Std of the log-space learning-rate jitter: lr · exp(N(0, σ)), reflected into [lrMin, lrMax]. Default 0.5. */
  readonly lrSigma?: number;
  /** Probability of each further change after the first (so 1 + Geometric changes). Default 0.3. */
  readonly extraChangeRate?: number;
  /** At most this many changes (plus any needed when changes cancel out). Default 3. */
  readonly maxChanges?: number;
}

const resolve = (o: MutateOptions['genOptions']): ResolvedGenOptions => (o && '__resolved' in o ? o : resolveGenOptions(o));

/** A 48-bit random id, e.g. "c3f09a1b27de". */
export const randomId = (rng: Rng): string =>
  rng.uint32().toString(16).padStart(8, '0') + (rng.uint32() & 0xffff).toString(16).padStart(4, '0');

const distinct = <T>(xs: readonly T[]): T[] => [...new Set(xs)];

/** Genes of a config, without the bookkeeping finishConfig derives. */
function genesOf(c: ArchConfig): ArchGenes {
  const { name: _n, species: _s, mutationStr: _m, numBrains: _b, brainNames: _bn, ...genes } = c;
  return { ...genes, brains: [...c.brains], parents: [...c.parents], mutations: [...c.mutations] };
}

/** Identity of a config's architecture and hyper-parameters (ignores ids and lineage): equal keys are duplicates. */
export function genomeKey(c: ArchGenes): string {
  return JSON.stringify([c.gridRows, c.gridCols, c.brains, c.dModel, c.numHeads, c.learningRate, c.budgetScale, c.activation,
    c.combineMode, c.initScale, c.dtype, c.seqLen, c.tokenDim, c.numClasses, ...hyperGeneKey(c)]);
}

/** Draws a value from `values` (weights aligned) other than `current`; null when there is none. */
function drawOther<T>(rng: Rng, values: readonly T[], weights: readonly number[] | null, current: T): T | null {
  const idx = values.map((_, i) => i).filter((i) => values[i] !== current && (weights === null || (weights[i] as number) > 0));
  if (idx.length === 0) return null;
  const w = idx.map((i) => (weights ? (weights[i] as number) : 1));
  return values[idx[rng.weighted(w)] as number] as T;
}

/** Grids one row or one column bigger that fit maxBrains. */
const growOptions = (g: ArchGenes, o: ResolvedGenOptions): ('row' | 'col')[] => [
  ...((g.gridRows + 1) * g.gridCols <= o.maxBrains ? (['row'] as const) : []),
  ...(g.gridRows * (g.gridCols + 1) <= o.maxBrains ? (['col'] as const) : []),
];

function applicableOps(g: ArchGenes, o: ResolvedGenOptions): MutationOp[] {
  const ops: MutationOp[] = [];
  if (distinct(o.brainTypes.filter((_, i) => (o.brainDistribution[i] as number) > 0)).length > 1 || g.brains.some((b) => !o.brainTypes.includes(b))) ops.push('brain');
  if (o.gridShapes.some((s) => s.rows !== g.gridRows || s.cols !== g.gridCols)) ops.push('shape');
  if (distinct(o.dModels).some((d) => d !== g.dModel)) ops.push('dModel');
  if (distinct(compatibleHeads(g.dModel, o.numHeads)).some((h) => h !== g.numHeads)) ops.push('heads');
  if (o.lrMax > o.lrMin) ops.push('lr');
  if (o.activations.some((a, i) => a !== g.activation && (o.activationDistribution[i] as number) > 0)) ops.push('activation');
  if (o.combineModes.some((m, i) => m !== g.combineMode && (o.combineDistribution[i] as number) > 0)) ops.push('combine');
  if (growOptions(g, o).length > 0) ops.push('addBrain');
  if (g.gridRows * g.gridCols > 1) ops.push('removeBrain');
  // One entry per optional gene that can change, so each is as likely to mutate as an architecture gene.
  for (const _ of hyperGeneOps(g, o)) ops.push('hyper');
  return ops;
}

/** Applies one mutation in place on the genes; returns a label for `mutations`. */
function applyOp(op: MutationOp, g: { -readonly [K in keyof ArchGenes]: ArchGenes[K] }, rng: Rng, o: ResolvedGenOptions, lrSigma: number): string {
  switch (op) {
    case 'brain': {
      const cell = rng.int(g.brains.length);
      const next = drawOther(rng, o.brainTypes, o.brainDistribution, g.brains[cell] as BrainType) ?? drawBrain(rng, o);
      g.brains = g.brains.map((b, i) => (i === cell ? next : b));
      return `brain@${Math.floor(cell / g.gridCols)},${cell % g.gridCols}:${next}`;
    }
    case 'shape': {
      const shape = rng.pick(o.gridShapes.filter((s) => s.rows !== g.gridRows || s.cols !== g.gridCols));
      // Keep as many brains as possible in row-major order; new cells get fresh draws.
      const n = shape.rows * shape.cols;
      g.brains = Array.from({ length: n }, (_, i) => (i < g.brains.length ? (g.brains[i] as BrainType) : drawBrain(rng, o)));
      g.gridRows = shape.rows;
      g.gridCols = shape.cols;
      return `shape:${shape.rows}x${shape.cols}`;
    }
    case 'dModel': {
      g.dModel = drawOther(rng, o.dModels, null, g.dModel) as number;
      if (g.dModel % g.numHeads !== 0) g.numHeads = drawHeads(rng, g.dModel, o);
      return `dModel:${g.dModel}`;
    }
    case 'heads': {
      g.numHeads = drawOther(rng, compatibleHeads(g.dModel, o.numHeads), null, g.numHeads) as number;
      return `heads:${g.numHeads}`;
    }
    case 'lr': {
      g.learningRate = jitterLogReflected(g.learningRate, rng.normal(0, lrSigma), o.lrMin, o.lrMax);
      return 'lr';
    }
    case 'activation': {
      g.activation = drawOther(rng, o.activations, o.activationDistribution, g.activation) as Activation;
      return `activation:${g.activation}`;
    }
    case 'combine': {
      g.combineMode = drawOther(rng, o.combineModes, o.combineDistribution, g.combineMode) as CombineMode;
      return `combine:${g.combineMode}`;
    }
    case 'addBrain': {
      // One more row or column of cells, inserted at a random index (exactly one brain on 1×N and N×1 grids).
      const axis = rng.pick(growOptions(g, o));
      return resizeGrid(g, axis, 'add', rng, o);
    }
    case 'hyper':
      return mutateHyperGene(rng.pick(hyperGeneOps(g, o)), g, rng, o);
    case 'removeBrain': {
      const axes: ('row' | 'col')[] = [...(g.gridRows > 1 ? (['row'] as const) : []), ...(g.gridCols > 1 ? (['col'] as const) : [])];
      return resizeGrid(g, rng.pick(axes), 'remove', rng, o);
    }
  }
}

/** lr·exp(step), reflected at the bounds in log space so a rate at a bound still moves. */
function jitterLogReflected(lr: number, step: number, lo: number, hi: number): number {
  const a = Math.log(lo);
  const width = Math.log(hi) - a;
  const start = Math.min(Math.max(Math.log(lr), a), a + width);
  let t = (start - a + step) % (2 * width);
  if (t < 0) t += 2 * width;
  return Math.exp(a + (t > width ? 2 * width - t : t));
}

/** Inserts or deletes one row or column of brains at a random index, keeping every other brain on its cell. */
function resizeGrid(g: { -readonly [K in keyof ArchGenes]: ArchGenes[K] }, axis: 'row' | 'col', how: 'add' | 'remove', rng: Rng, o: ResolvedGenOptions): string {
  const rows = g.gridRows;
  const cols = g.gridCols;
  const at = rng.int((axis === 'row' ? rows : cols) + (how === 'add' ? 1 : 0));
  const cell = (r: number, c: number): BrainType => g.brains[r * cols + c] as BrainType;
  const newRows = axis === 'row' ? rows + (how === 'add' ? 1 : -1) : rows;
  const newCols = axis === 'col' ? cols + (how === 'add' ? 1 : -1) : cols;
  const brains: BrainType[] = [];
  for (let r = 0; r < newRows; r++) {
    for (let c = 0; c < newCols; c++) {
      const k = axis === 'row' ? r : c;
      const shift = how === 'add' ? (k > at ? -1 : 0) : k >= at ? 1 : 0;
      if (how === 'add' && k === at) brains.push(drawBrain(rng, o));
      else brains.push(axis === 'row' ? cell(r + shift, c) : cell(r, c + shift));
    }
  }
  g.brains = brains;
  g.gridRows = newRows;
  g.gridCols = newCols;
  return `${how}${axis === 'row' ? 'Row' : 'Col'}@${at}`;
}

/**
 * One or more random changes (brain at a cell, grid shape, dModel, heads, learning rate, activation, combine mode,
 * add/remove a row or column of brains), each drawn uniformly among the changes that apply. The child records its
 * parent and the changes; the result is validated.
 */
export function mutate(config: ArchConfig, rng: Rng, options: MutateOptions = {}): ArchConfig {
  const o = resolve(options.genOptions);
  const lrSigma = options.lrSigma ?? 0.5;
  const extra = options.extraChangeRate ?? 0.3;
  const maxChanges = options.maxChanges ?? 3;
  if (!(lrSigma >= 0)) throw configError('lrSigma', `must be a number ≥ 0, got ${lrSigma}`);
  if (!(extra >= 0 && extra <= 1)) throw configError('extraChangeRate', `must be in [0, 1], got ${extra}`);
  if (!Number.isInteger(maxChanges) || maxChanges < 1) throw configError('maxChanges', `must be a positive integer, got ${maxChanges}`);
  const g: { -readonly [K in keyof ArchGenes]: ArchGenes[K] } = genesOf(config);
  const changes: string[] = [];
  const parentKey = genomeKey(config);
  const change = (): void => {
    const ops = applicableOps(g, o);
    if (ops.length === 0) throw configError('genOptions', 'allow no mutation of this config (every choice has a single value)');
    changes.push(applyOp(rng.pick(ops), g, rng, o, lrSigma));
  };
  do change();
  while (changes.length < maxChanges && rng.next() < extra);
  // Two changes can cancel out (dModel 64 → 32 → 64): change again so the child is never a copy of its parent.
  for (let t = 0; t < 8 && genomeKey(g) === parentKey; t++) change();
  return finishConfig({ ...g, id: options.id ?? randomId(rng), parents: [config.id], origin: 'mutation', mutations: changes });
}

export interface CrossoverOptions {
  readonly id?: string;
}

/**
 * Uniform crossover. The grid shape comes from either parent; each cell's brain from a parent that has that cell
 * (by row and column), uniformly when both do. dModel and numHeads travel together (so heads stay compatible);
 * every other scalar gene is taken from either parent with probability ½. The task layout must match.
 */
export function crossover(a: ArchConfig, b: ArchConfig, rng: Rng, options: CrossoverOptions = {}): ArchConfig {
  for (const key of ['seqLen', 'tokenDim', 'numClasses'] as const) {
    if (a[key] !== b[key]) throw configError(key, `parents ${a.id} and ${b.id} differ (${a[key]} vs ${b[key]}); they must be built for the same task`);
  }
  const pick = <T>(x: T, y: T): T => (rng.next() < 0.5 ? x : y);
  const shape = pick(a, b);
  const has = (c: ArchConfig, r: number, col: number): boolean => r < c.gridRows && col < c.gridCols;
  const brains: BrainType[] = [];
  for (let r = 0; r < shape.gridRows; r++) {
    for (let c = 0; c < shape.gridCols; c++) {
      const donors = [a, b].filter((p) => has(p, r, c));
      const donor = donors.length === 2 ? pick(a, b) : (donors[0] as ArchConfig);
      brains.push(donor.brains[r * donor.gridCols + c] as BrainType);
    }
  }
  const width = pick(a, b);
  return finishConfig({
    id: options.id ?? randomId(rng),
    gridRows: shape.gridRows,
    gridCols: shape.gridCols,
    brains,
    dModel: width.dModel,
    numHeads: width.numHeads,
    learningRate: pick(a.learningRate, b.learningRate),
    budgetScale: pick(a.budgetScale, b.budgetScale),
    activation: pick(a.activation, b.activation),
    combineMode: pick(a.combineMode, b.combineMode),
    initScale: pick(a.initScale, b.initScale),
    dtype: pick(a.dtype, b.dtype),
    ...crossHyperGenes(a, b, pick),
    seqLen: a.seqLen,
    tokenDim: a.tokenDim,
    numClasses: a.numClasses,
    parents: [a.id, b.id],
    origin: 'crossover',
    mutations: [],
  });
}

// ---- selection -------------------------------------------------------------------------------------------------

/** A trained member of the population: its config, validation accuracy and per-sample validation correctness. */
export interface Individual {
  readonly config: ArchConfig;
  /** Fraction of validation samples classified correctly, in [0, 1]. */
  readonly valAccuracy: number;
  /** One entry per validation sample: truthy (1/true) when the model got it right. Same length for everyone. */
  readonly valMask: ArrayLike<number | boolean>;
}

/**
 * Uniqueness from validation correctness masks (implicit fitness sharing): each validation sample is worth 1,
 * shared equally among the models that get it right.
 *
 *   c_v = Σ_j m_j[v]                      (how many models get sample v right)
 *   uniqueness_i = (1/V) Σ_v m_i[v] / c_v  (in [0, 1]; Σ_i uniqueness_i = fraction of samples anyone gets right)
 *
 * A sample only model i gets right adds 1/V; one that all N models get right adds 1/(N·V). So a model that
 * duplicates another's mask halves both their shares, while one covering samples nobody else gets scores higher.
 */
export function uniqueness(masks: readonly ArrayLike<number | boolean>[]): number[] {
  if (masks.length === 0) return [];
  const v = (masks[0] as ArrayLike<number | boolean>).length;
  masks.forEach((m, i) => {
    if (m.length !== v) throw configError(`population[${i}].valMask`, `has ${m.length} entries but population[0].valMask has ${v}; masks must cover the same validation set`);
  });
  if (v === 0) return masks.map(() => 0);
  const counts = new Float64Array(v);
  for (const m of masks) for (let s = 0; s < v; s++) if (m[s]) counts[s] = (counts[s] as number) + 1;
  return masks.map((m) => {
    let share = 0;
    for (let s = 0; s < v; s++) if (m[s]) share += 1 / (counts[s] as number);
    return share / v;
  });
}

/** fitness_i = valAccuracy_i + λ · uniqueness_i (see `uniqueness`). λ = 0 is plain accuracy. */
export function diversityFitness(population: readonly Individual[], lambda: number): number[] {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw configError('lambda', `must be a finite number ≥ 0, got ${lambda}`);
  population.forEach((p, i) => {
    if (!(p.valAccuracy >= 0 && p.valAccuracy <= 1)) throw configError(`population[${i}].valAccuracy`, `must be in [0, 1], got ${p.valAccuracy}`);
  });
  const u = uniqueness(population.map((p) => p.valMask));
  return population.map((p, i) => p.valAccuracy + lambda * (u[i] as number));
}

/** Index of the fittest of `size` distinct individuals drawn at random (ties go to the earlier draw). */
export function tournamentSelect(fitness: readonly number[], rng: Rng, size: number): number {
  if (fitness.length === 0) throw configError('population', 'is empty');
  if (!Number.isInteger(size) || size < 1) throw configError('tournamentSize', `must be a positive integer, got ${size}`);
  const entrants = rng.permutation(fitness.length).slice(0, Math.min(size, fitness.length));
  let best = entrants[0] as number;
  for (const i of entrants) if ((fitness[i] as number) > (fitness[best] as number)) best = i;
  return best;
}

export interface NextGenerationOptions {
  /** Generation number of the children: their ids are `g<generation>-<index>`. */
  readonly generation: number;
  /** Index in the generation of the first new config (steady-state evolution breeds one at a time). Default 0. */
  readonly firstIndex?: number;
  /** Configs besides the population that no child may duplicate (models pruned or still training). */
  readonly avoid?: readonly ArchGenes[];
  /** Size of the new population. Default: the current size. */
  readonly size?: number;
  /** The top `elite` by fitness are carried over unchanged (same config, same id). Default 2. */
  readonly elite?: number;
  /** Default 3. */
  readonly tournamentSize?: number;
  /** Probability a child is mutated (a child that is not crossed over is always mutated). Default 0.8. */
  readonly mutationRate?: number;
  /** Probability a child comes from crossover of two tournament winners. Default 0.5. */
  readonly crossoverRate?: number;
  /** Weight of uniqueness in the fitness. Default 0.1. Ignored when `fitness` is given. */
  readonly lambda?: number;
  /** Precomputed fitness, aligned with the population (see fitness.ts); default accuracy + λ·uniqueness. */
  readonly fitness?: readonly number[];
  /** Indices parents may be drawn from (NES: the ensemble's members); default everyone. */
  readonly parentPool?: readonly number[];
  readonly genOptions?: Partial<ArchGenOptions>;
  /** Passed to `mutate` (lrSigma, extraChangeRate, maxChanges). */
  readonly mutation?: Omit<MutateOptions, 'genOptions' | 'id'>;
}

const rate = (name: string, v: number): number => {
  if (!(v >= 0 && v <= 1)) throw configError(name, `must be a probability in [0, 1], got ${v}`);
  return v;
};

/**
 * The next population: elites (top by fitness) unchanged, then children until `size`. Each child comes
 * from crossover (probability crossoverRate) of two tournament winners among the parent pool or from one winner, and is then mutated
 * (probability mutationRate; always when it was not crossed over, so no child is a plain copy). A child whose
 * genome duplicates an existing config or another child is mutated again (up to 8 times).
 */
export function nextGeneration(population: readonly Individual[], rng: Rng, options: NextGenerationOptions): ArchConfig[] {
  if (population.length === 0) throw configError('population', 'is empty');
  const { generation } = options;
  if (!Number.isInteger(generation) || generation < 0) throw configError('generation', `must be an integer ≥ 0, got ${generation}`);
  const size = options.size ?? population.length;
  if (!Number.isInteger(size) || size < 1) throw configError('size', `must be a positive integer, got ${size}`);
  const elite = options.elite ?? Math.min(2, size);
  if (!Number.isInteger(elite) || elite < 0 || elite > Math.min(size, population.length)) {
    throw configError('elite', `must be an integer in 0..${Math.min(size, population.length)}, got ${elite}`);
  }
  const tournamentSize = options.tournamentSize ?? 3;
  const mutationRate = rate('mutationRate', options.mutationRate ?? 0.8);
  const crossoverRate = rate('crossoverRate', options.crossoverRate ?? 0.5);
  const genOptions = resolveGenOptions(options.genOptions);
  const fitness = options.fitness ? [...options.fitness] : diversityFitness(population, options.lambda ?? 0.1);
  if (fitness.length !== population.length || !fitness.every(Number.isFinite)) {
    throw configError('fitness', `must hold one finite number per individual (${population.length}), got ${fitness.length}`);
  }
  const pool = options.parentPool && options.parentPool.length > 0 ? [...new Set(options.parentPool)] : population.map((_, i) => i);
  if (!pool.every((i) => Number.isInteger(i) && i >= 0 && i < population.length)) throw configError('parentPool', `must hold indices in 0..${population.length - 1}`);
  const poolFitness = pool.map((i) => fitness[i] as number);
  // A tournament among the pool, mapped back to a population index.
  const selectParent = (): Individual => population[pool[tournamentSelect(poolFitness, rng, tournamentSize)] as number] as Individual;

  const ranked = population.map((_, i) => i).sort((i, j) => (fitness[j] as number) - (fitness[i] as number) || i - j);
  const next: ArchConfig[] = ranked.slice(0, elite).map((i) => (population[i] as Individual).config);
  const seen = new Set([...population.map((p) => genomeKey(p.config)), ...(options.avoid ?? []).map(genomeKey)]);
  const firstIndex = options.firstIndex ?? 0;
  if (!Number.isInteger(firstIndex) || firstIndex < 0) throw configError('firstIndex', `must be an integer ≥ 0, got ${firstIndex}`);
  const mutateOpts = (id: string): MutateOptions => ({ ...options.mutation, genOptions, id });
  while (next.length < size) {
    const id = `g${generation}-${firstIndex + next.length}`;
    const first = selectParent().config;
    let child: ArchConfig;
    let crossed = false;
    if (pool.length > 1 && rng.next() < crossoverRate) {
      let second = first;
      for (let t = 0; t < 4 && second.id === first.id; t++) second = selectParent().config;
      child = crossover(first, second, rng, { id });
      crossed = true;
      if (rng.next() < mutationRate) child = { ...mutate(child, rng, mutateOpts(id)), parents: child.parents, origin: 'crossover' };
    } else {
      child = mutate(first, rng, mutateOpts(id));
    }
    for (let t = 0; t < 8 && seen.has(genomeKey(child)); t++) {
      const again = mutate(child, rng, mutateOpts(id));
      child = { ...again, parents: child.parents, origin: crossed ? 'crossover' : 'mutation', mutations: [...child.mutations, ...again.mutations] };
    }
    seen.add(genomeKey(child));
    next.push(child);
  }
  return next;
}
