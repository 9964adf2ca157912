import { deriveSeed } from '../engine/rng.js';
import { geneImportances, type GeneColumn } from '../search/importance.js';
import type { ModelRecord } from '../store/types.js';
import { modelRow } from './model-view.js';
import type { ImportanceReplyType } from './schemas/analysis.js';
import type { ModelRowType } from './schemas/models.js';

/**
 * The genes the run page analyses (parallel coordinates, slice plots, importances): config fields of the search's
 * archs, numeric or categorical. The learning rate is analysed on a log scale, as it is sampled.
 */
export const GENES: readonly { name: string; kind: 'numeric' | 'categorical'; get: (m: ModelRowType) => number | string | null }[] = [
  { name: 'species', kind: 'categorical', get: (m) => m.species },
  { name: 'brains', kind: 'categorical', get: (m) => m.brains },
  { name: 'combineMode', kind: 'categorical', get: (m) => m.combineMode },
  { name: 'activation', kind: 'categorical', get: (m) => m.activation },
  { name: 'gridCells', kind: 'numeric', get: (m) => (m.gridRows !== null && m.gridCols !== null ? m.gridRows * m.gridCols : null) },
  { name: 'dModel', kind: 'numeric', get: (m) => m.dModel },
  { name: 'numHeads', kind: 'numeric', get: (m) => m.numHeads },
  { name: 'log10LearningRate', kind: 'numeric', get: (m) => (m.learningRate !== null && m.learningRate > 0 ? Math.log10(m.learningRate) : null) },
];

/** At most this many models enter the forest (a seeded sample beyond it), so the reply stays well under a second. */
const MAX_MODELS = 600;

const cache = new WeakMap<object, Map<string, { key: string; reply: ImportanceReplyType }>>();

/**
 * Permutation importances of the genes for validation accuracy over a run's finished models (search/importance.ts),
 * cached per run until a model changes. Genes with a single value in the population are left out (nothing to learn).
 */
export function importanceView(owner: object, runId: string, records: readonly ModelRecord[], seed: number): ImportanceReplyType {
  const done = records.filter((m) => m.status === 'done' && m.valAccuracy !== null);
  const key = `${done.length}:${records.reduce((t, m) => Math.max(t, m.updatedAt), 0)}`;
  let perOwner = cache.get(owner);
  if (!perOwner) cache.set(owner, (perOwner = new Map()));
  const hit = perOwner.get(runId);
  if (hit && hit.key === key) return hit.reply;
  const rows = done.map(modelRow);
  const sample = rows.length > MAX_MODELS ? rows.filter((_, i) => i % Math.ceil(rows.length / MAX_MODELS) === 0) : rows;
  const genes = GENES.filter((g) => new Set(sample.map((m) => String(g.get(m)))).size > 1);
  const columns: GeneColumn[] = genes.map((g) => ({ name: g.name, kind: g.kind, values: sample.map((m) => g.get(m)) }));
  const target = sample.map((m) => m.valAccuracy as number);
  // Runs recorded before seeds were checked may hold one outside [0, 2^32): any fixed seed keeps the view stable.
  const base = Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff ? seed : 0;
  const result = geneImportances(columns, target, { seed: deriveSeed(base, 'gene-importance'), trees: 40 });
  const reply: ImportanceReplyType = {
    target: 'valAccuracy',
    models: sample.length,
    method: 'permutation importance (out-of-bag) of a seeded random forest of 40 regression trees',
    genes: result.sort((a, b) => b.importance - a.importance),
  };
  perOwner.set(runId, { key, reply });
  return reply;
}
