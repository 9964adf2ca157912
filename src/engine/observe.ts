import type { Layer } from './layers/types.js';

/**
 * Observers receive an event after each layer's forward and backward pass, with activation statistics:
 * the hook for consoles, dashboards and recordings. (Blueprints and the stock observers live here too.)
 */
export interface ActivationStats {
  readonly avg: number;
  readonly max: number;
  readonly min: number;
  /** Count of values > 0. */
  readonly active: number;
  readonly total: number;
}

export interface LayerEvent {
  readonly mode: 'normal' | 'step';
  readonly type: 'forward' | 'backward';
  readonly layerIndex: number;
  readonly layerType: string;
  readonly gridRow: number;
  readonly gridCol: number;
  readonly cellLayer: number;
  readonly modelId: string;
  readonly stats: ActivationStats;
  /** Forward: the layer's output. Backward: the gradient with respect to its input. */
  readonly values: Float32Array;
  readonly stepCount?: number;
}

export interface LayerObserver {
  onForward(event: LayerEvent): void;
  onBackward(event: LayerEvent): void;
}

export function activationStats(values: Float32Array): ActivationStats {
  let sum = 0;
  let max = -Infinity;
  let min = Infinity;
  let active = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    sum += v;
    if (v > max) max = v;
    if (v < min) min = v;
    if (v > 0) active++;
  }
  const total = values.length;
  return { avg: total ? sum / total : 0, max: total ? max : 0, min: total ? min : 0, active, total };
}

// ── Blueprints ───────────────────────────────────────────────────────────────────────────────────────────────

/** A layer or a nested sub-layer (Parallel branch, Sequential step) in a blueprint. */
export interface LayerNodeBlueprint {
  readonly type: string;
  readonly activation?: string;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  /** Counted from the layer's real parameter arrays (its children's included). */
  readonly parameters: number;
  readonly children: readonly LayerNodeBlueprint[];
}

export interface LayerBlueprint extends LayerNodeBlueprint {
  readonly index: number;
  readonly gridRow: number;
  readonly gridCol: number;
  readonly cellLayer: number;
  readonly disabled: boolean;
  readonly frozen: boolean;
}

export interface NetworkBlueprint {
  readonly id: string;
  readonly totalLayers: number;
  readonly totalParameters: number;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly layers: readonly LayerBlueprint[];
}

/** What a blueprint reads from a network (Network satisfies it). */
export interface BlueprintSource {
  readonly layers: readonly Layer[];
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  position(index: number): { row: number; col: number; layer: number };
  isDisabled(index: number): boolean;
  isFrozen(index: number): boolean;
}

function nodeBlueprint(layer: Layer): LayerNodeBlueprint {
  const activation = (layer.spec as { activation?: unknown }).activation;
  return {
    type: layer.spec.type,
    ...(typeof activation === 'string' ? { activation } : {}),
    inputShape: [...layer.inputShape],
    outputShape: [...layer.outputShape],
    parameters: layer.params().reduce((n, p) => n + p.value.length, 0),
    children: (layer.children?.() ?? []).map(nodeBlueprint),
  };
}

/**
 * The structure of a network for dashboards and `loom inspect`: every layer with its grid position, shapes and
 * parameter count. Unlike LOOM's (which counted from declared dimensions and got some kinds wrong), counts come
 * from the parameter arrays themselves, so they always sum to the network's real size.
 */
export function networkBlueprint(network: BlueprintSource, modelId: string): NetworkBlueprint {
  const layers = network.layers.map((layer, index): LayerBlueprint => {
    const pos = network.position(index);
    return {
      index,
      gridRow: pos.row,
      gridCol: pos.col,
      cellLayer: pos.layer,
      disabled: network.isDisabled(index),
      frozen: network.isFrozen(index),
      ...nodeBlueprint(layer),
    };
  });
  return {
    id: modelId,
    totalLayers: layers.length,
    totalParameters: layers.reduce((n, l) => n + l.parameters, 0),
    inputShape: [...network.inputShape],
    outputShape: [...network.outputShape],
    layers,
  };
}

// ── Stock observers ──────────────────────────────────────────────────────────────────────────────────────────

const fmt = (v: number): string => (Number.isFinite(v) ? v.toPrecision(4) : String(v));

/** One line per event: `[FWD] model L3 grid[0,0,3] dense: avg=… max=… min=… active=a/n`, plus values when verbose and ≤ 20 of them. */
export function formatLayerEvent(event: LayerEvent, verbose = false): string {
  const { stats } = event;
  const tag = event.type === 'forward' ? 'FWD' : 'BWD';
  const model = event.modelId ? ` ${event.modelId}` : '';
  const step = event.stepCount !== undefined ? ` step=${event.stepCount}` : '';
  let line =
    `[${tag}]${model} L${event.layerIndex} grid[${event.gridRow},${event.gridCol},${event.cellLayer}] ${event.layerType}:` +
    ` avg=${fmt(stats.avg)} max=${fmt(stats.max)} min=${fmt(stats.min)} active=${stats.active}/${stats.total}${step}`;
  if (verbose && event.values.length <= 20) line += ` values=[${Array.from(event.values, fmt).join(', ')}]`;
  return line;
}

/** Writes one line per event through an injectable writer (console.log by default). */
export class ConsoleObserver implements LayerObserver {
  private readonly write: (line: string) => void;
  private readonly verbose: boolean;

  constructor(opts: { write?: (line: string) => void; verbose?: boolean } = {}) {
    this.write = opts.write ?? ((line) => console.log(line));
    this.verbose = opts.verbose ?? false;
  }

  onForward(event: LayerEvent): void {
    this.write(formatLayerEvent(event, this.verbose));
  }

  onBackward(event: LayerEvent): void {
    this.write(formatLayerEvent(event, this.verbose));
  }
}

/** A recorded event: the event without its live buffer, the first values copied, and when it happened. */
export interface RecordedEvent extends Omit<LayerEvent, 'values'> {
  /** The first `RECORDED_VALUES` values (a copy: the live buffer is reused by the next pass). */
  readonly values: number[];
  /** Milliseconds since the recording started. */
  readonly atMs: number;
}

export interface Recording {
  readonly modelId: string;
  /** ISO 8601 time the recording started. */
  readonly recordedAt: string;
  readonly durationSeconds: number;
  readonly totalEvents: number;
  readonly events: readonly RecordedEvent[];
}

export const RECORDED_VALUES = 20;

/** Keeps every event (with its first 20 values) for replay or export. */
export class RecordingObserver implements LayerObserver {
  private events: RecordedEvent[] = [];
  private startedAt = new Date();
  private startMs: number;

  /** `now` (milliseconds) is injectable so durations are testable. */
  constructor(private readonly modelId = '', private readonly now: () => number = () => performance.now()) {
    this.startMs = this.now();
  }

  onForward(event: LayerEvent): void {
    this.record(event);
  }

  onBackward(event: LayerEvent): void {
    this.record(event);
  }

  getRecording(): Recording {
    const first = this.events[0];
    return {
      modelId: this.modelId || (first?.modelId ?? ''),
      recordedAt: this.startedAt.toISOString(),
      durationSeconds: (this.now() - this.startMs) / 1000,
      totalEvents: this.events.length,
      events: [...this.events],
    };
  }

  reset(): void {
    this.events = [];
    this.startedAt = new Date();
    this.startMs = this.now();
  }

  private record(event: LayerEvent): void {
    const { values, ...rest } = event;
    this.events.push({ ...rest, values: Array.from(values.subarray(0, RECORDED_VALUES)), atMs: this.now() - this.startMs });
  }
}
