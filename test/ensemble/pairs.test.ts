import { describe, expect, it } from 'vitest';
import { correlationMatrix } from '../../src/ensemble/correlation.js';
import { LoomError } from '../../src/engine/errors.js';
import { Rng } from '../../src/engine/rng.js';
import { checkMasks, packMasks, popcount32 } from '../../src/ensemble/masks.js';
import { diversitySummary, findComplementaryMatches, maskCorrelationMatrix, packedPairCounts, pairCounts, pairStats } from '../../src/ensemble/pairs.js';

const m = (bits: string): Uint8Array => Uint8Array.from(bits, (c) => Number(c));

describe('complementary matches (LOOM FindComplementaryMatches)', () => {
  const A = m('1100');
  const B = m('0011');
  const C = m('1110');

  it('reproduces LOOM test example: coverage desc, then overlap asc', () => {
    const out = findComplementaryMatches([{ id: 'A', mask: A }, { id: 'B', mask: B }, { id: 'C', mask: C }]);
    expect(out).toEqual([
      { modelA: 'A', modelB: 'B', coverage: 1, overlap: 0 },
      { modelA: 'B', modelB: 'C', coverage: 1, overlap: 0.25 },
      { modelA: 'A', modelB: 'C', coverage: 0.75, overlap: 0.5 },
    ]);
  });

  it('keeps pairs with coverage ≥ minCoverage (inclusive) and returns [] when none', () => {
    const models = [{ id: 'A', mask: A }, { id: 'B', mask: B }, { id: 'C', mask: C }];
    expect(findComplementaryMatches(models, 0.75)).toHaveLength(3);
    expect(findComplementaryMatches(models, 0.76)).toHaveLength(2);
    expect(findComplementaryMatches([{ id: 'A', mask: A }, { id: 'C', mask: C }], 0.9)).toEqual([]);
    expect(findComplementaryMatches(models, 0, 1)).toHaveLength(1);
  });

  it('keeps input order on exact ties (stable)', () => {
    const out = findComplementaryMatches([{ id: 'A', mask: A }, { id: 'B', mask: B }, { id: 'A2', mask: A }]);
    expect(out.map((p) => `${p.modelA}+${p.modelB}`)).toEqual(['A+B', 'B+A2', 'A+A2']);
  });

  it('refuses masks of different lengths with a clear error', () => {
    const bad = (): unknown => findComplementaryMatches([{ id: 'A', mask: A }, { id: 'X', mask: m('101') }]);
    expect(bad).toThrow(LoomError);
    expect(bad).toThrow(/different lengths: model A has 4 samples, model X has 3/);
    expect(() => checkMasks([])).toThrow(/no finished models/);
    expect(() => checkMasks([m('')])).toThrow(/empty/);
  });
});

describe('pairwise diversity', () => {
  it('matches hand-computed counts, disagreement, double-fault, Q and ρ', () => {
    const a = m('11110001');
    const b = m('11100010');
    const c = pairCounts(a, b);
    expect(c).toEqual({ n11: 3, n10: 2, n01: 1, n00: 2, n: 8 });
    const s = pairStats(c);
    expect(s.disagreement).toBe(3 / 8);
    expect(s.doubleFault).toBe(2 / 8);
    expect(s.coverage).toBe(6 / 8);
    expect(s.overlap).toBe(3 / 8);
    expect(s.yulesQ).toBeCloseTo((6 - 2) / (6 + 2), 12);
    expect(s.correlation).toBeCloseTo(4 / Math.sqrt(5 * 3 * 4 * 4), 12);
    expect(s.correlation).toBeCloseTo(correlationMatrix([a, b]).matrix[0]?.[1] as number, 12);
  });

  it('leaves Q and ρ undefined (NaN) when a model is always right', () => {
    const s = pairStats(pairCounts(m('1111'), m('1010')));
    expect(s.yulesQ).toBeNaN();
    expect(s.correlation).toBeNaN();
    expect(s.disagreement).toBe(0.5);
  });

  it('packed counts equal direct counts', () => {
    const rng = new Rng(4);
    const masks = Array.from({ length: 5 }, () => Uint8Array.from({ length: 77 }, () => Number(rng.next() < 0.6)));
    const packed = packMasks(masks);
    for (let i = 0; i < 5; i++) for (let k = 0; k < 5; k++) expect(packedPairCounts(packed, i, k)).toEqual(pairCounts(masks[i] as Uint8Array, masks[k] as Uint8Array));
    expect(popcount32(0xffffffff)).toBe(32);
    expect(popcount32(0x80000001)).toBe(2);
  });

  it('summarizes a population by hand', () => {
    // l(z) = [2, 2, 2, 1], L = 3, N = 4
    const d = diversitySummary([m('1100'), m('0011'), m('1110')]);
    expect(d.meanAccuracy).toBeCloseTo(7 / 12, 12);
    expect(d.oracleAccuracy).toBe(1);
    expect(d.disagreement).toBeCloseTo((1 + 0.25 + 0.75) / 3, 12);
    expect(d.doubleFault).toBeCloseTo((0 + 0.25 + 0) / 3, 12);
    expect(d.kohaviWolpert).toBeCloseTo(8 / 36, 12);
    expect(d.kohaviWolpert).toBeCloseTo(((3 - 1) / (2 * 3)) * d.disagreement, 12);
    expect(d.entropy).toBe(1);
  });

  it('mask correlation matrix equals Pearson (and Spearman) on the masks; constant masks are NaN', () => {
    const rng = new Rng(9);
    const masks = Array.from({ length: 4 }, () => Uint8Array.from({ length: 50 }, () => Number(rng.next() < 0.7)));
    masks.push(new Uint8Array(50).fill(1));
    const fast = maskCorrelationMatrix(masks);
    const pearson = correlationMatrix(masks).matrix;
    const spearman = correlationMatrix(masks, undefined, 'spearman').matrix;
    for (let i = 0; i < 5; i++) {
      for (let k = 0; k < 5; k++) {
        const want = pearson[i]?.[k] as number;
        if (Number.isNaN(want)) expect(fast[i]?.[k]).toBeNaN();
        else {
          expect(fast[i]?.[k]).toBeCloseTo(want, 10);
          expect(spearman[i]?.[k]).toBeCloseTo(want, 10);
        }
      }
    }
    expect(fast[4]?.[4]).toBeNaN();
  });
});
