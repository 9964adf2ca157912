import { expect } from 'vitest';
import type { MatmulArgs } from '../../src/engine/backend/types.js';

/** C = op(A)·op(B) (+ C) straight from MatmulArgs' definition, in float64: what every kernel path is checked against. */
export function matmulReference(args: MatmulArgs): Float32Array {
  const { a, b, m, n, k } = args;
  const ao = args.aOffset ?? 0;
  const bo = args.bOffset ?? 0;
  const co = args.cOffset ?? 0;
  const c = Float32Array.from(args.c);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = args.accumulate ? (c[co + i * n + j] as number) : 0;
      for (let p = 0; p < k; p++) {
        const x = args.transA ? a[ao + p * m + i] : a[ao + i * k + p];
        const y = args.transB ? b[bo + j * k + p] : b[bo + p * n + j];
        sum += (x as number) * (y as number);
      }
      c[co + i * n + j] = sum;
    }
  }
  return c;
}

/** The largest elementwise difference of two equally long arrays (the length is asserted). */
export function maxAbsDiff(x: Float32Array, y: Float32Array): number {
  expect(x.length).toBe(y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs((x[i] as number) - (y[i] as number)));
  return worst;
}
