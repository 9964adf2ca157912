import type { StoreDb } from './db.js';
import { parseAnalysisPayload, toJson } from './json.js';
import { analysisFromRow, type Row } from './rows.js';
import type { AnalysisPayload, AnalysisRecord } from './types.js';

/** Saved analyses of a run (kind + JSON payload), oldest first. */

export function addAnalysis(s: StoreDb, runId: string, kind: string, payload: AnalysisPayload): AnalysisRecord {
  s.writable('add an analysis');
  const text = toJson(parseAnalysisPayload(payload, `run ${runId} ${kind} analysis`));
  const info = s.guard(`add an analysis to run ${runId}`, () =>
    s.stmt('INSERT INTO analyses (run_id, kind, created_at, payload) VALUES (?, ?, ?, ?)').run(runId, kind, s.now(), text),
  );
  return analysisFromRow(s.stmt('SELECT * FROM analyses WHERE id = ?').get(info.lastInsertRowid) as Row);
}

export function getAnalyses(s: StoreDb, runId: string, kind?: string): AnalysisRecord[] {
  const rows = s.stmt('SELECT * FROM analyses WHERE run_id = @runId AND (@kind IS NULL OR kind = @kind) ORDER BY id').all({ runId, kind: kind ?? null }) as Row[];
  return rows.map(analysisFromRow);
}
