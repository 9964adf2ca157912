// WebAssembly SIMD matrix multiply, compiled by AssemblyScript at install time (scripts/build-wasm.mjs).
//
//   C[m×n] (+)= op(A)·op(B), all row-major f32 in this module's memory; op(A) is m×k (A is k×m when transA),
//   op(B) is k×n (B is n×k when transB).
//
// The JS side (src/engine/backend/cpu-wasm.ts) only copies the operands in and C out. Everything else happens
// here, in the classic GotoBLAS shape: blocks of B (KC×NC) and A (MC×KC) are packed into panels (which absorbs
// the transposes and the zero padding of ragged edges), and a 4×8 register-blocked micro-kernel walks them.
// Edge tiles are computed in a small scratch tile and only their valid part is added back into C.
//
// Built twice (scripts/build-wasm.mjs): matmul.wasm with plain SIMD (mul then add, two roundings) and
// matmul-relaxed.wasm with relaxed SIMD, where `madd` is f32x4.relaxed_madd (one FMA instruction on x86 with FMA,
// one rounding). The JS side picks the relaxed build when the runtime validates relaxed SIMD (Node >= 22).

// Rows of C per micro-kernel. 4×8 keeps 8 accumulators, 2 B vectors and 4 splats in V8's 15 usable xmm
// registers; 6×8 and a 2× unrolled depth loop were measured too: V8 spills them and they run ~40% slower.
const MR: i32 = 4;
const NR: i32 = 8; // columns of C per micro-kernel: two f32x4
const KC: i32 = 256; // depth of a block: an MR×KC A panel (4 KiB) and a KC×NR B panel (8 KiB) stay in L1
const MC: i32 = 96; // rows of A per packed block (96 KiB, in L2)
const NC: i32 = 512; // columns of B per packed block (512 KiB, in L2/L3)

/** Bytes of scratch `work` must provide: packed A block, packed B block, and one edge tile. */
export function workBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) << 2;
}

/** C (+)= op(A)·op(B); `work` points at workBytes() of scratch. */
export function matmul(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, transA: bool, transB: bool, accumulate: bool, work: usize): void {
  if (!accumulate) memory.fill(c, 0, (<usize>m * <usize>n) << 2);
  if (k == 0) return;
  const packedA = work;
  const packedB = packedA + (<usize>(MC * KC) << 2);
  const tile = packedB + (<usize>(KC * NC) << 2);
  for (let jc: i32 = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc: i32 = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      packB(b, packedB, n, k, pc, kc, jc, nc, transB);
      for (let ic: i32 = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packA(a, packedA, m, k, ic, mc, pc, kc, transA);
        for (let jr: i32 = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const bPanel = packedB + (<usize>(jr * kc) << 2);
          for (let ir: i32 = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const aPanel = packedA + (<usize>(ir * kc) << 2);
            const cTile = c + ((<usize>(ic + ir) * <usize>n + <usize>(jc + jr)) << 2);
            if (rows == MR && cols == NR) {
              microKernel(kc, aPanel, bPanel, cTile, n);
            } else {
              copyTile(cTile, n, tile, NR, rows, cols, true);
              microKernel(kc, aPanel, bPanel, tile, NR);
              copyTile(tile, NR, cTile, n, rows, cols, false);
            }
          }
        }
      }
    }
  }
}

/** a·b + c per lane: fused (relaxed SIMD build) or multiply then add (plain SIMD build). */
// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** C tile[MR×NR] += aPanel(kc×MR, interleaved) · bPanel(kc×NR, interleaved); C rows are `ldc` floats apart. */
// @ts-ignore: decorator
@inline
function microKernel(kc: i32, aPanel: usize, bPanel: usize, c: usize, ldc: i32): void {
  const stride = <usize>ldc << 2;
  const c0 = c;
  const c1 = c0 + stride;
  const c2 = c1 + stride;
  const c3 = c2 + stride;
  let s00 = v128.load(c0), s01 = v128.load(c0, 16);
  let s10 = v128.load(c1), s11 = v128.load(c1, 16);
  let s20 = v128.load(c2), s21 = v128.load(c2, 16);
  let s30 = v128.load(c3), s31 = v128.load(c3, 16);
  let ap = aPanel;
  let bp = bPanel;
  for (let p: i32 = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let x = v128.load32_splat(ap);
    s00 = madd(x, b0, s00);
    s01 = madd(x, b1, s01);
    x = v128.load32_splat(ap, 4);
    s10 = madd(x, b0, s10);
    s11 = madd(x, b1, s11);
    x = v128.load32_splat(ap, 8);
    s20 = madd(x, b0, s20);
    s21 = madd(x, b1, s21);
    x = v128.load32_splat(ap, 12);
    s30 = madd(x, b0, s30);
    s31 = madd(x, b1, s31);
    ap += MR << 2;
    bp += NR << 2;
  }
  v128.store(c0, s00); v128.store(c0, s01, 16);
  v128.store(c1, s10); v128.store(c1, s11, 16);
  v128.store(c2, s20); v128.store(c2, s21, 16);
  v128.store(c3, s30); v128.store(c3, s31, 16);
}

/**
 * Packs rows ic..ic+mc, depths pc..pc+kc of op(A) into panels of MR rows: panel r holds, for each depth p, the MR
 * values op(A)[ic + r·MR + i][pc + p] contiguously (rows past m are zero).
 */
function packA(a: usize, dst: usize, m: i32, k: i32, ic: i32, mc: i32, pc: i32, kc: i32, transA: bool): void {
  for (let ir: i32 = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    const panel = dst + (<usize>(ir * kc) << 2);
    if (transA) {
      // A is k×m: the MR values for one depth are contiguous in a row of A.
      let src = a + ((<usize>pc * <usize>m + <usize>(ic + ir)) << 2);
      for (let p: i32 = 0; p < kc; p++) {
        const out = panel + (<usize>(p * MR) << 2);
        if (rows == MR) {
          v128.store(out, v128.load(src));
        } else {
          for (let i: i32 = 0; i < MR; i++) store<f32>(out + (<usize>i << 2), i < rows ? load<f32>(src + (<usize>i << 2)) : 0);
        }
        src += <usize>m << 2;
      }
    } else {
      // A is m×k: gather one value from each of MR rows per depth.
      for (let i: i32 = 0; i < MR; i++) {
        const out = panel + (<usize>i << 2);
        if (i < rows) {
          const src = a + ((<usize>(ic + ir + i) * <usize>k + <usize>pc) << 2);
          for (let p: i32 = 0; p < kc; p++) store<f32>(out + (<usize>(p * MR) << 2), load<f32>(src + (<usize>p << 2)));
        } else {
          for (let p: i32 = 0; p < kc; p++) store<f32>(out + (<usize>(p * MR) << 2), 0);
        }
      }
    }
  }
}

/** Packs depths pc..pc+kc, columns jc..jc+nc of op(B) into panels of NR columns, each kc×NR contiguous (zero-padded). */
function packB(b: usize, dst: usize, n: i32, k: i32, pc: i32, kc: i32, jc: i32, nc: i32, transB: bool): void {
  for (let jr: i32 = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const panel = dst + (<usize>(jr * kc) << 2);
    if (!transB) {
      // B is k×n: the NR values for one depth are contiguous in a row of B.
      let src = b + ((<usize>pc * <usize>n + <usize>(jc + jr)) << 2);
      for (let p: i32 = 0; p < kc; p++) {
        const out = panel + (<usize>(p * NR) << 2);
        if (cols == NR) {
          v128.store(out, v128.load(src));
          v128.store(out, v128.load(src, 16), 16);
        } else {
          for (let j: i32 = 0; j < NR; j++) store<f32>(out + (<usize>j << 2), j < cols ? load<f32>(src + (<usize>j << 2)) : 0);
        }
        src += <usize>n << 2;
      }
    } else {
      // B is n×k: gather one value from each of NR rows per depth.
      for (let j: i32 = 0; j < NR; j++) {
        const out = panel + (<usize>j << 2);
        if (j < cols) {
          const src = b + ((<usize>(jc + jr + j) * <usize>k + <usize>pc) << 2);
          for (let p: i32 = 0; p < kc; p++) store<f32>(out + (<usize>(p * NR) << 2), load<f32>(src + (<usize>p << 2)));
        } else {
          for (let p: i32 = 0; p < kc; p++) store<f32>(out + (<usize>(p * NR) << 2), 0);
        }
      }
    }
  }
}

/** Copies the rows×cols corner between C and the edge tile; when `clearRest`, the tile's other entries become 0. */
function copyTile(src: usize, ldSrc: i32, dst: usize, ldDst: i32, rows: i32, cols: i32, clearRest: bool): void {
  if (clearRest) memory.fill(dst, 0, <usize>(MR * NR) << 2);
  for (let i: i32 = 0; i < rows; i++) {
    memory.copy(dst + (<usize>(i * ldDst) << 2), src + (<usize>(i * ldSrc) << 2), <usize>cols << 2);
  }
}
