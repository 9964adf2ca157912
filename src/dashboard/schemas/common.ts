import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyTypeProvider } from 'fastify';

/**
 * Schemas shared by every route. The TypeBox type provider is spelled out here (a few lines) instead of pulling
 * in @fastify/type-provider-typebox: route handlers get `Static<>` types of their params, querystring, body and
 * replies from the same schemas Fastify validates and serializes with.
 */
export interface TypeBoxTypeProvider extends FastifyTypeProvider {
  readonly validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  readonly serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}

/** Fastify's own error shape (validation errors use it too), so every 4xx/5xx body looks the same. */
export const ErrorReply = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String(),
    message: Type.String(),
    code: Type.Optional(Type.String()),
  },
  { $id: 'ErrorReply' },
);
export type ErrorReplyType = Static<typeof ErrorReply>;

/** Ids are the store's own: run ids like "run-20250101120000-ab12", model ids like "g0-3"; no slashes, no dots first. */
export const IdString = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.:-]*$' });

export const RunParams = Type.Object({ runId: IdString });
export const ModelParams = Type.Object({ runId: IdString, modelId: IdString });
export const EnsembleParams = Type.Object({ runId: IdString, ensembleId: Type.Integer({ minimum: 1 }) });
export const ExportParams = Type.Object({ runId: IdString, exportId: Type.Integer({ minimum: 1 }) });

/** The error replies a read route can give: bad parameters, missing token, unknown id. */
export const readErrors = {
  400: ErrorReply,
  401: ErrorReply,
  404: ErrorReply,
} as const;

/**
 * `T | null`. For a primitive schema it is one `type: [t, 'null']` schema rather than an anyOf: fast-json-stringify
 * serializes anyOf by trying each branch with a validator, which made the 2,000-row population reply several
 * times slower.
 */
export function Nullable<T extends TSchema>(schema: T): TSchema & { static: Static<T> | null } {
  const type = (schema as { type?: unknown }).type;
  if (typeof type === 'string' && type !== 'object' && type !== 'array') {
    return Type.Unsafe<Static<T> | null>({ ...schema, type: [type, 'null'] });
  }
  return Type.Union([schema, Type.Null()]) as TSchema & { static: Static<T> | null };
}

/**
 * A reply that is not JSON (a page, a CSV, a model file, an event stream): Fastify sends Buffers, strings and
 * streams as they are, without the serializer; the schema documents the route and types the handler's reply.
 */
export const RawBody = (description: string) => Type.Unsafe<string | Buffer | NodeJS.ReadableStream>({ type: 'string', description });

/** A JSON value whose shape belongs to another module (a run's config, an arch, an analysis payload). */
export const AnyJson = Type.Unknown();
