import { configError } from '../engine/errors.js';
import { finishConfig, validateConfig, type ArchConfig } from './arch.js';
import { rankBest, recordValLogLoss, type RankableRecord } from './best.js';

/**
 * The final refit (as AutoML tools end a search): the best models of the search are trained again from scratch
 * (or, with the config's `inherit: 'all'`, trained on from their weights) with a larger epoch budget, and the
 * ensemble is formed afterwards, so its members get the training a search could not afford for every candidate.
 * Refit models are ordinary models of one extra generation (index = config.generations), with origin 'refit' and
 * their source as parent, so every view, resume and the ensemble selection treat them like any other finished model.
 */

export interface RefitSpec {
  /** How many of the best models are refit. */
  readonly models: number;
  /** Epochs of each refit (replaces the model's epochs gene and the run's training.epochs). */
  readonly epochs: number;
}

/** Whether generation `index` of a search of `generations` generations is its refit (the one extra generation). */
export const isRefitGeneration = (index: number, generations: number): boolean => index >= generations;

/** The id of a model's refit. */
export const refitId = (modelId: string): string => `${modelId}-refit`;

/** Parses a config's `refit` field: {models, epochs}, or absent/false for none. */
export function parseRefit(v: unknown): RefitSpec | undefined {
  if (v === undefined || v === false) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw configError('refit', 'must be an object {models, epochs} (or false)');
  const o = v as Record<string, unknown>;
  for (const key of Object.keys(o)) if (key !== 'models' && key !== 'epochs') throw configError(`refit.${key}`, 'unknown field; known fields: models, epochs');
  const int = (key: 'models' | 'epochs', max: number): number => {
    const x = o[key];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1 || x > max) throw configError(`refit.${key}`, `must be an integer in [1, ${max}], got ${JSON.stringify(x)}`);
    return x;
  };
  return { models: int('models', 1000), epochs: int('epochs', 10_000) };
}

/** The config's `refit` field as a spread: `{refit}` when one is asked for, else nothing. */
export function refitField(v: unknown): { refit?: RefitSpec } {
  const spec = parseRefit(v);
  return spec ? { refit: spec } : {};
}

/** What the refit choice reads of a stored model. */
export interface RefitCandidate extends RankableRecord {
  readonly arch: unknown;
  readonly generation: number;
}

/**
 * The refit configs: the best `spec.models` finished models of the search generations (by the one best-model rule:
 * validation accuracy, then validation log-loss, then id), each as a copy with `spec.epochs` epochs, a new id and
 * origin 'refit'. Models whose stored config no longer validates are skipped.
 */
export function refitConfigs(done: readonly RefitCandidate[], spec: RefitSpec, searchGenerations: number): ArchConfig[] {
  const candidates = done.filter((m) => m.status === 'done' && m.generation < searchGenerations);
  const ranked = rankBest(candidates.map((m) => ({ record: m, modelId: m.modelId, valAccuracy: m.valAccuracy, valLogLoss: recordValLogLoss(m) })));
  const configs: ArchConfig[] = [];
  for (const { record } of ranked) {
    if (configs.length >= spec.models) break;
    let arch: ArchConfig;
    try {
      arch = validateConfig(record.arch);
    } catch {
      continue;
    }
    const { name: _n, species: _s, mutationStr: _m, numBrains: _b, brainNames: _bn, ...genes } = arch;
    configs.push(finishConfig({ ...genes, id: refitId(arch.id), epochs: spec.epochs, parents: [arch.id], origin: 'refit', mutations: [] }));
  }
  return configs;
}
