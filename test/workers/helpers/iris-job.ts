import type { LoadedDataset } from '../../../src/data/index.js';
import { Rng } from '../../../src/engine/rng.js';
import { finishConfig, generateConfigs, searchSpace, STANDARD_GRID_SHAPES } from '../../../src/search/arch.js';
import { DEFAULT_TRAINING } from '../../../src/search/config.js';
import type { TrainingJob } from '../../../src/search/jobs.js';

/**
 * One small training job on iris (`loadDataset('iris', { splitSeed: 2 })`), built directly: a one-brain hive of width
 * 8, batches of 16, 3 epochs, and dropout on, so a test that a job is unchanged by something (a mid-epoch check, a
 * pause and resume) also checks that the training noise is.
 */
const EPOCHS = 3;

export function irisJob(data: LoadedDataset): TrainingJob {
  const task = { inputShape: data.inputShape, numClasses: data.numClasses };
  const [base] = generateConfigs(1, task, new Rng(5), searchSpace(task, { dModels: [8], gridShapes: [STANDARD_GRID_SHAPES[0]!], maxBrains: 1, lrMin: 0.01, lrMax: 0.02 }));
  if (!base) throw new Error('no config generated');
  const { name: _n, species: _s, mutationStr: _m, numBrains: _b, brainNames: _bn, ...genes } = base;
  return {
    runId: 'r',
    modelId: 'm1',
    generation: 0,
    arch: finishConfig({ ...genes, epochs: EPOCHS, batchSize: 16, dropout: 0.1, labelSmoothing: 0 }),
    data: { ref: 'iris', checksum: data.checksum, splitSeed: 2 },
    training: { ...DEFAULT_TRAINING, epochs: EPOCHS },
    seed: 7,
  };
}
