import { dataError } from '../engine/errors.js';
import { decodeModels, pickModel, type LoadedModel } from '../engine/io/model.js';
import { predict as forwardAll } from '../engine/eval.js';
import { networkBlueprint, type NetworkBlueprint } from '../engine/observe.js';
import { applyPreprocessing, PREPROCESSING_VERSION, rawSize, type Preprocessing, type RawColumn, type RawValue } from '../engine/preprocess.js';
import { argmax, softmaxRow } from '../engine/math.js';
import { endsInSoftmax } from '../engine/train/losses.js';

/**
 * Running a saved model on raw rows, the one way `loom serve`, the library's `predict()` and the browser build do
 * it: the model's preprocessing (normalization) first, then batched inference, then class probabilities (the
 * output itself when the network ends in a softmax, else the softmax of its logits) and the most likely label.
 * Pure computation: no file system, no server, so the browser bundle uses it as it is.
 */

export interface Prediction {
  /** The most likely class's name (its index as a string when the file names no classes). */
  readonly label: string;
  readonly index: number;
  readonly probabilities: number[];
}

/** What a client needs to call a model: its inputs, classes and architecture. */
export interface ModelDescription {
  readonly modelId: string;
  readonly format: string;
  /** Raw values per sample (a table with text or missing values: its raw columns), and the shape the network sees. */
  readonly inputSize: number;
  readonly inputShape: readonly number[];
  /** Names of the network's input values (table columns, or their one-hot expansion), empty when unnamed. */
  readonly features: readonly string[];
  /** A table with text or missing values: the raw columns a row holds (numbers and categories); else empty. */
  readonly columns: readonly RawColumn[];
  readonly layout: Preprocessing['layout'];
  readonly normalization: Preprocessing['normalization']['kind'];
  readonly classes: readonly string[];
  readonly outputShape: readonly number[];
  readonly paramCount: number;
  /** False for files written before preprocessing was stored: rows then go in as they are. */
  readonly preprocessingStored: boolean;
  readonly blueprint: NetworkBlueprint;
}

/** Decodes model bytes (Loom file or LOOM bundle, told apart by content) and picks one model. */
export function modelFromBytes(bytes: Uint8Array, modelId?: string): LoadedModel {
  return pickModel(decodeModels(bytes), modelId);
}

/** The model's stored preprocessing, or for older files the identity with numbered classes. */
export function preprocessingOf(model: LoadedModel): Preprocessing {
  if (model.preprocessing) return model.preprocessing;
  const out = model.network.outputShape;
  const classes = out.length === 1 ? Array.from({ length: out[0] as number }, (_, i) => String(i)) : ['0'];
  return { version: PREPROCESSING_VERSION, inputShape: [...model.network.inputShape], layout: { kind: 'features' }, features: [], normalization: { kind: 'none' }, classes };
}

export function describeModel(model: LoadedModel): ModelDescription {
  const p = preprocessingOf(model);
  return {
    modelId: model.modelId,
    format: model.format,
    inputSize: rawSize(p),
    inputShape: [...model.network.inputShape],
    features: [...p.features],
    columns: [...(p.columns ?? [])],
    layout: p.layout,
    normalization: p.normalization.kind,
    classes: [...p.classes],
    outputShape: [...model.network.outputShape],
    paramCount: model.network.paramCount(),
    preprocessingStored: model.preprocessing !== null,
    blueprint: networkBlueprint(model.network, model.modelId),
  };
}

/**
 * Raw rows (each one sample's values in the model's feature order, or its raw columns for a table with text or
 * missing values) → one prediction per row. A row of the wrong length or with a value the model cannot read is a
 * data error naming the row (and the column, when named).
 */
export function predictRows(model: LoadedModel, rows: readonly (readonly RawValue[])[], batchSize = 256): Prediction[] {
  const { network } = model;
  const p = preprocessingOf(model);
  const out = network.outputShape;
  if (out.length !== 1 || out[0] !== p.classes.length) {
    throw dataError(`model "${model.modelId}" outputs [${out.join(', ')}], not one score per class (${p.classes.length} classes)`);
  }
  if (rows.length === 0) return [];
  const x = applyPreprocessing(p, rows);
  const y = forwardAll(network, { data: x, shape: [rows.length, ...network.inputShape] }, batchSize);
  const classes = p.classes.length;
  const probabilitiesOut = endsInSoftmax(network);
  return rows.map((_, r) => {
    const row = Array.from(y.data.subarray(r * classes, (r + 1) * classes));
    if (!row.every(Number.isFinite)) throw dataError(`model "${model.modelId}" gave a non-finite output for row ${r}`);
    const probabilities = probabilitiesOut ? row : softmaxRow(row);
    const index = argmax(probabilities, 0, classes);
    return { label: p.classes[index] as string, index, probabilities };
  });
}

