import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { computeFitness, forwardSelect, nesFitness, partsRecord } from '../../src/search/fitness.js';
import { nextGeneration, type Individual } from '../../src/search/evolve.js';
import { generateConfigs } from '../../src/search/arch.js';

/**
 * Hand-computed case: 2 samples, 2 classes, labels [0, 1]. Each model is given by its probability of the true
 * class on the two samples: A (0.9, 0.5), B (0.6, 0.8), C (0.3, 0.3).
 */
const rows = (p0: number, p1: number): Float32Array => Float32Array.from([p0, 1 - p0, 1 - p1, p1]);
const input = {
  modelIds: ['A', 'B', 'C'],
  valProbs: [rows(0.9, 0.5), rows(0.6, 0.8), rows(0.3, 0.3)],
  labels: Int32Array.from([0, 1]),
  numClasses: 2,
};
const ll = (a: number, b: number): number => -(Math.log(a) + Math.log(b)) / 2;

describe('NES fitness', () => {
  it('forward selection on log-loss picks B, then A, then B again (3 steps)', () => {
    // Step 1: B alone has the lowest loss. Step 2: B+A → (0.75, 0.65) beats B+B and B+C. Step 3: 2B+A → (0.7, 0.7).
    const s = forwardSelect(input, 3);
    expect(s.picks).toEqual([1, 0, 1]);
    expect(s.logLoss).toBeCloseTo(ll(0.7, 0.7), 6);
  });

  it('scores each model by its marginal log-loss gain to that ensemble', () => {
    const f = nesFitness(input, { steps: 3 });
    const ensemble = ll(0.7, 0.7);
    // A (one pick): the ensemble without it is 2·B = B → loss ll(0.6, 0.8).
    expect(f.fitness[0]).toBeCloseTo(ll(0.6, 0.8) - ensemble, 6);
    // B (two picks): without one pick, B + A → (0.75, 0.65).
    expect(f.fitness[1]).toBeCloseTo(ll(0.75, 0.65) - ensemble, 6);
    // C (not a member): adding it gives (2B + A + C)/4 → (0.6, 0.6): a loss, so negative fitness.
    expect(f.fitness[2]).toBeCloseTo(ensemble - ll(0.6, 0.6), 6);
    expect(f.fitness[0]).toBeGreaterThan(f.fitness[1] as number);
    expect(f.fitness[2]).toBeLessThan(0);
    // Parents come from the ensemble's members only.
    expect([...f.parentPool].sort()).toEqual([0, 1]);
    // The parts are stored and add up.
    expect(f.parts[0]).toMatchObject({ picks: 1, valAccuracy: 0.5 }); // A's (0.5, 0.5) row on sample 2 ties → class 0
    expect(f.parts[2]?.picks).toBe(0);
    const p = partsRecord(f.parts[1]!);
    expect(p.withoutLogLoss! - p.ensembleLogLoss!).toBeCloseTo(f.fitness[1]!, 12);
    expect(p.valLogLoss).toBeCloseTo(ll(0.6, 0.8), 6);
  });

  it('a one-model ensemble is scored against the uniform prediction (ln C)', () => {
    const f = nesFitness({ ...input, modelIds: ['B'], valProbs: [input.valProbs[1]!] }, { steps: 1 });
    expect(f.fitness[0]).toBeCloseTo(Math.log(2) - ll(0.6, 0.8), 6);
  });

  it('accuracy and uniqueness kinds keep everyone as a parent', () => {
    const acc = computeFitness('accuracy', input);
    expect(acc.fitness).toEqual([0.5, 1, 0]);
    expect(acc.parentPool).toEqual([0, 1, 2]);
    const uni = computeFitness('uniqueness', input, { lambda: 0.5 });
    // Sample 1 is right for A and B (½ each), sample 2 for B alone: uniqueness A ¼, B ¾, C 0.
    expect(uni.fitness).toEqual([0.5 + 0.5 * 0.25, 1 + 0.5 * 0.75, 0]);
  });

  it('nextGeneration draws parents only from the pool it is given', () => {
    const rng = new Rng(3);
    const configs = generateConfigs(6, { inputShape: [8], numClasses: 2 }, rng, { dModels: [8], numHeads: [2] }, 'p-');
    const population: Individual[] = configs.map((config, i) => ({ config, valAccuracy: 0.5 + i / 20, valMask: [1, 0] }));
    const next = nextGeneration(population, new Rng(4), { generation: 1, size: 8, elite: 0, crossoverRate: 0.5, fitness: [0, 0, 0, 0, 0.1, 0.2], parentPool: [4] });
    for (const child of next) expect(child.parents.every((p) => p === configs[4]!.id)).toBe(true);
  });
});
