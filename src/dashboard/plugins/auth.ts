import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { sharedPlugin } from './shared.js';

export interface AuthPluginOptions extends Record<string, unknown> {
  /** When set, every request must carry it; when absent the dashboard is open (it then listens on 127.0.0.1 only). */
  readonly token?: string;
}

/**
 * Token check on every request (pages, API, assets, the event stream): `Authorization: Bearer T`, an
 * `x-loom-token: T` header, or `?token=T` in the URL (the only way a browser's EventSource and a plain link can
 * carry it; the pages pass it along). Compared in constant time.
 */
function presentedToken(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  const header = request.headers['x-loom-token'];
  if (typeof header === 'string') return header;
  const q = request.url.indexOf('?');
  if (q < 0) return undefined;
  return new URLSearchParams(request.url.slice(q + 1)).get('token') ?? undefined;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export const authPlugin = sharedPlugin<AuthPluginOptions>(
  async (fastify, options) => {
    const token = options.token;
    if (!token) return;
    fastify.addHook('onRequest', async (request, reply) => {
      const given = presentedToken(request);
      if (given === undefined || !sameToken(given, token)) {
        return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'this dashboard needs its token (?token=… or Authorization: Bearer …)' });
      }
    });
  },
  { name: 'loom-auth' },
);
