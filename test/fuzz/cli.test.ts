import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModels, pickModel } from '../../src/engine/io/model.js';
import { encodeLoomBundle } from '../../src/engine/io/loom-bundle.js';
import { Store } from '../../src/store/store.js';
import { buildFixture, FINISHED, type Fixture } from '../dashboard/fixture.js';
import { BASE_CONFIG, cliCases, type CliCase } from './cases.js';
import { changedFiles, firstLine, runCli, snapshot, STACK } from './harness.js';

/**
 * Bad inputs through the whole CLI, in this process: configs, CSVs, model files, predict inputs, flags and Redis
 * URLs (cases.ts). Each must exit non-zero with one message naming the problem, print no stack trace, finish
 * in bounded time and leave every file as it was.
 */
const cases = cliCases();
let sandbox: string;
let fx: Fixture;

const resolveArg = (arg: string): string =>
  arg === 'DB' ? fx.dbPath : arg === 'RUN' ? FINISHED : arg.replace(/^RUN:/, `${FINISHED}:`).replaceAll('SANDBOX/', `${sandbox}/`);

function write(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, typeof content === 'string' ? content.replaceAll('SANDBOX/', `${sandbox}/`) : content);
}

beforeAll(async () => {
  sandbox = mkdtempSync(join(tmpdir(), 'loom-fuzz-'));
  fx = buildFixture();
  // The good files the bad ones are variations of.
  write(join(sandbox, 'configs/valid.json'), JSON.stringify(BASE_CONFIG));
  write(join(sandbox, 'data/ok.csv'), 'a,b,label\n1,2,x\n3,4,y\n');
  write(join(sandbox, 'inputs/good.json'), '[[5.1, 3.5, 1.4, 0.2]]');
  const reader = Store.open(fx.dbPath, { readonly: true });
  const modelId = reader.listModels(FINISHED, { status: 'done' })[0]?.modelId as string;
  const good = reader.getWeights(FINISHED, modelId)?.bytes as Uint8Array;
  reader.close();
  write(join(sandbox, 'models/good.loom'), good);
  write(join(sandbox, 'models/truncated.loom'), good.slice(0, Math.floor(good.length / 2)));
  const network = pickModel(decodeModels(good)).network;
  const bundle = JSON.parse(encodeLoomBundle([{ id: 'a', network }])) as { models: unknown[] };
  write(join(sandbox, 'models/dup.json'), JSON.stringify({ ...bundle, models: [bundle.models[0], bundle.models[0]] }));
  for (const c of cases) for (const [path, content] of Object.entries(c.files ?? {})) write(join(sandbox, path), content);
  // Load every command's module once, so the time bound measures the command, not the first import.
  for (const name of ['search', 'runs', 'show', 'analyze', 'graft', 'export', 'predict', 'inspect', 'dashboard', 'worker', 'workers']) await runCli([name, '--help'], 60_000);
}, 120_000);

afterAll(() => {
  fx?.writer.close();
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
  if (sandbox) rmSync(sandbox, { recursive: true, force: true });
});

describe('fuzz: bad CLI inputs', () => {
  it('has at least 120 CLI cases with unique names', () => {
    expect(cases.length).toBeGreaterThanOrEqual(120);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c: CliCase) => {
    const before = new Map([...snapshot(sandbox), ...snapshot(fx.dir)]);
    const timeoutMs = c.timeoutMs ?? 8_000;
    const out = await runCli(c.argv.map(resolveArg), timeoutMs);
    const report = `argv: ${c.argv.join(' ')}\nexit: ${out.code} in ${out.ms} ms\nstderr: ${out.stderr.slice(0, 1500)}\nstdout: ${out.stdout.slice(0, 500)}`;
    expect(out.code, report).not.toBe('timeout');
    expect(out.code, report).not.toBe('threw');
    expect(out.code, report).not.toBe(0);
    expect(firstLine(out.stderr), report).toMatch(c.expect);
    expect(STACK.test(out.stderr) || STACK.test(out.stdout), report).toBe(false);
    expect(out.ms, report).toBeLessThanOrEqual(timeoutMs);
    expect(changedFiles(before, new Map([...snapshot(sandbox), ...snapshot(fx.dir)])), report).toEqual([]);
  });

  // Valid on paper, hopeless in practice: every model diverges. The run is recorded (as failed), so here the
  // database is an output; the command must still fail, and say why, even with --quiet.
  it('a search in which every model fails exits non-zero with the first failure\'s reason', async () => {
    const config = { ...BASE_CONFIG, training: { epochs: 5, batchSize: 8 }, generator: { ...BASE_CONFIG.generator, lrMin: 1e30, lrMax: 1e30 } };
    write(join(sandbox, 'configs/diverge.json'), JSON.stringify(config));
    const out = await runCli(['search', `${sandbox}/configs/diverge.json`, '--db', `${sandbox}/diverge/runs.db`, '--quiet', '--workers', '1'], 120_000);
    const report = `exit ${out.code}: ${out.stderr.slice(0, 1500)}`;
    expect(out.code, report).toBe(1);
    expect(out.stderr, report).toMatch(/model g0-\S+ failed after 1 attempt|failed after \d attempt/); // shown despite --quiet
    expect(out.stderr, report).toMatch(/loom search: every model of run \S+ failed \(2\); the first, g0-\S+: /);
    expect(STACK.test(out.stderr), report).toBe(false);
    const store = Store.open(`${sandbox}/diverge/runs.db`, { readonly: true });
    expect(store.listRuns().map((r) => r.status)).toEqual(['failed']);
    store.close();
  }, 150_000);
});
