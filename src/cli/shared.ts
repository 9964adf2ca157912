import { existsSync } from 'node:fs';
import { LoomError } from '../engine/errors.js';
import { formatForPath, isModelFormat, MODEL_FORMATS, MODEL_FORMAT_NAMES, type ModelFormat } from '../engine/io/formats.js';
import { Store } from '../store/store.js';

/**
 * What the command files share, so that none imports another (main.ts loads them; they import only this file,
 * args.ts and progress.ts).
 */

/** A CLI command: one file per command, loaded only when used so `loom --help` stays fast. */
export interface Command {
  readonly name: string;
  /** Full help text printed by `loom <name> --help`. */
  readonly help: string;
  run(argv: string[]): Promise<number>;
}

/** Opens an existing run database: read-only unless the command writes. A missing file is a usage error. */
export function openDb(path: string, write = false): Store {
  if (!existsSync(path)) throw new LoomError('LOOM_ERR_USAGE', `no database at ${path} (run \`loom search\` first, or pass --db)`);
  return Store.open(path, write ? {} : { readonly: true });
}

/** An accuracy (a fraction) as a percentage with two decimals; '-' when there is none. */
export const pct = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : `${(x * 100).toFixed(2)}%`);

/** --format's help line, from formats.ts' one list. */
export const FORMAT_HELP = `${MODEL_FORMAT_NAMES.join(', ')} (default: by FILE's ending: ${MODEL_FORMATS.map((f) => `${f.extension} ${f.name}`).join(', ')}; else loom)`;

/** The format to write FILE in: --format when given (checked against formats.ts' list), else by FILE's ending. */
export function outputFormat(path: string, format: string | undefined): ModelFormat {
  if (format !== undefined && !isModelFormat(format)) throw new LoomError('LOOM_ERR_USAGE', `--format must be one of ${MODEL_FORMAT_NAMES.join(', ')}, got "${format}"`);
  return formatForPath(path, format);
}
