import type { ArchConfig } from './arch.js';
import type { SplitSpec } from '../data/types.js';
import type { ModelResult } from '../store/types.js';

/**
 * Where a job's data comes from: enough for any worker, local or remote, to rebuild the identical split
 * (the split seed, fractions, limit and k-fold count of SplitSpec, under the same names as in a config's `data`).
 */
export interface DataRef extends SplitSpec {
  /** 'mnist' | 'iris' | 'csv:PATH' | 'synthetic:NAME' */
  readonly ref: string;
  /** sha256 of the raw data; a worker whose data differs refuses the job. */
  readonly checksum: string;
}

export type { TrainingMode } from '../engine/train/modes.js';
import type { TrainingMode } from '../engine/train/modes.js';

export interface TrainingSettings {
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: 'adamw' | 'sgd' | 'momentum' | 'nesterov' | 'rmsprop';
  readonly weightDecay: number;
  readonly clipNorm?: number;
  /** Stop a model early when validation accuracy has not improved for this many epochs (0 = never). */
  readonly patience: number;
  readonly scheduler: 'constant' | 'cosine' | 'linear';
  readonly mode: TrainingMode;
  /**
   * After training, fit a temperature on the validation split and fold it into the output layer
   * (engine/calibration.ts), so validation log-loss compares what models know rather than how confident they are.
   * Absent: 'temperature'.
   */
  readonly calibration?: 'temperature' | 'none';
}

/** A training job: plain JSON, the same for worker threads and for Redis. */
export interface TrainingJob {
  readonly runId: string;
  readonly modelId: string;
  readonly generation: number;
  readonly arch: ArchConfig;
  readonly data: DataRef;
  readonly training: TrainingSettings;
  readonly seed: number;
  /**
   * Pruning thresholds sent with the job (search/pruners.ts): the job stops after epoch e when its best validation
   * accuracy so far is below the threshold for e, and returns what it has (a partial curve).
   */
  readonly stopBelow?: readonly RungThreshold[];
  /**
   * Start from a trained model's weights instead of a fresh init (a config's `inherit`): every param whose name and
   * shape match the parent's is copied, the rest keep the job's own seeded init. A k-fold job's fold networks each
   * inherit from the parent bag's network of the same fold (workers/warm-start.ts).
   */
  readonly warmStart?: WarmStart;
  /**
   * Train only this far (epochs; a share of one allowed) and return the paused run (ModelResult.paused) instead of
   * a finished model; a later job with `resumeFrom` goes on from there. Single-split jobs in mode 'normal' only.
   */
  readonly pauseAt?: number;
  /** Go on from a paused job of the same model: the model then ends exactly as if it had never paused. */
  readonly resumeFrom?: ResumePoint;
}

/** Where a paused job stopped: its network (a Loom model file) and its training state (engine/train/state.ts), base64. */
export interface ResumePoint {
  readonly modelId: string;
  readonly weights: string;
  readonly state: string;
}

/** The parent a job inherits from: its id and its Loom model file, base64 (jobs are plain JSON, Redis included). */
export interface WarmStart {
  readonly modelId: string;
  readonly weights: string;
}

/** A model must have reached `minValAccuracy` (best so far) by the end of `epoch` to keep training. */
export interface RungThreshold {
  readonly epoch: number;
  readonly minValAccuracy: number;
}

export interface JobProgress {
  readonly modelId: string;
  readonly epoch: number;
  readonly epochs: number;
  readonly loss: number;
  readonly valAccuracy?: number;
}

/**
 * Where jobs run. The coordinator only knows this interface: the local worker-thread pool and the BullMQ
 * queue both implement it.
 */
export interface Executor {
  /** How many jobs run at once; the coordinator keeps this many in flight. */
  readonly concurrency: number;
  /**
   * How many jobs train at the same time, where the executor can count them (a thread pool: its threads). Absent for
   * a queue, whose concurrency is only how many jobs it keeps enqueued: its fleet of workers is unknown to it.
   */
  readonly workers?: number;
  run(job: TrainingJob, onProgress?: (p: JobProgress) => void): Promise<ModelResult>;
  /** Stops everything in flight (their promises reject) and releases workers. */
  close(): Promise<void>;
}

/** A job that an executor ran and that failed (its message and, for a LoomError, its code). */
export class JobFailedError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'JobFailedError';
  }
}
