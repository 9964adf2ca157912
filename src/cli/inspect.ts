import { LoomError } from '../engine/errors.js';
import { readModelFile } from '../engine/io/files.js';
import { pickModel, type LoadedModel } from '../engine/io/model.js';
import type { Preprocessing } from '../engine/preprocess.js';
import { networkBlueprint, type LayerNodeBlueprint, type NetworkBlueprint } from '../engine/observe.js';
import { inspectCheckpoint, isCheckpointPath } from './checkpoints.js';
import { parseCommandArgs } from './args.js';
import type { Command } from './shared.js';

const help = `usage: loom inspect --model FILE [--json] [--id MODEL_ID]

Prints a saved model's blueprint: for each layer its index, grid position, type, input and output shape (per
sample) and parameter count, branches and steps indented below their layer, then the total parameter count.

  --model FILE   a Loom model file (.safetensors/.loom) or a LOOM modelhost/bundle (.json); told apart by content
  --json         the blueprint as JSON (with the file's format, dtype, metadata and preprocessing)
  --id MODEL_ID  one model of a bundle (default: every model in the file)`;

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

function nodeLines(node: LayerNodeBlueprint, depth: number, label: string, out: string[]): void {
  const type = node.activation && node.activation !== 'linear' ? `${node.type} (${node.activation})` : node.type;
  out.push(
    `${label.padEnd(14)}${'  '.repeat(depth)}${type.padEnd(Math.max(1, 24 - 2 * depth))} ${fmtShape(node.inputShape).padEnd(14)} ${fmtShape(node.outputShape).padEnd(14)} ${String(node.parameters).padStart(10)}`,
  );
  node.children.forEach((child, i) => nodeLines(child, depth + 1, `${'  '.repeat(depth + 1)}${node.type === 'sequential' ? 'step' : 'branch'} ${i}`, out));
}

/** One line on the stored input transform (files from before Loom stored it have none). */
export function preprocessingLine(p: Preprocessing | null): string {
  if (!p) return 'preprocessing: none stored (inputs go in as given)';
  const norm = p.normalization.kind === 'zscore' ? 'z-score' : 'no normalization';
  const features = p.features.length > 0 ? ` (${p.features.join(', ')})` : '';
  const layout = p.layout.kind === 'features' ? `${p.inputShape.reduce((a, b) => a * b, 1)} features${features}` : `${p.layout.kind} ${fmtShape(p.inputShape)}`;
  const columns = p.columns
    ? `; reads ${p.columns.length} raw columns: ${p.columns.map((c) => (c.kind === 'number' ? `${c.name} (number, missing → ${Number(c.fill.toPrecision(6))})` : `${c.name} (one-hot of ${c.values.length})`)).join(', ')}`
    : '';
  return `preprocessing: ${norm} of ${layout}${columns}; classes ${p.classes.join(', ')}`;
}

export function formatBlueprint(model: LoadedModel, blueprint: NetworkBlueprint): string {
  const { network } = model;
  const out = [
    `model "${model.modelId}" — ${model.format === 'loom' ? 'Loom model file' : 'LOOM bundle'}, ${model.dtype} weights`,
    `grid ${network.rows}×${network.cols}×${network.layersPerCell}, input ${fmtShape(blueprint.inputShape)} → output ${fmtShape(blueprint.outputShape)}`,
    preprocessingLine(model.preprocessing),
    '',
    `${'layer'.padEnd(14)}${'type'.padEnd(24)} ${'input'.padEnd(14)} ${'output'.padEnd(14)} ${'params'.padStart(10)}`,
  ];
  for (const layer of blueprint.layers) {
    const flags = [layer.disabled ? 'disabled' : '', layer.frozen ? 'frozen' : ''].filter(Boolean).join(', ');
    nodeLines(layer, 0, `${layer.index} (${layer.gridRow},${layer.gridCol},${layer.cellLayer})`, out);
    if (flags) out[out.length - 1] += `  ${flags}`;
  }
  out.push('', `total parameters: ${blueprint.totalParameters}`);
  return out.join('\n');
}

export const command: Command = {
  name: 'inspect',
  help,
  async run(argv) {
    const { values } = parseCommandArgs('inspect', argv, { model: { type: 'string' }, json: { type: 'boolean' }, id: { type: 'string' } }, false);
    if (!values.model) throw new LoomError('LOOM_ERR_USAGE', 'loom inspect needs --model FILE (see loom inspect --help)');
    if (isCheckpointPath(values.model)) {
      console.log(inspectCheckpoint(values.model, values.json ?? false));
      return 0;
    }
    const decoded = readModelFile(values.model);
    for (const w of decoded.warnings) console.error(`loom inspect: warning: ${w}`);
    const models = values.id === undefined ? decoded.models : [pickModel(decoded, values.id)];
    const described = models.map((m) => ({ model: m, blueprint: networkBlueprint(m.network, m.modelId) }));
    if (values.json) {
      const json = described.map(({ model, blueprint }) => ({ modelId: model.modelId, format: model.format, dtype: model.dtype, metadata: model.metadata, preprocessing: model.preprocessing, blueprint }));
      console.log(JSON.stringify({ file: values.model, models: json }, null, 2));
    } else {
      console.log(described.map(({ model, blueprint }) => formatBlueprint(model, blueprint)).join('\n\n'));
    }
    return 0;
  },
};
