import { describe, expect, it } from 'vitest';
import { AdaptationTracker } from '../../src/engine/adaptation.js';

/** window 4, 3 windows; CHASE → AVOID at 4 → CHASE at 8. */
function chaseAvoidChase(threshold = 0.5): AdaptationTracker {
  const t = new AdaptationTracker({ window: 4, total: 12, recoveryThreshold: threshold });
  t.scheduleTaskChange(8, 0, 'chase'); // scheduled out of order on purpose
  t.scheduleTaskChange(4, 1, 'avoid');
  t.start('chase', 0);
  return t;
}
const record = (t: AdaptationTracker, pattern: string): number[] => [...pattern].map((c) => t.recordOutput(c === '1'));

describe('AdaptationTracker', () => {
  it('computes window accuracies, the two changes and their recovery from a hand-checked sequence', () => {
    const t = chaseAvoidChase();
    const tasks = record(t, '1110' + '0011' + '0111');
    expect(tasks).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    const r = t.finalize();
    expect(r.windows.map((w) => w.accuracy)).toEqual([0.75, 0.5, 0.75]);
    expect(r.windows.map((w) => w.task)).toEqual(['chase', 'avoid', 'chase']);
    expect(r.avgAccuracy).toBeCloseTo((0.75 + 0.5 + 0.75) / 3, 12);
    expect(r.totalOutputs).toBe(12);
    expect(r.taskChanges).toHaveLength(2);
    expect(r.taskChanges[0]).toMatchObject({ at: 4, fromName: 'chase', toName: 'avoid', preWindow: 0, postWindow: 1, preAccuracy: 0.75, postAccuracy: 0.5, recoveryWindows: 0, recoveryTime: 0 });
    expect(r.taskChanges[1]).toMatchObject({ at: 8, fromId: 1, toId: 0, preWindow: 1, postWindow: 2, preAccuracy: 0.5, postAccuracy: 0.75, recoveryWindows: 0 });
  });

  it('finds recovery windows later, but never past the next change', () => {
    const t = new AdaptationTracker({ window: 2, total: 12 });
    t.scheduleTaskChange(2, 1, 'avoid');
    t.scheduleTaskChange(8, 0, 'chase');
    t.start('chase', 0);
    // windows: 11 | 00 | 00 | 01 | 00 | 00  → accuracies 1, 0, 0, .5, 0, 0
    record(t, '11' + '00' + '00' + '01' + '00' + '00');
    const r = t.finalize();
    expect(r.windows.map((w) => w.accuracy)).toEqual([1, 0, 0, 0.5, 0, 0]);
    expect(r.taskChanges[0]).toMatchObject({ postWindow: 1, recoveryWindows: 2, recoveryTime: 4 });
    expect(r.taskChanges[1]).toMatchObject({ postWindow: 4, recoveryWindows: null, recoveryTime: null });
  });

  it('records each change once, however many outputs follow (LOOM appended two spurious changes per output)', () => {
    const t = chaseAvoidChase();
    record(t, '1'.repeat(12));
    expect(t.currentTask()).toEqual({ id: 0, name: 'chase' });
    expect(t.finalize().taskChanges.map((c) => c.toName)).toEqual(['avoid', 'chase']);
  });

  it('fires every change crossed by a clock jump, in order, and ignores outputs past the last window', () => {
    let now = 100;
    const t = new AdaptationTracker({ window: 4, total: 12, clock: () => now });
    t.scheduleTaskChange(4, 1, 'avoid');
    t.scheduleTaskChange(8, 0, 'chase');
    t.scheduleTaskChange(9, 0, 'chase'); // already the task: no change
    t.start('chase', 0);
    now = 101;
    t.recordOutput(true);
    now = 110;
    expect(t.recordOutput(false)).toBe(0);
    now = 113; // past the 3 windows
    t.recordOutput(true);
    const r = t.finalize();
    expect(r.taskChanges.map((c) => [c.at, c.fromName, c.toName])).toEqual([[4, 'chase', 'avoid'], [8, 'avoid', 'chase']]);
    expect(r.windows.map((w) => w.outputs)).toEqual([1, 0, 1]);
    expect(r.windows.map((w) => w.accuracy)).toEqual([1, null, 0]);
    expect(r.avgAccuracy).toBe(0.5);
    expect(r.totalOutputs).toBe(2);
    expect(r.duration).toBe(13);
    expect(r.taskChanges[0]?.postAccuracy).toBeNull();
  });

  it('rejects a non-positive window', () => {
    expect(() => new AdaptationTracker({ window: 0, total: 10 })).toThrow(/window/);
  });
});
