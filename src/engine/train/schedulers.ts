import { configError } from '../errors.js';

/**
 * Learning-rate schedules: pure functions of the optimizer step (0-based; one step per optimizer update, so with
 * gradient accumulation one step covers several micro-batches). Formulas follow LOOM's `GetLR` (its reference
 * values are checked in the tests); `warmup` wraps any other schedule.
 */
export type Schedule = (step: number) => number;

export const constant = (lr: number): Schedule => () => lr;

/** from → to linearly over `steps`, then `to`. */
export const linear = (from: number, to: number, steps: number): Schedule => (step) =>
  step >= steps ? to : from + ((to - from) * step) / steps;

/** Cosine annealing from `from` down to `min` over `steps`, then `min`. */
export const cosine = (from: number, min: number, steps: number): Schedule => (step) =>
  step >= steps ? min : min + ((from - min) * (1 + Math.cos((Math.PI * step) / steps))) / 2;

/**
 * Cosine annealing restarted every period (SGDR). With `periodMult` > 1 each period is that much longer than the
 * previous one; with 1 (LOOM's behaviour) the progress is (step mod period)/period.
 */
export function cosineWarmRestarts(from: number, min: number, period: number, periodMult = 1): Schedule {
  return (step) => {
    let start = 0;
    let length = period;
    if (periodMult === 1) start = Math.floor(step / period) * period;
    else {
      while (step >= start + length) {
        start += length;
        length *= periodMult;
      }
    }
    return min + ((from - min) * (1 + Math.cos((Math.PI * (step - start)) / length))) / 2;
  };
}

/** from·rate^(step/every): a continuous exponent, as LOOM. */
export const exponential = (from: number, rate: number, every: number): Schedule => (step) => from * rate ** (step / every);

/** from·γ^⌊step/every⌋. */
export const stepDecay = (from: number, gamma: number, every: number): Schedule => (step) => from * gamma ** Math.floor(step / every);

/** (from − to)·(1 − step/steps)^power + to, then `to`. */
export const polynomial = (from: number, to: number, steps: number, power = 1): Schedule => (step) =>
  step >= steps ? to : (from - to) * (1 - step / steps) ** power + to;

/**
 * Linear warmup from `start` to the wrapped schedule's first value over `steps`, then the wrapped schedule
 * shifted by `steps` (so its own step 0 comes right after the warmup).
 */
export const warmup = (steps: number, start: number, after: Schedule): Schedule => {
  const target = after(0);
  return (step) => (step < steps ? start + ((target - start) * step) / steps : after(step - steps));
};

/** JSON description of a schedule, as configs and training jobs carry it. Unset learning rates default to the base rate. */
export type ScheduleSpec =
  | { readonly type: 'constant' }
  | { readonly type: 'linear'; readonly to?: number; readonly steps?: number }
  | { readonly type: 'cosine'; readonly min?: number; readonly steps?: number }
  | { readonly type: 'cosine_restarts'; readonly min?: number; readonly period: number; readonly periodMult?: number }
  | { readonly type: 'exponential'; readonly rate: number; readonly every: number }
  | { readonly type: 'step'; readonly gamma: number; readonly every: number }
  | { readonly type: 'polynomial'; readonly to?: number; readonly steps?: number; readonly power?: number }
  | { readonly type: 'warmup'; readonly steps: number; readonly start?: number; readonly then?: ScheduleSpec };

export const SCHEDULE_TYPES = ['constant', 'linear', 'cosine', 'cosine_restarts', 'exponential', 'step', 'polynomial', 'warmup'] as const;

function positive(field: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) throw configError(`schedule.${field}`, `must be a positive number, got ${v}`);
  return v;
}

/**
 * Builds a schedule from its JSON form. `baseLr` is the peak rate; `totalSteps` (the run's optimizer steps) is what
 * decaying schedules span when they name no length. Defaults: decays end at 1% of the base rate.
 */
export function makeSchedule(spec: ScheduleSpec | ScheduleSpec['type'], baseLr: number, totalSteps: number): Schedule {
  const s: ScheduleSpec = typeof spec === 'string' ? defaultSpec(spec) : spec;
  const floor = baseLr * 0.01;
  const span = Math.max(1, totalSteps);
  switch (s.type) {
    case 'constant':
      return constant(baseLr);
    case 'linear':
      return linear(baseLr, s.to ?? floor, positive('steps', s.steps ?? span));
    case 'cosine':
      return cosine(baseLr, s.min ?? floor, positive('steps', s.steps ?? span));
    case 'cosine_restarts':
      return cosineWarmRestarts(baseLr, s.min ?? floor, positive('period', s.period), positive('periodMult', s.periodMult ?? 1));
    case 'exponential':
      return exponential(baseLr, positive('rate', s.rate), positive('every', s.every));
    case 'step':
      return stepDecay(baseLr, positive('gamma', s.gamma), positive('every', s.every));
    case 'polynomial':
      return polynomial(baseLr, s.to ?? floor, positive('steps', s.steps ?? span), positive('power', s.power ?? 1));
    case 'warmup': {
      const steps = positive('steps', s.steps);
      return warmup(steps, s.start ?? 0, makeSchedule(s.then ?? { type: 'constant' }, baseLr, Math.max(1, totalSteps - steps)));
    }
    default:
      throw configError('schedule', `unknown schedule "${String((s as { type: unknown }).type)}" (known: ${SCHEDULE_TYPES.join(', ')})`);
  }
}

function defaultSpec(type: ScheduleSpec['type']): ScheduleSpec {
  switch (type) {
    case 'exponential':
      return { type, rate: 0.96, every: 1000 };
    case 'step':
      return { type, gamma: 0.1, every: 10000 };
    case 'cosine_restarts':
      throw configError('schedule', 'cosine_restarts needs a period: give it as {"type": "cosine_restarts", "period": N}');
    case 'warmup':
      throw configError('schedule', 'warmup needs a length: give it as {"type": "warmup", "steps": N, "then": {...}}');
    default:
      return { type } as ScheduleSpec;
  }
}
