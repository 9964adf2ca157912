import { lstatSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { writeFileReplacing } from '../engine/io/files.js';
import { encodeModel, MODEL_FORMATS, type ModelFormat } from '../engine/io/formats.js';
import { graftMembers, runPreprocessing } from '../ensemble/pipeline.js';
import type { Store } from '../store/store.js';
import type { EnsembleRecord, ExportRecord, ModelRecord } from '../store/types.js';
import { modelRow } from './model-view.js';
import type { ExportViewType } from './schemas/exports.js';
import type { ModelRowType } from './schemas/models.js';

/**
 * The export side: the population as CSV, an ensemble grafted into one model file (the ensemble pipeline's
 * graftMembers, the same graft `loom graft` and the end of a search make), and where grafted files go.
 * Files are written only to `<folder of the database>/exports/`, named from ids the store gave, through
 * writeFileReplacing (a symlink planted there is replaced, never followed). Served back are exactly the files the
 * store's exports table records for a run — these and the ones `loom search`, `loom export` and `loom graft`
 * wrote — through the fences of locateExport.
 */

export const exportsDir = (dbPath: string): string => join(dirname(resolve(dbPath)), 'exports');

/** Strict file-name characters: ids are validated already, this is a second fence. */
const safeName = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/** The dashboard writes Loom model files: one format, so one file name per ensemble (a re-graft replaces it). */
export const DASHBOARD_FORMAT: ModelFormat = 'loom';

export const graftFileName = (runId: string, ensembleId: number): string => `${safeName(runId)}-ensemble-${ensembleId}.loom`;

/**
 * Where a recorded export can be served from, or why not. Only paths the store's exports table holds for the run
 * are ever looked at (a request names an export id, never a path), and even those must pass three fences, so a
 * row that names some other file (by mistake, or a database someone edited) cannot turn the dashboard into a
 * file server: the format is a known model format and the file name ends with its extension; the file is a
 * regular file (a symbolic link planted where an export was is not followed); and it exists now. Paths the CLI
 * recorded relative to where it ran are looked up from the dashboard's working directory, then from the
 * database's folder (the CLI and `loom dashboard` usually run in the same place).
 */
export type ExportFile = { readonly path: string } | { readonly path: null; readonly why: string };

export function locateExport(dbPath: string, record: ExportRecord, cwd: string = process.cwd()): ExportFile {
  const format = MODEL_FORMATS.find((f) => f.name === record.format);
  if (!format) return { path: null, why: `"${record.format}" is not a model format the dashboard serves` };
  if (record.path.includes('\0') || !record.path.toLowerCase().endsWith(format.extension)) {
    return { path: null, why: `the file name does not end in ${format.extension}` };
  }
  const candidates = isAbsolute(record.path) ? [record.path] : [...new Set([resolve(cwd, record.path), resolve(dirname(resolve(dbPath)), record.path)])];
  for (const path of candidates) {
    const stat = lstatOrNull(path);
    if (stat?.isFile()) return { path };
    if (stat?.isSymbolicLink()) return { path: null, why: 'it is a symbolic link now, not the file that was written' };
  }
  return { path: null, why: 'the file is no longer there' };
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

export function exportView(dbPath: string, record: ExportRecord): ExportViewType {
  const file = locateExport(dbPath, record);
  return {
    id: record.id,
    ensembleId: record.ensembleId,
    fileName: basename(record.path),
    format: record.format,
    createdAt: record.createdAt,
    downloadable: file.path !== null,
    ...(file.path === null ? { notServed: file.why } : {}),
  };
}

/** Grafts a stored ensemble (graftMembers) into a Loom model file carrying the run's preprocessing. */
export function graftStoredEnsemble(store: Store, ensemble: EnsembleRecord, dtype: 'float32' | 'float16' | 'int8' = 'float32'): Uint8Array {
  const graft = graftMembers(store, ensemble.runId, ensemble.members, ensemble.weights);
  const metadata = {
    runId: ensemble.runId,
    ensembleId: ensemble.id,
    method: ensemble.method,
    members: graft.members,
    weights: graft.weights,
    valAccuracy: ensemble.valAccuracy,
    testAccuracy: ensemble.testAccuracy,
    preprocessing: runPreprocessing(store, ensemble.runId),
  };
  return encodeModel(graft.network, DASHBOARD_FORMAT, metadata, { dtype, modelId: `${ensemble.runId}/ensemble-${ensemble.id}` });
}

/** Writes a grafted model to the exports folder (replacing any file or link of that name); returns its path. */
export function writeGraft(dbPath: string, runId: string, ensembleId: number, bytes: Uint8Array): string {
  const path = join(exportsDir(dbPath), graftFileName(runId, ensembleId));
  writeFileReplacing(path, bytes);
  return path;
}

// ── CSV ─────────────────────────────────────────────────────────────────────────────────────────────────────

const CSV_COLUMNS: ReadonlyArray<keyof ModelRowType> = [
  'modelId', 'generation', 'status', 'species', 'gridRows', 'gridCols', 'brains', 'combineMode', 'dModel', 'numHeads',
  'learningRate', 'activation', 'origin', 'paramCount', 'valAccuracy', 'testAccuracy', 'trainMs', 'worker', 'attempts',
  'fitness', 'createdAt', 'updatedAt',
];

/** RFC 4180 quoting; cells that a spreadsheet would run as a formula get a leading apostrophe. */
function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = String(value);
  if (/^[=+\-@]/.test(s) && typeof value === 'string') s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One row per model. Right after `fitness` come its parts: a `fitness.<part>` column for every part name any model
 * of the run recorded (the search's fitness is a sum of named terms, e.g. accuracy, diversity, cost), empty where a
 * model has no such part.
 */
export function populationCsv(models: readonly ModelRecord[]): string {
  const parts = [...new Set(models.flatMap((m) => Object.keys(m.fitnessParts ?? {})))].sort();
  const at = CSV_COLUMNS.indexOf('fitness') + 1;
  const cells = (fixed: (c: keyof ModelRowType) => string, part: (p: string) => string): string =>
    [...CSV_COLUMNS.slice(0, at).map(fixed), ...parts.map(part), ...CSV_COLUMNS.slice(at).map(fixed)].join(',');
  const lines = [cells((c) => c, (p) => csvCell(`fitness.${p}`))];
  for (const m of models) {
    const row = modelRow(m);
    lines.push(cells((c) => csvCell(row[c]), (p) => csvCell(m.fitnessParts?.[p])));
  }
  return lines.join('\n') + '\n';
}
