import { parseSearchConfig, type SearchConfig } from '../../../src/search/config.js';

/** A small, fast search for the reliability tests: blobs, 3 models, one generation, 2 epochs. */
export const smallConfig = (overrides: Record<string, unknown> = {}): SearchConfig =>
  parseSearchConfig({
    name: 'reliability',
    seed: 7,
    data: { ref: 'synthetic:blobs' },
    population: 3,
    generations: 1,
    elite: 1,
    training: { epochs: 2, batchSize: 32 },
    generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono'], maxBrains: 2 },
    ...overrides,
  });

export { InProcessExecutor } from '../../helpers/in-process-executor.js';
