import { Chain } from '../chain.js';
import { type OnnxGraph } from '../io/onnx/graph.js';
import { LoomError, modelFileError, specError } from '../errors.js';
import type { Rng } from '../rng.js';
import { expectSampleShape, sameShape, type Tensor } from '../tensor.js';
import { listField, typedSpec, type LoomLayerDef } from '../io/loom-codec.js';
import { prefixParams, type CreateLayer, type Layer, type LayerKind, type LayerSpec, type Param, type RunContext } from './types.js';

export interface SequentialSpec {
  readonly type: 'sequential';
  /** Steps, run in order; each is built for the previous one's output shape. */
  readonly layers: readonly LayerSpec[];
}

/** Formats a shape for messages. */
const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/**
 * Steps run one after another through the same Chain a Network uses, so Residual steps (skips inside the
 * sequence) and nesting to any depth work, with exact gradients. LOOM's Sequential ran only Dense and Softmax
 * steps and had no real backward.
 */
class Sequential implements Layer<SequentialSpec> {
  readonly spec: SequentialSpec;
  readonly outputShape: readonly number[];
  private readonly steps: readonly Layer[];
  private readonly chain: Chain;

  constructor(spec: SequentialSpec, readonly inputShape: readonly number[], rng: Rng, createLayer: CreateLayer) {
    if (!Array.isArray(spec.layers) || spec.layers.length === 0) {
      throw specError('sequential', `layers must be a non-empty array of layer specs, got ${JSON.stringify(spec.layers)}`);
    }
    const steps: Layer[] = [];
    const stepInputs: (readonly number[])[] = [];
    let shape: readonly number[] = inputShape;
    spec.layers.forEach((stepSpec: LayerSpec, i: number) => {
      let step: Layer;
      try {
        step = createLayer(stepSpec, shape, rng);
      } catch (err) {
        if (err instanceof Error) err.message = `sequential step ${i} (${stepSpec?.type}): ${err.message}`;
        throw err;
      }
      stepInputs.push(shape);
      checkSkip(step, i, stepInputs);
      steps.push(step);
      shape = step.outputShape;
    });
    this.steps = steps;
    this.outputShape = [...shape];
    this.spec = { type: 'sequential', layers: steps.map((s) => s.spec) };
    this.chain = new Chain(steps.map((layer) => ({ layer, disabled: false })));
  }

  params(): Param[] {
    return this.steps.flatMap((step, i) => prefixParams(`step.${i}`, step.params()));
  }

  children(): Layer[] {
    return [...this.steps];
  }

  forward(x: Tensor, ctx: RunContext): Tensor {
    expectSampleShape('sequential', x, this.inputShape);
    return this.chain.forward(x, ctx);
  }

  backward(dy: Tensor, ctx: RunContext): Tensor {
    return this.chain.backward(dy, ctx);
  }
}

/** A skip layer must reach an existing earlier step whose input has its own input's shape: caught at build time. */
function checkSkip(step: Layer, i: number, stepInputs: readonly (readonly number[])[]): void {
  if (step.skipBack === undefined) return;
  const from = i - step.skipBack;
  const skipShape = stepInputs[from];
  if (from < 0 || !skipShape) {
    throw specError(`sequential step ${i} (${step.spec.type})`, `back ${step.skipBack} reaches before the first step of the sequence`);
  }
  const own = stepInputs[i] as readonly number[];
  if (!sameShape(skipShape, own)) {
    throw new LoomError(
      'LOOM_ERR_SHAPE',
      `sequential step ${i} (${step.spec.type}): the skip from step ${from} has shape ${fmt(skipShape)} but the step's input is ${fmt(own)}`,
    );
  }
}

export const sequentialKind: LayerKind<SequentialSpec> = {
  type: 'sequential',
  doc: 'Runs its steps in order (each built for the previous output shape); Residual steps and nesting work inside.',
  fields: [{ name: 'layers', type: 'layers', doc: 'the steps, in order', required: true }],
  create: (spec: SequentialSpec, inputShape: readonly number[], rng: Rng, createChild?: CreateLayer) => {
    if (!createChild) throw specError('sequential', 'steps are built through createLayer (layers/registry.ts), which supplies the child factory');
    return new Sequential(spec, inputShape, rng, createChild);
  },
  onnx: emitSequential,
  // LOOM keeps a sequential's steps in "branches"
  loom: {
    type: 'sequential',
    read(def, shape, ctx) {
      const { where } = ctx;
      const steps = (listField(def, 'branches', where) ?? []) as LoomLayerDef[];
      if (steps.length === 0) throw modelFileError(`${where}: a sequential needs branches (its steps)`);
      let running = shape;
      let need: readonly number[] | null = null;
      const layers = steps.map((step, i) => {
        const read = ctx.readChild(step, running, `${where} step ${i}`);
        need ??= read.inputShape;
        running = read.outputShape;
        return read.spec;
      });
      return { spec: typedSpec<SequentialSpec>({ type: 'sequential', layers }), need: need ?? [] };
    },
    write: (_layer, { children }) => ({ branches: children }),
  },
};

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

function emitSequential(layer: Layer<SequentialSpec>, x: string, g: OnnxGraph<Layer>): string {
  return g.emitChain(layer.children?.() ?? [], x);
}
