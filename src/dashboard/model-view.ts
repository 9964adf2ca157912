import type { LayerSpec } from '../engine/layers/types.js';
import { argmax } from '../engine/math.js';
import { validateConfig, type ArchConfig } from '../search/arch.js';
import { buildNetworkSpec } from '../search/build.js';
import type { Store } from '../store/store.js';
import type { EpochMetrics, ModelRecord, RunRecord } from '../store/types.js';
import type { LabelSource } from './labels.js';
import type { ConfusionType, ModelDetailReplyType, ModelRowType } from './schemas/models.js';

/** Model records → the population table's rows and the model page. */

type Loose = Record<string, unknown>;
const numOr = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const intOr = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null);
const strOr = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** "MHA×2 LSTM×1" in first-seen order. */
export function brainCounts(brains: readonly unknown[]): string {
  const counts = new Map<string, number>();
  for (const b of brains) counts.set(String(b), (counts.get(String(b)) ?? 0) + 1);
  return [...counts].map(([b, n]) => `${b}×${n}`).join(' ');
}

/** The row of one model; arch fields are read loosely, so a run whose archs are not search configs still lists. */
export function modelRow(m: ModelRecord): ModelRowType {
  const a = (m.arch !== null && typeof m.arch === 'object' ? m.arch : {}) as Loose;
  return {
    modelId: m.modelId,
    generation: m.generation,
    status: m.status,
    species: strOr(a['species']),
    gridRows: intOr(a['gridRows']),
    gridCols: intOr(a['gridCols']),
    brains: Array.isArray(a['brains']) ? brainCounts(a['brains']) : null,
    combineMode: strOr(a['combineMode']),
    dModel: intOr(a['dModel']),
    numHeads: intOr(a['numHeads']),
    learningRate: numOr(a['learningRate']),
    activation: strOr(a['activation']),
    origin: strOr(a['origin']),
    paramCount: m.paramCount,
    valAccuracy: m.valAccuracy,
    testAccuracy: m.testAccuracy,
    trainMs: m.trainMs,
    worker: m.worker,
    attempts: m.attempts,
    fitness: m.fitness,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}

/** One line about a layer spec: its type and the fields that size it (nested layers summarized, not listed). */
export function describeLayer(spec: LayerSpec): string {
  const s = spec as unknown as Loose;
  if (s['type'] === 'parallel' && Array.isArray(s['branches'])) {
    const kinds = (s['branches'] as LayerSpec[]).map((b) => branchName(b));
    return `${kinds.length} brains (${brainCounts(kinds)}), combine ${String(s['combine'] ?? 'concat')}`;
  }
  if (s['type'] === 'sequential' && Array.isArray(s['layers'])) return (s['layers'] as LayerSpec[]).map((l) => l.type).join(' → ');
  return Object.entries(s)
    .filter(([k, v]) => k !== 'type' && (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean'))
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
}

function branchName(spec: LayerSpec): string {
  const s = spec as unknown as Loose;
  if (s['type'] === 'sequential' && Array.isArray(s['layers'])) return (s['layers'] as LayerSpec[]).map((l) => l.type).join('+');
  return spec.type;
}

function layersOf(config: ArchConfig): ModelDetailReplyType['layers'] {
  // The search builder's layer list for a task laid out as the config's own tokens (the reshape in front of it,
  // if the data needed one, does not change the hive).
  const spec = buildNetworkSpec(config, { inputShape: [config.seqLen, config.tokenDim], numClasses: config.numClasses });
  return spec.layers.map((layer, index) => ({ index, type: layer.type, detail: describeLayer(layer) }));
}

function hiveOf(config: ArchConfig): NonNullable<ModelDetailReplyType['hive']> {
  return {
    rows: config.gridRows,
    cols: config.gridCols,
    combineMode: config.combineMode,
    dModel: config.dModel,
    numHeads: config.numHeads,
    activation: config.activation,
    // Brain i sits on cell (i / cols, i % cols), row-major, as the builder lays them out.
    cells: config.brains.map((brain, i) => ({ row: Math.floor(i / config.gridCols), col: i % config.gridCols, brain })),
  };
}

/** The test confusion matrix: stored test probabilities (argmax) against the data set's test labels. */
export function confusionOf(store: Store, run: RunRecord, model: ModelRecord, labels: LabelSource): ConfusionType {
  const empty = (note: string): ConfusionType => ({ available: false, note, split: 'test', classNames: [], matrix: [], samples: 0 });
  if (model.status !== 'done') return empty('the model has not finished training');
  let probs: Float32Array;
  let numClasses: number;
  let numSamples: number;
  try {
    const p = store.getPredictions(run.id, 'test', [model.modelId]);
    probs = p.probs[0] as Float32Array;
    numClasses = p.numClasses;
    numSamples = p.numSamples;
  } catch {
    return empty('no test predictions are stored for this model');
  }
  const truth = labels.testLabels(run);
  if ('error' in truth) return empty(`the test labels are not stored in the run database and could not be rebuilt: ${truth.error}`);
  if (truth.labels.length !== numSamples) {
    return empty(`the rebuilt test split has ${truth.labels.length} samples but the stored predictions have ${numSamples}`);
  }
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < numSamples; i++) {
    const arg = argmax(probs, i * numClasses, numClasses);
    const row = matrix[truth.labels[i] as number];
    if (row && arg >= 0) row[arg] = (row[arg] as number) + 1;
  }
  const classNames = truth.classNames.length === numClasses ? [...truth.classNames] : Array.from({ length: numClasses }, (_, c) => String(c));
  return { available: true, note: `test labels rebuilt from ${run.dataRef} (checksum verified)`, split: 'test', classNames, matrix, samples: numSamples };
}

export const epochs = (metrics: readonly EpochMetrics[] | null): ModelDetailReplyType['metrics'] =>
  // The API keeps its field names; the store holds the training loop's (loss, accuracy, lr). NaN → absent.
  (metrics ?? []).map((e) => ({
    epoch: e.epoch,
    trainLoss: Number.isFinite(e.loss) ? e.loss : 0,
    ...(Number.isFinite(e.accuracy) ? { trainAccuracy: e.accuracy } : {}),
    ...(e.valLoss !== undefined && Number.isFinite(e.valLoss) ? { valLoss: e.valLoss } : {}),
    ...(e.valAccuracy !== undefined && Number.isFinite(e.valAccuracy) ? { valAccuracy: e.valAccuracy } : {}),
    ...(Number.isFinite(e.lr) ? { learningRate: e.lr } : {}),
    ...(Number.isFinite(e.ms) ? { ms: e.ms } : {}),
  }));

export function modelDetail(store: Store, run: RunRecord, model: ModelRecord, labels: LabelSource): ModelDetailReplyType {
  let config: ArchConfig | null = null;
  try {
    config = validateConfig(model.arch);
  } catch {
    config = null; // not a search config: show the raw arch, no hive picture
  }
  let layers: ModelDetailReplyType['layers'] = [];
  try {
    if (config) layers = layersOf(config);
  } catch {
    layers = [];
  }
  return {
    runId: run.id,
    model: modelRow(model),
    arch: model.arch,
    parentIds: [...model.parentIds],
    seed: model.seed,
    error: model.error,
    fitnessParts: model.fitnessParts ? { ...model.fitnessParts } : null,
    metrics: epochs(model.metrics),
    hive: config ? hiveOf(config) : null,
    layers,
    confusion: confusionOf(store, run, model, labels),
    hasWeights: store.getWeights(run.id, model.modelId) !== undefined,
  };
}
