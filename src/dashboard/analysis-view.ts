import { kmeans } from '../ensemble/kmeans.js';
import { findComplementaryMatches, maskCorrelationMatrix, pairCounts, pairStats } from '../ensemble/pairs.js';
import type { Store } from '../store/store.js';
import type { ModelRecord, RunRecord } from '../store/types.js';
import { project2d } from './projection.js';
import type { AnalysisReplyType, EnsembleViewType } from './schemas/analysis.js';
import { bestModel } from './summaries.js';

/**
 * The analysis page from the stored validation masks, with the ensemble module's measures (mask correlation,
 * k-means, complementary pairs). Everything is on the validation split — the split ensembles are chosen on — and
 * the ensembles' realized gain is reported on test against the best single model (also chosen on validation).
 */

const DEFAULT_TOP = 40;
/** K-means and the projection look at the best models up to this many (a 2,000-model run stays interactive). */
const MAX_CLUSTERED = 400;
const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function ensembleViews(store: Store, runId: string, best: ModelRecord | null): EnsembleViewType[] {
  const bestTest = best?.testAccuracy ?? null;
  return store.listEnsembles(runId).map((e) => ({
    id: e.id,
    method: e.method,
    members: [...e.members],
    weights: [...e.weights],
    valAccuracy: e.valAccuracy,
    testAccuracy: e.testAccuracy,
    testGain: e.testAccuracy !== null && bestTest !== null ? e.testAccuracy - bestTest : null,
    createdAt: e.createdAt,
  }));
}

export function analysisView(store: Store, run: RunRecord, options: { top?: number; k?: number } = {}): AnalysisReplyType {
  const notes: string[] = [];
  const models = store.listModels(run.id, { status: 'done' });
  const best = bestModel(models);
  const val = store.getPredictions(run.id, 'val');
  const accuracy = new Map(models.map((m) => [m.modelId, m.valAccuracy]));
  // Best first (validation accuracy), ties by id, so the picture does not move between loads.
  const ranked = val.modelIds
    .map((id, k) => ({ id, mask: val.masks[k] as Uint8Array, acc: accuracy.get(id) ?? null }))
    .sort((a, b) => (b.acc ?? -1) - (a.acc ?? -1) || a.id.localeCompare(b.id));

  const top = ranked.slice(0, options.top ?? DEFAULT_TOP);
  if (ranked.length > top.length) notes.push(`heatmap and pairs: the ${top.length} best of ${ranked.length} models by validation accuracy`);
  const matrix = top.length > 0 ? maskCorrelationMatrix(top.map((t) => t.mask), top.map((t) => t.id)).map((row) => row.map(finiteOrNull)) : [];

  const pairs = findComplementaryMatches(top.map((t) => ({ id: t.id, mask: t.mask })), 0, 12).map((p) => {
    const a = top.find((t) => t.id === p.modelA);
    const b = top.find((t) => t.id === p.modelB);
    const s = a && b ? pairStats(pairCounts(a.mask, b.mask)) : null;
    return {
      modelA: p.modelA,
      modelB: p.modelB,
      coverage: p.coverage,
      overlap: p.overlap,
      doubleFault: s?.doubleFault ?? 0,
      disagreement: s?.disagreement ?? 0,
      accuracyA: a?.acc ?? null,
      accuracyB: b?.acc ?? null,
    };
  });

  const clustered = ranked.slice(0, MAX_CLUSTERED);
  if (ranked.length > clustered.length) notes.push(`clusters: the ${clustered.length} best models`);
  let clusters: AnalysisReplyType['clusters'] = { k: 0, sizes: [], points: [] };
  if (clustered.length > 0 && val.numSamples > 0) {
    const points = clustered.map((c) => c.mask);
    const result = kmeans(points, Math.min(options.k ?? 4, clustered.length), { seed: 0 });
    const xy = project2d(points);
    clusters = {
      k: result.k,
      sizes: [...result.sizes],
      points: clustered.map((c, i) => ({
        modelId: c.id,
        x: (xy[i] as [number, number])[0],
        y: (xy[i] as [number, number])[1],
        cluster: result.assignments[i] as number,
        valAccuracy: c.acc,
      })),
    };
  }
  if (ranked.length === 0) notes.push('no trained model has stored validation predictions yet');

  const ensembles = ensembleViews(store, run.id, best);
  if (ensembles.length === 0) notes.push('no ensemble has been built for this run yet');
  return {
    runId: run.id,
    split: 'val',
    samples: val.numSamples,
    models: ranked.length,
    notes,
    bestSingle: best ? { modelId: best.modelId, valAccuracy: best.valAccuracy, testAccuracy: best.testAccuracy } : null,
    heatmap: { modelIds: top.map((t) => t.id), matrix },
    clusters,
    pairs,
    ensembles,
    stored: store.getAnalyses(run.id).map((a) => ({ id: a.id, kind: a.kind, createdAt: a.createdAt })),
  };
}
