/**
 * The one source of randomness in Loom. Every random choice (init, shuffling, splits, mutation, noise) takes an
 * Rng passed in, never Math.random, so a seed reproduces a run exactly.
 *
 * sfc32, seeded through splitmix32: fast, 128-bit state, good statistical quality for simulation.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n > 0)) throw new RangeError(`Rng.int needs n > 0, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller), times std plus mean. */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Log-uniform in [lo, hi]. */
  logUniform(lo: number, hi: number): number {
    return Math.exp(Math.log(lo) + this.next() * (Math.log(hi) - Math.log(lo)));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** Index drawn with probability proportional to weights (they need not sum to 1). */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) {
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`Rng.weighted: bad weight ${w}`);
      total += w;
    }
    if (total <= 0) throw new RangeError('Rng.weighted: weights sum to 0');
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    // Rounding can leave r at 0 after the loop: return the last index with a positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] as number) > 0) return i;
    return weights.length - 1;
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /** An independent generator derived from this one (for a sub-task that must not disturb this stream). */
  fork(): Rng {
    return new Rng(this.uint32());
  }

  /** The generator's whole state: a generator restored from it (Rng.fromState) draws exactly what this one would. */
  state(): RngState {
    return { words: [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0], spareNormal: this.spareNormal };
  }

  static fromState(state: RngState): Rng {
    const [a, b, c, d] = state.words;
    const rng = new Rng(0);
    rng.a = a | 0;
    rng.b = b | 0;
    rng.c = c | 0;
    rng.d = d | 0;
    rng.spareNormal = state.spareNormal;
    return rng;
  }
}

/** sfc32's four 32-bit words (unsigned) and the Box-Muller spare, if one is pending. */
export interface RngState {
  readonly words: readonly [number, number, number, number];
  readonly spareNormal: number | null;
}

/** Fills an array with U(-scale, scale). */
export function fillUniform(rng: Rng, out: Float32Array, scale: number): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = (rng.next() * 2 - 1) * scale;
  return out;
}

/** Fills an array with N(0, std). */
export function fillNormal(rng: Rng, out: Float32Array, std: number): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = rng.normal(0, std);
  return out;
}

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

/** murmur3's finalizer: every input bit affects every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The one way Loom derives a seed for a sub-task from a parent seed: murmur3 (x86, 32-bit) over the labels'
 * UTF-16 code units, seeded with `seed`. Labels are typed and length-prefixed, so ('ab', 'c'), ('a', 'bc') and
 * ('1') vs (1) all give different seeds. Examples: deriveSeed(runSeed, 'generation', 3),
 * deriveSeed(runSeed, 'model', id), deriveSeed(jobSeed, 'init'). Stable across versions: stored runs rely on it.
 */
export function deriveSeed(seed: number, ...labels: readonly (string | number)[]): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`deriveSeed needs an integer seed in [0, 2^32), got ${seed}`);
  }
  let h = seed >>> 0;
  let length = 0;
  const add = (k: number): void => {
    k = Math.imul(k, 0xcc9e2d51);
    k = rotl(k, 15);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    length++;
  };
  for (const label of labels) {
    if (typeof label === 'number' && !Number.isFinite(label)) throw new RangeError(`deriveSeed: label ${label} is not finite`);
    const text = typeof label === 'number' ? `n${label}` : `s${label}`;
    add(text.length);
    for (let i = 0; i < text.length; i++) add(text.charCodeAt(i));
  }
  return fmix32(h ^ length);
}
