import Fastify, { type FastifyInstance } from 'fastify';
import { LoomError } from '../engine/errors.js';
import { dashboardApp, type DashboardOptions } from './app.js';

/** Process concerns only: logger, timeouts, where to listen, refusing an open dashboard beyond loopback. */
export interface ServeOptions extends DashboardOptions {
  readonly host?: string;
  readonly port?: number;
  readonly logger?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** A dashboard listening anywhere but loopback must have a token: anyone who can reach the port could read the runs. */
export function checkExposure(host: string, token: string | undefined): void {
  if (!LOOPBACK.has(host) && !token) {
    throw new LoomError('LOOM_ERR_USAGE', `listening on ${host} exposes the dashboard beyond this machine; pass --token T (every request must then carry it)`);
  }
}

export async function buildServer(options: DashboardOptions & { logger?: boolean }): Promise<FastifyInstance> {
  const server = Fastify({
    logger: options.logger ? { level: 'info' } : false,
    // The event stream stays open; everything else answers quickly.
    connectionTimeout: 0,
    requestTimeout: 30_000,
    forceCloseConnections: true,
  });
  await server.register(dashboardApp, options);
  return server;
}

export async function startDashboard(options: ServeOptions): Promise<{ server: FastifyInstance; url: string }> {
  const host = options.host ?? '127.0.0.1';
  checkExposure(host, options.token);
  const server = await buildServer({ ...options, host });
  const address = await server.listen({ host, port: options.port ?? 3000 });
  const close = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', close);
  process.once('SIGTERM', close);
  return { server, url: address };
}
