import type { FastifyPluginAsync } from 'fastify';
import { routePlugin } from '../plugins/shared.js';
import { readErrors, RunParams, type TypeBoxTypeProvider } from '../schemas/common.js';
import { CompareQuery, CompareReply, RunDetailReply, RunsReply } from '../schemas/runs.js';
import { compareRuns, runDetail, runSummary } from '../summaries.js';
import { requireRun } from './errors.js';

/** The runs list, one run's overview, and two runs side by side. */
const runsRoutes: FastifyPluginAsync = async (instance) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();

  fastify.get('/api/runs', { schema: { response: { 200: RunsReply, 401: readErrors[401] } } }, async () => {
    const now = Date.now();
    return { runs: fastify.store.listRuns().map((run) => runSummary(fastify.store, run, now)) };
  });

  fastify.get('/api/runs/:runId', { schema: { params: RunParams, response: { 200: RunDetailReply, ...readErrors } } }, async (request) => {
    return runDetail(fastify.store, requireRun(fastify.store, request.params.runId));
  });

  fastify.get('/api/compare', { schema: { querystring: CompareQuery, response: { 200: CompareReply, ...readErrors } } }, async (request) => {
    const a = requireRun(fastify.store, request.query.a);
    const b = requireRun(fastify.store, request.query.b);
    return compareRuns(fastify.store, a, b);
  });
};

export default routePlugin(runsRoutes, { name: 'loom-routes-runs', dependencies: ['loom-store'] });
