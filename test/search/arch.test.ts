import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import {
  BRAIN_TYPES,
  configBundleFromJSON,
  configBundleToJSON,
  defaultArchGenOptions,
  describeConfig,
  generateConfigs,
  inputLayout,
  resolveGenOptions,
  STANDARD_GRID_SHAPES,
  validateConfig,
  type ArchConfig,
  type ArchGenOptions,
} from '../../src/search/arch.js';

const mnist = { inputShape: [28, 28], numClasses: 10 };

/** Pearson's χ² of observed counts against expected probabilities. */
function chiSquare(observed: readonly number[], probs: readonly number[]): number {
  const n = observed.reduce((a, b) => a + b, 0);
  return observed.reduce((s, o, i) => s + (o - n * (probs[i] as number)) ** 2 / (n * (probs[i] as number)), 0);
}

/** χ² 99.9% quantiles by degrees of freedom (df 1..8). */
const CHI2_999 = [10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12];

function counts<T>(values: readonly T[], categories: readonly T[]): number[] {
  return categories.map((c) => values.filter((v) => v === c).length);
}

describe('generateConfigs', () => {
  it('is reproducible for a seed and different across seeds', () => {
    const a = generateConfigs(20, mnist, new Rng(42));
    const b = generateConfigs(20, mnist, new Rng(42));
    const c = generateConfigs(20, mnist, new Rng(43));
    expect(a).toEqual(b);
    expect(JSON.stringify(a)).not.toEqual(JSON.stringify(c));
    expect(a.map((x) => x.id)).toEqual(Array.from({ length: 20 }, (_, i) => `g0-${i}`));
  });

  it('produces valid configs with consistent derived fields', () => {
    for (const c of generateConfigs(200, mnist, new Rng(1))) {
      expect(validateConfig(c)).toEqual(c);
      expect(c.numBrains).toBe(c.gridRows * c.gridCols);
      expect(c.brains).toHaveLength(c.numBrains);
      expect(c.dModel % c.numHeads).toBe(0);
      expect(c.learningRate).toBeGreaterThanOrEqual(1e-4);
      expect(c.learningRate).toBeLessThanOrEqual(1e-2);
      expect(c.budgetScale).toBeGreaterThanOrEqual(0.5);
      expect(c.budgetScale).toBeLessThan(1);
      expect([c.seqLen, c.tokenDim, c.numClasses]).toEqual([28, 28, 10]);
      expect(c.species).toBe(STANDARD_GRID_SHAPES.find((s) => s.rows === c.gridRows && s.cols === c.gridCols)?.name);
      expect(c.origin).toBe('random');
      expect(c.mutationStr).toBe(describeConfig(c));
    }
  });

  it('draws brains, shapes, combine modes, activations and dModels with the configured frequencies', () => {
    const configs = generateConfigs(5000, mnist, new Rng(7));
    const o = resolveGenOptions();
    const brains = configs.flatMap((c) => c.brains);
    const shapeIndex = configs.map((c) => STANDARD_GRID_SHAPES.findIndex((s) => s.rows === c.gridRows && s.cols === c.gridCols));
    const checks: [number[], readonly number[]][] = [
      [counts(brains, o.brainTypes), o.brainDistribution],
      [counts(configs.map((c) => c.combineMode), o.combineModes), o.combineDistribution],
      [counts(configs.map((c) => c.activation), o.activations), o.activationDistribution],
      [counts(shapeIndex, STANDARD_GRID_SHAPES.map((_, i) => i)), STANDARD_GRID_SHAPES.map(() => 1 / 9)],
      [counts(configs.map((c) => c.dModel), [64, 32]), [0.75, 0.25]],
    ];
    for (const [observed, probs] of checks) {
      expect(chiSquare(observed, probs)).toBeLessThan(CHI2_999[probs.length - 2] as number);
    }
    expect(configs.filter((c) => c.combineMode === 'filter').length).toBeGreaterThan(150); // ≈ 5% of 5000
    expect(brains.filter((b) => b === 'Conv1D').length).toBeGreaterThan(0);
    // log-uniform: half the draws below the geometric mean of the bounds
    const below = configs.filter((c) => c.learningRate < 1e-3).length / configs.length;
    expect(below).toBeGreaterThan(0.46);
    expect(below).toBeLessThan(0.54);
    // heads are drawn among those dividing dModel
    expect(configs.filter((c) => c.numHeads === 8).length / configs.length).toBeGreaterThan(0.45);
  });

  it('normalizes distributions: scaled weights give the very same configs', () => {
    const scaled: Partial<ArchGenOptions> = {
      brainDistribution: [30, 25, 15, 15, 8, 7, 5],
      combineDistribution: [3.5, 3, 2, 1.5, 0.5],
      activationDistribution: [7, 7, 7, 7, 7],
    };
    expect(generateConfigs(30, mnist, new Rng(5), scaled)).toEqual(generateConfigs(30, mnist, new Rng(5)));
    const o = resolveGenOptions(scaled);
    expect(o.brainDistribution.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(o.combineDistribution[4]).toBeCloseTo(0.5 / 10.5, 12);
  });

  it('honours maxBrains, allowed brain types and a zero weight', () => {
    const configs = generateConfigs(300, mnist, new Rng(9), {
      maxBrains: 6,
      brainTypes: ['Dense', 'RNN', 'MHA'],
      brainDistribution: [1, 1, 0],
    });
    expect(Math.max(...configs.map((c) => c.numBrains))).toBe(6);
    expect(new Set(configs.flatMap((c) => c.brains))).toEqual(new Set(['Dense', 'RNN']));
  });

  it('labels MutationStr with the real activation (LOOM swapped Sigmoid and LeakyReLU)', () => {
    const base = { gridRows: 2, gridCols: 2, combineMode: 'avg', dModel: 64, dtype: 'float32', learningRate: 0.0012 } as const;
    expect(describeConfig({ ...base, activation: 'tanh' })).toBe('2x2_avg_Tanh_D64_float32_LR0.0012');
    expect(describeConfig({ ...base, activation: 'sigmoid' })).toBe('2x2_avg_Sigmoid_D64_float32_LR0.0012');
    expect(describeConfig({ ...base, activation: 'leaky_relu' })).toBe('2x2_avg_LeakyReLU_D64_float32_LR0.0012');
  });
});

describe('generator options validation', () => {
  const bad: [Partial<ArchGenOptions>, RegExp][] = [
    [{ brainDistribution: [1, 1] }, /"brainDistribution".*2 weights but brainTypes has 7/],
    [{ brainDistribution: [1, 1, 1, -1, 1, 1, 1] }, /"brainDistribution\[3\]".*≥ 0/],
    [{ combineDistribution: [0, 0, 0, 0, 0] }, /"combineDistribution".*all be zero/],
    [{ brainTypes: ['Dense', 'GRU' as never], brainDistribution: [1, 1] }, /"brainTypes\[1\]".*"MHA", "LSTM", "RNN", "Dense", "SwiGLU", "NormDense", "Conv1D".*"GRU"/],
    [{ combineModes: ['max' as never], combineDistribution: [1] }, /"combineModes\[0\]".*"concat".*"filter"/],
    [{ activations: ['swish' as never], activationDistribution: [1] }, /"activations\[0\]".*"scaled_relu"/],
    [{ dModels: [30], numHeads: [4, 8] }, /"numHeads".*none of \[4, 8\] divides dModel 30/],
    [{ dModels: [0] }, /"dModels\[0\]"/],
    [{ maxBrains: 0 }, /"maxBrains"/],
    [{ gridShapes: [{ rows: 6, cols: 4, name: '6x4' }], maxBrains: 8 }, /"maxBrains".*leaves no grid shape/],
    [{ lrMin: 0.1, lrMax: 0.01 }, /"lrMax".*≥ lrMin/],
    [{ lrMin: 0 }, /"lrMin"/],
    [{ dtypes: ['bf16'], dtypeDistribution: [1] }, /"dtypes\[0\]".*"float32"/],
    [{ tokenDim: 2.5 }, /"tokenDim"/],
  ];
  for (const [options, message] of bad) {
    it(`rejects ${JSON.stringify(options)}`, () => {
      expect(() => resolveGenOptions(options)).toThrow(message);
      expect(() => generateConfigs(1, mnist, new Rng(1), options)).toThrow(/LOOM_ERR_CONFIG|invalid config field/);
    });
  }

  it('fails fast instead of hanging when heads never divide dModel', () => {
    expect(() => generateConfigs(5, mnist, new Rng(1), { dModels: [64, 30], numHeads: [4] })).toThrow(/divides dModel 30/);
  });

  it('the defaults are LOOM\'s plus Conv1D and filter', () => {
    const d = defaultArchGenOptions();
    expect(d.dModels).toEqual([64, 64, 64, 32]);
    expect(d.numHeads).toEqual([4, 8]);
    expect(d.gridShapes).toHaveLength(9);
    expect(d.brainTypes).toEqual([...BRAIN_TYPES]);
    expect(d.brainDistribution.slice(0, 6)).toEqual([0.3, 0.25, 0.15, 0.15, 0.08, 0.07]);
    expect(d.combineModes).toEqual(['avg', 'add', 'concat', 'grid_scatter', 'filter']);
  });
});

describe('inputLayout', () => {
  it('uses rows as tokens for images and ⌈√n⌉-value tokens for flat vectors', () => {
    expect(inputLayout([28, 28])).toEqual({ seqLen: 28, tokenDim: 28 });
    expect(inputLayout([1, 28, 28])).toEqual({ seqLen: 28, tokenDim: 28 });
    expect(inputLayout([784])).toEqual({ seqLen: 28, tokenDim: 28 });
    expect(inputLayout([4])).toEqual({ seqLen: 2, tokenDim: 2 });
    expect(inputLayout([13])).toEqual({ seqLen: 4, tokenDim: 4 });
    expect(inputLayout([30], 8)).toEqual({ seqLen: 4, tokenDim: 8 });
    expect(() => inputLayout([])).toThrow(/"inputShape"/);
  });
});

describe('config bundles', () => {
  const configs = generateConfigs(5, { inputShape: [4], numClasses: 3 }, new Rng(3));

  it('round-trips through JSON', () => {
    const text = configBundleToJSON(configs);
    expect(text.endsWith('}\n')).toBe(true);
    const bundle = configBundleFromJSON(text);
    expect(bundle.version).toBe(1);
    expect(bundle.configs).toEqual(configs);
  });

  const corrupt = (edit: (c: Record<string, unknown>) => void, index = 1): string => {
    const raw = JSON.parse(configBundleToJSON(configs)) as { configs: Record<string, unknown>[] };
    edit(raw.configs[index] as Record<string, unknown>);
    return JSON.stringify(raw);
  };

  const cases: [string, (c: Record<string, unknown>) => void, RegExp][] = [
    ['dModel', (c) => (c.dModel = 'big'), /"configs\[1\]\.dModel": must be a positive integer, got "big"/],
    ['numHeads', (c) => ((c.numHeads = 7), (c.dModel = 64)), /"configs\[1\]\.numHeads".*dividing dModel 64/],
    ['brains', (c) => (c.brains = (c.brains as string[]).map(() => 'GRU')), /"configs\[1\]\.brains\[0\]".*"Conv1D".*"GRU"/],
    ['brain count', (c) => (c.brains = []), /"configs\[1\]\.brains"/],
    ['brainNames', (c) => (c.brainNames = ['x']), /"configs\[1\]\.brainNames"/],
    ['numBrains', (c) => (c.numBrains = 99), /"configs\[1\]\.numBrains"/],
    ['combineMode', (c) => (c.combineMode = 'sum'), /"configs\[1\]\.combineMode".*"grid_scatter"/],
    ['activation', (c) => (c.activation = 2), /"configs\[1\]\.activation"/],
    ['learningRate', (c) => (c.learningRate = -1), /"configs\[1\]\.learningRate"/],
    ['origin', (c) => (c.origin = 'magic'), /"configs\[1\]\.origin".*"random", "mutation", "crossover"/],
    ['missing id', (c) => delete c.id, /"configs\[1\]\.id"/],
    ['numClasses', (c) => (c.numClasses = 1), /"configs\[1\]\.numClasses"/],
    ['dtype', (c) => (c.dtype = 'float8'), /"configs\[1\]\.dtype"/],
  ];
  for (const [name, edit, message] of cases) {
    it(`names the bad field: ${name}`, () => {
      expect(() => configBundleFromJSON(corrupt(edit))).toThrow(message);
    });
  }

  it('rejects bad bundles', () => {
    expect(() => configBundleFromJSON('{nope')).toThrow(/"bundle": is not valid JSON/);
    expect(() => configBundleFromJSON('[]')).toThrow(/"bundle"/);
    expect(() => configBundleFromJSON(JSON.stringify({ version: 2, configs: [] }))).toThrow(/"version": must be 1/);
    expect(() => configBundleFromJSON(JSON.stringify({ version: 1 }))).toThrow(/"configs"/);
    const dup = JSON.stringify({ version: 1, configs: [configs[0], configs[0]] as ArchConfig[] });
    expect(() => configBundleFromJSON(dup)).toThrow(/"configs\[1\]\.id": must be unique/);
  });
});
