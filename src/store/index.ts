export { Store } from './store.js';
export type { StoreOptions } from './store.js';
export { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
export type * from './types.js';
