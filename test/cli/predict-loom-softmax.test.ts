import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/engine/io/base64.js';
import { cli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-predict-softmax-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

/** A bundle as LOOM writes it (no cfg.loomts) holding one softmax layer: nothing in it tells the input size. */
function softmaxBundle(): string {
  const data = encodeBase64(new TextEncoder().encode(JSON.stringify({ type: 'float32', dtype: '', layers: [{}] })));
  const cfg = { id: 'sm', batch_size: 1, grid_rows: 1, grid_cols: 1, layers_per_cell: 1, layers: [{ type: 'softmax', softmax_variant: 'standard' }] };
  return JSON.stringify({ type: 'modelhost/bundle', version: 1, models: [{ id: 'sm', cfg, weights: { fmt: 'jsonModelB64', data } }] });
}

const softmax = (row: readonly number[]): number[] => {
  const e = row.map((v) => Math.exp(v - Math.max(...row)));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

describe('loom predict on a LOOM bundle that starts with a softmax', () => {
  it('takes the input size from the input width (JSON and CSV)', async () => {
    const model = file('softmax.json', softmaxBundle());
    const rows = [[1, 2, 3, 4], [0, 0, 0, 0]];
    for (const input of [file('in.json', JSON.stringify(rows)), file('in.csv', rows.map((r) => r.join(',')).join('\n'))]) {
      const { code, out, err } = await cli('predict', '--model', model, '--input', input);
      expect(err).not.toMatch(/cannot tell/);
      expect(code).toBe(0);
      const got = JSON.parse(out) as number[][];
      expect(got).toHaveLength(2);
      got.forEach((row, r) => row.forEach((v, i) => expect(v).toBeCloseTo(softmax(rows[r]!)[i]!, 6)));
    }
  });
});
