import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { geneImportances, type GeneColumn } from '../../src/search/importance.js';

/**
 * Permutation importance of a seeded random forest against known answers: for y = Σ a_j·x_j with independent
 * uniform genes, shuffling gene j adds 2·a_j²·Var(x_j) to a perfect model's squared error, so the shares are
 * a_j² / Σ a_k² (equal variances); a gene y does not depend on gets (close to) nothing.
 */
function sample(n: number, seed: number) {
  const rng = new Rng(seed);
  const x0 = Array.from({ length: n }, () => rng.next());
  const x1 = Array.from({ length: n }, () => rng.next());
  const noise = Array.from({ length: n }, () => rng.next());
  const species = Array.from({ length: n }, () => ['a', 'b', 'c'][rng.int(3)] as string);
  return { x0, x1, noise, species };
}

describe('gene importances', () => {
  it('gives shares a_j² / Σ a_k² for a linear target, nothing to an unused gene', () => {
    const { x0, x1, noise } = sample(400, 1);
    const y = x0.map((v, i) => 2 * v + (x1[i] as number));
    const cols: GeneColumn[] = [
      { name: 'x0', kind: 'numeric', values: x0 },
      { name: 'x1', kind: 'numeric', values: x1 },
      { name: 'noise', kind: 'numeric', values: noise },
    ];
    const result = geneImportances(cols, y, { seed: 3 });
    const share = Object.fromEntries(result.map((r) => [r.gene, r.share]));
    expect(share['x0']).toBeGreaterThan(0.72);
    expect(share['x0']).toBeLessThan(0.88); // known answer 4/5
    expect(share['x1']).toBeGreaterThan(0.12);
    expect(share['x1']).toBeLessThan(0.28); // known answer 1/5
    expect(share['noise']).toBeLessThan(0.03);
    // The raw importance of x0 is close to 2·a²·Var(x) = 2·4/12 (the forest is not perfect: within 25 %).
    expect(result[0]!.importance).toBeGreaterThan(0.5);
    expect(result[0]!.importance).toBeLessThan(0.84);
    expect(result.reduce((a, r) => a + r.share, 0)).toBeCloseTo(1, 12);
  });

  it('finds a categorical gene (any grouping of categories), handles missing values, and is reproducible from its seed', () => {
    const { x0, species } = sample(300, 2);
    // Only species "b" is good: not an ordering of the labels, so the gene must be split by category.
    const y = species.map((s) => (s === 'b' ? 0.9 : 0.5));
    const withGaps = x0.map((v, i) => (i % 10 === 0 ? null : v));
    const cols: GeneColumn[] = [
      { name: 'species', kind: 'categorical', values: species },
      { name: 'lr', kind: 'numeric', values: withGaps },
    ];
    const a = geneImportances(cols, y, { seed: 9, trees: 30 });
    expect(a[0]!.share).toBeGreaterThan(0.97);
    expect(geneImportances(cols, y, { seed: 9, trees: 30 })).toEqual(a);
  });

  it('gives zeros for too few models or a constant target, and refuses ragged input', () => {
    const cols: GeneColumn[] = [{ name: 'g', kind: 'numeric', values: [1, 2, 3] }];
    expect(geneImportances(cols, [0.1, 0.2, 0.3], { seed: 1 })).toEqual([{ gene: 'g', importance: 0, share: 0 }]);
    const flat = geneImportances([{ name: 'g', kind: 'numeric', values: [1, 2, 3, 4, 5, 6] }], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], { seed: 1 });
    expect(flat[0]!.share).toBe(0);
    expect(() => geneImportances(cols, [0.1, 0.2], { seed: 1 })).toThrow(/3 values for 2 targets/);
  });
});
