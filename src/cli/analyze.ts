import { LoomError } from '../engine/errors.js';
import { analyzeRun, type RunAnalysis } from '../ensemble/analyze.js';
import { DEFAULT_DB, intOption, parseCommandArgs } from './args.js';
import { openDb, pct, type Command } from './shared.js';

const help = `usage: loom analyze RUN [--db FILE] [--json] [--no-save] [--metric log_loss|accuracy] [--steps N] [--init N] [--max-members N] [--bags N]

Analyses a run's finished models from their stored validation and test predictions: diversity (disagreement,
double-fault, Yule's Q, Kohavi-Wolpert, entropy), k-means clusters of correctness masks (k by silhouette),
correlations between models and between config parameters and accuracy, LOOM's complementary pairs, and
ensembles selected on VALIDATION (greedy forward selection with replacement, top-5 average, all-average, best
complementary pair, and with bagging the bagged greedy selection), each reported on test against the best single
model chosen on validation (validation accuracy, then validation log-loss, then model id: the rule every command
uses). The chosen ensemble follows the run's config: with ensembleBags N > 0 the bagged selection (Caruana et al.
2006: N greedy climbs, each on a random half of the models, their weights averaged); otherwise the ensemble with the
best validation log-loss (or accuracy with --metric accuracy; fewer members on ties). Its validation figures are
optimistic because it was selected on them, the test figures are the honest ones.
The run's data set is reloaded (same split) to get the labels. The analysis and its ensembles are saved in the
database (for loom graft --ensemble ID and the dashboard) unless --no-save.

  --db FILE          run database (default: ${DEFAULT_DB})
  --json             print the whole analysis as JSON (undefined statistics are null)
  --no-save          do not write the analysis and ensembles to the database
  --metric M         what selection optimizes on validation: log_loss or accuracy (default: the run's
                     config, ensembleMetric, itself log_loss by default)
  --steps N          greedy selection: total picks, with replacement (default 25)
  --init N           greedy selection: start from the N best single models (default 3)
  --max-members N    greedy selection: at most N distinct members (default 10)
  --bags N           bagged selection of N climbs, each on a random half of the models; 0: none (default:
                     the run's config, ensembleBags)`;

const num = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

export function formatAnalysis(a: RunAnalysis): string {
  const d = a.diversity.val;
  const lines = [
    `run ${a.runId}: ${a.models} models, ${a.numClasses} classes, ${a.samples.val} validation / ${a.samples.test} test samples`,
    `best single model (chosen on validation): ${a.bestSingle.modelId}  val ${pct(a.bestSingle.valAccuracy)}  test ${pct(a.bestSingle.testAccuracy)}`,
    `diversity (validation): mean accuracy ${pct(d.meanAccuracy)}, oracle ${pct(d.oracleAccuracy)}, disagreement ${num(d.disagreement)}, ` +
      `double-fault ${num(d.doubleFault)}, Q ${num(d.yulesQ)}, KW ${num(d.kohaviWolpert)}, entropy ${num(d.entropy)}`,
    `clusters: k = ${a.clusters.k} (silhouette ${num(a.clusters.silhouette)})`,
    ...a.clusters.groups.map((g) => `  ${g.cluster}: ${g.members.length} models, mean val ${pct(g.meanValAccuracy)}, best ${g.best}: ${g.members.slice(0, 12).join(' ')}${g.members.length > 12 ? ' …' : ''}`),
    'complementary pairs (validation coverage, overlap):',
    ...a.complementary.slice(0, 5).map((p) => `  ${p.modelA} + ${p.modelB}: coverage ${pct(p.coverage)}, overlap ${pct(p.overlap)}`),
  ];
  if (a.correlation.strongMaskPairs.length > 0) {
    lines.push('strongly correlated models (masks):', ...a.correlation.strongMaskPairs.slice(0, 5).map((p) => `  ${p.feature1} ~ ${p.feature2}: ${num(p.correlation)}`));
  }
  const params = a.correlation.parameters.filter((p) => Number.isFinite(p.spearman)).slice(0, 5);
  if (params.length > 0) lines.push('config parameters vs validation accuracy (Spearman):', ...params.map((p) => `  ${p.parameter}: ${num(p.spearman)} (n = ${p.n})`));
  lines.push('ensembles (selected on validation):');
  a.ensembles.forEach((e, i) => {
    const id = a.ensembleIds[i] !== undefined ? `#${a.ensembleIds[i]} ` : '';
    const mark = e === a.chosen ? ' ← chosen' : '';
    lines.push(
      `  ${id}${e.method}: ${e.members.length} members, val ${pct(e.valAccuracy)}, test ${pct(e.testAccuracy)} (${e.testGain >= 0 ? '+' : ''}${(e.testGain * 100).toFixed(2)} vs best single), oracle ${pct(e.oracleTest)}${mark}`,
    );
  });
  return lines.join('\n');
}

export const command: Command = {
  name: 'analyze',
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('analyze', argv, {
      db: { type: 'string' },
      json: { type: 'boolean' },
      'no-save': { type: 'boolean' },
      steps: { type: 'string' },
      init: { type: 'string' },
      'max-members': { type: 'string' },
      metric: { type: 'string' },
      bags: { type: 'string' },
    });
    const metric = values.metric;
    if (metric !== undefined && metric !== 'log_loss' && metric !== 'accuracy') throw new LoomError('LOOM_ERR_USAGE', `--metric must be log_loss or accuracy, got "${metric}"`);
    const runId = positionals[0];
    if (!runId || positionals.length > 1) throw new LoomError('LOOM_ERR_USAGE', 'loom analyze needs one RUN id (see loom runs)');
    const steps = intOption('steps', values.steps, 1);
    const initSize = intOption('init', values.init, 1);
    const maxMembers = intOption('max-members', values['max-members'], 1);
    const bags = intOption('bags', values.bags, 0, 10_000);
    const save = !values['no-save'];
    const dbPath = values.db ?? DEFAULT_DB;
    const store = openDb(dbPath, save);
    try {
      if (!store.getRun(runId)) throw new LoomError('LOOM_ERR_USAGE', `no run "${runId}" in ${dbPath}`);
      const analysis = analyzeRun(store, runId, {
        save,
        selection: {
          ...(steps !== undefined ? { steps } : {}),
          ...(initSize !== undefined ? { initSize } : {}),
          ...(maxMembers !== undefined ? { maxMembers } : {}),
          ...(metric !== undefined ? { metric } : {}),
          ...(bags !== undefined ? { bags } : {}),
        },
      });
      console.log(values.json ? JSON.stringify(analysis, null, 2) : formatAnalysis(analysis));
      return 0;
    } finally {
      store.close();
    }
  },
};
