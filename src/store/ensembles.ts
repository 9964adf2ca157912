import type { StoreDb } from './db.js';
import { toJson } from './json.js';
import { ensembleFromRow, exportFromRow, type Row } from './rows.js';
import type { EnsembleRecord, ExportRecord, NewEnsemble } from './types.js';

/** Ensembles chosen for a run, and the model files exported from them. */

export function addEnsemble(s: StoreDb, runId: string, e: NewEnsemble): EnsembleRecord {
  s.writable('add an ensemble');
  const info = s.guard(`add an ensemble to run ${runId}`, () =>
    s
      .stmt(
        `INSERT INTO ensembles (run_id, method, members, weights, val_accuracy, test_accuracy, payload, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(runId, e.method, toJson(e.members), toJson(e.weights), e.valAccuracy, e.testAccuracy, toJson(e.payload), s.now()),
  );
  return ensembleFromRow(s.stmt('SELECT * FROM ensembles WHERE id = ?').get(info.lastInsertRowid) as Row);
}

export function listEnsembles(s: StoreDb, runId: string): EnsembleRecord[] {
  return (s.stmt('SELECT * FROM ensembles WHERE run_id = ? ORDER BY id').all(runId) as Row[]).map(ensembleFromRow);
}

/**
 * Records an exported file. One row per (run, path): writing the same path again (a repeated graft, a resumed
 * finish) updates that row instead of adding one.
 */
export function addExport(s: StoreDb, runId: string, entry: { ensembleId?: number | null; path: string; format: string }): ExportRecord {
  s.writable('add an export');
  s.guard(`add an export to run ${runId}`, () =>
    s
      .stmt(
        `INSERT INTO exports (run_id, ensemble_id, path, format, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (run_id, path) DO UPDATE SET ensemble_id = excluded.ensemble_id, format = excluded.format, created_at = excluded.created_at`,
      )
      .run(runId, entry.ensembleId ?? null, entry.path, entry.format, s.now()),
  );
  return exportFromRow(s.stmt('SELECT * FROM exports WHERE run_id = ? AND path = ?').get(runId, entry.path) as Row);
}

export function listExports(s: StoreDb, runId: string): ExportRecord[] {
  return (s.stmt('SELECT * FROM exports WHERE run_id = ? ORDER BY id').all(runId) as Row[]).map(exportFromRow);
}
