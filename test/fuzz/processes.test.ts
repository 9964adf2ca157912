import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { BASE_CONFIG } from './cases.js';
import { STACK } from './harness.js';

/**
 * The few bad inputs that must be tried on a real process: what matters is that the process exits (promptly, with
 * no connection or server left holding it open) and how it exits. Each is timed against a baseline start of the
 * CLI on this machine, which is slow and shared.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'loom-fuzz-proc-'));
let baselineMs = 0;
/** The dashboard command loads Fastify and every page at start: its own baseline. */
let dashboardBaselineMs = 0;
let busy: Server;
let busyPort = 0;

function loom(args: readonly string[], limitMs = 60_000): Promise<{ code: number | null; stderr: string; stdout: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['bin/loom.mjs', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((res) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      res({ code, stderr, stdout, ms: Date.now() - started });
    }),
  );
}

beforeAll(async () => {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(BASE_CONFIG));
  writeFileSync(join(dir, 'not-a-db.txt'), 'hello, I am not SQLite\n'.repeat(100));
  Store.open(join(dir, 'ok.db')).close();
  writeFileSync(join(dir, 'deep.json'), `[${'['.repeat(100_000)}1${']'.repeat(100_000)}]`);
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  busyPort = (busy.address() as { port: number }).port;
  baselineMs = (await loom(['runs', '--db', join(dir, 'none.db')])).ms;
  dashboardBaselineMs = (await loom(['dashboard', '--db', join(dir, 'none.db')])).ms;
}, 120_000);

afterAll(async () => {
  await new Promise((r) => busy.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const CASES: ReadonlyArray<readonly [string, () => string[], number, RegExp]> = [
  ['search --redis with database 99', () => ['search', join(dir, 'config.json'), '--db', join(dir, 'a.db'), '--redis', 'redis://127.0.0.1:6379/99'], 2, /no database 99/],
  ['search --redis unreachable', () => ['search', join(dir, 'config.json'), '--db', join(dir, 'a.db'), '--redis', 'redis://127.0.0.1:1'], 1, /cannot reach Redis/],
  ['search --redis URL --db FILE that is not SQLite', () => ['search', join(dir, 'config.json'), '--db', join(dir, 'not-a-db.txt'), '--redis', 'redis://127.0.0.1:6379'], 1, /not-a-db\.txt/],
  ['worker --redis with database 99', () => ['worker', '--redis', 'redis://127.0.0.1:6379/99', '--device', 'cpu'], 2, /no database 99/],
  ['dashboard on a port in use', () => ['dashboard', '--db', join(dir, 'ok.db'), '--port', String(busyPort)], 2, /already in use/],
  ['predict on an input nested 100000 deep', () => ['predict', '--model', join(dir, 'missing.loom'), '--input', join(dir, 'deep.json')], 1, /missing\.loom|not found/],
];

describe('fuzz: real processes exit promptly with one message', () => {
  it.each(CASES.map(([name, args, code, expectText]) => [name, args, code, expectText] as const))('%s', async (_name, args, code, expectText) => {
    const argv = args();
    const base = argv[0] === 'dashboard' ? dashboardBaselineMs : baselineMs;
    const out = await loom(argv);
    const report = `exit ${out.code} in ${out.ms} ms (baseline start ${base} ms)\nstderr: ${out.stderr.slice(0, 1500)}`;
    expect(out.code, report).toBe(code);
    expect(out.stderr.split('\n').find((l) => l.trim() !== '') ?? '', report).toMatch(expectText);
    expect(STACK.test(out.stderr), report).toBe(false);
    // Prompt: within 5 s of what starting the CLI costs here; an open Redis connection or server would hold it.
    expect(out.ms, report).toBeLessThanOrEqual(base + 5_000);
  }, 90_000);
});
