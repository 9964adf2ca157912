import { existsSync } from 'node:fs';
import { LoomError } from '../engine/errors.js';
import { startDashboard } from '../dashboard/server.js';
import { DEFAULT_DB, intOption, parseCommandArgs } from './args.js';
import type { Command } from './shared.js';

const help = `usage: loom dashboard [--db FILE] [--port 3000] [--host 127.0.0.1] [--token T]

Serves a web dashboard over a run database, live while a search runs: runs, populations, models, analyses,
ensembles, CSV and grafted-model downloads.

  --db FILE     run database (default: ${DEFAULT_DB}); opened read-only, except when you graft an ensemble
  --port N      port (default 3000)
  --host ADDR   address to listen on (default 127.0.0.1, this machine only)
  --token T     required from every request (open http://HOST:PORT/?token=T); mandatory when --host is not loopback

Without --token the dashboard answers only requests addressed to localhost, 127.0.0.1, ::1 or --host (a guard
against DNS rebinding), and every state-changing request must come from one of its own pages (Origin check).`;

/** Why the server could not listen, in words: a port in use, a privileged port, a host that is not this machine. */
function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') return new LoomError('LOOM_ERR_USAGE', `port ${port} on ${host} is already in use (another loom dashboard?); choose another with --port`);
  if (code === 'EACCES') return new LoomError('LOOM_ERR_USAGE', `not allowed to listen on port ${port} (ports below 1024 need privileges); choose another with --port`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new LoomError('LOOM_ERR_USAGE', `--host ${host} is not an address of this machine`);
  }
  return err;
}

export const command: Command = {
  name: 'dashboard',
  help,
  async run(argv) {
    const { values } = parseCommandArgs(
      'dashboard',
      argv,
      { db: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, token: { type: 'string' } },
      false,
    );
    const dbPath = values.db ?? DEFAULT_DB;
    if (!existsSync(dbPath)) throw new LoomError('LOOM_ERR_USAGE', `no database at ${dbPath} (run \`loom search\` first, or pass --db)`);
    const port = intOption('port', values.port, 0, 65535) ?? 3000;
    if (port > 65535) throw new LoomError('LOOM_ERR_USAGE', `--port must be ≤ 65535, got ${port}`);
    const host = values.host ?? '127.0.0.1';
    let url: string;
    try {
      ({ url } = await startDashboard({ dbPath, port, host, ...(values.token ? { token: values.token } : {}) }));
    } catch (err) {
      throw listenError(err, host, port);
    }
    console.log(`loom dashboard: ${url}/${values.token ? `?token=${encodeURIComponent(values.token)}` : ''}  (database ${dbPath}, Ctrl-C to stop)`);
    // Serve until SIGINT/SIGTERM (server.ts closes and exits).
    await new Promise<never>(() => {});
    return 0;
  },
};
