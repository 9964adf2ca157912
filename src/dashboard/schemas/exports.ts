import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './common.js';
import { EnsembleView } from './analysis.js';

export const ExportView = Type.Object({
  id: Type.Integer(),
  ensembleId: Nullable(Type.Integer()),
  /** The file's name only; where it lives is the server's business. */
  fileName: Type.String(),
  format: Type.String(),
  createdAt: Type.Number(),
  /** Whether the dashboard can serve it: a recorded model file that is still there (see locateExport). */
  downloadable: Type.Boolean(),
  /** Why not, when it cannot (the file is gone, a link now, or not a model file name). */
  notServed: Type.Optional(Type.String()),
});
export type ExportViewType = Static<typeof ExportView>;

export const EnsemblesReply = Type.Object({ ensembles: Type.Array(EnsembleView), exports: Type.Array(ExportView) });

export const GraftBody = Type.Object({
  dtype: Type.Optional(Type.Union([Type.Literal('float32'), Type.Literal('float16'), Type.Literal('int8')])),
});

export const GraftReply = Type.Object({ export: ExportView, bytes: Type.Integer(), members: Type.Array(Type.String()) });
