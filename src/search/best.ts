/**
 * The one rule for "the best single model" of a run, used by every command (`loom runs`, `show`, `analyze`,
 * `search`), the store and the dashboard: the highest validation accuracy, then the lowest validation log-loss,
 * then the smallest model id (string order). Test figures are never consulted.
 *
 * The validation log-loss is the one the search computed from the stored validation probabilities (fitness parts
 * `valLogLoss`, the same formula as ensemble/select.ts `scoreRows`); for models without it, the last validation
 * loss of their training curve; a model with neither ranks after those that have one.
 *
 * Pure and structural: it knows nothing of the store's classes, so every layer can import it.
 */

export interface BestCandidate {
  readonly modelId: string;
  readonly valAccuracy: number | null;
  /** Lower is better; null when unknown. */
  readonly valLogLoss: number | null;
}

/** Negative when a ranks before b (a is the better model), positive when after, 0 only for the same id. */
export function compareBest(a: BestCandidate, b: BestCandidate): number {
  const accA = a.valAccuracy ?? -Infinity;
  const accB = b.valAccuracy ?? -Infinity;
  if (accA !== accB) return accB - accA;
  const llA = a.valLogLoss ?? Infinity;
  const llB = b.valLogLoss ?? Infinity;
  if (llA !== llB) return llA < llB ? -1 : 1;
  return a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : 0;
}

/** The best of `candidates` by `compareBest`, or null when there are none. */
export function pickBest<T extends BestCandidate>(candidates: readonly T[]): T | null {
  let best: T | null = null;
  for (const c of candidates) if (best === null || compareBest(c, best) < 0) best = c;
  return best;
}

/** Candidates sorted best first. */
export function rankBest<T extends BestCandidate>(candidates: readonly T[]): T[] {
  return [...candidates].sort(compareBest);
}

/** What a stored model record offers for ranking (structural: the store's ModelRecord fits). */
export interface RankableRecord {
  readonly modelId: string;
  readonly status: string;
  readonly valAccuracy: number | null;
  readonly fitnessParts?: Readonly<Record<string, number>> | null;
  readonly metrics?: readonly { readonly valLoss?: number }[] | null;
}

/** A stored model's validation log-loss: its fitness part, else the last validation loss of its curve, else null. */
export function recordValLogLoss(record: RankableRecord): number | null {
  const part = record.fitnessParts?.valLogLoss;
  if (typeof part === 'number' && Number.isFinite(part)) return part;
  const metrics = record.metrics ?? [];
  for (let i = metrics.length - 1; i >= 0; i--) {
    const v = metrics[i]?.valLoss;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

/** The best finished ('done') model among stored records, by the one rule. */
export function bestRecord<T extends RankableRecord>(records: readonly T[]): T | null {
  const done = records.filter((r) => r.status === 'done' && r.valAccuracy !== null);
  const ranked = done.map((record) => ({ record, modelId: record.modelId, valAccuracy: record.valAccuracy, valLogLoss: recordValLogLoss(record) }));
  return pickBest(ranked)?.record ?? null;
}

/** Finished records ranked best first by the one rule. */
export function rankRecords<T extends RankableRecord>(records: readonly T[]): T[] {
  const done = records.filter((r) => r.status === 'done' && r.valAccuracy !== null);
  return rankBest(done.map((record) => ({ record, modelId: record.modelId, valAccuracy: record.valAccuracy, valLogLoss: recordValLogLoss(record) }))).map((x) => x.record);
}
