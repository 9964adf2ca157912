import type { Rng } from '../rng.js';
import { int, type OnnxGraph } from '../io/onnx/graph.js';
import { expectSampleShape, sizeOf, type Tensor } from '../tensor.js';
import type { Layer, LayerKind, Param } from './types.js';

export interface FlattenSpec {
  readonly type: 'flatten';
}

/** Any per-sample shape → [size]. Row-major data is already flat, so forward and backward only relabel the shape. */
class Flatten implements Layer<FlattenSpec> {
  readonly spec: FlattenSpec = { type: 'flatten' };
  readonly outputShape: readonly number[];

  constructor(readonly inputShape: readonly number[]) {
    this.outputShape = [sizeOf(inputShape)];
  }

  params(): Param[] {
    return [];
  }

  forward(x: Tensor): Tensor {
    expectSampleShape('flatten', x, this.inputShape);
    return { data: x.data, shape: [x.shape[0] as number, ...this.outputShape] };
  }

  backward(dy: Tensor): Tensor {
    return { data: dy.data, shape: [dy.shape[0] as number, ...this.inputShape] };
  }
}

export const flattenKind: LayerKind<FlattenSpec> = {
  type: 'flatten',
  doc: 'Reshapes each sample to one vector [size]; no parameters.',
  fields: [],
  create: (_spec: FlattenSpec, inputShape: readonly number[], _rng: Rng) => new Flatten(inputShape),
  onnx: emitFlatten,
  // LOOM has no such layer: written as the type alone, rebuilt from cfg.loomts
  loom: { type: 'flatten' },
};

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

function emitFlatten(_layer: Layer<FlattenSpec>, x: string, g: OnnxGraph<Layer>): string {
  return g.op('Flatten', [x], { axis: int(1) });
}
