import type { TransformerConfig } from './config.js';
import { checkpointRoles } from './checkpoint.js';

/** One stored tensor as `loom inspect` lists it. */
export interface TensorListing {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly file: string;
  /** What the tensor becomes in Loom (the Loom parameter and its role), or why it is not read. */
  readonly role: string;
}

export interface CheckpointListing {
  readonly architecture?: TransformerConfig;
  readonly tensors: readonly TensorListing[];
  readonly totalParameters: number;
}

interface StoredTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly file: string;
}

/** Lists a safetensors file's or folder's tensors with the role each is mapped to when a transformer config is known. */
export function listCheckpoint(tensors: readonly StoredTensor[], config?: TransformerConfig): CheckpointListing {
  const roles = new Map((config ? checkpointRoles(config) : []).map((r) => [r.name, r]));
  const listed = tensors.map((t) => {
    const role = roles.get(t.name);
    const why = !config ? '' : role ? `${role.param} (${role.role}${role.transpose ? ', transposed' : ''})` : t.name === 'lm_head.weight' && config.tieWordEmbeddings ? 'unused: tied to the embedding' : 'unused';
    return { ...t, role: why };
  });
  const totalParameters = tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  return { ...(config ? { architecture: config } : {}), tensors: listed, totalParameters };
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

export function formatCheckpointListing(what: string, listing: CheckpointListing): string {
  const out = [what];
  const a = listing.architecture;
  if (a) {
    out.push(
      `${a.modelType} decoder: ${a.layers} layers, hidden ${a.hiddenSize}, MLP ${a.intermediateSize}, ${a.heads} heads (${a.kvHeads} key/value, head dim ${a.headDim}), vocab ${a.vocabSize}`,
      `RoPE θ ${a.ropeTheta}, RMSNorm ε ${a.rmsNormEps}, ${a.tieWordEmbeddings ? 'tied' : 'separate'} LM head, ${a.attentionBias ? 'q/k/v biases' : 'no attention biases'}${a.maxPositions ? `, up to ${a.maxPositions} positions` : ''}`,
    );
  }
  out.push('', `${'tensor'.padEnd(48)} ${'dtype'.padEnd(5)} ${'shape'.padEnd(14)} ${a ? 'Loom parameter' : 'file'}`);
  for (const t of listing.tensors) out.push(`${t.name.padEnd(48)} ${t.dtype.padEnd(5)} ${fmt(t.shape).padEnd(14)} ${a ? t.role : t.file}`);
  out.push('', `total parameters: ${listing.totalParameters}`);
  return out.join('\n');
}
