import { loadDataset, type LoadDatasetOptions } from '../search/data/index.js';
import type { RunRecord } from '../store/types.js';

/**
 * The store keeps predictions and correctness masks but not the labels; the confusion matrix needs them. The run
 * records how its data was split (data ref, split seed, limit, fractions, checksum), so the test split is rebuilt
 * exactly as the coordinator built it, checked against the run's checksum, and cached per run. The path of a csv
 * data set comes from the run database, never from a request.
 */
export type TestLabels = { labels: Int32Array; classNames: readonly string[] } | { error: string };

export interface LabelSource {
  testLabels(run: RunRecord): TestLabels;
}

interface DataSection {
  splitSeed?: unknown;
  limit?: unknown;
  fractions?: unknown;
}

export function datasetLabelSource(): LabelSource {
  const cache = new Map<string, TestLabels>();
  return {
    testLabels(run) {
      const cached = cache.get(run.id);
      if (cached) return cached;
      let result: TestLabels;
      try {
        const data = ((run.config as { data?: DataSection } | null)?.data ?? {}) as DataSection;
        const options: LoadDatasetOptions = {
          seed: typeof data.splitSeed === 'number' ? data.splitSeed : 0,
          expectedChecksum: run.dataChecksum,
          ...(typeof data.limit === 'number' ? { limit: data.limit } : {}),
          ...(Array.isArray(data.fractions) && data.fractions.length === 3 ? { fractions: data.fractions as [number, number, number] } : {}),
        };
        const dataset = loadDataset(run.dataRef, options);
        result = { labels: dataset.test.y, classNames: dataset.classNames };
      } catch (err) {
        result = { error: err instanceof Error ? err.message : String(err) };
      }
      cache.set(run.id, result);
      return result;
    },
  };
}
