import { LoomError } from '../engine/errors.js';
import { writeModel } from '../engine/io/files.js';
import { graftRun, type GraftMode } from '../ensemble/pipeline.js';
import { DEFAULT_DB, intOption, parseCommandArgs } from './args.js';
import { FORMAT_HELP, openDb, outputFormat, type Command } from './shared.js';

const help = `usage: loom graft RUN [--ensemble ID | --members A,B,...] [--mode ensemble|hive] --out FILE [options]

Grafts models of a run into one model file.

  ensemble mode (default): the members become branches of one parallel layer whose output is the weighted average
      of their softmax outputs: the same predictions as the offline ensemble.
  hive mode: the members' hives (with the adapters they were trained on) are copied side by side into a frozen
      super-hive; a fresh merger and head are trained on top on the run's training split.

Members: --ensemble ID (an ensemble saved by loom analyze, with its weights), or --members A,B,... (equal weights
unless --weights), or by default the ensemble chosen by the latest loom analyze of the run (analysed now if none).
Members must take the same input and predict the same classes.

  --db FILE          run database (default: ${DEFAULT_DB})
  --out FILE         where to write the model (a file or link already there is replaced, never written through)
  --format F         ${FORMAT_HELP}
  --weights W,...    member weights for --members (normalized)
  --epochs N         hive mode: training epochs of the merger and head (default 3)
  --json             print the result as JSON`;

const list = (s: string | undefined): string[] | undefined => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

export const command: Command = {
  name: 'graft',
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('graft', argv, {
      db: { type: 'string' },
      ensemble: { type: 'string' },
      members: { type: 'string' },
      weights: { type: 'string' },
      mode: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
      epochs: { type: 'string' },
      json: { type: 'boolean' },
    });
    const runId = positionals[0];
    if (!runId || positionals.length > 1) throw new LoomError('LOOM_ERR_USAGE', 'loom graft needs one RUN id (see loom runs)');
    if (!values.out) throw new LoomError('LOOM_ERR_USAGE', 'loom graft needs --out FILE');
    const mode = (values.mode ?? 'ensemble') as GraftMode;
    if (mode !== 'ensemble' && mode !== 'hive') throw new LoomError('LOOM_ERR_USAGE', `--mode must be ensemble or hive, got "${values.mode}"`);
    if (values.ensemble !== undefined && values.members !== undefined) throw new LoomError('LOOM_ERR_USAGE', 'give either --ensemble or --members, not both');
    const format = outputFormat(values.out, values.format);
    const ensembleId = intOption('ensemble', values.ensemble, 1);
    const members = list(values.members);
    const weights = list(values.weights)?.map((w) => {
      const v = Number(w);
      if (!(v > 0) || !Number.isFinite(v)) throw new LoomError('LOOM_ERR_USAGE', `--weights must be positive numbers, got "${w}"`);
      return v;
    });
    if (weights && !members) throw new LoomError('LOOM_ERR_USAGE', '--weights goes with --members');
    const epochs = intOption('epochs', values.epochs, 1);
    const dbPath = values.db ?? DEFAULT_DB;
    const store = openDb(dbPath, true);
    try {
      if (!store.getRun(runId)) throw new LoomError('LOOM_ERR_USAGE', `no run "${runId}" in ${dbPath}`);
      const outcome = graftRun(store, runId, {
        mode,
        ...(ensembleId !== undefined ? { ensembleId } : {}),
        ...(members ? { members } : {}),
        ...(weights ? { weights } : {}),
        ...(epochs !== undefined ? { hive: { epochs } } : {}),
      });
      writeModel(values.out, outcome.network, format, {
        runId,
        mode,
        members: outcome.members,
        weights: outcome.weights,
        ensembleId: outcome.ensembleId,
        preprocessing: outcome.preprocessing,
      });
      store.addExport(runId, { ensembleId: outcome.ensembleId, path: values.out, format });
      const result = {
        runId,
        mode,
        members: outcome.members,
        weights: outcome.weights,
        ensembleId: outcome.ensembleId,
        valAccuracy: outcome.valAccuracy,
        testAccuracy: outcome.testAccuracy,
        paramCount: outcome.network.paramCount(),
        out: values.out,
        format,
      };
      if (values.json) console.log(JSON.stringify(result, null, 2));
      else {
        console.log(`grafted ${outcome.members.length} models of run ${runId} (${mode}): ${outcome.members.map((m, i) => `${m}×${(outcome.weights[i] as number).toFixed(2)}`).join(' ')}`);
        console.log(`validation ${(outcome.valAccuracy * 100).toFixed(2)}%, test ${(outcome.testAccuracy * 100).toFixed(2)}%, ${result.paramCount} params → ${values.out} (${format})`);
      }
      return 0;
    } finally {
      store.close();
    }
  },
};
