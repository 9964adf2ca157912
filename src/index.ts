/**
 * Loom's public API: what `import … from 'loom'` gives. Everything exported here is stable (see docs/api.md);
 * anything reached by a deeper path is internal and may change.
 *
 * Importing this module loads the engine, data loaders and model files only: the SQLite store, worker threads and
 * Redis are loaded by `search()` when it is called, so a program that only trains or predicts never needs the
 * native SQLite binding.
 */
import { readModelBytes } from './engine/io/files.js';
import type { LoadedModel } from './engine/io/model.js';
import type { FinishSummary } from './ensemble/pipeline.js';
import type { RunEvent, RunSummary } from './search/coordinator.js';
import { modelFromBytes } from './serve/predictor.js';

// ── networks, layers, training ─────────────────────────────────────────────────────────────────────────────
export { Network, sequentialNetworkSpec, type NetworkSpec } from './engine/network.js';
export type { Layer, LayerSpec, Param } from './engine/layers/types.js';
export { layerTypes } from './engine/layers/registry.js';
export { ACTIVATIONS, type Activation } from './engine/activations.js';
export { Rng } from './engine/rng.js';
export { tensor, type Tensor } from './engine/tensor.js';
export { train, type TrainOptions, type TrainResult, type EpochMetrics, type TrainState } from './engine/train/loop.js';
export { decodeTrainState, encodeTrainState } from './engine/train/state.js';
export { evaluate, predict as forward, type Evaluation, type Dataset } from './engine/eval.js';

// ── data and preprocessing ─────────────────────────────────────────────────────────────────────────────────
export { loadDataset, splitTensors, type LoadedDataset, type LoadDatasetOptions } from './data/index.js';
export { preprocessingFor } from './data/preprocessing.js';
export { applyPreprocessing, parsePreprocessing, type Preprocessing, type RawColumn, type RawValue } from './engine/preprocess.js';

// ── model files, prediction, export ────────────────────────────────────────────────────────────────────────
export { decodeModels, pickModel, type LoadedModel } from './engine/io/model.js';
export { encodeModel, MODEL_FORMAT_NAMES, type ModelFormat, type ModelMetadata } from './engine/io/formats.js';
export { writeModel as saveModel } from './engine/io/files.js';
export { encodeOnnxModel as exportOnnx, type OnnxExportOptions } from './engine/io/onnx/index.js';
export { describeModel, modelFromBytes, predictRows as predict, type ModelDescription, type Prediction } from './serve/predictor.js';
export { graftEnsemble, type GraftMember } from './ensemble/graft.js';

// ── errors ─────────────────────────────────────────────────────────────────────────────────────────────────
export { LoomError, type LoomErrorCode } from './engine/errors.js';

/** A model file (Loom format or LOOM bundle) from a path or its bytes; `modelId` picks one model of a bundle. */
export function loadModel(source: string | Uint8Array, modelId?: string): LoadedModel {
  return modelFromBytes(typeof source === 'string' ? readModelBytes(source) : source, modelId);
}

export interface SearchOptions {
  /** Run database (default runs/loom.db); created when missing. */
  readonly db?: string;
  /** Worker threads (default: one per core). */
  readonly workers?: number;
  /** Progress: run, generation and model events as the search goes. */
  readonly onEvent?: (event: RunEvent) => void;
  /**
   * After the last generation, analyse the population, graft the chosen ensemble and write it (and the best
   * model) to `outDir` (default: next to the database, in a folder named after the run). Default true.
   */
  readonly finish?: boolean;
  readonly outDir?: string;
  /** Stops the search cleanly (finished models are kept; the run can be resumed with the CLI). */
  readonly signal?: AbortSignal;
}

export interface SearchResult {
  readonly summary: RunSummary;
  /** The ensemble and files written at the end (absent when `finish` is false or the run was interrupted). */
  readonly finish?: FinishSummary;
}

export type { RunEvent, RunSummary } from './search/coordinator.js';
export type { FinishSummary } from './ensemble/pipeline.js';

/**
 * Runs an evolutionary search, as `loom search` does: `config` is a search config object (the JSON of configs/*.json;
 * every field has a default and a bad field is an error naming it), models train on worker threads and land in the
 * SQLite database, and the end-of-run analysis grafts the best ensemble.
 */
export async function search(config: unknown, options: SearchOptions = {}): Promise<SearchResult> {
  const [{ mkdirSync }, path, { parseSearchConfig }, { Coordinator }, { Store }, { ThreadPoolExecutor }, { finishRun }] = await Promise.all([
    import('node:fs'),
    import('node:path'),
    import('./search/config.js'),
    import('./search/coordinator.js'),
    import('./store/store.js'),
    import('./workers/pool.js'),
    import('./ensemble/pipeline.js'),
  ]);
  const parsed = parseSearchConfig(config);
  const dbPath = options.db ?? 'runs/loom.db';
  mkdirSync(path.dirname(path.resolve(dbPath)), { recursive: true });
  const executor = new ThreadPoolExecutor(options.workers === undefined ? {} : { threads: options.workers });
  let store: ReturnType<typeof Store.open>;
  try {
    store = Store.open(dbPath);
  } catch (err) {
    await executor.close();
    throw err;
  }
  const finished: { summary?: FinishSummary } = {};
  const finish = (s: RunSummary): void => {
    finished.summary = finishRun(store, s.runId, { outDir: options.outDir ?? path.join(path.dirname(path.resolve(dbPath)), s.runId) });
  };
  try {
    const coordinator = new Coordinator({
      store,
      executor,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.finish === false ? {} : { finish }),
    });
    const summary = await coordinator.start(parsed);
    return { summary, ...(finished.summary ? { finish: finished.summary } : {}) };
  } finally {
    await executor.close();
    store.close();
  }
}
