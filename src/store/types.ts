/**
 * Plain-data records the store accepts and returns. JSON columns (arch, config, stats, payloads) are typed
 * `unknown`: the store keeps what it is given and the owner of each shape (search, ensemble) validates it.
 * Timestamps are milliseconds since the Unix epoch.
 */

/** One epoch of training, as the training loop reports it. */
export interface EpochMetrics {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly trainAccuracy?: number;
  readonly valLoss?: number;
  readonly valAccuracy?: number;
  readonly learningRate?: number;
  readonly ms?: number;
}

/**
 * What a finished training job produces: the contract between the job processor (worker thread or BullMQ
 * worker) and the store. Plain data; typed arrays travel as binary.
 * - valProbs/testProbs: class probabilities, row-major [numSamples, numClasses], samples in split order;
 * - valMask/testMask: one byte per sample, 1 when the model's argmax is the true class, else 0;
 * - weights: the model file's bytes (format `weightsFormat`, default 'loom').
 */
export interface ModelResult {
  readonly modelId: string;
  readonly metrics: readonly EpochMetrics[];
  readonly valProbs: Float32Array;
  readonly testProbs: Float32Array;
  readonly valMask: Uint8Array;
  readonly testMask: Uint8Array;
  readonly weights: Uint8Array;
  readonly weightsFormat?: string;
  readonly paramCount: number;
  readonly trainMs: number;
  readonly worker: string;
  readonly valAccuracy: number;
  readonly testAccuracy: number;
  readonly numClasses: number;
}

export type RunStatus = 'running' | 'finished' | 'interrupted' | 'failed';
export type ModelStatus = 'pending' | 'running' | 'done' | 'failed';
export type PredictionSplit = 'val' | 'test';

export interface RunRecord {
  readonly id: string;
  readonly name: string;
  readonly status: RunStatus;
  readonly config: unknown;
  readonly seed: number;
  readonly dataRef: string;
  readonly dataChecksum: string;
  readonly codeVersion: string;
  readonly createdAt: number;
  readonly finishedAt: number | null;
  readonly summary: unknown;
}

export interface NewRun {
  readonly id: string;
  readonly name?: string;
  readonly config: unknown;
  readonly seed: number;
  readonly dataRef: string;
  readonly dataChecksum: string;
  readonly codeVersion: string;
}

export interface GenerationRecord {
  readonly runId: string;
  readonly index: number;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly stats: unknown;
}

export interface NewModel {
  readonly modelId: string;
  readonly generation: number;
  readonly arch: unknown;
  readonly parentIds?: readonly string[];
  /** The job's seed, kept so a retry or a resumed run trains with the same randomness. */
  readonly seed?: number;
}

export interface ModelRecord {
  readonly runId: string;
  readonly modelId: string;
  readonly generation: number;
  readonly arch: unknown;
  readonly parentIds: readonly string[];
  readonly seed: number | null;
  readonly status: ModelStatus;
  readonly attempts: number;
  readonly error: string | null;
  readonly worker: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly metrics: readonly EpochMetrics[] | null;
  readonly valAccuracy: number | null;
  readonly testAccuracy: number | null;
  readonly paramCount: number | null;
  readonly trainMs: number | null;
  readonly fitness: number | null;
}

/** All done models' predictions on one split, aligned: probs[k] and masks[k] belong to modelIds[k]. */
export interface SplitPredictions {
  readonly split: PredictionSplit;
  readonly modelIds: readonly string[];
  readonly numSamples: number;
  readonly numClasses: number;
  /** Per model, row-major [numSamples, numClasses]. */
  readonly probs: readonly Float32Array[];
  /** Per model, one byte per sample: 1 correct, 0 wrong. */
  readonly masks: readonly Uint8Array[];
}

export interface WeightsRecord {
  readonly runId: string;
  readonly modelId: string;
  readonly format: string;
  readonly bytes: Uint8Array;
}

export interface AnalysisRecord {
  readonly id: number;
  readonly runId: string;
  readonly kind: string;
  readonly createdAt: number;
  readonly payload: unknown;
}

export interface NewEnsemble {
  readonly method: string;
  readonly members: readonly string[];
  readonly weights: readonly number[];
  readonly valAccuracy: number | null;
  readonly testAccuracy: number | null;
  readonly payload?: unknown;
}

export interface EnsembleRecord extends NewEnsemble {
  readonly id: number;
  readonly runId: string;
  readonly createdAt: number;
  readonly payload: unknown;
}

export interface ExportRecord {
  readonly id: number;
  readonly runId: string;
  readonly ensembleId: number | null;
  readonly path: string;
  readonly format: string;
  readonly createdAt: number;
}

export interface RunEvent {
  /** Increasing per database: pass the last one seen to listEvents to get only newer events. */
  readonly id: number;
  readonly runId: string;
  readonly ts: number;
  readonly kind: string;
  readonly payload: unknown;
}
