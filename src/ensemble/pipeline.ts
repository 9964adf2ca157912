import { join } from 'node:path';
import { evaluate } from '../engine/eval.js';
import { writeModel } from '../engine/io/files.js';
import type { ModelFormat } from '../engine/io/formats.js';
import { decodeModels, pickModel } from '../engine/io/model.js';
import type { Network } from '../engine/network.js';
import type { Preprocessing } from '../engine/preprocess.js';
import { splitTensors, type LoadedDataset } from '../data/index.js';
import { preprocessingFor } from '../data/preprocessing.js';
import type { Store } from '../store/store.js';
import type { RunRecord } from '../store/types.js';
import { analyzeRun, finishedModels, loadRunDataset, type AnalyzeRunOptions, type RunAnalysis } from './analyze.js';
import { graftEnsemble, graftHives, trainHiveGraft, type HiveGraftOptions, type HiveTrainOptions } from './graft.js';
import { analysisError } from './masks.js';
import { combineProbabilities, scoreRows, type BestSingle, type EnsembleReport } from './select.js';

/**
 * Store-facing steps after analysis: load members' networks, graft an ensemble (from a saved ensemble, a member
 * list, or the chosen one of the latest analysis), write model files, and the end-of-search routine that
 * `loom search` calls (`finishRun`). `graftMembers` is the one graft of stored models: the CLI, the end of a
 * search and the dashboard all go through it, and every model file is written by io/files' writeModel.
 */

export type GraftMode = 'ensemble' | 'hive';

/** A finished model of a run, rebuilt from its stored model file (either format, told apart by content). */
export function loadRunModel(store: Store, runId: string, modelId: string): Network {
  const record = store.getWeights(runId, modelId);
  if (!record) throw analysisError(`run ${runId} has no stored weights for model ${modelId}`);
  const network = pickModel(decodeModels(record.bytes, { what: `run ${runId} model ${modelId}` })).network;
  network.modelId = modelId;
  return network;
}

/**
 * A member listed more than once (greedy selection with replacement, or a hand-written list) becomes one member
 * with the summed weight, in first-appearance order: the same average with one branch instead of several copies.
 */
export function mergeRepeatedMembers(members: readonly string[], weights: readonly number[]): { members: string[]; weights: number[] } {
  if (members.length !== weights.length) throw analysisError(`${members.length} members but ${weights.length} weights`);
  const summed = new Map<string, number>();
  members.forEach((id, i) => summed.set(id, (summed.get(id) ?? 0) + (weights[i] as number)));
  return { members: [...summed.keys()], weights: [...summed.values()] };
}

export interface GraftedMembers {
  readonly network: Network;
  /** Distinct members and their summed weights, as grafted. */
  readonly members: string[];
  readonly weights: number[];
}

/** The one graft of a run's stored models: repeated members merged, each decoded by loadRunModel, then grafted. */
export function graftMembers(store: Store, runId: string, members: readonly string[], weights: readonly number[], mode: GraftMode = 'ensemble', hive: HiveGraftOptions = {}): GraftedMembers {
  if (members.length === 0) throw analysisError(`nothing to graft: the member list of run ${runId} is empty`);
  const merged = mergeRepeatedMembers(members, weights);
  const networks = merged.members.map((id) => loadRunModel(store, runId, id));
  if (mode === 'hive') return { network: graftHives(networks, hive, merged.members), ...merged };
  if (mode !== 'ensemble') throw analysisError(`unknown graft mode "${String(mode)}" (known: ensemble, hive)`);
  const network = graftEnsemble(networks.map((network, k) => ({ network, weight: merged.weights[k] as number, modelId: merged.members[k] as string })));
  return { network, ...merged };
}

/** The preprocessing a run's models were trained with (its data set reloaded when not given). */
export function runPreprocessing(store: Store, runId: string, dataset?: LoadedDataset): Preprocessing {
  if (dataset) return preprocessingFor(dataset);
  const run = store.getRun(runId);
  if (!run) throw analysisError(`no run "${runId}" in ${store.path}`);
  return preprocessingFor(loadRunDataset(run));
}

export interface GraftRequest {
  readonly mode?: GraftMode;
  /** A saved ensemble (store id). */
  readonly ensembleId?: number;
  /** Explicit members (equal weights unless `weights`). */
  readonly members?: readonly string[];
  readonly weights?: readonly number[];
  /** The run's data set when the caller has it (else it is reloaded): needed to score the graft. */
  readonly dataset?: LoadedDataset;
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
  /** The input transform of the run's data, to store with the graft. */
  readonly preprocessing: Preprocessing;
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
  const latest = store.getAnalyses(runId, 'ensemble').at(-1)?.payload;
  if (latest?.chosenEnsembleId != null) return resolveMembers(store, runId, { ...request, ensembleId: latest.chosenEnsembleId });
  const analysis = analyzeRun(store, runId, request.dataset ? { labels: { val: request.dataset.val.y, test: request.dataset.test.y } } : {});
  return { members: analysis.chosen.members, weights: analysis.chosen.weights, ensembleId: null };
}

/** Grafts members of a run into one network and scores it on the run's validation and test splits. */
export function graftRun(store: Store, runId: string, request: GraftRequest = {}): GraftOutcome {
  const run = store.getRun(runId);
  if (!run) throw analysisError(`no run "${runId}" in ${store.path}`);
  const mode = request.mode ?? 'ensemble';
  const resolved = resolveMembers(store, runId, request);
  const dataset = request.dataset ?? loadRunDataset(run as RunRecord);
  const { network, members, weights } = graftMembers(store, runId, resolved.members, resolved.weights, mode, request.hive ?? {});
  const base = { mode, members, weights, ensembleId: resolved.ensembleId, preprocessing: preprocessingFor(dataset) };
  if (mode === 'hive') {
    const trained = trainHiveGraft(network, dataset, request.hive ?? {});
    return { ...base, network: trained.network, valAccuracy: trained.valAccuracy, testAccuracy: trained.testAccuracy };
  }
  // A k-fold run's models (bags) trained on every validation row outside their fold: scoring the graft on
  // dataset.val would be in-sample, so its validation figure combines the members' stored out-of-fold predictions.
  const valAccuracy = dataset.folds
    ? scoreRows(combineProbabilities(store.getPredictions(runId, 'val', members).probs, members.map((_, i) => i), weights), dataset.val.y, dataset.numClasses).accuracy
    : evaluate(network, splitTensors(dataset, dataset.val)).accuracy;
  return { ...base, network, valAccuracy, testAccuracy: evaluate(network, splitTensors(dataset, dataset.test)).accuracy };
}

export interface FinishOptions extends Pick<AnalyzeRunOptions, 'selection' | 'seed'> {
  /** Where the exported graft goes (default runs/<run id>). */
  readonly outDir?: string;
  /** The run's data set if the caller has it loaded. */
  readonly dataset?: LoadedDataset;
}

export interface FinishSummary {
  readonly runId: string;
  readonly bestSingle: BestSingle;
  readonly ensemble: EnsembleReport;
  readonly ensembleId: number | null;
  /** Test accuracy of the grafted network (equal to the ensemble's, up to float rounding on argmax ties). */
  readonly graftTestAccuracy: number;
  readonly files: { readonly path: string; readonly format: ModelFormat }[];
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
    // Without options.selection, the run's config says how the ensemble is selected (analyzeRun).
    ...(options.selection ? { selection: options.selection } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  });
  const ensembleId = analysis.chosenEnsembleId;
  const graft = graftRun(store, runId, { mode: 'ensemble', members: analysis.chosen.members, weights: analysis.chosen.weights, dataset });
  const outDir = options.outDir ?? join('runs', runId);
  const metadata = { runId, ensembleId, method: analysis.chosen.method, members: graft.members, weights: graft.weights, preprocessing: graft.preprocessing };
  const files = [
    { path: join(outDir, 'ensemble.loom'), format: 'loom' as const },
    { path: join(outDir, 'ensemble.bundle.json'), format: 'loom-bundle' as const },
  ];
  for (const f of files) {
    writeModel(f.path, graft.network, f.format, metadata);
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
    `ensemble (${e.method}, ${e.members.length} member${e.members.length === 1 ? '' : 's'}: ${e.members.map((m, i) => `${m}×${(e.weights[i] as number).toFixed(2)}`).join(' ')}): validation ${pct(e.valAccuracy)} (selected on it, so optimistic), test ${pct(e.testAccuracy)} (${e.testGain >= 0 ? '+' : ''}${(e.testGain * 100).toFixed(2)} points; oracle ${pct(e.oracleTest)})`,
    `grafted ensemble model: ${files.map((f) => f.path).join(', ')} (test ${pct(graft.testAccuracy)})`,
  ];
  return { runId, bestSingle: best, ensemble: e, ensembleId, graftTestAccuracy: graft.testAccuracy, files, analysis, lines };
}
