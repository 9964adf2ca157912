/**
 * Plain-data records the store accepts and returns. The JSON columns the store itself reads (epoch metrics,
 * generation stats, analysis payloads, fitness parts, a run's config) have a type here and one parser in
 * json.ts; arch and summaries stay `unknown` because their owners (search) validate them.
 * Timestamps are milliseconds since the Unix epoch.
 */
import type { EpochMetrics } from '../engine/train/index.js';

/** One epoch of training, under the training loop's own names (loss, accuracy, valLoss, valAccuracy, lr, ms). */
export type { EpochMetrics };

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
  /**
   * A job sent with `pauseAt` that paused: its training state (encodeTrainState) for a job's `resumeFrom`. Then
   * `weights` is the network at the pause and there are no predictions, as for a pruned model.
   */
  readonly paused?: Uint8Array;
}

export type RunStatus = 'running' | 'finished' | 'interrupted' | 'failed';
/** A run's status as people see it: 'stalled' is a 'running' run whose coordinator stopped renewing its lease. */
export type RunState = RunStatus | 'stalled';
/**
 * 'pruned': stopped early by the search on purpose (a multi-fidelity pruner); final, and not a failure.
 * 'paused': stopped at a rung with its network and training state kept, waiting to be promoted (resumed) or, when
 * the search ends without promoting it, pruned there.
 */
export type ModelStatus = 'pending' | 'running' | 'done' | 'failed' | 'pruned' | 'paused';
export const MODEL_STATUSES: readonly ModelStatus[] = ['pending', 'running', 'done', 'failed', 'pruned', 'paused'];
/** Zero models of each status, the start of every count by status (the literal fails to compile when a status is added). */
export const emptyStatusCounts = (): Record<ModelStatus, number> => ({ pending: 0, running: 0, done: 0, failed: 0, pruned: 0, paused: 0 });
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
  /** Who holds the run's lease (one coordinator at a time) and until when; null when nobody does. */
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: number | null;
  /** The coordinator's last heartbeat (every lease renewal). */
  readonly heartbeatAt: number | null;
  /** When the finishing steps (analysis, graft, export) completed; null while a finished run still lacks them. */
  readonly finalizedAt: number | null;
}

/** A held run lease. */
export interface RunLease {
  readonly runId: string;
  readonly owner: string;
  readonly expiresAt: number;
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

/** What the coordinator records about a generation: its members at start, the aggregates when it ends. */
export interface GenerationStats {
  readonly members: readonly string[];
  readonly bestValAccuracy?: number;
  readonly meanValAccuracy?: number;
  readonly done?: number;
  readonly failed?: number;
  readonly pruned?: number;
}

export interface GenerationRecord {
  readonly runId: string;
  readonly index: number;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly stats: GenerationStats | null;
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
  /** The search's fitness and the named terms it was made of (e.g. accuracy, diversity, cost). */
  readonly fitness: number | null;
  readonly fitnessParts: Readonly<Record<string, number>> | null;
}

/** What a pruned model keeps: its partial epoch curve and, when known, where it stood. */
export interface PrunedModel {
  readonly metrics: readonly EpochMetrics[];
  readonly valAccuracy?: number;
  readonly trainMs?: number;
  readonly worker?: string;
}

/** A paused model: its curve up to the pause, what a resumed job goes on from, and its validation predictions there. */
export interface PausedModel extends PrunedModel {
  /** Where it paused (epochs). */
  readonly epoch: number;
  /** Its network at the pause (a Loom model file). */
  readonly weights: Uint8Array;
  /** Its training state (engine/train/state.ts encodeTrainState). */
  readonly state: Uint8Array;
  /** Its validation predictions at the pause, as a result's (none: empty), and the class count they are over. */
  readonly valProbs: Float32Array;
  readonly valMask: Uint8Array;
  readonly numClasses: number;
}

/** What the store keeps of a paused (or once paused) model, its network and state aside (getPausedState). */
export interface PausedRecord {
  readonly modelId: string;
  readonly epoch: number;
  /** Whether its network and state are still stored: dropped once the model has ended (done, failed, pruned). */
  readonly resumable: boolean;
  /** Once promoted: the item index of its resumed segment in the run's steady schedule. */
  readonly resumeItem: number | null;
}

/** The network (a Loom model file) and training state a paused model resumes from. */
export interface PausedState {
  readonly weights: Uint8Array;
  readonly state: Uint8Array;
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

/**
 * An analysis as saved: any JSON object; the two fields the store's readers rely on (which ensembles it saved,
 * which one it chose) are typed.
 */
export interface AnalysisPayload {
  readonly ensembleIds?: readonly number[];
  readonly chosenEnsembleId?: number | null;
  readonly [key: string]: unknown;
}

export interface AnalysisRecord {
  readonly id: number;
  readonly runId: string;
  readonly kind: string;
  readonly createdAt: number;
  readonly payload: AnalysisPayload;
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
