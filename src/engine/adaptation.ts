import { configError } from './errors.js';

/**
 * Adaptation tracking (LOOM's AdaptationTracker): accuracy per time window over a stream of predictions, scheduled
 * task changes, and how long accuracy takes to recover after each change.
 *
 * Time is whatever the clock says, minus the start: by default the number of outputs recorded so far (a
 * deterministic step clock: output k is recorded at time k), or e.g. `() => performance.now()` for wall time.
 * Windows are [k·window, (k+1)·window); there are max(1, ⌊total/window⌋) of them and outputs after the last are
 * not counted (as LOOM). Accuracies are fractions in [0, 1]; a window without outputs has accuracy null.
 *
 * Differences from LOOM, on purpose:
 * - Each scheduled change fires once, in time order. LOOM rescanned every change on every output and, with two
 *   changes in the past (A→B→A), toggled between them and appended two spurious changes per output.
 * - A change's windows come from its scheduled time (post = the window containing it, pre = the one before), not
 *   from when the next output happened to arrive.
 * - `recordOutput` returns the task the output was counted under (after due changes), not the one before them.
 * - Recovery is searched only until the next change: a recovery during a later task does not count.
 */

export interface TimeWindow {
  readonly index: number;
  readonly start: number;
  outputs: number;
  correct: number;
  /** correct/outputs, null while empty (set by `windows()` and `finalize()`). */
  accuracy: number | null;
  /** The task active at the window's first output ('' while empty). */
  task: string;
}

export interface TaskChange {
  readonly at: number;
  readonly fromId: number;
  readonly fromName: string;
  readonly toId: number;
  readonly toName: string;
  /** The window before the one containing the change (null when the change falls in window 0). */
  readonly preWindow: number | null;
  readonly postWindow: number;
  preAccuracy: number | null;
  postAccuracy: number | null;
  /** Windows from the change's window to the first at or above the recovery threshold; null if none before the next change. */
  recoveryWindows: number | null;
  /** recoveryWindows × window, in clock units. */
  recoveryTime: number | null;
}

export interface AdaptationResult {
  readonly modelName: string;
  readonly modeName: string;
  /** Outputs counted in windows. */
  readonly totalOutputs: number;
  /** Mean accuracy over the windows that have outputs (null if none do). */
  readonly avgAccuracy: number | null;
  readonly windows: TimeWindow[];
  readonly taskChanges: TaskChange[];
  /** Clock time from start to finalize. */
  readonly duration: number;
}

export interface AdaptationTrackerOptions {
  /** Window length in clock units (outputs, with the default clock). */
  readonly window: number;
  /** Tracked duration in clock units. */
  readonly total: number;
  /** Defaults to counting outputs. */
  readonly clock?: () => number;
  /** Accuracy that counts as recovered (default 0.5, LOOM's 50%). */
  readonly recoveryThreshold?: number;
}

interface ScheduledChange {
  readonly at: number;
  readonly id: number;
  readonly name: string;
}

export class AdaptationTracker {
  readonly window: number;
  readonly numWindows: number;
  readonly recoveryThreshold: number;
  private readonly clock: (() => number) | undefined;
  private readonly scheduled: ScheduledChange[] = [];
  private readonly changes: TaskChange[] = [];
  private readonly slots: TimeWindow[];
  private nextChange = 0;
  private startTime = 0;
  private recorded = 0;
  private counted = 0;
  private taskId = 0;
  private taskName = '';
  private modelName = '';
  private modeName = '';

  constructor(options: AdaptationTrackerOptions) {
    if (!(options.window > 0)) throw configError('window', `must be positive, got ${options.window}`);
    if (!(options.total > 0)) throw configError('total', `must be positive, got ${options.total}`);
    this.window = options.window;
    this.numWindows = Math.max(1, Math.floor(options.total / options.window));
    this.recoveryThreshold = options.recoveryThreshold ?? 0.5;
    this.clock = options.clock;
    this.slots = Array.from({ length: this.numWindows }, (_, index) => ({
      index,
      start: index * this.window,
      outputs: 0,
      correct: 0,
      accuracy: null,
      task: '',
    }));
  }

  setModelInfo(modelName: string, modeName: string): void {
    this.modelName = modelName;
    this.modeName = modeName;
  }

  /** Schedules a switch to task `id` at time `at` (relative to start). Call before or during the run. */
  scheduleTaskChange(at: number, id: number, name: string): void {
    if (!(at >= 0)) throw configError('taskChange.at', `must be a non-negative time, got ${at}`);
    this.scheduled.push({ at, id, name });
    // Keep the not-yet-fired changes in time order (stable for equal times).
    const fired = this.scheduled.slice(0, this.nextChange);
    const rest = this.scheduled.slice(this.nextChange).sort((a, b) => a.at - b.at);
    this.scheduled.splice(0, this.scheduled.length, ...fired, ...rest);
  }

  /** Starts the clock with the initial task. */
  start(taskName: string, taskId: number): void {
    this.taskName = taskName;
    this.taskId = taskId;
    this.startTime = this.clock ? this.clock() : 0;
  }

  /** Time since start. */
  now(): number {
    return this.clock ? this.clock() - this.startTime : this.recorded;
  }

  /** The task in force now (due changes applied): what the next output will be judged against. */
  currentTask(): { id: number; name: string } {
    this.applyDueChanges(this.now());
    return { id: this.taskId, name: this.taskName };
  }

  /** Records one output; returns the id of the task it counted under. */
  recordOutput(correct: boolean): number {
    const t = this.now();
    this.applyDueChanges(t);
    const win = Math.floor(t / this.window);
    const slot = this.slots[win];
    if (slot && t >= 0) {
      if (slot.outputs === 0) slot.task = this.taskName;
      slot.outputs++;
      if (correct) slot.correct++;
      this.counted++;
    }
    this.recorded++;
    return this.taskId;
  }

  /** The windows so far, with accuracies filled in (copies). */
  windows(): TimeWindow[] {
    return this.slots.map((w) => ({ ...w, accuracy: w.outputs ? w.correct / w.outputs : null }));
  }

  /** Fills in window accuracies, the per-change accuracies and recovery times, and the average. */
  finalize(): AdaptationResult {
    const duration = this.now();
    this.applyDueChanges(duration);
    const windows = this.windows();
    const filled = windows.filter((w) => w.accuracy !== null);
    const avgAccuracy = filled.length ? filled.reduce((s, w) => s + (w.accuracy as number), 0) / filled.length : null;
    this.changes.forEach((change, i) => {
      const limit = Math.min(this.numWindows, this.changes[i + 1]?.postWindow ?? this.numWindows);
      change.preAccuracy = change.preWindow === null ? null : (windows[change.preWindow]?.accuracy ?? null);
      change.postAccuracy = windows[change.postWindow]?.accuracy ?? null;
      change.recoveryWindows = null;
      change.recoveryTime = null;
      for (let w = change.postWindow; w < limit; w++) {
        const acc = windows[w]?.accuracy;
        if (acc !== null && acc !== undefined && acc >= this.recoveryThreshold) {
          change.recoveryWindows = w - change.postWindow;
          change.recoveryTime = change.recoveryWindows * this.window;
          break;
        }
      }
    });
    return {
      modelName: this.modelName,
      modeName: this.modeName,
      totalOutputs: this.counted,
      avgAccuracy,
      windows,
      taskChanges: this.changes.map((c) => ({ ...c })),
      duration,
    };
  }

  private applyDueChanges(t: number): void {
    while (this.nextChange < this.scheduled.length && (this.scheduled[this.nextChange] as ScheduledChange).at <= t) {
      const next = this.scheduled[this.nextChange++] as ScheduledChange;
      if (next.id === this.taskId) continue;
      const postWindow = Math.floor(next.at / this.window);
      this.changes.push({
        at: next.at,
        fromId: this.taskId,
        fromName: this.taskName,
        toId: next.id,
        toName: next.name,
        preWindow: postWindow > 0 ? postWindow - 1 : null,
        postWindow,
        preAccuracy: null,
        postAccuracy: null,
        recoveryWindows: null,
        recoveryTime: null,
      });
      this.taskId = next.id;
      this.taskName = next.name;
    }
  }
}
