import { dataError, LoomError, specError } from '../errors.js';
import type { Layer, Param, RunContext } from '../layers/types.js';
import { argmax } from '../math.js';
import type { Network } from '../network.js';
import { withDefaults } from '../network.js';
import { Rng } from '../rng.js';
import { applyRope, ropeTables, type RopeTables } from '../rope.js';
import type { Tensor } from '../tensor.js';
import { transformerNetwork, type TransformerCheckpoint } from './checkpoint.js';

/** How the next token is chosen from the logits. Greedy (argmax) unless a temperature above 0 is given. */
export interface SamplingOptions {
  /** 0 (default): greedy. Above 0: sample from softmax(logits / temperature). */
  readonly temperature?: number;
  /** Keep only the k most likely tokens before sampling (0 = all). */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = all). */
  readonly topP?: number;
  /** Seed of the sampling stream. */
  readonly seed?: number;
}

export interface GenerateOptions extends SamplingOptions {
  readonly maxNewTokens: number;
  /** Stop early after this token (e.g. the end-of-sequence id). */
  readonly stopToken?: number;
  /** Use the key/value cache (default). false recomputes the whole sequence for every new token: for checks and benchmarks. */
  readonly cache?: boolean;
}

interface AttentionShape {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly dModel: number;
  readonly rope: RopeTables | null;
}

/** The keys and values of every position seen so far, for one attention layer. */
interface KvCache {
  readonly k: Float32Array;
  readonly v: Float32Array;
}

function paramNamed(layer: Layer, name: string): Param {
  const p = layer.params().find((q) => q.name === name);
  if (!p) throw new LoomError('LOOM_ERR_SPEC', `decoder: attention layer has no parameter "${name}"`);
  return p;
}

function attentionShape(layer: Layer, capacity: number): AttentionShape {
  const spec: Record<string, unknown> = { ...layer.spec };
  const { heads, kvHeads, rope, ropeTheta } = spec;
  if (typeof heads !== 'number' || typeof kvHeads !== 'number' || typeof rope !== 'boolean' || typeof ropeTheta !== 'number' || spec.causal !== true) {
    throw specError('decoder', 'the key/value cache needs causal mha layers with resolved heads, kvHeads, rope and ropeTheta');
  }
  const dModel = layer.inputShape[layer.inputShape.length - 1] as number;
  const headDim = dModel / heads;
  return { heads, kvHeads, headDim, dModel, rope: rope ? ropeTables(capacity, headDim, ropeTheta) : null };
}

/**
 * Autoregressive decoding with a key/value cache: each new token runs the network's layers on one position, and
 * each attention layer attends over its cached keys and values instead of recomputing the whole sequence. The layers
 * are those of the checkpoint's network built for one token, so the per-position math (norms, MLP, head) is the
 * layers' own; only attention over the cache is done here, through the same backend kernel and RoPE tables.
 */
export class CachedDecoder {
  readonly capacity: number;
  private readonly network: Network;
  private readonly ctx: RunContext;
  private readonly shapes = new Map<number, AttentionShape>();
  private readonly caches = new Map<number, KvCache>();
  private position = 0;

  constructor(checkpoint: TransformerCheckpoint, capacity: number, ctx: Partial<RunContext> = {}) {
    const max = checkpoint.config.maxPositions ?? Number.POSITIVE_INFINITY;
    if (!Number.isInteger(capacity) || capacity < 1) throw specError('decoder', `capacity must be a positive integer, got ${capacity}`);
    if (capacity > max) throw dataError(`decoder: ${capacity} positions exceed the checkpoint's max_position_embeddings (${max})`);
    this.capacity = capacity;
    this.network = transformerNetwork(checkpoint, 1);
    this.ctx = withDefaults(ctx);
    this.network.layers.forEach((layer, i) => {
      if (layer.spec.type !== 'mha') return;
      const shape = attentionShape(layer, capacity);
      this.shapes.set(i, shape);
      const kvDim = shape.kvHeads * shape.headDim;
      this.caches.set(i, { k: new Float32Array(capacity * kvDim), v: new Float32Array(capacity * kvDim) });
    });
  }

  /** Tokens consumed so far. */
  get length(): number {
    return this.position;
  }

  /** Feeds one token and returns the logits for the token after it. */
  step(token: number): Float32Array {
    if (this.position >= this.capacity) throw dataError(`decoder: the cache holds ${this.capacity} positions and is full`);
    const inputs: Tensor[] = [];
    let x: Tensor = { data: Float32Array.of(token), shape: [1, 1] };
    this.network.layers.forEach((layer, i) => {
      inputs.push(x);
      const shape = this.shapes.get(i);
      if (layer.skipBack !== undefined && layer.forwardSkip) x = layer.forwardSkip(x, inputs[i - layer.skipBack] as Tensor, this.ctx);
      else if (shape) x = this.attend(layer, shape, this.caches.get(i) as KvCache, x);
      else x = layer.forward(x, this.ctx);
    });
    this.position++;
    return x.data;
  }

  private attend(layer: Layer, s: AttentionShape, cache: KvCache, x: Tensor): Tensor {
    const { backend } = this.ctx;
    const pos = this.position;
    const kvDim = s.kvHeads * s.headDim;
    const project = (kernel: string, bias: string, cols: number): Float32Array => {
      const out = Float32Array.from(paramNamed(layer, bias).value);
      backend.matmul({ a: x.data, b: paramNamed(layer, kernel).value, c: out, m: 1, n: cols, k: s.dModel, accumulate: true });
      return out;
    };
    const q = project('qKernel', 'qBias', s.dModel);
    const k = project('kKernel', 'kBias', kvDim);
    const v = project('vKernel', 'vBias', kvDim);
    if (s.rope) {
      applyRope(q, s.heads, s.rope, () => pos);
      applyRope(k, s.kvHeads, s.rope, () => pos);
    }
    cache.k.set(k, pos * kvDim);
    cache.v.set(v, pos * kvDim);
    const seen = pos + 1;
    const attn = new Float32Array(s.dModel);
    backend.attention({
      q, k: cache.k.subarray(0, seen * kvDim), v: cache.v.subarray(0, seen * kvDim), out: attn, probs: new Float32Array(s.heads * seen),
      batch: 1, heads: s.heads, kvHeads: s.kvHeads, seqQ: 1, seqK: seen, headDim: s.headDim, causal: false, scale: 1 / Math.sqrt(s.headDim),
    });
    const y = Float32Array.from(paramNamed(layer, 'outBias').value);
    backend.matmul({ a: attn, b: paramNamed(layer, 'outKernel').value, c: y, m: 1, n: s.dModel, k: s.dModel, accumulate: true });
    return { data: y, shape: [1, 1, s.dModel] };
  }
}

/** Logits [seq][vocab] for every position of one token sequence, by a full forward pass. */
export function sequenceLogits(checkpoint: TransformerCheckpoint, ids: readonly number[], ctx: Partial<RunContext> = {}): Float32Array {
  checkTokenIds(checkpoint, ids);
  const network = transformerNetwork(checkpoint, ids.length);
  return network.forward({ data: Float32Array.from(ids), shape: [1, ids.length] }, ctx).data;
}

/** Every id an integer in [0, vocab): one clear error naming the first that is not. */
export function checkTokenIds(checkpoint: TransformerCheckpoint, ids: readonly number[]): void {
  const vocab = checkpoint.config.vocabSize;
  if (ids.length === 0) throw dataError('token ids: the sequence is empty');
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw dataError(`token ids: ${JSON.stringify(id)} at position ${i} is not an integer in [0, ${vocab})`);
  });
}

/** Checks the sampling options once, before any token is generated: each problem an error naming the option. */
export function checkSampling(options: SamplingOptions): void {
  const { temperature = 0, topK = 0, topP = 1 } = options;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw specError('sampling', `temperature must be a number ≥ 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw specError('sampling', `top-k must be a whole number ≥ 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw specError('sampling', `top-p must be in (0, 1], got ${topP}`);
}

/** Picks the next token: argmax when greedy, else a seeded draw after temperature, top-k and top-p (checked options). */
export function sampleToken(logits: Float32Array, options: SamplingOptions, rng: Rng): number {
  const { temperature = 0, topK = 0, topP = 1 } = options;
  const best = argmax(logits, 0, logits.length);
  if (best < 0) throw dataError('sampling: every logit is NaN');
  if (temperature === 0) return best;
  const order = Array.from(logits.keys()).sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  const kept = topK > 0 ? order.slice(0, topK) : order;
  const max = logits[best] as number;
  const weights = kept.map((i) => Math.exp(((logits[i] as number) - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let cut = kept.length;
  let mass = 0;
  for (let j = 0; j < kept.length; j++) {
    mass += (weights[j] as number) / total;
    if (mass >= topP) {
      cut = j + 1;
      break;
    }
  }
  return kept[rng.weighted(weights.slice(0, cut))] as number;
}

/** Continues a prompt by `maxNewTokens` tokens; returns only the new ids. */
export function generate(checkpoint: TransformerCheckpoint, prompt: readonly number[], options: GenerateOptions, ctx: Partial<RunContext> = {}): number[] {
  checkTokenIds(checkpoint, prompt);
  checkSampling(options);
  const { maxNewTokens } = options;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw specError('generate', `max new tokens must be a whole number ≥ 0, got ${maxNewTokens}`);
  const rng = new Rng(options.seed ?? 0);
  const out: number[] = [];
  if (options.cache === false) {
    // One network for the longest sequence, the tail padded with id 0: attention is causal, so the logits at
    // position t do not see the padding after it. Every new token recomputes the whole window.
    const length = prompt.length + maxNewTokens;
    const network = transformerNetwork(checkpoint, length);
    const vocab = checkpoint.config.vocabSize;
    const ids = new Float32Array(length);
    ids.set(prompt);
    for (let n = 0, t = prompt.length; n < maxNewTokens; n++, t++) {
      const logits = network.forward({ data: ids, shape: [1, length] }, ctx).data;
      const next = sampleToken(logits.subarray((t - 1) * vocab, t * vocab), options, rng);
      out.push(next);
      ids[t] = next;
      if (next === options.stopToken) break;
    }
    return out;
  }
  const decoder = new CachedDecoder(checkpoint, prompt.length + maxNewTokens, ctx);
  let logits: Float32Array = new Float32Array(0);
  for (const id of prompt) logits = decoder.step(id);
  for (let n = 0; n < maxNewTokens; n++) {
    const next = sampleToken(logits, options, rng);
    out.push(next);
    if (next === options.stopToken || n === maxNewTokens - 1) break;
    logits = decoder.step(next);
  }
  return out;
}
