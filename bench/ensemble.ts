import { analyzePredictions } from '../src/ensemble/analyze.js';
import { chooseK } from '../src/ensemble/kmeans.js';
import { diversitySummary, findComplementaryMatches, maskCorrelationMatrix } from '../src/ensemble/pairs.js';
import { greedySelection, type SplitData } from '../src/ensemble/select.js';
import { Rng } from '../src/engine/rng.js';
import { table } from './util.js';

/**
 * Analysis of a large population: 200 models × 10,000 validation and 10,000 test samples, 10 classes (random
 * probabilities with per-model skill, so masks differ and ensembles matter). Goal from the issue: the whole
 * `analyzePredictions` under 10 s on this machine. One timed run (it is seconds long); the parts are timed
 * separately for where the time goes.
 */
export interface EnsembleBenchResult {
  readonly models: number;
  readonly samples: number;
  readonly classes: number;
  readonly totalMs: number;
  readonly totalCpuMs: number;
  /** Wall ms of each part run alone. */
  readonly parts: Record<string, number>;
  readonly goalMs: number;
  readonly withinGoal: boolean;
}

function split(rng: Rng, models: number, samples: number, classes: number, skills: readonly number[]): SplitData {
  const labels = Int32Array.from({ length: samples }, () => rng.int(classes));
  const probs = Array.from({ length: models }, (_, m) => {
    const p = new Float32Array(samples * classes);
    const skill = skills[m] as number;
    for (let r = 0; r < samples; r++) {
      let total = 0;
      for (let j = 0; j < classes; j++) {
        const v = rng.next() + (j === labels[r] ? skill * rng.next() : 0);
        p[r * classes + j] = v;
        total += v;
      }
      for (let j = 0; j < classes; j++) p[r * classes + j] = (p[r * classes + j] as number) / total;
    }
    return p;
  });
  return { probs, labels, numClasses: classes };
}

/** [result, wall ms, CPU ms of this process] — CPU time shows the cost when the shared machine is busy. */
const time = <T>(fn: () => T): [T, number, number] => {
  const t = performance.now();
  const cpu = process.cpuUsage();
  const out = fn();
  const used = process.cpuUsage(cpu);
  return [out, performance.now() - t, (used.user + used.system) / 1000];
};

export async function benchEnsemble(models = 200, samples = 10_000, classes = 10): Promise<EnsembleBenchResult> {
  const rng = new Rng(2024);
  const skills = Array.from({ length: models }, () => rng.uniform(0.5, 2.5));
  const val = split(rng, models, samples, classes, skills);
  const test = split(rng, models, samples, classes, skills);
  const modelIds = skills.map((_, m) => `m${m}`);
  const [analysis, totalMs, totalCpuMs] = time(() => analyzePredictions({ modelIds, val, test }));
  // the parts again, alone (masks recomputed once here, as analyzePredictions does without stored masks)
  const masks = analysis.ensembles.length > 0 ? val.probs.map((p) => Uint8Array.from(val.labels, (y, r) => {
    let best = 0;
    for (let j = 1; j < classes; j++) if ((p[r * classes + j] as number) > (p[r * classes + best] as number)) best = j;
    return Number(best === y);
  })) : [];
  const parts: Record<string, number> = {
    'diversity summary': time(() => diversitySummary(masks))[1],
    'mask correlation matrix': time(() => maskCorrelationMatrix(masks))[1],
    'complementary pairs': time(() => findComplementaryMatches(masks.map((mask, m) => ({ id: modelIds[m] as string, mask })), 0, 20))[1],
    'k-means + silhouette (k = 2..10)': time(() => chooseK(masks))[1],
    'greedy selection (25 picks)': time(() => greedySelection({ ...val, masks }))[1],
  };
  const goalMs = 10_000;
  return { models, samples, classes, totalMs, totalCpuMs, parts, goalMs, withinGoal: totalMs < goalMs };
}

export function ensembleTable(r: EnsembleBenchResult): string {
  return table(
    ['step', 'wall ms'],
    [
      [`analyzePredictions, ${r.models} models × ${r.samples} samples × ${r.classes} classes (goal < ${r.goalMs / 1000} s)`, r.totalMs],
      ['  (CPU time of the same run)', r.totalCpuMs],
      ...Object.entries(r.parts).map(([k, v]): [string, number] => [`  ${k}`, v]),
    ],
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchEnsemble();
  console.log(ensembleTable(r));
}
