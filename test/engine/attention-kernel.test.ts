import { describe, expect, it } from 'vitest';
import { attentionBackwardJs, attentionJs } from '../../src/engine/backend/cpu-attention.js';
import { attentionBackwardNative, attentionNative, nativeAvailable } from '../../src/engine/backend/cpu-native.js';
import { attentionVariantsAvailable, attentionWasmVariant } from '../../src/engine/backend/cpu-wasm-attention.js';
import type { AttentionArgs, AttentionBackwardArgs } from '../../src/engine/backend/types.js';
import { makeParam, type Param } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { expectGradientsMatch } from '../helpers/gradcheck.js';

interface Sizes {
  batch: number;
  heads: number;
  kvHeads: number;
  seqQ: number;
  seqK: number;
  headDim: number;
  causal: boolean;
}

const random = (n: number, rng: Rng): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-1.5, 1.5));

/** Straightforward attention written from the definition: nested arrays, float64, mask as −Infinity. */
function naiveAttention(q: Float32Array, k: Float32Array, v: Float32Array, s: Sizes, scale: number): { out: number[]; probs: number[] } {
  const out = new Array<number>(s.batch * s.seqQ * s.heads * s.headDim).fill(0);
  const probs: number[] = [];
  const qAt = (b: number, i: number, h: number, d: number): number => q[((b * s.seqQ + i) * s.heads + h) * s.headDim + d]!;
  const kvAt = (t: Float32Array, b: number, j: number, h: number, d: number): number => t[((b * s.seqK + j) * s.kvHeads + h) * s.headDim + d]!;
  for (let b = 0; b < s.batch; b++) {
    for (let h = 0; h < s.heads; h++) {
      const kvh = Math.floor((h * s.kvHeads) / s.heads);
      for (let i = 0; i < s.seqQ; i++) {
        const logits: number[] = [];
        for (let j = 0; j < s.seqK; j++) {
          let dot = 0;
          for (let d = 0; d < s.headDim; d++) dot += qAt(b, i, h, d) * kvAt(k, b, j, kvh, d);
          logits.push(s.causal && j > i ? -Infinity : dot * scale);
        }
        const max = Math.max(...logits);
        const exps = logits.map((l) => Math.exp(l - max));
        const total = exps.reduce((a, c) => a + c, 0);
        const p = exps.map((e) => e / total);
        probs.push(...p);
        for (let d = 0; d < s.headDim; d++) {
          let acc = 0;
          for (let j = 0; j < s.seqK; j++) acc += p[j]! * kvAt(v, b, j, kvh, d);
          out[((b * s.seqQ + i) * s.heads + h) * s.headDim + d] = acc;
        }
      }
    }
  }
  return { out, probs };
}

interface Impl {
  forward: (args: AttentionArgs) => void;
  backward: (args: AttentionBackwardArgs) => void;
}
/** The JS reference, every WebAssembly variant this runtime loads (relaxed SIMD on Node >= 22), and the native addon where built. */
const impls: [string, Impl][] = [
  ['cpu-js', { forward: attentionJs, backward: attentionBackwardJs }],
  ...attentionVariantsAvailable().map((v) => [`wasm ${v}`, attentionWasmVariant(v)] as [string, Impl]),
  ...(nativeAvailable() ? [['cpu-native', { forward: attentionNative, backward: attentionBackwardNative }] as [string, Impl]] : []),
];

function run(s: Sizes, seed: number, impl: Impl): { args: AttentionArgs; ref: { out: number[]; probs: number[] } } {
  const rng = new Rng(seed);
  const q = random(s.batch * s.seqQ * s.heads * s.headDim, rng);
  const k = random(s.batch * s.seqK * s.kvHeads * s.headDim, rng);
  const v = random(s.batch * s.seqK * s.kvHeads * s.headDim, rng);
  const scale = 1 / Math.sqrt(s.headDim);
  const args: AttentionArgs = {
    ...s, q, k, v, scale,
    out: new Float32Array(q.length).fill(99), // stale values must be overwritten
    probs: new Float32Array(s.batch * s.heads * s.seqQ * s.seqK),
  };
  impl.forward(args);
  return { args, ref: naiveAttention(q, k, v, s, scale) };
}

const cases: Sizes[] = [
  { batch: 1, heads: 1, kvHeads: 1, seqQ: 1, seqK: 1, headDim: 3, causal: false },
  { batch: 2, heads: 2, kvHeads: 2, seqQ: 4, seqK: 4, headDim: 3, causal: false },
  { batch: 2, heads: 4, kvHeads: 2, seqQ: 5, seqK: 5, headDim: 2, causal: true },
  { batch: 1, heads: 4, kvHeads: 1, seqQ: 3, seqK: 6, headDim: 4, causal: false },
  { batch: 3, heads: 3, kvHeads: 3, seqQ: 6, seqK: 6, headDim: 5, causal: true },
  { batch: 2, heads: 2, kvHeads: 1, seqQ: 7, seqK: 7, headDim: 8, causal: false }, // whole SIMD vectors
  { batch: 1, heads: 2, kvHeads: 2, seqQ: 5, seqK: 3, headDim: 11, causal: true }, // vectors and a ragged tail
  { batch: 2, heads: 4, kvHeads: 2, seqQ: 17, seqK: 17, headDim: 16, causal: true }, // rows past one 8-wide vector of keys
  { batch: 1, heads: 2, kvHeads: 1, seqQ: 9, seqK: 19, headDim: 20, causal: false },
  // The addon keeps a row's sums in registers for heads of 8, 16, 24 and 32 (the others go through its generic loop).
  { batch: 2, heads: 3, kvHeads: 3, seqQ: 9, seqK: 9, headDim: 24, causal: true },
  { batch: 1, heads: 2, kvHeads: 1, seqQ: 10, seqK: 13, headDim: 32, causal: false },
];

/** The kernel as a Differentiable: q, k, v are its params, so the gradient checker probes dq, dk and dv. */
function kernelModel(s: Sizes, seed: number, impl: Impl): { forward: () => Tensor; backward: (dy: Tensor) => Tensor; params: () => Param[] } {
  const rng = new Rng(seed);
  const q = makeParam('q', [s.batch * s.seqQ * s.heads * s.headDim], random(s.batch * s.seqQ * s.heads * s.headDim, rng));
  const k = makeParam('k', [s.batch * s.seqK * s.kvHeads * s.headDim], random(s.batch * s.seqK * s.kvHeads * s.headDim, rng));
  const v = makeParam('v', [s.batch * s.seqK * s.kvHeads * s.headDim], random(s.batch * s.seqK * s.kvHeads * s.headDim, rng));
  const probs = new Float32Array(s.batch * s.heads * s.seqQ * s.seqK);
  const scale = 1 / Math.sqrt(s.headDim);
  return {
    params: () => [q, k, v],
    forward: () => {
      const out = new Float32Array(q.value.length);
      impl.forward({ ...s, q: q.value, k: k.value, v: v.value, out, probs, scale });
      return { data: out, shape: [s.batch, out.length / s.batch] };
    },
    backward: (dy) => {
      const dq = new Float32Array(q.value.length).fill(7); // stale values must be overwritten
      const dk = new Float32Array(k.value.length).fill(7);
      const dv = new Float32Array(v.value.length).fill(7);
      impl.backward({ ...s, q: q.value, k: k.value, v: v.value, probs, scale, dOut: dy.data, dq, dk, dv });
      for (const [p, g] of [[q, dq], [k, dk], [v, dv]] as const) for (let i = 0; i < g.length; i++) p.grad[i] += g[i]!;
      return { data: new Float32Array(0), shape: [s.batch, 0] };
    },
  };
}

describe.each(impls)('attention kernel (%s)', (_name, impl) => {
  cases.forEach((s, n) => {
    const label = `heads ${s.heads}/${s.kvHeads}, seq ${s.seqQ}×${s.seqK}, headDim ${s.headDim}${s.causal ? ', causal' : ''}`;

    it(`matches a naive reference: ${label}`, () => {
      const { args, ref } = run(s, 10 + n, impl);
      for (let i = 0; i < ref.out.length; i++) expect(args.out[i]).toBeCloseTo(ref.out[i]!, 5);
      for (let i = 0; i < ref.probs.length; i++) expect(args.probs[i]).toBeCloseTo(ref.probs[i]!, 6);
    });

    it(`backward matches finite differences: ${label}`, () => {
      const model = kernelModel(s, 20 + n, impl);
      const dummy: Tensor = { data: new Float32Array(0), shape: [s.batch, 0] };
      // seq 1 gives a probability of exactly 1, whose dq and dk are truly zero.
      const allowZero = s.seqK === 1 ? ['q', 'k'] : [];
      expectGradientsMatch(model, dummy, { skipInput: true, probes: 60, allowZero });
    });
  });

  it('causal: the first query sees only the first key, so its output is exactly that value row', () => {
    const s: Sizes = { batch: 1, heads: 2, kvHeads: 1, seqQ: 3, seqK: 3, headDim: 2, causal: true };
    const q = Float32Array.from([5, 0, 0, 5, 1, 1, 1, 1, 2, 2, 2, 2]);
    const k = Float32Array.from([0, 0, 1, 0, 0, 1]);
    const v = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const out = new Float32Array(12);
    const probs = new Float32Array(2 * 3 * 3);
    impl.forward({ ...s, q, k, v, out, probs, scale: 1 });
    // Both heads share kv head 0; row 0 of each head attends to key 0 only.
    expect(Array.from(out.subarray(0, 4))).toEqual([1, 2, 1, 2]);
    expect(Array.from(probs.subarray(0, 3))).toEqual([1, 0, 0]);
    expect(Array.from(probs.subarray(9, 12))).toEqual([1, 0, 0]);
    // Second query of head 0 (q = [1, 1]): scores 0 and 1 over keys 0 and 1, key 2 masked.
    const e = Math.exp(1);
    expect(probs[3]).toBeCloseTo(1 / (1 + e), 6);
    expect(probs[4]).toBeCloseTo(e / (1 + e), 6);
    expect(probs[5]).toBe(0);
  });

  it('rejects kvHeads that do not divide heads', () => {
    const s: Sizes = { batch: 1, heads: 3, kvHeads: 2, seqQ: 1, seqK: 1, headDim: 1, causal: false };
    const z = new Float32Array(8);
    expect(() => impl.forward({ ...s, q: z, k: z, v: z, out: z, probs: z, scale: 1 })).toThrow(/kvHeads \(2\).*heads \(3\)/);
  });

  it('forward and backward match cpu-js at the training bench size (batch 4, 4 heads, seq 16, headDim 16)', () => {
    const s: Sizes = { batch: 4, heads: 4, kvHeads: 4, seqQ: 16, seqK: 16, headDim: 16, causal: false };
    const rng = new Rng(5);
    const n = s.batch * s.seqQ * s.heads * s.headDim;
    const [q, k, v, dOut] = [random(n, rng), random(n, rng), random(n, rng), random(n, rng)];
    const common = { ...s, q, k, v, scale: 0.25 };
    const pLen = s.batch * s.heads * s.seqQ * s.seqK;
    const want = { out: new Float32Array(n), probs: new Float32Array(pLen), dq: new Float32Array(n), dk: new Float32Array(n), dv: new Float32Array(n) };
    const got = { out: new Float32Array(n), probs: new Float32Array(pLen), dq: new Float32Array(n), dk: new Float32Array(n), dv: new Float32Array(n) };
    attentionJs({ ...common, out: want.out, probs: want.probs });
    attentionBackwardJs({ ...common, probs: want.probs, dOut, dq: want.dq, dk: want.dk, dv: want.dv });
    impl.forward({ ...common, out: got.out, probs: got.probs });
    impl.backward({ ...common, probs: got.probs, dOut, dq: got.dq, dk: got.dk, dv: got.dv });
    for (const key of ['out', 'probs', 'dq', 'dk', 'dv'] as const) {
      let worst = 0;
      for (let i = 0; i < want[key].length; i++) worst = Math.max(worst, Math.abs(want[key][i]! - got[key][i]!));
      expect(worst, key).toBeLessThan(1e-5);
    }
  });
});
