import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { sharedPlugin } from './shared.js';

export interface AuthPluginOptions extends Record<string, unknown> {
  /** When set, every request must carry it; when absent the dashboard is open (it then listens on 127.0.0.1 only). */
  readonly token?: string;
  /** The address the server listens on (--host): accepted as a Host name besides the loopback names. */
  readonly host?: string;
}

/** Host names that always mean this machine. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** The host name of a Host header or an Origin's authority ("[::1]:3000" → "::1", "Example.com:80" → "example.com"). */
export function hostName(authority: string): string {
  const a = authority.trim().toLowerCase();
  if (a.startsWith('[')) {
    const end = a.indexOf(']');
    return end < 0 ? a : a.slice(1, end);
  }
  const colon = a.indexOf(':');
  // More than one colon without brackets: a bare IPv6 address, no port.
  return colon < 0 || a.indexOf(':', colon + 1) >= 0 ? a : a.slice(0, colon);
}

/** True for loopback names: localhost, *.localhost, 127.0.0.0/8, ::1. */
export function isLoopbackName(name: string): boolean {
  return LOOPBACK_NAMES.has(name) || name.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const forbidden = (message: string) => ({ statusCode: 403, error: 'Forbidden', message });

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
    const configured = options.host ? hostName(options.host) : undefined;
    // DNS rebinding: a web page on attacker.example whose name later resolves to 127.0.0.1 reaches a tokenless
    // dashboard with `Host: attacker.example`. Without a token only this machine's names (and --host) are served.
    // Cross-site writes (a form or fetch from another origin) are refused whatever the token: the Origin a browser
    // sends on a state-changing request must be this dashboard's own.
    fastify.addHook('onRequest', async (request, reply) => {
      const host = request.headers.host;
      if (!token) {
        const name = typeof host === 'string' ? hostName(host) : '';
        if (!isLoopbackName(name) && name !== configured) {
          return reply.code(403).send(forbidden(`host "${name}" is not served: without --token this dashboard answers only to localhost, 127.0.0.1, ::1${configured ? ` and ${configured}` : ''}`));
        }
      }
      if (!SAFE_METHODS.has(request.method)) {
        const origin = request.headers.origin;
        const site = request.headers['sec-fetch-site'];
        if (site === 'cross-site' || site === 'same-site') return reply.code(403).send(forbidden('cross-site requests may not change anything'));
        if (typeof origin === 'string') {
          let originHost: string;
          try {
            originHost = origin === 'null' ? '' : new URL(origin).host.toLowerCase();
          } catch {
            originHost = '';
          }
          if (originHost === '' || originHost !== String(host ?? '').toLowerCase()) {
            return reply.code(403).send(forbidden(`origin ${origin} may not change anything on this dashboard (only pages it serves may)`));
          }
        }
      }
    });
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
