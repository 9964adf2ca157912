import { describe, expect, it } from 'vitest';
import { loomErrorOf as errorOf } from '../helpers/errors.js';
import { loadDataset, readRaw, stratifiedSplit } from '../../src/data/index.js';
import { preprocessingFor } from '../../src/data/preprocessing.js';
import { applyPreprocessing, parsePreprocessing, type Preprocessing } from '../../src/engine/preprocess.js';

const table: Preprocessing = {
  version: 1,
  inputShape: [2],
  layout: { kind: 'features' },
  features: ['a', 'b'],
  normalization: { kind: 'zscore', mean: [10, -2], std: [2, 0.5] },
  classes: ['no', 'yes'],
  labelColumn: { name: 'label', index: 1 },
};

describe('applyPreprocessing', () => {
  it('z-scores raw rows into one row-major Float32Array', () => {
    const x = applyPreprocessing(table, [[12, -2], [9, -3]]);
    expect(Array.from(x)).toEqual([1, 0, -0.5, -2]);
    const none = applyPreprocessing({ ...table, normalization: { kind: 'none' } }, [[12, -2]]);
    expect(Array.from(none)).toEqual([12, -2]);
  });

  it('names the row and the feature of a wrong-length row, a non-finite value or a float32 overflow', () => {
    expect(errorOf(() => applyPreprocessing(table, [[1, 2], [1]])).message).toBe('row 1 has 1 values, the model takes 2 (input shape [2])');
    expect(errorOf(() => applyPreprocessing(table, [[1, NaN]])).message).toBe('row 0, "b": NaN is not a finite number');
    expect(errorOf(() => applyPreprocessing(table, [[Infinity, 1]])).code).toBe('LOOM_ERR_DATA');
    // 3e38 is a float32, but 3e38 / 0.5 is not.
    const wide = { ...table, normalization: { kind: 'zscore' as const, mean: [0, 0], std: [1, 0.5] } };
    expect(errorOf(() => applyPreprocessing(wide, [[0, 3e38]])).message).toBe('row 0, "b": 3e+38 is beyond float32\'s range once normalized');
  });
});

describe('parsePreprocessing', () => {
  it('round-trips through JSON and rejects each malformed field by name', () => {
    expect(parsePreprocessing(JSON.parse(JSON.stringify(table)))).toEqual(table);
    const bad = (patch: Record<string, unknown>): string => errorOf(() => parsePreprocessing({ ...table, ...patch })).message;
    expect(bad({ version: 3 })).toMatch(/version 3 is newer/);
    expect(bad({ inputShape: [0] })).toMatch(/inputShape must be a list of positive integers/);
    expect(bad({ features: ['a'] })).toMatch(/features names 1 values, the input has 2/);
    expect(bad({ normalization: { kind: 'zscore', mean: [0, 0], std: [1, 0] } })).toMatch(/std\[1\] is 0, not a positive finite number/);
    expect(bad({ normalization: { kind: 'minmax' } })).toMatch(/normalization.kind must be none or zscore/);
    expect(bad({ layout: { kind: 'image', height: 3, width: 3 } })).toMatch(/height and width must be the input shape \[2\]/);
    expect(bad({ classes: 'yes' })).toMatch(/classes must be a list of strings/);
    expect(bad({ labelColumn: { name: 'label', index: 7 } })).toMatch(/labelColumn must be/);
    expect(errorOf(() => parsePreprocessing([1, 2])).code).toBe('LOOM_ERR_MODEL_FILE');
  });
});

describe('preprocessingFor (a loaded data set)', () => {
  it('keeps the split\'s z-score statistics, the column names and the classes of a table', () => {
    const data = loadDataset('iris', { splitSeed: 1 });
    const p = preprocessingFor(data);
    expect(p.normalization).toEqual(data.normalization);
    expect(p.features).toEqual(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    expect(p.classes).toEqual(data.classNames);
    expect(parsePreprocessing(JSON.parse(JSON.stringify(p)))).toEqual(p);
    // Raw rows of the train split, put through the stored preprocessing, are exactly the split's normalized rows.
    const raw = readRaw('iris');
    const rows = stratifiedSplit(raw, { splitSeed: 1 }).train.map((i) => Array.from(raw.x.subarray(i * 4, i * 4 + 4)));
    expect(applyPreprocessing(p, rows)).toEqual(data.train.x);
  });

  it('describes images and sequences by their token layout, without normalization when the data had none', () => {
    const bars = preprocessingFor(loadDataset('synthetic:bars', { splitSeed: 0 }));
    expect(bars.layout).toEqual({ kind: 'image', height: 8, width: 8 });
    expect(bars.normalization).toEqual({ kind: 'none' });
    expect(bars.features).toEqual([]);
    const seq = preprocessingFor(loadDataset('synthetic:sequence', { splitSeed: 0 }));
    expect(seq.layout).toEqual({ kind: 'sequence', steps: 8, channels: 3 });
  });
});
