import { loadRunDataset } from '../ensemble/analyze.js';
import type { RunRecord } from '../store/types.js';

/**
 * The store keeps predictions and correctness masks but not the labels; the confusion matrix needs them. The run
 * records how its data was split, so the ensemble module's loadRunDataset rebuilds the test split exactly as the
 * coordinator built it (checksum checked); the result is cached per run. A csv data set's path comes from the run
 * database, never from a request.
 */
export type TestLabels = { labels: Int32Array; classNames: readonly string[] } | { error: string };

export interface LabelSource {
  testLabels(run: RunRecord): TestLabels;
}

export function datasetLabelSource(): LabelSource {
  const cache = new Map<string, TestLabels>();
  return {
    testLabels(run) {
      const cached = cache.get(run.id);
      if (cached) return cached;
      let result: TestLabels;
      try {
        const dataset = loadRunDataset(run);
        result = { labels: dataset.test.y, classNames: dataset.classNames };
      } catch (err) {
        result = { error: err instanceof Error ? err.message : String(err) };
      }
      cache.set(run.id, result);
      return result;
    },
  };
}
