import { setTimeout as sleep } from 'node:timers/promises';
import { Rng } from '../../src/engine/rng.js';
import type { Executor, JobProgress, TrainingJob } from '../../src/search/jobs.js';
import { loadJobData } from '../../src/workers/processor.js';
import type { ModelResult } from '../../src/store/types.js';

/**
 * A stand-in for training: each model has a skill drawn from its id; its validation curve rises towards it, and it
 * honours `stopBelow`, `pauseAt` and `resumeFrom` as the job processor does. Fast, so the search logic is tested, not the engine.
 */
export class CurveExecutor implements Executor {
  readonly jobs: TrainingJob[] = [];
  get workers(): number {
    return this.concurrency;
  }
  /** `pause`: milliseconds to wait before each point of a job's curve (real time, to vary which job ends first). */
  constructor(
    readonly concurrency = 2,
    private readonly pause?: (job: TrainingJob, epoch: number) => number,
  ) {}
  async run(job: TrainingJob, onProgress?: (p: JobProgress) => void): Promise<ModelResult> {
    this.jobs.push(job);
    const data = loadJobData(job.data);
    let h = 7;
    for (const ch of job.modelId) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
    const rng = new Rng(h);
    const skill = rng.uniform(0.4, 0.95);
    const metrics = [];
    let best = -Infinity;
    // Whole epochs, plus the mid-epoch rungs the job is told to check (as fit.ts adds them to the curve).
    const midEpoch = (job.stopBelow ?? []).map((t) => t.epoch).filter((e) => !Number.isInteger(e));
    // A paused job's state is its pause point (8 bytes): a resumed job replays the curve up to it without waiting.
    const resumedAt = job.resumeFrom ? new Float64Array(new Uint8Array(Buffer.from(job.resumeFrom.state, 'base64')).buffer)[0] ?? 0 : 0;
    const pauseAt = job.pauseAt ?? Infinity;
    const points = [...midEpoch, ...Array.from({ length: job.training.epochs }, (_, i) => i + 1)]
      .concat(Number.isFinite(pauseAt) && pauseAt < job.training.epochs ? [pauseAt] : [])
      .filter((e, i, all) => all.indexOf(e) === i && e <= pauseAt)
      .sort((a, b) => a - b);
    for (const epoch of points) {
      const valAccuracy = skill * (1 - 0.5 ** epoch);
      metrics.push({ epoch, loss: 1 - valAccuracy, accuracy: valAccuracy, valLoss: 1 - valAccuracy, valAccuracy, lr: 0.01, ms: 1 });
      if (epoch <= resumedAt) {
        best = Math.max(best, valAccuracy);
        continue;
      }
      const wait = this.pause?.(job, epoch) ?? 0;
      if (wait > 0) await sleep(wait);
      best = Math.max(best, valAccuracy);
      const rung = job.stopBelow?.find((t) => t.epoch === epoch);
      if (rung && best < rung.minValAccuracy) break;
      // Every point the job goes on from is reported, mid-epoch checks included, once checked, as fit.ts reports them.
      onProgress?.({ modelId: job.modelId, epoch, epochs: job.training.epochs, loss: 1 - valAccuracy, valAccuracy });
    }
    const c = data.numClasses;
    const probs = (y: Int32Array): [Float32Array, Uint8Array] => {
      const p = new Float32Array(y.length * c).fill(0.1 / c);
      const mask = new Uint8Array(y.length);
      y.forEach((label, r) => {
        const right = rng.next() < skill;
        p[r * c + (right ? label : (label + 1) % c)] += 0.9;
        mask[r] = right ? 1 : 0;
      });
      return [p, mask];
    };
    const [valProbs, valMask] = probs(data.val.y);
    if (metrics.at(-1)?.epoch === pauseAt) {
      // Paused: a curve, the state to go on from and validation predictions, no test ones (as processor.ts returns it).
      return {
        modelId: job.modelId, metrics, valProbs, testProbs: new Float32Array(0), valMask, testMask: new Uint8Array(0),
        weights: new Uint8Array(8), paramCount: 10, trainMs: metrics.length, worker: 'curve', valAccuracy: best,
        testAccuracy: Number.NaN, numClasses: c, paused: new Uint8Array(new Float64Array([pauseAt]).buffer),
      };
    }
    const [testProbs, testMask] = probs(data.test.y);
    const acc = (m: Uint8Array): number => m.reduce((a, b) => a + b, 0) / m.length;
    return {
      modelId: job.modelId, metrics, valProbs, testProbs, valMask, testMask, weights: new Uint8Array(8), paramCount: 10,
      trainMs: metrics.length, worker: 'curve', valAccuracy: acc(valMask), testAccuracy: acc(testMask), numClasses: c,
    };
  }
  async close(): Promise<void> {}
}

