import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { dataError } from '../engine/errors.js';
import type { RawData } from './types.js';

const SIDE = 28;
const PIXELS = SIDE * SIDE;

/** The `mnist` package's folder of per-digit files (src/digits/0.json … 9.json, each {data: number[]}). */
function digitsDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

let cached: RawData | null = null;

/**
 * The `mnist` package's 10,000 digits (28×28, values already pixel/255 in [0, 1]). We read its per-digit files
 * directly instead of calling its set(), which shuffles with Math.random; the canonical order is digit 0's
 * samples in file order, then digit 1's, and so on. Read once per process: the data never changes.
 */
export function readMnist(): RawData {
  if (cached) return cached;
  const dir = digitsDir();
  const perDigit: Float32Array[] = [];
  for (let d = 0; d < 10; d++) {
    const path = join(dir, `${d}.json`);
    let values: unknown;
    try {
      values = (JSON.parse(readFileSync(path, 'utf8')) as { data?: unknown }).data;
    } catch (err) {
      throw dataError(`mnist: cannot read ${path}: ${(err as Error).message}`);
    }
    if (!Array.isArray(values) || values.length % PIXELS !== 0) {
      throw dataError(`mnist: ${path} does not hold a whole number of ${SIDE}×${SIDE} images`);
    }
    perDigit.push(Float32Array.from(values as number[]));
  }
  const count = perDigit.reduce((n, a) => n + a.length / PIXELS, 0);
  const x = new Float32Array(count * PIXELS);
  const y = new Int32Array(count);
  let offset = 0;
  perDigit.forEach((pixels, digit) => {
    const n = pixels.length / PIXELS;
    x.set(pixels, offset * PIXELS);
    y.fill(digit, offset, offset + n);
    offset += n;
  });
  cached = {
    name: 'mnist',
    x,
    y,
    count,
    inputShape: [SIDE, SIDE],
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    normalize: 'none',
  };
  return cached;
}
