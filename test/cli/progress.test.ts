import { describe, expect, it } from 'vitest';
import { budgetedEta, formatDuration, renderBar } from '../../src/cli/progress.js';

describe('the progress bar', () => {
  it('estimates from the models\' rate by default', () => {
    // 2 of 6 models in 60 s: 4 more at 30 s each.
    expect(renderBar({ done: 2, total: 6, detail: 'gen 1/2' }, 60_000)).toContain('ETA 2m00s');
    expect(renderBar({ done: 0, total: 6, detail: 'gen 1/2' }, 5_000)).toContain('ETA ?');
  });

  it('shows the ETA it is given instead (a time-budgeted search)', () => {
    expect(renderBar({ done: 2, total: 82, detail: 'gen 1/20', etaMs: 330_000 }, 60_000)).toContain('ETA 5m30s');
    // Without a total (a budget decides the count), a count alone, and the bar fills by time: 2 of 8 minutes.
    expect(renderBar({ done: 9, total: 0, detail: 'gen 3', etaMs: 360_000 }, 120_000, 8)).toBe('[##......] 9 models | gen 3 | elapsed 2m00s | ETA 6m00s');
  });

  it('formats durations', () => {
    expect(formatDuration(59_400)).toBe('59s');
    expect(formatDuration(61_000)).toBe('1m01s');
    expect(formatDuration(3_720_000)).toBe('1h02m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });
});

describe('a time-budgeted search\'s ETA', () => {
  it('is what remains of the budget plus the refit\'s epochs at the rate so far', () => {
    // 1 minute in, 10 epochs done (6 s each over all workers), 4 minutes of budget: 3 min + 32 refit epochs × 6 s.
    expect(budgetedEta({ elapsedMs: 60_000, searchEndsMs: 240_000, epochsDone: 10, refitEpochsLeft: 32 })).toBe(180_000 + 192_000);
    // Past the budget (models in flight, or the refit): the refit alone.
    expect(budgetedEta({ elapsedMs: 300_000, searchEndsMs: 240_000, epochsDone: 50, refitEpochsLeft: 8 })).toBe(48_000);
    expect(budgetedEta({ elapsedMs: 300_000, searchEndsMs: 240_000, epochsDone: 50, refitEpochsLeft: 0 })).toBe(0);
    expect(budgetedEta({ elapsedMs: 5_000, searchEndsMs: 240_000, epochsDone: 0, refitEpochsLeft: 32 })).toBeNaN();
  });
});
