// WebAssembly SIMD LSTM forward over a whole sequence (built like matmul.ts: plain and relaxed SIMD). Same maths
// and layouts as the JS loop in src/engine/layers/lstm.ts: gates fused i, f, g, o along the last axis; time-major
// hs and cs [(seq+1)][batch][hidden] (step 0 is the zero state), gates (activated) [seq][batch][4·hidden], cellTanh
// [seq][batch][hidden]. Both products (x·W for every step at once, h_{t−1}·U per step) and the cell update run
// here, so a forward costs one call and no per-step copies. hidden must be a multiple of 4 (the JS side checks).
import { matmul, workBytes as matmulWorkBytes } from './matmul';

export function workBytes(): i32 {
  return matmulWorkBytes();
}

// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/**
 * e^x per lane (Cephes expf: range reduction by ln 2, degree-5 polynomial, 2^n from the exponent bits); within
 * 2 ulp of Math.exp over [−87, 88], inputs clamped to that range.
 */
// @ts-ignore: decorator
@inline
function exp4(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.0)), f32x4.splat(88.0));
  const n = f32x4.floor(madd(x, f32x4.splat(1.44269504088896341), f32x4.splat(0.5)));
  x = madd(n, f32x4.splat(-0.693359375), x);
  x = madd(n, f32x4.splat(2.12194440e-4), x);
  let y = f32x4.splat(1.9875691500e-4);
  y = madd(y, x, f32x4.splat(1.3981999507e-3));
  y = madd(y, x, f32x4.splat(8.3334519073e-3));
  y = madd(y, x, f32x4.splat(4.1665795894e-2));
  y = madd(y, x, f32x4.splat(1.6666665459e-1));
  y = madd(y, x, f32x4.splat(5.0000001201e-1));
  y = madd(y, f32x4.mul(x, x), f32x4.add(x, f32x4.splat(1)));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2n);
}

// @ts-ignore: decorator
@inline
function sigmoid4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, exp4(f32x4.neg(x))));
}

/** tanh x = 1 − 2/(1 + e^{2x}); the absolute error stays at float32 rounding (|x| small: tiny values near 0). */
// @ts-ignore: decorator
@inline
function tanh4(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(one, exp4(f32x4.add(x, x)))));
}

/** x [batch][seq][inSize], kernel [inSize][4h], recurrent [h][4h], bias [4h]; xw is scratch [batch·seq][4h]. */
export function lstmForward(x: usize, kernel: usize, recurrent: usize, bias: usize, xw: usize, hs: usize, cs: usize, gates: usize, cellTanh: usize, batch: i32, seq: i32, inSize: i32, h: i32, work: usize): void {
  const g4 = 4 * h;
  const step = batch * h;
  matmul(x, kernel, xw, batch * seq, g4, inSize, false, false, false, work);
  memory.fill(hs, 0, <usize>step << 2);
  memory.fill(cs, 0, <usize>step << 2);
  for (let t: i32 = 0; t < seq; t++) {
    const gt = gates + (<usize>(t * batch * g4) << 2);
    for (let s: i32 = 0; s < batch; s++) {
      const row = gt + (<usize>(s * g4) << 2);
      const from = xw + (<usize>((s * seq + t) * g4) << 2);
      for (let j: i32 = 0; j < g4; j += 4) {
        const o = <usize>j << 2;
        v128.store(row + o, f32x4.add(v128.load(from + o), v128.load(bias + o)));
      }
    }
    if (t > 0) matmul(hs + (<usize>(t * step) << 2), recurrent, gt, batch, g4, h, false, false, true, work);
    for (let s: i32 = 0; s < batch; s++) {
      const row = gt + (<usize>(s * g4) << 2);
      const hb = <usize>h << 2;
      const prev = <usize>(t * step + s * h) << 2;
      const next = prev + (<usize>step << 2);
      const tcAt = cellTanh + (<usize>(t * step + s * h) << 2);
      for (let j: i32 = 0; j < h; j += 4) {
        const o = <usize>j << 2;
        const i4 = sigmoid4(v128.load(row + o));
        const f4 = sigmoid4(v128.load(row + hb + o));
        const g = tanh4(v128.load(row + 2 * hb + o));
        const o4 = sigmoid4(v128.load(row + 3 * hb + o));
        v128.store(row + o, i4);
        v128.store(row + hb + o, f4);
        v128.store(row + 2 * hb + o, g);
        v128.store(row + 3 * hb + o, o4);
        const c = madd(f4, v128.load(cs + prev + o), f32x4.mul(i4, g));
        const tc = tanh4(c);
        v128.store(cs + next + o, c);
        v128.store(tcAt + o, tc);
        v128.store(hs + next + o, f32x4.mul(o4, tc));
      }
    }
  }
}
