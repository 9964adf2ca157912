import { readFileSync, writeFileSync } from 'node:fs';
import { modelFileError } from '../errors.js';
import type { Network } from '../network.js';
import { encodeLoomBundle, type EncodeBundleOptions } from './loom-bundle.js';
import { encodeLoomModel, type EncodeLoomOptions } from './loom-format.js';
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
export function readModelFile(path: string, options: { inputShape?: readonly number[] } = {}): DecodedModels {
  return decodeModels(readModelBytes(path), { ...options, what: path });
}

/** Writes a network: a LOOM bundle when the path ends in .json, else Loom's safetensors model file. */
export function writeModelFile(
  path: string,
  network: Network,
  options: EncodeLoomOptions & { bundle?: EncodeBundleOptions } = {},
): void {
  const bytes = path.toLowerCase().endsWith('.json')
    ? new TextEncoder().encode(encodeLoomBundle([{ id: options.modelId ?? network.modelId, network }], options.bundle))
    : encodeLoomModel(network, options);
  try {
    writeFileSync(path, bytes);
  } catch (err) {
    throw modelFileError(`cannot write model file ${path}: ${(err as Error).message}`);
  }
}
