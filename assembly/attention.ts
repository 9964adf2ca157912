// WebAssembly SIMD scaled dot-product attention core, every batch and head in one call (built like matmul.ts:
// plain SIMD and relaxed SIMD). Same layouts and maths as src/engine/backend/cpu-attention.ts, the reference:
// q and out [batch][seqQ][heads·headDim], k and v [batch][seqK][kvHeads·headDim], probs [batch][heads][seqQ][seqK];
// query head h reads kv head ⌊h / (heads/kvHeads)⌋; with causal, masked probabilities are exact zeros.
// The per-head products are tiny (seq × headDim, e.g. 16 × 16), so a call per product would cost more in calls
// and copies than the arithmetic: this walks them all in place, vectorised along headDim.

// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** Σ_d x[d]·y[d] over n floats. */
// @ts-ignore: decorator
@inline
function dot(x: usize, y: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let d: i32 = 0;
  for (; d + 4 <= n; d += 4) acc = madd(v128.load(x + (<usize>d << 2)), v128.load(y + (<usize>d << 2)), acc);
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; d < n; d++) s += load<f32>(x + (<usize>d << 2)) * load<f32>(y + (<usize>d << 2));
  return s;
}

/** dst[d] += a·src[d] over n floats. */
// @ts-ignore: decorator
@inline
function axpy(dst: usize, a: f32, src: usize, n: i32): void {
  const av = f32x4.splat(a);
  let d: i32 = 0;
  for (; d + 4 <= n; d += 4) {
    const o = <usize>d << 2;
    v128.store(dst + o, madd(av, v128.load(src + o), v128.load(dst + o)));
  }
  for (; d < n; d++) {
    const o = <usize>d << 2;
    store<f32>(dst + o, load<f32>(dst + o) + a * load<f32>(src + o));
  }
}

export function attention(q: usize, k: usize, v: usize, out: usize, probs: usize, batch: i32, heads: i32, kvHeads: i32, seqQ: i32, seqK: i32, headDim: i32, causal: bool, scale: f32): void {
  const group = heads / kvHeads;
  const qRow = heads * headDim;
  const kvRow = kvHeads * headDim;
  memory.fill(out, 0, (<usize>batch * <usize>seqQ * <usize>qRow) << 2);
  for (let b: i32 = 0; b < batch; b++) {
    for (let h: i32 = 0; h < heads; h++) {
      const kvBase = <usize>(b * seqK * kvRow + (h / group) * headDim);
      for (let i: i32 = 0; i < seqQ; i++) {
        const qAt = q + (<usize>((b * seqQ + i) * qRow + h * headDim) << 2);
        const outAt = out + (<usize>((b * seqQ + i) * qRow + h * headDim) << 2);
        const pAt = probs + (<usize>(((b * heads + h) * seqQ + i) * seqK) << 2);
        const visible = causal ? min(i + 1, seqK) : seqK;
        let max: f32 = -Infinity;
        for (let j: i32 = 0; j < visible; j++) {
          const s = dot(qAt, k + ((kvBase + <usize>(j * kvRow)) << 2), headDim) * scale;
          store<f32>(pAt + (<usize>j << 2), s);
          if (s > max) max = s;
        }
        let sum: f32 = 0;
        for (let j: i32 = 0; j < visible; j++) {
          const e = Mathf.exp(load<f32>(pAt + (<usize>j << 2)) - max);
          store<f32>(pAt + (<usize>j << 2), e);
          sum += e;
        }
        const inv: f32 = 1 / sum;
        for (let j: i32 = 0; j < seqK; j++) {
          const p: f32 = j < visible ? load<f32>(pAt + (<usize>j << 2)) * inv : 0;
          store<f32>(pAt + (<usize>j << 2), p);
          if (p != 0) axpy(outAt, p, v + ((kvBase + <usize>(j * kvRow)) << 2), headDim);
        }
      }
    }
  }
}

/** Gradients from the saved probs (see attentionBackwardJs); dq, dk, dv are overwritten. `work` holds seqK floats. */
export function attentionBackward(q: usize, k: usize, v: usize, probs: usize, dOut: usize, dq: usize, dk: usize, dv: usize, batch: i32, heads: i32, kvHeads: i32, seqQ: i32, seqK: i32, headDim: i32, scale: f32, work: usize): void {
  const group = heads / kvHeads;
  const qRow = heads * headDim;
  const kvRow = kvHeads * headDim;
  memory.fill(dq, 0, (<usize>batch * <usize>seqQ * <usize>qRow) << 2);
  memory.fill(dk, 0, (<usize>batch * <usize>seqK * <usize>kvRow) << 2);
  memory.fill(dv, 0, (<usize>batch * <usize>seqK * <usize>kvRow) << 2);
  for (let b: i32 = 0; b < batch; b++) {
    for (let h: i32 = 0; h < heads; h++) {
      const kvBase = <usize>(b * seqK * kvRow + (h / group) * headDim);
      for (let i: i32 = 0; i < seqQ; i++) {
        const qOff = <usize>((b * seqQ + i) * qRow + h * headDim) << 2;
        const pAt = probs + (<usize>(((b * heads + h) * seqQ + i) * seqK) << 2);
        let total: f32 = 0; // Σ_j P_ij·dP_ij
        for (let j: i32 = 0; j < seqK; j++) {
          const p = load<f32>(pAt + (<usize>j << 2));
          if (p == 0) {
            store<f32>(work + (<usize>j << 2), 0);
            continue;
          }
          const vOff = (kvBase + <usize>(j * kvRow)) << 2;
          const dp = dot(dOut + qOff, v + vOff, headDim);
          axpy(dv + vOff, p, dOut + qOff, headDim);
          store<f32>(work + (<usize>j << 2), dp);
          total += p * dp;
        }
        for (let j: i32 = 0; j < seqK; j++) {
          const p = load<f32>(pAt + (<usize>j << 2));
          if (p == 0) continue;
          const ds = p * (load<f32>(work + (<usize>j << 2)) - total) * scale;
          const kOff = (kvBase + <usize>(j * kvRow)) << 2;
          axpy(dq + qOff, ds, k + kOff, headDim);
          axpy(dk + kOff, ds, q + qOff, headDim);
        }
      }
    }
  }
}
