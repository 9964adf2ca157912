import { uncalibrate } from '../engine/calibration.js';
import { dataError } from '../engine/errors.js';
import { decodeLoomModel, type LoomModelFile } from '../engine/io/loom-format.js';
import { loadWeightsByName, paramTensors } from '../engine/io/weights.js';
import type { Network } from '../engine/network.js';
import type { TrainState } from '../engine/train/options.js';
import { decodeTrainState } from '../engine/train/state.js';
import { ensembleMembers } from '../ensemble/graft.js';
import type { ResumePoint, WarmStart } from '../search/jobs.js';

/**
 * What a job starts from other than its own init: a warm-started job (a config's `inherit`) from the parent's
 * networks as its training left them, a resumed job (`resumeFrom`) from its own paused run. A calibrated output
 * layer has its temperature taken back out, since training goes on from what the optimizer produced, not from
 * logits rescaled by a factor it never saw.
 */

/** A job's model file carried as base64 (a parent's, or a paused run's): `what` names it in an error. */
const decodeCarried = (source: WarmStart | ResumePoint, what: string): LoomModelFile => decodeLoomModel(Buffer.from(source.weights, 'base64'), `weights of ${what} ${source.modelId}`);
const decodeParent = (parent: WarmStart): LoomModelFile => decodeCarried(parent, 'parent');

/**
 * The training state of a paused run, with `network` put back as the pause left it (every param, or it is not the
 * same model), and the parent that run inherited from (its model file says), which the finished model's file
 * records too.
 */
export function resumePoint(network: Network, from: ResumePoint): { state: TrainState; inherited: Record<string, string> } {
  const paused = decodeCarried(from, 'the paused run of');
  loadWeightsByName(network, paramTensors(paused.network), { strict: true });
  const parent = paused.metadata.inheritedFrom;
  return { state: decodeTrainState(Buffer.from(from.state, 'base64')), inherited: typeof parent === 'string' ? { inheritedFrom: parent } : {} };
}

/**
 * The metadata a job's model file records of its calibration, written here beside its reader so the two agree on one
 * format: a single network's temperature, or a bag's per-fold list (comma-joined, 1 where calibration was not applied).
 */
export function temperatureMetadata(temperature: number | null): Record<string, string> {
  return temperature === null ? {} : { temperature: String(temperature) };
}

export function foldTemperaturesMetadata(temperatures: readonly (number | null)[]): Record<string, string> {
  return temperatures.some((t) => t !== null) ? { temperatures: temperatures.map((t) => t ?? 1).join(',') } : {};
}

const uncalibrated = (network: Network, stored: unknown): Network => {
  const temperature = Number(stored);
  if (stored !== undefined && temperature > 0 && Number.isFinite(temperature)) uncalibrate(network, temperature);
  return network;
};

/** A single-split parent's network. */
export function parentNetwork(parent: WarmStart): Network {
  const file = decodeParent(parent);
  if (file.metadata.folds !== undefined) throw dataError(`parent ${parent.modelId} is a k-fold bag; a single-split job cannot inherit from it`);
  return uncalibrated(file.network, file.metadata.temperature);
}

/**
 * A k-fold bag's fold networks in fold order, fold f uncalibrated by the f-th of its `temperatures`. A bag stopped
 * early (pruned, interrupted) holds only the folds it trained, so the list can be shorter than its `folds`.
 */
export function parentFoldNetworks(parent: WarmStart): Network[] {
  const file = decodeParent(parent);
  const members = file.metadata.folds === undefined ? null : ensembleMembers(file.network);
  if (!members) throw dataError(`parent ${parent.modelId} is not a k-fold bag; a k-fold job can only inherit from one`);
  const temperatures = typeof file.metadata.temperatures === 'string' ? file.metadata.temperatures.split(',') : [];
  return members.map(({ network }, f) => uncalibrated(network, temperatures[f]));
}
