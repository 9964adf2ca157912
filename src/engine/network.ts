import { Chain, type ChainEntry } from './chain.js';
import { defaultBackend } from './backend/index.js';
import { specError } from './errors.js';
import { createLayer } from './layers/registry.js';
import type { Layer, LayerSpec, Param, RunContext } from './layers/types.js';
import { prefixParams } from './layers/types.js';
import { activationStats, type LayerObserver } from './observe.js';
import { Rng } from './rng.js';
import { expectSampleShape, type Tensor } from './tensor.js';

/** The JSON description of a network: a grid of rows × cols cells, each holding `layersPerCell` layers. */
export interface NetworkSpec {
  /** Per-sample input shape, e.g. [784] or [1, 28, 28] or [seq, dModel]. */
  readonly inputShape: readonly number[];
  readonly rows: number;
  readonly cols: number;
  readonly layersPerCell: number;
  /** In flat order: index = row·cols·layersPerCell + col·layersPerCell + layer. */
  readonly layers: readonly LayerSpec[];
  /** Flat indices of layers that act as the identity. */
  readonly disabled?: readonly number[];
  /** Flat indices of layers whose parameters are never updated. */
  readonly frozen?: readonly number[];
}

export interface GridPosition {
  readonly row: number;
  readonly col: number;
  readonly layer: number;
}

/**
 * A network: layers on a grid, executed in flat order, with a batch dimension everywhere.
 * Built from a spec with a seeded generator, so the same spec and seed give the same weights.
 */
export class Network {
  readonly rows: number;
  readonly cols: number;
  readonly layersPerCell: number;
  readonly layers: readonly Layer[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  modelId = '';
  private readonly entries: ChainEntry[];
  private readonly frozen: Set<number>;
  private readonly chain: Chain;
  private readonly observers: LayerObserver[] = [];

  constructor(spec: NetworkSpec, rng: Rng = new Rng(0)) {
    const { rows, cols, layersPerCell } = spec;
    for (const [name, v] of [['rows', rows], ['cols', cols], ['layersPerCell', layersPerCell]] as const) {
      if (!Number.isInteger(v) || v < 1) throw specError('network', `${name} must be a positive integer, got ${v}`);
    }
    if (spec.layers.length !== rows * cols * layersPerCell) {
      throw specError('network', `${rows}×${cols}×${layersPerCell} grid needs ${rows * cols * layersPerCell} layers, got ${spec.layers.length}`);
    }
    const disabled = new Set(spec.disabled ?? []);
    this.frozen = new Set(spec.frozen ?? []);
    this.inputShape = [...spec.inputShape];
    const layers: Layer[] = [];
    let shape: readonly number[] = this.inputShape;
    spec.layers.forEach((layerSpec, i) => {
      let layer: Layer;
      try {
        layer = createLayer(layerSpec, shape, rng);
      } catch (err) {
        if (err instanceof Error) err.message = `layer ${i} (${layerSpec.type}): ${err.message}`;
        throw err;
      }
      layers.push(layer);
      if (!disabled.has(i)) shape = layer.outputShape;
    });
    this.layers = layers;
    this.outputShape = [...shape];
    this.entries = layers.map((layer, i) => ({ layer, disabled: disabled.has(i) }));
    this.chain = new Chain(this.entries, {
      onForward: (i, layer, _input, output) => this.notify('forward', i, layer, output.data),
      onBackward: (i, layer, _dOut, dInput) => this.notify('backward', i, layer, dInput.data),
    });
    this.rows = rows;
    this.cols = cols;
    this.layersPerCell = layersPerCell;
  }

  /** The resolved spec (every default filled in): rebuilding from it gives the same architecture. */
  get spec(): NetworkSpec {
    const sorted = (xs: Iterable<number>): number[] => [...xs].sort((a, b) => a - b);
    return {
      inputShape: this.inputShape,
      rows: this.rows,
      cols: this.cols,
      layersPerCell: this.layersPerCell,
      layers: this.layers.map((l) => l.spec),
      disabled: sorted(this.entries.flatMap((e, i) => (e.disabled ? [i] : []))),
      frozen: sorted(this.frozen),
    };
  }

  /** Flat index of a grid position. */
  index(row: number, col: number, layer: number): number {
    return row * this.cols * this.layersPerCell + col * this.layersPerCell + layer;
  }

  position(index: number): GridPosition {
    const { cols, layersPerCell } = this;
    return {
      row: Math.floor(index / (cols * layersPerCell)),
      col: Math.floor(index / layersPerCell) % cols,
      layer: index % layersPerCell,
    };
  }

  layerAt(row: number, col: number, layer: number): Layer {
    const l = this.layers[this.index(row, col, layer)];
    if (!l) throw specError('network', `no layer at (${row}, ${col}, ${layer})`);
    return l;
  }

  isFrozen(index: number): boolean {
    return this.frozen.has(index);
  }

  isDisabled(index: number): boolean {
    return this.entries[index]?.disabled ?? false;
  }

  /** Freezes or unfreezes a layer: frozen layers still pass gradients through, but their parameters are not trained. */
  setFrozen(index: number, frozen: boolean): void {
    if (frozen) this.frozen.add(index);
    else this.frozen.delete(index);
  }

  addObserver(observer: LayerObserver): void {
    this.observers.push(observer);
  }

  removeObserver(observer: LayerObserver): void {
    const i = this.observers.indexOf(observer);
    if (i >= 0) this.observers.splice(i, 1);
  }

  /** Every parameter, named `L<index>.<name>`. */
  params(): Param[] {
    return this.layers.flatMap((layer, i) => prefixParams(`L${i}`, layer.params()));
  }

  /** Parameters of layers that are neither frozen nor disabled: what an optimizer updates. */
  trainableParams(): Param[] {
    return this.layers.flatMap((layer, i) =>
      this.frozen.has(i) || this.isDisabled(i) ? [] : prefixParams(`L${i}`, layer.params()),
    );
  }

  paramCount(): number {
    return this.params().reduce((n, p) => n + p.value.length, 0);
  }

  zeroGrad(): void {
    for (const p of this.params()) p.grad.fill(0);
  }

  forward(x: Tensor, ctx: Partial<RunContext> = {}): Tensor {
    expectSampleShape('network input', x, this.inputShape);
    return this.chain.forward(x, withDefaults(ctx));
  }

  /** Backpropagates dL/d(output); parameter gradients are added into each Param.grad. Returns dL/d(input). */
  backward(dy: Tensor, ctx: Partial<RunContext> = {}): Tensor {
    expectSampleShape('network output gradient', dy, this.outputShape);
    return this.chain.backward(dy, withDefaults(ctx));
  }

  private notify(type: 'forward' | 'backward', index: number, layer: Layer, values: Float32Array): void {
    if (this.observers.length === 0) return;
    const pos = this.position(index);
    const event = {
      mode: 'normal' as const,
      type,
      layerIndex: index,
      layerType: layer.spec.type,
      gridRow: pos.row,
      gridCol: pos.col,
      cellLayer: pos.layer,
      modelId: this.modelId,
      stats: activationStats(values),
      values,
    };
    for (const o of this.observers) {
      if (type === 'forward') o.onForward(event);
      else o.onBackward(event);
    }
  }
}

const defaultRng = new Rng(0x10a11);

export function withDefaults(ctx: Partial<RunContext>): RunContext {
  return { training: ctx.training ?? false, rng: ctx.rng ?? defaultRng, backend: ctx.backend ?? defaultBackend(), ...(ctx.inputGrad === false ? { inputGrad: false } : {}) };
}

/** A 1×1 grid holding the given layers in order: the common case. */
export function sequentialNetworkSpec(inputShape: readonly number[], layers: readonly LayerSpec[]): NetworkSpec {
  return { inputShape, rows: 1, cols: 1, layersPerCell: layers.length, layers };
}
