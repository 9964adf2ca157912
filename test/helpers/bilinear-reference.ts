/**
 * An independent reference for the bilinear augmentation layers: every plane of one sample (`image`, [planes, h, w]
 * flat) read bilinearly at the source point `source(r, c)` of each output pixel, the point clamped to the image so
 * what comes from outside repeats the nearest edge pixel.
 */
export function readBilinear(image: ArrayLike<number>, planes: number, h: number, w: number, source: (r: number, c: number) => readonly [number, number]): number[] {
  const at = (p: number, r: number, c: number): number => image[(p * h + Math.min(h - 1, Math.max(0, r))) * w + Math.min(w - 1, Math.max(0, c))] as number;
  const out: number[] = [];
  for (let p = 0; p < planes; p++) {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const [y, x] = source(r, c);
        const sy = Math.min(h - 1, Math.max(0, y));
        const sx = Math.min(w - 1, Math.max(0, x));
        const r0 = Math.floor(sy);
        const c0 = Math.floor(sx);
        const fy = sy - r0;
        const fx = sx - c0;
        out.push((1 - fy) * ((1 - fx) * at(p, r0, c0) + fx * at(p, r0, c0 + 1)) + fy * ((1 - fx) * at(p, r0 + 1, c0) + fx * at(p, r0 + 1, c0 + 1)));
      }
    }
  }
  return out;
}
