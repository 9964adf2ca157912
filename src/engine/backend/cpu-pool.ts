import type { MaxPool2x2Args } from './types.js';

/**
 * 2×2 max pooling in plain JavaScript: the reference for Backend.maxPool2x2 and what layers/pool.ts runs when the
 * backend has none. Indexed directly (no window table); the winner is the first of (0,0), (0,1), (1,0), (1,1) on ties,
 * and NaN never displaces a value, as the pool layer's general loop.
 */
export function maxPool2x2Js({ x, y, argmax, planes, h, w }: MaxPool2x2Args): void {
  const oh = Math.floor(h / 2);
  const ow = Math.floor(w / 2);
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * h * w;
    for (let r = 0; r < oh; r++) {
      const row0 = base + 2 * r * w;
      const row1 = row0 + w;
      for (let q = 0; q < ow; q++) {
        let best = row0 + 2 * q;
        let bestValue = x[best] as number;
        const i1 = best + 1;
        const v1 = x[i1] as number;
        const l1 = v1 > bestValue;
        best = l1 ? i1 : best;
        bestValue = l1 ? v1 : bestValue;
        const i2 = row1 + 2 * q;
        const v2 = x[i2] as number;
        const l2 = v2 > bestValue;
        best = l2 ? i2 : best;
        bestValue = l2 ? v2 : bestValue;
        const i3 = i2 + 1;
        const v3 = x[i3] as number;
        const l3 = v3 > bestValue;
        best = l3 ? i3 : best;
        bestValue = l3 ? v3 : bestValue;
        y[o] = bestValue;
        argmax[o++] = best;
      }
    }
  }
}
