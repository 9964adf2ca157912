import { modelFileError } from '../errors.js';
import type { DenseSpec } from '../layers/dense.js';
import type { EmbeddingSpec } from '../layers/embedding.js';
import type { MhaSpec } from '../layers/mha.js';
import type { ResidualSpec } from '../layers/residual.js';
import type { RmsNormSpec } from '../layers/rmsnorm.js';
import type { SwigluSpec } from '../layers/swiglu.js';
import type { LayerSpec } from '../layers/types.js';
import { Network, sequentialNetworkSpec, type NetworkSpec } from '../network.js';
import { Rng } from '../rng.js';
import type { FloatTensor } from '../io/safetensors.js';
import type { TransformerConfig } from './config.js';

/**
 * A Llama-architecture checkpoint as an ordinary Loom network (a 1×1 grid of layers):
 *
 *   embedding → per decoder layer [rms_norm, mha (causal, RoPE, GQA), residual(back 2), rms_norm, swiglu, residual(back 2)]
 *   → rms_norm → dense per position (the LM head)
 *
 * The input is a [seq] row of token ids (as floats); the output is [seq, vocab] logits.
 */
export function transformerNetworkSpec(config: TransformerConfig, seqLen: number): NetworkSpec {
  const norm = layer<RmsNormSpec>({ type: 'rms_norm', epsilon: config.rmsNormEps });
  const skip = layer<ResidualSpec>({ type: 'residual', back: 2 });
  const block = [
    norm,
    layer<MhaSpec>({ type: 'mha', heads: config.heads, kvHeads: config.kvHeads, causal: true, rope: true, ropeTheta: config.ropeTheta }),
    skip,
    norm,
    layer<SwigluSpec>({ type: 'swiglu', hidden: config.intermediateSize }),
    skip,
  ];
  const layers = [
    layer<EmbeddingSpec>({ type: 'embedding', vocab: config.vocabSize, dim: config.hiddenSize }),
    ...Array.from({ length: config.layers }, () => block).flat(),
    norm,
    layer<DenseSpec>({ type: 'dense', units: config.vocabSize, perPosition: true }),
  ];
  return sequentialNetworkSpec([seqLen], layers);
}

/** A typed layer spec, checked against its kind's spec type, as the generic spec a network holds. */
const layer = <S extends LayerSpec>(spec: S): LayerSpec => spec;

/** One checkpoint tensor and the Loom parameter it fills. */
export interface TensorRole {
  /** The Hugging Face tensor name. */
  readonly name: string;
  /** Its shape in the file: Hugging Face linear weights are [out, in]. */
  readonly shape: readonly number[];
  /** The Loom parameter (`L<index>.<name>`) it becomes. */
  readonly param: string;
  /** Linear weights are stored [out, in]; Loom kernels are [in][out]. */
  readonly transpose: boolean;
  /** What it is, for `loom inspect`. */
  readonly role: string;
}

/** Tensors a checkpoint may hold that carry no weights (recomputed from the config). */
const IGNORED_SUFFIXES = ['rotary_emb.inv_freq'];

/**
 * The explicit map from Hugging Face names to Loom parameters, derived from the config alone: nothing is matched by
 * shape, so a square q_proj can never load untransposed.
 */
export function checkpointRoles(config: TransformerConfig): TensorRole[] {
  const H = config.hiddenSize;
  const kv = config.kvHeads * config.headDim;
  const I = config.intermediateSize;
  const roles: TensorRole[] = [{ name: 'model.embed_tokens.weight', shape: [config.vocabSize, H], param: 'L0.table', transpose: false, role: 'token embedding' }];
  for (let i = 0; i < config.layers; i++) {
    const base = 1 + 6 * i;
    const p = `model.layers.${i}.`;
    const linear = (name: string, out: number, inp: number, param: string, role: string): TensorRole =>
      ({ name: p + name, shape: [out, inp], param, transpose: true, role: `layer ${i} ${role}` });
    roles.push(
      { name: p + 'input_layernorm.weight', shape: [H], param: `L${base}.gamma`, transpose: false, role: `layer ${i} attention RMSNorm` },
      linear('self_attn.q_proj.weight', H, H, `L${base + 1}.qKernel`, 'query projection'),
      linear('self_attn.k_proj.weight', kv, H, `L${base + 1}.kKernel`, 'key projection'),
      linear('self_attn.v_proj.weight', kv, H, `L${base + 1}.vKernel`, 'value projection'),
      linear('self_attn.o_proj.weight', H, H, `L${base + 1}.outKernel`, 'output projection'),
    );
    if (config.attentionBias) {
      roles.push(
        { name: p + 'self_attn.q_proj.bias', shape: [H], param: `L${base + 1}.qBias`, transpose: false, role: `layer ${i} query bias` },
        { name: p + 'self_attn.k_proj.bias', shape: [kv], param: `L${base + 1}.kBias`, transpose: false, role: `layer ${i} key bias` },
        { name: p + 'self_attn.v_proj.bias', shape: [kv], param: `L${base + 1}.vBias`, transpose: false, role: `layer ${i} value bias` },
      );
    }
    roles.push(
      { name: p + 'post_attention_layernorm.weight', shape: [H], param: `L${base + 3}.gamma`, transpose: false, role: `layer ${i} MLP RMSNorm` },
      linear('mlp.gate_proj.weight', I, H, `L${base + 4}.gate.kernel`, 'MLP gate'),
      linear('mlp.up_proj.weight', I, H, `L${base + 4}.up.kernel`, 'MLP up'),
      linear('mlp.down_proj.weight', H, I, `L${base + 4}.down.kernel`, 'MLP down'),
    );
  }
  const last = 1 + 6 * config.layers;
  roles.push({ name: 'model.norm.weight', shape: [H], param: `L${last}.gamma`, transpose: false, role: 'final RMSNorm' });
  if (!config.tieWordEmbeddings) {
    roles.push({ name: 'lm_head.weight', shape: [config.vocabSize, H], param: `L${last + 1}.kernel`, transpose: true, role: 'LM head' });
  }
  return roles;
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c] as number;
  return out;
}

/** A loaded checkpoint: its config and every Loom parameter's values, ready to fill a network of any length. */
export interface TransformerCheckpoint {
  readonly config: TransformerConfig;
  /** Loom parameter name → values (parameters the checkpoint does not hold, e.g. Llama's zero biases, are absent). */
  readonly params: ReadonlyMap<string, Float32Array>;
}

/**
 * Maps a checkpoint's tensors onto Loom parameters. A missing tensor, a tensor of the wrong shape and a tensor
 * nothing reads are each an error naming it; tied embeddings fill the head from the embedding table.
 */
export function loadCheckpoint(config: TransformerConfig, tensors: ReadonlyMap<string, FloatTensor>): TransformerCheckpoint {
  const roles = checkpointRoles(config);
  const known = new Set(roles.map((r) => r.name));
  if (config.tieWordEmbeddings) known.add('lm_head.weight'); // some tied checkpoints store the shared matrix twice
  const unknown = [...tensors.keys()].filter((n) => !known.has(n) && !IGNORED_SUFFIXES.some((s) => n.endsWith(s)));
  if (unknown.length > 0) {
    throw modelFileError(`checkpoint: ${unknown.length} tensor(s) that a ${config.modelType} decoder with this config.json does not have: ${unknown.slice(0, 8).join(', ')}${unknown.length > 8 ? ', …' : ''}`);
  }
  const missing = roles.filter((r) => !tensors.has(r.name)).map((r) => r.name);
  if (missing.length > 0) throw modelFileError(`checkpoint: missing tensor(s) ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}`);
  const params = new Map<string, Float32Array>();
  for (const role of roles) {
    const t = tensors.get(role.name) as FloatTensor;
    if (t.shape.length !== role.shape.length || t.shape.some((d, i) => d !== role.shape[i])) {
      throw modelFileError(`checkpoint: tensor "${role.name}" has shape ${fmt(t.shape)}, config.json implies ${fmt(role.shape)}`);
    }
    params.set(role.param, role.transpose ? transposed(t.data, role.shape[0] as number, role.shape[1] as number) : t.data);
  }
  if (config.tieWordEmbeddings) {
    const last = 1 + 6 * config.layers;
    const table = params.get('L0.table') as Float32Array;
    params.set(`L${last + 1}.kernel`, transposed(table, config.vocabSize, config.hiddenSize));
  }
  return { config, params };
}

/** Builds the network for sequences of `seqLen` tokens and fills it with the checkpoint's weights. */
export function transformerNetwork(checkpoint: TransformerCheckpoint, seqLen: number): Network {
  const { config } = checkpoint;
  if (!Number.isInteger(seqLen) || seqLen < 1) throw modelFileError(`transformer: sequence length must be a positive integer, got ${seqLen}`);
  if (config.maxPositions !== undefined && seqLen > config.maxPositions) {
    throw modelFileError(`transformer: ${seqLen} tokens exceed the checkpoint's max_position_embeddings (${config.maxPositions})`);
  }
  const network = new Network(transformerNetworkSpec(config, seqLen), new Rng(0));
  for (const p of network.params()) {
    const values = checkpoint.params.get(p.name);
    if (values) p.value.set(values);
    else p.value.fill(0); // biases the architecture has but the checkpoint does not (Llama's q/k/v/o, MLP and head)
  }
  return network;
}
