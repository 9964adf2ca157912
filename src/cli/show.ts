import { LoomError } from '../engine/errors.js';
import type { ArchConfig } from '../search/arch.js';
import { rankRecords } from '../search/best.js';
import { parseRunConfig, type InheritMode, type SearchConfig } from '../search/config.js';
import { inheritsFrom } from '../search/inherit.js';
import { epochsRun } from '../search/pruners.js';
import { isRefitGeneration } from '../search/refit.js';
import { DEFAULT_DB, intOption, parseCommandArgs } from './args.js';
import { openDb, pct, type Command } from './shared.js';
import type { Store } from '../store/store.js';
import type { RunStatus } from '../store/types.js';

const help = `usage: loom show RUN [--db FILE] [--top N] [--json]

Shows one run: its config, seed, data checksum and code version, each generation's best and mean validation
accuracy, and the best models (chosen on validation accuracy; test accuracy shown alongside).

  --db FILE   run database (default: ${DEFAULT_DB})
  --top N     how many models to list (default 10)
  --json      JSON output`;

/** The run's config; null when its stored config no longer parses (show still shows the rest). */
function runConfig(store: Store, runId: string): SearchConfig | null {
  try {
    return parseRunConfig(store.getRunConfig(runId), runId);
  } catch {
    return null;
  }
}

/**
 * Models not trained: in a finished run they are the generation written when the budget ran out, never started;
 * otherwise they are what `loom search --resume` would train.
 */
function unfinishedNote(runStatus: RunStatus, count: number): string {
  return runStatus === 'finished' ? `${count} not started (budget spent)` : `${count} unfinished`;
}

/** " weights from PARENT" for a model that started from its parent's weights (the run's `inherit`). */
function inheritedNote(inherit: InheritMode, arch: ArchConfig): string {
  const parent = inheritsFrom(inherit, arch);
  return parent === undefined ? '' : `  weights from ${parent}`;
}

export const command: Command = {
  name: 'show',
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('show', argv, { db: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' } });
    const runId = positionals[0];
    if (!runId) throw new LoomError('LOOM_ERR_USAGE', 'loom show needs a RUN id (see loom runs)');
    const top = intOption('top', values.top, 1) ?? 10;
    const store = openDb(values.db ?? DEFAULT_DB);
    try {
      const run = store.getRun(runId);
      if (!run) throw new LoomError('LOOM_ERR_USAGE', `no run "${runId}" in ${values.db ?? DEFAULT_DB}`);
      const models = store.listModels(runId);
      // The one best-model rule (search/best.ts): val accuracy, then val log-loss, then id.
      const ranked = rankRecords(models).slice(0, top);
      const generations = store.listGenerations(runId);
      const config = runConfig(store, runId);
      const inherit: InheritMode = config?.inherit ?? 'none';
      // Stopped early by the search's pruner (not failures): shown with the partial curve they trained.
      const pruned = models.filter((m) => m.status === 'pruned');
      // Promotion (pruner.promote): models waiting at the rung, and where each promoted one paused before going on.
      const paused = models.filter((m) => m.status === 'paused');
      const pauses = store.listPausedModels(runId);
      const promotedAt = new Map(pauses.flatMap((p) => (p.resumeItem === null ? [] : [[p.modelId, p.epoch] as const])));
      if (values.json) {
        const promotions = pauses.map((p) => ({ modelId: p.modelId, epoch: p.epoch, promoted: p.resumeItem !== null }));
        console.log(JSON.stringify({ run, generations, models: ranked, pruned, paused, promotions }, null, 2));
        return 0;
      }
      console.log(`run ${run.id} (${run.name ?? ''}) — ${store.runState(run)}`);
      console.log(`  data ${run.dataRef} checksum ${run.dataChecksum.slice(0, 16)}…  seed ${run.seed}  code ${run.codeVersion}`);
      console.log(`  models: ${models.filter((m) => m.status === 'done').length} done, ${models.filter((m) => m.status === 'failed').length} failed, ${pruned.length} pruned, ${paused.length > 0 ? `${paused.length} paused, ` : ''}${unfinishedNote(run.status, models.filter((m) => m.status === 'pending' || m.status === 'running').length)}`);
      for (const g of generations) {
        const s = g.stats ?? { members: [] };
        // The refit is one more generation (search/refit.ts); a generation whose members were all pruned has no figures.
        const label = config && isRefitGeneration(g.index, config.generations) ? 'refit' : `generation ${g.index + 1}`;
        const figures = s.done === 0 ? 'none trained to the end (pruned or failed)' : `best val ${pct(s.bestValAccuracy)}, mean val ${pct(s.meanValAccuracy)}`;
        console.log(`  ${label}: ${s.members?.length ?? '?'} members, ${figures}`);
      }
      console.log('  best models (by validation accuracy, then validation log-loss, then id):');
      for (const m of ranked) {
        const a = m.arch as ArchConfig;
        console.log(
          `    ${m.modelId.padEnd(8)} val ${pct(m.valAccuracy)} test ${pct(m.testAccuracy)}  ${a.species} [${a.brains.join(',')}] ${a.combineMode} d${a.dModel} lr ${a.learningRate.toExponential(1)}  ${m.paramCount ?? '?'} params  ${((m.trainMs ?? 0) / 1000).toFixed(1)} s${m.fitness === null ? '' : `  fitness ${m.fitness.toFixed(4)}`}${promotedAt.has(m.modelId) ? `  promoted at epoch ${promotedAt.get(m.modelId)}` : ''}${inheritedNote(inherit, a)}`,
        );
      }
      const listCurves = (heading: string, list: readonly (typeof models)[number][]): void => {
        if (list.length === 0) return;
        console.log(heading);
        for (const m of list.slice(0, top)) {
          const metrics = m.metrics ?? [];
          const curve = metrics.map((e) => `${e.valAccuracy === undefined ? '-' : pct(e.valAccuracy)}${Number.isInteger(e.epoch) ? '' : `@${e.epoch}`}`).join(' ');
          console.log(`    ${m.modelId.padEnd(8)} after ${epochsRun(metrics)} epoch(s): ${curve}`);
        }
        if (list.length > top) console.log(`    … ${list.length - top} more`);
      };
      listCurves(`  pruned models (stopped early by the pruner, or not promoted; validation accuracy per epoch, "@0.25" at a mid-epoch check):`, pruned);
      listCurves(`  paused models (waiting at the promotion rung: they go on only if promoted):`, paused);
      return 0;
    } finally {
      store.close();
    }
  },
};
