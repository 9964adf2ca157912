import { PREPROCESSING_VERSION, type InputLayout, type Preprocessing } from '../engine/preprocess.js';
import type { LoadedDataset } from './types.js';

/**
 * The preprocessing a model trained on a loaded data set needs, built from what loadDataset did: the same
 * normalization statistics (fitted on the train split), the column names of a table, the class labels.
 */

/** Data sets whose 2-d samples are pictures (each image row one token); other 2-d samples are sequences. */
const IMAGE_REFS: ReadonlySet<string> = new Set(['mnist', 'synthetic:bars']);

function layoutOf(data: Pick<LoadedDataset, 'ref' | 'inputShape'>): InputLayout {
  const shape = data.inputShape;
  if (shape.length === 1) return { kind: 'features' };
  if (shape.length === 2) {
    const [a, b] = shape as [number, number];
    return IMAGE_REFS.has(data.ref) ? { kind: 'image', height: a, width: b } : { kind: 'sequence', steps: a, channels: b };
  }
  // No loader gives other ranks today: plain values in inputShape's row-major order.
  return { kind: 'features' };
}

export function preprocessingFor(data: LoadedDataset): Preprocessing {
  const size = data.inputShape.reduce((a, b) => a * b, 1);
  const named = data.columns && data.columns.features.length === size ? data.columns : undefined;
  return {
    // Version 1 unless the table needs columns (version 2), so older Loom versions still read numeric models.
    version: 1,
    inputShape: [...data.inputShape],
    layout: layoutOf(data),
    features: named ? [...named.features] : [],
    normalization:
      data.normalization.kind === 'zscore'
        ? { kind: 'zscore', mean: [...data.normalization.mean], std: [...data.normalization.std] }
        : { kind: 'none' },
    classes: [...data.classNames],
    ...(named ? { labelColumn: { name: named.label.name, index: named.label.index } } : {}),
    ...(named?.raw ? { version: PREPROCESSING_VERSION, columns: named.raw.map((c) => ({ ...c })) } : {}),
  };
}
