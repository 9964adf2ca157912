import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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
const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));
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

/**
 * Apache ECharts, served from the installed package (no CDN: the dashboard works offline). Read on first use and
 * kept; the page links it as /vendor/echarts.min.js.
 */
const require = createRequire(import.meta.url);
let echarts: Buffer | null = null;
const echartsBody = (): Buffer => (echarts ??= readFileSync(require.resolve('echarts/dist/echarts.min.js')));

const Html = RawBody('text/html');
const HtmlNotFound = RawBody('text/html');
const AssetParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9-]+\\.(js|css|svg)$', maxLength: 64 }) });
const CompareQuery = Type.Object({ a: Type.Optional(Type.String({ maxLength: 128 })), b: Type.Optional(Type.String({ maxLength: 128 })) });

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A page for a link to a run or model that is not (or no longer) in the database: says what, and links back. */
function notFoundPage(message: string, back: { label: string; href: string }[]): string {
  const links = [{ label: 'Runs', href: '/' }, ...back].map((l) => `<a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not found · Loom</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/style.css"></head>
<body><header class="top"><a class="brand" href="/">Loom</a>${links}</header>
<main class="notfound"><h1>Not found</h1><p id="not-found" class="error">${escapeHtml(message)}.</p>
<p class="muted">The link may be from another database, or the run was deleted. Pick a run from the <a href="/">runs list</a>.</p></main>
</body></html>
`;
}

const pageRoutes: FastifyPluginAsync = async (instance) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
  // Page URLs (not the API) answer an unknown id with an HTML page that has navigation, still with status 404.
  fastify.setErrorHandler((error, request, reply) => {
    if (error instanceof NotFound && request.url.startsWith('/runs/')) {
      const runId = (request.params as { runId?: unknown } | undefined)?.runId;
      const back = typeof runId === 'string' && fastify.store.getRun(runId) ? [{ label: runId, href: `/runs/${encodeURIComponent(runId)}` }] : [];
      return reply.code(404).type('text/html; charset=utf-8').send(notFoundPage(error.message, back));
    }
    throw error;
  });
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
  fastify.get('/runs/:runId', { schema: { params: RunParams, response: { 200: Html, ...readErrors, 404: HtmlNotFound } } }, async (request, reply) => {
    requireRun(fastify.store, request.params.runId);
    return reply.type(run.type).headers(noCache).send(run.body);
  });
  fastify.get('/runs/:runId/analysis', { schema: { params: RunParams, response: { 200: Html, ...readErrors, 404: HtmlNotFound } } }, async (request, reply) => {
    requireRun(fastify.store, request.params.runId);
    return reply.type(analysis.type).headers(noCache).send(analysis.body);
  });
  fastify.get('/runs/:runId/models/:modelId', { schema: { params: ModelParams, response: { 200: Html, ...readErrors, 404: HtmlNotFound } } }, async (request, reply) => {
    requireModel(fastify.store, requireRun(fastify.store, request.params.runId).id, request.params.modelId);
    return reply.type(model.type).headers(noCache).send(model.body);
  });
  fastify.get('/vendor/echarts.min.js', { schema: { response: { 200: RawBody('script'), 401: readErrors[401] } } }, async (_request, reply) =>
    // The package's version is in its file; a long cache is safe until the dashboard is upgraded.
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(echartsBody()),
  );
  fastify.get('/assets/:name', { schema: { params: AssetParams, response: { 200: RawBody('asset'), ...readErrors } } }, async (request, reply) => {
    const f = web.get(request.params.name);
    if (!f || f.type.startsWith('text/html')) throw new NotFound(`no asset ${request.params.name}`);
    return reply.type(f.type).headers(noCache).send(f.body);
  });
};

export default routePlugin(pageRoutes, { name: 'loom-routes-pages', dependencies: ['loom-store'] });
