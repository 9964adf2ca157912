import { existsSync } from 'node:fs';
import { LoomError } from '../engine/errors.js';
import { Store } from '../store/store.js';
import { DEFAULT_DB, parseCommandArgs } from './args.js';
import type { Command } from './main.js';
import { formatDuration } from './progress.js';

const help = `usage: loom runs [--db FILE] [--json]

Lists the runs in a database: id, status, data set, models done, best validation and test accuracy, start, duration.

  --db FILE   run database (default: ${DEFAULT_DB})
  --json      JSON output`;

export function openExisting(dbPath: string): Store {
  if (!existsSync(dbPath)) throw new LoomError('LOOM_ERR_USAGE', `no database at ${dbPath} (run \`loom search\` first, or pass --db)`);
  return Store.open(dbPath, { readonly: true });
}

export const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);

export const command: Command = {
  name: 'runs',
  help,
  async run(argv) {
    const { values } = parseCommandArgs('runs', argv, { db: { type: 'string' }, json: { type: 'boolean' } }, false);
    const store = openExisting(values.db ?? DEFAULT_DB);
    try {
      const rows = store.listRuns().map((run) => {
        const models = store.listModels(run.id);
        const done = models.filter((m) => m.status === 'done');
        const best = done.reduce<(typeof done)[number] | null>((b, m) => (!b || (m.valAccuracy ?? 0) > (b.valAccuracy ?? 0) ? m : b), null);
        return {
          id: run.id,
          name: run.name,
          status: run.status,
          data: run.dataRef,
          modelsDone: done.length,
          models: models.length,
          bestValAccuracy: best?.valAccuracy ?? null,
          bestTestAccuracy: best?.testAccuracy ?? null,
          createdAt: new Date(run.createdAt).toISOString(),
          durationMs: (run.finishedAt ?? Date.now()) - run.createdAt,
        };
      });
      if (values.json) {
        console.log(JSON.stringify(rows, null, 2));
        return 0;
      }
      if (rows.length === 0) {
        console.log('no runs yet');
        return 0;
      }
      for (const r of rows) {
        console.log(
          `${r.id}  ${r.status.padEnd(11)} ${r.data.padEnd(10)} ${String(r.modelsDone).padStart(4)}/${String(r.models).padEnd(4)} models  best val ${pct(r.bestValAccuracy)} test ${pct(r.bestTestAccuracy)}  started ${r.createdAt}  ${formatDuration(r.durationMs)}`,
        );
      }
      return 0;
    } finally {
      store.close();
    }
  },
};
