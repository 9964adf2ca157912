import { dataError } from '../engine/errors.js';
import { deriveSeed, Rng } from '../engine/rng.js';
import type { RawData } from './types.js';

/**
 * Small seeded tasks for tests and quick runs. Each task's data comes from its own fixed seed, so every worker
 * builds identical data (and checksum); the split seed is applied later, like for any other data set.
 */
interface SyntheticTask {
  readonly description: string;
  build(rng: Rng): RawData;
}

/** Builds x row by row with `fill(row, label)` for `perClass` samples of each class, classes interleaved. */
function generate(
  name: string,
  inputShape: readonly number[],
  classNames: readonly string[],
  perClass: number,
  normalize: RawData['normalize'],
  fill: (row: Float32Array, label: number) => void,
): RawData {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const count = perClass * classNames.length;
  const x = new Float32Array(count * size);
  const y = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    const label = s % classNames.length;
    y[s] = label;
    fill(x.subarray(s * size, (s + 1) * size), label);
  }
  return { name: `synthetic:${name}`, x, y, count, inputShape, classNames, normalize };
}

const blobs: SyntheticTask = {
  description: '3 unit gaussian clusters in 4 dimensions, 120 samples each, centers 4 apart (mostly separable)',
  build(rng) {
    const dims = 4;
    // Centers on an equilateral triangle (2√2·e_k, shifted together): every pair is 4 standard deviations
    // apart whatever the seed, so the task is equally hard for every seed (random centers could nearly coincide).
    const offset = Array.from({ length: dims }, () => rng.normal());
    const centers = [0, 1, 2].map((k) => offset.map((o, d) => o + (d === k ? 2 * Math.SQRT2 : 0)));
    return generate('blobs', [dims], ['a', 'b', 'c'], 120, 'zscore', (row, label) => {
      const center = centers[label] as number[];
      for (let d = 0; d < dims; d++) row[d] = (center[d] as number) + rng.normal();
    });
  },
};

const sequence: SyntheticTask = {
  description:
    '8 steps × 3 channels: a marker on channel 0 and one on channel 1 at two random steps, channel 2 is noise; ' +
    'the class is which marker comes first, so a model that ignores order cannot beat chance',
  build(rng) {
    const steps = 8;
    const channels = 3;
    return generate('sequence', [steps, channels], ['a-first', 'b-first'], 200, 'none', (row, label) => {
      for (let t = 0; t < steps; t++) {
        row[t * channels] = rng.normal(0, 0.1);
        row[t * channels + 1] = rng.normal(0, 0.1);
        row[t * channels + 2] = rng.normal();
      }
      const first = rng.int(steps - 1);
      const second = first + 1 + rng.int(steps - 1 - first);
      const [a, b] = label === 0 ? [first, second] : [second, first];
      row[a * channels] = (row[a * channels] as number) + 1;
      row[b * channels + 1] = (row[b * channels + 1] as number) + 1;
    });
  },
};

const bars: SyntheticTask = {
  description: '8×8 images with one horizontal, vertical or diagonal bar on a noisy background, values in [0, 1]',
  build(rng) {
    const side = 8;
    return generate('bars', [side, side], ['horizontal', 'vertical', 'diagonal'], 100, 'none', (row, label) => {
      for (let i = 0; i < row.length; i++) row[i] = 0.25 * rng.next();
      const at = rng.int(side);
      const offset = rng.int(5) - 2;
      const anti = rng.next() < 0.5;
      for (let k = 0; k < side; k++) {
        let r = k;
        let c = k;
        if (label === 0) r = at;
        else if (label === 1) c = at;
        else c = anti ? side - 1 - k + offset : k + offset;
        if (c >= 0 && c < side) row[r * side + c] = 0.75 + 0.25 * rng.next();
      }
    });
  },
};

const spirals: SyntheticTask = {
  description: '3 interleaved 2-d spiral arms, 100 points each: not linearly separable',
  build(rng) {
    return generate('spirals', [2], ['arm0', 'arm1', 'arm2'], 100, 'zscore', (row, label) => {
      const r = rng.next();
      const angle = (label * 2 * Math.PI) / 3 + r * 3 * Math.PI + rng.normal(0, 0.15);
      row[0] = r * Math.cos(angle);
      row[1] = r * Math.sin(angle);
    });
  },
};

export const SYNTHETIC_TASKS: Readonly<Record<string, SyntheticTask>> = { blobs, sequence, bars, spirals };

export function readSynthetic(name: string): RawData {
  const task = Object.hasOwn(SYNTHETIC_TASKS, name) ? SYNTHETIC_TASKS[name] : undefined;
  if (!task) {
    throw dataError(`unknown synthetic data set "${name}"; known: ${Object.keys(SYNTHETIC_TASKS).join(', ')}`);
  }
  // A fixed per-task seed: the data must not depend on anything a worker could differ in.
  return task.build(new Rng(deriveSeed(0, 'synthetic', name)));
}
