import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';

const runFile = promisify(execFile);

/** Runs the CLI in this process and captures what it prints (console.log → out, console.error → err). */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    vi.restoreAllMocks();
  }
}

/** Runs the CLI like `cli`, then removes `dir` (a temporary folder its arguments point into) whatever happened. */
export async function cliThenRemove(dir: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    return await cli(...argv);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the real `loom` binary (bin/loom.mjs) as a process; resolves with stdout, stderr and the exit code. */
export async function loomProcess(args: readonly string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await runFile(process.execPath, ['bin/loom.mjs', ...args], { timeout: 120_000 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}
