import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { modelFileError } from '../errors.js';
import type { Network } from '../network.js';
import { encodeModel, type EncodeModelOptions, type ModelFormat, type ModelMetadata } from './formats.js';
import type { DecodeBundleOptions } from './loom-bundle.js';
import { decodeModels, type DecodedModels } from './model.js';

/**
 * The only part of io/ that touches the file system: everything else encodes and decodes bytes, so the engine
 * stays usable in a browser or a worker without fs.
 */

/** Reads a file's bytes; a missing or unreadable file is a model-file error naming the path. */
export function readModelBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw modelFileError(`model file not found: ${path}`);
    if (code === 'EISDIR') throw modelFileError(`model file is a directory: ${path}`);
    throw modelFileError(`cannot read model file ${path}: ${(err as Error).message}`);
  }
}

/** Reads and decodes every model in a Loom model file or LOOM bundle. */
export function readModelFile(path: string, options: DecodeBundleOptions = {}): DecodedModels {
  return decodeModels(readModelBytes(path), { ...options, what: path });
}

/**
 * Writes bytes to `path` (folders created) the one safe way every export uses: into a fresh temporary file in
 * the same folder, created exclusively (O_EXCL never follows a link planted at that name), then renamed over the
 * target. rename replaces whatever is at `path`, a symlink included, and never writes through it; readers see
 * the old file or the whole new one, never half of it.
 */
export function writeFileReplacing(path: string, bytes: Uint8Array): void {
  const dir = dirname(path);
  // The temporary name is not a result, so it needs no seeded Rng: only uniqueness.
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    mkdirSync(dir, { recursive: true });
    fd = openSync(temp, 'wx', 0o644);
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temp, path);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    rmSync(temp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EISDIR' || code === 'ENOTEMPTY' ? 'a directory is in the way' : (err as Error).message;
    throw modelFileError(`cannot write ${path}: ${why}`);
  }
}

/** Encodes a network in a format (formats.ts) and writes it with writeFileReplacing; returns the bytes written. */
export function writeModel(path: string, network: Network, format: ModelFormat, metadata: ModelMetadata = {}, options: EncodeModelOptions = {}): Uint8Array {
  const bytes = encodeModel(network, format, metadata, options);
  writeFileReplacing(path, bytes);
  return bytes;
}
