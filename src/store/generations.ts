import type { StoreDb } from './db.js';
import { parseGenerationStats, toJson } from './json.js';
import { generationFromRow, type Row } from './rows.js';
import type { GenerationRecord, GenerationStats } from './types.js';

/** Generations of a run: started with their members, finished with their aggregates. */

/** Records a generation's start; adding one that exists (a resumed run) keeps the original. */
export function addGeneration(s: StoreDb, runId: string, index: number, stats?: GenerationStats): void {
  s.writable('add a generation');
  const what = `run ${runId} generation ${index}: stats`;
  const text = stats === undefined ? null : toJson(parseGenerationStats(stats, what));
  s.guard(`add generation ${index} to run ${runId}`, () =>
    s.stmt('INSERT INTO generations (run_id, idx, started_at, stats) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(runId, index, s.now(), text),
  );
}

/** Replaces a started generation's stats without finishing it (a steady-state search adds members one by one). */
export function updateGeneration(s: StoreDb, runId: string, index: number, stats: GenerationStats): void {
  s.writable('update a generation');
  const text = toJson(parseGenerationStats(stats, `run ${runId} generation ${index}: stats`));
  s.requireChange(s.stmt('UPDATE generations SET stats = ? WHERE run_id = ? AND idx = ?').run(text, runId, index), `no generation ${index} in run ${runId}`);
}

export function finishGeneration(s: StoreDb, runId: string, index: number, stats: GenerationStats): void {
  s.writable('finish a generation');
  const text = toJson(parseGenerationStats(stats, `run ${runId} generation ${index}: stats`));
  s.requireChange(
    s.stmt('UPDATE generations SET finished_at = ?, stats = ? WHERE run_id = ? AND idx = ?').run(s.now(), text, runId, index),
    `no generation ${index} in run ${runId}`,
  );
}

export function listGenerations(s: StoreDb, runId: string): GenerationRecord[] {
  return (s.stmt('SELECT * FROM generations WHERE run_id = ? ORDER BY idx').all(runId) as Row[]).map(generationFromRow);
}
