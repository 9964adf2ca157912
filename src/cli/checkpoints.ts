import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { dataError } from '../engine/errors.js';
import { isModelFolder, loadTransformerFolder, readHfFolder } from '../engine/io/hf-folder.js';
import { isLoomModel } from '../engine/io/loom-format.js';
import { parseSafetensors } from '../engine/io/safetensors.js';
import { parseTransformerConfig } from '../engine/transformer/config.js';
import { loadCheckpoint } from '../engine/transformer/checkpoint.js';
import { sequenceLogits } from '../engine/transformer/generate.js';
import { formatCheckpointListing, listCheckpoint, type CheckpointListing } from '../engine/transformer/inspect.js';

/**
 * `loom inspect` and `loom predict` on what is not a Loom model: a Hugging Face model folder, or a plain
 * safetensors file (one without Loom's metadata).
 */
export function isCheckpointPath(path: string): boolean {
  if (isModelFolder(path)) return true;
  if (!/\.safetensors$/i.test(path)) return false;
  try {
    return !isLoomModel(parseSafetensors(new Uint8Array(readFileSync(path)), basename(path)));
  } catch {
    return false; // not readable as safetensors: the ordinary model-file path reports why
  }
}

function listing(path: string): CheckpointListing {
  if (isModelFolder(path)) {
    const folder = readHfFolder(path);
    const config = parseTransformerConfig(folder.config);
    loadCheckpoint(config, folder.tensors); // every tensor mapped, every shape checked: the listing is what loads
    const tensors = [...folder.tensors].map(([name, t]) => {
      const source = folder.sources.get(name);
      return { name, shape: t.shape, dtype: source?.dtype ?? '?', file: source?.file ?? '?' };
    });
    return listCheckpoint(tensors, config);
  }
  const contents = parseSafetensors(new Uint8Array(readFileSync(path)), basename(path));
  return listCheckpoint(contents.tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype, file: basename(path) })));
}

export function inspectCheckpoint(path: string, json: boolean): string {
  const result = listing(path);
  return json ? JSON.stringify({ path, ...result }, null, 2) : formatCheckpointListing(path, result);
}

/** Logits for every position of every token-id sequence in a JSON file ([[1, 2, 3], [4, 5]]), as JSON. */
export function predictTokenIds(dir: string, inputPath: string): string {
  const checkpoint = loadTransformerFolder(dir);
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(inputPath, 'utf8'));
  } catch (err) {
    throw dataError(`${inputPath}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!Array.isArray(input) || input.length === 0 || !input.every((s): s is unknown[] => Array.isArray(s))) {
    throw dataError(`${inputPath}: expected a JSON array of token-id sequences, e.g. [[1, 2, 3], [4, 5]]`);
  }
  const vocab = checkpoint.config.vocabSize;
  const out = input.map((seq, i) => {
    if (!seq.every((v): v is number => typeof v === 'number')) throw dataError(`${inputPath}: sequence ${i} holds something other than numbers`);
    const logits = sequenceLogits(checkpoint, seq);
    return Array.from({ length: seq.length }, (_, t) => Array.from(logits.subarray(t * vocab, (t + 1) * vocab)));
  });
  return JSON.stringify(out);
}
