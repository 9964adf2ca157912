import type { FastifyPluginAsync } from 'fastify';
import { datasetLabelSource, type LabelSource } from '../labels.js';
import { epochs, modelDetail, modelRow } from '../model-view.js';
import { routePlugin } from '../plugins/shared.js';
import { ModelParams, readErrors, RunParams, type TypeBoxTypeProvider } from '../schemas/common.js';
import { CurvesQuery, CurvesReply, ModelDetailReply, ModelsQuery, ModelsReply } from '../schemas/models.js';
import { latestUpdate } from '../summaries.js';
import { requireModel, requireRun } from './errors.js';

export interface ModelRoutesOptions extends Record<string, unknown> {
  /** Where test labels for confusion matrices come from (default: rebuild the run's split from its data set). */
  readonly labels?: LabelSource;
}

/** The population table (all rows, or those changed since the page's last refresh) and one model's page. */
const modelRoutes: FastifyPluginAsync<ModelRoutesOptions> = async (instance, options) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
  const labels = options.labels ?? datasetLabelSource();

  fastify.get(
    '/api/runs/:runId/models',
    { schema: { params: RunParams, querystring: ModelsQuery, response: { 200: ModelsReply, ...readErrors } } },
    async (request) => {
      const { runId } = request.params;
      requireRun(fastify.store, runId);
      const { status, generation, updatedAfter } = request.query;
      const all = fastify.store.listModels(runId, { ...(status ? { status } : {}), ...(generation !== undefined ? { generation } : {}) });
      const changed = updatedAfter === undefined ? all : all.filter((m) => m.updatedAt > updatedAfter);
      return { models: changed.map(modelRow), latestUpdate: latestUpdate(all) };
    },
  );

  fastify.get(
    '/api/runs/:runId/curves',
    { schema: { params: RunParams, querystring: CurvesQuery, response: { 200: CurvesReply, ...readErrors } } },
    async (request) => {
      const { runId } = request.params;
      requireRun(fastify.store, runId);
      const ids = [...new Set(request.query.models.split(','))];
      return {
        curves: ids.map((id) => {
          const m = requireModel(fastify.store, runId, id);
          return { modelId: m.modelId, status: m.status, generation: m.generation, metrics: epochs(m.metrics) };
        }),
      };
    },
  );

  fastify.get(
    '/api/runs/:runId/models/:modelId',
    { schema: { params: ModelParams, response: { 200: ModelDetailReply, ...readErrors } } },
    async (request) => {
      const { runId, modelId } = request.params;
      const run = requireRun(fastify.store, runId);
      return modelDetail(fastify.store, run, requireModel(fastify.store, runId, modelId), labels);
    },
  );
};

export default routePlugin(modelRoutes, { name: 'loom-routes-models', dependencies: ['loom-store'] });
