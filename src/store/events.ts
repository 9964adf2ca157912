import type { StoreDb } from './db.js';
import { toJson } from './json.js';
import { eventFromRow, type Row } from './rows.js';
import type { RunEvent } from './types.js';

/** A run's progress events, which live views (the dashboard) follow by id. */

export function appendEvent(s: StoreDb, runId: string, kind: string, payload?: unknown): RunEvent {
  s.writable('append an event');
  const info = s.guard(`append an event to run ${runId}`, () =>
    s.stmt('INSERT INTO run_events (run_id, ts, kind, payload) VALUES (?, ?, ?, ?)').run(runId, s.now(), kind, toJson(payload)),
  );
  return eventFromRow(s.stmt('SELECT * FROM run_events WHERE id = ?').get(info.lastInsertRowid) as Row);
}

export function listEvents(s: StoreDb, runId: string, options: { afterId?: number; limit?: number } = {}): RunEvent[] {
  const rows = s.stmt('SELECT * FROM run_events WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?').all(runId, options.afterId ?? 0, options.limit ?? 10_000) as Row[];
  return rows.map(eventFromRow);
}
