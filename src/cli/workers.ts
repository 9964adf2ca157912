import { LoomError } from '../engine/errors.js';
import { closeRedis, connectRedis, DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL } from '../workers/redis.js';
import { WorkerRegistry, type ListedWorker } from '../workers/registry.js';
import { parseCommandArgs } from './args.js';
import type { Command } from './shared.js';
import { formatDuration } from './progress.js';

const help = `usage: loom workers --redis URL [--prefix P] [--json]

Lists the workers registered on a Redis server: name, device, cores, jobs at once, status, jobs done and
failed, last heartbeat. Workers whose heartbeat stopped (killed, or cut off from Redis) are listed as gone.

  --redis URL   Redis server, e.g. ${DEFAULT_REDIS_URL} (required)
  --prefix P    Redis key prefix (default: ${DEFAULT_QUEUE_PREFIX})
  --json        JSON output`;

export function formatWorkers(workers: readonly ListedWorker[], now = Date.now()): string {
  if (workers.length === 0) return 'no workers registered (start one with: loom worker --redis URL)';
  const header = ['NAME', 'DEVICE', 'CORES', 'JOBS AT ONCE', 'STATUS', 'DONE', 'FAILED', 'LAST SEEN'];
  const rows = workers.map((w) => [
    w.name,
    w.device === 'webgpu' && w.adapter ? `webgpu (${w.adapter})` : (w.device ?? '-'),
    String(w.cores ?? '-'),
    String(w.concurrency ?? '-'),
    w.alive ? `${w.status ?? '?'}${w.active ? ` (${w.active})` : ''}` : 'gone',
    String(w.jobsDone ?? '-'),
    String(w.jobsFailed ?? '-'),
    `${formatDuration(now - w.lastSeen)} ago`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()).join('\n');
}

export async function runWorkers(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('workers', argv, { redis: { type: 'string' }, prefix: { type: 'string' }, json: { type: 'boolean' } }, false);
  if (!values.redis) throw new LoomError('LOOM_ERR_USAGE', `loom workers needs --redis URL, e.g. --redis ${DEFAULT_REDIS_URL}`);
  const redis = await connectRedis(values.redis, { connectionName: 'loom-workers' });
  try {
    const workers = await new WorkerRegistry(redis, values.prefix ?? DEFAULT_QUEUE_PREFIX).list();
    console.log(values.json ? JSON.stringify(workers, null, 2) : formatWorkers(workers));
    return 0;
  } finally {
    await closeRedis(redis);
  }
}

export const command: Command = { name: 'workers', help, run: runWorkers };
