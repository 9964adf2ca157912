import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, activationFns, activationGradInto, applyActivation } from '../../src/engine/activations.js';
import { Rng } from '../../src/engine/rng.js';

/** Inputs that catch a wrong bit trick: signed zeros, subnormals, infinities, NaNs of both signs, extremes, then random values. */
function edgeCases(n: number, seed: number): Float32Array {
  const special = [0, -0, 1e-45, -1e-45, 1.2e-38, -1.2e-38, 1, -1, Infinity, -Infinity, NaN, 3.4e38, -3.4e38, 0.5, -0.5];
  const a = new Float32Array(n);
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) a[i] = i < special.length ? (special[i] as number) : rng.uniform(-3, 3);
  new Int32Array(a.buffer)[n - 1] = -1; // a NaN with the sign bit set
  return a;
}

describe('activations: the fast loops agree with the scalar definitions', () => {
  const pre = edgeCases(257, 1);

  for (const act of ACTIVATIONS) {
    it(`${act}: f and dy·f′ to the bit (finite dy, every pre)`, () => {
      const { f, df } = activationFns[act];
      const y = new Float32Array(pre.length);
      applyActivation(act, pre, y);
      pre.forEach((v, i) => expect(Object.is(y[i], Math.fround(f(v))), `f(${v})`).toBe(true));
      // every special value of dy against every special value of pre, then random pairs
      const dy = new Float32Array(pre.length);
      for (let i = 0; i < dy.length; i++) dy[i] = Number.isFinite(pre[(i * 7) % pre.length] as number) ? (pre[(i * 7) % pre.length] as number) : 0.25;
      const g = new Float32Array(pre.length);
      activationGradInto(act, pre, dy, g);
      pre.forEach((v, i) => expect(Object.is(g[i], Math.fround((dy[i] as number) * df(v))), `dy ${dy[i]} · f'(${v})`).toBe(true));
      // in place gives the same
      const inPlace = dy.slice();
      activationGradInto(act, pre, inPlace, inPlace);
      expect(inPlace).toEqual(g);
    });
  }
});
