import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LoomError } from '../engine/errors.js';

/**
 * `--name -3` as `--name=-3` for options that take a value: node:util would read "-3" as an option and call the
 * argument ambiguous. Only number-like values are joined, so a forgotten value (`--db --json`) is still an error.
 */
function joinNegativeValues(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d|Infinity\b)/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** node:util parseArgs with Loom's usage errors (exit 2, no stack trace). */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals, strict: true });
  } catch (err) {
    throw new LoomError('LOOM_ERR_USAGE', `${err instanceof Error ? err.message : String(err)} (see loom ${command} --help)`);
  }
}

/** An integer flag in [min, max]; undefined when absent. Anything else (text, 1.5, -3 below min, 1e30) is a usage error. */
export function intOption(name: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`;
    throw new LoomError('LOOM_ERR_USAGE', `--${name} must be an integer ${range}, got "${value}"`);
  }
  return n;
}

export const DEFAULT_DB = 'runs/loom.db';
