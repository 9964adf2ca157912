// A small evolutionary search on synthetic data, as `loom search` runs it: worker threads, a SQLite run database,
// and the end-of-run analysis that grafts the best ensemble into one model file.
// Run: node examples/search.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { search } from 'loom';

const dir = mkdtempSync(join(tmpdir(), 'loom-search-example-'));
try {
  const { summary, finish } = await search(
    {
      seed: 1,
      data: { ref: 'synthetic:blobs' },
      population: 3,
      generations: 1,
      training: { epochs: 2, batchSize: 16 },
      generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono'], maxBrains: 1 },
    },
    { db: join(dir, 'loom.db'), workers: 1, outDir: join(dir, 'out') },
  );
  console.log(`run ${summary.runId}: ${summary.modelsTrained} models, best validation ${(summary.bestValAccuracy * 100).toFixed(1)}%`);
  if (finish) console.log(`ensemble of ${finish.ensemble.members.length}: test ${(finish.ensemble.testAccuracy * 100).toFixed(1)}%; files ${finish.files.map((f) => f.format).join(', ')}`);
  if (summary.status !== 'finished') process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
