import { configError } from '../engine/errors.js';
import { AUGMENTATIONS, finishConfig, HYPER_GENES, validateConfig, type ArchConfig, type Augmentation } from './arch.js';
import { rankBest, recordValLogLoss, type RankableRecord } from './best.js';
import { bestUpTo, curveOf, epochsRun, type Curve } from './pruners.js';

/**
 * The final refit (as AutoML tools end a search): the best models of the search are trained again from scratch
 * (or, with the config's `inherit: 'all'`, trained on from their weights) with a larger epoch budget, and the
 * ensemble is formed afterwards, so its members get the training a search could not afford for every candidate.
 * Refit models are ordinary models of one extra generation (index = config.generations), with origin 'refit' and
 * their source as parent, so every view, resume and the ensemble selection treat them like any other finished model.
 */

export interface RefitSpec {
  /** How many of the best models are refit. */
  readonly models: number;
  /** Epochs of each refit (replaces the model's epochs gene and the run's training.epochs). */
  readonly epochs: number;
  /**
   * A cap on the refit's wall time, in minutes: where the refits of `epochs` epochs would take longer, predicted from
   * the chosen models' own epoch times in the search, every refit trains fewer (refitEpochsWithin). Absent: no cap.
   */
  readonly minutes?: number;
  /**
   * Image inputs: refit k trains with random shifts of up to `shifts[k mod length]` pixels (the `shift` gene, set on
   * each refit config; 0 none), so [0, 2] augments every other refit. Augmentation pays off over a refit's many
   * epochs rather than a search's few, and members trained on differently augmented data err on different digits.
   * Absent: each refit keeps its model's own gene.
   */
  readonly shifts?: readonly number[];
  /** Image inputs: refit k trains with random rotations of up to `rotations[k mod length]` degrees (the `rotation` gene). */
  readonly rotations?: readonly number[];
  /** Image inputs: refit k trains with elastic distortions of α = `elastics[k mod length]` pixels (the `elastic` gene). */
  readonly elastics?: readonly number[];
}

/** A field by which the refit augments its models' images (one of AUGMENTATIONS' options with a value above 0, e.g. 'refit.shifts'), or null. */
export function refitAugments(spec: RefitSpec | undefined): `refit.${Augmentation['option']}` | null {
  const by = AUGMENTATIONS.find((a) => spec?.[a.option]?.some((v) => v > 0));
  return by ? `refit.${by.option}` : null;
}

/** Whether generation `index` of a search of `generations` generations is its refit (the one extra generation). */
export const isRefitGeneration = (index: number, generations: number): boolean => index >= generations;

/** The id of a model's refit. */
export const refitId = (modelId: string): string => `${modelId}-refit`;

const REFIT_FIELDS: readonly string[] = ['models', 'epochs', 'minutes', ...AUGMENTATIONS.map((a) => a.option)];

/** Parses a config's `refit` field: {models, epochs, minutes?, shifts?, rotations?, elastics?}, or absent/false for none. */
export function parseRefit(v: unknown): RefitSpec | undefined {
  if (v === undefined || v === false) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw configError('refit', 'must be an object {models, epochs} (or false)');
  const o = v as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!REFIT_FIELDS.includes(key)) throw configError(`refit.${key}`, `unknown field; known fields: ${REFIT_FIELDS.join(', ')}`);
  const int = (key: 'models' | 'epochs', max: number): number => {
    const x = o[key];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1 || x > max) throw configError(`refit.${key}`, `must be an integer in [1, ${max}], got ${JSON.stringify(x)}`);
    return x;
  };
  const minutes = o.minutes;
  if (minutes !== undefined && (typeof minutes !== 'number' || !Number.isFinite(minutes) || minutes <= 0 || minutes > 1e6)) {
    throw configError('refit.minutes', `must be a number of minutes in (0, 1e6], got ${JSON.stringify(minutes)}`);
  }
  // A refit's augmentation (shift, rotation, elastic) is a value of the gene it sets, cycled over the refits.
  const cycled = ({ gene, option, values }: Augmentation): number[] => {
    const list = o[option];
    const ok = HYPER_GENES.find((h) => h.gene === gene)?.ok ?? (() => false);
    if (!Array.isArray(list) || list.length === 0 || list.length > 1000 || !list.every((x) => typeof x === 'number' && Number.isFinite(x) && ok(x))) {
      throw configError(`refit.${option}`, `must be a non-empty list of ${values} (one per refit, cycled), got ${JSON.stringify(list)}`);
    }
    return [...list];
  };
  const augmentations: { -readonly [K in Augmentation['option']]?: number[] } = {};
  for (const a of AUGMENTATIONS) if (o[a.option] !== undefined) augmentations[a.option] = cycled(a);
  return {
    models: int('models', 1000),
    epochs: int('epochs', 10_000),
    ...(minutes === undefined ? {} : { minutes }),
    ...augmentations,
  };
}

/**
 * The most epochs, from `epochs` down to 1, that every refit can train so that the refit ends within `minutes` on
 * `lanes` workers: refit k takes epochs × `epochMs[k]` (its epoch time in the search, validation included), and the
 * refits go in order to the first free lane, as the coordinator's lanes take them. Where even one epoch does not fit,
 * 1 (a refit of no epoch is none). A prediction: the scoring and storing after each refit are not counted.
 */
export function refitEpochsWithin(epochMs: readonly number[], lanes: number, epochs: number, minutes: number): number {
  const limit = minutes * 60_000;
  const makespan = (e: number): number => {
    const free = new Array<number>(Math.max(1, Math.min(lanes, epochMs.length))).fill(0);
    for (const ms of epochMs) {
      const lane = free.indexOf(Math.min(...free));
      free[lane] = (free[lane] as number) + e * ms;
    }
    return Math.max(...free);
  };
  for (let e = epochs; e > 1; e--) if (makespan(e) <= limit) return e;
  return 1;
}

/** A model's mean time per whole epoch in its curve (mid-epoch checks are validation only), or null with none. */
export function meanEpochMs(metrics: readonly { readonly epoch: number; readonly ms?: number }[] | null | undefined): number | null {
  const times = (metrics ?? []).filter((m) => Number.isInteger(m.epoch) && m.ms !== undefined && Number.isFinite(m.ms) && m.ms > 0).map((m) => m.ms as number);
  return times.length > 0 ? times.reduce((a, b) => a + b, 0) / times.length : null;
}

/** The config's `refit` field as a spread: `{refit}` when one is asked for, else nothing. */
export function refitField(v: unknown): { refit?: RefitSpec } {
  const spec = parseRefit(v);
  return spec ? { refit: spec } : {};
}

/** What the refit choice reads of a stored model. */
export interface RefitCandidate extends RankableRecord {
  readonly arch: unknown;
  readonly generation: number;
  /** Its curve: how far a pruned model got, and its validation accuracy there; each point's wall time. */
  readonly metrics?: readonly { readonly epoch: number; readonly valAccuracy?: number; readonly valLoss?: number; readonly ms?: number }[] | null;
}

/** Where a refit candidate stands: how far it trained (or the epoch it is compared at) and its best value by then. */
interface Standing {
  readonly record: RefitCandidate;
  readonly level: number;
  readonly best: number;
}

/**
 * The refit configs: the best `spec.models` models of the search generations, each as a copy with `spec.epochs`
 * epochs (fewer where `spec.minutes` caps the refit on `lanes` workers: refitEpochs), a new id and origin 'refit'.
 * Models whose stored config no longer validates are skipped.
 *
 * Without pruned models (or when refits continue their source's weights, `continues`), the finished models by the
 * one best-model rule (validation accuracy, then validation log-loss, then id), then the pruned models that got
 * furthest, as successive halving ranks its survivors (by the epochs they trained, then their best validation
 * accuracy so far, then id) where too few finished. A pruned model has no stored weights, so its refit trains from
 * scratch even under `inherit: 'all'`.
 *
 * When some models were pruned and refits train from scratch, finished and pruned models are compared at the same
 * epoch: the furthest point a pruned model reached (or where a model stopped, if earlier), by their best validation
 * accuracy up to it, then id. A refit from scratch keeps nothing of a finished model's later epochs, and the rule
 * above preferred any finished model to every pruned one: the first models of a steady search train unchecked (no
 * rung has values yet), so a weak first model (at epoch 2, 92.5 % where three pruned models had 97.0-97.3 %) took a
 * refit slot and the ensemble had one strong member fewer.
 */
export function refitConfigs(models: readonly RefitCandidate[], spec: RefitSpec, searchGenerations: number, continues = false, lanes = 1): ArchConfig[] {
  const searched = models.filter((m) => m.generation < searchGenerations);
  const done = searched.filter((m) => m.status === 'done');
  const progress = (record: RefitCandidate): { record: RefitCandidate; reached: number; curve: Curve } => ({ record, reached: epochsRun(record.metrics ?? []), curve: curveOf(record.metrics ?? []) });
  const pruned = searched.filter((m) => m.status === 'pruned').map(progress);
  // A model's standing at `level` epochs: its best validation accuracy up to there (-Infinity with none).
  const standing = (p: { record: RefitCandidate; curve: Curve }, level: number): Standing => {
    const best = bestUpTo(p.curve, level);
    return { record: p.record, level, best: Number.isNaN(best) ? -Infinity : best };
  };
  // Successive halving's order: how far a model got, then its best value by then, then id.
  const byProgress = (a: Standing, b: Standing): number => b.level - a.level || b.best - a.best || (a.record.modelId < b.record.modelId ? -1 : 1);
  const furthest = Math.max(0, ...pruned.map((p) => p.reached));
  let ranked: RefitCandidate[];
  if (furthest === 0 || continues) {
    const finished = rankBest(done.map((m) => ({ record: m, modelId: m.modelId, valAccuracy: m.valAccuracy, valLogLoss: recordValLogLoss(m) })));
    const stopped = pruned.map((p) => standing(p, p.reached)).sort(byProgress);
    ranked = [...finished, ...stopped].map((x) => x.record);
  } else {
    ranked = [...done.map(progress), ...pruned]
      .map((p) => standing(p, Math.min(p.reached, furthest)))
      .sort(byProgress)
      .map((x) => x.record);
  }
  const chosen: { record: RefitCandidate; arch: ArchConfig }[] = [];
  for (const record of ranked) {
    if (chosen.length >= spec.models) break;
    try {
      chosen.push({ record, arch: validateConfig(record.arch) });
    } catch {
      // A stored config that no longer validates is skipped.
    }
  }
  const epochs = refitEpochs(chosen.map((c) => c.record), spec, lanes);
  return chosen.map(({ arch }, k) => {
    const { name: _n, species: _s, mutationStr: _m, numBrains: _b, brainNames: _bn, ...genes } = arch;
    // Each augmentation's list is cycled over the refits on its own.
    const augmented: { -readonly [K in Augmentation['gene']]?: number } = {};
    for (const { gene, option } of AUGMENTATIONS) {
      const list = spec[option];
      if (list !== undefined) augmented[gene] = list[k % list.length] ?? 0;
    }
    return finishConfig({ ...genes, ...augmented, id: refitId(arch.id), epochs, parents: [arch.id], origin: 'refit', mutations: [] });
  });
}

/**
 * The refit's epochs: the spec's, or with `minutes` the most that fit it on `lanes` workers (refitEpochsWithin), from
 * each chosen model's epoch time in the search; a model with no whole epoch timed counts at the others' slowest, and
 * with none timed at all nothing is cut.
 */
export function refitEpochs(chosen: readonly RefitCandidate[], spec: RefitSpec, lanes: number): number {
  if (spec.minutes === undefined || chosen.length === 0) return spec.epochs;
  const timed = chosen.map((c) => meanEpochMs(c.metrics));
  const known = timed.filter((t): t is number => t !== null);
  if (known.length === 0) return spec.epochs;
  const slowest = Math.max(...known);
  return refitEpochsWithin(timed.map((t) => t ?? slowest), lanes, spec.epochs, spec.minutes);
}
