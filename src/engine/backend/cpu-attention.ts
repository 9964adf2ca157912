import type { AttentionArgs, AttentionBackwardArgs } from './types.js';

/**
 * Reference scaled dot-product attention in plain JavaScript.
 *
 * Layouts (row-major): q and out are [batch][seqQ][heads][headDim]; k and v are [batch][seqK][kvHeads][headDim];
 * probs is [batch][heads][seqQ][seqK]. Query head h reads kv head ⌊h / (heads/kvHeads)⌋ (grouped-query attention).
 * With `causal`, query position i sees key positions j ≤ i only; masked probabilities are stored as exact zeros,
 * so backward needs no mask of its own.
 */
export function attentionJs(args: AttentionArgs): void {
  const { q, k, v, out, probs, batch, heads, kvHeads, seqQ, seqK, headDim, causal, scale } = args;
  checkGrouping(heads, kvHeads);
  const group = heads / kvHeads;
  const qRow = heads * headDim;
  const kvRow = kvHeads * headDim;
  const scores = new Float64Array(seqK);
  out.fill(0, 0, batch * seqQ * qRow);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group);
      const kvBase = b * seqK * kvRow + kvh * headDim;
      for (let i = 0; i < seqQ; i++) {
        const qOff = (b * seqQ + i) * qRow + h * headDim;
        const pOff = ((b * heads + h) * seqQ + i) * seqK;
        const visible = causal ? Math.min(i + 1, seqK) : seqK;
        let max = -Infinity;
        for (let j = 0; j < visible; j++) {
          const kOff = kvBase + j * kvRow;
          let s = 0;
          for (let d = 0; d < headDim; d++) s += q[qOff + d]! * k[kOff + d]!;
          s *= scale;
          scores[j] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let j = 0; j < visible; j++) {
          const e = Math.exp(scores[j]! - max);
          scores[j] = e;
          sum += e;
        }
        for (let j = 0; j < seqK; j++) {
          const p = j < visible ? scores[j]! / sum : 0;
          probs[pOff + j] = p;
          if (p === 0) continue;
          const vOff = kvBase + j * kvRow;
          for (let d = 0; d < headDim; d++) out[qOff + d] += p * v[vOff + d]!;
        }
      }
    }
  }
}

/**
 * Gradients of `attentionJs` from the probs it saved: dV = Pᵀ·dOut, dP = dOut·Vᵀ, dS = P⊙(dP − rowsum(P⊙dP)),
 * dQ = scale·dS·K, dK = scale·dSᵀ·Q. Query heads sharing a kv head add into the same dK/dV slice.
 */
export function attentionBackwardJs(args: AttentionBackwardArgs): void {
  const { q, k, v, probs, dOut, dq, dk, dv, batch, heads, kvHeads, seqQ, seqK, headDim, scale } = args;
  checkGrouping(heads, kvHeads);
  const group = heads / kvHeads;
  const qRow = heads * headDim;
  const kvRow = kvHeads * headDim;
  dq.fill(0, 0, batch * seqQ * qRow);
  dk.fill(0, 0, batch * seqK * kvRow);
  dv.fill(0, 0, batch * seqK * kvRow);
  const dScores = new Float64Array(seqK);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group);
      const kvBase = b * seqK * kvRow + kvh * headDim;
      for (let i = 0; i < seqQ; i++) {
        const qOff = (b * seqQ + i) * qRow + h * headDim;
        const pOff = ((b * heads + h) * seqQ + i) * seqK;
        let dot = 0; // Σ_j P_ij·dP_ij
        for (let j = 0; j < seqK; j++) {
          const p = probs[pOff + j]!;
          if (p === 0) {
            dScores[j] = 0;
            continue;
          }
          const vOff = kvBase + j * kvRow;
          let dp = 0;
          for (let d = 0; d < headDim; d++) {
            const g = dOut[qOff + d]!;
            dp += g * v[vOff + d]!;
            dv[vOff + d] += p * g;
          }
          dScores[j] = dp;
          dot += p * dp;
        }
        for (let j = 0; j < seqK; j++) {
          const p = probs[pOff + j]!;
          if (p === 0) continue;
          const ds = p * (dScores[j]! - dot) * scale;
          const kOff = kvBase + j * kvRow;
          for (let d = 0; d < headDim; d++) {
            dq[qOff + d] += ds * k[kOff + d]!;
            dk[kOff + d] += ds * q[qOff + d]!;
          }
        }
      }
    }
  }
}

function checkGrouping(heads: number, kvHeads: number): void {
  if (!(kvHeads >= 1) || heads % kvHeads !== 0) {
    throw new Error(`attention: kvHeads (${kvHeads}) must be a positive divisor of heads (${heads})`);
  }
}
