import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, predict } from '../../src/engine/eval.js';
import { decodeModels, encodeLoomBundle, encodeLoomModel, pickModel } from '../../src/engine/io/index.js';
import type { DenseSpec } from '../../src/engine/layers/dense.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { graftEnsemble, graftHives, trainHiveGraft } from '../../src/ensemble/graft.js';
import { combineProbabilities, scoreRows } from '../../src/ensemble/select.js';
import type { LoadedDataset } from '../../src/data/index.js';
import { asTensor, blobs, trainMembers, type TrainedMember } from './fixture.js';

let data: LoadedDataset;
let members: TrainedMember[];

beforeAll(() => {
  data = blobs();
  members = trainMembers(data, 3);
});

const dense = (units: number): DenseSpec => ({ type: 'dense', units });
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

describe('ensemble graft', () => {
  it('predicts exactly the offline weighted ensemble (1e-5) on the test split', () => {
    const weights = [0.5, 0.3, 0.2];
    const graft = graftEnsemble(members.map((m, k) => ({ network: m.network, weight: weights[k] as number, modelId: m.config.id })));
    const test = asTensor(data, data.test);
    const offline = combineProbabilities(members.map((m) => m.test.probabilities), [0, 1, 2], weights);
    const out = predict(graft, test.x).data;
    expect(out.length).toBe(offline.length);
    expect(maxDiff(out, offline)).toBeLessThan(1e-5);
    // evaluate() sees a softmax ending: probabilities are taken as they are, accuracy equals the offline one
    const ev = evaluate(graft, test);
    expect(maxDiff(ev.probabilities, offline)).toBeLessThan(1e-5);
    expect(ev.accuracy).toBe(scoreRows(offline, test.y, data.numClasses).accuracy);
    expect(graft.modelId).toBe('ensemble(m0+m1+m2)');
  });

  it('is frozen, unnormalized weights are normalized, and it survives a Loom file and a LOOM bundle', () => {
    const graft = graftEnsemble(members.slice(0, 2).map((m) => ({ network: m.network, weight: 3 })));
    expect(graft.spec.frozen).toEqual([0, 1]);
    expect(graft.trainableParams()).toEqual([]);
    const x = asTensor(data, data.val).x;
    const offline = combineProbabilities(members.map((m) => m.val.probabilities), [0, 1], [0.5, 0.5]);
    const out = predict(graft, x).data;
    expect(maxDiff(out, offline)).toBeLessThan(1e-5);
    const fromFile = pickModel(decodeModels(encodeLoomModel(graft))).network;
    expect(maxDiff(predict(fromFile, x).data, out)).toBe(0);
    const fromBundle = pickModel(decodeModels(new TextEncoder().encode(encodeLoomBundle([{ id: 'g', network: graft }])))).network;
    expect(maxDiff(predict(fromBundle, x).data, out)).toBeLessThan(1e-6);
  });

  it('drops a member\'s final plain softmax so its probabilities are not softmaxed twice', () => {
    const rng = new Rng(1);
    const probsNet = new Network(sequentialNetworkSpec([4], [dense(3), { type: 'softmax' }]), rng);
    const logitNet = new Network(sequentialNetworkSpec([4], [dense(3)]), rng);
    const x = asTensor(data, data.val).x;
    const graft = graftEnsemble([{ network: probsNet, weight: 1 }, { network: logitNet, weight: 1 }]);
    const p0 = evaluate(probsNet, asTensor(data, data.val)).probabilities;
    const p1 = evaluate(logitNet, asTensor(data, data.val)).probabilities;
    expect(maxDiff(predict(graft, x).data, combineProbabilities([p0, p1], [0, 1], [0.5, 0.5]))).toBeLessThan(1e-5);
  });

  it('refuses members with different inputs or classes, or bad weights, saying why', () => {
    const rng = new Rng(2);
    const other = new Network(sequentialNetworkSpec([5], [dense(3)]), rng);
    other.modelId = 'wide';
    const classes = new Network(sequentialNetworkSpec([4], [dense(4)]), rng);
    classes.modelId = 'four';
    const m0 = { network: (members[0] as TrainedMember).network, weight: 1, modelId: 'm0' };
    expect(() => graftEnsemble([m0, { network: other, weight: 1 }])).toThrow(/different inputs: m0 takes \[4\], wide takes \[5\]/);
    expect(() => graftEnsemble([m0, { network: classes, weight: 1 }])).toThrow(/different classes: m0 has 3, four has 4/);
    expect(() => graftEnsemble([m0, { ...m0, weight: 0 }])).toThrow(/weights must be positive/);
    expect(() => graftEnsemble([])).toThrow(/no networks/);
    expect(() => graftHives([m0.network, other])).toThrow(/different inputs/);
    expect(() => graftHives([classes])).toThrow(/no hive/);
  });
});

describe('hive graft', () => {
  it('deep-copies the hives into a frozen super-hive and trains a fresh merger and head to real accuracy', () => {
    const nets = members.map((m) => m.network);
    const graft = graftHives(nets, { mergerUnits: 16, seed: 3 }, members.map((m) => m.config.id));
    expect(graft.layers[0]?.spec.type).toBe('parallel');
    expect(graft.isFrozen(0)).toBe(true);
    expect(graft.trainableParams().every((p) => !p.name.startsWith('L0.'))).toBe(true);
    // branch k holds member k's reshape/adapter/hive params, copied
    const byName = new Map(graft.params().map((p) => [p.name, p]));
    const src = nets[1]?.params().find((p) => p.name.startsWith('L2.')); // member 1's hive (after reshape, adapter)
    expect(src).toBeDefined();
    const copy = byName.get(src!.name.replace(/^L2\./, 'L0.branch.1.step.2.'));
    expect(copy && [...copy.value]).toEqual([...src!.value]);
    expect(copy!.value).not.toBe(src!.value);
    const frozenBefore = graft.params().filter((p) => p.name.startsWith('L0.')).map((p) => Float32Array.from(p.value));
    const sourceBefore = nets.map((n) => n.params().map((p) => Float32Array.from(p.value)));

    const trained = trainHiveGraft(graft, data, { epochs: 8, seed: 1, learningRate: 0.01 });
    expect(trained.history).toHaveLength(8);
    expect(trained.testAccuracy).toBeGreaterThan(0.8);
    expect(trained.valAccuracy).toBeGreaterThan(0.8);
    graft.params().filter((p) => p.name.startsWith('L0.')).forEach((p, i) => expect([...p.value]).toEqual([...(frozenBefore[i] as Float32Array)]));
    nets.forEach((n, k) => n.params().forEach((p, i) => expect([...p.value]).toEqual([...(sourceBefore[k]?.[i] as Float32Array)])));
  });
});
