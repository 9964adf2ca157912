import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { generateConfigs, resolveGenOptions, validateConfig, type ArchConfig } from '../../src/search/arch.js';
import {
  crossover,
  diversityFitness,
  genomeKey,
  mutate,
  nextGeneration,
  tournamentSelect,
  uniqueness,
  type Individual,
} from '../../src/search/evolve.js';

const task = { inputShape: [28, 28], numClasses: 10 };

describe('mutate', () => {
  it('always returns a valid, different config with lineage over many random trials', () => {
    const rng = new Rng(11);
    const genOptions = resolveGenOptions({ maxBrains: 12 });
    let config = generateConfigs(1, task, rng, { maxBrains: 12 })[0] as ArchConfig;
    const ops = new Set<string>();
    let same = 0;
    let extra = 0;
    for (let i = 0; i < 1000; i++) {
      const child = mutate(config, rng, { genOptions, id: `m${i}` });
      expect(validateConfig(child)).toEqual(child);
      expect(child.id).toBe(`m${i}`);
      expect(child.name).toBe(`Net-m${i}`);
      expect(child.parents).toEqual([config.id]);
      expect(child.origin).toBe('mutation');
      expect(child.mutations.length).toBeGreaterThanOrEqual(1);
      if (child.mutations.length > 3) extra++;
      expect(child.numBrains).toBeLessThanOrEqual(12);
      expect(child.dModel % child.numHeads).toBe(0);
      expect([child.seqLen, child.tokenDim, child.numClasses]).toEqual([28, 28, 10]);
      if (genomeKey(child) === genomeKey(config)) same++;
      for (const m of child.mutations) ops.add(m.split(/[:@]/)[0] as string);
      config = child; // a random walk, so every shape and size is visited
    }
    expect(same).toBe(0);
    expect(extra).toBeLessThan(20); // more than maxChanges only when two changes cancelled out
    for (const op of ['brain', 'shape', 'dModel', 'heads', 'lr', 'activation', 'combine']) expect(ops.has(op), op).toBe(true);
    expect([...ops].some((o) => o.startsWith('addRow') || o.startsWith('addCol'))).toBe(true);
    expect([...ops].some((o) => o.startsWith('removeRow') || o.startsWith('removeCol'))).toBe(true);
  });

  it('adding a brain to a 1×N grid adds exactly one brain and keeps the others in order', () => {
    const genOptions = resolveGenOptions({ maxBrains: 24 });
    const base = generateConfigs(40, task, new Rng(3)).find((c) => c.gridRows === 1 && c.gridCols === 4) as ArchConfig;
    const rng = new Rng(4);
    let seen = 0;
    for (let i = 0; i < 300 && seen < 5; i++) {
      const child = mutate(base, rng, { genOptions, maxChanges: 1 });
      const m = /^addCol@(\d+)$/.exec(child.mutations[0] as string);
      if (!m) continue;
      seen++;
      const at = Number(m[1]);
      expect([child.gridRows, child.gridCols]).toEqual([1, 5]);
      expect(child.species).toBe('1x5 Custom');
      expect([...child.brains.slice(0, at), ...child.brains.slice(at + 1)]).toEqual(base.brains);
    }
    expect(seen).toBe(5);
  });

  it('keeps heads compatible when dModel changes', () => {
    const genOptions = resolveGenOptions({ dModels: [48, 32], numHeads: [3, 4, 8] });
    const rng = new Rng(8);
    let config = generateConfigs(1, task, rng, { dModels: [48, 32], numHeads: [3, 4, 8] })[0] as ArchConfig;
    for (let i = 0; i < 300; i++) {
      config = mutate(config, rng, { genOptions });
      expect(config.dModel % config.numHeads).toBe(0);
    }
  });

  it('says so when no mutation applies', () => {
    const only = {
      dModels: [32], numHeads: [4], gridShapes: [{ rows: 1, cols: 1, name: '1x1 Mono' }], maxBrains: 1, lrMin: 1e-3, lrMax: 1e-3,
      brainTypes: ['Dense'], brainDistribution: [1], combineModes: ['avg'], combineDistribution: [1], activations: ['tanh'], activationDistribution: [1],
    } as const;
    const config = generateConfigs(1, task, new Rng(1), only)[0] as ArchConfig;
    expect(() => mutate(config, new Rng(1), { genOptions: only })).toThrow(/"genOptions"/);
  });
});

describe('crossover', () => {
  it('always returns a valid config whose genes come from its parents', () => {
    const rng = new Rng(21);
    const pool = generateConfigs(30, task, rng);
    for (let i = 0; i < 500; i++) {
      const a = pool[rng.int(pool.length)] as ArchConfig;
      const b = pool[rng.int(pool.length)] as ArchConfig;
      const child = crossover(a, b, rng, { id: `x${i}` });
      expect(validateConfig(child)).toEqual(child);
      expect(child.parents).toEqual([a.id, b.id]);
      expect(child.origin).toBe('crossover');
      expect([a, b].some((p) => p.gridRows === child.gridRows && p.gridCols === child.gridCols)).toBe(true);
      expect([a, b].some((p) => p.dModel === child.dModel && p.numHeads === child.numHeads)).toBe(true);
      for (const key of ['learningRate', 'activation', 'combineMode', 'budgetScale'] as const) expect([a[key], b[key]]).toContain(child[key]);
      child.brains.forEach((brain, k) => {
        const r = Math.floor(k / child.gridCols);
        const c = k % child.gridCols;
        const donors = [a, b].filter((p) => r < p.gridRows && c < p.gridCols).map((p) => p.brains[r * p.gridCols + c]);
        expect(donors).toContain(brain);
      });
    }
  });

  it('mixes cells from both parents', () => {
    const base = generateConfigs(60, task, new Rng(2)).find((c) => c.numBrains === 9) as ArchConfig;
    const left = validateConfig({ ...base, id: 'A', brains: Array(9).fill('LSTM'), brainNames: Array(9).fill('LSTM') });
    const right = validateConfig({ ...base, id: 'B', brains: Array(9).fill('RNN'), brainNames: Array(9).fill('RNN') });
    const child = crossover(left, right, new Rng(5));
    expect(child.brains).toContain('LSTM');
    expect(child.brains).toContain('RNN');
  });

  it('refuses parents built for different tasks', () => {
    const a = generateConfigs(1, task, new Rng(1))[0] as ArchConfig;
    const b = generateConfigs(1, { inputShape: [4], numClasses: 3 }, new Rng(1))[0] as ArchConfig;
    expect(() => crossover(a, b, new Rng(1))).toThrow(/"seqLen": parents/);
  });
});

describe('diversity fitness', () => {
  const mask = (s: string): number[] => [...s].map(Number);

  it('scores a duplicate lower than a model that covers unique samples', () => {
    // A and B are identical; C has the same accuracy but gets right the samples nobody else does.
    const masks = [mask('1111110000'), mask('1111110000'), mask('1100001111')];
    const u = uniqueness(masks);
    // counts per sample: 3,3,2,2,2,2,1,1,1,1
    expect(u[0]).toBeCloseTo((2 / 3 + 4 / 2) / 10, 12);
    expect(u[1]).toBeCloseTo(u[0] as number, 12);
    expect(u[2]).toBeCloseTo((2 / 3 + 4) / 10, 12);
    expect(u.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12); // every sample is covered by someone
    const configs = generateConfigs(3, task, new Rng(1));
    const population: Individual[] = masks.map((m, i) => ({ config: configs[i] as ArchConfig, valAccuracy: 0.6, valMask: m }));
    const f = diversityFitness(population, 0.1);
    expect(f[2]).toBeGreaterThan(f[1] as number);
    expect(f[0]).toBeCloseTo(0.6 + 0.1 * (u[0] as number), 12);
    expect(diversityFitness(population, 0)).toEqual([0.6, 0.6, 0.6]);
  });

  it('accepts boolean and typed masks and rejects mismatched ones', () => {
    expect(uniqueness([[true, false], Uint8Array.from([1, 1])])).toEqual([0.25, 0.75]);
    expect(() => uniqueness([[1, 0], [1, 0, 1]])).toThrow(/"population\[1\]\.valMask"/);
    const c = generateConfigs(1, task, new Rng(1))[0] as ArchConfig;
    expect(() => diversityFitness([{ config: c, valAccuracy: 1.5, valMask: [1] }], 0.1)).toThrow(/"population\[0\]\.valAccuracy"/);
    expect(() => diversityFitness([{ config: c, valAccuracy: 0.5, valMask: [1] }], -1)).toThrow(/"lambda"/);
  });
});

describe('selection', () => {
  it('a tournament over everyone picks the best; a tournament of one is uniform', () => {
    const fitness = [0.1, 0.9, 0.5, 0.3];
    const rng = new Rng(3);
    for (let i = 0; i < 20; i++) expect(tournamentSelect(fitness, rng, 4)).toBe(1);
    const picks = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) picks[tournamentSelect(fitness, rng, 1)]! += 1;
    for (const p of picks) expect(Math.abs(p - 1000)).toBeLessThan(120);
    // size 2: the worst can only win against itself, which a draw without replacement never allows
    for (let i = 0; i < 200; i++) expect(tournamentSelect(fitness, rng, 2)).not.toBe(0);
  });

  function population(n: number, seed: number): Individual[] {
    const rng = new Rng(seed);
    return generateConfigs(n, task, rng, { maxBrains: 9 }).map((config, i) => ({
      config,
      valAccuracy: i / n,
      valMask: Array.from({ length: 50 }, () => (rng.next() < i / n ? 1 : 0)),
    }));
  }

  it('carries the elite over unchanged and fills the rest with new, valid, distinct children', () => {
    const pop = population(12, 1);
    const next = nextGeneration(pop, new Rng(2), { generation: 1, size: 10, elite: 3, lambda: 0, genOptions: { maxBrains: 9 } });
    expect(next).toHaveLength(10);
    expect(next.slice(0, 3)).toEqual([pop[11]!.config, pop[10]!.config, pop[9]!.config]);
    const children = next.slice(3);
    expect(children.map((c) => c.id)).toEqual(['g1-3', 'g1-4', 'g1-5', 'g1-6', 'g1-7', 'g1-8', 'g1-9']);
    const keys = new Set(pop.map((p) => genomeKey(p.config)));
    for (const c of children) {
      expect(validateConfig(c)).toEqual(c);
      expect(['mutation', 'crossover']).toContain(c.origin);
      expect(c.parents.every((id) => pop.some((p) => p.config.id === id))).toBe(true);
      expect(keys.has(genomeKey(c))).toBe(false);
      keys.add(genomeKey(c));
    }
  });

  it('is reproducible and prefers fit parents', () => {
    const pop = population(20, 4);
    const opts = { generation: 2, size: 40, elite: 0, tournamentSize: 4, crossoverRate: 0.5 };
    expect(nextGeneration(pop, new Rng(9), opts)).toEqual(nextGeneration(pop, new Rng(9), opts));
    const next = nextGeneration(pop, new Rng(9), opts);
    const parentIndex = next.flatMap((c) => c.parents).map((id) => pop.findIndex((p) => p.config.id === id));
    const meanRank = parentIndex.reduce((a, b) => a + b, 0) / parentIndex.length;
    expect(meanRank).toBeGreaterThan(12); // uniform choice would give 9.5; fitness rises with the index
    expect(next.some((c) => c.origin === 'crossover')).toBe(true);
  });

  it('validates its options', () => {
    const pop = population(4, 1);
    expect(() => nextGeneration(pop, new Rng(1), { generation: 1, elite: 5 })).toThrow(/"elite"/);
    expect(() => nextGeneration(pop, new Rng(1), { generation: 1, mutationRate: 2 })).toThrow(/"mutationRate"/);
    expect(() => nextGeneration(pop, new Rng(1), { generation: 1, tournamentSize: 0 })).toThrow(/"tournamentSize"/);
    expect(() => nextGeneration([], new Rng(1), { generation: 1 })).toThrow(/"population"/);
  });
});
