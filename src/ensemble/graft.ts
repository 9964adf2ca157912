import type { Activation } from '../engine/activations.js';
import { specError } from '../engine/errors.js';
import { evaluate } from '../engine/eval.js';
import type { DenseSpec } from '../engine/layers/dense.js';
import type { ParallelSpec } from '../engine/layers/parallel.js';
import type { SequentialSpec } from '../engine/layers/sequential.js';
import type { SoftmaxSpec } from '../engine/layers/softmax.js';
import type { LayerSpec } from '../engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../engine/network.js';
import { Rng } from '../engine/rng.js';
import { train, type EpochMetrics } from '../engine/train/index.js';
import { splitTensors, type LoadedDataset } from '../data/index.js';

/**
 * Grafting: several trained networks become one.
 *
 * Ensemble graft — exactly the offline weighted-average ensemble, as a plain network of existing layer kinds:
 *
 *   L0 parallel (concat) ── branch 0: dense, kernel 0, bias log w_k   → K "mixture logits", constant per sample
 *                        └─ branch k: sequential(member k's layers)   → member k's class logits
 *   L1 softmax, variant mixture (K components): Σ_k softmax(log w)_k · softmax(logits_k) = Σ_k w_k · p_k
 *
 * so the output is already probabilities (the network ends in a softmax, which predict/evaluate recognize).
 * Both layers are frozen: fine-tuning such a model would no longer be the selected ensemble.
 *
 * Hive graft — LOOM's GraftNetworks done with deep copies: each network contributes its feature path up to and
 * including its hive (the reshape and adapter the hive was trained on, then the hive itself with its own combine
 * mode), all side by side in one "super-hive" parallel (concat) whose weights are copies (LOOM shared the slices,
 * so training the graft changed the sources). A fresh merger and head go on top; the super-hive is frozen and only
 * the merger and head are trained.
 */

export interface GraftMember {
  readonly network: Network;
  /** Ensemble weight (> 0); weights are normalized to sum to 1. */
  readonly weight: number;
  readonly modelId?: string;
}

const refuse = (message: string): Error => specError('graft', message);
const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;
const nameOf = (net: Network, i: number, id?: string): string => id || net.modelId || `network #${i}`;

/** The enabled layers of a network in flat order, with their flat indices. */
function enabledLayers(net: Network, name: string): { specs: LayerSpec[]; source: number[] } {
  const source = net.layers.map((_, i) => i).filter((i) => !net.isDisabled(i));
  if (source.length < net.layers.length && net.layers.some((l) => l.skipBack !== undefined)) {
    throw refuse(`${name} has disabled layers and residual skips; the skips cannot be re-routed inside a branch`);
  }
  if (source.length === 0) throw refuse(`${name} has no enabled layers`);
  return { specs: source.map((i) => (net.layers[i] as Network['layers'][number]).spec), source };
}

/** Refuses networks that do not take the same input or give the same classes, saying which differ. */
function checkCompatible(nets: readonly Network[], ids: readonly (string | undefined)[]): void {
  if (nets.length === 0) throw refuse('no networks to graft');
  const first = nets[0] as Network;
  nets.forEach((net, i) => {
    if (fmt(net.inputShape) !== fmt(first.inputShape)) {
      throw refuse(`members take different inputs: ${nameOf(first, 0, ids[0])} takes ${fmt(first.inputShape)}, ${nameOf(net, i, ids[i])} takes ${fmt(net.inputShape)}`);
    }
    if (net.outputShape.length !== 1) throw refuse(`${nameOf(net, i, ids[i])} outputs ${fmt(net.outputShape)}, not one row of class scores`);
    if (net.outputShape[0] !== first.outputShape[0]) {
      throw refuse(`members predict different classes: ${nameOf(first, 0, ids[0])} has ${first.outputShape[0]}, ${nameOf(net, i, ids[i])} has ${net.outputShape[0]}`);
    }
  });
}

/** One branch of an ensemble graft: layer specs, and each parameter's name under the branch with its values. */
interface Branch {
  readonly specs: LayerSpec[];
  readonly params: NamedValues;
  /** Weight within its member (1 for a plain network). */
  readonly weight: number;
}

type NamedValues = readonly { readonly name: string; readonly value: Float32Array }[];

/** The params of a network's `source` layers, each named for the step of a branch (a sequential) it becomes. */
function stepParams(net: Network, source: readonly number[]): NamedValues {
  return source.flatMap((layerIndex, step) =>
    (net.layers[layerIndex] as Network['layers'][number]).params().map((p) => ({ name: `step.${step}.${p.name}`, value: p.value })),
  );
}

/** Copies params (named under a branch) into branch `index` of the graft's layer 0. */
function copyIntoBranch(graft: Network, index: number, params: NamedValues, memberName: string): void {
  const target = new Map(graft.params().map((p) => [p.name, p]));
  for (const p of params) {
    const name = `L0.branch.${index}.${p.name}`;
    const t = target.get(name);
    if (!t || t.value.length !== p.value.length) throw refuse(`internal: no matching param ${name} for ${memberName}'s ${p.name}`);
    t.value.set(p.value);
  }
}

/** A plain member's branch: its logit layers. */
function plainBranch(net: Network, name: string): Branch {
  const { specs, source } = logitLayers(net, name);
  return { specs, params: stepParams(net, source), weight: 1 };
}

/**
 * A network that is itself an ensemble graft (a grafted ensemble, or a k-fold bag): its branches with their
 * mixture weights, or null when it is not one. Recognized by the exact shape graftEnsemble builds, including a
 * zero prior kernel (the weights are the same for every input).
 */
function ensembleBranches(net: Network): Branch[] | null {
  if (net.layers.length !== 2 || net.isDisabled(0) || net.isDisabled(1)) return null;
  const [combiner, mixture] = net.layers.map((l) => l.spec) as [LayerSpec, LayerSpec];
  if (combiner.type !== 'parallel' || mixture.type !== 'softmax') return null;
  const { branches, combine } = combiner as ParallelSpec;
  const { variant, components } = mixture as SoftmaxSpec;
  const K = branches.length - 1;
  const prior = branches[0] as LayerSpec;
  if (combine !== 'concat' || variant !== 'mixture' || components !== K || K < 1 || prior.type !== 'dense' || (prior as DenseSpec).units !== K) return null;
  if (!branches.slice(1).every((b) => b.type === 'sequential')) return null;
  const params = net.params();
  const kernel = params.find((p) => p.name === 'L0.branch.0.kernel');
  const bias = params.find((p) => p.name === 'L0.branch.0.bias');
  if (!kernel || !bias || bias.value.length !== K || kernel.value.some((v) => v !== 0)) return null;
  const max = Math.max(...bias.value);
  const exp = Array.from(bias.value, (b) => Math.exp(b - max));
  const total = exp.reduce((a, b) => a + b, 0);
  return Array.from({ length: K }, (_, j) => {
    const prefix = `L0.branch.${j + 1}.`;
    return {
      specs: [...(branches[j + 1] as SequentialSpec).layers],
      params: params.filter((p) => p.name.startsWith(prefix)).map((p) => ({ name: p.name.slice(prefix.length), value: p.value })),
      weight: (exp[j] as number) / total,
    };
  });
}

/**
 * The members of an ensemble graft (a grafted ensemble or a k-fold bag) as standalone networks, in branch order,
 * with their mixture weights; null when the network is not one. Each member is its branch's logit layers as a plain
 * network (no final softmax), its params named L<i>.<param> with i counting the source's enabled layers: the names
 * the source had when none was disabled, as in every network a search builds.
 */
export function ensembleMembers(net: Network): { network: Network; weight: number }[] | null {
  const branches = ensembleBranches(net);
  if (!branches) return null;
  return branches.map((branch) => {
    const member = new Network(sequentialNetworkSpec(net.inputShape, branch.specs), new Rng(0));
    const target = new Map(member.params().map((p) => [p.name, p]));
    for (const p of branch.params) {
      // Branch params are named step.<i>.<param>; the member's layer i holds them as L<i>.<param>.
      const name = p.name.replace(/^step\.(\d+)\./, 'L$1.');
      const t = target.get(name);
      if (!t || t.value.length !== p.value.length) throw refuse(`internal: ensemble member has no param ${name} for ${p.name}`);
      t.value.set(p.value);
    }
    return { network: member, weight: branch.weight };
  });
}

/** Member layers that output class logits: a final plain softmax (temperature 1) is dropped, other endings refused. */
function logitLayers(net: Network, name: string): { specs: LayerSpec[]; source: number[] } {
  const { specs, source } = enabledLayers(net, name);
  const last = specs[specs.length - 1] as LayerSpec;
  if (last.type === 'softmax') {
    const s = last as SoftmaxSpec;
    if ((s.variant ?? 'standard') !== 'standard' || (s.temperature ?? 1) !== 1) {
      throw refuse(`${name} ends in a ${s.variant} softmax (temperature ${s.temperature}); only plain softmax or logit outputs can be averaged`);
    }
    if (specs.length === 1) throw refuse(`${name} is only a softmax`);
    return { specs: specs.slice(0, -1), source: source.slice(0, -1) };
  }
  if (last.type === 'sequential' || last.type === 'parallel') {
    // A nested ending may hide a softmax; its output would be re-softmaxed. Refuse rather than guess.
    const lastLayer = net.layers[source[source.length - 1] as number];
    const kids = lastLayer?.children?.() ?? [];
    if (kids.some((k) => k.spec.type === 'softmax')) throw refuse(`${name} ends in a ${last.type} containing a softmax; graft needs logit outputs`);
  }
  return { specs, source };
}

/**
 * The ensemble graft (see the module comment). Its predictions equal Σ_k w_k·softmax(member_k(x)). A member that is
 * itself an ensemble graft (a k-fold bag, or an earlier graft) is flattened: each of its branches joins the outer
 * mixture with its weight multiplied by the member's, so the output is still Σ w·p of the members' outputs.
 */
export function graftEnsemble(members: readonly GraftMember[]): Network {
  const nets = members.map((m) => m.network);
  const ids = members.map((m) => m.modelId);
  checkCompatible(nets, ids);
  members.forEach((m, i) => {
    if (!(m.weight > 0) || !Number.isFinite(m.weight)) throw refuse(`${nameOf(m.network, i, m.modelId)} has weight ${m.weight}; weights must be positive`);
  });
  const total = members.reduce((a, m) => a + m.weight, 0);
  const parts = members.flatMap((m, i) => {
    const name = nameOf(m.network, i, m.modelId);
    const branches = ensembleBranches(m.network) ?? [plainBranch(m.network, name)];
    return branches.map((branch) => ({ branch, name, weight: (m.weight / total) * branch.weight }));
  });
  const K = parts.length;
  const prior: DenseSpec = { type: 'dense', units: K, activation: 'linear', perPosition: false, initScale: 1 };
  const branches: LayerSpec[] = [prior, ...parts.map((p): SequentialSpec => ({ type: 'sequential', layers: p.branch.specs }))];
  const combiner: ParallelSpec = { type: 'parallel', branches, combine: 'concat' };
  const mixture: SoftmaxSpec = { type: 'softmax', variant: 'mixture', components: K };
  const spec = { ...sequentialNetworkSpec(nets[0]?.inputShape ?? [], [combiner, mixture]), frozen: [0, 1] };
  const graft = new Network(spec, new Rng(0));
  const params = new Map(graft.params().map((p) => [p.name, p]));
  (params.get('L0.branch.0.kernel') as { value: Float32Array }).value.fill(0);
  const bias = (params.get('L0.branch.0.bias') as { value: Float32Array }).value;
  parts.forEach((p, k) => (bias[k] = Math.log(p.weight)));
  parts.forEach((p, k) => copyIntoBranch(graft, k + 1, p.branch.params, p.name));
  graft.modelId = `ensemble(${members.map((m, i) => nameOf(m.network, i, m.modelId)).join('+')})`;
  return graft;
}

export interface HiveGraftOptions {
  /** Units of the fresh merger (per position), default 64. */
  readonly mergerUnits?: number;
  readonly activation?: Activation;
  /** Seeds the fresh merger and head (default 0). */
  readonly seed?: number;
}

/** Index (into the enabled layers) of a network's hive: its first parallel layer. */
function hiveIndex(specs: readonly LayerSpec[], name: string): number {
  const h = specs.findIndex((s) => s.type === 'parallel');
  if (h < 0) throw refuse(`${name} has no hive (no parallel layer) to graft`);
  return h;
}

/** The hive graft, untrained (see the module comment): layer 0 is the frozen super-hive. */
export function graftHives(networks: readonly Network[], options: HiveGraftOptions = {}, ids: readonly (string | undefined)[] = []): Network {
  checkCompatible(networks, ids);
  const paths = networks.map((net, i) => {
    const name = nameOf(net, i, ids[i]);
    if (ensembleBranches(net)) throw refuse(`${name} is an ensemble (a graft or a k-fold bag); a hive graft takes single networks`);
    const { specs, source } = enabledLayers(net, name);
    const h = hiveIndex(specs, name);
    return { specs: specs.slice(0, h + 1), source: source.slice(0, h + 1) };
  });
  const superHive: ParallelSpec = {
    type: 'parallel',
    branches: paths.map((p): SequentialSpec => ({ type: 'sequential', layers: p.specs })),
    combine: 'concat',
  };
  const merger: DenseSpec = { type: 'dense', units: options.mergerUnits ?? 64, activation: options.activation ?? 'relu', perPosition: true, initScale: 1 };
  const head: DenseSpec = { type: 'dense', units: (networks[0] as Network).outputShape[0] as number, activation: 'linear', perPosition: false, initScale: 1 };
  const spec = { ...sequentialNetworkSpec((networks[0] as Network).inputShape, [superHive, merger, { type: 'flatten' }, head]), frozen: [0] };
  const graft = new Network(spec, new Rng(options.seed ?? 0));
  networks.forEach((net, k) => copyIntoBranch(graft, k, stepParams(net, (paths[k] as { source: number[] }).source), nameOf(net, k, ids[k])));
  graft.modelId = `hive-graft(${networks.map((n, i) => nameOf(n, i, ids[i])).join('+')})`;
  return graft;
}

export interface HiveTrainOptions {
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  readonly seed?: number;
  readonly onEpoch?: (m: EpochMetrics) => void;
}

export interface TrainedGraft {
  readonly network: Network;
  readonly history: EpochMetrics[];
  readonly valAccuracy: number;
  readonly testAccuracy: number;
}

/** Trains a hive graft's merger and head (the super-hive stays frozen) and reports validation and test accuracy. */
export function trainHiveGraft(network: Network, data: LoadedDataset, options: HiveTrainOptions = {}): TrainedGraft {
  const split = (s: LoadedDataset['train']) => splitTensors(data, s);
  const validation = split(data.val);
  const { history } = train(network, split(data.train), {
    epochs: options.epochs ?? 3,
    batchSize: options.batchSize ?? 32,
    learningRate: options.learningRate ?? 1e-3,
    optimizer: 'adamw',
    seed: options.seed ?? 0,
    validation,
    ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
  });
  return {
    network,
    history,
    valAccuracy: evaluate(network, validation).accuracy,
    testAccuracy: evaluate(network, split(data.test)).accuracy,
  };
}
