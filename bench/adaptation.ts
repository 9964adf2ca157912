import { AdaptationTracker, type AdaptationResult } from '../src/engine/adaptation.js';
import type { LayerSpec } from '../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../src/engine/network.js';
import { Rng } from '../src/engine/rng.js';
import { StepState, stepBackward, stepForward } from '../src/engine/train/step.js';
import type { Tensor } from '../src/engine/tensor.js';
import { softmaxCrossEntropy } from '../src/engine/train/losses.js';
import { train } from '../src/engine/train/loop.js';
import { clipGradNorm } from '../src/engine/train/clip.js';
import { createOptimizer } from '../src/engine/train/optimizers.js';
import { StepTweenChain } from '../src/engine/train/tween.js';
import { fmt, table } from './util.js';

/**
 * LOOM's Test 17 (mid-stream adaptation), on a deterministic step clock instead of wall time. An agent on the unit
 * square sees (agent x, y, target x, y, Δx, Δy, distance, task flag) and picks one of four moves; CHASE wants the
 * move that closes the larger gap to a drifting target, AVOID the opposite one. The task flips CHASE → AVOID →
 * CHASE at steps 1000 and 2000 of 3000; accuracy is measured in 15 windows of 200 steps. Every step the network
 * acts, is scored, and learns (the mode decides how). Network: LOOM's 6-layer Dense 8→32→64→64→32→4.
 * Two changes from LOOM's environment, so that accuracy measures learning and nothing else: episodes of 25 steps
 * (agent and target respawn at random; in LOOM's one endless episode AVOID pins the agent into a corner where one
 * constant move is always right), and the agent random-walks instead of following the network's moves (otherwise
 * a mode that acts badly wanders into easier states and scores higher: in LOOM's setup a good chaser ends up
 * hovering on the target, where the right move flips every step). Every mode thus sees the same observation
 * stream for a seed, and the comparison is paired.
 *
 * Modes (learning rate 0.02 everywhere, LOOM's):
 * - NormalBP: acts with a normal forward; every 50 steps trains one epoch (batch 1, SGD) on the 50 samples seen.
 * - Step+BP: acts on the stepping pipeline's output; backprops each output against the target of the input that
 *   produced it (stepBackward), SGD. Outputs lag the input by 5 steps.
 * - StepTweenChain: acts on the pipeline's output; tweens on every incoming sample (TweenState defaults: momentum
 *   0.9, gradient norm clipped at 1).
 * - Controls, acting with a normal forward then taking one backprop step per sample: "OnlineBP momentum" with
 *   StepTweenChain's optimizer and clipping, "OnlineBP SGD" with Step+BP's. They tell apart what tweening and
 *   stepping add from what per-sample updates add.
 * Scoring pairs every output with the optimal move for the observation that produced it.
 */

const STEPS = 3000;
const WINDOW = 200;
const CHANGES = [
  { at: 1000, id: 1, name: 'AVOID' },
  { at: 2000, id: 0, name: 'CHASE' },
];
const LR = 0.02;
const TRAIN_EVERY = 50;
const EPISODE = 25;
const MODES = ['NormalBP', 'Step+BP', 'StepTweenChain', 'OnlineBP momentum', 'OnlineBP SGD'] as const;
type Mode = (typeof MODES)[number];

const networkSpec = sequentialNetworkSpec(
  [8],
  [
    { type: 'dense', units: 32, activation: 'leaky_relu' },
    { type: 'dense', units: 64, activation: 'leaky_relu' },
    { type: 'dense', units: 64, activation: 'leaky_relu' },
    { type: 'dense', units: 64, activation: 'leaky_relu' },
    { type: 'dense', units: 32, activation: 'leaky_relu' },
    { type: 'dense', units: 4 },
  ] as object[] as LayerSpec[],
);

class Environment {
  agent = [0.5, 0.5];
  target: number[];
  task = 0;
  constructor(private readonly rng: Rng) {
    this.target = [rng.next(), rng.next()];
  }

  observe(): Tensor {
    const dx = (this.target[0] as number) - (this.agent[0] as number);
    const dy = (this.target[1] as number) - (this.agent[1] as number);
    const obs = [...this.agent, ...this.target, dx, dy, Math.hypot(dx, dy), this.task];
    return { data: Float32Array.from(obs), shape: [1, 8] };
  }

  /** 0 up, 1 down, 2 left, 3 right. */
  optimal(): number {
    const dx = (this.target[0] as number) - (this.agent[0] as number);
    const dy = (this.target[1] as number) - (this.agent[1] as number);
    const toward = Math.abs(dx) > Math.abs(dy) ? (dx > 0 ? 3 : 2) : dy > 0 ? 0 : 1;
    return this.task === 0 ? toward : [1, 0, 3, 2][toward] as number;
  }

  /** A new episode: agent and target somewhere random. */
  respawn(): void {
    this.agent = [this.rng.next(), this.rng.next()];
    this.target = [this.rng.uniform(0.1, 0.9), this.rng.uniform(0.1, 0.9)];
  }

  /** The agent takes a random move (not the network's: see the module comment); the target drifts. */
  advance(): void {
    const action = this.rng.int(4);
    const moves = [[0, 0.02], [0, -0.02], [-0.02, 0], [0.02, 0]][action] as number[];
    this.agent = this.agent.map((v, i) => Math.min(1, Math.max(0, v + (moves[i] as number))));
    this.target = this.target.map((v) => Math.min(0.9, Math.max(0.1, v + (this.rng.next() - 0.5) * 0.01)));
  }
}

const argmax = (v: Float32Array): number => v.reduce((best, x, i) => (x > (v[best] as number) ? i : best), 0);

interface RunResult {
  readonly result: AdaptationResult;
  readonly ms: number;
  /** Per-step wall times: how long the agent waited for each action. */
  readonly stepMs: Float64Array;
}

function runMode(mode: Mode, seed: number): RunResult {
  const net = new Network(networkSpec, new Rng(seed));
  const env = new Environment(new Rng(seed + 1000));
  let step = 0;
  const tracker = new AdaptationTracker({ window: WINDOW, total: STEPS, clock: () => step });
  tracker.setModelInfo('Dense-6L', mode);
  for (const c of CHANGES) tracker.scheduleTaskChange(c.at, c.id, c.name);
  tracker.start('CHASE', 0);

  const ctx = { training: true, rng: new Rng(seed) };
  const sgd = createOptimizer('sgd');
  const momentum = createOptimizer({ name: 'momentum', momentum: 0.9 });
  const state = new StepState(net);
  const stc = new StepTweenChain(net);
  const optimalByTag = new Map<number, number>();
  const buffer: { x: Float32Array; y: number }[] = [];
  const stepMs = new Float64Array(STEPS);
  const started = performance.now();

  for (; step < STEPS; step++) {
    const t0 = performance.now();
    if (step % EPISODE === 0) env.respawn();
    env.task = tracker.currentTask().id;
    const obs = env.observe();
    const best = env.optimal();
    let action: number;
    if (mode === 'NormalBP' || mode.startsWith('OnlineBP')) {
      const out = net.forward(obs, ctx);
      action = argmax(out.data);
      tracker.recordOutput(action === best);
      if (mode === 'OnlineBP momentum') {
        net.backward(softmaxCrossEntropy.compute(out, [best]).grad, ctx);
        clipGradNorm(net.trainableParams(), 1);
        momentum.step(net.trainableParams(), LR);
      } else if (mode === 'OnlineBP SGD') {
        net.backward(softmaxCrossEntropy.compute(out, [best]).grad, ctx);
        sgd.step(net.trainableParams(), LR);
      } else {
        buffer.push({ x: obs.data, y: best });
        if (buffer.length === TRAIN_EVERY) {
          const x = new Float32Array(buffer.length * 8);
          buffer.forEach((s, i) => x.set(s.x, i * 8));
          train(net, { x: { data: x, shape: [buffer.length, 8] }, y: buffer.map((s) => s.y) }, { epochs: 1, batchSize: 1, learningRate: LR, optimizer: 'sgd', seed: step });
          buffer.length = 0;
        }
      }
    } else {
      let out: Tensor | undefined;
      let tag: number | undefined;
      if (mode === 'Step+BP') {
        out = stepForward(net, state, obs, ctx);
        tag = state.outputTag();
        optimalByTag.set(state.stepCount, best);
      } else {
        const r = stc.step(obs, [best], LR);
        out = r.output;
        tag = r.outputTag;
        optimalByTag.set(stc.state.stepCount, best);
      }
      if (out && tag !== undefined) {
        const wanted = optimalByTag.get(tag) as number;
        optimalByTag.delete(tag);
        action = argmax(out.data);
        tracker.recordOutput(action === wanted);
        if (mode === 'Step+BP') {
          const { grad } = softmaxCrossEntropy.compute(out, [wanted]);
          stepBackward(net, state, grad, ctx);
          sgd.step(net.trainableParams(), LR);
        }
      }
    }
    env.advance();
    stepMs[step] = performance.now() - t0;
  }
  return { result: tracker.finalize(), ms: performance.now() - started, stepMs };
}

export interface AdaptationModeRow {
  readonly mode: Mode;
  /** Mean over seeds of each window's accuracy (fractions). */
  readonly windows: number[];
  readonly avgAccuracy: number;
  readonly avgAccuracySd: number;
  /** Per change: accuracy in the window before, in the window of the change, and recovery windows (mean over the seeds that recovered). */
  readonly changes: { pre: number; post: number; recoveryWindows: number | null; recovered: number }[];
  readonly stepsPerSecond: number;
  /** 99th percentile of single-step times: batch training shows up here as blocking. */
  readonly p99StepMs: number;
}

export interface AdaptationBench {
  readonly seeds: number;
  readonly steps: number;
  readonly window: number;
  readonly changes: typeof CHANGES;
  readonly rows: AdaptationModeRow[];
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const sd = (xs: number[]): number => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const percentile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;

/** Runs every mode over `seeds` seeds (same networks and environments per seed) and averages. */
export async function benchAdaptation(seeds = 5): Promise<AdaptationBench> {
  const rows: AdaptationModeRow[] = [];
  for (const mode of MODES) runMode(mode, 0); // JIT warm-up, not measured
  for (const mode of MODES) {
    const runs = Array.from({ length: seeds }, (_, s) => runMode(mode, s + 1));
    await new Promise((resolve) => setImmediate(resolve));
    const windows = runs[0]?.result.windows.map((_, w) => mean(runs.map((r) => r.result.windows[w]?.accuracy ?? 0))) ?? [];
    const avg = runs.map((r) => r.result.avgAccuracy ?? 0);
    rows.push({
      mode,
      windows,
      avgAccuracy: mean(avg),
      avgAccuracySd: sd(avg),
      changes: CHANGES.map((_, c) => {
        const changes = runs.map((r) => r.result.taskChanges[c]);
        const recovered = changes.flatMap((ch) => (ch?.recoveryWindows === null || ch === undefined ? [] : [ch.recoveryWindows]));
        return {
          pre: mean(changes.map((ch) => ch?.preAccuracy ?? 0)),
          post: mean(changes.map((ch) => ch?.postAccuracy ?? 0)),
          recoveryWindows: recovered.length ? mean(recovered) : null,
          recovered: recovered.length,
        };
      }),
      stepsPerSecond: (seeds * STEPS) / (runs.reduce((s, r) => s + r.ms, 0) / 1000),
      p99StepMs: percentile(runs.flatMap((r) => Array.from(r.stepMs)), 0.99),
    });
  }
  return { seeds, steps: STEPS, window: WINDOW, changes: CHANGES, rows };
}

const pct = (x: number): string => `${Math.round(x * 100)}`;

/** Two markdown tables: accuracy per window, and the adaptation summary. */
export function adaptationTable(bench: AdaptationBench): string {
  const heads = bench.rows[0]?.windows.map((_, w) => `${(w + 1) * (bench.window / 100)}`) ?? [];
  const timeline = table(
    ['mode \\ accuracy % by window (×100 steps)', ...heads],
    bench.rows.map((r) => [r.mode, ...r.windows.map(pct)]),
  );
  const summary = table(
    ['mode', 'avg acc %', `→${bench.changes[0]?.name}: before→after %`, 'recovery (windows)', `→${bench.changes[1]?.name}: before→after %`, 'recovery (windows)', 'steps/s', 'p99 step ms'],
    bench.rows.map((r) => [
      r.mode,
      `${(r.avgAccuracy * 100).toFixed(1)} ± ${(r.avgAccuracySd * 100).toFixed(1)}`,
      ...r.changes.flatMap((c) => [
        `${pct(c.pre)} → ${pct(c.post)}`,
        c.recoveryWindows === null ? `never (0/${bench.seeds})` : `${fmt(c.recoveryWindows)} (${c.recovered}/${bench.seeds})`,
      ]),
      Math.round(r.stepsPerSecond),
      fmt(r.p99StepMs),
    ]),
  );
  return `${timeline}\n\n${summary}`;
}

// `npx tsx bench/adaptation.ts` runs this section alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const t = performance.now();
  console.log(adaptationTable(await benchAdaptation()));
  console.log(`\n(${((performance.now() - t) / 1000).toFixed(1)} s)`);
}
