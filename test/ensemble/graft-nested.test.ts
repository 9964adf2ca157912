import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, predict } from '../../src/engine/eval.js';
import { softmaxInto } from '../../src/engine/math.js';
import { decodeModels, encodeLoomModel, pickModel } from '../../src/engine/io/index.js';
import type { ParallelSpec } from '../../src/engine/layers/parallel.js';
import type { Network } from '../../src/engine/network.js';
import { ensembleMembers, graftEnsemble, graftHives } from '../../src/ensemble/graft.js';
import { combineProbabilities } from '../../src/ensemble/select.js';
import type { LoadedDataset } from '../../src/data/index.js';
import { asTensor, blobs, trainMembers, type TrainedMember } from './fixture.js';

let data: LoadedDataset;
let members: TrainedMember[];

beforeAll(() => {
  data = blobs();
  members = trainMembers(data, 4);
});

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
const branchCount = (net: Network): number => (net.layers[0]?.spec as ParallelSpec).branches.length - 1;
const roundTrip = (net: Network): Network => pickModel(decodeModels(encodeLoomModel(net))).network;

describe('a graft of grafts (bagged models in an ensemble)', () => {
  it('flattens member grafts into one mixture with multiplied weights: still Σ w·p of the members', () => {
    const test = asTensor(data, data.test);
    // Two "bags" (as a k-fold job stores them: a graft, saved and loaded back), then an ensemble of them and a plain model.
    const bagA = roundTrip(graftEnsemble([{ network: members[0]!.network, weight: 1 }, { network: members[1]!.network, weight: 1 }]));
    const bagB = roundTrip(graftEnsemble([{ network: members[2]!.network, weight: 3 }, { network: members[3]!.network, weight: 1 }]));
    const outer = graftEnsemble([
      { network: bagA, weight: 0.5, modelId: 'A' },
      { network: bagB, weight: 0.3, modelId: 'B' },
      { network: members[0]!.network, weight: 0.2, modelId: 'm0' },
    ]);
    expect(branchCount(outer)).toBe(5);
    const bagAProbs = combineProbabilities(members.map((m) => m.test.probabilities), [0, 1], [0.5, 0.5]);
    const bagBProbs = combineProbabilities(members.map((m) => m.test.probabilities), [2, 3], [0.75, 0.25]);
    const expected = combineProbabilities([bagAProbs, bagBProbs, members[0]!.test.probabilities], [0, 1, 2], [0.5, 0.3, 0.2]);
    expect(maxDiff(predict(outer, test.x).data, expected)).toBeLessThan(1e-5);
    // The members' own outputs agree: each bag predicts its mean.
    expect(maxDiff(evaluate(bagA, test).probabilities, bagAProbs)).toBeLessThan(1e-5);
    // Exported and reloaded, then grafted once more on its own: the same predictions, still flat.
    const again = graftEnsemble([{ network: roundTrip(outer), weight: 1 }]);
    expect(branchCount(again)).toBe(5);
    expect(maxDiff(predict(again, test.x).data, expected)).toBeLessThan(1e-5);
  });

  it('refuses a bag in a hive graft, which needs single networks', () => {
    const bag = graftEnsemble(members.slice(0, 2).map((m) => ({ network: m.network, weight: 1 })));
    expect(() => graftHives([bag, members[2]!.network], {}, ['bag', 'm2'])).toThrow(/bag is an ensemble/);
  });
});

describe('the members of an ensemble graft', () => {
  it('come back as standalone networks with their weights, predicting what they did before grafting', () => {
    const test = asTensor(data, data.test);
    const graft = roundTrip(graftEnsemble([{ network: members[1]!.network, weight: 3 }, { network: members[2]!.network, weight: 1 }]));
    const back = ensembleMembers(graft);
    expect(back?.map((m) => m.weight)).toEqual([expect.closeTo(0.75, 6), expect.closeTo(0.25, 6)]);
    back!.forEach(({ network }, k) => {
      const source = members[k + 1]!;
      // Logits only (the member's final softmax is not part of a branch); the same params under the same names.
      const byName = new Map(source.network.params().map((p) => [p.name, p.value]));
      for (const p of network.params()) expect(maxDiff(p.value, byName.get(p.name)!)).toBe(0);
      expect(network.paramCount()).toBe(source.network.paramCount());
      const logits = predict(network, test.x).data;
      const c = data.numClasses;
      const probs = new Float32Array(logits.length);
      for (let o = 0; o < logits.length; o += c) softmaxInto(logits, o, c, probs.subarray(o, o + c));
      expect(maxDiff(probs, source.test.probabilities)).toBeLessThan(1e-5);
    });
    expect(ensembleMembers(members[0]!.network)).toBeNull();
  });
});
