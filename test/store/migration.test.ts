import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION, Store } from '../../src/store/index.js';
import { migrate } from '../../src/store/schema.js';

/** Migrations 2 and 3 on a database written by the first schema: nothing lost, old JSON read under the new types. */
const dir = mkdtempSync(join(tmpdir(), 'loom-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeV1(path: string): void {
  const db = new Database(path);
  db.pragma('foreign_keys = ON');
  migrate(db, () => 1, MIGRATIONS.slice(0, 1));
  const run = db.prepare(`INSERT INTO runs (id, name, status, config, seed, data_ref, data_checksum, code_version, created_at, finished_at)
    VALUES (?, ?, ?, ?, 1, 'iris', 'abc', '0.1.0', 10, ?)`);
  run.run('done-run', 'a', 'finished', '{"seed":1}', 20);
  run.run('cut-run', 'b', 'finished', '{"seed":1}', 30);
  // The old processor's metric names.
  const metrics = JSON.stringify([{ epoch: 1, trainLoss: 0.9, trainAccuracy: 0.5, valAccuracy: 0.6, learningRate: 0.01, ms: 5 }]);
  db.prepare(`INSERT INTO models (run_id, model_id, generation, arch, status, created_at, updated_at, metrics, val_accuracy)
    VALUES ('done-run', 'm1', 0, '{}', 'done', 1, 2, ?, 0.6)`).run(metrics);
  db.prepare(`INSERT INTO predictions VALUES ('done-run', 'm1', 'val', 2, 2, ?, ?)`).run(Buffer.alloc(16), Buffer.from([1]));
  db.prepare(`INSERT INTO weights VALUES ('done-run', 'm1', 'loom', ?)`).run(Buffer.from([1, 2, 3]));
  db.prepare(`INSERT INTO generations VALUES ('done-run', 0, 1, 2, '{"members":["m1"],"bestValAccuracy":0.6}')`).run();
  // Two rows for one exported path (the old graft appended); the newest must stay.
  const exp = db.prepare(`INSERT INTO exports (run_id, path, format, created_at) VALUES ('done-run', 'runs/x.loom', 'loom', ?)`);
  exp.run(1);
  exp.run(2);
  db.close();
}

describe('migration 2', () => {
  it('keeps every model, prediction and weight, and marks exported runs finalized', () => {
    const path = join(dir, 'v1.db');
    writeV1(path);
    const store = Store.open(path);
    expect(store.schemaVersions()).toEqual([1, 2, 3]);
    expect(SCHEMA_VERSION).toBe(3);
    const model = store.getModel('done-run', 'm1');
    expect(model?.metrics).toEqual([{ epoch: 1, loss: 0.9, accuracy: 0.5, valAccuracy: 0.6, lr: 0.01, ms: 5 }]);
    expect(model?.fitnessParts).toBeNull();
    expect(store.getPredictions('done-run', 'val').modelIds).toEqual(['m1']); // not cascaded away by the rebuild
    expect(store.getWeights('done-run', 'm1')?.bytes).toEqual(new Uint8Array([1, 2, 3]));
    expect(store.listGenerations('done-run')[0]?.stats).toEqual({ members: ['m1'], bestValAccuracy: 0.6 });
    expect(store.listExports('done-run').map((e) => e.createdAt)).toEqual([2]);
    expect(store.getRun('done-run')?.finalizedAt).toBe(20); // it had exports
    expect(store.getRun('cut-run')?.finalizedAt).toBeNull(); // killed before exporting: --resume finishes it
    // The rebuilt table accepts the new status and still enforces its foreign keys.
    expect(store.markModelPruned('done-run', 'm1', { metrics: [] })).toBe(false); // done is final
    expect(() => store.addModels('ghost', [{ modelId: 'x', generation: 0, arch: {} }])).toThrow(/no such run/);
    store.close();
  });

  it('records pruned models with their partial curve, as final and not failed', () => {
    const store = Store.open(':memory:');
    store.createRun({ id: 'r', config: {}, seed: 1, dataRef: 'iris', dataChecksum: 'c', codeVersion: 'v' });
    store.addModels('r', [{ modelId: 'p', generation: 0, arch: {} }]);
    store.markModelRunning('r', 'p');
    const curve = [{ epoch: 1, loss: 1.5, accuracy: 0.3, valLoss: 1.6, valAccuracy: 0.31, lr: 0.01, ms: 4 }];
    expect(store.markModelPruned('r', 'p', { metrics: curve, valAccuracy: 0.31, worker: 'w' })).toBe(true);
    expect(store.getModel('r', 'p')).toMatchObject({ status: 'pruned', metrics: curve, valAccuracy: 0.31, error: null });
    expect(store.countModels('r')).toMatchObject({ pruned: 1, failed: 0 });
    expect(store.markModelRunning('r', 'p')).toBe(false); // final: a resume does not train it again
    expect(store.resetRunningModels('r')).toBe(0);
    store.close();
  });

  it('refuses non-finite fitness parts by name', () => {
    const store = Store.open(':memory:');
    store.createRun({ id: 'r', config: {}, seed: 1, dataRef: 'iris', dataChecksum: 'c', codeVersion: 'v' });
    store.addModels('r', [{ modelId: 'm', generation: 0, arch: {} }]);
    expect(() => store.setFitness('r', 'm', 0.5, { accuracy: Number.NaN })).toThrow(/fitness part "accuracy" must be a finite number/);
    expect(() => store.setFitness('r', 'ghost', 0.5, {})).toThrow(/no model ghost/);
    store.close();
  });
});

describe('migration 3: paused models', () => {
  const noPredictions = { valProbs: new Float32Array(0), valMask: new Uint8Array(0), numClasses: 3 };

  it('keeps a version-2 database whole (fitness parts included) and accepts the paused status', () => {
    const path = join(dir, 'v2.db');
    const db = new Database(path);
    db.pragma('foreign_keys = ON');
    migrate(db, () => 1, MIGRATIONS.slice(0, 2));
    db.prepare(`INSERT INTO runs (id, name, status, config, seed, data_ref, data_checksum, code_version, created_at) VALUES ('r', 'a', 'running', '{}', 1, 'iris', 'c', 'v', 1)`).run();
    db.prepare(`INSERT INTO models (run_id, model_id, generation, arch, status, created_at, updated_at, fitness, fitness_parts) VALUES ('r', 'm1', 0, '{}', 'done', 1, 2, 0.5, '{"gain":0.5}')`).run();
    db.prepare(`INSERT INTO models (run_id, model_id, generation, arch, status, created_at, updated_at) VALUES ('r', 'm2', 0, '{}', 'pending', 1, 2)`).run();
    db.prepare(`INSERT INTO weights VALUES ('r', 'm1', 'loom', ?)`).run(Buffer.from([4, 5]));
    db.close();
    const store = Store.open(path);
    expect(store.schemaVersions()).toEqual([1, 2, 3]);
    expect(store.getModel('r', 'm1')).toMatchObject({ status: 'done', fitness: 0.5, fitnessParts: { gain: 0.5 } });
    expect(store.getWeights('r', 'm1')?.bytes).toEqual(new Uint8Array([4, 5])); // not cascaded away by the rebuild
    const curve = [{ epoch: 2, loss: 0.5, accuracy: 0.8, valLoss: 0.6, valAccuracy: 0.79, lr: 0.01, ms: 4 }];
    expect(store.markModelPaused('r', 'm2', { metrics: curve, valAccuracy: 0.79, epoch: 2, weights: new Uint8Array([1]), state: new Uint8Array([2, 3]), ...noPredictions })).toBe(true);
    expect(store.countModels('r')).toMatchObject({ done: 1, paused: 1 });
    store.close();
  });

  it('keeps a paused model with what it resumes from, records its promotion, and frees the state once it has ended', () => {
    const store = Store.open(':memory:');
    store.createRun({ id: 'r', config: {}, seed: 1, dataRef: 'iris', dataChecksum: 'c', codeVersion: 'v' });
    store.addModels('r', ['a', 'b', 'c'].map((modelId) => ({ modelId, generation: 0, arch: {} })));
    const curve = [{ epoch: 2, loss: 0.5, accuracy: 0.8, valLoss: 0.6, valAccuracy: 0.79, lr: 0.01, ms: 4 }];
    // Validation predictions at the pause: 2 samples × 3 classes, distinct per model.
    const predictions = (state: number[]) => ({ valProbs: new Float32Array([0.1, 0.7, 0.2, 0.5, 0.25, 0.25].map((p) => p + (state[0] ?? 0) / 100)), valMask: new Uint8Array([1, state.length % 2]), numClasses: 3 });
    const pause = (id: string, state: number[]): boolean =>
      store.markModelPaused('r', id, { metrics: curve, valAccuracy: 0.79, trainMs: 50, epoch: 2, weights: new Uint8Array([9]), state: new Uint8Array(state), ...predictions(state) });
    // Paused in another order than the models were added: listed in the models' order.
    store.markModelRunning('r', 'b');
    expect(pause('b', [1, 2])).toBe(true);
    expect(pause('a', [3])).toBe(true);
    expect(store.getModel('r', 'b')).toMatchObject({ status: 'paused', metrics: curve, valAccuracy: 0.79, trainMs: 50 });
    expect(store.listPausedModels('r')).toEqual([
      { modelId: 'a', epoch: 2, resumable: true, resumeItem: null },
      { modelId: 'b', epoch: 2, resumable: true, resumeItem: null },
    ]);
    expect(store.getPausedState('r', 'b')).toEqual({ weights: new Uint8Array([9]), state: new Uint8Array([1, 2]) });
    expect(store.getPausedState('r', 'c')).toBeUndefined();
    // Their validation predictions come back exactly, in the order asked for.
    const read = store.getPausedPredictions('r', ['b', 'a']);
    expect(read.modelIds).toEqual(['b', 'a']);
    expect([read.numSamples, read.numClasses]).toEqual([2, 3]);
    expect(read.probs).toEqual([predictions([1, 2]).valProbs, predictions([3]).valProbs]);
    expect(read.masks).toEqual([new Uint8Array([1, 0]), new Uint8Array([1, 1])]);
    expect(() => store.getPausedPredictions('r', ['c'])).toThrow(/no paused predictions for model c/);
    // Not final: a crash while it waits leaves it paused; promoted, it runs again.
    expect(store.resetRunningModels('r')).toBe(0);
    store.markModelPromoted('r', 'b', 7);
    expect(() => store.markModelPromoted('r', 'b', 8)).toThrow(/not a paused model waiting for promotion/);
    expect(() => store.markModelPromoted('r', 'c', 8)).toThrow(/not a paused model waiting for promotion/);
    expect(store.markModelRunning('r', 'b')).toBe(true);
    store.releasePausedState('r', 'b');
    expect(store.listPausedModels('r')[1]).toEqual({ modelId: 'b', epoch: 2, resumable: false, resumeItem: 7 });
    expect(store.getPausedState('r', 'b')).toBeUndefined();
    // A final model is not paused again.
    expect(store.markModelPruned('r', 'a', { metrics: curve })).toBe(true);
    expect(pause('a', [4])).toBe(false);
    expect(() => store.markModelPaused('r', 'c', { metrics: curve, epoch: 0, weights: new Uint8Array(1), state: new Uint8Array(1), ...noPredictions })).toThrow(/pause point must be a positive number/);
    expect(() => store.markModelPaused('r', 'c', { metrics: curve, epoch: 2, weights: new Uint8Array(1), state: new Uint8Array(1), valProbs: new Float32Array(5), valMask: new Uint8Array(2), numClasses: 3 })).toThrow(/hold 5 numbers, expected 2 samples × 3 classes/);
    store.close();
  });
});
