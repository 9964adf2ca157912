import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { MIGRATIONS, SCHEMA_VERSION, Store } from '../../src/store/index.js';
import { migrate } from '../../src/store/schema.js';
import type { Migration } from '../../src/store/schema.js';
import type { ModelResult, NewRun } from '../../src/store/index.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
const dbPath = (): string => join(dir, `run-${++fileCount}.db`);

const run: NewRun = {
  id: 'run-1',
  name: 'first',
  config: { population: 4, generations: 2 },
  seed: 42,
  dataRef: 'iris',
  dataChecksum: 'abc123',
  codeVersion: '0.1.0',
};

/** A result with awkward sizes: 13 val samples (not a multiple of 8) and 3 classes. */
function result(modelId: string, salt = 0): ModelResult {
  const valMask = Uint8Array.from({ length: 13 }, (_, i) => ((i * 7 + salt) % 3 === 0 ? 1 : 0));
  const testMask = Uint8Array.from({ length: 9 }, (_, i) => (i % 2 === 0 ? 1 : 0));
  return {
    modelId,
    metrics: [
      { epoch: 1, loss: 1.1, accuracy: 0.4, valLoss: 1.2, valAccuracy: 0.5, lr: 0.01, ms: 3 },
      { epoch: 2, loss: 0.7, accuracy: 0.6, valLoss: 0.9, valAccuracy: 0.75, lr: 0.005, ms: 4 },
    ],
    valProbs: Float32Array.from({ length: 13 * 3 }, (_, i) => Math.fround(Math.sin(i + salt) * 0.5 + 0.5)),
    testProbs: Float32Array.from({ length: 9 * 3 }, (_, i) => i / 27 + 1e-7),
    valMask,
    testMask,
    weights: Uint8Array.from([1, 2, 3, 250, 0, 7]),
    paramCount: 123,
    trainMs: 45.5,
    worker: 'local-0',
    valAccuracy: 0.75,
    testAccuracy: 0.7,
    numClasses: 3,
  };
}

function storeErrorOf(fn: () => unknown): LoomError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LoomError);
    expect((err as LoomError).code).toBe('LOOM_ERR_STORE');
    return err as LoomError;
  }
  throw new Error('expected a store error');
}

describe('schema migrations', () => {
  it('creates the schema once and applies nothing on reopen', () => {
    const path = dbPath();
    const first = Store.open(path);
    expect(first.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
    first.createRun(run);
    first.close();

    const second = Store.open(path);
    expect(second.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(second.getRun('run-1')?.name).toBe('first');
    second.close();

    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()).toEqual({ n: MIGRATIONS.length });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('applies only the missing migrations, each atomically', () => {
    const path = dbPath();
    const db = new Database(path);
    expect(migrate(db, () => 1, MIGRATIONS.slice(0, 1))).toEqual([1]);
    db.prepare(`INSERT INTO runs (id, name, status, config, seed, data_ref, data_checksum, code_version, created_at)
                VALUES ('r', 'r', 'running', '{}', 1, 'iris', 'x', 'v', 0)`).run();
    const addNote: Migration = { version: 2, name: 'run notes', sql: 'ALTER TABLE runs ADD COLUMN note TEXT' };
    const broken: Migration = { version: 3, name: 'broken', sql: 'CREATE TABLE half (a); INSERT INTO missing VALUES (1);' };
    expect(migrate(db, () => 2, [...MIGRATIONS.slice(0, 1), addNote])).toEqual([2]);
    expect(migrate(db, () => 3, [...MIGRATIONS.slice(0, 1), addNote])).toEqual([]);
    expect(db.prepare('SELECT id, note FROM runs').all()).toEqual([{ id: 'r', note: null }]);
    expect(() => migrate(db, () => 4, [...MIGRATIONS.slice(0, 1), addNote, broken])).toThrow(/migration 3 \(broken\) failed/);
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'half'`).get()).toBeUndefined();
    expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual([{ version: 1 }, { version: 2 }]);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    db.close();
  });

  it('refuses a database from a newer Loom', () => {
    const path = dbPath();
    Store.open(path).close();
    const raw = new Database(path);
    raw.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'future', 0);
    raw.close();
    expect(storeErrorOf(() => Store.open(path)).message).toMatch(/newer than this Loom/);
  });
});

describe('runs and models', () => {
  it('walks a run through its lifecycle', () => {
    let clock = 1000;
    const store = Store.open(':memory:', { now: () => clock });
    const created = store.createRun(run);
    expect(created).toMatchObject({ id: 'run-1', status: 'running', seed: 42, dataRef: 'iris', createdAt: 1000, finishedAt: null });
    expect(created.config).toEqual({ population: 4, generations: 2 });
    expect(Object.isFrozen(created)).toBe(true);
    expect(storeErrorOf(() => store.createRun(run)).message).toMatch(/already exists/);

    clock = 2000;
    store.addGeneration('run-1', 0);
    store.addGeneration('run-1', 0);
    store.finishGeneration('run-1', 0, { members: ['m1'], bestValAccuracy: 0.9 });
    expect(store.listGenerations('run-1')).toEqual([{ runId: 'run-1', index: 0, startedAt: 2000, finishedAt: 2000, stats: { members: ['m1'], bestValAccuracy: 0.9 } }]);

    expect(store.updateRunStatus('run-1', 'interrupted')).toMatchObject({ status: 'interrupted', finishedAt: 2000 });
    clock = 3000;
    expect(store.updateRunStatus('run-1', 'running')).toMatchObject({ status: 'running', finishedAt: null });
    const done = store.finishRun('run-1', { bestModel: 'm1' });
    expect(done).toMatchObject({ status: 'finished', finishedAt: 3000, summary: { bestModel: 'm1' } });
    // The first snapshot did not change.
    expect(created.status).toBe('running');

    store.createRun({ ...run, id: 'run-2', name: undefined });
    expect(store.listRuns().map((r) => r.id)).toEqual(['run-2', 'run-1']);
    expect(store.getRun('run-2')?.name).toBe('run-2');
    expect(store.getRun('nope')).toBeUndefined();
    expect(storeErrorOf(() => store.updateRunStatus('nope', 'failed')).message).toMatch(/no run nope/);
    store.close();
  });

  it('adds pending models, tracks running/failed/done, and lists them by filter', () => {
    const store = Store.open(':memory:');
    store.createRun(run);
    expect(
      store.addModels('run-1', [
        { modelId: 'm1', generation: 0, arch: { brains: ['dense'] }, seed: 7 },
        { modelId: 'm2', generation: 0, arch: { brains: ['lstm'] } },
        { modelId: 'm3', generation: 1, arch: { brains: ['mha'] }, parentIds: ['m1', 'm2'] },
      ]),
    ).toBe(3);
    expect(store.addModels('run-1', [{ modelId: 'm1', generation: 5, arch: {} }])).toBe(0);
    expect(store.getModel('run-1', 'm1')).toMatchObject({ generation: 0, seed: 7, status: 'pending', attempts: 0, arch: { brains: ['dense'] } });
    expect(store.getModel('run-1', 'm3')?.parentIds).toEqual(['m1', 'm2']);

    expect(store.markModelRunning('run-1', 'm1', 'local-0')).toBe(true);
    expect(store.markModelRunning('run-1', 'm2', 'local-1')).toBe(true);
    expect(store.markModelFailed('run-1', 'm2', 'NaN loss')).toBe(true);
    expect(store.getModel('run-1', 'm2')).toMatchObject({ status: 'failed', error: 'NaN loss', attempts: 1, worker: 'local-1' });
    expect(store.markModelFailed('run-1', 'm2', 'NaN loss again', 3)).toBe(true);
    expect(store.getModel('run-1', 'm2')?.attempts).toBe(3);
    expect(store.recordResult('run-1', result('m1'))).toBe(true);
    expect(store.markModelFailed('run-1', 'm1', 'late failure')).toBe(false);
    expect(store.getModel('run-1', 'm1')?.status).toBe('done');

    expect(store.listModels('run-1').map((m) => m.modelId)).toEqual(['m1', 'm2', 'm3']);
    expect(store.listModels('run-1', { status: 'done' }).map((m) => m.modelId)).toEqual(['m1']);
    expect(store.listModels('run-1', { status: 'failed' }).map((m) => m.modelId)).toEqual(['m2']);
    expect(store.listModels('run-1', { generation: 1 }).map((m) => m.modelId)).toEqual(['m3']);
    expect(store.listModels('run-1', { status: 'pending', generation: 0 })).toEqual([]);
    expect(store.countModels('run-1')).toEqual({ pending: 1, running: 0, done: 1, failed: 1, pruned: 0, paused: 0 });

    store.markModelRunning('run-1', 'm3');
    expect(store.resetRunningModels('run-1')).toBe(1);
    expect(store.getModel('run-1', 'm3')?.status).toBe('pending');
    store.setFitness('run-1', 'm1', 0.61, { accuracy: 0.55, diversity: 0.06 });
    expect(store.getModel('run-1', 'm1')).toMatchObject({ fitness: 0.61, fitnessParts: { accuracy: 0.55, diversity: 0.06 } });
    expect(store.listModels('run-1', { status: 'done' })[0]?.fitnessParts).toEqual({ accuracy: 0.55, diversity: 0.06 });

    expect(storeErrorOf(() => store.markModelRunning('run-1', 'ghost')).message).toMatch(/no model ghost/);
    expect(storeErrorOf(() => store.addModels('no-run', [{ modelId: 'x', generation: 0, arch: {} }])).message).toMatch(/no such run/);
    store.close();
  });
});

describe('results', () => {
  it('recordResult is idempotent: a second write is a no-op and leaves one identical row', () => {
    const path = dbPath();
    const store = Store.open(path);
    store.createRun(run);
    store.addModels('run-1', [{ modelId: 'm1', generation: 0, arch: {} }]);
    store.markModelRunning('run-1', 'm1', 'local-0');
    expect(store.recordResult('run-1', result('m1'), { fitness: 0.5 })).toBe(true);
    const before = store.getModel('run-1', 'm1');
    const predsBefore = store.getPredictions('run-1', 'val');
    // The same model delivered again (a retried job), even with different content: nothing changes.
    expect(store.recordResult('run-1', { ...result('m1', 1), worker: 'other', valAccuracy: 0.1 })).toBe(false);
    expect(store.getModel('run-1', 'm1')).toEqual(before);
    expect(store.getPredictions('run-1', 'val')).toEqual(predsBefore);
    expect(before).toMatchObject({ status: 'done', worker: 'local-0', valAccuracy: 0.75, testAccuracy: 0.7, paramCount: 123, trainMs: 45.5, fitness: 0.5, attempts: 1 });
    expect(before?.metrics).toEqual(result('m1').metrics);
    store.close();

    const raw = new Database(path, { readonly: true });
    const count = (table: string): unknown => raw.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get();
    expect(count('models')).toEqual({ n: 1 });
    expect(count('predictions')).toEqual({ n: 2 });
    expect(count('weights')).toEqual({ n: 1 });
    // Masks are bit-packed: 13 samples take 2 bytes.
    expect((raw.prepare(`SELECT correctness_mask AS m FROM predictions WHERE split = 'val'`).get() as { m: Buffer }).m.length).toBe(2);
    raw.close();
  });

  it('getPredictions round-trips probabilities and masks exactly, models in order', () => {
    const store = Store.open(':memory:');
    store.createRun(run);
    store.addModels('run-1', ['a', 'b', 'c'].map((id) => ({ modelId: id, generation: 0, arch: {} })));
    store.recordResult('run-1', result('b', 2));
    store.recordResult('run-1', result('a', 1));
    const val = store.getPredictions('run-1', 'val');
    expect(val.modelIds).toEqual(['a', 'b']);
    expect(val.numSamples).toBe(13);
    expect(val.numClasses).toBe(3);
    expect(val.probs[0]).toEqual(result('a', 1).valProbs);
    expect(val.probs[1]).toEqual(result('b', 2).valProbs);
    expect(val.masks[0]).toEqual(result('a', 1).valMask);
    expect(val.masks[1]).toEqual(result('b', 2).valMask);
    const test = store.getPredictions('run-1', 'test', ['b']);
    expect(test.modelIds).toEqual(['b']);
    expect(Array.from(test.probs[0] as Float32Array)).toEqual(Array.from(result('b').testProbs));
    expect(test.masks[0]).toEqual(result('b').testMask);
    expect(storeErrorOf(() => store.getPredictions('run-1', 'val', ['c'])).message).toMatch(/no val predictions for model c/);
    expect(store.getPredictions('run-2', 'val')).toMatchObject({ modelIds: [], numSamples: 0 });

    const weights = store.getWeights('run-1', 'a');
    expect(weights?.format).toBe('loom');
    expect(weights?.bytes).toEqual(Uint8Array.from([1, 2, 3, 250, 0, 7]));
    expect(store.getWeights('run-1', 'c')).toBeUndefined();
    store.close();
  });

  it('refuses a result with mismatched shapes or for an unknown model, writing nothing', () => {
    const store = Store.open(':memory:');
    store.createRun(run);
    store.addModels('run-1', [{ modelId: 'm1', generation: 0, arch: {} }]);
    const bad = { ...result('m1'), valProbs: new Float32Array(10) };
    expect(storeErrorOf(() => store.recordResult('run-1', bad)).message).toMatch(/val probabilities hold 10 numbers, expected 13 samples × 3 classes/);
    expect(store.getModel('run-1', 'm1')?.status).toBe('pending');
    expect(store.getPredictions('run-1', 'val').modelIds).toEqual([]);
    expect(storeErrorOf(() => store.recordResult('run-1', result('ghost'))).message).toMatch(/no model ghost/);
    store.close();
  });
});

describe('analyses, ensembles, exports, events', () => {
  it('stores and lists them per run', () => {
    let clock = 10;
    const store = Store.open(':memory:', { now: () => clock++ });
    store.createRun(run);
    store.addAnalysis('run-1', 'kmeans', { k: 3 });
    store.addAnalysis('run-1', 'correlation', { matrix: [[1]] });
    expect(store.getAnalyses('run-1').map((a) => a.kind)).toEqual(['kmeans', 'correlation']);
    expect(store.getAnalyses('run-1', 'kmeans')).toMatchObject([{ kind: 'kmeans', payload: { k: 3 } }]);

    const ens = store.addEnsemble('run-1', { method: 'greedy', members: ['m1', 'm2'], weights: [0.5, 0.5], valAccuracy: 0.9, testAccuracy: 0.88 });
    expect(ens).toMatchObject({ runId: 'run-1', method: 'greedy', members: ['m1', 'm2'], weights: [0.5, 0.5], valAccuracy: 0.9, payload: null });
    expect(store.listEnsembles('run-1')).toEqual([ens]);
    const exp = store.addExport('run-1', { ensembleId: ens.id, path: '/tmp/x.loom.json', format: 'loom' });
    expect(store.listExports('run-1')).toEqual([exp]);

    const e1 = store.appendEvent('run-1', 'generation', { index: 0 });
    const e2 = store.appendEvent('run-1', 'model-done', { modelId: 'm1' });
    expect(store.listEvents('run-1').map((e) => e.kind)).toEqual(['generation', 'model-done']);
    expect(store.listEvents('run-1', { afterId: e1.id })).toEqual([e2]);
    expect(store.listEvents('run-1', { afterId: e2.id })).toEqual([]);
    expect(storeErrorOf(() => store.appendEvent('nope', 'x')).message).toMatch(/no such run/);
    store.close();
  });
});

describe('read-only', () => {
  it('reads what a writer wrote, sees new writes, and refuses every write', () => {
    const path = dbPath();
    const writer = Store.open(path);
    writer.createRun(run);
    writer.addModels('run-1', [{ modelId: 'm1', generation: 0, arch: {} }]);
    const reader = Store.open(path, { readonly: true });
    expect(reader.readonly).toBe(true);
    expect(reader.getRun('run-1')?.status).toBe('running');
    writer.recordResult('run-1', result('m1'));
    expect(reader.getModel('run-1', 'm1')?.status).toBe('done');
    expect(reader.getPredictions('run-1', 'val').masks[0]).toEqual(result('m1').valMask);

    expect(storeErrorOf(() => reader.createRun({ ...run, id: 'run-9' })).message).toMatch(/read-only: cannot create a run/);
    expect(storeErrorOf(() => reader.recordResult('run-1', result('m1'))).message).toMatch(/read-only/);
    expect(storeErrorOf(() => reader.appendEvent('run-1', 'x')).message).toMatch(/read-only/);
    expect(storeErrorOf(() => reader.markModelFailed('run-1', 'm1', 'x')).message).toMatch(/read-only/);
    reader.close();
    writer.close();

    expect(storeErrorOf(() => Store.open(join(dir, 'missing.db'), { readonly: true })).message).toMatch(/cannot open .*missing\.db read-only/);
    expect(storeErrorOf(() => Store.open(':memory:', { readonly: true })).message).toMatch(/in-memory/);
  });
});
