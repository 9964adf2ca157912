import { LoomError } from '../engine/errors.js';
import { storeError, type StoreDb } from './db.js';
import { toJson } from './json.js';
import { runFromRow, type Row } from './rows.js';
import type { NewRun, RunLease, RunRecord, RunState, RunStatus } from './types.js';

/**
 * Runs: creation, status, the finishing marker, and the run lease. The lease makes one coordinator at a time
 * the writer of a run: it is taken in a write transaction, renewed by the holder's heartbeat, and free again
 * once it expires, so a coordinator that died (SIGKILL, power loss) blocks nobody for longer than its TTL.
 */

/** A lease lives this long without renewal; the holder renews it every RUN_HEARTBEAT_MS. */
export const RUN_LEASE_TTL_MS = 30_000;
export const RUN_HEARTBEAT_MS = 5_000;

export function createRun(s: StoreDb, run: NewRun): RunRecord {
  s.writable('create a run');
  if (getRun(s, run.id)) throw storeError(`run ${run.id} already exists`);
  const now = s.now();
  s.stmt(
    `INSERT INTO runs (id, name, status, config, seed, data_ref, data_checksum, code_version, created_at, heartbeat_at)
     VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)`,
  ).run(run.id, run.name ?? run.id, toJson(run.config), run.seed, run.dataRef, run.dataChecksum, run.codeVersion, now, now);
  return getRun(s, run.id) as RunRecord;
}

export function getRun(s: StoreDb, id: string): RunRecord | undefined {
  const row = s.stmt('SELECT * FROM runs WHERE id = ?').get(id) as Row | undefined;
  return row ? runFromRow(row) : undefined;
}

/**
 * A run's stored config as JSON: the store does not know the config's shape (it must not import search), so the
 * caller parses it (search/config.ts's parseRunConfig).
 */
export function getRunConfig(s: StoreDb, id: string): unknown {
  const run = getRun(s, id);
  if (!run) throw new LoomError('LOOM_ERR_USAGE', `no run "${id}" in ${s.path} (see \`loom runs\`)`);
  return run.config;
}

export function listRuns(s: StoreDb): RunRecord[] {
  return (s.stmt('SELECT * FROM runs ORDER BY created_at DESC, rowid DESC').all() as Row[]).map(runFromRow);
}

/** Sets a run's status; back to 'running' (a resume) clears finished_at. */
export function updateRunStatus(s: StoreDb, id: string, status: RunStatus): RunRecord {
  s.writable('update a run');
  const finishedAt = status === 'running' ? null : s.now();
  s.requireChange(s.stmt('UPDATE runs SET status = ?, finished_at = ? WHERE id = ?').run(status, finishedAt, id), `no run ${id}`);
  return getRun(s, id) as RunRecord;
}

/** Ends a run with a summary; its finishing steps are still to do (see markRunFinalized). */
export function finishRun(s: StoreDb, id: string, summary: unknown, status: Exclude<RunStatus, 'running'> = 'finished'): RunRecord {
  s.writable('finish a run');
  s.requireChange(
    s.stmt('UPDATE runs SET status = ?, finished_at = ?, summary = ?, finalized_at = NULL WHERE id = ?').run(status, s.now(), toJson(summary), id),
    `no run ${id}`,
  );
  return getRun(s, id) as RunRecord;
}

/** Records that a finished run's finishing steps (analysis, graft, export) completed. */
export function markRunFinalized(s: StoreDb, id: string): RunRecord {
  s.writable('mark a run finalized');
  s.requireChange(s.stmt(`UPDATE runs SET finalized_at = ? WHERE id = ? AND status = 'finished'`).run(s.now(), id), `no finished run ${id}`);
  return getRun(s, id) as RunRecord;
}

// ── the lease ─────────────────────────────────────────────────────────────────────────────────────

function describeHolder(run: RunRecord, now: number): string {
  const beat = run.heartbeatAt === null ? '' : `, last heartbeat ${Math.max(0, Math.round((now - run.heartbeatAt) / 1000))} s ago`;
  const left = Math.max(0, Math.ceil(((run.leaseExpiresAt ?? now) - now) / 1000));
  return `${run.leaseOwner}${beat}; it expires in ${left} s if that coordinator has died`;
}

/**
 * Takes the run's lease for `owner` (or renews it when `owner` already holds it). Refused with LOOM_ERR_USAGE
 * while another owner's lease is unexpired.
 */
export function acquireRunLease(s: StoreDb, runId: string, owner: string, ttlMs = RUN_LEASE_TTL_MS): RunLease {
  s.writable('take a run lease');
  return s.immediate(() => {
    const run = getRun(s, runId);
    if (!run) throw new LoomError('LOOM_ERR_USAGE', `no run "${runId}" in ${s.path} (see \`loom runs\`)`);
    const now = s.now();
    if (run.leaseOwner !== null && run.leaseOwner !== owner && (run.leaseExpiresAt ?? 0) > now) {
      throw new LoomError('LOOM_ERR_USAGE', `run ${runId} is already being run by another coordinator (${describeHolder(run, now)})`);
    }
    const expiresAt = now + ttlMs;
    s.stmt('UPDATE runs SET lease_owner = ?, lease_expires_at = ?, heartbeat_at = ? WHERE id = ?').run(owner, expiresAt, now, runId);
    return Object.freeze({ runId, owner, expiresAt });
  });
}

/** The holder's heartbeat: extends the lease and records the beat. False when `owner` no longer holds it. */
export function renewRunLease(s: StoreDb, runId: string, owner: string, ttlMs = RUN_LEASE_TTL_MS): boolean {
  s.writable('renew a run lease');
  const now = s.now();
  return s.stmt('UPDATE runs SET lease_expires_at = ?, heartbeat_at = ? WHERE id = ? AND lease_owner = ?').run(now + ttlMs, now, runId, owner).changes > 0;
}

/** Gives the lease up (a clean exit); a no-op when `owner` no longer holds it. */
export function releaseRunLease(s: StoreDb, runId: string, owner: string): void {
  s.writable('release a run lease');
  s.stmt('UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?').run(runId, owner);
}

/**
 * A run's state as people see it: a 'running' run whose coordinator stopped renewing its lease (or, for a run
 * without one, stopped beating for a lease's length) is 'stalled', and `loom search --resume` takes it over.
 */
export function runState(run: RunRecord, now: number, ttlMs = RUN_LEASE_TTL_MS): RunState {
  if (run.status !== 'running') return run.status;
  const expires = run.leaseExpiresAt ?? (run.heartbeatAt ?? run.createdAt) + ttlMs;
  return expires < now ? 'stalled' : 'running';
}
