import { Type, type Static } from '@sinclair/typebox';
import { AnyJson, Nullable } from './common.js';

export const ModelStatusSchema = Type.Union([Type.Literal('pending'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed'), Type.Literal('pruned'), Type.Literal('paused')]);

/** One row of the population table: flat, so 2,000 of them stay small. Arch fields are null when the arch is not a search config. */
export const ModelRow = Type.Object({
  modelId: Type.String(),
  generation: Type.Integer(),
  status: ModelStatusSchema,
  species: Nullable(Type.String()),
  gridRows: Nullable(Type.Integer()),
  gridCols: Nullable(Type.Integer()),
  /** Brain types with counts, e.g. "MHA×2 LSTM×1". */
  brains: Nullable(Type.String()),
  combineMode: Nullable(Type.String()),
  dModel: Nullable(Type.Integer()),
  numHeads: Nullable(Type.Integer()),
  learningRate: Nullable(Type.Number()),
  activation: Nullable(Type.String()),
  origin: Nullable(Type.String()),
  paramCount: Nullable(Type.Integer()),
  valAccuracy: Nullable(Type.Number()),
  testAccuracy: Nullable(Type.Number()),
  trainMs: Nullable(Type.Number()),
  worker: Nullable(Type.String()),
  attempts: Type.Integer(),
  fitness: Nullable(Type.Number()),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
});
export type ModelRowType = Static<typeof ModelRow>;

export const ModelsQuery = Type.Object({
  status: Type.Optional(ModelStatusSchema),
  generation: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Only models changed after this time (ms since the epoch): the live page's incremental refresh. */
  updatedAfter: Type.Optional(Type.Number({ minimum: 0 })),
});

export const ModelsReply = Type.Object({
  models: Type.Array(ModelRow),
  /** The newest updatedAt among the run's models: pass it back as updatedAfter. */
  latestUpdate: Type.Number(),
});

export const EpochSchema = Type.Object({
  epoch: Type.Number(),
  trainLoss: Type.Number(),
  trainAccuracy: Type.Optional(Type.Number()),
  valLoss: Type.Optional(Type.Number()),
  valAccuracy: Type.Optional(Type.Number()),
  learningRate: Type.Optional(Type.Number()),
  ms: Type.Optional(Type.Number()),
});

export const HiveSchema = Type.Object({
  rows: Type.Integer(),
  cols: Type.Integer(),
  combineMode: Type.String(),
  dModel: Type.Integer(),
  numHeads: Type.Integer(),
  activation: Type.String(),
  cells: Type.Array(Type.Object({ row: Type.Integer(), col: Type.Integer(), brain: Type.String() })),
});

export const LayerSchema = Type.Object({ index: Type.Integer(), type: Type.String(), detail: Type.String() });

export const ConfusionSchema = Type.Object({
  available: Type.Boolean(),
  /** Why there is no matrix, or where the labels came from. */
  note: Type.String(),
  split: Type.Literal('test'),
  classNames: Type.Array(Type.String()),
  /** matrix[true][predicted] counts. */
  matrix: Type.Array(Type.Array(Type.Integer())),
  samples: Type.Integer(),
});
export type ConfusionType = Static<typeof ConfusionSchema>;

export const ModelDetailReply = Type.Object({
  runId: Type.String(),
  model: ModelRow,
  arch: AnyJson,
  parentIds: Type.Array(Type.String()),
  seed: Nullable(Type.Number()),
  error: Nullable(Type.String()),
  /** The named terms the search's fitness was made of (e.g. accuracy, diversity, cost); null when not recorded. */
  fitnessParts: Nullable(Type.Record(Type.String(), Type.Number())),
  metrics: Type.Array(EpochSchema),
  hive: Nullable(HiveSchema),
  layers: Type.Array(LayerSchema),
  confusion: ConfusionSchema,
  hasWeights: Type.Boolean(),
});
export type ModelDetailReplyType = Static<typeof ModelDetailReply>;

/** Several models' per-epoch curves at once, for overlays: ?models=a,b,c (at most 24 ids). */
export const CurvesQuery = Type.Object({
  models: Type.String({ minLength: 1, maxLength: 3200, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.:-]*(,[A-Za-z0-9_][A-Za-z0-9_.:-]*){0,23}$' }),
});

export const CurvesReply = Type.Object({
  curves: Type.Array(Type.Object({ modelId: Type.String(), status: ModelStatusSchema, generation: Type.Integer(), metrics: Type.Array(EpochSchema) })),
});
export type CurvesReplyType = Static<typeof CurvesReply>;
