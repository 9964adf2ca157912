import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'transformers');
const dir = mkdtempSync(join(tmpdir(), 'loom-llm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Expected {
  sequences: { ids: number[]; logits: number[][] }[];
  greedy: { prompt: number[]; newTokens: number; ids: number[] }[];
}
const expected = JSON.parse(readFileSync(join(FIXTURES, 'llama-gqa', 'expected.json'), 'utf8')) as Expected;

describe('loom generate, predict and inspect on a Hugging Face folder', () => {
  const model = join(FIXTURES, 'llama-gqa');

  it('generate --prompt-ids continues greedily as the reference does', async () => {
    const g = expected.greedy[0] as Expected['greedy'][number];
    const { code, out } = await cli('generate', '--model', model, '--prompt-ids', g.prompt.join(','), '--max-new-tokens', String(g.newTokens), '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ prompt: g.prompt, generated: g.ids });
  });

  it('generate --prompt tokenizes with the folder tokenizer.json and decodes the answer', async () => {
    const { code, out } = await cli('generate', '--model', model, '--prompt', 'the cat sat', '--max-new-tokens', '4', '--json');
    expect(code).toBe(0);
    const result = JSON.parse(out) as { prompt: number[]; generated: number[]; text: string };
    expect(result.prompt).toEqual([2, 3, 4]); // the WordLevel vocabulary: <unk>, <s>, the, cat, sat, …
    expect(result.generated).toHaveLength(4);
    expect(result.text.split(' ')).toHaveLength(4);
  });

  it('predict prints the logits of every position of every sequence', async () => {
    const input = join(dir, 'ids.json');
    writeFileSync(input, JSON.stringify(expected.sequences.map((s) => s.ids)));
    const { code, out } = await cli('predict', '--model', model, '--input', input);
    expect(code).toBe(0);
    const logits = JSON.parse(out) as number[][][];
    expected.sequences.forEach((s, i) =>
      s.logits.forEach((row, t) => row.forEach((ref, j) => expect(Math.abs((logits[i]?.[t]?.[j] as number) - ref)).toBeLessThan(2e-4 + 2e-3 * Math.abs(ref)))),
    );
  });

  it('inspect lists tensors, dtypes, shapes and the Loom parameter each becomes, plus the architecture', async () => {
    const { code, out } = await cli('inspect', '--model', join(FIXTURES, 'qwen2-bf16-tied'), '--json');
    expect(code).toBe(0);
    const listing = JSON.parse(out) as { architecture: { modelType: string; kvHeads: number }; tensors: { name: string; dtype: string; role: string }[]; totalParameters: number };
    expect(listing.architecture).toMatchObject({ modelType: 'qwen2', kvHeads: 1 });
    expect(listing.tensors.find((t) => t.name === 'model.layers.1.self_attn.k_proj.weight')).toMatchObject({ dtype: 'BF16', role: 'L8.kKernel (layer 1 key projection, transposed)' });
    expect(listing.totalParameters).toBe(15872);
  });

  it('bad inputs: one clear message each, no stack trace', async () => {
    const ids = join(dir, 'bad-ids.json');
    writeFileSync(ids, '[[1, 2, 400]]');
    const cases: [string[], RegExp][] = [
      [['predict', '--model', model, '--input', ids], /400 at position 2 is not an integer in \[0, 40\)/],
      [['generate', '--model', model, '--prompt-ids', '1,x'], /--prompt-ids must be comma-separated integers/],
      [['generate', '--model', model], /exactly one of --prompt-ids and --prompt/],
      [['generate', '--model', join(FIXTURES, 'qwen2-bf16-tied'), '--prompt', 'hi'], /has no tokenizer\.json/],
      [['generate', '--model', model, '--prompt-ids', '1', '--top-p', '0'], /top-p must be in \(0, 1\]/],
      [['generate', '--model', dir, '--prompt-ids', '1'], /no config\.json/],
    ];
    for (const [argv, message] of cases) {
      const { code, err } = await cli(...argv);
      expect(code, argv.join(' ')).toBeGreaterThan(0);
      expect(err).toMatch(message);
      expect(err).not.toMatch(/\n\s+at /);
    }
  });
});
