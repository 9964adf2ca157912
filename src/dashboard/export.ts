import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { decodeLoomModel, encodeLoomModel, type LoomDtype } from '../engine/io/loom-format.js';
import { graftEnsemble } from '../ensemble/graft.js';
import type { Store } from '../store/store.js';
import type { EnsembleRecord, ExportRecord, ModelRecord } from '../store/types.js';
import { modelRow } from './model-view.js';
import type { ExportViewType } from './schemas/exports.js';
import type { ModelRowType } from './schemas/models.js';

/**
 * The export side: the population as CSV, an ensemble grafted into one model file (the ensemble module's
 * graftEnsemble: its predictions equal the weighted average of the members'), and where grafted files go.
 * Files are written only to `<folder of the database>/exports/`, named from ids the store gave, and only files in
 * that folder are served back.
 */

export const exportsDir = (dbPath: string): string => join(dirname(resolve(dbPath)), 'exports');

/** Strict file-name characters: ids are validated already, this is a second fence. */
const safeName = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_');

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

/** Grafts a stored ensemble: each member's stored model file is decoded, then graftEnsemble joins them. */
export function graftStoredEnsemble(store: Store, ensemble: EnsembleRecord, dtype: LoomDtype = 'float32'): Uint8Array {
  if (ensemble.members.length === 0) throw new Error(`ensemble ${ensemble.id} has no members`);
  // A member listed twice (selection with replacement) is one branch with the summed weight.
  const weights = new Map<string, number>();
  ensemble.members.forEach((id, i) => weights.set(id, (weights.get(id) ?? 0) + (ensemble.weights[i] ?? 0)));
  const members = [...weights].map(([modelId, weight]) => {
    const record = store.getWeights(ensemble.runId, modelId);
    if (!record) throw new Error(`model ${modelId} of ensemble ${ensemble.id} has no stored weights`);
    return { network: decodeLoomModel(record.bytes, `model ${modelId}`).network, weight, modelId };
  });
  const graft = graftEnsemble(members);
  return encodeLoomModel(graft, {
    dtype,
    modelId: `${ensemble.runId}/ensemble-${ensemble.id}`,
    metadata: {
      runId: ensemble.runId,
      ensembleId: ensemble.id,
      method: ensemble.method,
      members: members.map((m) => m.modelId),
      weights: members.map((m) => m.weight),
      valAccuracy: ensemble.valAccuracy,
      testAccuracy: ensemble.testAccuracy,
    },
  });
}

/** Writes a grafted model to the exports folder; returns the file's path. */
export function writeGraft(dbPath: string, runId: string, ensembleId: number, bytes: Uint8Array): string {
  const dir = exportsDir(dbPath);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, graftFileName(runId, ensembleId));
  writeFileSync(path, bytes);
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
