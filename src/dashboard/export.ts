import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { writeFileReplacing } from '../engine/io/files.js';
import { encodeModel, type ModelFormat } from '../engine/io/formats.js';
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
 * writeFileReplacing (a symlink planted there is replaced, never followed), and only files in that folder are
 * served back.
 */

export const exportsDir = (dbPath: string): string => join(dirname(resolve(dbPath)), 'exports');

/** Strict file-name characters: ids are validated already, this is a second fence. */
const safeName = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/** The dashboard writes Loom model files: one format, so one file name per ensemble (a re-graft replaces it). */
export const DASHBOARD_FORMAT: ModelFormat = 'loom';

export const graftFileName = (runId: string, ensembleId: number): string => `${safeName(runId)}-ensemble-${ensembleId}.loom`;

/** The path of an export if it lies in the dashboard's exports folder and exists, else null. */
export function servablePath(dbPath: string, record: ExportRecord): string | null {
  const dir = exportsDir(dbPath);
  const path = resolve(dir, record.path);
  return path.startsWith(dir + sep) && existsSync(path) ? path : null;
}

export function exportView(dbPath: string, record: ExportRecord): ExportViewType {
  return {
    id: record.id,
    ensembleId: record.ensembleId,
    fileName: basename(record.path),
    format: record.format,
    createdAt: record.createdAt,
    downloadable: servablePath(dbPath, record) !== null,
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

export function populationCsv(models: readonly ModelRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const m of models) {
    const row = modelRow(m);
    lines.push(CSV_COLUMNS.map((c) => csvCell(row[c])).join(','));
  }
  return lines.join('\n') + '\n';
}
