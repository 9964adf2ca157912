/**
 * A one-line progress bar for long work: redrawn in place on a terminal, one plain line per update
 * otherwise (CI logs, pipes), throttled so it never costs noticeable time.
 */
export interface ProgressState {
  done: number;
  total: number;
  /** Short free text after the counters, e.g. "gen 2/4 | best val 97.3%". */
  detail: string;
  /** The time left when the caller knows better than the models' rate (a time-budgeted search); NaN for unknown. */
  etaMs?: number;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** With a given ETA the bar fills by time; otherwise by models done of `total` (0: not known, a count alone). */
export function renderBar(state: ProgressState, elapsedMs: number, width = 24): string {
  const given = state.etaMs;
  const fraction = given !== undefined && Number.isFinite(given) ? elapsedMs / (elapsedMs + given || 1) : state.total > 0 ? state.done / state.total : 0;
  const filled = Math.round(Math.min(1, fraction) * width);
  const eta = state.etaMs ?? (state.done > 0 && state.total > 0 ? (elapsedMs / state.done) * (state.total - state.done) : NaN);
  const count = state.total > 0 ? `${state.done}/${state.total}` : `${state.done}`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count} models | ${state.detail} | elapsed ${formatDuration(elapsedMs)} | ETA ${formatDuration(eta)}`;
}

/** Where a time-budgeted search stands, for its ETA. */
export interface BudgetedSearchClock {
  readonly elapsedMs: number;
  /** When the search stops starting models (elapsed ms); the refit follows. */
  readonly searchEndsMs: number;
  /** Epochs trained so far, over all workers. */
  readonly epochsDone: number;
  /** Epochs the refit still has to train. */
  readonly refitEpochsLeft: number;
}

/**
 * The time a budgeted search has left: what remains of its budget, then the refit's epochs at the rate epochs have
 * been trained so far. The model count cannot tell it: the number of models is what the budget decides.
 */
export function budgetedEta(clock: BudgetedSearchClock): number {
  if (clock.epochsDone <= 0) return Number.NaN;
  const msPerEpoch = clock.elapsedMs / clock.epochsDone;
  return Math.max(0, clock.searchEndsMs - clock.elapsedMs) + clock.refitEpochsLeft * msPerEpoch;
}

export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;
  private lastLine = '';

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {}

  update(state: ProgressState, force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    const line = renderBar(state, now - this.started);
    if (this.stream.isTTY) {
      if (!force && now - this.lastDraw < 100) return;
      this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 120) - 1)}\x1b[K`);
    } else {
      // Without a terminal, print only when the model count changes, not on every epoch.
      const key = `${state.done}/${state.total}`;
      if (this.lastLine === key) return;
      this.lastLine = key;
      this.stream.write(`${line}\n`);
    }
    this.lastDraw = now;
  }

  /** Prints a message above the bar without garbling it. */
  log(message: string): void {
    if (!this.enabled) return;
    if (this.stream.isTTY) this.stream.write(`\r\x1b[K${message}\n`);
    else this.stream.write(`${message}\n`);
  }

  done(): void {
    if (this.enabled && this.stream.isTTY) this.stream.write('\n');
  }
}
