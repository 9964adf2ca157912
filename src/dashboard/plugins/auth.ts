import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { sharedPlugin } from './shared.js';

export interface AuthPluginOptions extends Record<string, unknown> {
  /** When set, every request must carry it; when absent the dashboard is open (it then listens on 127.0.0.1 only). */
  readonly token?: string;
}

const COOKIE = 'loom_token';

/**
 * Token check on every request (pages, API, assets, the event stream): `Authorization: Bearer T`, an
 * `x-loom-token: T` header, `?token=T` in the URL (how a person opens the dashboard), or the cookie the dashboard
 * sets after a good `?token=` (so the page's stylesheet, scripts, fetches and EventSource carry it). Compared in
 * constant time.
 */
function presentedToken(request: FastifyRequest): { token: string; fromQuery: boolean } | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return { token: auth.slice('Bearer '.length).trim(), fromQuery: false };
  const header = request.headers['x-loom-token'];
  if (typeof header === 'string') return { token: header, fromQuery: false };
  const q = request.url.indexOf('?');
  const fromQuery = q < 0 ? null : new URLSearchParams(request.url.slice(q + 1)).get('token');
  if (fromQuery) return { token: fromQuery, fromQuery: true };
  const cookie = request.headers.cookie
    ?.split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${COOKIE}=`));
  return cookie ? { token: decodeURIComponent(cookie.slice(COOKIE.length + 1)), fromQuery: false } : undefined;
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
      if (given === undefined || !sameToken(given.token, token)) {
        return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'this dashboard needs its token (?token=… or Authorization: Bearer …)' });
      }
      if (given.fromQuery) reply.header('set-cookie', `${COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`);
    });
  },
  { name: 'loom-auth' },
);
