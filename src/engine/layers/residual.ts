import { LoomError, modelFileError, shapeError, specError } from '../errors.js';
import { type OnnxGraph } from '../io/onnx/graph.js';
import type { Rng } from '../rng.js';
import { expectSampleShape, sameShape, type Tensor } from '../tensor.js';
import { typedSpec } from '../io/loom-codec.js';
import type { Layer, LayerKind, Param, RunContext } from './types.js';

export interface ResidualSpec {
  readonly type: 'residual';
  /** Which earlier input is added: 1 = the input of the previous layer in the chain, 2 = the one before, … */
  readonly back?: number;
}

/**
 * y = x + skip, where skip is the input of the layer `back` positions earlier in the same chain (as LOOM's
 * GenericForwardPass). The chain (Network or Sequential) supplies the skip through `forwardSkip` and routes
 * `skipGrad` back to that position; LOOM's ForwardCPU instead applied ScaledReLU here.
 */
class Residual implements Layer<ResidualSpec> {
  readonly spec: Required<ResidualSpec>;
  readonly outputShape: readonly number[];
  readonly skipBack: number;
  private dy: Tensor | null = null;

  constructor(spec: ResidualSpec, readonly inputShape: readonly number[]) {
    const back = spec.back ?? 1;
    if (!Number.isInteger(back) || back < 1) throw specError('residual', `back must be a positive integer, got ${back}`);
    this.spec = { type: 'residual', back };
    this.skipBack = back;
    this.outputShape = [...inputShape];
  }

  params(): Param[] {
    return [];
  }

  forward(_x: Tensor, _ctx: RunContext): Tensor {
    throw new LoomError(
      'LOOM_ERR_SPEC',
      `residual: needs the input of the layer ${this.spec.back} position(s) back, so it only runs inside a chain (a Network or a Sequential), not on its own or as a Parallel branch`,
    );
  }

  forwardSkip(x: Tensor, skip: Tensor, _ctx: RunContext): Tensor {
    expectSampleShape('residual', x, this.inputShape);
    if (!sameShape(skip.shape, x.shape)) {
      throw shapeError(`residual (back ${this.spec.back}): the skip input must match the layer input`, x.shape.slice(1), skip.shape.slice(1));
    }
    const a = x.data;
    const b = skip.data;
    const y = new Float32Array(a.length);
    for (let i = 0; i < y.length; i++) y[i] = (a[i] as number) + (b[i] as number);
    return { data: y, shape: [...x.shape] };
  }

  /** dx and the skip's gradient are both dy itself, shared as Flatten shares it: gradients are read, never written. */
  backward(dy: Tensor, _ctx: RunContext): Tensor {
    this.dy = dy;
    return dy;
  }

  skipGrad(): Tensor {
    if (!this.dy) throw new LoomError('LOOM_ERR_USAGE', 'residual: skipGrad() before backward()');
    return this.dy;
  }
}

export const residualKind: LayerKind<ResidualSpec> = {
  type: 'residual',
  doc: 'Adds the input of the layer `back` positions earlier in the same chain: y = x + skip (shapes must match).',
  fields: [{ name: 'back', type: 'integer', doc: 'how many positions back the skip comes from (1 = the previous layer\'s input)', default: 1 }],
  create: (spec: ResidualSpec, inputShape: readonly number[], _rng: Rng) => new Residual(spec, inputShape),
  onnx: emitResidual,
  // LOOM's residual adds the previous layer's input; written as the type alone
  loom: {
    type: 'residual',
    read(_def, shape, { where }) {
      if (!shape) throw modelFileError(`${where}: a residual cannot be the first layer`);
      return { spec: typedSpec<ResidualSpec>({ type: 'residual', back: 1 }), need: [...shape] };
    },
  },
};

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

function emitResidual(_layer: Layer<ResidualSpec>, x: string, g: OnnxGraph<Layer>, skip?: string): string {
  if (skip === undefined) throw specError('onnx export: residual', 'needs the skip input of its chain');
  return g.op('Add', [x, skip]);
}
