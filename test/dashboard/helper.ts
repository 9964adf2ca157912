import Fastify, { type FastifyInstance } from 'fastify';
import { dashboardApp, type DashboardOptions } from '../../src/dashboard/app.js';

/** The dashboard app on a fresh Fastify instance, for inject() (no port) or listen() (browser tests). */
export async function buildApp(options: DashboardOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  await app.register(dashboardApp, options);
  await app.ready();
  return app;
}
