import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './common.js';

export const AnalysisQuery = Type.Object({
  /** How many of the best models (by validation accuracy) the heatmap and the pair list look at. */
  top: Type.Optional(Type.Integer({ minimum: 2, maximum: 200 })),
  /** Clusters for k-means (default: up to 4). */
  k: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
});

export const EnsembleView = Type.Object({
  id: Type.Integer(),
  method: Type.String(),
  members: Type.Array(Type.String()),
  weights: Type.Array(Type.Number()),
  valAccuracy: Nullable(Type.Number()),
  testAccuracy: Nullable(Type.Number()),
  /** testAccuracy − the best single model's test accuracy (the best single chosen on validation). */
  testGain: Nullable(Type.Number()),
  createdAt: Type.Number(),
});
export type EnsembleViewType = Static<typeof EnsembleView>;

export const AnalysisReply = Type.Object({
  runId: Type.String(),
  split: Type.Literal('val'),
  samples: Type.Integer(),
  models: Type.Integer(),
  notes: Type.Array(Type.String()),
  bestSingle: Nullable(Type.Object({ modelId: Type.String(), valAccuracy: Nullable(Type.Number()), testAccuracy: Nullable(Type.Number()) })),
  /** Pearson correlation of validation correctness masks; null where undefined (a model right or wrong on every sample). */
  heatmap: Type.Object({ modelIds: Type.Array(Type.String()), matrix: Type.Array(Type.Array(Nullable(Type.Number()))) }),
  clusters: Type.Object({
    k: Type.Integer(),
    sizes: Type.Array(Type.Integer()),
    /** Masks projected on their first two principal components; cluster from k-means on the full masks. */
    points: Type.Array(Type.Object({ modelId: Type.String(), x: Type.Number(), y: Type.Number(), cluster: Type.Integer(), valAccuracy: Nullable(Type.Number()) })),
  }),
  pairs: Type.Array(
    Type.Object({
      modelA: Type.String(),
      modelB: Type.String(),
      coverage: Type.Number(),
      overlap: Type.Number(),
      doubleFault: Type.Number(),
      disagreement: Type.Number(),
      accuracyA: Nullable(Type.Number()),
      accuracyB: Nullable(Type.Number()),
    }),
  ),
  ensembles: Type.Array(EnsembleView),
  /** Analyses stored for the run (kind and when; payloads stay in the database), so the page can list them. */
  stored: Type.Array(Type.Object({ id: Type.Integer(), kind: Type.String(), createdAt: Type.Number() })),
});
export type AnalysisReplyType = Static<typeof AnalysisReply>;

/** Which genes explain validation accuracy (permutation importance of a small random forest). */
export const ImportanceReply = Type.Object({
  target: Type.Literal('valAccuracy'),
  models: Type.Integer(),
  method: Type.String(),
  genes: Type.Array(Type.Object({ gene: Type.String(), importance: Type.Number(), share: Type.Number() })),
});
export type ImportanceReplyType = Static<typeof ImportanceReply>;
