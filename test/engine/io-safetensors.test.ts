import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  float32ToString,
} from '../../src/engine/io/float16.js';
import { encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors } from '../../src/engine/io/safetensors.js';
import { loadWeightsByName } from '../../src/engine/io/weights.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Rng } from '../../src/engine/rng.js';

const L = (s: { type: string; [field: string]: unknown }): LayerSpec => s;

/** A safetensors file assembled by hand: header JSON and data bytes exactly as given. */
function handBuilt(header: object, data: number[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectModelFileError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LoomError);
    expect((err as LoomError).code).toBe('LOOM_ERR_MODEL_FILE');
    expect((err as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected a LOOM_ERR_MODEL_FILE error');
}

describe('float16', () => {
  it('encodes known values bit-exactly', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [Infinity, 0x7c00], [-Infinity, 0xfc00],
      [65520, 0x7c00], // halfway above the max rounds (to even) up to Inf
      [65519, 0x7bff],
      [2 ** -25, 0x0000], // exactly half the smallest subnormal: ties to even (0)
      [3 * 2 ** -25, 0x0002], // 1.5 subnormal steps: ties to even (2)
      [2 ** -26, 0x0000],
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next half: ties to even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3c01 and 0x3c02: ties to even (0x3c02)
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above halfway rounds up
    ];
    for (const [v, bits] of cases) expect(float32ToFloat16Bits(v), `encode ${v}`).toBe(bits);
    expect(float32ToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x3ff).not.toBe(0);
  });

  it('decodes every half exactly and round-trips every finite half', () => {
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(float16BitsToFloat32(0x7bff)).toBe(65504);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(float16BitsToFloat32(0x7e00))).toBe(true);
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue; // NaNs
      expect(float32ToFloat16Bits(float16BitsToFloat32(h))).toBe(h);
    }
  });

  it('keeps the relative error within 2⁻¹¹ over the normal range', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 2000; i++) {
      const v = Math.fround((rng.next() < 0.5 ? -1 : 1) * 2 ** (rng.next() * 29.9 - 14)); // [2⁻¹⁴, 65504)
      const back = float16BitsToFloat32(float32ToFloat16Bits(v));
      expect(Math.abs(back - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11);
    }
  });

  it('decodes bfloat16 as the top half of a float32', () => {
    expect(bfloat16BitsToFloat32(0x3f80)).toBe(1);
    expect(bfloat16BitsToFloat32(0xc040)).toBe(-3);
    expect(bfloat16BitsToFloat32(0x3e20)).toBe(0.15625);
    expect(bfloat16BitsToFloat32(0x7f80)).toBe(Infinity);
  });

  it('prints the shortest decimal that reads back as the same float32', () => {
    expect(float32ToString(Math.fround(0.1))).toBe('0.1');
    expect(float32ToString(Math.fround(1 / 3))).toBe('0.33333334');
    expect(float32ToString(Math.fround(1e-7))).toBe('1e-7');
    expect(float32ToString(-2.5)).toBe('-2.5');
    const rng = new Rng(9);
    for (let i = 0; i < 500; i++) {
      const v = Math.fround(rng.normal() * 10 ** (rng.int(12) - 6));
      expect(Math.fround(Number(float32ToString(v)))).toBe(v);
    }
  });
});

describe('safetensors reading', () => {
  it('reads hand-built F32, F16 and BF16 tensors and the metadata', () => {
    const file = handBuilt(
      {
        __metadata__: { source: 'hand' },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F16', shape: [2, 1], data_offsets: [8, 12] },
        c: { dtype: 'BF16', shape: [3], data_offsets: [12, 18] },
      },
      [
        0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc1, // F32 1, -10
        0x00, 0x3c, 0x01, 0x00, // F16 1, 2⁻²⁴
        0x80, 0x3f, 0x40, 0xc0, 0x20, 0x3e, // BF16 1, -3, 0.15625
      ],
    );
    const { tensors, metadata } = readSafetensors(file);
    expect(metadata).toEqual({ source: 'hand' });
    expect(Array.from(tensors.get('a')!.data)).toEqual([1, -10]);
    expect(tensors.get('b')!.shape).toEqual([2, 1]);
    expect(Array.from(tensors.get('b')!.data)).toEqual([1, 2 ** -24]);
    expect(Array.from(tensors.get('c')!.data)).toEqual([1, -3, 0.15625]);
  });

  it('writes what it reads (F32 exact, F16 rounded)', () => {
    const data = Float32Array.from([0.1, -7.25, 1e-6, 3]);
    const file = writeSafetensors(new Map([['w', { shape: [2, 2], data }]]), { metadata: { k: 'v' } });
    expect((file.length - 8) % 8).toBe(0); // header padded so the data is 8-aligned
    expect(Array.from(readSafetensors(file).tensors.get('w')!.data)).toEqual(Array.from(data));
    const half = readSafetensors(writeSafetensors(new Map([['w', { shape: [4], data }]]), { dtype: 'F16' })).tensors.get('w')!.data;
    expect(half[1]).toBe(-7.25);
    expect(Math.abs(half[0]! - 0.1)).toBeLessThan(0.1 * 2 ** -11);
  });

  it('rejects dtypes other than F32, F16, BF16 with a clear error', () => {
    const file = handBuilt({ ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, [1, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseSafetensors(file).tensors[0]!.dtype).toBe('I64');
    expectModelFileError(() => readSafetensors(file), /tensor "ids" has dtype I64; only F32, F16, BF16/);
  });

  it('turns truncated and garbled files into model-file errors', () => {
    const good = writeSafetensors(new Map([['w', { shape: [3], data: Float32Array.from([1, 2, 3]) }]]));
    expectModelFileError(() => readSafetensors(good.subarray(0, 5)), /too short/);
    expectModelFileError(() => readSafetensors(good.subarray(0, 20)), /truncated: the header says/);
    expectModelFileError(() => readSafetensors(good.subarray(0, good.length - 4)), /truncated: its data ends at byte 12/);
    const garbled = Uint8Array.from(good);
    garbled[8] = 0x5d; // '{' → ']': the JSON breaks
    expectModelFileError(() => readSafetensors(garbled), /not valid JSON/);
    const huge = Uint8Array.from(good);
    huge[7] = 0x40;
    expectModelFileError(() => readSafetensors(huge), /not plausible/);
    expectModelFileError(
      () => readSafetensors(handBuilt({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Array(12).fill(0))),
      /hold 8 bytes, but F32 \[3\] needs 12/,
    );
    expectModelFileError(() => readSafetensors(handBuilt({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, [0])), /unknown dtype "Q4"/);
  });

  it('encodes raw tensors in order and refuses a size mismatch', () => {
    const file = encodeSafetensors([{ name: 'x', dtype: 'U8', shape: [2], bytes: Uint8Array.from([7, 9]) }]);
    expect(Array.from(parseSafetensors(file).tensors[0]!.bytes)).toEqual([7, 9]);
    expect(() => encodeSafetensors([{ name: 'x', dtype: 'F32', shape: [2], bytes: new Uint8Array(4) }])).toThrow(/4 bytes for F32/);
  });
});

describe('loadWeightsByName', () => {
  const net = (): Network => new Network(sequentialNetworkSpec([3], [L({ type: 'dense', units: 2 }), L({ type: 'dense', units: 1 })]), new Rng(1));

  it('copies by name, reports missing and unused names, and maps names', () => {
    const network = net();
    const kernel = { shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    const report = loadWeightsByName(network, new Map([['L0.kernel', kernel], ['extra', { shape: [1], data: new Float32Array(1) }]]));
    expect(report.loaded).toEqual(['L0.kernel']);
    expect(report.missing).toEqual(['L0.bias', 'L1.kernel', 'L1.bias']);
    expect(report.unused).toEqual(['extra']);
    expect(Array.from(network.params()[0]!.value)).toEqual([1, 2, 3, 4, 5, 6]);

    const mapped = loadWeightsByName(network, { 'fc2.bias': { shape: [1], data: Float32Array.from([0.5]) } }, { mapping: { 'fc2.bias': 'L1.bias' } });
    expect(mapped.loaded).toEqual(['L1.bias']);
    expect(network.params()[3]!.value[0]).toBe(0.5);
    const byFunction = loadWeightsByName(network, { 'skip.me': kernel }, { mapping: () => undefined });
    expect(byFunction.unused).toEqual(['skip.me']);
  });

  it('throws on a shape mismatch (naming both shapes) and, when strict, on missing names', () => {
    expectModelFileError(
      () => loadWeightsByName(net(), { 'L0.kernel': { shape: [2, 3], data: new Float32Array(6) } }),
      /tensor "L0.kernel" has shape \[2, 3\] but param L0.kernel needs \[3, 2\]/,
    );
    expectModelFileError(() => loadWeightsByName(net(), {}, { strict: true }), /no tensor for params L0.kernel, L0.bias, L1.kernel, L1.bias/);
  });
});
