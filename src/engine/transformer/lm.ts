import { dataError } from '../errors.js';
import type { Dataset } from '../eval.js';

/**
 * Causal language-modelling examples from token sequences: every window of `seqLen + 1` consecutive tokens (stride
 * `seqLen`) gives inputs t[0..seqLen) and targets t[1..seqLen], one label per position, so the engine's ordinary
 * training loop with softmax cross-entropy trains next-token prediction.
 */
export function causalLmDataset(sequences: readonly (readonly number[])[], seqLen: number): Dataset {
  if (!Number.isInteger(seqLen) || seqLen < 1) throw dataError(`causal LM: sequence length must be a positive integer, got ${seqLen}`);
  const inputs: number[] = [];
  const targets: number[] = [];
  let windows = 0;
  for (const seq of sequences) {
    for (let start = 0; start + seqLen < seq.length; start += seqLen) {
      inputs.push(...seq.slice(start, start + seqLen));
      targets.push(...seq.slice(start + 1, start + seqLen + 1));
      windows++;
    }
  }
  if (windows === 0) throw dataError(`causal LM: no sequence has the ${seqLen + 1} tokens one training window needs`);
  return { x: { data: Float32Array.from(inputs), shape: [windows, seqLen] }, y: Int32Array.from(targets) };
}
