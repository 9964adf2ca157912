import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Rng } from '../../../src/engine/rng.js';
import { generateConfigs } from '../../../src/search/arch.js';
import { DEFAULT_TRAINING, parseSearchConfig, type SearchConfig } from '../../../src/search/config.js';
import { loadDataset } from '../../../src/data/index.js';
import type { TrainingJob } from '../../../src/search/jobs.js';

/** Shared plumbing for the queue tests: isolated prefixes, spawned CLI processes, tiny configs. */
export const REDIS_URL = process.env.LOOM_TEST_REDIS ?? 'redis://127.0.0.1:6379';
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let counter = 0;
/** A Redis key prefix no other test (or test run) uses. */
export const uniquePrefix = (label: string): string => `loomtest-${label}-${process.pid}-${++counter}-${Date.now().toString(36)}`;

/** Deletes every key under a prefix. */
export async function deletePrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface Spawned {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves when the output matches, rejects when the process exits first. */
  waitFor(pattern: RegExp): Promise<string>;
  readonly exit: Promise<number | null>;
}

export function spawnLoom(command: string, args: readonly string[]): Spawned {
  const child = spawn(process.execPath, ['bin/loom.mjs', command, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString();
    for (const l of [...listeners]) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return {
    child,
    output: () => text,
    exit,
    waitFor: (pattern) =>
      new Promise<string>((res, rej) => {
        const check = (): void => {
          const m = text.match(pattern);
          if (m) {
            listeners.delete(check);
            res(m[0]);
          }
        };
        listeners.add(check);
        check();
        void exit.then((code) => {
          listeners.delete(check);
          rej(new Error(`process exited (${code}) before printing ${pattern}:\n${text}`));
        });
      }),
  };
}

/** Starts `loom worker` on a prefix and waits until it is ready. */
export async function startWorker(prefix: string, name: string, extra: readonly string[] = []): Promise<Spawned> {
  const w = spawnLoom('worker', ['--redis', REDIS_URL, '--prefix', prefix, '--name', name, '--device', 'cpu', '--concurrency', '1', ...extra]);
  await w.waitFor(/ready/);
  return w;
}

/** Kills what a test spawned (by pid) and waits for it to be gone. */
export async function stopAll(spawned: readonly Spawned[]): Promise<void> {
  await Promise.all(
    spawned.map(async (s) => {
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
      await s.exit;
    }),
  );
}

/** A search small enough for tests: 4-feature blobs, tiny grids, a couple of epochs. */
export function tinyConfig(overrides: Record<string, unknown> = {}): SearchConfig {
  return parseSearchConfig({
    name: 'queue-test',
    seed: 11,
    data: { ref: 'synthetic:blobs' },
    population: 3,
    generations: 1,
    elite: 1,
    training: { epochs: 2, batchSize: 32 },
    generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono', '2x2 Standard'], maxBrains: 4 },
    ...overrides,
  });
}

/** One training job on synthetic blobs, built directly (no coordinator), with `epochs` epochs. */
export function tinyJob(runId: string, epochs: number): TrainingJob {
  const dataset = loadDataset('synthetic:blobs', { splitSeed: 1 });
  const [arch] = generateConfigs(1, { inputShape: dataset.inputShape, numClasses: dataset.numClasses }, new Rng(5), { dModels: [8], numHeads: [2], maxBrains: 1 });
  if (!arch) throw new Error('no config generated');
  return {
    runId,
    modelId: arch.id,
    generation: 0,
    arch,
    data: { ref: 'synthetic:blobs', checksum: dataset.checksum, splitSeed: 1 },
    training: { ...DEFAULT_TRAINING, epochs },
    seed: 3,
  };
}
