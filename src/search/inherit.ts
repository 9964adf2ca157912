import type { ArchConfig } from './arch.js';
import type { InheritMode } from './config.js';

/**
 * Weight inheritance (a config's `inherit`): which trained model a new model starts from. Children of evolution
 * (mutation, crossover) inherit from their first parent under 'children' and 'all'; refit models from the model
 * they refit under 'all' only; generation-0 (random) models never. The coordinator sends that parent's weights with
 * the job, the worker copies every param whose name and shape match (engine/io/weights.ts inheritMatchingWeights).
 */
export function inheritsFrom(mode: InheritMode, arch: Pick<ArchConfig, 'origin' | 'parents'>): string | undefined {
  if (mode === 'none' || arch.origin === 'random') return undefined;
  if (arch.origin === 'refit' && mode !== 'all') return undefined;
  return arch.parents[0];
}
