import { modelFileError, shapeError, specError } from '../errors.js';
import { int, type OnnxGraph } from '../io/onnx/graph.js';
import { flatNeed, intField, listField, numField, typedSpec, type LoomCoreRead, type LoomLayerDef, type LoomReadContext } from '../io/loom-codec.js';
import type { Rng } from '../rng.js';
import { expectSampleShape, sizeOf, type Tensor } from '../tensor.js';
import {
  adaptiveMap,
  entmaxMap,
  hierarchicalMap,
  maskedSoftmaxMap,
  mixtureMap,
  softmaxMap,
  sparsemaxMap,
  type RowMap,
} from './softmax/maps.js';
import type { Layer, LayerKind, Param, RunContext } from './types.js';

export const SOFTMAX_VARIANTS = [
  'standard',
  'grid',
  'hierarchical',
  'temperature',
  'gumbel',
  'masked',
  'sparsemax',
  'adaptive',
  'mixture',
  'entmax',
] as const;
export type SoftmaxVariant = (typeof SOFTMAX_VARIANTS)[number];

/**
 * Every variant maps rows of the last axis independently and first divides the logits by `temperature`.
 * Variants that change the row length (hierarchical, adaptive, mixture) document their input layout in
 * softmax/maps.ts; their output's last axis is the number of classes.
 */
export interface SoftmaxSpec {
  readonly type: 'softmax';
  readonly variant?: SoftmaxVariant;
  /** Divides every logit before the map (and the gradient by the same factor). */
  readonly temperature?: number;
  /** grid: `rows` distributions of `cols` each; rows·cols is the last axis or the whole sample. */
  readonly rows?: number;
  readonly cols?: number;
  /** hierarchical: branching factor per tree level, root first. */
  readonly levels?: readonly number[];
  /** masked: true = the position may get probability, false = exactly 0. One entry per last-axis position. */
  readonly mask?: readonly boolean[];
  /** adaptive: [shortlist size, tail cluster sizes…]. */
  readonly clusters?: readonly number[];
  /** mixture: number of mixed softmaxes K. */
  readonly components?: number;
  /** entmax: α ≥ 1 (1 = softmax, 1.5 = entmax15, 2 = sparsemax). */
  readonly alpha?: number;
}

/** Gumbel noise uses u floored here, so −ln(−ln u) stays finite. */
const GUMBEL_MIN_U = 1e-10;

const isPositiveInteger = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

function positiveIntegers(name: string, variant: string, values: unknown): number[] {
  if (!Array.isArray(values) || values.length === 0 || !values.every(isPositiveInteger)) {
    throw specError('softmax', `${variant} needs "${name}" as a non-empty array of positive integers, got ${JSON.stringify(values)}`);
  }
  return [...values];
}

/** The resolved spec (defaults filled, only the fields this variant uses) and its row map for one input shape. */
function resolve(spec: SoftmaxSpec, inputShape: readonly number[]): { resolved: SoftmaxSpec; map: RowMap } {
  const variant = spec.variant ?? 'standard';
  if (!SOFTMAX_VARIANTS.includes(variant)) {
    throw specError('softmax', `unknown variant "${variant}" (known: ${SOFTMAX_VARIANTS.join(', ')})`);
  }
  const temperature = spec.temperature ?? 1;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0) {
    throw specError('softmax', `temperature must be a positive number, got ${temperature}`);
  }
  if (inputShape.length === 0 || !inputShape.every(isPositiveInteger)) {
    throw shapeError('softmax', 'a non-empty shape of positive sizes', inputShape);
  }
  const last = inputShape[inputShape.length - 1]!;
  const base = { type: 'softmax' as const, variant, temperature };
  const expectLast = (size: number, why: string): void => {
    if (last !== size) throw shapeError('softmax', `last axis ${size} (${why})`, inputShape);
  };

  switch (variant) {
    case 'standard':
    case 'temperature':
    case 'gumbel':
      return { resolved: base, map: softmaxMap(last) };
    case 'sparsemax':
      return { resolved: base, map: sparsemaxMap(last) };
    case 'grid': {
      const { rows, cols } = spec;
      if (!isPositiveInteger(rows) || !isPositiveInteger(cols)) {
        throw specError('softmax', `grid needs positive integer "rows" and "cols", got rows=${rows}, cols=${cols}`);
      }
      if (rows * cols !== last && rows * cols !== sizeOf(inputShape)) {
        throw shapeError('softmax', `last axis or sample size ${rows * cols} (grid ${rows}×${cols})`, inputShape);
      }
      return { resolved: { ...base, rows, cols }, map: softmaxMap(cols) };
    }
    case 'masked': {
      const mask = spec.mask ?? new Array<boolean>(last).fill(true);
      if (!Array.isArray(mask) || !mask.every((m) => typeof m === 'boolean')) {
        throw specError('softmax', `masked needs "mask" as an array of booleans, got ${JSON.stringify(mask)}`);
      }
      expectLast(mask.length, `one per mask entry`);
      if (!mask.includes(true)) throw specError('softmax', 'masked needs at least one unmasked (true) position');
      return { resolved: { ...base, mask: [...mask] }, map: maskedSoftmaxMap(mask) };
    }
    case 'entmax': {
      const alpha = spec.alpha ?? 1.5;
      if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 1) {
        throw specError('softmax', `entmax needs alpha ≥ 1 (1 = softmax, 2 = sparsemax), got ${alpha}`);
      }
      return { resolved: { ...base, alpha }, map: entmaxMap(last, alpha) };
    }
    case 'hierarchical': {
      const levels = positiveIntegers('levels', variant, spec.levels);
      const map = hierarchicalMap(levels);
      expectLast(map.inSize, `Σ nodes per level for levels [${levels.join(', ')}]`);
      return { resolved: { ...base, levels }, map };
    }
    case 'adaptive': {
      const clusters = positiveIntegers('clusters', variant, spec.clusters);
      const map = adaptiveMap(clusters);
      expectLast(map.inSize, `${map.outSize} classes + ${clusters.length - 1} tail cluster logits for clusters [${clusters.join(', ')}]`);
      return { resolved: { ...base, clusters }, map };
    }
    case 'mixture': {
      const components = spec.components;
      if (!isPositiveInteger(components)) {
        throw specError('softmax', `mixture needs "components" as a positive integer, got ${components}`);
      }
      const classes = (last - components) / components;
      if (!isPositiveInteger(classes)) {
        throw shapeError('softmax', `last axis K + K·classes with K = ${components} components`, inputShape);
      }
      return { resolved: { ...base, components }, map: mixtureMap(components, classes) };
    }
  }
}

/** Applies one row map to every row of the input; no parameters. */
class Softmax implements Layer<SoftmaxSpec> {
  readonly spec: SoftmaxSpec;
  readonly outputShape: readonly number[];
  private readonly map: RowMap;
  private readonly temperature: number;
  /** The last forward's scaled (and, when training a gumbel layer, noised) logits and its output, in float64. */
  private z: Float64Array = new Float64Array(0);
  private y: Float64Array = new Float64Array(0);

  constructor(spec: SoftmaxSpec, readonly inputShape: readonly number[]) {
    const { resolved, map } = resolve(spec, inputShape);
    this.spec = resolved;
    this.map = map;
    this.temperature = resolved.temperature as number;
    // Same-size maps keep the shape (grid rows may even span the last axis); the others replace the last axis.
    this.outputShape = map.inSize === map.outSize ? [...inputShape] : [...inputShape.slice(0, -1), map.outSize];
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('softmax', x, this.inputShape);
    const { inSize, outSize } = this.map;
    const rows = x.data.length / inSize;
    const invT = 1 / this.temperature;
    const z = new Float64Array(x.data.length);
    const noisy = this.spec.variant === 'gumbel' && ctx.training;
    for (let i = 0; i < z.length; i++) {
      const noise = noisy ? -Math.log(-Math.log(Math.max(ctx.rng.next(), GUMBEL_MIN_U))) : 0;
      z[i] = (x.data[i]! + noise) * invT;
    }
    const y = new Float64Array(rows * outSize);
    for (let r = 0; r < rows; r++) {
      this.map.forward(z.subarray(r * inSize, (r + 1) * inSize), y.subarray(r * outSize, (r + 1) * outSize));
    }
    this.z = z;
    this.y = y;
    return { data: Float32Array.from(y), shape: [x.shape[0]!, ...this.outputShape] };
  }

  /** The sampled Gumbel noise is a constant here: dL/dx = (1/T)·Jᵀ·dy. */
  backward(dy: Tensor, _ctx: RunContext): Tensor {
    if (dy.data.length !== this.y.length) {
      throw shapeError('softmax backward', [...this.outputShape], dy.shape.slice(1));
    }
    const { inSize, outSize } = this.map;
    const rows = this.y.length / outSize;
    const dz = new Float64Array(this.z.length);
    for (let r = 0; r < rows; r++) {
      this.map.backward(
        this.z.subarray(r * inSize, (r + 1) * inSize),
        this.y.subarray(r * outSize, (r + 1) * outSize),
        dy.data.subarray(r * outSize, (r + 1) * outSize),
        dz.subarray(r * inSize, (r + 1) * inSize),
      );
    }
    const invT = 1 / this.temperature;
    const dx = new Float32Array(dz.length);
    for (let i = 0; i < dz.length; i++) dx[i] = dz[i]! * invT;
    return { data: dx, shape: [dy.shape[0]!, ...this.inputShape] };
  }
}

export const softmaxKind: LayerKind<SoftmaxSpec> = {
  type: 'softmax',
  doc:
    'Turns logits into probabilities per row of the last axis, after dividing by the temperature. Variants: ' +
    'standard/temperature softmax, grid (one softmax per row of rows×cols), hierarchical (tree of conditional ' +
    'softmaxes), gumbel (Gumbel noise while training), masked, sparsemax, adaptive (head + tail clusters), ' +
    'mixture (of K softmaxes) and α-entmax. No parameters.',
  fields: [
    { name: 'variant', type: 'enum', doc: 'which probability map', values: SOFTMAX_VARIANTS, default: 'standard' },
    { name: 'temperature', type: 'number', doc: 'divides every logit first (all variants)', default: 1 },
    { name: 'rows', type: 'integer', doc: 'grid: number of distributions (required for grid)' },
    { name: 'cols', type: 'integer', doc: 'grid: size of each distribution; rows·cols = last axis or sample size (required for grid)' },
    {
      name: 'levels',
      type: 'array',
      doc: 'hierarchical: branching factor per level, e.g. [3, 4] → 12 leaves from 3 + 12 logits (required for hierarchical)',
    },
    { name: 'mask', type: 'array', doc: 'masked: one boolean per last-axis position, false = probability 0; all true when left out' },
    {
      name: 'clusters',
      type: 'array',
      doc: 'adaptive: [shortlist size, tail cluster sizes…]; input = head logits (shortlist + one per tail) then each tail’s logits (required for adaptive)',
    },
    { name: 'components', type: 'integer', doc: 'mixture: K; input = K mixture logits then K blocks of class logits (required for mixture)' },
    { name: 'alpha', type: 'number', doc: 'entmax: α ≥ 1 (1 = softmax, 2 = sparsemax)', default: 1.5 },
  ],
  create: (spec: SoftmaxSpec, inputShape: readonly number[], _rng: Rng) => new Softmax(spec, inputShape),
  onnx: emitSoftmax,
  loom: {
    type: 'softmax',
    read: readLoomSoftmax,
    write: ({ spec }) => ({
      softmax_variant: spec.variant === 'sparsemax' ? 'sparse' : spec.variant,
      softmax_rows: spec.rows, softmax_cols: spec.cols, temperature: spec.temperature, mask: spec.mask,
      hierarchy_levels: spec.levels, adaptive_clusters: spec.clusters, entmax_alpha: spec.alpha,
    }),
  },
};

/**
 * LOOM's softmax definition. Variants LOOM never implemented (adaptive, mixture) load as what LOOM computes
 * (plain softmax, T = 1); LOOM's "hierarchical" is a grid softmax over the last level; sparsemax is the real one.
 */
function readLoomSoftmax(def: LoomLayerDef, shape: readonly number[] | null, ctx: LoomReadContext): LoomCoreRead {
  const { where } = ctx;
  const variant = def.softmax_variant ?? 'standard';
  const temperature = numField(def, 'temperature', where) ?? 1;
  const rows = intField(def, 'softmax_rows', where);
  const cols = intField(def, 'softmax_cols', where);
  const standard = (t: number): LoomCoreRead => ({ spec: typedSpec<SoftmaxSpec>({ type: 'softmax', variant: 'standard', temperature: t }), need: flatNeed(shape, undefined, ctx) });
  const grid = (r: number, c: number): LoomCoreRead => {
    const need = shape && (shape[shape.length - 1] === r * c || sizeOf(shape) === r * c) ? [...shape] : flatNeed(shape, r * c, ctx);
    return { spec: typedSpec<SoftmaxSpec>({ type: 'softmax', variant: 'grid', rows: r, cols: c, temperature }), need };
  };
  switch (variant) {
    case 'standard':
    case 'temperature':
      return standard(temperature);
    case 'grid':
      // LOOM falls back to a standard softmax (T = 1) when the grid is not set
      return rows && cols ? grid(rows, cols) : standard(1);
    case 'hierarchical': {
      const levels = (listField(def, 'hierarchy_levels', where) ?? []) as number[];
      const total = shape ? sizeOf(shape) : levels.reduce((a, b) => a * b, 1);
      const last = levels[levels.length - 1];
      if (levels.length > 0 && last && levels.reduce((a, b) => a * b, 1) === total) return grid(total / last, last);
      return standard(temperature);
    }
    case 'gumbel':
    case 'sparse':
    case 'sparsemax':
      return { spec: typedSpec<SoftmaxSpec>({ type: 'softmax', variant: variant === 'gumbel' ? 'gumbel' : 'sparsemax', temperature }), need: flatNeed(shape, undefined, ctx) };
    case 'masked': {
      const mask = listField(def, 'mask', where);
      if (!mask) return standard(temperature);
      if (!mask.every((m) => typeof m === 'boolean')) throw modelFileError(`${where}: mask must be a list of booleans`);
      return { spec: typedSpec<SoftmaxSpec>({ type: 'softmax', variant: 'masked', mask: mask as boolean[], temperature }), need: flatNeed(shape, mask.length, ctx) };
    }
    case 'entmax': {
      const alpha = Math.max(1, numField(def, 'entmax_alpha', where) ?? 1.5);
      return { spec: typedSpec<SoftmaxSpec>({ type: 'softmax', variant: 'entmax', alpha }), need: flatNeed(shape, undefined, ctx) };
    }
    case 'adaptive':
    case 'mixture':
      return standard(1);
    default:
      throw modelFileError(`${where}: unknown softmax_variant ${JSON.stringify(variant)}`);
  }
}

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/**
 * Every softmax variant with an exact ONNX form, after dividing by the temperature. Gumbel noise is a training-time
 * behaviour, so at inference it is the plain softmax. α-entmax is exact only at α = 1 (softmax) and α = 2
 * (sparsemax); in between Loom solves for τ by bisection, which no standard operator expresses, so it is refused.
 */
function emitSoftmax(layer: Layer<SoftmaxSpec>, x: string, g: OnnxGraph<Layer>): string {
  const spec = layer.spec;
  const variant = spec.variant ?? 'standard';
  const t = spec.temperature ?? 1;
  const z = t === 1 ? x : g.op('Div', [x, g.scalar('temperature', t)]);
  const shape = layer.inputShape;
  const prefix = shape.slice(0, -1);
  const last = shape[shape.length - 1] as number;
  const softmax = (v: string): string => g.op('Softmax', [v], { axis: int(-1) });
  switch (variant) {
    case 'standard':
    case 'temperature':
    case 'gumbel':
      return softmax(z);
    case 'grid': {
      // Rows of `cols` logits across the row-major sample, whether rows·cols is the last axis or the whole sample.
      const cols = spec.cols as number;
      const total = shape.reduce((a, b) => a * b, 1);
      return g.reshape(softmax(g.reshape(z, [total / cols, cols])), shape);
    }
    case 'masked': {
      const mask = (spec.mask ?? []).map((keep) => (keep ? 0 : -Infinity));
      return softmax(g.op('Add', [z, g.constant('softmax_mask', mask, [mask.length])]));
    }
    case 'sparsemax':
      return sparsemax(g, z, last);
    case 'entmax': {
      const alpha = spec.alpha ?? 1.5;
      if (alpha === 1) return softmax(z);
      if (alpha === 2) return sparsemax(g, z, last);
      throw specError(
        'onnx export',
        `softmax variant "entmax" with alpha ${alpha} has no exact ONNX form (Loom finds its threshold by bisection); only alpha 1 (softmax) and 2 (sparsemax) export`,
      );
    }
    case 'mixture': {
      const k = spec.components as number;
      const classes = (last - k) / k;
      const weights = softmax(g.sliceLast(z, 0, k));
      const blocks = softmax(g.reshape(g.sliceLast(z, k, last), [...prefix, k, classes]));
      const weighted = g.op('Mul', [blocks, g.op('Unsqueeze', [weights, g.int64('axes', [-1])])]);
      return g.op('ReduceSum', [weighted, g.int64('axes', [-2])], { keepdims: int(0) });
    }
    case 'adaptive': {
      const clusters = spec.clusters as readonly number[];
      const shortlist = clusters[0] as number;
      const tails = clusters.slice(1);
      const headSize = shortlist + tails.length;
      const head = softmax(g.sliceLast(z, 0, headSize));
      const parts = [g.sliceLast(head, 0, shortlist)];
      let start = headSize;
      tails.forEach((size, i) => {
        const tail = softmax(g.sliceLast(z, start, start + size));
        parts.push(g.op('Mul', [tail, g.sliceLast(head, shortlist + i, shortlist + i + 1)]));
        start += size;
      });
      return g.op('Concat', parts, { axis: int(-1) });
    }
    case 'hierarchical': {
      // Level l's sibling groups softmaxed ([.., n_{l−1}, b_l]) times their parents' path probabilities.
      const levels = spec.levels as readonly number[];
      let offset = 0;
      let parents = 1;
      let paths: string | undefined;
      for (const b of levels) {
        const nodes = parents * b;
        const cond = softmax(g.reshape(g.sliceLast(z, offset, offset + nodes), [...prefix, parents, b]));
        const joint = paths === undefined ? cond : g.op('Mul', [cond, g.op('Unsqueeze', [paths, g.int64('axes', [-1])])]);
        paths = g.reshape(joint, [...prefix, nodes]);
        offset += nodes;
        parents = nodes;
      }
      return paths as string;
    }
    default: {
      const unknown: never = variant;
      throw specError('onnx export', `softmax variant "${String(unknown)}" has no ONNX form`);
    }
  }
}

/**
 * Sparsemax: with s = z sorted descending and c its cumulative sum, the support is k ∈ 1..n with 1 + k·s_k > c_k
 * (a prefix), τ = (Σ_{support} s − 1)/|support| and y = max(0, z − τ).
 */
function sparsemax(g: OnnxGraph<Layer>, z: string, n: number): string {
  const [sorted] = g.opN('TopK', [z, g.int64('k', [n])], 2, { axis: int(-1), largest: int(1), sorted: int(1) });
  const s = sorted as string;
  const cumulative = g.op('CumSum', [s, g.int64('axis', [-1], [])]);
  const ks = g.constant('sparsemax_k', Array.from({ length: n }, (_, i) => i + 1), [n]);
  const inSupport = g.op('Cast', [g.op('Greater', [g.op('Add', [g.op('Mul', [s, ks]), g.scalar('one', 1)]), cumulative])], { to: int(1) });
  const axes = g.int64('axes', [-1]);
  const count = g.op('ReduceSum', [inSupport, axes], { keepdims: int(1) });
  const total = g.op('ReduceSum', [g.op('Mul', [inSupport, s]), axes], { keepdims: int(1) });
  const tau = g.op('Div', [g.op('Sub', [total, g.scalar('one', 1)]), count]);
  return g.op('Relu', [g.op('Sub', [z, tau])]);
}
