import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { modelFileError } from '../engine/errors.js';
import { evaluate } from '../engine/eval.js';
import { decodeModels, encodeLoomBundle, encodeLoomModel, pickModel } from '../engine/io/index.js';
import type { Network } from '../engine/network.js';
import { tensor } from '../engine/tensor.js';
import type { Dataset } from '../data/index.js';
import type { Store } from '../store/store.js';
import type { RunRecord } from '../store/types.js';
import { analyzeRun, finishedModels, loadRunDataset, type AnalyzeRunOptions, type RunAnalysis } from './analyze.js';
import { graftEnsemble, graftHives, trainHiveGraft, type HiveGraftOptions, type HiveTrainOptions } from './graft.js';
import { analysisError } from './masks.js';
import type { BestSingle, EnsembleReport } from './select.js';

/**
 * Store-facing steps after analysis: load members' networks, graft an ensemble (from a saved ensemble, a member
 * list, or the chosen one of the latest analysis), write model files, and the end-of-search routine that
 * `loom search` calls (`finishRun`).
 */

export type ExportFormat = 'loom' | 'loom-bundle';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['loom', 'loom-bundle'];
export type GraftMode = 'ensemble' | 'hive';

/** A finished model of a run, rebuilt from its stored model file. */
export function loadRunModel(store: Store, runId: string, modelId: string): Network {
  const record = store.getWeights(runId, modelId);
  if (!record) throw analysisError(`run ${runId} has no stored weights for model ${modelId}`);
  const network = pickModel(decodeModels(record.bytes, { what: `run ${runId} model ${modelId}` })).network;
  network.modelId = modelId;
  return network;
}

/** Encodes a network in an export format. */
export function encodeExport(network: Network, format: ExportFormat, metadata: Record<string, unknown> = {}): Uint8Array {
  if (format === 'loom') return encodeLoomModel(network, { metadata });
  if (format === 'loom-bundle') return new TextEncoder().encode(encodeLoomBundle([{ id: network.modelId || 'model', network }]));
  throw modelFileError(`unknown export format "${String(format)}" (known: ${EXPORT_FORMATS.join(', ')})`);
}

/** Writes a network to `path` (directories created). */
export function writeExport(network: Network, path: string, format: ExportFormat, metadata: Record<string, unknown> = {}): void {
  const bytes = encodeExport(network, format, metadata);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
  } catch (err) {
    throw modelFileError(`cannot write ${path}: ${(err as Error).message}`);
  }
}

export interface GraftRequest {
  readonly mode?: GraftMode;
  /** A saved ensemble (store id). */
  readonly ensembleId?: number;
  /** Explicit members (equal weights unless `weights`). */
  readonly members?: readonly string[];
  readonly weights?: readonly number[];
  /** The run's data set when the caller has it (else it is reloaded): needed to score the graft. */
  readonly dataset?: Dataset;
  readonly hive?: HiveGraftOptions & HiveTrainOptions;
}

export interface GraftOutcome {
  readonly mode: GraftMode;
  readonly network: Network;
  readonly members: string[];
  readonly weights: number[];
  readonly ensembleId: number | null;
  readonly valAccuracy: number;
  readonly testAccuracy: number;
}

/** Which members (and weights) a request names; without any, the chosen ensemble of the latest saved analysis. */
function resolveMembers(store: Store, runId: string, request: GraftRequest): { members: string[]; weights: number[]; ensembleId: number | null } {
  if (request.ensembleId !== undefined && request.members) throw analysisError('give either an ensemble id or a member list, not both');
  if (request.ensembleId !== undefined) {
    const e = store.listEnsembles(runId).find((x) => x.id === request.ensembleId);
    if (!e) throw analysisError(`run ${runId} has no ensemble ${request.ensembleId} (run loom analyze ${runId} to create some)`);
    return { members: [...e.members], weights: [...e.weights], ensembleId: e.id };
  }
  if (request.members) {
    if (request.members.length === 0) throw analysisError('the member list is empty');
    const done = new Set(finishedModels(store, runId).map((m) => m.modelId));
    const missing = request.members.filter((m) => !done.has(m));
    if (missing.length > 0) throw analysisError(`run ${runId} has no finished model ${missing.join(', ')}`);
    const weights = request.weights ? [...request.weights] : request.members.map(() => 1 / (request.members as string[]).length);
    if (weights.length !== request.members.length) throw analysisError(`${request.members.length} members but ${weights.length} weights`);
    return { members: [...request.members], weights, ensembleId: null };
  }
  const latest = store.getAnalyses(runId, 'ensemble').at(-1)?.payload as { chosenEnsembleId?: number | null } | undefined;
  if (latest?.chosenEnsembleId != null) return resolveMembers(store, runId, { ...request, ensembleId: latest.chosenEnsembleId });
  const analysis = analyzeRun(store, runId, request.dataset ? { labels: { val: request.dataset.val.y, test: request.dataset.test.y } } : {});
  return { members: analysis.chosen.members, weights: analysis.chosen.weights, ensembleId: null };
}

const asData = (data: Dataset, split: Dataset['val']) => ({ x: tensor([split.count, ...data.inputShape], split.x), y: split.y });

/** Grafts members of a run into one network and scores it on the run's validation and test splits. */
export function graftRun(store: Store, runId: string, request: GraftRequest = {}): GraftOutcome {
  const run = store.getRun(runId);
  if (!run) throw analysisError(`no run "${runId}" in ${store.path}`);
  const mode = request.mode ?? 'ensemble';
  const { members, weights, ensembleId } = resolveMembers(store, runId, request);
  const networks = members.map((id) => loadRunModel(store, runId, id));
  const dataset = request.dataset ?? loadRunDataset(run as RunRecord);
  if (mode === 'hive') {
    const graft = graftHives(networks, request.hive ?? {}, members);
    const trained = trainHiveGraft(graft, dataset, request.hive ?? {});
    return { mode, network: trained.network, members, weights, ensembleId, valAccuracy: trained.valAccuracy, testAccuracy: trained.testAccuracy };
  }
  if (mode !== 'ensemble') throw analysisError(`unknown graft mode "${String(mode)}" (known: ensemble, hive)`);
  const network = graftEnsemble(networks.map((network, k) => ({ network, weight: weights[k] as number, modelId: members[k] as string })));
  return {
    mode,
    network,
    members,
    weights,
    ensembleId,
    valAccuracy: evaluate(network, asData(dataset, dataset.val)).accuracy,
    testAccuracy: evaluate(network, asData(dataset, dataset.test)).accuracy,
  };
}

export interface FinishOptions extends Pick<AnalyzeRunOptions, 'selection' | 'seed'> {
  /** Where the exported graft goes (default runs/<run id>). */
  readonly outDir?: string;
  /** The run's data set if the caller has it loaded. */
  readonly dataset?: Dataset;
}

export interface FinishSummary {
  readonly runId: string;
  readonly bestSingle: BestSingle;
  readonly ensemble: EnsembleReport;
  readonly ensembleId: number | null;
  /** Test accuracy of the grafted network (equal to the ensemble's, up to float rounding on argmax ties). */
  readonly graftTestAccuracy: number;
  readonly files: { readonly path: string; readonly format: ExportFormat }[];
  readonly analysis: RunAnalysis;
  /** Ready-to-print summary lines. */
  readonly lines: string[];
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

/**
 * The end of `loom search`: analyse the run (saving analysis and ensembles), graft the chosen ensemble, export it
 * as a Loom model and a LOOM bundle into outDir, record the exports, and summarize best single vs. ensemble.
 */
export function finishRun(store: Store, runId: string, options: FinishOptions = {}): FinishSummary {
  const run = store.getRun(runId);
  if (!run) throw analysisError(`no run "${runId}" in ${store.path}`);
  const dataset = options.dataset ?? loadRunDataset(run);
  const analysis = analyzeRun(store, runId, {
    save: true,
    labels: { val: dataset.val.y, test: dataset.test.y },
    ...(options.selection ? { selection: options.selection } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  });
  const ensembleId = analysis.chosenEnsembleId;
  const graft = graftRun(store, runId, { mode: 'ensemble', members: analysis.chosen.members, weights: analysis.chosen.weights, dataset });
  const outDir = options.outDir ?? join('runs', runId);
  const metadata = { runId, ensembleId, method: analysis.chosen.method, members: analysis.chosen.members, weights: analysis.chosen.weights };
  const files = [
    { path: join(outDir, 'ensemble.loom'), format: 'loom' as const },
    { path: join(outDir, 'ensemble.bundle.json'), format: 'loom-bundle' as const },
  ];
  for (const f of files) {
    writeExport(graft.network, f.path, f.format, metadata);
    store.addExport(runId, { ensembleId, path: f.path, format: f.format });
  }
  const best = analysis.bestSingle;
  const e = analysis.chosen;
  const greedy = analysis.ensembles.find((x) => x.method === 'greedy');
  const lines = [
    `best single model ${best.modelId} (chosen on validation): validation ${pct(best.valAccuracy)}, test ${pct(best.testAccuracy)}`,
    ...(e.method === 'best-single' && greedy
      ? [`no combination beat it on validation (greedy ensemble of ${greedy.members.length}: validation ${pct(greedy.valAccuracy)}, test ${pct(greedy.testAccuracy)}); exporting the best single model`]
      : []),
    `ensemble (${e.method}, ${e.members.length} member${e.members.length === 1 ? '' : 's'}: ${e.members.map((m, i) => `${m}×${(e.weights[i] as number).toFixed(2)}`).join(' ')}): validation ${pct(e.valAccuracy)}, test ${pct(e.testAccuracy)} (${e.testGain >= 0 ? '+' : ''}${(e.testGain * 100).toFixed(2)} points; oracle ${pct(e.oracleTest)})`,
    `grafted ensemble model: ${files.map((f) => f.path).join(', ')} (test ${pct(graft.testAccuracy)})`,
  ];
  return { runId, bestSingle: best, ensemble: e, ensembleId, graftTestAccuracy: graft.testAccuracy, files, analysis, lines };
}
