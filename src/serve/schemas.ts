import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyTypeProvider } from 'fastify';

/** Route bodies and replies validated (and replies serialized) from TypeBox schemas. */
export interface TypeBoxTypeProvider extends FastifyTypeProvider {
  readonly validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  readonly serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}

/** Rows per request: large enough for real batches, small enough that one request cannot hog the server. */
export const MAX_ROWS = 4096;

export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  code: Type.Optional(Type.String()),
  message: Type.String(),
});

/** The body schema is built per model: each row must hold exactly the model's number of raw values. */
export const predictBody = (inputSize: number) =>
  Type.Object(
    {
      rows: Type.Array(Type.Array(Type.Number(), { minItems: inputSize, maxItems: inputSize }), { minItems: 1, maxItems: MAX_ROWS }),
    },
    { additionalProperties: false },
  );

/** A table with text or missing values: each row one value per raw column, a number, a string or null (missing). */
export const predictTableBody = (columns: number) =>
  Type.Object(
    {
      rows: Type.Array(Type.Array(Type.Union([Type.Number(), Type.String(), Type.Null()]), { minItems: columns, maxItems: columns }), {
        minItems: 1,
        maxItems: MAX_ROWS,
      }),
    },
    { additionalProperties: false },
  );

export const PredictReply = Type.Object({
  modelId: Type.String(),
  predictions: Type.Array(
    Type.Object({ label: Type.String(), index: Type.Integer(), probabilities: Type.Array(Type.Number()) }),
  ),
});
