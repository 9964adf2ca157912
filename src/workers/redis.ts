import { Redis, type RedisOptions } from 'ioredis';
import { LoomError } from '../engine/errors.js';

/**
 * Redis connections for the job queue. BullMQ 6 needs a client instance (it cannot load ioredis itself from ESM),
 * and its default behaviour on an unreachable server is to retry forever; here the first connection fails fast
 * with LOOM_ERR_QUEUE, and only a connection that has worked once reconnects in the background.
 */

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** Key prefix of every Loom queue key in Redis; tests pass their own to stay isolated. */
export const DEFAULT_QUEUE_PREFIX = 'loom';
const DEFAULT_CONNECT_TIMEOUT_MS = 3000;

export const queueError = (message: string): LoomError => new LoomError('LOOM_ERR_QUEUE', message);

/** The URL with its password masked, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** Parses redis://[user:password@]host[:port][/db] (rediss:// for TLS) into ioredis options. */
export function parseRedisUrl(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LoomError('LOOM_ERR_USAGE', `--redis must be a URL like ${DEFAULT_REDIS_URL}, got "${url}"`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new LoomError('LOOM_ERR_USAGE', `--redis must start with redis:// or rediss://, got "${url}"`);
  }
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText ? Number(dbText) : 0;
  if (!Number.isInteger(db) || db < 0) throw new LoomError('LOOM_ERR_USAGE', `--redis: the database number must be an integer ≥ 0, got "${dbText}"`);
  return {
    host: u.hostname || '127.0.0.1',
    port,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

export interface ConnectOptions {
  /** How long the first connection may take before failing (default 3 s). */
  readonly connectTimeoutMs?: number;
  /** Shown in `CLIENT LIST`, handy when debugging a cluster of workers. */
  readonly connectionName?: string;
}

/**
 * Connects (and PINGs) within `connectTimeoutMs`, or throws LOOM_ERR_QUEUE naming the URL. The client has
 * `maxRetriesPerRequest: null` as BullMQ requires; after the first success it reconnects with capped backoff.
 */
export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<Redis> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let connectedOnce = false;
  const parsed = parseRedisUrl(url);
  const db = parsed.db ?? 0;
  const client = new Redis({
    ...parsed,
    lazyConnect: true,
    // A socket that failed to connect is destroyed at once instead of ioredis' 2 s grace, so a CLI that
    // could not reach Redis exits promptly.
    disconnectTimeout: 100,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectTimeout: timeoutMs,
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    // Before the first success: give up at once (the caller gets the error); afterwards: keep trying, capped at 5 s.
    retryStrategy: (times: number) => (connectedOnce ? Math.min(200 * times, 5000) : null),
  });
  let lastError: Error | null = null;
  const onError = (err: Error): void => {
    lastError = err;
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    // ioredis selects the URL's database on its own but only reports a failure as an event and carries on in
    // database 0; selecting again here makes an out-of-range database an error before anything is written.
    await Promise.race([client.connect().then(() => client.ping()).then(() => (db > 0 ? client.select(db) : 'OK')), timeout]);
    connectedOnce = true;
    return client;
  } catch (err) {
    client.disconnect();
    const message = err instanceof Error ? err.message : String(err);
    if (/DB index|invalid DB|SELECT is not allowed/i.test(message)) {
      throw new LoomError('LOOM_ERR_USAGE', `--redis ${redactRedisUrl(url)}: the Redis server has no database ${db} (${message.trim()})`);
    }
    const reason = (lastError ?? (err as Error)).message || String(err);
    throw queueError(`cannot reach Redis at ${redactRedisUrl(url)}: ${reason} (is redis-server running there? see docs/workers.md)`);
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
    // Errors after the first connection are transient (ioredis reconnects); keep them from crashing the process.
    client.on('error', () => {});
  }
}

/** Closes a client politely, falling back to a hard disconnect when the server is gone. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    // The deadline timer is unref'd: it must not keep a finished CLI alive for its second.
    await Promise.race([client.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  } catch {
    // already closed
  }
  client.disconnect();
}
