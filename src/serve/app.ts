import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import type { LoadedModel } from '../engine/io/model.js';
import { requireToken } from './auth.js';
import { demoPage } from './demo.js';
import { describeModel, predictRows } from './predictor.js';
import { ErrorReply, PredictReply, predictBody, predictTableBody, type TypeBoxTypeProvider } from './schemas.js';
import { replyError, replyNoRoute } from '../http/replies.js';

export interface ServeAppOptions {
  readonly model: LoadedModel;
  /** The model file's bytes, offered to the demo page (which runs the model in the browser). */
  readonly modelBytes: Uint8Array;
  /** Required from every request when set. */
  readonly token?: string;
  readonly logger?: boolean;
  /** The browser build (default: dist/browser/loom.js next to the package); absent file → the demo says how to build it. */
  readonly browserBundle?: string;
}

/** Where `npm run build:browser` writes the engine bundle, relative to this file (src/serve or dist/serve). */
export const defaultBrowserBundle = (): string => join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'browser', 'loom.js');

/**
 * The prediction server over one model: POST /predict (raw rows in, labels and probabilities out, preprocessing
 * applied), GET /model (inputs, classes, blueprint), GET /model/file and GET /demo (+ /demo/loom.js) for the
 * in-browser demo. Errors leave as {statusCode, error, message}: validation and Loom data errors → 400.
 */
export async function buildServeApp(options: ServeAppOptions): Promise<FastifyInstance> {
  const { model } = options;
  const description = describeModel(model);
  // No type coercion and no silent dropping of unknown fields: a null, a string or a typo is a 400, not a guess.
  const fastify = Fastify({
    logger: options.logger ? { level: 'info' } : false,
    bodyLimit: 32 * 1024 * 1024,
    forceCloseConnections: true,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  if (options.token) requireToken(fastify, options.token);

  fastify.setErrorHandler(replyError);
  fastify.setNotFoundHandler(replyNoRoute);

  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const errors = { 400: ErrorReply, 401: ErrorReply };
  // A table with text or missing values takes strings and nulls in its rows, any other model numbers only.
  const body = description.columns.length > 0 ? predictTableBody(description.inputSize) : predictBody(description.inputSize);
  app.post(
    '/predict',
    { schema: { body, response: { 200: PredictReply, ...errors } } },
    async (request) => ({ modelId: model.modelId, predictions: predictRows(model, request.body.rows) }),
  );
  app.get('/model', async () => description);
  app.get('/model/file', async (_request, reply) => reply.type('application/octet-stream').send(Buffer.from(options.modelBytes)));
  app.get('/demo', async (_request, reply) => reply.type('text/html; charset=utf-8').send(demoPage(description)));
  app.get('/demo/loom.js', async (_request, reply) => {
    const path = options.browserBundle ?? defaultBrowserBundle();
    let source: Buffer;
    try {
      source = readFileSync(path);
    } catch {
      return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no browser build at ${path}: run \`npm run build:browser\`` });
    }
    return reply.type('text/javascript; charset=utf-8').send(source);
  });
  return fastify;
}
