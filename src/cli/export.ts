import { existsSync } from 'node:fs';
import { LoomError } from '../engine/errors.js';
import { readModelFile, writeModel } from '../engine/io/files.js';
import type { ModelMetadata } from '../engine/io/formats.js';
import { pickModel } from '../engine/io/model.js';
import type { Network } from '../engine/network.js';
import { loadRunModel, runPreprocessing } from '../ensemble/pipeline.js';
import { DEFAULT_DB, parseCommandArgs } from './args.js';
import { FORMAT_HELP, openDb, outputFormat, type Command } from './shared.js';

const help = `usage: loom export MODEL --out FILE [--format F] [--db FILE] [--id MODEL_ID]

Writes a model as a Loom model file (safetensors with the architecture) or as a LOOM modelhost/bundle JSON, with
the preprocessing it was trained with (normalization, feature names, class labels) in its metadata.

  MODEL              RUN:MODEL_ID (a finished model of a run in the database) or a model file
  --out FILE         where to write (a file or link already there is replaced, never written through)
  --format F         ${FORMAT_HELP}
  --db FILE          run database for RUN:MODEL_ID (default: ${DEFAULT_DB})
  --id MODEL_ID      which model of a bundle file holding several`;

export const command: Command = {
  name: 'export',
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('export', argv, {
      out: { type: 'string' },
      format: { type: 'string' },
      db: { type: 'string' },
      id: { type: 'string' },
    });
    const source = positionals[0];
    if (!source || positionals.length > 1) throw new LoomError('LOOM_ERR_USAGE', 'loom export needs one MODEL (RUN:MODEL_ID or a model file)');
    if (!values.out) throw new LoomError('LOOM_ERR_USAGE', 'loom export needs --out FILE');
    const format = outputFormat(values.out, values.format);
    let network: Network;
    const colon = source.indexOf(':');
    if (existsSync(source) || colon < 0) {
      // A model file keeps what it carries (its preprocessing and metadata) in the new format.
      const model = pickModel(readModelFile(source), values.id);
      network = model.network;
      const metadata: ModelMetadata = { ...model.metadata, ...(model.preprocessing ? { preprocessing: model.preprocessing } : {}) };
      writeModel(values.out, network, format, metadata, { modelId: model.modelId || network.modelId });
    } else {
      const runId = source.slice(0, colon);
      const modelId = source.slice(colon + 1);
      const store = openDb(values.db ?? DEFAULT_DB, true);
      try {
        if (!store.getRun(runId)) throw new LoomError('LOOM_ERR_USAGE', `no run "${runId}" in ${values.db ?? DEFAULT_DB}`);
        network = loadRunModel(store, runId, modelId);
        writeModel(values.out, network, format, { runId, modelId, preprocessing: runPreprocessing(store, runId) });
        store.addExport(runId, { path: values.out, format });
      } finally {
        store.close();
      }
    }
    console.log(`wrote ${network.modelId || 'model'} (${network.paramCount()} params) to ${values.out} as ${format}`);
    return 0;
  },
};
