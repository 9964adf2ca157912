import { modelFileError } from '../errors.js';

/** The decoder families whose checkpoints share the Llama layout (RMSNorm, GQA attention with RoPE, SwiGLU MLP). */
export const TRANSFORMER_TYPES = ['llama', 'mistral', 'qwen2'] as const;
export type TransformerType = (typeof TRANSFORMER_TYPES)[number];

/** What a Hugging Face `config.json` says about a Llama-architecture decoder, with its defaults filled in. */
export interface TransformerConfig {
  readonly modelType: TransformerType;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly vocabSize: number;
  readonly tieWordEmbeddings: boolean;
  /** q/k/v projections carry biases (always for Qwen2; `attention_bias` for Llama). */
  readonly attentionBias: boolean;
  /** Longest sequence the checkpoint was trained for, when the config says. */
  readonly maxPositions?: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function positiveInt(cfg: Json, key: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (v === undefined) throw modelFileError(`config.json: missing "${key}"`);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw modelFileError(`config.json: "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function positiveNumber(cfg: Json, key: string, fallback: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw modelFileError(`config.json: "${key}" must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function bool(cfg: Json, key: string, fallback: boolean): boolean {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'boolean') throw modelFileError(`config.json: "${key}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Parses a Hugging Face `config.json` (already JSON-decoded); every problem is an error naming the key. */
export function parseTransformerConfig(json: unknown): TransformerConfig {
  if (!isObject(json)) throw modelFileError('config.json: expected a JSON object');
  const modelType = json.model_type;
  if (typeof modelType !== 'string') throw modelFileError('config.json: missing "model_type"');
  if (!(TRANSFORMER_TYPES as readonly string[]).includes(modelType)) {
    throw modelFileError(`config.json: model_type "${modelType}" is not a Llama-architecture decoder Loom loads (known: ${TRANSFORMER_TYPES.join(', ')})`);
  }
  const type = modelType as TransformerType;
  const hiddenSize = positiveInt(json, 'hidden_size');
  const heads = positiveInt(json, 'num_attention_heads');
  const kvHeads = positiveInt(json, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0) throw modelFileError(`config.json: num_key_value_heads (${kvHeads}) must divide num_attention_heads (${heads})`);
  const headDim = positiveInt(json, 'head_dim', Math.floor(hiddenSize / heads));
  if (headDim * heads !== hiddenSize) {
    throw modelFileError(`config.json: head_dim ${headDim} × num_attention_heads ${heads} ≠ hidden_size ${hiddenSize}; Loom's attention needs them equal`);
  }
  if (headDim % 2 !== 0) throw modelFileError(`config.json: rotary embeddings need an even head dimension, got ${headDim}`);
  const scaling = json.rope_scaling;
  if (scaling !== undefined && scaling !== null) {
    throw modelFileError(`config.json: rope_scaling ${JSON.stringify(scaling)} is not supported (only plain RoPE)`);
  }
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu') throw modelFileError(`config.json: hidden_act "${String(act)}" is not supported (the SwiGLU MLP uses silu)`);
  const maxPositions = json.max_position_embeddings === undefined ? undefined : positiveInt(json, 'max_position_embeddings');
  return {
    modelType: type,
    hiddenSize,
    intermediateSize: positiveInt(json, 'intermediate_size'),
    layers: positiveInt(json, 'num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    rmsNormEps: positiveNumber(json, 'rms_norm_eps', 1e-6),
    ropeTheta: positiveNumber(json, 'rope_theta', 10000),
    vocabSize: positiveInt(json, 'vocab_size'),
    tieWordEmbeddings: bool(json, 'tie_word_embeddings', false),
    attentionBias: type === 'qwen2' ? true : bool(json, 'attention_bias', false),
    ...(maxPositions === undefined ? {} : { maxPositions }),
  };
}
