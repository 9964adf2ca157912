import { lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportsDir, graftFileName, graftStoredEnsemble } from '../../src/dashboard/export.js';
import { loadDataset, splitTensors } from '../../src/data/index.js';
import { preprocessingFor } from '../../src/data/preprocessing.js';
import { predict } from '../../src/engine/eval.js';
import { decodeModels, pickModel } from '../../src/engine/io/model.js';
import { graftEnsemble } from '../../src/ensemble/graft.js';
import { graftMembers, graftRun, loadRunModel, mergeRepeatedMembers } from '../../src/ensemble/pipeline.js';
import { Store } from '../../src/store/store.js';
import { buildFixture, FINISHED, type Fixture } from '../dashboard/fixture.js';
import { buildApp } from '../dashboard/helper.js';

/**
 * One graft and one safe write: the dashboard's graft, `loom graft` and the end of a search all graft through
 * pipeline.graftMembers and write through io/files.writeFileReplacing. The run is the dashboard's iris fixture
 * (real search networks stored in a real Store).
 */

let fx: Fixture;
let app: FastifyInstance;
beforeAll(async () => {
  fx = buildFixture();
  app = await buildApp({ dbPath: fx.dbPath, pollMs: 20 });
});
afterAll(async () => {
  await app.close();
  fx.writer.close();
  rmSync(fx.dir, { recursive: true, force: true });
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
/** The fixture run's data: iris, split seed 0 (its stored config). */
const data = () => loadDataset('iris', { splitSeed: 0 });

describe('one graft for every caller', () => {
  it('merges repeated members into summed weights, in first-appearance order', () => {
    expect(mergeRepeatedMembers(['b', 'a', 'b', 'c', 'a'], [0.1, 0.2, 0.3, 0.15, 0.25])).toEqual({ members: ['b', 'a', 'c'], weights: [0.4, 0.45, 0.15] });
    expect(() => mergeRepeatedMembers(['a'], [])).toThrow(/1 members but 0 weights/);
  });

  it('a repeated member gives the outputs the old unmerged graft gave, with one branch per distinct member', () => {
    const [a, b] = fx.finished.map((m) => m.modelId) as [string, string];
    const members = [a, b, a];
    const weights = [0.25, 0.5, 0.25];
    const merged = graftMembers(fx.writer, FINISHED, members, weights);
    expect(merged.members).toEqual([a, b]);
    expect(merged.weights).toEqual([0.5, 0.5]);
    // What graftRun did before: one branch per listed member, each with its own weight.
    const old = graftEnsemble(members.map((id, k) => ({ network: loadRunModel(fx.writer, FINISHED, id), weight: weights[k] as number, modelId: id })));
    const x = splitTensors(data(), data().test).x;
    expect(maxDiff(predict(merged.network, x).data, predict(old, x).data)).toBeLessThan(1e-6);
    expect(merged.network.paramCount()).toBeLessThan(old.paramCount());
  });

  it('the dashboard\'s stored-ensemble graft and graftRun give the same network, members, weights and preprocessing', () => {
    const ensemble = fx.writer.listEnsembles(FINISHED).find((e) => e.id === fx.ensembleId);
    if (!ensemble) throw new Error('fixture has no ensemble');
    const fromDashboard = pickModel(decodeModels(graftStoredEnsemble(fx.writer, ensemble)));
    const outcome = graftRun(fx.writer, FINISHED, { ensembleId: ensemble.id, dataset: data() });
    const x = splitTensors(data(), data().val).x;
    expect(maxDiff(predict(fromDashboard.network, x).data, predict(outcome.network, x).data)).toBe(0);
    expect(fromDashboard.metadata.members).toEqual(outcome.members);
    expect(fromDashboard.metadata.weights).toEqual(outcome.weights);
    expect(fromDashboard.preprocessing).toEqual(outcome.preprocessing);
    expect(outcome.preprocessing).toEqual(preprocessingFor(data()));
  });
});

describe('dashboard exports', () => {
  const post = (dtype = 'float32') => app.inject({ method: 'POST', url: `/api/runs/${FINISHED}/ensembles/${fx.ensembleId}/graft`, payload: { dtype } });

  it('replaces a symlink planted at the export\'s name and never writes through it', async () => {
    const outside = join(fx.dir, 'outside-secret.txt');
    writeFileSync(outside, 'do not touch');
    const folder = exportsDir(fx.dbPath);
    mkdirSync(folder, { recursive: true });
    const target = join(folder, graftFileName(FINISHED, fx.ensembleId));
    symlinkSync(outside, target);
    const res = await post();
    expect(res.statusCode, res.body).toBe(200);
    expect(readFileSync(outside, 'utf8')).toBe('do not touch');
    expect(lstatSync(target).isSymbolicLink()).toBe(false);
    const model = pickModel(decodeModels(readFileSync(target)));
    expect(model.preprocessing?.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(readdirSync(folder)).toEqual([graftFileName(FINISHED, fx.ensembleId)]);
  });

  it('repeated grafts of the same ensemble keep one export row and one file', async () => {
    const before = (await app.inject({ method: 'GET', url: `/api/runs/${FINISHED}/ensembles` })).json().exports.length;
    const first = (await post()).json();
    const second = (await post()).json();
    const third = (await post('float16')).json();
    expect(second.export.id).toBe(first.export.id);
    expect(third.export.id).toBe(first.export.id);
    const store = Store.open(fx.dbPath, { readonly: true });
    try {
      expect(store.listExports(FINISHED)).toHaveLength(Math.max(1, before));
    } finally {
      store.close();
    }
    expect(readdirSync(exportsDir(fx.dbPath))).toEqual([graftFileName(FINISHED, fx.ensembleId)]);
  });
});
