/**
 * Rotary position embedding in the Hugging Face "rotate half" convention: for position p and frequency i < d/2,
 * angle = p·θ^(−2i/d); x' = x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁] over the two halves of a head.
 * Shared by the attention layer (whole sequences) and the key/value-cached decoder (one position at a time), so
 * both rotate with the very same float32 tables.
 */
export interface RopeTables {
  readonly headDim: number;
  readonly positions: number;
  /** [positions][headDim/2] */
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

export function ropeTables(positions: number, headDim: number, theta: number): RopeTables {
  const half = headDim / 2;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * theta ** ((-2 * i) / headDim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { headDim, positions, cos, sin };
}

/**
 * Rotates every head of every row of `t` ([rows][headCount·headDim]) in place; row r sits at position
 * `positionOf(r)`. direction −1 applies the inverse rotation (the backward of this orthogonal map).
 */
export function applyRope(t: Float32Array, headCount: number, tables: RopeTables, positionOf: (row: number) => number, direction: 1 | -1 = 1): void {
  const { headDim, cos, sin } = tables;
  const half = headDim / 2;
  const rowSize = headCount * headDim;
  const rows = t.length / rowSize;
  for (let r = 0; r < rows; r++) {
    const table = positionOf(r) * half;
    for (let h = 0; h < headCount; h++) {
      const base = r * rowSize + h * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[table + i] as number;
        const s = direction * (sin[table + i] as number);
        const a = t[base + i] as number;
        const b = t[base + half + i] as number;
        t[base + i] = a * c - b * s;
        t[base + half + i] = b * c + a * s;
      }
    }
  }
}
