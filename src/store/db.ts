import type Database from 'better-sqlite3';
import { LoomError } from '../engine/errors.js';

export const storeError = (message: string): LoomError => new LoomError('LOOM_ERR_STORE', message);

/**
 * The open database every store module writes through: one statement cache, one clock, one read-only guard and
 * one translation of SQLite failures into store errors. Modules (runs, models, generations, …) are functions
 * of a StoreDb; `Store` is their facade.
 */
export class StoreDb {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    readonly db: Database.Database,
    readonly path: string,
    readonly readonly: boolean,
    readonly now: () => number,
  ) {}

  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Runs `fn` in a transaction that takes the write lock first (read-then-write decisions such as the lease). */
  immediate<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  writable(what: string): void {
    if (this.readonly) throw storeError(`the run database ${this.path} is open read-only: cannot ${what}`);
  }

  requireChange(info: Database.RunResult, message: string): void {
    if (info.changes === 0) throw storeError(message);
  }

  /** Turns SQLite constraint failures (an unknown run, mostly) into store errors that say what was attempted. */
  guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof LoomError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      const hint = /FOREIGN KEY/i.test(message) ? ' (no such run?)' : '';
      throw storeError(`cannot ${what}: ${message}${hint}`);
    }
  }
}
