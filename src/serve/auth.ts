import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LoomError } from '../engine/errors.js';

const COOKIE = 'loom_serve_token';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** As the dashboard: a server reachable beyond this machine must have a token. */
export function checkExposure(host: string, token: string | undefined): void {
  if (!LOOPBACK.has(host) && !token) {
    throw new LoomError('LOOM_ERR_USAGE', `listening on ${host} exposes the model beyond this machine; pass --token T (every request must then carry it)`);
  }
}

/** `Authorization: Bearer T`, `x-loom-token: T`, `?token=T` (opening the demo page) or the cookie set after it. */
function presented(request: FastifyRequest): { token: string; fromQuery: boolean } | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return { token: auth.slice(7).trim(), fromQuery: false };
  const header = request.headers['x-loom-token'];
  if (typeof header === 'string') return { token: header, fromQuery: false };
  const q = request.url.indexOf('?');
  const query = q < 0 ? null : new URLSearchParams(request.url.slice(q + 1)).get('token');
  if (query) return { token: query, fromQuery: true };
  const cookie = request.headers.cookie?.split(';').map((c) => c.trim()).find((c) => c.startsWith(`${COOKIE}=`));
  return cookie ? { token: decodeURIComponent(cookie.slice(COOKIE.length + 1)), fromQuery: false } : undefined;
}

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Every request must carry the token (compared in constant time) when one is set. */
export function requireToken(fastify: FastifyInstance, token: string): void {
  fastify.addHook('onRequest', async (request, reply) => {
    const given = presented(request);
    if (given === undefined || !same(given.token, token)) {
      return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'this server needs its token (Authorization: Bearer …, x-loom-token, or ?token=…)' });
    }
    if (given.fromQuery) reply.header('set-cookie', `${COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`);
  });
}
