import { existsSync } from 'node:fs';
import { LoomError } from '../engine/errors.js';
import { readModelFile } from '../engine/io/files.js';
import { pickModel } from '../engine/io/model.js';
import type { Network } from '../engine/network.js';
import { loadRunModel, writeExport } from '../ensemble/pipeline.js';
import { DEFAULT_DB, parseCommandArgs } from './args.js';
import { openRunDatabase } from './analyze.js';
import { formatFor } from './graft.js';
import type { Command } from './main.js';

const help = `usage: loom export MODEL --out FILE [--format loom|loom-bundle] [--db FILE] [--id MODEL_ID]

Writes a model as a Loom model file (safetensors with the architecture) or as a LOOM modelhost/bundle JSON.

  MODEL              RUN:MODEL_ID (a finished model of a run in the database) or a model file
  --out FILE         where to write
  --format F         loom (default) or loom-bundle (default when FILE ends in .json)
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
    const format = formatFor(values.out, values.format);
    let network: Network;
    let runId: string | null = null;
    const colon = source.indexOf(':');
    if (existsSync(source) || colon < 0) {
      network = pickModel(readModelFile(source), values.id).network;
    } else {
      runId = source.slice(0, colon);
      const modelId = source.slice(colon + 1);
      const store = openRunDatabase(values.db ?? DEFAULT_DB, true);
      try {
        if (!store.getRun(runId)) throw new LoomError('LOOM_ERR_USAGE', `no run "${runId}" in ${values.db ?? DEFAULT_DB}`);
        network = loadRunModel(store, runId, modelId);
        writeExport(network, values.out, format, { runId, modelId });
        store.addExport(runId, { path: values.out, format });
      } finally {
        store.close();
      }
    }
    if (!runId) writeExport(network, values.out, format);
    console.log(`wrote ${network.modelId || 'model'} (${network.paramCount()} params) to ${values.out} as ${format}`);
    return 0;
  },
};
