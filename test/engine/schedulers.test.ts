import { describe, expect, it } from 'vitest';
import {
  constant,
  cosine,
  cosineWarmRestarts,
  exponential,
  linear,
  makeSchedule,
  polynomial,
  stepDecay,
  warmup,
} from '../../src/engine/train/schedulers.js';

describe('schedules match LOOM reference values (§6.3)', () => {
  it('at step 500', () => {
    expect(linear(0.01, 1e-4, 1000)(500)).toBeCloseTo(0.00505, 10);
    expect(cosine(0.01, 1e-4, 1000)(500)).toBeCloseTo(0.00505, 10);
    expect(exponential(0.01, 0.9, 100)(500)).toBeCloseTo(0.0059049, 10);
    expect(stepDecay(0.01, 0.5, 100)(500)).toBeCloseTo(0.0003125, 10);
    expect(polynomial(0.01, 1e-4, 1000, 2)(500)).toBeCloseTo(0.002575, 10);
  });

  it('warmup(100, 0 → 0.01)', () => {
    const s = warmup(100, 0, constant(0.01));
    expect(s(0)).toBe(0);
    expect(s(50)).toBeCloseTo(0.005, 10);
    expect(s(150)).toBe(0.01);
  });
});

describe('schedules at their ends and in between', () => {
  it('linear, cosine and polynomial start at `from` and hold `to` after the end', () => {
    for (const s of [linear(0.1, 0.001, 10), cosine(0.1, 0.001, 10), polynomial(0.1, 0.001, 10, 3)]) {
      expect(s(0)).toBeCloseTo(0.1, 12);
      expect(s(10)).toBeCloseTo(0.001, 12);
      expect(s(1000)).toBeCloseTo(0.001, 12);
    }
    // cosine at a quarter: min + (from − min)(1 + cos(π/4))/2
    expect(cosine(1, 0, 100)(25)).toBeCloseTo((1 + Math.SQRT1_2) / 2, 12);
    expect(polynomial(1, 0, 10, 1)(3)).toBeCloseTo(0.7, 12);
  });

  it('exponential is continuous, step decay is a staircase', () => {
    expect(exponential(1, 0.5, 10)(5)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(stepDecay(1, 0.5, 10)(9)).toBe(1);
    expect(stepDecay(1, 0.5, 10)(10)).toBe(0.5);
  });

  it('cosine warm restarts return to the top every period', () => {
    const s = cosineWarmRestarts(1, 0, 10);
    expect(s(0)).toBe(1);
    expect(s(5)).toBeCloseTo(0.5, 12);
    expect(s(10)).toBe(1);
    expect(s(25)).toBeCloseTo(0.5, 12);
    // periods of 10, 20, 40: restarts at 10 and 30; step 20 is halfway through the second
    const growing = cosineWarmRestarts(1, 0, 10, 2);
    expect(growing(10)).toBe(1);
    expect(growing(20)).toBeCloseTo(0.5, 12);
    expect(growing(30)).toBe(1);
    expect(growing(50)).toBeCloseTo(0.5, 12);
  });

  it('warmup wraps any schedule and shifts it by the warmup length', () => {
    const s = warmup(10, 0.001, cosine(0.1, 0, 100));
    expect(s(0)).toBe(0.001);
    expect(s(5)).toBeCloseTo(0.001 + (0.1 - 0.001) / 2, 12);
    expect(s(10)).toBeCloseTo(0.1, 12);
    expect(s(60)).toBeCloseTo(0.05, 12);
    expect(s(110)).toBe(0);
  });
});

describe('makeSchedule (JSON form)', () => {
  it('spans the run by default and decays to 1% of the base rate', () => {
    const s = makeSchedule('cosine', 0.1, 200);
    expect(s(0)).toBeCloseTo(0.1, 12);
    expect(s(200)).toBeCloseTo(0.001, 12);
    expect(makeSchedule('linear', 0.1, 200)(100)).toBeCloseTo(0.0505, 12);
    expect(makeSchedule('constant', 0.1, 200)(150)).toBe(0.1);
  });

  it('builds warmup-then-cosine over the remaining steps', () => {
    const s = makeSchedule({ type: 'warmup', steps: 20, then: { type: 'cosine', min: 0 } }, 0.1, 120);
    expect(s(10)).toBeCloseTo(0.05, 12);
    expect(s(20)).toBeCloseTo(0.1, 12);
    expect(s(70)).toBeCloseTo(0.05, 12);
    expect(s(120)).toBe(0);
  });

  it('rejects unknown types and bad numbers', () => {
    expect(() => makeSchedule({ type: 'triangle' } as never, 0.1, 10)).toThrow(/unknown schedule "triangle"/);
    expect(() => makeSchedule({ type: 'step', gamma: 0.5, every: 0 }, 0.1, 10)).toThrow(/every/);
    expect(() => makeSchedule('warmup', 0.1, 10)).toThrow(/needs a length/);
  });
});
