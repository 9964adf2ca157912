import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/data/index.js';
import { parseIdx, readFashionMnist } from '../../src/data/idx.js';

/** An IDX file of unsigned bytes: 0 0 0x08 rank, dims as big-endian uint32, then the values. */
function idxBytes(dims: number[], values: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(values)]);
}

const root = mkdtempSync(join(tmpdir(), 'loom-idx-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** n images of 3×2 pixels; image i has every pixel equal to 10·i, label i % classes. */
function writeSet(dir: string, prefix: string, n: number, classes: number, offset: number, gz: boolean): void {
  mkdirSync(dir, { recursive: true });
  const pixels: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < 6; p++) pixels.push((offset + i) * 2);
    labels.push((offset + i) % classes);
  }
  const write = (name: string, bytes: Buffer) => writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  write(`${prefix}-images-idx3-ubyte`, idxBytes([n, 3, 2], pixels));
  write(`${prefix}-labels-idx1-ubyte`, idxBytes([n], labels));
}

describe('IDX loader', () => {
  it('parses the header and values of a tiny file', () => {
    const parsed = parseIdx(idxBytes([2, 1, 3], [0, 1, 2, 253, 254, 255]), 'tiny');
    expect(parsed.dims).toEqual([2, 1, 3]);
    expect(Array.from(parsed.data)).toEqual([0, 1, 2, 253, 254, 255]);
    expect(() => parseIdx(idxBytes([2, 3], [1, 2, 3]), 'short')).toThrow(/short holds 3 bytes of values, its header \[2, 3\] needs 6/);
    expect(() => parseIdx(Buffer.from([1, 0, 8, 1]), 'bad')).toThrow(/bad is not an IDX file/);
  });

  it('reads idx:DIR (gzipped train + t10k) and splits a seeded, stratified subset with data.limit', () => {
    const dir = join(root, 'gz');
    writeSet(dir, 'train', 60, 3, 0, true);
    writeSet(dir, 't10k', 30, 3, 60, true);
    const all = loadDataset(`idx:${dir}`, { splitSeed: 1 });
    expect(all.inputShape).toEqual([3, 2]);
    expect(all.numClasses).toBe(3);
    expect(all.train.count + all.val.count + all.test.count).toBe(90);
    // Pixels are scaled to [0, 1]; each image's pixels are equal, so every sample is a whole 3×2 block.
    const first = Array.from(all.train.x.subarray(0, 6));
    expect(new Set(first).size).toBe(1);
    expect(first[0]).toBeGreaterThanOrEqual(0);
    expect(first[0]).toBeLessThanOrEqual(1);

    const a = loadDataset(`idx:${dir}`, { splitSeed: 4, limit: 30 });
    const b = loadDataset(`idx:${dir}`, { splitSeed: 4, limit: 30 });
    expect(a.train.count + a.val.count + a.test.count).toBe(30);
    expect(Array.from(b.train.y)).toEqual(Array.from(a.train.y));
    expect(Array.from(b.train.x)).toEqual(Array.from(a.train.x));
    // Stratified: each class keeps its share (10 of 30) of the subset.
    const counts = [0, 0, 0];
    for (const split of [a.train, a.val, a.test]) for (const y of split.y) counts[y] = (counts[y] as number) + 1;
    expect(counts).toEqual([10, 10, 10]);
    const c = loadDataset(`idx:${dir}`, { splitSeed: 5, limit: 30 });
    expect(Array.from(c.train.x)).not.toEqual(Array.from(a.train.x));
  });

  it('reads plain (not gzipped) files and a directory without t10k', () => {
    const dir = join(root, 'plain');
    writeSet(dir, 'train', 40, 2, 0, false);
    const d = loadDataset(`idx:${dir}`, { splitSeed: 0 });
    expect(d.train.count + d.val.count + d.test.count).toBe(40);
    expect(d.classNames).toEqual(['0', '1']);
  });

  it('says what is missing', () => {
    expect(() => loadDataset(`idx:${join(root, 'nowhere')}`)).toThrow(/is not a directory/);
    mkdirSync(join(root, 'empty'), { recursive: true });
    expect(() => loadDataset(`idx:${join(root, 'empty')}`)).toThrow(/has no train-images-idx3-ubyte/);
    expect(() => readFashionMnist(join(root, 'nowhere'))).toThrow(/install Debian's package \(sudo apt-get install dataset-fashion-mnist\)/);
    expect(() => loadDataset('idx:')).toThrow(/needs a directory/);
  });
});
