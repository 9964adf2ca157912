import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LoomError } from '../engine/errors.js';

/** node:util parseArgs with Loom's usage errors (exit 2, no stack trace). */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new LoomError('LOOM_ERR_USAGE', `${err instanceof Error ? err.message : String(err)} (see loom ${command} --help)`);
  }
}

export function intOption(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new LoomError('LOOM_ERR_USAGE', `--${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

export const DEFAULT_DB = 'runs/loom.db';
