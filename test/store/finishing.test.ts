import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { runCli } from '../fuzz/harness.js';
import { smallConfig } from './helpers/reliability.js';

/**
 * Finishing through the real CLI: a run whose coordinator died right after marking it finished (no analysis, no
 * ensemble, no export) is completed by `loom search --resume`, which trains nothing and writes the exports.
 */
const dir = mkdtempSync(join(tmpdir(), 'loom-finishing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loom search --resume of a run killed before its finishing steps', () => {
  it('analyses, grafts and exports it, without training, and then calls it finished', async () => {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(smallConfig()));
    const db = join(dir, 'runs', 'loom.db');
    const first = await runCli(['search', config, '--db', db, '--workers', '1', '--quiet', '--json'], 120_000);
    expect(first.code, first.stderr).toBe(0);
    const runId = (JSON.parse(first.stdout) as { runId: string }).runId;
    const exported = join(dir, 'runs', runId, 'ensemble.loom');
    expect(existsSync(exported)).toBe(true);

    // The state a SIGKILL just after "finished" leaves: no analysis, ensemble or export, not finalized.
    const raw = new Database(db);
    raw.prepare('DELETE FROM exports WHERE run_id = ?').run(runId);
    raw.prepare('DELETE FROM ensembles WHERE run_id = ?').run(runId);
    raw.prepare('DELETE FROM analyses WHERE run_id = ?').run(runId);
    raw.prepare('UPDATE runs SET finalized_at = NULL WHERE id = ?').run(runId);
    raw.close();
    rmSync(join(dir, 'runs', runId), { recursive: true, force: true });
    const before = Store.open(db, { readonly: true });
    const updatedBefore = before.listModels(runId).map((m) => m.updatedAt);
    before.close();

    const resumed = await runCli(['search', '--resume', runId, '--db', db, '--quiet', '--json'], 120_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ runId, status: 'finished', modelsTrained: 3 });
    expect(existsSync(exported)).toBe(true);
    const store = Store.open(db, { readonly: true });
    expect(store.listExports(runId).map((e) => e.path).sort()).toEqual([join(dir, 'runs', runId, 'ensemble.bundle.json'), exported].sort());
    expect(store.getAnalyses(runId, 'ensemble')).toHaveLength(1);
    expect(store.getRun(runId)?.finalizedAt).not.toBeNull();
    expect(store.listModels(runId).map((m) => m.updatedAt)).toEqual(updatedBefore); // nothing trained again
    store.close();

    const again = await runCli(['search', '--resume', runId, '--db', db, '--quiet'], 60_000);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already finished/);
  }, 240_000);
});
