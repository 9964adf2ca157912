import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';

/**
 * Runs the CLI in this process (main(argv) with its output captured and its exit code returned), and checks
 * what a bad input must produce: a non-zero exit, one message naming the problem, no stack trace, bounded time,
 * no file changed.
 */

export interface CliOutcome {
  readonly code: number | 'threw' | 'timeout';
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export async function runCli(argv: readonly string[], timeoutMs: number): Promise<CliOutcome> {
  let stdout = '';
  let stderr = '';
  const text = (args: unknown[]): string => `${args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? (a.stack ?? a.message) : JSON.stringify(a))).join(' ')}\n`;
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += text(a))),
    vi.spyOn(console, 'info').mockImplementation((...a: unknown[]) => void (stdout += text(a))),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += text(a))),
    vi.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void (stderr += text(a))),
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)),
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)),
  ];
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await Promise.race([
      main([...argv]).catch((err: unknown) => {
        stderr += err instanceof Error ? (err.stack ?? err.message) : String(err);
        return 'threw' as const;
      }),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]);
    return { code, stdout, stderr, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
    for (const s of spies) s.mockRestore();
  }
}

/** A stack frame ("    at fn (file:1:2)") or an uncaught error's class name at the start of a line. */
export const STACK = /^\s+at\s+\S.*(:\d+:\d+\)?|<anonymous>)$|^(TypeError|RangeError|ReferenceError|SyntaxError|ReplyError|Error)\b/m;

/** Every file under `dir` (recursively) with its content hash: compared before and after a case. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      // SQLite's shared-memory index of a WAL database is scratch space, not content.
      else if (!name.endsWith('-shm')) out.set(path, createHash('sha1').update(readFileSync(path)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

export function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [path, hash] of after) if (before.get(path) !== hash) changed.push(before.has(path) ? `changed ${path}` : `created ${path}`);
  for (const path of before.keys()) if (!after.has(path)) changed.push(`deleted ${path}`);
  return changed;
}

/** The first non-empty line of the error output: the message a user reads. */
export const firstLine = (s: string): string => s.split('\n').find((l) => l.trim() !== '') ?? '';
