import type { FastifyPluginAsync } from 'fastify';
import { analysisView } from '../analysis-view.js';
import { routePlugin } from '../plugins/shared.js';
import { importanceView } from '../genes.js';
import { AnalysisQuery, AnalysisReply, ImportanceReply } from '../schemas/analysis.js';
import { readErrors, RunParams, type TypeBoxTypeProvider } from '../schemas/common.js';
import { requireRun } from './errors.js';

/** Correlation heatmap, clusters, complementary pairs and ensembles of one run. */
const analysisRoutes: FastifyPluginAsync = async (instance) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
  fastify.get(
    '/api/runs/:runId/analysis',
    { schema: { params: RunParams, querystring: AnalysisQuery, response: { 200: AnalysisReply, ...readErrors } } },
    async (request) => {
      const run = requireRun(fastify.store, request.params.runId);
      const { top, k } = request.query;
      return analysisView(fastify.store, run, { ...(top !== undefined ? { top } : {}), ...(k !== undefined ? { k } : {}) });
    },
  );
  fastify.get(
    '/api/runs/:runId/importance',
    { schema: { params: RunParams, response: { 200: ImportanceReply, ...readErrors } } },
    async (request) => {
      const run = requireRun(fastify.store, request.params.runId);
      return importanceView(fastify.store, run.id, fastify.store.listModels(run.id), run.seed);
    },
  );
};

export default routePlugin(analysisRoutes, { name: 'loom-routes-analysis', dependencies: ['loom-store'] });
