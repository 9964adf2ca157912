import { LoomError, modelFileError, specError } from '../errors.js';
import { int, type OnnxGraph } from '../io/onnx/graph.js';
import { intField, listField, numField, typedSpec, weightField, type LoomCoreRead, type LoomLayerDef, type LoomReadContext } from '../io/loom-codec.js';
import type { SequentialSpec } from './sequential.js';
import { fillNormal, type Rng } from '../rng.js';
import { expectSampleShape, sameShape, sizeOf, type Tensor } from '../tensor.js';
import { makeParam, prefixParams, type CreateLayer, type Layer, type LayerKind, type LayerSpec, type Param, type RunContext } from './types.js';

export const COMBINE_MODES = ['concat', 'add', 'avg', 'grid_scatter', 'filter'] as const;
export type CombineMode = (typeof COMBINE_MODES)[number];

/** Where a branch's output lands in the grid_scatter output. */
export interface GridPlacement {
  readonly row: number;
  readonly col: number;
  readonly layer: number;
}

export interface ParallelSpec {
  readonly type: 'parallel';
  /** Every branch sees the same input. */
  readonly branches: readonly LayerSpec[];
  readonly combine?: CombineMode;
  /** grid_scatter: the output grid (default: a near-square grid with room for every branch). */
  readonly gridRows?: number;
  readonly gridCols?: number;
  readonly gridLayers?: number;
  /** grid_scatter: one cell per branch (default row-major: branch i → (⌊i/cols⌋, i mod cols, 0)). */
  readonly positions?: readonly GridPlacement[];
  /** filter: softmax temperature of the gate. */
  readonly temperature?: number;
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/**
 * How branch outputs are laid side by side (concat, grid_scatter): each sample's output is `positions` rows of
 * `rowWidth` values, and branch b writes its `widths[b]` values per row at column `offsets[b]`.
 */
interface Placement {
  readonly positions: number;
  readonly rowWidth: number;
  readonly widths: readonly number[];
  readonly offsets: readonly number[];
}

/**
 * Runs every branch on the same input and combines their outputs. Unlike LOOM, every mode has an exact backward:
 * branches and the filter gate are trained (LOOM split filter gradients uniformly and never trained the gate),
 * grid_scatter honours the positions, and mismatched shapes are errors instead of silent pass-through.
 */
class Parallel implements Layer<ParallelSpec> {
  readonly spec: ParallelSpec;
  readonly outputShape: readonly number[];
  private readonly branches: readonly Layer[];
  private readonly mode: CombineMode;
  private readonly placement: Placement | null = null;
  private readonly gateKernel: Param | null = null;
  private readonly gateBias: Param | null = null;
  private readonly temperature: number = 1;
  private readonly inSize: number;
  private x: Float32Array = new Float32Array(0);
  private outs: Float32Array[] = [];
  /** filter: softmax weights [batch][branches]. */
  private weights: Float32Array = new Float32Array(0);

  constructor(spec: ParallelSpec, readonly inputShape: readonly number[], rng: Rng, createLayer: CreateLayer) {
    const mode = spec.combine ?? 'concat';
    if (!(COMBINE_MODES as readonly string[]).includes(mode)) {
      throw specError('parallel', `unknown combine "${mode}" (allowed: ${COMBINE_MODES.join(', ')})`);
    }
    if (!Array.isArray(spec.branches) || spec.branches.length === 0) {
      throw specError('parallel', `branches must be a non-empty array of layer specs, got ${JSON.stringify(spec.branches)}`);
    }
    this.mode = mode;
    this.inSize = sizeOf(inputShape);
    this.branches = spec.branches.map((branchSpec: LayerSpec, i: number) => {
      let branch: Layer;
      try {
        branch = createLayer(branchSpec, inputShape, rng);
      } catch (err) {
        if (err instanceof Error) err.message = `parallel branch ${i} (${branchSpec?.type}): ${err.message}`;
        throw err;
      }
      if (branch.skipBack !== undefined) {
        throw specError(`parallel branch ${i} (${branch.spec.type})`, 'a skip layer needs a chain: wrap it in a sequential with the layers it skips over');
      }
      return branch;
    });
    const shapes = this.branches.map((b) => b.outputShape);
    const resolved = { type: 'parallel' as const, branches: this.branches.map((b) => b.spec), combine: mode };

    if (mode === 'concat') {
      const { placement, outputShape } = concatPlacement(shapes);
      this.placement = placement;
      this.outputShape = outputShape;
      this.spec = resolved;
    } else if (mode === 'grid_scatter') {
      const grid = resolveGrid(spec, this.branches);
      const features = sizeOf(shapes[0] as readonly number[]);
      const cells = grid.gridRows * grid.gridCols * grid.gridLayers;
      this.placement = {
        positions: 1,
        rowWidth: cells * features,
        widths: shapes.map(() => features),
        offsets: grid.positions.map((p) => (p.row * grid.gridCols * grid.gridLayers + p.col * grid.gridLayers + p.layer) * features),
      };
      this.outputShape = [cells, features];
      this.spec = { ...resolved, ...grid };
    } else {
      this.outputShape = [...expectEqualShapes(mode, this.branches)];
      if (mode === 'filter') {
        const temperature = spec.temperature ?? 1;
        if (!(temperature > 0) || !Number.isFinite(temperature)) throw specError('parallel', `temperature must be a positive number, got ${temperature}`);
        this.temperature = temperature;
        const n = this.branches.length;
        this.gateKernel = makeParam('gate.kernel', [this.inSize, n], fillNormal(rng, new Float32Array(this.inSize * n), Math.sqrt(2 / this.inSize)));
        this.gateBias = makeParam('gate.bias', [n]);
        this.spec = { ...resolved, temperature };
      } else {
        this.spec = resolved;
      }
    }
  }

  params(): Param[] {
    const own = this.branches.flatMap((b, i) => prefixParams(`branch.${i}`, b.params()));
    return this.gateKernel && this.gateBias ? [...own, this.gateKernel, this.gateBias] : own;
  }

  children(): Layer[] {
    return [...this.branches];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('parallel', x, this.inputShape);
    const batch = x.shape[0] as number;
    const outs = this.branches.map((b) => b.forward(x, ctx).data);
    const size = sizeOf(this.outputShape);
    const y = new Float32Array(batch * size);
    if (this.placement) {
      outs.forEach((out, b) => scatter(this.placement as Placement, b, out, y, batch));
    } else if (this.mode === 'filter') {
      this.weights = this.gateWeights(x.data, batch, ctx);
      const n = this.branches.length;
      for (let s = 0; s < batch; s++) {
        for (let b = 0; b < n; b++) {
          const w = this.weights[s * n + b] as number;
          const out = outs[b] as Float32Array;
          for (let i = s * size; i < (s + 1) * size; i++) y[i] = (y[i] as number) + w * (out[i] as number);
        }
      }
    } else {
      const scale = this.mode === 'avg' ? 1 / outs.length : 1;
      for (const out of outs) for (let i = 0; i < y.length; i++) y[i] = (y[i] as number) + scale * (out[i] as number);
    }
    this.x = x.data;
    this.outs = outs;
    return { data: y, shape: [batch, ...this.outputShape] };
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    const batch = dy.shape[0] as number;
    const dx = new Float32Array(batch * this.inSize);
    const dOuts = this.branchGrads(dy.data, batch, dx, ctx);
    this.branches.forEach((branch, b) => {
      const dOut = { data: dOuts[b] as Float32Array, shape: [batch, ...branch.outputShape] };
      const g = branch.backward(dOut, ctx).data;
      for (let i = 0; i < dx.length; i++) dx[i] = (dx[i] as number) + (g[i] as number);
    });
    return { data: dx, shape: [batch, ...this.inputShape] };
  }

  /** dL/d(branch output) for each branch; filter also trains its gate and adds the gate's input gradient into dx. */
  private branchGrads(dy: Float32Array, batch: number, dx: Float32Array, ctx: RunContext): Float32Array[] {
    const placement = this.placement;
    if (placement) return this.branches.map((_, b) => gather(placement, b, dy, batch));
    if (this.mode !== 'filter') {
      // add: every branch gets dy itself (a copy: a branch may work in its gradient's array); avg: dy / n.
      if (this.mode === 'add') return this.branches.map(() => dy.slice());
      const scale = 1 / this.branches.length;
      return this.branches.map(() => {
        const out = new Float32Array(dy.length);
        for (let i = 0; i < dy.length; i++) out[i] = (dy[i] as number) * scale;
        return out;
      });
    }
    const n = this.branches.length;
    const size = sizeOf(this.outputShape);
    const dOuts = this.branches.map(() => new Float32Array(batch * size));
    const dLogits = new Float32Array(batch * n);
    for (let s = 0; s < batch; s++) {
      // y = Σ w_b·out_b: dout_b = w_b·dy, dw_b = ⟨dy, out_b⟩, then back through softmax(logits / T)
      const dw = new Float64Array(n);
      let weighted = 0;
      for (let b = 0; b < n; b++) {
        const w = this.weights[s * n + b] as number;
        const out = this.outs[b] as Float32Array;
        const dOut = dOuts[b] as Float32Array;
        let dot = 0;
        for (let i = s * size; i < (s + 1) * size; i++) {
          dot += (dy[i] as number) * (out[i] as number);
          dOut[i] = w * (dy[i] as number);
        }
        dw[b] = dot;
        weighted += w * dot;
      }
      for (let b = 0; b < n; b++) {
        const w = this.weights[s * n + b] as number;
        dLogits[s * n + b] = (w * ((dw[b] as number) - weighted)) / this.temperature;
      }
    }
    const kernel = this.gateKernel as Param;
    const bias = this.gateBias as Param;
    for (let s = 0; s < batch; s++) for (let b = 0; b < n; b++) bias.grad[b] = (bias.grad[b] as number) + (dLogits[s * n + b] as number);
    ctx.backend.matmul({ a: this.x, b: dLogits, c: kernel.grad, m: this.inSize, n, k: batch, transA: true, accumulate: true });
    ctx.backend.matmul({ a: dLogits, b: kernel.value, c: dx, m: batch, n: this.inSize, k: n, transB: true, accumulate: true });
    return dOuts;
  }

  /** softmax((x·K + b)/T) per sample: the filter's learned branch weights. */
  private gateWeights(x: Float32Array, batch: number, ctx: RunContext): Float32Array {
    const n = this.branches.length;
    const kernel = this.gateKernel as Param;
    const bias = this.gateBias as Param;
    const logits = new Float32Array(batch * n);
    for (let s = 0; s < batch; s++) logits.set(bias.value, s * n);
    ctx.backend.matmul({ a: x, b: kernel.value, c: logits, m: batch, n, k: this.inSize, accumulate: true });
    for (let s = 0; s < batch; s++) {
      let max = -Infinity;
      for (let b = 0; b < n; b++) max = Math.max(max, (logits[s * n + b] as number) / this.temperature);
      let total = 0;
      for (let b = 0; b < n; b++) {
        const e = Math.exp((logits[s * n + b] as number) / this.temperature - max);
        logits[s * n + b] = e;
        total += e;
      }
      for (let b = 0; b < n; b++) logits[s * n + b] = (logits[s * n + b] as number) / total;
    }
    return logits;
  }
}

/** Concatenation along the last axis when the branches agree on every other axis, else of the flattened outputs. */
function concatPlacement(shapes: readonly (readonly number[])[]): { placement: Placement; outputShape: number[] } {
  const first = shapes[0] as readonly number[];
  const lastAxis = first.length > 0 && shapes.every((s) => s.length === first.length && sameShape(s.slice(0, -1), first.slice(0, -1)));
  const widths = lastAxis ? shapes.map((s) => s[s.length - 1] as number) : shapes.map(sizeOf);
  const offsets: number[] = [];
  let rowWidth = 0;
  for (const w of widths) {
    offsets.push(rowWidth);
    rowWidth += w;
  }
  const prefix = lastAxis ? first.slice(0, -1) : [];
  return { placement: { positions: sizeOf(prefix), rowWidth, widths, offsets }, outputShape: [...prefix, rowWidth] };
}

/** Writes branch b's output into its columns of the combined output. */
function scatter(p: Placement, b: number, out: Float32Array, y: Float32Array, batch: number): void {
  const w = p.widths[b] as number;
  const offset = p.offsets[b] as number;
  for (let r = 0; r < batch * p.positions; r++) y.set(out.subarray(r * w, (r + 1) * w), r * p.rowWidth + offset);
}

/** Reads branch b's columns back out of the combined gradient. */
function gather(p: Placement, b: number, dy: Float32Array, batch: number): Float32Array {
  const w = p.widths[b] as number;
  const offset = p.offsets[b] as number;
  const out = new Float32Array(batch * p.positions * w);
  for (let r = 0; r < batch * p.positions; r++) out.set(dy.subarray(r * p.rowWidth + offset, r * p.rowWidth + offset + w), r * w);
  return out;
}

function expectEqualShapes(mode: CombineMode, branches: readonly Layer[]): readonly number[] {
  const first = (branches[0] as Layer).outputShape;
  branches.forEach((b, i) => {
    if (!sameShape(b.outputShape, first)) {
      throw new LoomError(
        'LOOM_ERR_SHAPE',
        `parallel (${mode}): branch outputs must have equal shapes, but branch 0 (${(branches[0] as Layer).spec.type}) gives ${fmt(first)} and branch ${i} (${b.spec.type}) gives ${fmt(b.outputShape)}`,
      );
    }
  });
  return first;
}

interface ResolvedGrid {
  gridRows: number;
  gridCols: number;
  gridLayers: number;
  positions: GridPlacement[];
}

/** Fills grid_scatter defaults and checks that every branch has the same size and its own cell inside the grid. */
function resolveGrid(spec: ParallelSpec, branches: readonly Layer[]): ResolvedGrid {
  const n = branches.length;
  const gridCols = spec.gridCols ?? Math.ceil(Math.sqrt(n));
  const gridRows = spec.gridRows ?? Math.ceil(n / gridCols);
  const gridLayers = spec.gridLayers ?? 1;
  for (const [name, v] of [['gridRows', gridRows], ['gridCols', gridCols], ['gridLayers', gridLayers]] as const) {
    if (!Number.isInteger(v) || v < 1) throw specError('parallel (grid_scatter)', `${name} must be a positive integer, got ${v}`);
  }
  const positions = spec.positions
    ? spec.positions.map((p) => ({ row: p.row, col: p.col, layer: p.layer ?? 0 }))
    : branches.map((_, i) => ({ row: Math.floor(i / gridCols), col: i % gridCols, layer: 0 }));
  if (positions.length !== n) throw specError('parallel (grid_scatter)', `${n} branches need ${n} positions, got ${positions.length}`);
  const taken = new Map<number, number>();
  positions.forEach((p, i) => {
    const inside = (v: number, max: number): boolean => Number.isInteger(v) && v >= 0 && v < max;
    if (!inside(p.row, gridRows) || !inside(p.col, gridCols) || !inside(p.layer, gridLayers)) {
      throw specError('parallel (grid_scatter)', `branch ${i} position (${p.row}, ${p.col}, ${p.layer}) is outside the ${gridRows}×${gridCols}×${gridLayers} grid`);
    }
    const cell = (p.row * gridCols + p.col) * gridLayers + p.layer;
    const other = taken.get(cell);
    if (other !== undefined) throw specError('parallel (grid_scatter)', `branches ${other} and ${i} are both placed at (${p.row}, ${p.col}, ${p.layer})`);
    taken.set(cell, i);
  });
  const features = sizeOf((branches[0] as Layer).outputShape);
  branches.forEach((b, i) => {
    if (sizeOf(b.outputShape) !== features) {
      throw new LoomError(
        'LOOM_ERR_SHAPE',
        `parallel (grid_scatter): every branch must output the same number of values, but branch 0 (${(branches[0] as Layer).spec.type}) gives ${fmt((branches[0] as Layer).outputShape)} and branch ${i} (${b.spec.type}) gives ${fmt(b.outputShape)}`,
      );
    }
  });
  return { gridRows, gridCols, gridLayers, positions };
}

export const parallelKind: LayerKind<ParallelSpec> = {
  type: 'parallel',
  doc: 'Runs every branch on the same input and combines the outputs: concat, add, avg, grid_scatter (into grid cells) or filter (a trained softmax gate).',
  fields: [
    { name: 'branches', type: 'layers', doc: 'the branch layer specs; each sees the same input', required: true },
    { name: 'combine', type: 'enum', doc: 'how branch outputs are combined', values: COMBINE_MODES, default: 'concat' },
    { name: 'gridRows', type: 'integer', doc: 'grid_scatter: rows of the output grid (default ⌈n/cols⌉)' },
    { name: 'gridCols', type: 'integer', doc: 'grid_scatter: columns of the output grid (default ⌈√n⌉)' },
    { name: 'gridLayers', type: 'integer', doc: 'grid_scatter: layers per grid cell', default: 1 },
    { name: 'positions', type: 'array', doc: 'grid_scatter: {row, col, layer} per branch (default row-major)' },
    { name: 'temperature', type: 'number', doc: 'filter: softmax temperature of the gate', default: 1 },
  ],
  create: (spec: ParallelSpec, inputShape: readonly number[], rng: Rng, createChild?: CreateLayer) => {
    if (!createChild) throw specError('parallel', 'branches are built through createLayer (layers/registry.ts), which supplies the child factory');
    return new Parallel(spec, inputShape, rng, createChild);
  },
  onnx: emitParallel,
  loom: {
    type: 'parallel',
    read: readLoomParallel,
    write: (layer, { children }) => {
      const { spec } = layer;
      const mode = spec.combine;
      return {
        temperature: mode === 'filter' ? spec.temperature : undefined,
        branches: children,
        combine_mode: mode,
        grid_positions: spec.positions?.map((p, i) => ({ branch_index: i, target_row: p.row, target_col: p.col, target_layer: p.layer })),
        grid_output_rows: spec.gridRows, grid_output_cols: spec.gridCols, grid_output_layers: spec.gridLayers,
      };
    },
    // LOOM never saved a filter gate (without one its gate is uniform): Loom extension fields
    weights: () => [
      weightField('gate.kernel', 'filter_gate_kernel', false, { optional: true }),
      weightField('gate.bias', 'filter_gate_bias', false, { optional: true }),
    ],
  },
};

/** LOOM's parallel: branches read for the same input; LOOM combines branch outputs as flat vectors. */
function readLoomParallel(def: LoomLayerDef, shape: readonly number[] | null, ctx: LoomReadContext): LoomCoreRead {
  const { where } = ctx;
  const defs = (listField(def, 'branches', where) ?? []) as LoomLayerDef[];
  if (defs.length === 0) throw modelFileError(`${where}: a parallel needs branches`);
  const first = ctx.readChild(defs[0] as LoomLayerDef, shape, `${where} branch 0`);
  const input = shape ?? first.inputShape;
  const branches = defs.map((b, i) => {
    const read = i === 0 ? first : ctx.readChild(b, input, `${where} branch ${i}`);
    return read.outputShape.length === 1 ? read.spec : appendFlatten(read.spec);
  });
  const mode = def.combine_mode === undefined || def.combine_mode === '' ? 'concat' : def.combine_mode === 'average' ? 'avg' : def.combine_mode;
  const spec: Record<string, unknown> = { type: 'parallel', branches, combine: mode };
  if (mode === 'grid_scatter') {
    const rows = intField(def, 'grid_output_rows', where);
    const cols = intField(def, 'grid_output_cols', where);
    const layers = intField(def, 'grid_output_layers', where);
    if (rows !== undefined) spec.gridRows = rows;
    if (cols !== undefined) spec.gridCols = cols;
    if (layers !== undefined) spec.gridLayers = layers;
    const positions = listField(def, 'grid_positions', where);
    if (positions) {
      const byBranch = new Map<number, { row: number; col: number; layer: number }>();
      for (const p of positions as Record<string, unknown>[]) {
        const idx = Number(p.branch_index ?? 0);
        byBranch.set(idx, { row: Number(p.target_row ?? 0), col: Number(p.target_col ?? 0), layer: Number(p.target_layer ?? 0) });
      }
      spec.positions = branches.map((_, i) => {
        const p = byBranch.get(i);
        if (!p) throw modelFileError(`${where}: grid_positions has no entry for branch ${i}`);
        return p;
      });
    }
  } else if (mode === 'filter') {
    spec.temperature = numField(def, 'temperature', where) ?? 1;
  }
  // the spec is checked when the layer is built (readLayerDef creates it)
  return { spec: spec as unknown as LayerSpec, need: [...input] };
}

/** A branch that is not flat gets a trailing flatten (inside the reshape adapter's sequential, if it has one). */
function appendFlatten(spec: LayerSpec): LayerSpec {
  const steps = isAdapterWrap(spec) ? (spec as SequentialSpec).layers : [spec];
  return typedSpec<SequentialSpec>({ type: 'sequential', layers: [...steps, { type: 'flatten' }] });
}

/** A sequential that reading made around a core (reshape in front); its steps are what `coreLayer` strips. */
function isAdapterWrap(spec: LayerSpec): boolean {
  if (spec.type !== 'sequential') return false;
  const steps = (spec as SequentialSpec).layers ?? [];
  return steps.length === 2 && steps[0]?.type === 'reshape';
}

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** Every branch on the same input, combined as Loom's Parallel does for each combine mode. */
function emitParallel(layer: Layer<ParallelSpec>, x: string, g: OnnxGraph<Layer>): string {
  const branches = layer.children?.() ?? [];
  const outs = branches.map((b) => g.emit(b, x));
  const shapes = branches.map((b) => b.outputShape);
  const mode = layer.spec.combine ?? 'concat';
  switch (mode) {
    case 'concat': {
      // Along the last axis when the branches agree on every other axis, else the flattened outputs.
      const first = shapes[0] as readonly number[];
      const lastAxis = first.length > 0 && shapes.every((s) => s.length === first.length && same(s.slice(0, -1), first.slice(0, -1)));
      if (lastAxis) return g.op('Concat', outs, { axis: int(-1) });
      return g.op('Concat', outs.map((o) => g.op('Flatten', [o], { axis: int(1) })), { axis: int(1) });
    }
    case 'add':
      return outs.length === 1 ? (outs[0] as string) : g.op('Sum', outs);
    case 'avg':
      return g.op('Mul', [outs.length === 1 ? (outs[0] as string) : g.op('Sum', outs), g.scalar('avg', 1 / outs.length)]);
    case 'grid_scatter':
      return gridScatter(layer, outs, x, g);
    case 'filter':
      return filter(layer, outs, x, g);
  }
}

/** Each branch's flattened output in its grid cell ([N, cells, features]); empty cells are zeros. */
function gridScatter(layer: Layer<ParallelSpec>, outs: readonly string[], x: string, g: OnnxGraph<Layer>): string {
  const [cells, features] = layer.outputShape as [number, number];
  const { gridCols = 1, gridLayers = 1, positions = [] } = layer.spec;
  const byCell = new Map<number, string>();
  positions.forEach((p, b) => byCell.set((p.row * gridCols + p.col) * gridLayers + (p.layer ?? 0), outs[b] as string));
  let zeros: string | undefined;
  const zeroCell = (): string => {
    if (zeros) return zeros;
    // [N, 1, features] zeros: the batch from the input's shape.
    const batch = g.op('Slice', [g.op('Shape', [x]), g.int64('starts', [0]), g.int64('ends', [1])]);
    const shape = g.op('Concat', [batch, g.int64('cell', [1, features])], { axis: int(0) });
    zeros = g.op('ConstantOfShape', [shape]);
    return zeros;
  };
  const parts = Array.from({ length: cells }, (_, c) => {
    const out = byCell.get(c);
    return out === undefined ? zeroCell() : g.reshape(out, [1, features]);
  });
  return parts.length === 1 ? (parts[0] as string) : g.op('Concat', parts, { axis: int(1) });
}

/** y = Σ_b w_b·out_b with w = softmax((flatten(x)·K + b)/T), the trained gate. */
function filter(layer: Layer<ParallelSpec>, outs: readonly string[], x: string, g: OnnxGraph<Layer>): string {
  const n = outs.length;
  const flat = layer.inputShape.length === 1 ? x : g.op('Flatten', [x], { axis: int(1) });
  const logits = g.affine(flat, g.paramOf(layer, 'gate.kernel'), g.paramOf(layer, 'gate.bias'));
  const scaled = g.op('Div', [logits, g.scalar('gate_temperature', layer.spec.temperature ?? 1)]);
  const weights = g.op('Softmax', [scaled], { axis: int(-1) });
  const rank = layer.outputShape.length;
  // Stack branches to [N, n, ...out] and weights to [N, n, 1, …, 1], multiply, sum over the branch axis.
  const stacked = g.op('Concat', outs.map((o) => g.op('Unsqueeze', [o, g.int64('axes', [1])])), { axis: int(1) });
  const w = g.reshape(weights, [n, ...new Array<number>(rank).fill(1)]);
  return g.op('ReduceSum', [g.op('Mul', [stacked, w]), g.int64('axes', [1])], { keepdims: int(0) });
}
