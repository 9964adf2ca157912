import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng.js';
import { costLowerBound, MODEL_OVERHEAD_EPOCHS, modelCost, SteadySchedule, type Slot } from '../../src/search/steady.js';

/**
 * The steady schedule decided conservatively, as the coordinator does (jobs end in whatever real order, progress
 * raises their bounds), must equal the schedule full knowledge of every model's cost gives.
 */

interface Plan {
  /** Virtual cost of model k, known only once it ends. */
  readonly costs: number[];
  /** The stop points a model passes before it ends (its progress reports), in virtual cost. */
  readonly checkpoints: number[][];
}

function randomPlan(rng: Rng, n: number): Plan {
  const points = [0.25, 0.75, 2, 4];
  const costs: number[] = [];
  const checkpoints: number[][] = [];
  for (let k = 0; k < n; k++) {
    const stopAt = points[rng.int(points.length)] as number;
    costs.push(MODEL_OVERHEAD_EPOCHS + stopAt);
    checkpoints.push(points.filter((p) => p < stopAt).map((p) => MODEL_OVERHEAD_EPOCHS + p));
  }
  return { costs, checkpoints };
}

/** Full knowledge: each model's cost is known the moment it is placed. */
function ideal(lanes: number, plan: Plan): { slots: Slot[]; ended: number[][] } {
  const s = new SteadySchedule(lanes);
  const slots: Slot[] = [];
  const ended: number[][] = [];
  for (let k = 0; k < plan.costs.length; k++) {
    const slot = s.next(true) as Slot;
    ended.push(s.endedBy(slot.start));
    slots.push(slot);
    s.finish(s.add(slot, plan.costs[k] as number), plan.costs[k] as number);
  }
  return { slots, ended };
}

/**
 * Conservative: lanes run real jobs whose real durations are random; a model's next stop point is its lower bound
 * until it reports passing it. Returns the slots and ended-by sets it decided.
 */
function conservative(lanes: number, plan: Plan, rng: Rng): { slots: Slot[]; ended: number[][] } {
  const s = new SteadySchedule(lanes);
  const slots: Slot[] = [];
  const ended: number[][] = [];
  // Pending real events: [time, model, kind, value]
  const events: { time: number; k: number; kind: 'progress' | 'end'; cost: number }[] = [];
  let now = 0;
  const n = plan.costs.length;
  for (;;) {
    for (;;) {
      if (s.size >= n) break;
      const slot = s.next();
      if (!slot) break;
      const k = s.size;
      ended.push(s.endedBy(slot.start));
      slots.push(slot);
      const checkpoints = plan.checkpoints[k] as number[];
      s.add(slot, Math.min(...checkpoints, plan.costs[k] as number));
      // Real time runs at a random speed per model (an architecture's cost), unknown to the schedule.
      const speed = rng.uniform(0.3, 3);
      for (const c of checkpoints) events.push({ time: now + c * speed, k, kind: 'progress', cost: c });
      events.push({ time: now + (plan.costs[k] as number) * speed, k, kind: 'end', cost: plan.costs[k] as number });
    }
    if (events.length === 0) break;
    events.sort((a, b) => a.time - b.time || a.k - b.k);
    const e = events.shift() as (typeof events)[number];
    now = e.time;
    if (e.kind === 'end') s.finish(e.k, e.cost);
    else {
      // Passed this stop point: it cannot end before the next one.
      const next = [...(plan.checkpoints[e.k] as number[]), plan.costs[e.k] as number].filter((c) => c > e.cost);
      s.raiseLowerBound(e.k, Math.min(...next));
    }
  }
  return { slots, ended };
}

describe('steady schedule', () => {
  it('decides, whatever order jobs end in, exactly the slots and the ended-by sets that full knowledge gives', () => {
    for (let trial = 0; trial < 40; trial++) {
      const rng = new Rng(100 + trial);
      const lanes = 1 + rng.int(4);
      const plan = randomPlan(rng, 30);
      const want = ideal(lanes, plan);
      for (let order = 0; order < 3; order++) {
        const got = conservative(lanes, plan, new Rng(1000 * trial + order));
        expect(got.slots).toEqual(want.slots);
        expect(got.ended).toEqual(want.ended);
      }
    }
  });

  it('gives each model the lane free first, breaks ties to the lower lane, and counts only models ended by its start', () => {
    const s = new SteadySchedule(2);
    const a = s.add(s.next() as Slot, 1);
    expect(s.slot(a)).toEqual({ lane: 0, start: 0 });
    const b = s.add(s.next() as Slot, 1);
    expect(s.slot(b)).toEqual({ lane: 1, start: 0 });
    // Both lanes busy: nothing to decide.
    expect(s.next()).toBeNull();
    s.finish(b, 2);
    // Lane 1 is free at 2, but model a (lane 0) could still end by then: wait.
    expect(s.next()).toBeNull();
    s.raiseLowerBound(a, 2);
    // a could end exactly at 2: it would count among what the next model is bred from, so still wait.
    expect(s.next()).toBeNull();
    s.raiseLowerBound(a, 2.5);
    expect(s.next()).toEqual({ lane: 1, start: 2 });
    expect(s.endedBy(2)).toEqual([b]);
    s.finish(a, 2);
    // Equal clocks: the lower lane.
    expect(s.next()).toEqual({ lane: 0, start: 2 });
    expect(s.endedBy(2)).toEqual([a, b]);
  });

  it('replays models that exist while earlier ones are still unfinished (a resumed run)', () => {
    const s = new SteadySchedule(2);
    const a = s.add(s.next(true) as Slot, 0.5);
    const b = s.add(s.next(true) as Slot, 0.5);
    s.finish(b, 1);
    // Model c was placed on lane 1 while a trained; a is pending again after the crash.
    expect(s.next(true)).toEqual({ lane: 1, start: 1 });
    expect(s.next()).toBeNull();
    expect(s.isFinished(a)).toBe(false);
  });

  it('bounds a training model by its next possible stop, and charges a failure as a full training', () => {
    const stops = [
      { epoch: 0.25, minValAccuracy: 0.5 },
      { epoch: 0.75, minValAccuracy: 0 },
      { epoch: 2, minValAccuracy: 0.9 },
    ];
    // Threshold 0 never stops (it only records the rung).
    expect(costLowerBound(0, 4, stops, false)).toBeCloseTo(MODEL_OVERHEAD_EPOCHS + 0.25, 12);
    // A job reports a point once it has passed that point's rung: at 0.25 reported, its next possible stop is epoch 2.
    expect(costLowerBound(0.25, 4, stops, false)).toBeCloseTo(MODEL_OVERHEAD_EPOCHS + 2, 12);
    expect(costLowerBound(1, 4, stops, false)).toBeCloseTo(MODEL_OVERHEAD_EPOCHS + 2, 12);
    expect(costLowerBound(2, 4, stops, false)).toBeCloseTo(MODEL_OVERHEAD_EPOCHS + 4, 12);
    // Early stopping decides an epoch before it is reported: a reported epoch may still be the last.
    expect(costLowerBound(1, 4, stops, true)).toBeCloseTo(MODEL_OVERHEAD_EPOCHS + 1, 12);
    expect(costLowerBound(2, 4, stops, true)).toBeCloseTo(MODEL_OVERHEAD_EPOCHS + 2, 12);
    expect(costLowerBound(3, 4, stops, false)).toBeCloseTo(MODEL_OVERHEAD_EPOCHS + 4, 12);
    expect(modelCost('pruned', 0.25, 4, 3)).toBeCloseTo(MODEL_OVERHEAD_EPOCHS + 0.25, 12);
    expect(modelCost('done', 4, 4, 3)).toBeCloseTo(MODEL_OVERHEAD_EPOCHS + 12, 12);
    expect(modelCost('failed', 0, 4, 3)).toBeCloseTo(MODEL_OVERHEAD_EPOCHS + 12, 12);
    // No bound may exceed what the model then costs.
    expect(costLowerBound(0, 12, stops, true)).toBeLessThanOrEqual(modelCost('done', 1, 4, 3));
  });

  it('refuses a lane count that is not a positive integer', () => {
    expect(() => new SteadySchedule(0)).toThrow(/lanes/);
    expect(() => new SteadySchedule(1.5)).toThrow(/lanes/);
  });
});
