import type { Conv2dSpec } from '../engine/layers/conv2d.js';
import type { DenseSpec } from '../engine/layers/dense.js';
import type { DropoutSpec } from '../engine/layers/dropout.js';
import type { PoolSpec } from '../engine/layers/pool.js';
import type { FlattenSpec } from '../engine/layers/flatten.js';
import type { ReshapeSpec } from '../engine/layers/reshape.js';
import type { ParallelSpec } from '../engine/layers/parallel.js';
import type { LayerSpec } from '../engine/layers/types.js';
import { configError } from '../engine/errors.js';
import { Network, sequentialNetworkSpec, type NetworkSpec } from '../engine/network.js';
import { Rng } from '../engine/rng.js';
import { AUGMENTATIONS, DEFAULT_CONV_WIDTH, expectAugmentable, stemLayout, validateConfig, type ArchConfig, type TaskShape } from './arch.js';
import { brainSpec } from './brains.js';

/** The hive: every brain sees the same [seq, dModel] tokens; outputs combined by the config's mode. */
export function hiveSpec(config: ArchConfig): ParallelSpec {
  const p = { dModel: config.dModel, numHeads: config.numHeads, activation: config.activation, initScale: config.initScale };
  const branches = config.brains.map((b) => brainSpec(b, p));
  if (config.combineMode !== 'grid_scatter') return { type: 'parallel', branches, combine: config.combineMode };
  return {
    type: 'parallel',
    branches,
    combine: 'grid_scatter',
    gridRows: config.gridRows,
    gridCols: config.gridCols,
    gridLayers: 1,
    // Brain i sits on cell (i / cols, i % cols), row-major as LOOM's InitDiverseHive.
    positions: branches.map((_, i) => ({ row: Math.floor(i / config.gridCols), col: i % config.gridCols, layer: 0 })),
  };
}

/**
 * Config + task → a 1×1-grid network spec, every layer trainable (nothing frozen, unlike LOOM's tweened hive):
 *
 *   [elastic]  when the config's elastic > 0 (image inputs): each training image warped by a random smooth
 *              displacement field of scale α = elastic pixels (augmentation), identity at evaluation
 *   [rotation] when the config's rotation > 0: each training image turned by up to rotation degrees, likewise
 *   [shift]    when the config's shift > 0: each training image moved by up to shift pixels along height and
 *              width, likewise (AUGMENTATIONS in arch.ts, in this order)
 *   [reshape]  input → [seqLen, tokenDim] tokens (only when the input is not already laid out that way; flat
 *              vectors are cut into tokens, the last one zero padded)
 *   or, with convBlocks > 0 (image inputs), a conv stem instead:
 *   [stem]     [C, H, W] → convBlocks × (conv2d 3×3 'same', config activation → 2×2 max pool), width doubling per
 *              block, then each feature map is one token: [channels, h·w] (a reshape, no copy)
 *   adapter    dense per token, tokenDim → dModel, config activation            ("Input/Adapter" in LOOM)
 *   hive       parallel of the brains, combined by combineMode: [seq, dModel] (add, avg, filter),
 *              [seq, n·dModel] (concat) or [n cells, seq·dModel] (grid_scatter)
 *   merger     dense over the last axis → dModel, config activation: one rule that fits every combine layout
 *   flatten    [seq·dModel], keeping token positions (pooling would make position-wise brains order-blind)
 *   [hidden]   with a stem: dense → 2·dModel, config activation, mixing the feature-map tokens
 *   [dropout]  when the config's dropout > 0: inverted dropout, identity at evaluation
 *   output     dense → numClasses logits; the loss (softmax_cross_entropy / cross_entropy) applies the softmax
 */
export function buildNetworkSpec(config: ArchConfig, task: TaskShape): NetworkSpec {
  const c = validateConfig(config);
  const inputShape = [...task.inputShape];
  if (inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw configError('inputShape', `must be a non-empty list of positive integers, got ${JSON.stringify(task.inputShape)}`);
  }
  if (task.numClasses !== c.numClasses) throw configError('numClasses', `config says ${c.numClasses} but the task has ${task.numClasses}`);
  const size = inputShape.reduce((a, b) => a * b, 1);
  if (c.seqLen !== Math.ceil(size / c.tokenDim)) {
    throw configError('seqLen', `${c.seqLen} tokens of ${c.tokenDim} do not lay out an input of ${size} values (need ${Math.ceil(size / c.tokenDim)})`);
  }
  const layers: LayerSpec[] = [];
  for (const { gene, layer } of AUGMENTATIONS) {
    const value = c[gene];
    if (!value) continue;
    expectAugmentable(gene, inputShape);
    layers.push(layer(value));
  }
  if (c.convBlocks) layers.push(...stemSpecs(c, inputShape));
  else {
    const laidOut = inputShape.length === 2 && inputShape[0] === c.seqLen && inputShape[1] === c.tokenDim;
    if (!laidOut) {
      const reshape: ReshapeSpec = { type: 'reshape', shape: [c.seqLen, c.tokenDim], pad: c.seqLen * c.tokenDim > size };
      layers.push(reshape);
    }
  }
  const perToken = (units: number): DenseSpec => ({ type: 'dense', units, activation: c.activation, perPosition: true, initScale: c.initScale });
  const flatten: FlattenSpec = { type: 'flatten' };
  const output: DenseSpec = { type: 'dense', units: c.numClasses, activation: 'linear', initScale: c.initScale };
  layers.push(perToken(c.dModel), hiveSpec(c), perToken(c.dModel), flatten);
  // Stem tokens are feature maps and position-wise brains never mix them: one hidden layer over all of them
  // gives the head the cross-channel non-linearity a conv net's dense layer has.
  if (c.convBlocks) {
    const hidden: DenseSpec = { type: 'dense', units: 2 * c.dModel, activation: c.activation, initScale: 1 };
    layers.push(hidden);
  }
  if (c.dropout) {
    const dropout: DropoutSpec = { type: 'dropout', rate: c.dropout };
    layers.push(dropout);
  }
  layers.push(output);
  return sequentialNetworkSpec(inputShape, layers);
}

/** The conv stem's layers: [H, W] inputs get a channel axis first; the last pooled maps become tokens. */
function stemSpecs(c: ArchConfig, inputShape: readonly number[]): LayerSpec[] {
  const blocks = c.convBlocks ?? 0;
  const width = c.convWidth ?? DEFAULT_CONV_WIDTH;
  const out = stemLayout(inputShape, blocks, width);
  const layers: LayerSpec[] = [];
  if (inputShape.length !== 3) {
    const toImage: ReshapeSpec = { type: 'reshape', shape: out.image, pad: false };
    layers.push(toImage);
  }
  for (let b = 0; b < blocks; b++) {
    // Plain He init (initScale 1): the stem's activations are ReLU-like, unlike the hive's LOOM-scaled layers.
    const conv: Conv2dSpec = { type: 'conv2d', filters: width * 2 ** b, kernelSize: 3, padding: 'same', activation: c.activation, initScale: 1 };
    const pool: PoolSpec = { type: 'pool', mode: 'max', size: 2 };
    layers.push(conv, pool);
  }
  const tokens: ReshapeSpec = { type: 'reshape', shape: [out.channels, out.height * out.width], pad: false };
  layers.push(tokens);
  return layers;
}

/** Builds the network with seeded init: the same config, task and seed give the same weights. */
export function buildNetwork(config: ArchConfig, task: TaskShape, seed: number): Network {
  const net = new Network(buildNetworkSpec(config, task), new Rng(seed));
  net.modelId = config.id;
  return net;
}
