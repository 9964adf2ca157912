import type { Layer, LayerKind, LayerSpec } from './types.js';
import type { Rng } from '../rng.js';
import { specError } from '../errors.js';
import { denseKind } from './dense.js';
import { conv2dKind } from './conv2d.js';
import { conv1dKind } from './conv1d.js';
import { mhaKind } from './mha.js';
import { rnnKind } from './rnn.js';
import { lstmKind } from './lstm.js';
import { softmaxKind } from './softmax.js';
import { layerNormKind } from './layernorm.js';
import { rmsNormKind } from './rmsnorm.js';
import { residualKind } from './residual.js';
import { swigluKind } from './swiglu.js';
import { embeddingKind } from './embedding.js';
import { parallelKind } from './parallel.js';
import { sequentialKind } from './sequential.js';
import { flattenKind } from './flatten.js';
import { poolKind } from './pool.js';
import { reshapeKind } from './reshape.js';
import { dropoutKind } from './dropout.js';
import { randomShiftKind } from './random-shift.js';
import { randomRotationKind } from './random-rotation.js';
import { randomElasticKind } from './random-elastic.js';

/**
 * The one list of layer types. Forward/backward (the layer itself), init, serialization, blueprints, the
 * architecture generator and the dashboard all look kinds up here. Adding a type: one file, one line below.
 */
const allKinds = (): readonly LayerKind<any>[] => [
  denseKind,
  conv2dKind,
  conv1dKind,
  mhaKind,
  rnnKind,
  lstmKind,
  softmaxKind,
  layerNormKind,
  rmsNormKind,
  residualKind,
  swigluKind,
  embeddingKind,
  parallelKind,
  sequentialKind,
  flattenKind,
  poolKind,
  reshapeKind,
  dropoutKind,
  randomShiftKind,
  randomRotationKind,
  randomElasticKind,
];

let registry: ReadonlyMap<string, LayerKind> | undefined;

export function layerRegistry(): ReadonlyMap<string, LayerKind> {
  registry ??= new Map(allKinds().map((k) => [k.type, k]));
  return registry;
}

export const layerTypes = (): string[] => [...layerRegistry().keys()];

export function layerKind(type: string): LayerKind {
  const kind = layerRegistry().get(type);
  if (!kind) throw specError('layer', `unknown layer type "${type}" (known: ${layerTypes().join(', ')})`);
  return kind;
}

/** Builds any layer from its JSON spec for a per-sample input shape (used by networks, Parallel, Sequential and loaders). */
export function createLayer(spec: LayerSpec, inputShape: readonly number[], rng: Rng): Layer {
  if (!spec || typeof spec !== 'object' || typeof spec.type !== 'string') {
    throw specError('layer', `a layer spec needs a string "type", got ${JSON.stringify(spec)}`);
  }
  return layerKind(spec.type).create(spec, inputShape, rng, createLayer);
}
