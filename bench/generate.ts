import { Network } from '../src/engine/network.js';
import { Rng } from '../src/engine/rng.js';
import type { TransformerConfig } from '../src/engine/transformer/config.js';
import { transformerNetworkSpec, type TransformerCheckpoint } from '../src/engine/transformer/checkpoint.js';
import { generate } from '../src/engine/transformer/generate.js';
import { table, timeInterleaved } from './util.js';

/** A Llama-shaped decoder of about 10M parameters with random weights (the speed does not depend on the values). */
const CONFIG: TransformerConfig = {
  modelType: 'llama',
  hiddenSize: 256,
  intermediateSize: 688,
  layers: 8,
  heads: 8,
  kvHeads: 4,
  headDim: 32,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  vocabSize: 8000,
  tieWordEmbeddings: false,
  attentionBias: false,
};

export interface GenerateRow {
  readonly parameters: number;
  readonly promptTokens: number;
  readonly newTokens: number;
  readonly cachedTokensPerSecond: number;
  readonly recomputeTokensPerSecond: number;
}

/**
 * Greedy generation tokens/s (prompt processing and network set-up included) with the key/value cache and by
 * recomputing the whole prompt + new-token window for every token.
 */
export async function benchGenerate(promptTokens = 16, newTokens = 32): Promise<GenerateRow> {
  const network = new Network(transformerNetworkSpec(CONFIG, 1), new Rng(1));
  const checkpoint: TransformerCheckpoint = { config: CONFIG, params: new Map(network.params().map((p) => [p.name, p.value])) };
  const rng = new Rng(2);
  const prompt = Array.from({ length: promptTokens }, () => rng.int(CONFIG.vocabSize));
  const [cached, recomputed] = await timeInterleaved(
    [() => void generate(checkpoint, prompt, { maxNewTokens: newTokens }), () => void generate(checkpoint, prompt, { maxNewTokens: newTokens, cache: false })],
    2,
    0,
  );
  return {
    parameters: network.paramCount(),
    promptTokens,
    newTokens,
    cachedTokensPerSecond: (newTokens / (cached as number)) * 1000,
    recomputeTokensPerSecond: (newTokens / (recomputed as number)) * 1000,
  };
}

export function generateTable(r: GenerateRow): string {
  return table(
    ['model', 'prompt', 'new tokens', 'with KV cache, tokens/s', 'recomputing the window, tokens/s', 'speed-up'],
    [[`Llama-shaped, ${(r.parameters / 1e6).toFixed(1)}M params`, String(r.promptTokens), String(r.newTokens), r.cachedTokensPerSecond, r.recomputeTokensPerSecond, `${(r.cachedTokensPerSecond / r.recomputeTokensPerSecond).toFixed(1)}×`]],
  );
}
