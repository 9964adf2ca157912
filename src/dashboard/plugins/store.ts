import { Store } from '../../store/store.js';
import { sharedPlugin } from './shared.js';

/**
 * The run database as typed decorators. `store` is opened read-only (the dashboard never writes while a search
 * runs); `withWritableStore` opens a second, writable connection just for the one write action (grafting an
 * ensemble and recording the export) and closes it right after.
 */
declare module 'fastify' {
  interface FastifyInstance {
    store: Store;
    withWritableStore<T>(fn: (store: Store) => T | Promise<T>): Promise<T>;
    /** The database file the dashboard serves (exports are written next to it, never where a request says). */
    dbPath: string;
  }
}

export interface StorePluginOptions extends Record<string, unknown> {
  readonly dbPath: string;
  /** A store already open (tests, benchmarks); otherwise `dbPath` is opened read-only. Not closed by the plugin. */
  readonly store?: Store;
}

export const storePlugin = sharedPlugin<StorePluginOptions>(
  async (fastify, options) => {
    const store = options.store ?? Store.open(options.dbPath, { readonly: true });
    fastify.decorate('store', store);
    fastify.decorate('dbPath', options.dbPath);
    fastify.decorate('withWritableStore', async <T>(fn: (s: Store) => T | Promise<T>): Promise<T> => {
      const writable = Store.open(options.dbPath);
      try {
        return await fn(writable);
      } finally {
        writable.close();
      }
    });
    if (!options.store) fastify.addHook('onClose', async () => store.close());
  },
  { name: 'loom-store' },
);
