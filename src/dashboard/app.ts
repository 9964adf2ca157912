import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Store } from '../store/store.js';
import type { LabelSource } from './labels.js';
import { authPlugin } from './plugins/auth.js';
import { storePlugin } from './plugins/store.js';
import analysisRoutes from './routes/analysis.js';
import { NotFound } from './routes/errors.js';
import exportRoutes from './routes/export.js';
import modelRoutes from './routes/models.js';
import pageRoutes from './routes/pages.js';
import progressRoutes from './routes/progress.js';
import runsRoutes from './routes/runs.js';
import { ErrorReply } from './schemas/common.js';
import { replyError, replyNoRoute } from '../http/replies.js';

export interface DashboardOptions extends Record<string, unknown> {
  /** The run database. Opened read-only; only the graft action opens it for writing, briefly. */
  readonly dbPath: string;
  /** Required from every request when set (server.ts insists on one when listening beyond 127.0.0.1). */
  readonly token?: string;
  /** The address it listens on (--host): served as a Host name besides the loopback names (DNS-rebinding check). */
  readonly host?: string;
  /** An already open store to serve (tests, the benchmark); the caller closes it. */
  readonly store?: Store;
  /** How often the live event stream polls the database (ms, default 1000). */
  readonly pollMs?: number;
  /** Test labels for confusion matrices (default: rebuilt from the run's data set). */
  readonly labels?: LabelSource;
}

/**
 * The dashboard as one Fastify plugin: the store decorator, the token check, then one route plugin per concern.
 * Errors all leave in Fastify's shape {statusCode, error, message}: validation → 400 (Fastify's message says which
 * parameter and why), unknown ids → 404, Loom errors about the request → 400, anything else → 500.
 */
export const dashboardApp: FastifyPluginAsync<DashboardOptions> = async (fastify: FastifyInstance, options) => {
  fastify.addSchema(ErrorReply);
  await fastify.register(storePlugin, { dbPath: options.dbPath, ...(options.store ? { store: options.store } : {}) });
  await fastify.register(authPlugin, { ...(options.token ? { token: options.token } : {}), ...(options.host ? { host: options.host } : {}) });

  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof NotFound) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: error.message });
    return replyError(error, request, reply);
  });
  fastify.setNotFoundHandler(replyNoRoute);

  await fastify.register(runsRoutes);
  await fastify.register(modelRoutes, options.labels ? { labels: options.labels } : {});
  await fastify.register(progressRoutes, options.pollMs ? { pollMs: options.pollMs } : {});
  await fastify.register(analysisRoutes);
  await fastify.register(exportRoutes);
  await fastify.register(pageRoutes);
};

export default dashboardApp;
