import type { MatmulArgs } from './types.js';

/**
 * Reference matrix multiply in plain JavaScript: i-k-j loop order so the inner loop runs along contiguous rows.
 * Transposed operands are handled by index arithmetic, never by materializing a copy of A.
 */
export function matmulJs(args: MatmulArgs): void {
  const { a, b, c, m, n, k } = args;
  const ao = args.aOffset ?? 0;
  const bo = args.bOffset ?? 0;
  const co = args.cOffset ?? 0;
  const transA = args.transA ?? false;
  const transB = args.transB ?? false;
  if (!args.accumulate) c.fill(0, co, co + m * n);
  if (!transB) {
    for (let i = 0; i < m; i++) {
      const cRow = co + i * n;
      for (let p = 0; p < k; p++) {
        const aip = transA ? a[ao + p * m + i] : a[ao + i * k + p];
        if (aip === 0) continue;
        const bRow = bo + p * n;
        for (let j = 0; j < n; j++) c[cRow + j] += aip * b[bRow + j];
      }
    }
    return;
  }
  // B is n×k: C[i][j] = Σ_p A[i][p]·B[j][p], a dot product of two contiguous rows when A is not transposed.
  for (let i = 0; i < m; i++) {
    const cRow = co + i * n;
    for (let j = 0; j < n; j++) {
      const bRow = bo + j * k;
      let sum = 0;
      if (transA) for (let p = 0; p < k; p++) sum += a[ao + p * m + i] * b[bRow + p];
      else {
        const aRow = ao + i * k;
        for (let p = 0; p < k; p++) sum += a[aRow + p] * b[bRow + p];
      }
      c[cRow + j] += sum;
    }
  }
}
