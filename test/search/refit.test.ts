import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { generateConfigs } from '../../src/search/arch.js';
import { parseSearchConfig } from '../../src/search/config.js';
import { meanEpochMs, parseRefit, refitAugments, refitConfigs, refitEpochsWithin, refitId, type RefitCandidate } from '../../src/search/refit.js';

const task = { inputShape: [8, 8], numClasses: 3 };
const configs = generateConfigs(5, task, new Rng(1), { maxBrains: 4, dModels: [8] });
const record = (i: number, valAccuracy: number | null, valLogLoss: number, generation = 0, status = 'done'): RefitCandidate => ({
  modelId: configs[i]!.id,
  arch: configs[i],
  generation,
  status,
  valAccuracy,
  fitnessParts: { valLogLoss },
  metrics: [],
});
/** A stored curve from (epoch, validation accuracy) points. */
const curve = (...points: [number, number][]): { epoch: number; valAccuracy: number }[] => points.map(([epoch, valAccuracy]) => ({ epoch, valAccuracy }));

describe('final refit', () => {
  it('refits the best models by the best-model rule (accuracy, then log-loss), with the refit epochs', () => {
    const done = [record(0, 0.8, 0.5), record(1, 0.9, 0.4), record(2, 0.9, 0.3), record(3, 0.95, 0.6, 0, 'pruned'), record(4, 0.99, 0.1, 3)];
    const out = refitConfigs(done, { models: 2, epochs: 12 }, 3);
    // 3 (pruned) and 4 (an earlier refit generation) are not candidates; 2 beats 1 on log-loss.
    expect(out.map((c) => c.parents)).toEqual([[configs[2]!.id], [configs[1]!.id]]);
    expect(out.map((c) => c.id)).toEqual([refitId(configs[2]!.id), refitId(configs[1]!.id)]);
    for (const c of out) {
      expect(c.epochs).toBe(12);
      expect(c.origin).toBe('refit');
      expect(c.mutations).toEqual([]);
    }
    const { id: _a, name: _na, parents: _p, origin: _o, epochs: _e, mutations: _m, ...rest } = out[0]!;
    const { id: _b, name: _nb, parents: _q, origin: _r, epochs: _f, mutations: _n, ...source } = configs[2]!;
    expect(rest).toEqual(source);
  });

  it('fills the refit from the pruned models that got furthest when too few finished and refits continue their source', () => {
    const models = [
      { ...record(0, 0.97, 0.2), metrics: curve([1, 0.9], [2, 0.97]) },
      // Pruned: 1 early with a high value, 2 and 3 at the same later rung (3 the better there), 4 a later refit's.
      { ...record(1, 0.99, 0.1, 0, 'pruned'), metrics: curve([0.25, 0.99]) },
      { ...record(2, 0.9, 0.3, 0, 'pruned'), metrics: curve([0.25, 0.8], [0.75, 0.9]) },
      { ...record(3, 0.95, 0.3, 0, 'pruned'), metrics: curve([0.25, 0.7], [0.75, 0.95]) },
      { ...record(4, 0.99, 0.1, 3, 'pruned'), metrics: curve([0.25, 0.99], [0.75, 0.99]) },
    ];
    const ids = (n: number): string[] => refitConfigs(models, { models: n, epochs: 8 }, 3, true).map((c) => c.parents[0]!);
    expect(ids(3)).toEqual([0, 3, 2].map((i) => configs[i]!.id));
    expect(ids(5)).toEqual([0, 3, 2, 1].map((i) => configs[i]!.id));
    // Enough finished models: no pruned one is refit.
    expect(ids(1)).toEqual([configs[0]!.id]);
  });

  it('compares finished and pruned models at the furthest point a pruned model reached when refits train from scratch', () => {
    const models = [
      // Finished: 0 strong at epoch 2 (0.97), 1 weak there (0.92) though it finished at 0.94.
      { ...record(0, 0.98, 0.2), metrics: curve([0.25, 0.9], [1, 0.95], [2, 0.97], [4, 0.98]) },
      { ...record(1, 0.94, 0.3), metrics: curve([0.25, 0.7], [1, 0.88], [2, 0.92], [4, 0.94]) },
      // Pruned at epoch 2 (the furthest): 2 at 0.96 (its best up to 2 is the 0.96 at epoch 1), 3 at 0.95.
      { ...record(2, 0.9, 0.3, 0, 'pruned'), metrics: curve([0.25, 0.9], [1, 0.96], [2, 0.955]) },
      { ...record(3, 0.9, 0.3, 0, 'pruned'), metrics: curve([0.25, 0.85], [1, 0.93], [2, 0.95]) },
      // Pruned after a quarter epoch with the highest value there: behind every model that reached epoch 2.
      { ...record(4, 0.99, 0.1, 0, 'pruned'), metrics: curve([0.25, 0.99]) },
    ];
    const ids = (n: number, continues = false): string[] => refitConfigs(models, { models: n, epochs: 8 }, 3, continues).map((c) => c.parents[0]!);
    expect(ids(5)).toEqual([0, 2, 3, 1, 4].map((i) => configs[i]!.id));
    expect(ids(3)).toEqual([0, 2, 3].map((i) => configs[i]!.id));
    // Refits that continue their source keep every finished model first.
    expect(ids(3, true)).toEqual([0, 1, 2].map((i) => configs[i]!.id));
    // Nothing pruned: the best-model rule on the finished models, whatever their curves (1 finished higher, though
    // it was lower at epoch 2).
    const finishedOnly = [models[0]!, { ...models[1]!, valAccuracy: 0.99 }];
    expect(refitConfigs(finishedOnly, { models: 2, epochs: 8 }, 3).map((c) => c.parents[0]!)).toEqual([1, 0].map((i) => configs[i]!.id));
  });

  it('is a config field {models, epochs}, checked by name', () => {
    expect(parseRefit(undefined)).toBeUndefined();
    expect(parseRefit({ models: 3, epochs: 10 })).toEqual({ models: 3, epochs: 10 });
    expect(() => parseRefit({ models: 0, epochs: 10 })).toThrow(/refit.models/);
    expect(() => parseRefit({ models: 2, epochs: 10, seed: 1 })).toThrow(/refit.seed.*unknown field/);
    expect(parseSearchConfig({ refit: { models: 2, epochs: 9 } }).refit).toEqual({ models: 2, epochs: 9 });
    expect(parseSearchConfig({}).refit).toBeUndefined();
    expect(parseSearchConfig({ generator: { dropouts: [0, 0.2], space: 'image' } }).generator).toMatchObject({ dropouts: [0, 0.2], space: 'image' });
  });

  it('cuts the refit to the epochs that fit its minutes, predicted from the epoch times of the models in the search', () => {
    // Epoch times 10, 6, 6 and 4 s on 2 lanes, refits in order to the first free lane: lane 0 takes 10e then 4e, lane 1
    // 6e twice, so e epochs take 14e s: 4 epochs fit a minute (56 s), 5 do not (70 s).
    expect(refitEpochsWithin([10_000, 6_000, 6_000, 4_000], 2, 8, 1)).toBe(4);
    expect(refitEpochsWithin([10_000, 6_000, 6_000, 4_000], 2, 8, 10)).toBe(8);
    // One lane: 26e s; two epochs fit 1 minute. Nothing fits 0.01 minute: one epoch, not none.
    expect(refitEpochsWithin([10_000, 6_000, 6_000, 4_000], 1, 8, 1)).toBe(2);
    expect(refitEpochsWithin([10_000, 6_000, 6_000, 4_000], 2, 8, 0.01)).toBe(1);
    // Mid-epoch checks time only their validation: not an epoch's time.
    expect(meanEpochMs([{ epoch: 0.25, ms: 500 }, { epoch: 1, ms: 9_000 }, { epoch: 2, ms: 11_000 }])).toBe(10_000);
    expect(meanEpochMs([{ epoch: 0.25, ms: 500 }])).toBeNull();

    const timed = (i: number, valAccuracy: number, ms: number): RefitCandidate => ({
      ...record(i, valAccuracy, 0.3),
      metrics: [
        { epoch: 1, valAccuracy: valAccuracy - 0.01, ms },
        { epoch: 2, valAccuracy, ms },
      ],
    });
    const models = [timed(0, 0.9, 10_000), timed(1, 0.95, 6_000), timed(2, 0.8, 6_000), timed(3, 0.85, 4_000), timed(4, 0.7, 60_000)];
    // The four best (1, 0, 3, 2 by validation accuracy): lane 0 takes 6, 4 and 6 s an epoch, lane 1 10 s, so 16e s
    // in all: 3 epochs fit a minute.
    const cut = refitConfigs(models, { models: 4, epochs: 8, minutes: 1 }, 3, false, 2);
    expect(cut.map((c) => c.parents[0])).toEqual([1, 0, 3, 2].map((i) => configs[i]!.id));
    expect(cut.map((c) => c.epochs)).toEqual([3, 3, 3, 3]);
    expect(refitConfigs(models, { models: 4, epochs: 8 }, 3, false, 2).map((c) => c.epochs)).toEqual([8, 8, 8, 8]);
    expect(refitConfigs(models, { models: 4, epochs: 8, minutes: 5 }, 3, false, 2).map((c) => c.epochs)).toEqual([8, 8, 8, 8]);
    // Untimed models (no whole epoch in their curve) leave the refit uncut.
    expect(refitConfigs([record(0, 0.9, 0.3), record(1, 0.8, 0.3)], { models: 2, epochs: 8, minutes: 0.01 }, 3, false, 2).map((c) => c.epochs)).toEqual([8, 8]);
  });

  it('gives refit k the shift shifts[k mod length] (augmentation), whole numbers of pixels, never with inherit "all"', () => {
    const done = [record(0, 0.8, 0.5), record(1, 0.9, 0.4), record(2, 0.9, 0.3)];
    expect(parseRefit({ models: 2, epochs: 12, shifts: [0, 2] })).toEqual({ models: 2, epochs: 12, shifts: [0, 2] });
    expect(() => parseRefit({ models: 2, epochs: 12, shifts: [1.5] })).toThrow(/refit.shifts.*whole numbers of pixels.*got \[1.5\]/);
    expect(() => parseRefit({ models: 2, epochs: 12, shifts: [65] })).toThrow(/refit.shifts/);
    expect(() => parseRefit({ models: 2, epochs: 12, shifts: [] })).toThrow(/refit.shifts.*non-empty/);
    expect(() => parseRefit({ models: 2, epochs: 12, shifts: 2 })).toThrow(/refit.shifts/);
    // Ranked 2, 1, 0: the list is cycled over the refits in that order.
    expect(refitConfigs(done, { models: 3, epochs: 12, shifts: [0, 2] }, 3).map((c) => [c.parents[0], c.shift])).toEqual([
      [configs[2]!.id, 0],
      [configs[1]!.id, 2],
      [configs[0]!.id, 0],
    ]);
    expect(refitConfigs(done, { models: 2, epochs: 12, shifts: [3] }, 3).map((c) => c.shift)).toEqual([3, 3]);
    // Without it a refit keeps its source's own gene (none here).
    expect(refitConfigs(done, { models: 2, epochs: 12 }, 3).map((c) => c.shift)).toEqual([undefined, undefined]);
    expect(() => parseSearchConfig({ refit: { models: 2, epochs: 4, shifts: [0, 2] }, inherit: 'all' })).toThrow(/refit.shifts.*inherit "all"/);
    expect(parseSearchConfig({ refit: { models: 2, epochs: 4, shifts: [0] }, inherit: 'all' }).refit).toEqual({ models: 2, epochs: 4, shifts: [0] });
    expect(parseSearchConfig({ refit: { models: 2, epochs: 4, shifts: [2] }, inherit: 'children' }).refit).toEqual({ models: 2, epochs: 4, shifts: [2] });
  });

  it('gives refit k the rotation rotations[k mod length], cycled apart from the shifts, never with inherit "all"', () => {
    const done = [record(0, 0.8, 0.5), record(1, 0.9, 0.4), record(2, 0.9, 0.3)];
    expect(parseRefit({ models: 4, epochs: 12, rotations: [0, 12.5] })).toEqual({ models: 4, epochs: 12, rotations: [0, 12.5] });
    expect(() => parseRefit({ models: 2, epochs: 12, rotations: [181] })).toThrow(/refit.rotations.*degrees in \[0, 180\].*got \[181\]/);
    expect(() => parseRefit({ models: 2, epochs: 12, rotations: [] })).toThrow(/refit.rotations.*non-empty/);
    expect(() => parseRefit({ models: 2, epochs: 12, rotations: ['15'] })).toThrow(/refit.rotations/);
    // Ranked 2, 1, 0; shifts [0, 2] and rotations [0, 0, 15] cycle on their own: none, shift, rotation.
    expect(refitConfigs(done, { models: 3, epochs: 12, shifts: [0, 2], rotations: [0, 0, 15] }, 3).map((c) => [c.parents[0], c.shift, c.rotation])).toEqual([
      [configs[2]!.id, 0, 0],
      [configs[1]!.id, 2, 0],
      [configs[0]!.id, 0, 15],
    ]);
    expect(refitConfigs(done, { models: 2, epochs: 12 }, 3).map((c) => c.rotation)).toEqual([undefined, undefined]);
    expect(refitAugments({ models: 2, epochs: 4, rotations: [0, 15] })).toBe('refit.rotations');
    expect(refitAugments({ models: 2, epochs: 4, shifts: [0], rotations: [0] })).toBeNull();
    expect(() => parseSearchConfig({ refit: { models: 2, epochs: 4, rotations: [0, 15] }, inherit: 'all' })).toThrow(/refit.rotations.*inherit "all"/);
  });

  it('gives refit k the elastic distortion elastics[k mod length], cycled apart from the other augmentations', () => {
    const done = [record(0, 0.8, 0.5), record(1, 0.9, 0.4), record(2, 0.9, 0.3)];
    expect(parseRefit({ models: 4, epochs: 12, elastics: [0, 34] })).toEqual({ models: 4, epochs: 12, elastics: [0, 34] });
    expect(() => parseRefit({ models: 2, epochs: 12, elastics: [-2] })).toThrow(/refit.elastics.*pixels in \[0, 1000\].*got \[-2\]/);
    // Ranked 2, 1, 0; shifts [0, 2] and elastics [0, 0, 34] cycle on their own.
    expect(refitConfigs(done, { models: 3, epochs: 12, shifts: [0, 2], elastics: [0, 0, 34] }, 3).map((c) => [c.shift, c.elastic])).toEqual([
      [0, 0],
      [2, 0],
      [0, 34],
    ]);
    expect(refitAugments({ models: 2, epochs: 4, elastics: [0, 34] })).toBe('refit.elastics');
    expect(() => parseSearchConfig({ refit: { models: 2, epochs: 4, elastics: [34] }, inherit: 'all' })).toThrow(/refit.elastics.*inherit "all"/);
  });

  it('parses refit minutes and names a bad one', () => {
    expect(parseRefit({ models: 4, epochs: 8, minutes: 2.5 })).toEqual({ models: 4, epochs: 8, minutes: 2.5 });
    expect(() => parseRefit({ models: 4, epochs: 8, minutes: 0 })).toThrow(/refit.minutes.*got 0/);
    expect(() => parseRefit({ models: 4, epochs: 8, minutes: '5' })).toThrow(/refit.minutes/);
  });
});
