import { bestRecord } from '../search/best.js';
import { parseRunConfig } from '../search/config.js';
import { totalModels } from '../search/coordinator.js';
import type { Store } from '../store/store.js';
import { emptyStatusCounts, type EnsembleRecord, type ModelRecord, type RunRecord } from '../store/types.js';
import type { CompareReplyType, GenerationSummaryType, RunDetailReplyType, RunSummaryType } from './schemas/runs.js';

/**
 * Store records → what the runs list, the run page and the comparison show. Selection is always on validation
 * (the one best-model rule of search/best.ts, as every command); test accuracy is only reported.
 */

const bestBy = <T>(items: readonly T[], score: (t: T) => number | null): T | null =>
  items.reduce<T | null>((best, item) => {
    const s = score(item);
    if (s === null) return best;
    return best === null || s > (score(best) ?? -Infinity) ? item : best;
  }, null);

/** The best finished model by the one rule every command uses (search/best.ts). */
export function bestModel(models: readonly ModelRecord[]): ModelRecord | null {
  return bestRecord(models);
}

export function bestEnsemble(ensembles: readonly EnsembleRecord[]): EnsembleRecord | null {
  return bestBy(ensembles, (e) => e.valAccuracy ?? e.testAccuracy);
}

export function runSummary(store: Store, run: RunRecord, now = Date.now(), models = store.listModels(run.id)): RunSummaryType {
  const counts = emptyStatusCounts();
  for (const m of models) counts[m.status] += 1;
  const best = bestModel(models);
  const ensemble = bestEnsemble(store.listEnsembles(run.id));
  const status = store.runState(run);
  // A stalled run's clock stops at its last sign of life (heartbeat or model update), not at now.
  const lastSeen = Math.max(run.heartbeatAt ?? run.createdAt, latestUpdate(models, run.createdAt));
  const end = run.finishedAt ?? (status === 'running' ? now : status === 'stalled' ? lastSeen : latestUpdate(models, run.createdAt));
  return {
    id: run.id,
    name: run.name,
    // 'stalled': running, but its coordinator's lease expired (see store runState).
    status,
    dataRef: run.dataRef,
    seed: run.seed,
    codeVersion: run.codeVersion,
    dataChecksum: run.dataChecksum,
    modelsTotal: models.length,
    modelsPlanned: plannedModels(store, run, models.length),
    modelsDone: counts.done,
    modelsRunning: counts.running,
    modelsPending: counts.pending,
    modelsFailed: counts.failed,
    generations: store.listGenerations(run.id).length,
    bestModelId: best?.modelId ?? null,
    bestValAccuracy: best?.valAccuracy ?? null,
    bestTestAccuracy: best?.testAccuracy ?? null,
    bestEnsembleId: ensemble?.id ?? null,
    bestEnsembleValAccuracy: ensemble?.valAccuracy ?? null,
    bestEnsembleTestAccuracy: ensemble?.testAccuracy ?? null,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    durationMs: end - run.createdAt,
  };
}

/** The run's size from its config, as the CLI computes it at the start; null when the config does not fix one. */
function plannedModels(store: Store, run: RunRecord, recorded: number): number | null {
  try {
    const planned = totalModels(parseRunConfig(store.getRunConfig(run.id), run.id));
    return planned > 0 ? Math.max(planned, recorded) : null;
  } catch {
    return null; // a config the current parser rejects (older run): no planned size
  }
}

export const latestUpdate = (models: readonly ModelRecord[], fallback = 0): number =>
  models.reduce((t, m) => Math.max(t, m.updatedAt), fallback);

/** Per generation: its members (from the generation's stats when the coordinator recorded them, else by birth generation). */
export function generationSummaries(store: Store, runId: string, models = store.listModels(runId)): GenerationSummaryType[] {
  const byId = new Map(models.map((m) => [m.modelId, m]));
  return store.listGenerations(runId).map((g) => {
    const listed = g.stats?.members;
    const members = Array.isArray(listed)
      ? listed.map((id) => byId.get(String(id))).filter((m): m is ModelRecord => m !== undefined)
      : models.filter((m) => m.generation === g.index);
    const done = members.filter((m) => m.status === 'done' && m.valAccuracy !== null);
    const vals = done.map((m) => m.valAccuracy as number);
    const best = bestModel(done);
    return {
      index: g.index,
      startedAt: g.startedAt,
      finishedAt: g.finishedAt,
      size: members.length,
      done: done.length,
      bestValAccuracy: vals.length ? Math.max(...vals) : null,
      meanValAccuracy: vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null,
      bestTestAccuracy: best?.testAccuracy ?? null,
    };
  });
}

export function runDetail(store: Store, run: RunRecord, now = Date.now()): RunDetailReplyType {
  const models = store.listModels(run.id);
  const workers = new Map<string, { models: number; trainMs: number }>();
  for (const m of models) {
    if (m.status !== 'done' || !m.worker) continue;
    const w = workers.get(m.worker) ?? { models: 0, trainMs: 0 };
    w.models += 1;
    w.trainMs += m.trainMs ?? 0;
    workers.set(m.worker, w);
  }
  return {
    run: runSummary(store, run, now, models),
    config: run.config,
    generations: generationSummaries(store, run.id, models),
    workers: [...workers].map(([worker, w]) => ({ worker, ...w })).sort((a, b) => a.worker.localeCompare(b.worker)),
    lastEventId: newestEvent(store, run.id),
    now,
  };
}

/**
 * The id of a run's newest event. listEvents pages forward from an id, so walk in pages of 10,000 (a long run
 * logs a few events per model); the result is cached per run and only moves forward.
 */
const newestEventId = new WeakMap<Store, Map<string, number>>();
export function newestEvent(store: Store, runId: string): number {
  let perRun = newestEventId.get(store);
  if (!perRun) newestEventId.set(store, (perRun = new Map()));
  let after = perRun.get(runId) ?? 0;
  for (;;) {
    const page = store.listEvents(runId, { afterId: after, limit: 10_000 });
    if (page.length === 0) break;
    after = page[page.length - 1]?.id ?? after;
    if (page.length < 10_000) break;
  }
  perRun.set(runId, after);
  return after;
}

/** Flattens a config object to dotted keys with short string values, for the comparison's diff. */
export function flattenConfig(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, JSON.stringify(value) ?? 'undefined');
  }
  return out;
}

/**
 * Why two runs' test samples are not the same samples, or null when they are: the data's checksum and every
 * setting under `data` (split seed, fractions, …) must match, otherwise sample i of one run is another sample
 * than sample i of the other.
 */
export function samplesMismatch(a: RunRecord, b: RunRecord): string | null {
  if (a.dataChecksum !== b.dataChecksum) return `the runs used different data (checksum ${a.dataChecksum.slice(0, 12)} vs ${b.dataChecksum.slice(0, 12)})`;
  const dataOf = (r: RunRecord) => flattenConfig((r.config !== null && typeof r.config === 'object' ? (r.config as Record<string, unknown>)['data'] : undefined) ?? {});
  const da = dataOf(a);
  const db = dataOf(b);
  const differing = [...new Set([...da.keys(), ...db.keys()])].filter((k) => da.get(k) !== db.get(k)).sort();
  if (differing.length > 0) {
    return `the runs split the data differently (${differing.map((k) => `data.${k}: ${da.get(k) ?? '—'} vs ${db.get(k) ?? '—'}`).join(', ')})`;
  }
  return null;
}

/** Counts test samples the best model of `a` gets right and that of `b` gets wrong, and the converse. */
function disagreements(store: Store, ra: RunRecord, rb: RunRecord, a: RunSummaryType, b: RunSummaryType): { onlyA: number | null; onlyB: number | null; masksNote: string | null } {
  const none = (masksNote: string) => ({ onlyA: null, onlyB: null, masksNote });
  const mismatch = samplesMismatch(ra, rb);
  if (mismatch) return none(`not compared sample by sample: ${mismatch}`);
  if (!a.bestModelId || !b.bestModelId) return none('not compared sample by sample: a run has no finished model yet');
  try {
    const ma = store.getPredictions(a.id, 'test', [a.bestModelId]).masks[0];
    const mb = store.getPredictions(b.id, 'test', [b.bestModelId]).masks[0];
    if (!ma || !mb || ma.length !== mb.length) return none('not compared sample by sample: the stored test predictions differ in length');
    let onlyA = 0;
    let onlyB = 0;
    for (let i = 0; i < ma.length; i++) {
      if (ma[i] && !mb[i]) onlyA++;
      if (mb[i] && !ma[i]) onlyB++;
    }
    return { onlyA, onlyB, masksNote: null };
  } catch {
    return none('not compared sample by sample: test predictions are not stored');
  }
}

export function compareRuns(store: Store, a: RunRecord, b: RunRecord, now = Date.now()): CompareReplyType {
  const side = (run: RunRecord) => {
    const models = store.listModels(run.id);
    return { run: runSummary(store, run, now, models), generations: generationSummaries(store, run.id, models) };
  };
  const sa = side(a);
  const sb = side(b);
  const ca = flattenConfig({ data: a.dataRef, ...(a.config as object) });
  const cb = flattenConfig({ data: b.dataRef, ...(b.config as object) });
  const keys = [...new Set([...ca.keys(), ...cb.keys()])].sort();
  const configDiff = keys
    .filter((k) => ca.get(k) !== cb.get(k))
    .map((key) => ({ key, a: ca.get(key) ?? '—', b: cb.get(key) ?? '—' }));
  return { a: sa, b: sb, configDiff, ...disagreements(store, a, b, sa.run, sb.run) };
}
