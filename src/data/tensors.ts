import { tensor, type Tensor } from '../engine/tensor.js';
import type { DataSplit } from './types.js';

/**
 * One split of a loaded data set as the engine's training/evaluation input: batch-first features shaped
 * [count, ...inputShape] (sharing the split's buffer, no copy) and the class indices.
 */
export function splitTensors(data: { readonly inputShape: readonly number[] }, split: DataSplit): { x: Tensor; y: Int32Array } {
  return { x: tensor([split.count, ...data.inputShape], split.x), y: split.y };
}
