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
