import { dataOptions, loadDataset, type LoadedDataset } from '../data/index.js';
import { parseRunConfig } from '../search/config.js';
import type { Store } from '../store/store.js';
import type { ModelRecord, RunRecord, SplitPredictions } from '../store/types.js';
import { parameterCorrelations, strongCorrelations, type CorrelationMatrix, type FeaturePair, type ParameterCorrelation } from './correlation.js';
import { chooseK } from './kmeans.js';
import { analysisError, argmaxRow, checkMasks, correctnessMask, maskAccuracy } from './masks.js';
import { diversitySummary, findComplementaryMatches, maskCorrelationMatrix, type ComplementaryMatch, type DiversitySummary } from './pairs.js';
import {
  baggedSelection,
  better,
  bestSingleModel,
  checkSplit,
  ensembleReport,
  greedySelection,
  rankModels,
  type BestSingle,
  type EnsembleReport,
  type Score,
  type BaggingOptions,
  type SelectionMetric,
  type SplitData,
  DEFAULT_SELECTION_METRIC,
} from './select.js';

/**
 * One analysis of a population from its stored predictions: diversity, clusters of correctness masks,
 * correlations (between models, and between config parameters and accuracy), complementary pairs, and ensembles
 * selected on validation and reported on test. `analyzePredictions` is pure; `analyzeRun` reads a run from the
 * store (and its labels by reloading the run's data set with the run's split settings) and can save the result.
 */

export interface PredictionsInput {
  readonly modelIds: readonly string[];
  readonly val: SplitData;
  readonly test: SplitData;
  /** Numeric config parameters per model (same order as modelIds), for parameter ↔ accuracy correlations. */
  readonly parameters?: readonly Readonly<Record<string, number>>[];
}

export interface AnalyzeOptions {
  /** Seeds k-means and the bagged selection's draws (default 0). */
  readonly seed?: number;
  /**
   * The greedy climbs' settings. `bags` > 0 makes the chosen ensemble the bagged selection of that many climbs
   * (select.ts baggedSelection); 0 or absent, the best on validation among the other ensembles (`preferred`).
   */
  readonly selection?: BaggingOptions;
  /** Largest k tried when clustering (default 10). */
  readonly kMax?: number;
  /** Complementary pairs listed, and searched for the best pair ensemble (default 20). */
  readonly topPairs?: number;
  /** LOOM's minimum coverage for complementary pairs (default 0). */
  readonly minCoverage?: number;
  /** |r| from which two models' masks count as strongly correlated (default 0.8). */
  readonly strongThreshold?: number;
  /** The full mask correlation matrix is included up to this many models (default 64). */
  readonly matrixLimit?: number;
}

export interface ClusterGroup {
  readonly cluster: number;
  readonly members: string[];
  readonly meanValAccuracy: number;
  /** The member with the best validation accuracy. */
  readonly best: string;
}

export interface EnsembleAnalysis {
  readonly models: number;
  readonly numClasses: number;
  readonly samples: { readonly val: number; readonly test: number };
  readonly bestSingle: BestSingle;
  readonly diversity: { readonly val: DiversitySummary; readonly test: DiversitySummary };
  readonly clusters: {
    readonly k: number;
    readonly silhouette: number;
    readonly inertia: number;
    readonly candidates: { k: number; silhouette: number; inertia: number }[];
    readonly groups: ClusterGroup[];
  };
  readonly correlation: {
    readonly strongMaskPairs: FeaturePair[];
    readonly maskMatrix: CorrelationMatrix | null;
    readonly parameters: ParameterCorrelation[];
  };
  readonly complementary: ComplementaryMatch[];
  readonly ensembles: EnsembleReport[];
  /**
   * The ensemble a run exports. With `selection.bags` > 0 the bagged greedy selection ('bagged-greedy'; the best
   * single model when there is only one); otherwise the preferred ensemble on validation (see `preferred`; the first
   * entry, best-single, when nothing beats it).
   */
  readonly chosen: EnsembleReport;
  /** Validation score after each greedy pick. */
  readonly greedyTrace: Score[];
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** Runs every analysis on predictions already in memory. */
export function analyzePredictions(input: PredictionsInput, options: AnalyzeOptions = {}): EnsembleAnalysis {
  const { modelIds, val, test } = input;
  if (val.masks) checkMasks(val.masks, modelIds, 'validation masks');
  if (test.masks) checkMasks(test.masks, modelIds, 'test masks');
  const [nVal] = checkSplit(val, 'validation');
  const [nTest] = checkSplit(test, 'test');
  if (val.probs.length !== modelIds.length || test.probs.length !== modelIds.length) {
    throw analysisError(`${modelIds.length} models but ${val.probs.length} validation and ${test.probs.length} test predictions`);
  }
  if (val.numClasses !== test.numClasses) throw analysisError(`validation has ${val.numClasses} classes, test ${test.numClasses}`);
  const valMasks = val.masks ?? recomputeMasks(val);
  const testMasks = test.masks ?? recomputeMasks(test);
  checkMasks(valMasks, modelIds, 'validation masks');
  checkMasks(testMasks, modelIds, 'test masks');
  const valSplit = { ...val, masks: valMasks };
  const testSplit = { ...test, masks: testMasks };
  const valAcc = valMasks.map(maskAccuracy);

  const best = bestSingleModel(modelIds, valSplit, testSplit);
  const report = (method: string, members: readonly number[], weights: readonly number[]): EnsembleReport =>
    ensembleReport(method, modelIds, members, weights, valSplit, testSplit, best);

  // Clusters of validation masks.
  const choice = chooseK(valMasks, { seed: options.seed ?? 0, kMax: options.kMax ?? 10 });
  const groups: ClusterGroup[] = Array.from({ length: choice.best.k }, (_, cluster) => {
    const idx = modelIds.map((_, m) => m).filter((m) => choice.best.assignments[m] === cluster);
    const top = idx.reduce((b, m) => ((valAcc[m] as number) > (valAcc[b] as number) ? m : b), idx[0] as number);
    return { cluster, members: idx.map((m) => modelIds[m] as string), meanValAccuracy: mean(idx.map((m) => valAcc[m] as number)), best: modelIds[top] as string };
  }).filter((g) => g.members.length > 0);

  // Correlations.
  const maskMatrix: CorrelationMatrix = { labels: [...modelIds], matrix: maskCorrelationMatrix(valMasks, modelIds), n: modelIds.length, samples: nVal };
  const parameters = input.parameters ? parameterCorrelations(input.parameters, valAcc) : [];

  // Ensembles, all chosen on validation.
  const topPairs = options.topPairs ?? 20;
  const complementary = findComplementaryMatches(
    valMasks.map((mask, m) => ({ id: modelIds[m] as string, mask })),
    options.minCoverage ?? 0,
    topPairs,
  );
  const greedy = greedySelection(valSplit, options.selection);
  const ensembles: EnsembleReport[] = [report('best-single', [best.index], [1]), report('greedy', greedy.members, greedy.weights)];
  const bags = options.selection?.bags ?? 0;
  let bagged: EnsembleReport | null = null;
  if (bags > 0 && modelIds.length > 1) {
    const selection = baggedSelection(valSplit, { ...options.selection, seed: options.seed ?? 0 });
    bagged = report('bagged-greedy', selection.members, selection.weights);
    ensembles.push(bagged);
  }
  const ranked = rankModels(valSplit);
  const topK = ranked.slice(0, Math.min(5, ranked.length)).map((r) => r.index);
  if (topK.length > 1) ensembles.push(report(`top-${topK.length}-average`, topK, topK.map(() => 1 / topK.length)));
  if (modelIds.length > 2) ensembles.push(report('all-average', modelIds.map((_, m) => m), modelIds.map(() => 1 / modelIds.length)));
  const index = new Map(modelIds.map((id, m) => [id, m]));
  let bestPair: EnsembleReport | null = null;
  for (const match of complementary) {
    const pair = [index.get(match.modelA) as number, index.get(match.modelB) as number];
    const r = report('complementary-pair', pair, [0.5, 0.5]);
    if (!bestPair || better(scoreOf(r), scoreOf(bestPair))) bestPair = r;
  }
  if (bestPair) ensembles.push(bestPair);
  const metric = options.selection?.metric ?? DEFAULT_SELECTION_METRIC;
  const chosen = bagged ?? ensembles.reduce((b, e) => (preferred(e, b, metric) ? e : b));

  return {
    models: modelIds.length,
    numClasses: val.numClasses,
    samples: { val: nVal, test: nTest },
    bestSingle: best,
    diversity: { val: diversitySummary(valMasks, modelIds), test: diversitySummary(testMasks, modelIds) },
    clusters: { k: choice.best.k, silhouette: choice.best.silhouette, inertia: choice.best.inertia, candidates: choice.candidates, groups },
    correlation: {
      strongMaskPairs: strongCorrelations(maskMatrix, options.strongThreshold ?? 0.8, 20),
      maskMatrix: modelIds.length <= (options.matrixLimit ?? 64) ? maskMatrix : null,
      parameters,
    },
    complementary,
    ensembles,
    chosen,
    greedyTrace: greedy.trace,
  };
}

const scoreOf = (e: EnsembleReport): Score => ({ accuracy: e.valAccuracy, logLoss: e.valLogLoss });

/**
 * The choice among ensembles without bagging, on the selection metric (default validation log-loss, which moves
 * with every sample's probability and so overfits a small validation set less than accuracy): the better value; on
 * equal values the one with fewer members, then the other metric.
 */
function preferred(a: EnsembleReport, b: EnsembleReport, metric: SelectionMetric): boolean {
  if (metric === 'log_loss') {
    if (a.valLogLoss !== b.valLogLoss) return a.valLogLoss < b.valLogLoss;
    if (a.members.length !== b.members.length) return a.members.length < b.members.length;
    return a.valAccuracy > b.valAccuracy;
  }
  if (a.valAccuracy !== b.valAccuracy) return a.valAccuracy > b.valAccuracy;
  if (a.members.length !== b.members.length) return a.members.length < b.members.length;
  return a.valLogLoss < b.valLogLoss;
}

function recomputeMasks(split: SplitData): Uint8Array[] {
  return split.probs.map((p) => correctnessMask(p, split.labels, split.numClasses));
}

/** The numeric parameters of a stored architecture (ArchConfig): numeric fields, brain counts, combine mode. */
export function archParameters(arch: unknown, paramCount?: number | null): Record<string, number> {
  const out: Record<string, number> = {};
  if (arch && typeof arch === 'object' && !Array.isArray(arch)) {
    for (const [key, value] of Object.entries(arch as Record<string, unknown>)) {
      if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
    }
    const a = arch as { brains?: unknown; combineMode?: unknown };
    if (Array.isArray(a.brains)) for (const b of a.brains) if (typeof b === 'string') out[`brains.${b}`] = (out[`brains.${b}`] ?? 0) + 1;
    if (typeof a.combineMode === 'string') out[`combine.${a.combineMode}`] = 1;
  }
  if (typeof paramCount === 'number') out.paramCount = paramCount;
  return out;
}

/** Fills absent indicator parameters (brains.X, combine.X) with 0, so every model has every indicator. */
function completeIndicators(params: Record<string, number>[]): Record<string, number>[] {
  const indicators = [...new Set(params.flatMap((p) => Object.keys(p)).filter((k) => k.startsWith('brains.') || k.startsWith('combine.')))];
  return params.map((p) => ({ ...Object.fromEntries(indicators.map((k) => [k, 0])), ...p }));
}

/** The run's data set, split as the run split it (seed, limit, fractions from its stored config), checksum checked. */
export function loadRunDataset(run: RunRecord): LoadedDataset {
  const config = parseRunConfig(run.config, run.id);
  return loadDataset(run.dataRef, { ...dataOptions(config.data), expectedChecksum: run.dataChecksum });
}

export interface RunLabels {
  readonly val: Int32Array;
  readonly test: Int32Array;
}

/** Refuses labels that do not reproduce the stored masks (a different split), allowing rare argmax ties. */
function checkLabels(preds: SplitPredictions, labels: Int32Array, what: string): void {
  if (labels.length !== preds.numSamples) {
    throw analysisError(`${what}: the data set has ${labels.length} samples but the stored predictions have ${preds.numSamples}; the split differs from the run's`);
  }
  const allowed = Math.max(1, Math.floor(preds.numSamples * 0.001));
  preds.probs.forEach((p, m) => {
    const mask = preds.masks[m] as Uint8Array;
    let wrong = 0;
    for (let r = 0; r < preds.numSamples; r++) if (Number(argmaxRow(p, r, preds.numClasses) === labels[r]) !== mask[r]) wrong++;
    if (wrong > allowed) {
      throw analysisError(`${what}: model ${preds.modelIds[m]}'s stored correctness disagrees with the data set's labels on ${wrong} samples; the split differs from the run's`);
    }
  });
}

export interface RunAnalysis extends EnsembleAnalysis {
  readonly runId: string;
  /** Store ids of the ensembles, in the order of `ensembles` (when saved). */
  readonly ensembleIds: number[];
  readonly chosenEnsembleId: number | null;
}

export interface AnalyzeRunOptions extends AnalyzeOptions {
  /** Labels of the val and test splits; by default the run's data set is reloaded. */
  readonly labels?: RunLabels;
  /** Save the analysis and its ensembles in the store (needs a writable store). */
  readonly save?: boolean;
}

/** The run config's `ensembleMetric` and `ensembleBags`; the defaults for a run whose stored config no longer parses. */
export function runSelection(store: Store, runId: string): { metric: SelectionMetric; bags: number } {
  try {
    const config = parseRunConfig(store.getRunConfig(runId), runId);
    return { metric: config.ensembleMetric, bags: config.ensembleBags };
  } catch {
    return { metric: DEFAULT_SELECTION_METRIC, bags: 0 };
  }
}

/** The finished models of a run, or a clear error when there are none. */
export function finishedModels(store: Store, runId: string): ModelRecord[] {
  if (!store.getRun(runId)) throw analysisError(`no run "${runId}" in ${store.path}`);
  const models = store.listModels(runId, { status: 'done' });
  if (models.length === 0) throw analysisError(`run ${runId} has no finished models to analyse`);
  return models;
}

/** Analyses a run from the store: see the module comment. */
export function analyzeRun(store: Store, runId: string, options: AnalyzeRunOptions = {}): RunAnalysis {
  const run = store.getRun(runId);
  const models = finishedModels(store, runId);
  // The run's config says how its ensemble is selected; options override it field by field.
  const selection: BaggingOptions = { ...runSelection(store, runId), ...options.selection };
  const ids = models.map((m) => m.modelId);
  const valPreds = store.getPredictions(runId, 'val', ids);
  const testPreds = store.getPredictions(runId, 'test', ids);
  let labels = options.labels;
  if (!labels) {
    const dataset = loadRunDataset(run as RunRecord);
    labels = { val: dataset.val.y, test: dataset.test.y };
  }
  checkLabels(valPreds, labels.val, 'validation');
  checkLabels(testPreds, labels.test, 'test');
  const split = (p: SplitPredictions, y: Int32Array): SplitData => ({ probs: p.probs, masks: p.masks, labels: y, numClasses: p.numClasses });
  const analysis = analyzePredictions(
    {
      modelIds: ids,
      val: split(valPreds, labels.val),
      test: split(testPreds, labels.test),
      parameters: completeIndicators(models.map((m) => archParameters(m.arch, m.paramCount))),
    },
    { ...options, selection },
  );
  let ensembleIds: number[] = [];
  let chosenEnsembleId: number | null = null;
  if (options.save) {
    store.transaction(() => {
      ensembleIds = analysis.ensembles.map(
        (e) => store.addEnsemble(runId, { method: e.method, members: e.members, weights: e.weights, valAccuracy: e.valAccuracy, testAccuracy: e.testAccuracy, payload: e }).id,
      );
      chosenEnsembleId = ensembleIds[analysis.ensembles.indexOf(analysis.chosen)] ?? null;
      store.addAnalysis(runId, 'ensemble', { ...analysis, ensembleIds, chosenEnsembleId });
    });
  }
  return { runId, ...analysis, ensembleIds, chosenEnsembleId };
}
