import type { SandboxedJob } from 'bullmq';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type LoadedDataset } from '../../src/data/index.js';
import { parseSearchConfig } from '../../src/search/config.js';
import type { TrainingJob } from '../../src/search/jobs.js';
import { curveOf, epochsRun, prunedAt } from '../../src/search/pruners.js';
import type { ModelResult } from '../../src/store/types.js';
import { processJob } from '../../src/workers/processor.js';
import { irisJob } from './helpers/iris-job.js';
import processTrainingJob from '../../src/workers/sandbox.js';
import { decodeResult, type WireResult } from '../../src/workers/wire.js';

/** ASHA's rungs below one epoch (pruner.minEpochs < 1): checked inside the epoch, after the step that reaches them. */

let single: LoadedDataset;
let job: TrainingJob;
let plain: ModelResult;

beforeAll(async () => {
  single = loadDataset('iris', { splitSeed: 2 });
  job = irisJob(single);
  plain = await processJob(job, single, { worker: 'test' });
}, 60_000);

describe('a pruning rung within an epoch', () => {
  it('records the model\'s validation accuracy there without changing its training', async () => {
    const checked = await processJob({ ...job, stopBelow: [{ epoch: 0.5, minValAccuracy: 0 }] }, single, { worker: 'test' });
    expect(checked.metrics.map((m) => m.epoch)).toEqual([0.5, 1, 2, 3]);
    const at = checked.metrics[0]!;
    expect(at.valAccuracy).toBeGreaterThan(0);
    expect(at.valAccuracy).toBeLessThanOrEqual(1);
    expect(Number.isFinite(at.loss)).toBe(true);
    // Evaluating mid-epoch draws no training noise (dropout is on) and moves no weight: the same model, bit for bit.
    expect(Array.from(checked.valProbs)).toEqual(Array.from(plain.valProbs));
    expect(checked.metrics.filter((m) => Number.isInteger(m.epoch)).map((m) => m.loss)).toEqual(plain.metrics.map((m) => m.loss));
    expect(prunedAt(curveOf(checked.metrics), [{ epoch: 0.5, minValAccuracy: 0 }])).toBeNull();
  });

  it('stops a model below the threshold there: its curve ends at the rung and it counts a share of an epoch', async () => {
    const stopBelow = [{ epoch: 0.5, minValAccuracy: 1.01 }];
    const stopped = await processJob({ ...job, stopBelow }, single, { worker: 'test' });
    expect(stopped.metrics.map((m) => m.epoch)).toEqual([0.5]);
    expect(prunedAt(curveOf(stopped.metrics), stopBelow)).toBe(0.5);
    expect(epochsRun(stopped.metrics)).toBe(0.5);
    // Nothing trained after the check: its validation accuracy is the check's.
    expect(stopped.valAccuracy).toBe(stopped.metrics[0]!.valAccuracy!);
    // A pruned model is no ensemble candidate: nothing else of it is scored or encoded (the coordinator keeps none of it).
    expect([stopped.valProbs.length, stopped.testProbs.length, stopped.valMask.length, stopped.weights.length]).toEqual([0, 0, 0, 0]);
    expect(stopped.testAccuracy).toBeNaN();
  });

  it('reports a point only once its rung is passed: a stopped job never reports the point it stopped at', async () => {
    const reported = async (stopBelow: TrainingJob['stopBelow']): Promise<{ reported: number[]; curve: number[] }> => {
      const epochs: number[] = [];
      const result = await processJob({ ...job, stopBelow }, single, { worker: 'test', onProgress: (p) => epochs.push(p.epoch) });
      return { reported: epochs, curve: result.metrics.map((m) => m.epoch) };
    };
    // Passed (threshold 0): every point reported, in order.
    expect(await reported([{ epoch: 0.5, minValAccuracy: 0 }, { epoch: 2, minValAccuracy: 0 }])).toEqual({ reported: [0.5, 1, 2, 3], curve: [0.5, 1, 2, 3] });
    // Stopped at a mid-epoch rung, and at a whole-epoch rung: the curve has the point, the progress never had it.
    expect(await reported([{ epoch: 0.5, minValAccuracy: 1.01 }])).toEqual({ reported: [], curve: [0.5] });
    expect(await reported([{ epoch: 2, minValAccuracy: 1.01 }])).toEqual({ reported: [1], curve: [1, 2] });
    // Stopped at a check on an epoch's last step: the epoch the loop still closes is not reported either.
    expect(await reported([{ epoch: 0.999, minValAccuracy: 1.01 }])).toEqual({ reported: [], curve: [0.999] });
  });

  it('ends the curve at a check on an epoch\'s last step, though the loop still closes that epoch', async () => {
    // Iris: 7 steps of 16 rows per epoch, so 0.999 is reached only by the last one.
    const stopBelow = [{ epoch: 0.999, minValAccuracy: 1.01 }];
    const stopped = await processJob({ ...job, stopBelow }, single, { worker: 'test' });
    expect(stopped.metrics.map((m) => m.epoch)).toEqual([0.999]);
    expect(prunedAt(curveOf(stopped.metrics), stopBelow)).toBe(epochsRun(stopped.metrics));
  });

  it('stops a bag after fold 0\'s check, and crosses Redis (the remote processor parses the fractional rung)', async () => {
    const bagged = loadDataset('iris', { splitSeed: 2, kfold: 3 });
    const bagJob: TrainingJob = { ...job, data: { ...job.data, kfold: 3 }, stopBelow: [{ epoch: 0.5, minValAccuracy: 1.01 }] };
    const local = await processJob(bagJob, bagged, { worker: 'test' });
    expect(local.metrics.map((m) => m.epoch)).toEqual([0.5]);
    const wire = await processTrainingJob({ data: JSON.parse(JSON.stringify(bagJob)), updateProgress: async () => {} } as unknown as SandboxedJob<TrainingJob, WireResult>);
    const remote = decodeResult(wire, 'm1');
    expect(remote.metrics.map((m) => [m.epoch, m.valAccuracy])).toEqual(local.metrics.map((m) => [m.epoch, m.valAccuracy]));
    expect(remote.valAccuracy).toBe(local.valAccuracy);
    // A pruned bag's result carries no predictions, and crosses Redis without a test accuracy.
    expect([remote.valProbs.length, remote.testProbs.length, remote.weights.length]).toEqual([0, 0, 0]);
    expect(remote.testAccuracy).toBeNaN();
  });

  it('is refused by the config with a training mode that has no per-step hook', () => {
    const base = { data: { ref: 'iris' }, pruner: { kind: 'asha', minEpochs: 0.25 } };
    expect(parseSearchConfig(base).pruner.minEpochs).toBe(0.25);
    expect(() => parseSearchConfig({ ...base, training: { mode: 'step' } })).toThrow(/pruner\.minEpochs.*training\.mode "normal"/);
    expect(() => parseSearchConfig({ ...base, pruner: { kind: 'asha', minEpochs: 1.5 } })).toThrow(/pruner\.minEpochs/);
  });
});
