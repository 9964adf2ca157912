import { evaluate, type Evaluation } from '../../src/engine/eval.js';
import type { Network } from '../../src/engine/network.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { train } from '../../src/engine/train/index.js';
import { finishConfig, type ArchConfig, type BrainType } from '../../src/search/arch.js';
import type { CombineMode } from '../../src/engine/layers/parallel.js';
import { buildNetwork } from '../../src/search/build.js';
import { loadDataset, splitTensors, type LoadedDataset } from '../../src/data/index.js';

/** Small trained search networks on synthetic blobs (4 features, 3 classes), shared by the ensemble tests. */
export const DATA_REF = 'synthetic:blobs';
export const SPLIT_SEED = 5;

export interface TrainedMember {
  readonly config: ArchConfig;
  readonly network: Network;
  readonly val: Evaluation;
  readonly test: Evaluation;
}

export const asTensor = (data: LoadedDataset, split: LoadedDataset['val']): { x: Tensor; y: Int32Array } => splitTensors(data, split);

export function blobs(): LoadedDataset {
  return loadDataset(DATA_REF, { splitSeed: SPLIT_SEED });
}

const SPECS: readonly { brains: BrainType[]; combine: CombineMode; activation: ArchConfig['activation']; epochs: number }[] = [
  { brains: ['Dense', 'Dense'], combine: 'concat', activation: 'tanh', epochs: 3 },
  { brains: ['NormDense'], combine: 'avg', activation: 'leaky_relu', epochs: 2 },
  { brains: ['RNN', 'Dense'], combine: 'add', activation: 'tanh', epochs: 2 },
  { brains: ['Dense'], combine: 'avg', activation: 'sigmoid', epochs: 1 },
];

export function configFor(i: number, data: LoadedDataset): ArchConfig {
  const s = SPECS[i % SPECS.length] as (typeof SPECS)[number];
  return finishConfig({
    id: `m${i}`, gridRows: 1, gridCols: s.brains.length, brains: s.brains, dModel: 8, numHeads: 2, learningRate: 0.01,
    budgetScale: 1, activation: s.activation, combineMode: s.combine, initScale: 0.5, dtype: 'float32', seqLen: 2, tokenDim: 2,
    numClasses: data.numClasses, parents: [], origin: 'random', mutations: [],
  });
}

/** Trains `count` different tiny networks (a few epochs each: accurate but not all alike). */
export function trainMembers(data: LoadedDataset, count = 3): TrainedMember[] {
  return Array.from({ length: count }, (_, i) => {
    const config = configFor(i, data);
    const network = buildNetwork(config, { inputShape: data.inputShape, numClasses: data.numClasses }, 10 + i);
    train(network, asTensor(data, data.train), { epochs: (SPECS[i % SPECS.length] as { epochs: number }).epochs, batchSize: 16, learningRate: 0.01, seed: i });
    return { config, network, val: evaluate(network, asTensor(data, data.val)), test: evaluate(network, asTensor(data, data.test)) };
  });
}
