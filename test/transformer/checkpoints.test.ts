import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { loadTransformerFolder } from '../../src/engine/io/hf-folder.js';
import { CachedDecoder, generate, sequenceLogits } from '../../src/engine/transformer/generate.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'transformers');
const NAMES = ['llama-gqa', 'qwen2-bf16-tied', 'llama-f16-sharded'] as const;

interface Expected {
  sequences: { ids: number[]; logits: number[][] }[];
  greedy: { prompt: number[]; newTokens: number; ids: number[] }[];
}
const expected = (name: string): Expected => JSON.parse(readFileSync(join(FIXTURES, name, 'expected.json'), 'utf8')) as Expected;

const scratch = mkdtempSync(join(tmpdir(), 'loom-hf-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of a fixture folder to break on purpose. */
function copyFixture(name: string): string {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

describe.each(NAMES)('%s: logits and greedy continuations match the PyTorch reference', (name) => {
  const checkpoint = loadTransformerFolder(join(FIXTURES, name));
  const want = expected(name);

  it('logits for every position within 2e-4 absolute + 2e-3 relative', () => {
    for (const { ids, logits } of want.sequences) {
      const got = sequenceLogits(checkpoint, ids);
      const vocab = checkpoint.config.vocabSize;
      expect(got.length).toBe(ids.length * vocab);
      logits.forEach((row, t) =>
        row.forEach((ref, j) => expect(Math.abs((got[t * vocab + j] as number) - ref)).toBeLessThanOrEqual(2e-4 + 2e-3 * Math.abs(ref))),
      );
    }
  });

  it('greedy ids match exactly, with and without the key/value cache', () => {
    for (const g of want.greedy) {
      expect(generate(checkpoint, g.prompt, { maxNewTokens: g.newTokens })).toEqual(g.ids);
      expect(generate(checkpoint, g.prompt, { maxNewTokens: g.newTokens, cache: false })).toEqual(g.ids);
    }
  });
});

describe('key/value cache', () => {
  it('gives the same logits at every position as recomputing the whole sequence', () => {
    const checkpoint = loadTransformerFolder(join(FIXTURES, 'llama-gqa'));
    const ids = [1, 5, 9, 2, 7, 7, 3, 30, 12, 0];
    const full = sequenceLogits(checkpoint, ids);
    const decoder = new CachedDecoder(checkpoint, ids.length);
    const vocab = checkpoint.config.vocabSize;
    ids.forEach((id, t) => {
      const step = decoder.step(id);
      for (let j = 0; j < vocab; j++) expect(step[j]).toBeCloseTo(full[t * vocab + j] as number, 5);
    });
    expect(() => decoder.step(1)).toThrow(/full/);
  });

  it('sampling is seeded: same seed, same tokens; temperature with top-k 1 is greedy', () => {
    const checkpoint = loadTransformerFolder(join(FIXTURES, 'qwen2-bf16-tied'));
    const a = generate(checkpoint, [1, 2, 3], { maxNewTokens: 8, temperature: 1.5, topP: 0.9, seed: 7 });
    const b = generate(checkpoint, [1, 2, 3], { maxNewTokens: 8, temperature: 1.5, topP: 0.9, seed: 7 });
    expect(a).toEqual(b);
    const samples = new Set(Array.from({ length: 6 }, (_, s) => generate(checkpoint, [1, 2, 3], { maxNewTokens: 8, temperature: 2, seed: s }).join(',')));
    expect(samples.size).toBeGreaterThan(1);
    expect(generate(checkpoint, [1, 2, 3], { maxNewTokens: 5, temperature: 3, topK: 1, seed: 1 })).toEqual(generate(checkpoint, [1, 2, 3], { maxNewTokens: 5 }));
  });
});

describe('malformed checkpoints: one clear error each', () => {
  const loadError = (dir: string): LoomError => {
    try {
      loadTransformerFolder(dir);
    } catch (err) {
      if (err instanceof LoomError) return err;
      throw err;
    }
    throw new Error('loaded without an error');
  };
  const editConfig = (dir: string, edit: (c: Record<string, unknown>) => void): void => {
    const path = join(dir, 'config.json');
    const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    edit(config);
    writeFileSync(path, JSON.stringify(config));
  };

  it('a missing config key', () => {
    const dir = copyFixture('llama-gqa');
    editConfig(dir, (c) => delete c.hidden_size);
    expect(loadError(dir).message).toMatch(/missing "hidden_size"/);
  });

  it('a shard listed in the index but absent', () => {
    const dir = copyFixture('llama-f16-sharded');
    unlinkSync(join(dir, 'model-00002-of-00002.safetensors'));
    expect(loadError(dir).message).toMatch(/lists shard model-00002-of-00002\.safetensors, which is not in/);
  });

  it('a tensor of the wrong shape (a config that disagrees with the weights)', () => {
    const dir = copyFixture('llama-gqa');
    editConfig(dir, (c) => (c.num_key_value_heads = 4));
    expect(loadError(dir).message).toMatch(/k_proj\.weight" has shape \[16, 32\], config\.json implies \[32, 32\]/);
  });

  it('a missing tensor and an unknown model type', () => {
    const dir = copyFixture('qwen2-bf16-tied');
    editConfig(dir, (c) => (c.tie_word_embeddings = false));
    expect(loadError(dir).message).toMatch(/missing tensor\(s\) lm_head\.weight/);
    editConfig(dir, (c) => (c.model_type = 'gpt2'));
    expect(loadError(dir).message).toMatch(/model_type "gpt2"/);
  });

  it('token ids outside the vocabulary', () => {
    const checkpoint = loadTransformerFolder(join(FIXTURES, 'llama-gqa'));
    expect(() => sequenceLogits(checkpoint, [1, 40])).toThrow(/40 at position 1 is not an integer in \[0, 40\)/);
    expect(() => generate(checkpoint, [-1], { maxNewTokens: 2 })).toThrow(/-1 at position 0/);
  });
});
