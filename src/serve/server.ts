import type { FastifyInstance } from 'fastify';
import { readModelBytes } from '../engine/io/files.js';
import { buildServeApp } from './app.js';
import { checkExposure } from './auth.js';
import { modelFromBytes } from './predictor.js';

export interface StartServeOptions {
  readonly modelPath: string;
  readonly modelId?: string;
  readonly host?: string;
  readonly port?: number;
  readonly token?: string;
  readonly logger?: boolean;
}

/** Loads the model file, refuses an open server beyond loopback, listens, and closes cleanly on SIGINT/SIGTERM. */
export async function startServe(options: StartServeOptions): Promise<{ server: FastifyInstance; url: string }> {
  const host = options.host ?? '127.0.0.1';
  checkExposure(host, options.token);
  const bytes = readModelBytes(options.modelPath);
  const model = modelFromBytes(bytes, options.modelId);
  const server = await buildServeApp({ model, modelBytes: bytes, ...(options.token ? { token: options.token } : {}), ...(options.logger ? { logger: true } : {}) });
  const url = await server.listen({ host, port: options.port ?? 8080 });
  const close = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', close);
  process.once('SIGTERM', close);
  return { server, url };
}
