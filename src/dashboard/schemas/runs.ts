import { Type, type Static } from '@sinclair/typebox';
import { AnyJson, IdString, Nullable } from './common.js';

export const RunStatusSchema = Type.Union([Type.Literal('running'), Type.Literal('finished'), Type.Literal('interrupted'), Type.Literal('failed'), Type.Literal('stalled')]);

/** One line of the runs list: what a user scans to pick a run. Accuracies are fractions in [0, 1]. */
export const RunSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: RunStatusSchema,
  dataRef: Type.String(),
  seed: Type.Number(),
  codeVersion: Type.String(),
  dataChecksum: Type.String(),
  /** Models recorded so far (grows during a run as generations are bred). */
  modelsTotal: Type.Integer(),
  /** The run's size known from its config at the start (what the CLI's progress bar shows), never below modelsTotal; null for a budgeted run. */
  modelsPlanned: Nullable(Type.Integer()),
  modelsDone: Type.Integer(),
  modelsRunning: Type.Integer(),
  modelsPending: Type.Integer(),
  modelsFailed: Type.Integer(),
  generations: Type.Integer(),
  /** The best single model is chosen on validation accuracy; its test accuracy is reported, never used to choose. */
  bestModelId: Nullable(Type.String()),
  bestValAccuracy: Nullable(Type.Number()),
  bestTestAccuracy: Nullable(Type.Number()),
  /** Likewise the best ensemble: chosen on validation, reported on test. */
  bestEnsembleId: Nullable(Type.Integer()),
  bestEnsembleValAccuracy: Nullable(Type.Number()),
  bestEnsembleTestAccuracy: Nullable(Type.Number()),
  createdAt: Type.Number(),
  finishedAt: Nullable(Type.Number()),
  durationMs: Type.Number(),
});
export type RunSummaryType = Static<typeof RunSummary>;

export const GenerationSummary = Type.Object({
  index: Type.Integer(),
  startedAt: Type.Number(),
  finishedAt: Nullable(Type.Number()),
  size: Type.Integer(),
  done: Type.Integer(),
  bestValAccuracy: Nullable(Type.Number()),
  meanValAccuracy: Nullable(Type.Number()),
  bestTestAccuracy: Nullable(Type.Number()),
});
export type GenerationSummaryType = Static<typeof GenerationSummary>;

export const WorkerSummary = Type.Object({
  worker: Type.String(),
  models: Type.Integer(),
  trainMs: Type.Number(),
});

export const RunsReply = Type.Object({ runs: Type.Array(RunSummary) });

export const RunDetailReply = Type.Object({
  run: RunSummary,
  config: AnyJson,
  generations: Type.Array(GenerationSummary),
  workers: Type.Array(WorkerSummary),
  /** The newest progress event's id: the page's event stream starts after it. */
  lastEventId: Type.Integer(),
  now: Type.Number(),
});
export type RunDetailReplyType = Static<typeof RunDetailReply>;

export const CompareQuery = Type.Object({ a: IdString, b: IdString });

/** Two runs side by side: summaries, per-generation curves and the config fields that differ. */
export const CompareReply = Type.Object({
  a: Type.Object({ run: RunSummary, generations: Type.Array(GenerationSummary) }),
  b: Type.Object({ run: RunSummary, generations: Type.Array(GenerationSummary) }),
  configDiff: Type.Array(Type.Object({ key: Type.String(), a: Type.String(), b: Type.String() })),
  /** Test samples that one run's best model gets right and the other's gets wrong (null when predictions are missing or the test splits differ). */
  onlyA: Nullable(Type.Integer()),
  onlyB: Nullable(Type.Integer()),
  /** Why no sample-level comparison is made (different data checksum or split settings, missing predictions); null when it is. */
  masksNote: Nullable(Type.String()),
});
export type CompareReplyType = Static<typeof CompareReply>;

export const ProgressQuery = Type.Object({
  afterId: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
});

export const RunEventSchema = Type.Object({ id: Type.Integer(), ts: Type.Number(), kind: Type.String(), payload: AnyJson });

export const ProgressReply = Type.Object({
  events: Type.Array(RunEventSchema),
  lastId: Type.Integer(),
  status: RunStatusSchema,
  counts: Type.Object({ pending: Type.Integer(), running: Type.Integer(), done: Type.Integer(), failed: Type.Integer(), pruned: Type.Integer(), paused: Type.Integer() }),
});
export type ProgressReplyType = Static<typeof ProgressReply>;

export const StreamQuery = Type.Object({
  afterId: Type.Optional(Type.Integer({ minimum: 0 })),
});
