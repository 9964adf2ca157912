import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-sigint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `loom` as a real process; `onStderr` may signal it. Resolves with its exit code and output. */
function loom(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['bin/loom.mjs', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, child);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

it('Ctrl-C stops a search cleanly and --resume finishes it without redoing finished models', async () => {
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({
    seed: 4,
    data: { ref: 'synthetic:blobs' },
    population: 6,
    generations: 2,
    elite: 1,
    training: { epochs: 3, batchSize: 16 },
    generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono', '2x2 Standard'] },
  }));
  const db = join(dir, 'runs.db');
  let sent = false;
  const first = await loom(['search', config, '--db', db, '--workers', '1'], (stderr, child) => {
    // Interrupt once two models are done (the non-TTY progress line reads "2/11 models").
    if (!sent && /\b2\/11 models/.test(stderr)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  expect(sent).toBe(true);
  expect(first.code).toBe(130);
  const runId = /loom search --resume (\S+)/.exec(first.stdout)?.[1];
  expect(runId, first.stdout + first.stderr).toBeTruthy();

  const store = Store.open(db, { readonly: true });
  const doneBefore = store.listModels(runId!, { status: 'done' });
  expect(store.getRun(runId!)?.status).toBe('interrupted');
  expect(store.listModels(runId!, { status: 'running' })).toEqual([]);
  store.close();
  expect(doneBefore.length).toBeGreaterThanOrEqual(2);

  const second = await loom(['search', '--resume', runId!, '--db', db, '--json']);
  expect(second.code, second.stderr).toBe(0);
  expect(JSON.parse(second.stdout)).toMatchObject({ runId, status: 'finished', modelsTrained: 11 });
  const after = Store.open(db, { readonly: true });
  for (const m of doneBefore) {
    // Finished models were not trained again: their records are untouched.
    expect(after.getModel(runId!, m.modelId)?.updatedAt).toBe(m.updatedAt);
  }
  after.close();
});

it('one Ctrl-C stops a model in the middle of a long training instead of waiting for it', async () => {
  const config = join(dir, 'long.json');
  // 10,000 epochs: minutes per model; the interrupt must not wait for it.
  writeFileSync(config, JSON.stringify({
    seed: 5,
    data: { ref: 'synthetic:blobs' },
    population: 2,
    generations: 1,
    elite: 1,
    training: { epochs: 10000, batchSize: 16 },
    generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono'] },
  }));
  const db = join(dir, 'long.db');
  let sentAt = 0;
  const result = await loom(['search', config, '--db', db, '--workers', '1'], (stderr, child) => {
    // Interrupt a few seconds after the run starts: the first model is then deep in its 10,000 epochs.
    if (!sentAt && /models over 1 generations/.test(stderr)) {
      sentAt = -1;
      setTimeout(() => {
        sentAt = Date.now();
        child.kill('SIGINT');
      }, 3000);
    }
  });
  expect(sentAt, result.stderr).toBeGreaterThan(0);
  expect(result.code).toBe(130);
  expect(Date.now() - sentAt).toBeLessThan(15_000);
  const store = Store.open(db, { readonly: true });
  const runId = store.listRuns()[0]?.id as string;
  expect(store.getRun(runId)?.status).toBe('interrupted');
  expect(store.listModels(runId, { status: 'running' })).toEqual([]);
  expect(store.listModels(runId, { status: 'pending' }).length).toBe(2);
  store.close();
});
