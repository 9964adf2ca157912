import { dataError, specError } from '../errors.js';
import { int, type OnnxGraph } from '../io/onnx/graph.js';
import { fillUniform, type Rng } from '../rng.js';
import { expectSampleShape, sizeOf, type Tensor } from '../tensor.js';
import { flatNeed, intField, requireInt, typedSpec, weightField } from '../io/loom-codec.js';
import { makeParam, type Layer, type LayerKind, type Param, type RunContext } from './types.js';

export interface EmbeddingSpec {
  readonly type: 'embedding';
  /** Number of token ids: valid ids are 0 … vocab−1. */
  readonly vocab: number;
  /** Length of each embedding vector. */
  readonly dim: number;
}

/**
 * Token ids (stored as floats) → rows of a [vocab][dim] table: [seq] → [seq, dim]. An id that is not an integer
 * in range throws (LOOM silently produced zeros). Ids have no gradient: the input gradient is zeros.
 */
class Embedding implements Layer<EmbeddingSpec> {
  readonly spec: EmbeddingSpec;
  readonly outputShape: readonly number[];
  readonly table: Param;
  private ids: Int32Array = new Int32Array(0);

  constructor(spec: EmbeddingSpec, readonly inputShape: readonly number[], rng: Rng) {
    const { vocab, dim } = spec;
    if (!Number.isInteger(vocab) || vocab < 1) throw specError('embedding', `vocab must be a positive integer, got ${vocab}`);
    if (!Number.isInteger(dim) || dim < 1) throw specError('embedding', `dim must be a positive integer, got ${dim}`);
    if (inputShape.length === 0 || sizeOf(inputShape) === 0) throw specError('embedding', `input shape [${inputShape.join(', ')}] holds no token ids`);
    this.spec = { type: 'embedding', vocab, dim };
    this.outputShape = [...inputShape, dim];
    // LOOM's init: U(−1, 1)/√dim
    this.table = makeParam('table', [vocab, dim], fillUniform(rng, new Float32Array(vocab * dim), 1 / Math.sqrt(dim)));
  }

  params(): Param[] {
    return [this.table];
  }

  forward(x: Tensor, _ctx: RunContext): Tensor {
    expectSampleShape('embedding', x, this.inputShape);
    const { vocab, dim } = this.spec;
    const perSample = sizeOf(this.inputShape);
    const ids = new Int32Array(x.data.length);
    const y = new Float32Array(x.data.length * dim);
    for (let i = 0; i < ids.length; i++) {
      const v = x.data[i] as number;
      if (!Number.isInteger(v) || v < 0 || v >= vocab) {
        throw dataError(
          `embedding: token id ${v} at position ${i % perSample} of sample ${Math.floor(i / perSample)} is not an integer in [0, ${vocab})`,
        );
      }
      ids[i] = v;
      y.set(this.table.value.subarray(v * dim, (v + 1) * dim), i * dim);
    }
    this.ids = ids;
    return { data: y, shape: [x.shape[0] as number, ...this.outputShape] };
  }

  backward(dy: Tensor, _ctx: RunContext): Tensor {
    const dim = this.spec.dim;
    const grad = this.table.grad;
    for (let i = 0; i < this.ids.length; i++) {
      const row = (this.ids[i] as number) * dim;
      for (let j = 0; j < dim; j++) grad[row + j] = (grad[row + j] as number) + (dy.data[i * dim + j] as number);
    }
    return { data: new Float32Array(this.ids.length), shape: [dy.shape[0] as number, ...this.inputShape] };
  }
}

export const embeddingKind: LayerKind<EmbeddingSpec> = {
  type: 'embedding',
  doc: 'Looks up a learned vector per token id: [seq] ids → [seq, dim]; ids must be integers in [0, vocab).',
  fields: [
    { name: 'vocab', type: 'integer', doc: 'number of token ids', required: true },
    { name: 'dim', type: 'integer', doc: 'embedding width', required: true },
  ],
  create: (spec: EmbeddingSpec, inputShape: readonly number[], rng: Rng) => new Embedding(spec, inputShape, rng),
  onnx: emitEmbedding,
  loom: {
    type: 'embedding',
    read(def, shape, ctx) {
      const { where } = ctx;
      const length = intField(def, 'input_length', where);
      const spec = typedSpec<EmbeddingSpec>({ type: 'embedding', vocab: requireInt(def, 'vocab_size', where), dim: requireInt(def, 'embedding_dim', where) });
      return { spec, need: length !== undefined ? [length] : flatNeed(shape, undefined, ctx) };
    },
    write: ({ spec, inputShape }) => ({ vocab_size: spec.vocab, embedding_dim: spec.dim, input_length: sizeOf(inputShape) }),
    // LOOM never saved embeddings: a Loom extension field
    weights: () => [weightField('table', 'embedding_weights')],
  },
  tweenRate: 0.1,
};

// ── ONNX form (io/onnx/graph.ts builds the graph; this kind says which operators it is) ──

/**
 * Row lookup: ids arrive as floats. Loom throws on an id that is not an integer in [0, vocab); ONNX cannot throw,
 * so ids are rounded and clipped into range instead.
 */
function emitEmbedding(layer: Layer<EmbeddingSpec>, x: string, g: OnnxGraph<Layer>): string {
  const vocab = layer.spec.vocab;
  const clipped = g.op('Clip', [g.op('Round', [x]), g.scalar('zero', 0), g.scalar('max_id', vocab - 1)]);
  const ids = g.op('Cast', [clipped], { to: int(7) });
  return g.op('Gather', [g.param(g.paramOf(layer, 'table')), ids], { axis: int(0) });
}
