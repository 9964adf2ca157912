import { bestRecord } from '../search/best.js';
import { DEFAULT_DB, parseCommandArgs } from './args.js';
import { formatDuration } from './progress.js';
import { openDb, pct, type Command } from './shared.js';

const help = `usage: loom runs [--db FILE] [--json]

Lists the runs in a database: id, status (a running run whose coordinator stopped is "stalled"), data set, models done, best validation and test accuracy, start, duration.

  --db FILE   run database (default: ${DEFAULT_DB})
  --json      JSON output`;

export const command: Command = {
  name: 'runs',
  help,
  async run(argv) {
    const { values } = parseCommandArgs('runs', argv, { db: { type: 'string' }, json: { type: 'boolean' } }, false);
    const store = openDb(values.db ?? DEFAULT_DB);
    try {
      const rows = store.listRuns().map((run) => {
        const models = store.listModels(run.id);
        const done = models.filter((m) => m.status === 'done');
        // The one best-model rule (search/best.ts): val accuracy, then val log-loss, then id.
        const best = bestRecord(done);
        return {
          id: run.id,
          name: run.name,
          // 'stalled': still marked running, but its coordinator's heartbeat stopped (lease expired).
          status: store.runState(run),
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
          `${r.id}  ${r.status.padEnd(11)} ${r.data.padEnd(10)} ${String(r.modelsDone).padStart(4)}/${String(r.models).padEnd(4)} models  best val ${pct(r.bestValAccuracy)} test ${pct(r.bestTestAccuracy)}  started ${r.createdAt}  ${formatDuration(r.durationMs)}${r.status === 'stalled' ? `  (coordinator gone; resume: loom search --resume ${r.id})` : ''}`,
        );
      }
      return 0;
    } finally {
      store.close();
    }
  },
};
