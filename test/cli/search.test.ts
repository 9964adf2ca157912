import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loomProcess as loom } from '../helpers/cli.js';
import { intOption, parseCommandArgs } from '../../src/cli/args.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const writeConfig = (name: string, config: unknown): string => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
};

describe('loom search / runs / show', () => {
  it('runs a search end to end and prints one JSON object', async () => {
    const config = writeConfig('ok.json', {
      seed: 2,
      data: { ref: 'synthetic:blobs' },
      population: 3,
      generations: 2,
      elite: 1,
      // Enough steps at a high enough learning rate that every seed learns the blobs (1 epoch was a coin toss).
      training: { epochs: 2, batchSize: 16 },
      generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono'], lrMin: 0.003, lrMax: 0.01 },
      inherit: 'children',
    });
    const db = join(dir, 'cli.db');
    const res = await loom(['search', config, '--db', db, '--workers', '1', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const summary = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(summary.modelsTrained).toBe(5);
    expect(summary.status).toBe('finished');
    expect(typeof summary.runId).toBe('string');
    expect(summary.bestValAccuracy).toBeGreaterThan(0.5);
    expect(summary).toHaveProperty('bestTestAccuracy');
    expect(summary).toHaveProperty('wallSeconds');
    // The run ends with an ensemble chosen on validation data, grafted and exported next to the database.
    const ensemble = summary.ensemble as { members: string[]; valAccuracy: number; testAccuracy: number };
    expect(ensemble.members.length).toBeGreaterThanOrEqual(1);
    expect(ensemble.valAccuracy).toBeGreaterThanOrEqual(summary.bestValAccuracy as number);
    const files = summary.files as string[];
    expect(files.map((f) => f.endsWith(`${String(summary.runId)}/ensemble.loom`) || f.endsWith('ensemble.bundle.json'))).toEqual([true, true]);
    for (const f of files) expect(existsSync(f), f).toBe(true);
    const predicted = await loom(['inspect', '--model', files[0]!]);
    expect(predicted.code, predicted.stderr).toBe(0);

    const runs = await loom(['runs', '--db', db, '--json']);
    const list = JSON.parse(runs.stdout) as { id: string; modelsDone: number }[];
    expect(list.map((r) => r.id)).toEqual([summary.runId]);
    expect(list[0]!.modelsDone).toBe(5);

    const show = await loom(['show', String(summary.runId), '--db', db]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('generation 2');
    expect(show.stdout).toContain(String(summary.bestModelId));
    // The two children of generation 2 started from their parents' weights, and show says from which.
    const models = show.stdout.split('\n').filter((l) => /^    \S+ +val /.test(l));
    expect(models).toHaveLength(5);
    expect(models.filter((l) => /weights from \S+$/.test(l))).toHaveLength(2);
  });

  it('show says a finished run\'s untrained models were never started because the budget ran out', async () => {
    // 3 models × 2 epochs, then one child (8 epochs spent): the second child of generation 2 is written, never trained.
    const config = writeConfig('budget.json', {
      seed: 3,
      data: { ref: 'synthetic:blobs' },
      population: 3,
      elite: 1,
      budget: { epochs: 8 },
      training: { epochs: 2, batchSize: 16 },
      generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono'] },
    });
    const db = join(dir, 'budget.db');
    const res = await loom(['search', config, '--db', db, '--workers', '1', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const summary = JSON.parse(res.stdout) as { runId: string; modelsTrained: number };
    expect(summary.modelsTrained).toBe(4);
    const show = await loom(['show', summary.runId, '--db', db]);
    expect(show.stdout).toMatch(/4 done, 0 failed, 0 pruned, 1 not started \(budget spent\)/);
  });

  it('names the field and the allowed values for a bad config, before training', async () => {
    const bad = writeConfig('bad.json', { training: { optimizer: 'adam' } });
    const res = await loom(['search', bad, '--db', join(dir, 'bad.db')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/training\.optimizer.*"sgd", "momentum", "nesterov", "adamw", "rmsprop".*"adam"/);
    const unknown = writeConfig('unknown.json', { populaton: 4 });
    expect((await loom(['search', unknown])).stderr).toMatch(/"populaton": unknown field/);
  });

  it('asks for the lanes of a steady schedule through a queue, whose fleet it cannot count, before connecting', async () => {
    const steady = writeConfig('steady.json', { schedule: 'steady' });
    // An unreachable server: the config is refused first, so the error names the config, not the connection.
    const res = await loom(['search', steady, '--db', join(dir, 'steady.db'), '--redis', 'redis://127.0.0.1:1']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/"steady" schedule through a queue needs "lanes"/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('gives clear errors for a missing config, a missing data file and bad flags', async () => {
    expect((await loom(['search', join(dir, 'nope.json')])).stderr).toMatch(/config file not found/);
    const missingData = writeConfig('missing-data.json', { data: { ref: 'csv:/no/such/file.csv' } });
    const res = await loom(['search', missingData, '--db', join(dir, 'm.db')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/\/no\/such\/file\.csv/);
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const flag = await loom(['search', '--workers', 'two']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--workers must be an integer/);
  });

  it('refuses bad numbers at once with one clear message: bounds, seeds, negative flags, a missing config', async () => {
    const missing = join(dir, 'nope.json');
    const notFound = await loom(['search', missing]);
    expect(notFound.code).toBe(2);
    expect(notFound.stderr.trim()).toBe(`loom search: config file not found: ${missing}`);
    const cases: [string[], RegExp][] = [
      [['search', writeConfig('huge.json', { population: 1e9 })], /"population": must be an integer in \[2, 10000\], got 1000000000/],
      [['search', writeConfig('seed.json', { seed: 4294967297 })], /"seed": must be an integer in \[0, 2\^32\)/],
      [['search', '--seed', '1e30'], /--seed must be an integer in \[0, 4294967295\], got "1e30"/],
      [['search', '--seed', '-1'], /--seed must be an integer in \[0, 4294967295\], got "-1"/],
      [['search', '--workers', '-3'], /--workers must be an integer in \[1, 256\], got "-3"/],
      [['search', '--resume', 'r1', '--seed', '3'], /--seed cannot be combined with --resume/],
      [['show', 'r1', '--top', 'abc', '--db', join(dir, 'cli.db')], /--top must be an integer ≥ 1, got "abc"/],
    ];
    for (const [args, message] of cases) {
      const started = Date.now();
      const res = await loom(args);
      expect(res.code, args.join(' ')).not.toBe(0);
      expect(res.stderr, args.join(' ')).toMatch(message);
      expect(res.stderr, args.join(' ')).not.toMatch(/ambiguous|\n\s+at /);
      expect(Date.now() - started, args.join(' ')).toBeLessThan(30_000);
    }
  });

  it('reads a negative number after a flag as its value (so the range check can name it), not as an option', () => {
    const options = { port: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean' } } as const;
    expect(parseCommandArgs('x', ['--port', '-80', '--json'], options).values).toEqual({ port: '-80', json: true });
    expect(parseCommandArgs('x', ['--port', '-.5'], options).values.port).toBe('-.5');
    expect(() => intOption('port', '-80', 0, 65_535)).toThrow(/--port must be an integer in \[0, 65535\], got "-80"/);
    // A forgotten value is still an error, not the next flag taken as the value.
    expect(() => parseCommandArgs('x', ['--db', '--json'], options)).toThrow(/ambiguous[\s\S]*see loom x --help/);
    expect(() => intOption('seed', '', 0)).toThrow(/--seed must be an integer/);
  });

  it('has --help on every command', async () => {
    for (const cmd of ['search', 'runs', 'show', 'predict', 'inspect']) {
      const res = await loom([cmd, '--help']);
      expect(res.code, cmd).toBe(0);
      expect(res.stdout, cmd).toMatch(/usage: loom/);
    }
    expect((await loom(['--help'])).stdout).toMatch(/commands:/);
    expect((await loom(['frobnicate'])).code).toBe(2);
  });
});
