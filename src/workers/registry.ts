import type { Redis } from 'ioredis';

/**
 * Who is working: each `loom worker` keeps a hash in Redis (name, device, cores, jobs done, last seen) that
 * expires unless its heartbeat renews it, plus its name in a sorted set scored by last-seen time. A worker that
 * dies without saying goodbye disappears from the live list within one TTL and is shown as gone until pruned.
 */

export type WorkerDevice = 'cpu' | 'webgpu';
export type WorkerStatus = 'idle' | 'busy' | 'stopping';

export interface WorkerInfo {
  readonly name: string;
  readonly device: WorkerDevice;
  /** The GPU adapter's description when device is webgpu. */
  readonly adapter?: string;
  readonly host: string;
  readonly pid: number;
  readonly cores: number;
  readonly concurrency: number;
  readonly status: WorkerStatus;
  readonly active: number;
  readonly jobsDone: number;
  readonly jobsFailed: number;
  readonly startedAt: number;
  readonly lastSeen: number;
}

export interface ListedWorker extends Partial<WorkerInfo> {
  readonly name: string;
  readonly lastSeen: number;
  /** False when its heartbeat expired: the process died or lost Redis. */
  readonly alive: boolean;
}

/** Forgotten entirely this long after their last heartbeat. */
const PRUNE_AFTER_MS = 24 * 3600 * 1000;

export class WorkerRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Seconds a registration lives without a heartbeat. */
    private readonly ttlSeconds = 30,
  ) {}

  private get setKey(): string {
    return `${this.prefix}:loom-workers`;
  }

  private hashKey(name: string): string {
    return `${this.prefix}:loom-worker:${name}`;
  }

  /** Writes (or refreshes) a worker's whole record and renews its TTL. */
  async register(info: WorkerInfo): Promise<void> {
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(info)) if (v !== undefined) fields[k] = String(v);
    await this.redis
      .multi()
      .hset(this.hashKey(info.name), fields)
      .expire(this.hashKey(info.name), this.ttlSeconds)
      .zadd(this.setKey, info.lastSeen, info.name)
      .exec();
  }

  /** Renews the TTL and updates the changing fields. */
  async heartbeat(name: string, patch: { status: WorkerStatus; active: number }, now = Date.now()): Promise<void> {
    await this.redis
      .multi()
      .hset(this.hashKey(name), { status: patch.status, active: String(patch.active), lastSeen: String(now) })
      .expire(this.hashKey(name), this.ttlSeconds)
      .zadd(this.setKey, now, name)
      .exec();
  }

  /** Counts a finished job (done or failed) for this worker. */
  async recordJob(name: string, ok: boolean): Promise<void> {
    await this.redis
      .multi()
      .hincrby(this.hashKey(name), ok ? 'jobsDone' : 'jobsFailed', 1)
      .expire(this.hashKey(name), this.ttlSeconds)
      .exec();
  }

  /** A clean exit: the worker is gone at once rather than after its TTL. */
  async unregister(name: string): Promise<void> {
    await this.redis.multi().del(this.hashKey(name)).zrem(this.setKey, name).exec();
  }

  /** Live workers first (by name), then the ones whose heartbeat stopped in the last day. */
  async list(now = Date.now()): Promise<ListedWorker[]> {
    await this.redis.zremrangebyscore(this.setKey, '-inf', now - PRUNE_AFTER_MS);
    const entries = await this.redis.zrange(this.setKey, 0, -1, 'WITHSCORES');
    const out: ListedWorker[] = [];
    for (let i = 0; i + 1 < entries.length; i += 2) {
      const name = entries[i] as string;
      const lastSeen = Number(entries[i + 1]);
      const hash = await this.redis.hgetall(this.hashKey(name));
      out.push(Object.keys(hash).length === 0 ? { name, lastSeen, alive: false } : { ...parseInfo(name, hash), alive: true });
    }
    return out.sort((a, b) => Number(b.alive) - Number(a.alive) || a.name.localeCompare(b.name));
  }
}

function parseInfo(name: string, h: Record<string, string>): WorkerInfo {
  const n = (k: string): number => Number(h[k] ?? 0) || 0;
  return {
    name,
    device: h.device === 'webgpu' ? 'webgpu' : 'cpu',
    ...(h.adapter ? { adapter: h.adapter } : {}),
    host: h.host ?? '?',
    pid: n('pid'),
    cores: n('cores'),
    concurrency: n('concurrency'),
    status: h.status === 'busy' || h.status === 'stopping' ? h.status : 'idle',
    active: n('active'),
    jobsDone: n('jobsDone'),
    jobsFailed: n('jobsFailed'),
    startedAt: n('startedAt'),
    lastSeen: n('lastSeen'),
  };
}
