import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { LIMITS, MAX_SEED, parseSearchConfig } from '../../src/search/config.js';

/** The config error a bad config raises (failing the test when there is none). */
function configErrorOf(value: unknown, overrides = {}): string {
  try {
    parseSearchConfig(value, overrides);
  } catch (err) {
    expect(err).toBeInstanceOf(LoomError);
    expect((err as LoomError).code).toBe('LOOM_ERR_CONFIG');
    return (err as LoomError).message;
  }
  throw new Error(`expected ${JSON.stringify(value)} to be refused`);
}

describe('search config', () => {
  it('rejects an unknown generator field by name, like every other section', () => {
    expect(configErrorOf({ generator: { dModel: [8] } })).toMatch(/"generator\.dModel": unknown field; known fields: dModels, numHeads/);
    expect(parseSearchConfig({ generator: { dModels: [8], numHeads: [2], tokenDim: 2 } }).generator.tokenDim).toBe(2);
  });

  it('bounds population, generations, epochs and batch size, so a typo fails at once', () => {
    const started = Date.now();
    expect(configErrorOf({ population: 1e9 })).toMatch(/"population": must be an integer in \[2, 10000\], got 1000000000/);
    expect(configErrorOf({ generations: 1e6 })).toMatch(/"generations": must be an integer in \[1, 10000\]/);
    expect(configErrorOf({ training: { epochs: 1e9 } })).toMatch(/"training\.epochs": must be an integer in \[1, 10000\]/);
    expect(configErrorOf({ training: { batchSize: 1e7 } })).toMatch(/"training\.batchSize": must be an integer in \[1, 65536\]/);
    expect(Date.now() - started).toBeLessThan(1000);
    const largest = parseSearchConfig({ population: LIMITS.population, elite: 1, generations: LIMITS.generations, training: { epochs: LIMITS.epochs, batchSize: LIMITS.batchSize } });
    expect([largest.population, largest.generations, largest.training.epochs, largest.training.batchSize]).toEqual([10_000, 10_000, 10_000, 65_536]);
  });

  it('ensembleBags: 0 (one climb, the default) or a whole number of bagged climbs', () => {
    expect(parseSearchConfig({}).ensembleBags).toBe(0);
    expect(parseSearchConfig({ ensembleBags: 50 }).ensembleBags).toBe(50);
    expect(configErrorOf({ ensembleBags: 2.5 })).toMatch(/"ensembleBags": must be an integer in \[0, 10000\], got 2.5/);
    expect(configErrorOf({ ensembleBags: -1 })).toMatch(/"ensembleBags": must be an integer in \[0, 10000\]/);
  });

  it('takes data.fractions only as three numbers in (0, 1) summing to 1', () => {
    expect(parseSearchConfig({ data: { ref: 'iris', fractions: [0.6, 0.2, 0.2] } }).data.fractions).toEqual([0.6, 0.2, 0.2]);
    expect(configErrorOf({ data: { fractions: [1e308, 1e308, 1e308] } })).toMatch(/"data\.fractions": must be three numbers in \(0, 1\)/);
    expect(configErrorOf({ data: { fractions: [0.7, 0.2, 0.2] } })).toMatch(/"data\.fractions": must sum to 1/);
    expect(configErrorOf({ data: { fractions: [0.5, 0.5] } })).toMatch(/"data\.fractions"/);
  });

  it('takes seeds as integers in [0, 2^32), in the config and from --seed', () => {
    expect(parseSearchConfig({ seed: MAX_SEED }).seed).toBe(4294967295);
    for (const seed of [2 ** 32, 2 ** 32 + 1, 1e30, -1, 1.5, '7']) {
      expect(configErrorOf({ seed }), String(seed)).toMatch(/"seed": must be an integer in \[0, 2\^32\)/);
      expect(configErrorOf({ data: { splitSeed: seed } }), String(seed)).toMatch(/"data\.splitSeed": must be an integer in \[0, 2\^32\)/);
    }
    expect(configErrorOf({}, { seed: 2 ** 32 + 1 })).toMatch(/"--seed": must be an integer in \[0, 2\^32\)/);
  });

  it('--seed replaces the seed, and the split seed only when the config does not set one', () => {
    const plain = parseSearchConfig({ seed: 4 });
    expect([plain.seed, plain.data.splitSeed]).toEqual([4, 4]);
    const overridden = parseSearchConfig({ seed: 4 }, { seed: 9 });
    expect([overridden.seed, overridden.data.splitSeed]).toEqual([9, 9]);
    const explicitSplit = parseSearchConfig({ seed: 4, data: { ref: 'iris', splitSeed: 2 } }, { seed: 9 });
    expect([explicitSplit.seed, explicitSplit.data.splitSeed]).toEqual([9, 2]);
  });
});
