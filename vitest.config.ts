import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's run mode uses one fork fewer than the cores: one on this project's 2-core machine, where the suite then
    // ran file by file (5.5 minutes a Node, 14.3 minutes for CI's two). Two forks: 4 minutes a Node, every test passing.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    minWorkers: 1,
    reporters: ['default'],
  },
});
