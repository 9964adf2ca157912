import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { routePlugin } from '../plugins/shared.js';
import { ModelParams, RawBody, readErrors, RunParams, type TypeBoxTypeProvider } from '../schemas/common.js';
import { NotFound, requireModel, requireRun } from './errors.js';

/**
 * The web pages: plain HTML shells plus small scripts and one stylesheet, all read once at startup from web/
 * (nothing from the internet, no build step). Assets are looked up by name in that fixed set — a request never
 * names a file path. Page URLs check their ids so a wrong link gets a 404 instead of an empty page.
 */
const WEB_DIR = fileURLToPath(new URL('../web', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function loadWeb(): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(WEB_DIR)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(WEB_DIR + name), type });
  }
  return files;
}

const Html = RawBody('text/html');
const AssetParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9-]+\\.(js|css|svg)$', maxLength: 64 }) });
const CompareQuery = Type.Object({ a: Type.Optional(Type.String({ maxLength: 128 })), b: Type.Optional(Type.String({ maxLength: 128 })) });

const pageRoutes: FastifyPluginAsync = async (instance) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
  const web = loadWeb();
  const file = (name: string) => {
    const f = web.get(name);
    if (!f) throw new Error(`dashboard page ${name} is missing from ${WEB_DIR}`);
    return f;
  };
  const runs = file('runs.html');
  const compare = file('compare.html');
  const run = file('run.html');
  const analysis = file('analysis.html');
  const model = file('model.html');
  const noCache = { 'cache-control': 'no-cache' };

  fastify.get('/', { schema: { response: { 200: Html, 401: readErrors[401] } } }, async (_request, reply) =>
    reply.type(runs.type).headers(noCache).send(runs.body),
  );
  fastify.get('/compare', { schema: { querystring: CompareQuery, response: { 200: Html, ...readErrors } } }, async (_request, reply) =>
    reply.type(compare.type).headers(noCache).send(compare.body),
  );
  fastify.get('/runs/:runId', { schema: { params: RunParams, response: { 200: Html, ...readErrors } } }, async (request, reply) => {
    requireRun(fastify.store, request.params.runId);
    return reply.type(run.type).headers(noCache).send(run.body);
  });
  fastify.get('/runs/:runId/analysis', { schema: { params: RunParams, response: { 200: Html, ...readErrors } } }, async (request, reply) => {
    requireRun(fastify.store, request.params.runId);
    return reply.type(analysis.type).headers(noCache).send(analysis.body);
  });
  fastify.get('/runs/:runId/models/:modelId', { schema: { params: ModelParams, response: { 200: Html, ...readErrors } } }, async (request, reply) => {
    requireModel(fastify.store, requireRun(fastify.store, request.params.runId).id, request.params.modelId);
    return reply.type(model.type).headers(noCache).send(model.body);
  });
  fastify.get('/assets/:name', { schema: { params: AssetParams, response: { 200: RawBody('asset'), ...readErrors } } }, async (request, reply) => {
    const f = web.get(request.params.name);
    if (!f || f.type.startsWith('text/html')) throw new NotFound(`no asset ${request.params.name}`);
    return reply.type(f.type).headers(noCache).send(f.body);
  });
};

export default routePlugin(pageRoutes, { name: 'loom-routes-pages', dependencies: ['loom-store'] });
