import type { SandboxedJob } from 'bullmq';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type LoadedDataset } from '../../src/data/index.js';
import { splitTensors } from '../../src/data/tensors.js';
import { calibrateTemperature } from '../../src/engine/calibration.js';
import { evaluate } from '../../src/engine/eval.js';
import { decodeLoomModel } from '../../src/engine/io/loom-format.js';
import { decodeTrainState } from '../../src/engine/train/state.js';
import { finishConfig } from '../../src/search/arch.js';
import type { ResumePoint, TrainingJob } from '../../src/search/jobs.js';
import type { ModelResult } from '../../src/store/types.js';
import { processJob } from '../../src/workers/processor.js';
import { irisJob } from './helpers/iris-job.js';
import processTrainingJob from '../../src/workers/sandbox.js';
import { decodeResult, encodeResult, type WireResult } from '../../src/workers/wire.js';

/**
 * A job that pauses (pauseAt) and a later job that resumes it (resumeFrom): what a search needs to stop a model at a
 * rung and let only the best go on. Through the queue's wire format, the two jobs make the very model one job makes.
 */

let data: LoadedDataset;
let job: TrainingJob;
let straight: ModelResult;

/** As the queue carries it: the result through JSON, the resume point as base64. */
function resumePointOf(result: ModelResult): ResumePoint {
  const wire = decodeResult(JSON.parse(JSON.stringify(encodeResult(result))), result.modelId);
  if (!wire.paused) throw new Error('the result is not paused');
  return { modelId: wire.modelId, weights: Buffer.from(wire.weights).toString('base64'), state: Buffer.from(wire.paused).toString('base64') };
}

const withoutTimes = (r: ModelResult): unknown[] => r.metrics.map(({ ms: _ms, ...m }) => m);

beforeAll(async () => {
  data = loadDataset('iris', { splitSeed: 2 });
  job = irisJob(data);
  straight = await processJob(job, data, { worker: 'test' });
}, 60_000);

describe('a job that pauses and a job that resumes it', () => {
  it('pause mid-epoch: the curve ends with the validation there, validation predictions (no test ones), the network and the state to go on from', async () => {
    const paused = await processJob({ ...job, pauseAt: 0.5 }, data, { worker: 'test' });
    expect(paused.paused).toBeInstanceOf(Uint8Array);
    expect(paused.metrics.map((m) => m.epoch)).toEqual([0.5]);
    expect(paused.valAccuracy).toBe(paused.metrics[0]?.valAccuracy);
    expect(paused.valAccuracy).toBeGreaterThan(0);
    expect(Number.isFinite(paused.metrics[0]?.loss)).toBe(true);
    // Validation predictions of the network at the pause: the accuracy they give is the curve's point there.
    expect(paused.valProbs.length).toBe(data.val.y.length * data.numClasses);
    expect(paused.valMask.length).toBe(data.val.y.length);
    expect(paused.valMask.reduce((a, b) => a + b, 0) / paused.valMask.length).toBeCloseTo(paused.valAccuracy, 12);
    expect([paused.testProbs.length, paused.testMask.length]).toEqual([0, 0]);
    expect(Number.isNaN(paused.testAccuracy)).toBe(true);
    // Calibrated as a finished model's are (the search compares the two by log-loss), while the network kept for
    // the resume is the one training made: its own probabilities differ, and calibrating a copy gives the same ones.
    const network = decodeLoomModel(paused.weights).network;
    const validation = splitTensors(data, data.val);
    const raw = evaluate(network, validation);
    expect(Array.from(raw.probabilities)).not.toEqual(Array.from(paused.valProbs));
    const { temperature } = calibrateTemperature(network, validation.x, validation.y);
    expect(temperature).not.toBeCloseTo(1, 2);
    const calibrated = evaluate(network, validation).probabilities;
    paused.valProbs.forEach((p, i) => expect(p).toBeCloseTo(calibrated[i] as number, 5));
    expect(decodeLoomModel(paused.weights).network.paramCount()).toBe(straight.paramCount);
    const state = decodeTrainState(paused.paused as Uint8Array);
    expect(state.epoch).toBe(1);
    expect(state.rowsDone).toBeGreaterThan(0);
  });

  it('resumed, through the wire format, ends as the job that never paused: the same predictions, weights and curve', async () => {
    const paused = await processJob({ ...job, pauseAt: 0.5 }, data, { worker: 'test' });
    const resumed = await processJob({ ...job, resumeFrom: resumePointOf(paused) }, data, { worker: 'test' });
    expect(resumed.paused).toBeUndefined();
    expect(Array.from(resumed.valProbs)).toEqual(Array.from(straight.valProbs));
    expect(Array.from(resumed.testProbs)).toEqual(Array.from(straight.testProbs));
    expect(Array.from(resumed.weights)).toEqual(Array.from(straight.weights));
    expect(withoutTimes(resumed)).toEqual(withoutTimes(straight));
  });

  it('pauses twice (at an epoch end, then within the next epoch) and still ends as the straight job', async () => {
    const first = await processJob({ ...job, pauseAt: 1 }, data, { worker: 'test' });
    expect(first.metrics.map((m) => m.epoch)).toEqual([1]); // the epoch's own validation is the pause point
    expect(first.metrics[0]?.valAccuracy).toBe(straight.metrics[0]?.valAccuracy);
    const second = await processJob({ ...job, pauseAt: 1.5, resumeFrom: resumePointOf(first) }, data, { worker: 'test' });
    expect(second.metrics.map((m) => m.epoch)).toEqual([1, 1.5]);
    const last = await processJob({ ...job, resumeFrom: resumePointOf(second) }, data, { worker: 'test' });
    expect(Array.from(last.weights)).toEqual(Array.from(straight.weights));
    expect(withoutTimes(last)).toEqual(withoutTimes(straight));
  });

  it('a child that inherited its parent\'s weights, paused and resumed, is the child one job makes (its file names the parent)', async () => {
    const warmStart = { modelId: 'parent', weights: Buffer.from(straight.weights).toString('base64') };
    const child = await processJob({ ...job, modelId: 'child', warmStart }, data, { worker: 'test' });
    const paused = await processJob({ ...job, modelId: 'child', warmStart, pauseAt: 0.5 }, data, { worker: 'test' });
    const resumed = await processJob({ ...job, modelId: 'child', resumeFrom: resumePointOf(paused) }, data, { worker: 'test' });
    expect(decodeLoomModel(resumed.weights).metadata.inheritedFrom).toBe('parent');
    expect(Array.from(resumed.weights)).toEqual(Array.from(child.weights));
    expect(Array.from(resumed.valProbs)).not.toEqual(Array.from(straight.valProbs)); // inheriting changed the model
  });

  it('refuses a resume that cannot be the same model, and a pause a k-fold job cannot make', async () => {
    const paused = await processJob({ ...job, pauseAt: 0.5 }, data, { worker: 'test' });
    const point = resumePointOf(paused);
    const other = { ...job, arch: finishConfig({ ...job.arch, dModel: 16 }) };
    await expect(processJob({ ...other, resumeFrom: point }, data, { worker: 'test' })).rejects.toThrow(/weights: tensor "[^"]+" has shape/);
    await expect(processJob({ ...job, resumeFrom: point, warmStart: { modelId: 'p', weights: point.weights } }, data, { worker: 'test' })).rejects.toThrow(/resumes a paused run or inherits weights, not both/);
    await expect(processJob({ ...job, resumeFrom: { ...point, state: 'bm90IGEgc3RhdGU=' } }, data, { worker: 'test' })).rejects.toThrow(/not a Loom training state/);
    const folds = loadDataset('iris', { splitSeed: 2, kfold: 3 });
    await expect(processJob({ ...job, pauseAt: 1 }, folds, { worker: 'test' })).rejects.toThrow(/a k-fold job cannot pause or resume/);
  });

  it('a queue job with a bad pauseAt or resumeFrom is refused with the field named', async () => {
    const run = (data: unknown): Promise<WireResult> => processTrainingJob({ data, updateProgress: async () => {} } as unknown as SandboxedJob<TrainingJob, WireResult>);
    await expect(run({ ...job, pauseAt: -1 })).rejects.toThrow(/pauseAt must be a positive number of epochs/);
    await expect(run({ ...job, resumeFrom: { modelId: 'm1', weights: 'AAAA' } })).rejects.toThrow(/resumeFrom must be \{modelId, weights \(base64\), state \(base64\)\}/);
  });
});
