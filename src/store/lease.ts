import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { RUN_HEARTBEAT_MS, RUN_LEASE_TTL_MS } from './runs.js';
import type { Store } from './store.js';

/**
 * Holding a run's lease for as long as a coordinator works on it: taken at once (refused while another live
 * coordinator holds it), renewed by a heartbeat timer, given back by release(). The heartbeat is the run's
 * liveness signal too: `loom runs` and the dashboard call a running run whose lease expired 'stalled'.
 */
export interface LeaseOptions {
  /** Who holds it, shown to a refused second coordinator (default: host, pid and a random tag). */
  readonly owner?: string;
  readonly ttlMs?: number;
  readonly heartbeatMs?: number;
  /** Called once if a renewal finds another owner holding the lease (this process was stalled past its TTL). */
  readonly onLost?: () => void;
}

export interface HeldLease {
  readonly owner: string;
  /** True once another coordinator took the lease over: stop writing this run. */
  readonly lost: boolean;
  /** Stops the heartbeat and frees the lease (idempotent). */
  release(): void;
}

export const defaultLeaseOwner = (): string => `${hostname()} pid ${process.pid} (${randomBytes(3).toString('hex')})`;

export function holdRunLease(store: Store, runId: string, options: LeaseOptions = {}): HeldLease {
  const owner = options.owner ?? defaultLeaseOwner();
  const ttlMs = options.ttlMs ?? RUN_LEASE_TTL_MS;
  store.acquireRunLease(runId, owner, ttlMs);
  let lost = false;
  let released = false;
  const timer = setInterval(() => {
    try {
      if (store.renewRunLease(runId, owner, ttlMs)) return;
      lost = true;
      clearInterval(timer);
      options.onLost?.();
    } catch {
      // The database is busy or gone for a moment: the next beat tries again, the TTL leaves room for it.
    }
  }, options.heartbeatMs ?? RUN_HEARTBEAT_MS);
  timer.unref();
  return {
    owner,
    get lost() {
      return lost;
    },
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      try {
        if (!lost) store.releaseRunLease(runId, owner);
      } catch {
        // Closed database: the lease simply expires.
      }
    },
  };
}
