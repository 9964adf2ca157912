import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { ensembleViews } from '../analysis-view.js';
import { DASHBOARD_FORMAT, exportView, graftFileName, graftStoredEnsemble, locateExport, populationCsv, writeGraft } from '../export.js';
import { routePlugin } from '../plugins/shared.js';
import { EnsembleParams, ErrorReply, ExportParams, ModelParams, RawBody, readErrors, RunParams, type TypeBoxTypeProvider } from '../schemas/common.js';
import { EnsemblesReply, GraftBody, GraftReply } from '../schemas/exports.js';
import { bestModel } from '../summaries.js';
import { NotFound, requireModel, requireRun } from './errors.js';

const Download = RawBody('file download');
const attachment = (name: string) => `attachment; filename="${name.replace(/["\\]/g, '_')}"`;

/**
 * Downloads (population CSV, a model's stored file, an ensemble grafted on the fly, an export recorded in the store
 * — by the dashboard or by the CLI — looked up by id, never by a path from the request) and the one
 * write action: POST …/graft grafts an ensemble, writes the file to the exports folder and records it in the
 * database (through a short-lived writable connection; everything else reads the read-only one). A repeated POST
 * for the same ensemble replaces the file and keeps its one export row (the store records a path once per run).
 */
const exportRoutes: FastifyPluginAsync = async (instance) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
  const requireEnsemble = (runId: string, ensembleId: number) => {
    const ensemble = fastify.store.listEnsembles(runId).find((e) => e.id === ensembleId);
    if (!ensemble) throw new NotFound(`no ensemble ${ensembleId} in run "${runId}"`);
    return ensemble;
  };

  fastify.get('/api/runs/:runId/population.csv', { schema: { params: RunParams, response: { 200: Download, ...readErrors } } }, async (request, reply) => {
    const run = requireRun(fastify.store, request.params.runId);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', attachment(`${run.id}-population.csv`))
      .send(populationCsv(fastify.store.listModels(run.id)));
  });

  fastify.get('/api/runs/:runId/models/:modelId/weights', { schema: { params: ModelParams, response: { 200: Download, ...readErrors } } }, async (request, reply) => {
    const { runId, modelId } = request.params;
    requireModel(fastify.store, requireRun(fastify.store, runId).id, modelId);
    const weights = fastify.store.getWeights(runId, modelId);
    if (!weights) throw new NotFound(`model "${modelId}" has no stored weights (not trained yet?)`);
    return reply
      .type('application/octet-stream')
      .header('content-disposition', attachment(`${runId}-${modelId}.${weights.format === 'loom' ? 'loom' : 'bin'}`))
      .send(Buffer.from(weights.bytes));
  });

  fastify.get('/api/runs/:runId/ensembles', { schema: { params: RunParams, response: { 200: EnsemblesReply, ...readErrors } } }, async (request) => {
    const run = requireRun(fastify.store, request.params.runId);
    return {
      ensembles: ensembleViews(fastify.store, run.id, bestModel(fastify.store.listModels(run.id, { status: 'done' }))),
      exports: fastify.store.listExports(run.id).map((e) => exportView(fastify.dbPath, e)),
    };
  });

  fastify.get('/api/runs/:runId/ensembles/:ensembleId/model', { schema: { params: EnsembleParams, response: { 200: Download, ...readErrors, 500: ErrorReply } } }, async (request, reply) => {
    const { runId, ensembleId } = request.params;
    requireRun(fastify.store, runId);
    const bytes = graftStoredEnsemble(fastify.store, requireEnsemble(runId, ensembleId));
    return reply.type('application/octet-stream').header('content-disposition', attachment(graftFileName(runId, ensembleId))).send(Buffer.from(bytes));
  });

  fastify.post(
    '/api/runs/:runId/ensembles/:ensembleId/graft',
    { schema: { params: EnsembleParams, body: GraftBody, response: { 200: GraftReply, ...readErrors, 500: ErrorReply } } },
    async (request) => {
      const { runId, ensembleId } = request.params;
      requireRun(fastify.store, runId);
      const ensemble = requireEnsemble(runId, ensembleId);
      const bytes = graftStoredEnsemble(fastify.store, ensemble, request.body.dtype ?? 'float32');
      const path = writeGraft(fastify.dbPath, runId, ensembleId, bytes);
      const record = await fastify.withWritableStore((store) => store.addExport(runId, { ensembleId, path, format: DASHBOARD_FORMAT }));
      return { export: exportView(fastify.dbPath, record), bytes: bytes.byteLength, members: [...new Set(ensemble.members)] };
    },
  );

  fastify.get('/api/runs/:runId/exports/:exportId/file', { schema: { params: ExportParams, response: { 200: Download, ...readErrors } } }, async (request, reply) => {
    const { runId, exportId } = request.params;
    requireRun(fastify.store, runId);
    const record = fastify.store.listExports(runId).find((e) => e.id === exportId);
    if (!record) throw new NotFound(`no export ${exportId} in run "${runId}"`);
    const file = locateExport(fastify.dbPath, record);
    if (file.path === null) throw new NotFound(`export ${exportId} of run "${runId}" is not served: ${file.why}`);
    // O_NOFOLLOW: a link swapped in between the check and the open is refused by the kernel, not followed.
    const handle = await open(file.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0)).catch((err: Error) => {
      throw new NotFound(`export ${exportId} of run "${runId}" could not be opened (${err.message})`);
    });
    return reply.type('application/octet-stream').header('content-disposition', attachment(basename(record.path))).send(handle.createReadStream());
  });
};

export default routePlugin(exportRoutes, { name: 'loom-routes-export', dependencies: ['loom-store'] });
