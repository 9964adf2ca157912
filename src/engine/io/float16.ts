/**
 * Half-precision conversions for model files: IEEE 754 binary16 (F16) both ways with round-to-nearest-even,
 * subnormals, ±Inf and NaN; bfloat16 (BF16) to float32; and the shortest decimal text of a float32.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bits nearest to v (ties to even). Finite values beyond ±65504 round to ±Inf, as IEEE says. */
export function float32ToFloat16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13); // Inf, or a quiet NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // A half subnormal m·2⁻²⁴: m = M·2^(e−14) with M the 24-bit significand. Below 2⁻²⁵ everything rounds to 0.
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = full & ((1 << shift) - 1);
    let m = full >>> shift;
    if (rest > half || (rest === half && (m & 1) === 1)) m++; // may carry into the smallest normal: still the right bits
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry may step into the exponent or to Inf: correct
  return h;
}

/** The value of binary16 bits, exactly (every half is a float32). */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** bfloat16 is the top half of a float32. */
export function bfloat16BitsToFloat32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0] as number;
}

/** The float32 nearest to v, rounded through binary16 and back. */
export const roundToFloat16 = (v: number): number => float16BitsToFloat32(float32ToFloat16Bits(v));

/** The largest finite binary16. */
export const FLOAT16_MAX = 65504;

/**
 * The shortest decimal that reads back as the same float32 (what Go prints for a float32), so JSON weights stay
 * compact: 0.1f prints as 0.1, not 0.10000000149011612.
 */
export function float32ToString(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const target = Math.fround(v);
  for (let p = 1; p < 9; p++) {
    const s = Number(target.toPrecision(p));
    if (Math.fround(s) === target) return String(s);
  }
  return String(Number(target.toPrecision(9)));
}
