import type Database from 'better-sqlite3';
import { LoomError } from '../engine/errors.js';

/**
 * The store's schema as an ordered list of migrations. A migration is never edited once released: a change
 * is a new entry at the end. Opening a database applies the missing ones, each in its own transaction, and
 * records it in `schema_migrations` (PRAGMA user_version mirrors the latest version for quick checks).
 *
 * Binary columns:
 * - predictions.probs: float32 little-endian, row-major [num_samples, num_classes]. float32 rather than
 *   float16 so stored probabilities round-trip exactly (ensemble selection compares tiny differences);
 *   an mnist validation split (1,500 × 10) is 60 kB per model.
 * - predictions.correctness_mask: bit-packed, sample i in byte i >> 3, bit i & 7 (least significant first).
 * - weights.bytes: the model file as the worker produced it (`format` says which).
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE runs (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted', 'failed')),
        config        TEXT NOT NULL,
        seed          INTEGER NOT NULL,
        data_ref      TEXT NOT NULL,
        data_checksum TEXT NOT NULL,
        code_version  TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        finished_at   INTEGER,
        summary       TEXT
      );

      CREATE TABLE generations (
        run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        idx         INTEGER NOT NULL,
        started_at  INTEGER NOT NULL,
        finished_at INTEGER,
        stats       TEXT,
        PRIMARY KEY (run_id, idx)
      );

      CREATE TABLE models (
        run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        model_id      TEXT NOT NULL,
        generation    INTEGER NOT NULL,
        arch          TEXT NOT NULL,
        parent_ids    TEXT NOT NULL DEFAULT '[]',
        seed          INTEGER,
        status        TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
        attempts      INTEGER NOT NULL DEFAULT 0,
        error         TEXT,
        worker        TEXT,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        metrics       TEXT,
        val_accuracy  REAL,
        test_accuracy REAL,
        param_count   INTEGER,
        train_ms      REAL,
        fitness       REAL,
        PRIMARY KEY (run_id, model_id)
      );
      CREATE INDEX models_by_status ON models (run_id, status);
      CREATE INDEX models_by_generation ON models (run_id, generation);

      CREATE TABLE predictions (
        run_id           TEXT NOT NULL,
        model_id         TEXT NOT NULL,
        split            TEXT NOT NULL CHECK (split IN ('val', 'test')),
        num_samples      INTEGER NOT NULL,
        num_classes      INTEGER NOT NULL,
        probs            BLOB NOT NULL,
        correctness_mask BLOB NOT NULL,
        PRIMARY KEY (run_id, model_id, split),
        FOREIGN KEY (run_id, model_id) REFERENCES models(run_id, model_id) ON DELETE CASCADE
      );

      CREATE TABLE weights (
        run_id   TEXT NOT NULL,
        model_id TEXT NOT NULL,
        format   TEXT NOT NULL,
        bytes    BLOB NOT NULL,
        PRIMARY KEY (run_id, model_id),
        FOREIGN KEY (run_id, model_id) REFERENCES models(run_id, model_id) ON DELETE CASCADE
      );

      CREATE TABLE analyses (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        kind       TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        payload    TEXT NOT NULL
      );
      CREATE INDEX analyses_by_kind ON analyses (run_id, kind);

      CREATE TABLE ensembles (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        method        TEXT NOT NULL,
        members       TEXT NOT NULL,
        weights       TEXT NOT NULL,
        val_accuracy  REAL,
        test_accuracy REAL,
        payload       TEXT,
        created_at    INTEGER NOT NULL
      );

      CREATE TABLE exports (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        ensemble_id INTEGER REFERENCES ensembles(id) ON DELETE SET NULL,
        path        TEXT NOT NULL,
        format      TEXT NOT NULL,
        created_at  INTEGER NOT NULL
      );

      CREATE TABLE run_events (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        ts      INTEGER NOT NULL,
        kind    TEXT NOT NULL,
        payload TEXT
      );
      CREATE INDEX run_events_by_run ON run_events (run_id, id);
    `,
  },
  {
    version: 2,
    name: 'run lease and heartbeat, finishing, pruned models, fitness parts, one export row per path',
    // SQLite cannot change a CHECK constraint: models is rebuilt (the documented 12-step way; migrate() turns
    // foreign keys off around it so predictions and weights are not cascaded away, then checks them).
    sql: `
      CREATE TABLE models_v2 (
        run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        model_id      TEXT NOT NULL,
        generation    INTEGER NOT NULL,
        arch          TEXT NOT NULL,
        parent_ids    TEXT NOT NULL DEFAULT '[]',
        seed          INTEGER,
        status        TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'pruned')),
        attempts      INTEGER NOT NULL DEFAULT 0,
        error         TEXT,
        worker        TEXT,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        metrics       TEXT,
        val_accuracy  REAL,
        test_accuracy REAL,
        param_count   INTEGER,
        train_ms      REAL,
        fitness       REAL,
        fitness_parts TEXT,
        PRIMARY KEY (run_id, model_id)
      );
      INSERT INTO models_v2 (run_id, model_id, generation, arch, parent_ids, seed, status, attempts, error, worker,
                             created_at, updated_at, metrics, val_accuracy, test_accuracy, param_count, train_ms, fitness)
        SELECT run_id, model_id, generation, arch, parent_ids, seed, status, attempts, error, worker,
               created_at, updated_at, metrics, val_accuracy, test_accuracy, param_count, train_ms, fitness
        FROM models ORDER BY rowid;
      DROP TABLE models;
      ALTER TABLE models_v2 RENAME TO models;
      CREATE INDEX models_by_status ON models (run_id, status);
      CREATE INDEX models_by_generation ON models (run_id, generation);

      ALTER TABLE runs ADD COLUMN lease_owner TEXT;
      ALTER TABLE runs ADD COLUMN lease_expires_at INTEGER;
      ALTER TABLE runs ADD COLUMN heartbeat_at INTEGER;
      ALTER TABLE runs ADD COLUMN finalized_at INTEGER;
      -- Runs finished by an older Loom that got as far as exporting are complete.
      UPDATE runs SET finalized_at = finished_at
        WHERE status = 'finished' AND EXISTS (SELECT 1 FROM exports e WHERE e.run_id = runs.id);

      DELETE FROM exports WHERE id NOT IN (SELECT MAX(id) FROM exports GROUP BY run_id, path);
      CREATE UNIQUE INDEX exports_by_path ON exports (run_id, path);
    `,
  },
  {
    version: 3,
    name: 'paused models (promotion-style successive halving): a paused status and the state a paused model resumes from',
    // Rebuilt as in version 2 to widen the status CHECK. paused_models keeps, per paused model, the network and the
    // training state it resumes from (cleared once it ends), its validation predictions at the pause (encoded as the
    // predictions table's; a search breeds from paused models too) and, once promoted, the steady schedule's item
    // index of its resumed segment, which a resumed run replays.
    sql: `
      CREATE TABLE models_v3 (
        run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        model_id      TEXT NOT NULL,
        generation    INTEGER NOT NULL,
        arch          TEXT NOT NULL,
        parent_ids    TEXT NOT NULL DEFAULT '[]',
        seed          INTEGER,
        status        TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'pruned', 'paused')),
        attempts      INTEGER NOT NULL DEFAULT 0,
        error         TEXT,
        worker        TEXT,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL,
        metrics       TEXT,
        val_accuracy  REAL,
        test_accuracy REAL,
        param_count   INTEGER,
        train_ms      REAL,
        fitness       REAL,
        fitness_parts TEXT,
        PRIMARY KEY (run_id, model_id)
      );
      INSERT INTO models_v3 (run_id, model_id, generation, arch, parent_ids, seed, status, attempts, error, worker,
                             created_at, updated_at, metrics, val_accuracy, test_accuracy, param_count, train_ms, fitness, fitness_parts)
        SELECT run_id, model_id, generation, arch, parent_ids, seed, status, attempts, error, worker,
               created_at, updated_at, metrics, val_accuracy, test_accuracy, param_count, train_ms, fitness, fitness_parts
        FROM models ORDER BY rowid;
      DROP TABLE models;
      ALTER TABLE models_v3 RENAME TO models;
      CREATE INDEX models_by_status ON models (run_id, status);
      CREATE INDEX models_by_generation ON models (run_id, generation);

      CREATE TABLE paused_models (
        run_id       TEXT NOT NULL,
        model_id     TEXT NOT NULL,
        epoch        REAL NOT NULL,
        weights      BLOB,
        state        BLOB,
        resume_item  INTEGER,
        num_classes  INTEGER NOT NULL,
        val_probs    BLOB NOT NULL,
        val_mask     BLOB NOT NULL,
        PRIMARY KEY (run_id, model_id),
        FOREIGN KEY (run_id, model_id) REFERENCES models(run_id, model_id) ON DELETE CASCADE
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

const storeError = (message: string): LoomError => new LoomError('LOOM_ERR_STORE', message);

/** The versions already applied to this database. */
export function appliedVersions(db: Database.Database): Set<number> {
  const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
  if (!table) return new Set();
  const rows = db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>;
  return new Set(rows.map((r) => r.version));
}

/**
 * Applies the migrations this database lacks, in order, each in a transaction (a failing one leaves no trace);
 * returns the versions applied now. `migrations` is replaceable for tests.
 */
export function migrate(
  db: Database.Database,
  now: () => number = Date.now,
  migrations: readonly Migration[] = MIGRATIONS,
): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const applied = appliedVersions(db);
  const newest = Math.max(0, ...applied);
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  if (newest > latest) {
    throw storeError(`database schema version ${newest} is newer than this Loom's (${latest}); upgrade Loom`);
  }
  const done: number[] = [];
  // Table rebuilds must not cascade: foreign keys are off while migrating (the pragma is ignored inside a
  // transaction, hence here) and each migration checks them before it commits.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  try {
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      db.transaction(() => {
        try {
          db.exec(m.sql);
        } catch (err) {
          throw storeError(`schema migration ${m.version} (${m.name}) failed: ${(err as Error).message}`);
        }
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) throw storeError(`schema migration ${m.version} (${m.name}) left ${broken.length} broken reference(s)`);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, now());
        db.pragma(`user_version = ${m.version}`);
      })();
      done.push(m.version);
    }
  } finally {
    if (foreignKeys) db.pragma('foreign_keys = ON');
  }
  return done;
}
