export { Store } from './store.js';
export type { StoreOptions } from './store.js';
export { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
export { RUN_HEARTBEAT_MS, RUN_LEASE_TTL_MS, runState } from './runs.js';
export { parseEpochMetrics } from './json.js';
export type * from './types.js';
export { MODEL_STATUSES } from './types.js';
export { defaultLeaseOwner, holdRunLease, type HeldLease, type LeaseOptions } from './lease.js';
