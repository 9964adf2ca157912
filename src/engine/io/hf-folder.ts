import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { modelFileError } from '../errors.js';
import { parseTransformerConfig } from '../transformer/config.js';
import { loadCheckpoint, type TransformerCheckpoint } from '../transformer/checkpoint.js';
import { parseSafetensors, toFloat32, type FloatTensor } from './safetensors.js';

/** A Hugging Face model folder's files, read but not yet interpreted as a decoder. */
export interface HfFolder {
  readonly dir: string;
  /** config.json, JSON-decoded. */
  readonly config: unknown;
  /** Every tensor of every shard, converted to float32, with the file it came from and its stored dtype. */
  readonly tensors: ReadonlyMap<string, FloatTensor>;
  readonly sources: ReadonlyMap<string, { readonly file: string; readonly dtype: string }>;
  /** tokenizer.json's path when the folder has one. */
  readonly tokenizerPath?: string;
}

export const isModelFolder = (path: string): boolean => existsSync(path) && statSync(path).isDirectory();

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw modelFileError(`${what}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** The shard files named by model.safetensors.index.json, each checked to exist. */
function shardFiles(dir: string): string[] {
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (!existsSync(indexPath)) {
    if (existsSync(join(dir, 'model.safetensors'))) return ['model.safetensors'];
    throw modelFileError(`${dir}: no model.safetensors or model.safetensors.index.json (found: ${readdirSync(dir).join(', ') || 'nothing'})`);
  }
  const index = readJson(indexPath, 'model.safetensors.index.json');
  const map = typeof index === 'object' && index !== null && 'weight_map' in index ? index.weight_map : undefined;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw modelFileError('model.safetensors.index.json: missing its "weight_map" object');
  const files = [...new Set(Object.values(map))];
  for (const f of files) {
    if (typeof f !== 'string' || f.includes('/') || f.includes('\\')) throw modelFileError(`model.safetensors.index.json: weight_map names ${JSON.stringify(f)}, not a file name`);
    if (!existsSync(join(dir, f))) throw modelFileError(`model.safetensors.index.json lists shard ${f}, which is not in ${dir}`);
  }
  return files as string[];
}

/** Reads config.json, every safetensors shard and (if present) tokenizer.json's path from a model folder. */
export function readHfFolder(dir: string): HfFolder {
  if (!isModelFolder(dir)) throw modelFileError(`${dir}: not a folder`);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw modelFileError(`${dir}: no config.json (a Hugging Face model folder needs one)`);
  const config = readJson(configPath, 'config.json');
  const tensors = new Map<string, FloatTensor>();
  const sources = new Map<string, { file: string; dtype: string }>();
  for (const file of shardFiles(dir)) {
    const contents = parseSafetensors(new Uint8Array(readFileSync(join(dir, file))), file);
    for (const raw of contents.tensors) {
      if (tensors.has(raw.name)) throw modelFileError(`${file}: tensor "${raw.name}" is also in another shard`);
      tensors.set(raw.name, { shape: raw.shape, data: toFloat32(raw) });
      sources.set(raw.name, { file, dtype: raw.dtype });
    }
  }
  const tokenizerPath = join(dir, 'tokenizer.json');
  return { dir, config, tensors, sources, ...(existsSync(tokenizerPath) ? { tokenizerPath } : {}) };
}

/** Loads a Llama-architecture model folder (config.json + safetensors shards) as a checkpoint. */
export function loadTransformerFolder(dir: string): TransformerCheckpoint & { readonly tokenizerPath?: string } {
  const folder = readHfFolder(dir);
  const checkpoint = loadCheckpoint(parseTransformerConfig(folder.config), folder.tensors);
  return { ...checkpoint, ...(folder.tokenizerPath ? { tokenizerPath: folder.tokenizerPath } : {}) };
}

/** Text ↔ token ids through the folder's tokenizer.json (Hugging Face's own tokenizer library, not a hand-written BPE). */
export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

export async function loadTokenizer(tokenizerPath: string): Promise<TextTokenizer> {
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const json = readJson(tokenizerPath, 'tokenizer.json');
  const configPath = join(dirname(tokenizerPath), 'tokenizer_config.json');
  const config = existsSync(configPath) ? readJson(configPath, 'tokenizer_config.json') : {};
  if (typeof json !== 'object' || json === null || typeof config !== 'object' || config === null) throw modelFileError('tokenizer.json: expected a JSON object');
  let tokenizer: InstanceType<typeof Tokenizer>;
  try {
    tokenizer = new Tokenizer(json, config);
  } catch (err) {
    throw modelFileError(`tokenizer.json: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { encode: (text) => tokenizer.encode(text).ids, decode: (ids) => tokenizer.decode([...ids]) };
}
