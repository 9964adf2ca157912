import { describe, expect, it } from 'vitest';
import type { EpochMetrics } from '../../src/engine/train/options.js';
import { createPruner } from '../../src/search/pruners.js';
import { SteadyModels, type Slot } from '../../src/search/steady.js';
import type { ModelRecord, ModelStatus } from '../../src/store/types.js';

/**
 * The steady search's bookkeeping on a hand-worked run: two lanes, 4 epochs, ASHA from a quarter epoch (η = 3, two
 * values before a rung stops anything) and promotion at epoch 2. Every figure below is worked out by hand from the
 * rules in steady.ts and pruners.ts (costs: 0.2 + epochs trained; a first segment that paused costs 0.2 + 2).
 */

const point = (epoch: number, valAccuracy: number): EpochMetrics => ({ epoch, loss: 1, accuracy: Number.NaN, valAccuracy, lr: 0.001, ms: 1 });

function record(modelId: string, status: ModelStatus, curve: readonly (readonly [number, number])[] = []): ModelRecord {
  return {
    runId: 'r',
    modelId,
    generation: 0,
    arch: {},
    parentIds: [],
    seed: 1,
    status,
    attempts: 0,
    error: null,
    worker: null,
    createdAt: 0,
    updatedAt: 0,
    metrics: curve.map(([e, v]) => point(e, v)),
    valAccuracy: null,
    testAccuracy: null,
    paramCount: null,
    trainMs: null,
    fitness: null,
    fitnessParts: null,
  };
}

function book(): SteadyModels {
  return new SteadyModels({
    lanes: 2,
    training: { epochs: 4, batchSize: 32, weightDecay: 0 },
    pruner: createPruner({ kind: 'asha', minEpochs: 0.25, minSamples: 2, promote: true }),
    promotionRung: 2,
    eta: 3,
    folds: 1,
    earlyStopping: false,
  });
}

const next = (b: SteadyModels): Slot => {
  const slot = b.schedule.next();
  if (!slot) throw new Error('no slot decided');
  return slot;
};

/** Places a model (its stored config no longer validates, so it trains the run's 4 epochs), then ends it as `ended`. */
function run(b: SteadyModels, id: string, ended: ModelRecord): { slot: Slot; item: number } {
  const slot = next(b);
  const item = b.place(slot, record(id, 'running'), null);
  b.update(b.item(item).model, ended);
  b.finish(item);
  return { slot, item };
}

describe('SteadyModels: a steady search with promotion, worked by hand', () => {
  it('costs, thresholds, breeding pools and promotions follow the rules', () => {
    const b = book();
    const first = run(b, 'a', record('a', 'paused', [[0.25, 0.8], [0.75, 0.9], [1, 0.92], [2, 0.95]]));
    expect(first.slot).toEqual({ lane: 0, start: 0 });
    expect(b.pauseOf(0)).toBe(2);
    expect(b.costOf(first.item)).toBeCloseTo(2.2, 12);
    const second = run(b, 'b', record('b', 'pruned', [[0.25, 0.5]]));
    expect(second.slot).toEqual({ lane: 1, start: 0 });
    expect(b.costOf(second.item)).toBeCloseTo(0.45, 12);

    // Lane 1 is free at 0.45: only the pruned model ended by then, so nothing to breed from or promote.
    expect(b.schedule.next()).toEqual({ lane: 1, start: 0.45 });
    expect(b.breedingPool(0.45)).toEqual({ models: [], atPause: new Map() });
    expect(b.promotionAt(0.45)).toBeNull();
    run(b, 'c', record('c', 'paused', [[0.25, 0.85], [0.75, 0.93], [1, 0.95], [2, 0.97]]));

    // Lane 0 at 2.2: model a has paused (value 0.95 at the rung); one value at the rung, the top ⌊1/3⌋ = 0 go on.
    expect(b.breedingPool(2.2)).toEqual({ models: [0], atPause: new Map([[0, 0.95]]) });
    expect(b.promotionAt(2.2)).toBeNull();
    const d = run(b, 'd', record('d', 'paused', [[0.25, 0.82], [0.75, 0.91], [1, 0.9], [2, 0.9]]));
    expect(d.slot).toEqual({ lane: 0, start: 2.2 });
    // Its rungs came from a and b: at 0.25 the top third of {0.8, 0.5} is 0.8; at 0.75 one value, so recorded only
    // (threshold 0); none at the promotion rung, where promotion decides.
    expect(b.thresholdsOf(3)).toEqual([
      { epoch: 0.25, minValAccuracy: 0.8 },
      { epoch: 0.75, minValAccuracy: 0 },
    ]);
    // Before any progress it could end at its first rung that can stop it: 0.2 + 0.25.
    expect(b.boundAt(d.item, 0)).toBeCloseTo(0.45, 12);
    expect(b.boundAt(d.item, 0.25)).toBeCloseTo(2.2, 12);

    // Lane 1 at 2.65 (c ended): values 0.95 and 0.97 at the rung, ⌊2/3⌋ = 0 go on.
    expect(b.promotionAt(2.65)).toBeNull();
    run(b, 'e', record('e', 'paused', [[0.25, 0.9], [0.75, 0.92], [1, 0.93], [2, 0.93]]));

    // Lane 0 at 4.4 (d ended): three values, the top one (c, 0.97) goes on.
    const slot = next(b);
    expect(slot).toEqual({ lane: 0, start: 4.4 });
    expect(b.promotionAt(slot.start)).toBe(2);
    const resumed = b.placeResumed(slot, 2);
    expect(b.item(resumed)).toEqual({ model: 2, resumed: true });
    expect(b.boundAt(resumed, 0)).toBeCloseTo(2.2, 12);
    expect(b.promotions).toBe(1);
    b.update(2, record('c', 'done', [[0.25, 0.85], [0.75, 0.93], [1, 0.95], [2, 0.97], [3, 0.975], [4, 0.98]]));
    b.finish(resumed);
    // The first segment still cost the epochs to the pause; the resumed one the two after it.
    expect(b.costOf(2)).toBeCloseTo(2.2, 12);
    expect(b.costOf(resumed)).toBeCloseTo(2.2, 12);

    // Until its resumed segment ends (4.4 + 2.2), c breeds as it was at its pause; from then on, as a finished model.
    const end = b.schedule.endOf(resumed);
    expect(end).toBeCloseTo(6.6, 12);
    const during = b.breedingPool(6);
    expect(during.models).toEqual([0, 2, 3, 4]);
    expect(during.atPause.get(2)).toBe(0.97);
    const after = b.breedingPool(end);
    expect(after.models).toEqual([0, 2, 3, 4]);
    expect(after.atPause.has(2)).toBe(false);
    // With one promoted of the four values at the rung (⌊4/3⌋ = 1), no other goes on.
    expect(b.promotionAt(end)).toBeNull();
    expect(b.membersOf(0)).toEqual(['a', 'b', 'c', 'd', 'e']);

    // A later model better than every value at the rung still waits: of the five values there, ⌊5/3⌋ = 1 may go on,
    // and one has.
    const f = run(b, 'f', record('f', 'paused', [[0.25, 0.9], [0.75, 0.95], [1, 0.97], [2, 0.99]]));
    expect(f.slot.lane).toBe(1);
    expect(f.slot.start).toBeCloseTo(4.85, 12);
    expect(b.promotionAt(b.schedule.endOf(f.item))).toBeNull();
  });

  it('charges a replayed first segment as paused when the model was promoted before, whatever it became', () => {
    const b = new SteadyModels(
      { lanes: 1, training: { epochs: 4, batchSize: 32, weightDecay: 0 }, pruner: createPruner({ kind: 'asha', minEpochs: 0.25, minSamples: 2, promote: true }), promotionRung: 2, eta: 3, folds: 1, earlyStopping: false },
      new Set(['a']),
    );
    const item = b.place({ lane: 0, start: 0 }, record('a', 'done', [[0.25, 0.9], [1, 0.95], [2, 0.96], [4, 0.98]]), null);
    expect(b.costOf(item)).toBeCloseTo(2.2, 12);
    const other = new SteadyModels({ lanes: 1, training: { epochs: 4, batchSize: 32, weightDecay: 0 }, pruner: createPruner({ kind: 'none' }), promotionRung: null, eta: 3, folds: 1, earlyStopping: false });
    const unpaused = other.place({ lane: 0, start: 0 }, record('a', 'done', [[1, 0.95], [2, 0.96], [3, 0.97], [4, 0.98]]), null);
    expect(other.pauseOf(0)).toBeNull();
    expect(other.costOf(unpaused)).toBeCloseTo(4.2, 12);
  });
});
