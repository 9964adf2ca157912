import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/engine/errors.js';
import { encodeBase64 } from '../../src/engine/io/base64.js';
import { decodeLoomBundle, encodeLoomBundle } from '../../src/engine/io/loom-bundle.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { tensor, type Tensor } from '../../src/engine/tensor.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';

type Fields = Record<string, number[] | Fields[]>;
const b64json = (v: unknown): string => encodeBase64(new TextEncoder().encode(JSON.stringify(v)));

/** multiPrecisionB64 float32 fields: each array → base64 of little-endian float32 bytes. */
function rawFields(w: Fields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(w)) {
    out[k] = k === 'branch_weights' ? (v as Fields[]).map(rawFields) : encodeBase64(new Uint8Array(Float32Array.from(v as number[]).buffer));
  }
  return out;
}

/** A bundle as LOOM writes it: no cfg.loomts, weights in either format. */
function loomBundle(layers: object[], weights: Fields[], fmt: 'jsonModelB64' | 'multiPrecisionB64', grid = [1, 1, layers.length]): string {
  const data =
    fmt === 'jsonModelB64'
      ? b64json({ type: 'float32', dtype: '', layers: weights })
      : b64json({ dtype: 'float32', scale: 1, layers: weights.map(rawFields) });
  const cfg = { id: 'hand', batch_size: 1, grid_rows: grid[0], grid_cols: grid[1], layers_per_cell: grid[2], layers };
  return JSON.stringify({ type: 'modelhost/bundle', version: fmt === 'jsonModelB64' ? 1 : 2, models: [{ id: 'hand', cfg, weights: { fmt, data } }] }, null, 2);
}

const run = (network: Network, rows: number[][]): number[][] => {
  const size = rows[0]!.length;
  const y = network.forward(tensor([rows.length, ...network.inputShape], rows.flat()));
  const per = y.data.length / rows.length;
  return rows.map((_, r) => Array.from(y.data.subarray(r * per, (r + 1) * per)));
  void size;
};

function expectClose(actual: number[][], expected: number[][], digits = 5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, r) => row.forEach((v, i) => expect(v).toBeCloseTo(expected[r]![i]!, digits)));
}

// Dense 2→2 "linear" (LOOM's loader made it ScaledReLU), a Parallel "add" of a ScaledReLU dense and a linear one,
// then Dense 2→1 leaky_relu. Outputs worked out by hand in the comments below.
const handLayers = [
  { type: 'dense', activation: 'linear', width: 1, height: 1, input_height: 2, output_height: 2 },
  {
    type: 'parallel', activation: 'relu', combine_mode: 'add',
    branches: [
      { type: 'dense', activation: 'relu', input_height: 2, output_height: 2 },
      { type: 'dense', activation: 'linear', input_height: 2, output_height: 2 },
    ],
  },
  { type: 'dense', activation: 'leaky_relu', width: 1, height: 1, input_height: 2, output_height: 1 },
];
const handWeights: Fields[] = [
  { biases: [0.5, -0.5], kernel: [1, 2, 3, 4] }, // [in][out]
  { branch_weights: [{ biases: [0, 0], kernel: [1, 0, 0, 1] }, { biases: [1, 1], kernel: [0, 1, 1, 0] }] },
  { biases: [0], kernel: [1, -1] },
];
// x = [1, 2]:  L0 = [1·1 + 2·3 + 0.5, 1·2 + 2·4 − 0.5] = [7.5, 9.5]; branch 0 = 1.1·[7.5, 9.5] = [8.25, 10.45];
//   branch 1 = [9.5 + 1, 7.5 + 1]; sum = [18.75, 18.95]; L2 = leaky(18.75 − 18.95) = −0.02.
// x = [−1, 0]: L0 = [−0.5, −2.5]; branch 0 = [0, 0]; branch 1 = [−1.5, 0.5]; L2 = leaky(−2) = −0.2.
const handInputs = [[1, 2], [-1, 0]];
const handOutputs = [[-0.02], [-0.2]];

describe('LOOM bundle: reading hand-written bundles', () => {
  for (const fmt of ['jsonModelB64', 'multiPrecisionB64'] as const) {
    it(`reads dense and parallel layers with ${fmt} weights and computes the hand-checked outputs`, () => {
      const { models, warnings } = decodeLoomBundle(loomBundle(handLayers, handWeights, fmt));
      expect(warnings).toEqual([]);
      expect(models.map((m) => m.id)).toEqual(['hand']);
      expect(models[0]!.format).toBe(fmt);
      const network = models[0]!.network;
      expect(network.inputShape).toEqual([2]);
      expect(network.modelId).toBe('hand');
      expect(network.layers[0]!.spec).toMatchObject({ type: 'dense', units: 2, activation: 'linear' });
      expect(network.layers[1]!.spec).toMatchObject({ type: 'parallel', combine: 'add' });
      expectClose(run(network, handInputs), handOutputs, 6);
    });
  }

  it('reads RNN and LSTM weights in LOOM layout ([hidden][in], per-gate) over a 2-step sequence', () => {
    const rng = new Rng(11);
    const r = (n: number): number[] => Array.from({ length: n }, () => Math.fround(rng.normal(0, 0.6)));
    const [seq, inSize, h1, h2] = [2, 3, 2, 3];
    const rnnW = { weight_ih: r(h1 * inSize), weight_hh: r(h1 * h1), bias_h: r(h1) };
    const lstmW: Record<string, number[]> = {};
    for (const g of ['i', 'f', 'g', 'o']) Object.assign(lstmW, { [`weight_i${g}`]: r(h2 * h1), [`weight_h${g}`]: r(h2 * h2), [`bias_${g}`]: r(h2) });
    const denseW = { biases: r(1), kernel: r(seq * h2) };
    const layers = [
      { type: 'rnn', activation: 'tanh', input_size: inSize, hidden_size: h1, seq_length: seq },
      { type: 'lstm', activation: 'tanh', input_size: h1, hidden_size: h2, seq_length: seq },
      { type: 'dense', activation: 'linear', input_height: seq * h2, output_height: 1 },
    ];
    const network = decodeLoomBundle(loomBundle(layers, [rnnW, lstmW, denseW], 'jsonModelB64')).models[0]!.network;
    expect(network.inputShape).toEqual([seq, inSize]);

    // LOOM's math, written out on its own layouts: W[h*in + i].
    const matvec = (w: number[], x: number[], rows: number): number[] =>
      Array.from({ length: rows }, (_, o) => x.reduce((s, xi, i) => s + w[o * x.length + i]! * xi, 0));
    const add = (...vs: number[][]): number[] => vs[0]!.map((_, i) => vs.reduce((s, v) => s + v[i]!, 0));
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    const x = r(seq * inSize);
    let h = [0, 0];
    const rnnOut: number[][] = [];
    for (let t = 0; t < seq; t++) {
      h = add(matvec(rnnW.weight_ih, x.slice(t * inSize, (t + 1) * inSize), h1), matvec(rnnW.weight_hh, h, h1), rnnW.bias_h).map(Math.tanh);
      rnnOut.push(h);
    }
    let hl = [0, 0, 0];
    let c = [0, 0, 0];
    const out: number[] = [];
    for (let t = 0; t < seq; t++) {
      const gate = (g: string): number[] => add(matvec(lstmW[`weight_i${g}`]!, rnnOut[t]!, h2), matvec(lstmW[`weight_h${g}`]!, hl, h2), lstmW[`bias_${g}`]!);
      const [i, f, g, o] = [gate('i').map(sig), gate('f').map(sig), gate('g').map(Math.tanh), gate('o').map(sig)];
      c = c.map((cv, k) => f[k]! * cv + i[k]! * g[k]!);
      hl = c.map((cv, k) => o[k]! * Math.tanh(cv));
      out.push(...hl);
    }
    const expected = out.reduce((s, v, k) => s + v * denseW.kernel[k]!, denseW.biases[0]!);
    expectClose(run(network, [x]), [[expected]], 5);
  });

  it('reads a LOOM hive (Dense → Parallel of MHA/LSTM/RNN/Dense brains → Dense) with reshape adapters', () => {
    const rng = new Rng(12);
    const r = (n: number): number[] => Array.from({ length: n }, () => Math.fround(rng.normal(0, 0.5)));
    const d = 4;
    const brains = [
      { type: 'multi_head_attention', activation: 'relu', d_model: d, num_heads: 2, seq_length: 1 },
      { type: 'lstm', activation: 'relu', input_size: d, hidden_size: d, seq_length: 1 },
      { type: 'rnn', activation: 'relu', input_size: d, hidden_size: d, seq_length: 1 },
      { type: 'dense', activation: 'tanh', input_height: d, output_height: d },
    ];
    const mha = { q_weights: r(16), k_weights: r(16), v_weights: r(16), output_weight: r(16), q_bias: r(4), k_bias: r(4), v_bias: r(4), output_bias: r(4) };
    const lstm: Record<string, number[]> = {};
    for (const g of ['i', 'f', 'g', 'o']) Object.assign(lstm, { [`weight_i${g}`]: r(16), [`weight_h${g}`]: r(16), [`bias_${g}`]: r(4) });
    const rnn = { weight_ih: r(16), weight_hh: r(16), bias_h: r(4) };
    const dense = { biases: r(4), kernel: r(16) };
    const layers = [
      { type: 'dense', activation: 'tanh', input_height: 3, output_height: d },
      { type: 'parallel', activation: 'relu', combine_mode: 'avg', branches: brains },
      { type: 'dense', activation: 'sigmoid', input_height: d, output_height: 2 },
    ];
    const inW = { biases: r(4), kernel: r(12) };
    const outW = { biases: r(2), kernel: r(8) };
    const text = loomBundle(layers, [inW, { branch_weights: [mha, lstm, rnn, dense] }, outW], 'multiPrecisionB64');
    const network = decodeLoomBundle(text).models[0]!.network;
    const branches = (network.layers[1]!.spec as unknown as { branches: { type: string; layers?: { type: string }[] }[] }).branches;
    expect(branches.map((b) => b.type)).toEqual(['sequential', 'sequential', 'sequential', 'dense']);
    expect(branches[0]!.layers!.map((s) => s.type)).toEqual(['reshape', 'mha', 'flatten']);
    expect(branches[0]!.layers![1]).toMatchObject({ heads: 2, causal: true, rope: true, ropeTheta: 1e6 });

    // seq = 1 (§1.9): MHA = W_oᵀ(W_vᵀx + b_v) + b_o ([in][out]); LSTM = σ(o)⊙tanh(σ(i)⊙tanh(g)); RNN = tanh(W_ih x + b).
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    const inOut = (w: number[], b: number[], x: number[]): number[] => b.map((bo, o) => x.reduce((s, xi, i) => s + xi * w[i * b.length + o]!, bo));
    const outIn = (w: number[], b: number[], x: number[]): number[] => b.map((bo, o) => x.reduce((s, xi, i) => s + xi * w[o * x.length + i]!, bo));
    const x = [0.3, -1.2, 0.8];
    const a = inOut(inW.kernel, inW.biases, x).map(Math.tanh);
    const yMha = inOut(mha.output_weight, mha.output_bias, inOut(mha.v_weights, mha.v_bias, a));
    const gate = (g: string): number[] => outIn(lstm[`weight_i${g}`]!, lstm[`bias_${g}`]!, a);
    const yLstm = gate('o').map((o, k) => sig(o) * Math.tanh(sig(gate('i')[k]!) * Math.tanh(gate('g')[k]!)));
    const yRnn = outIn(rnn.weight_ih, rnn.bias_h, a).map(Math.tanh);
    const yDense = inOut(dense.kernel, dense.biases, a).map(Math.tanh);
    const avg = yMha.map((_, k) => (yMha[k]! + yLstm[k]! + yRnn[k]! + yDense[k]!) / 4);
    const expected = inOut(outW.kernel, outW.biases, avg).map(sig);
    expectClose(run(network, [x]), [expected], 5);
  });

  it('fills missing weights with zeros and says so; rejects wrong lengths and foreign JSON', () => {
    const noWeights = handWeights.map(() => ({}));
    const { models, warnings } = decodeLoomBundle(loomBundle(handLayers, noWeights, 'jsonModelB64'));
    expect(warnings[0]).toMatch(/layer 0 \(dense\): no kernel, biases in the bundle; those weights are zeros/);
    expect(run(models[0]!.network, [[1, 2]])).toEqual([[0]]);
    const short = [{ biases: [0.5, -0.5], kernel: [1, 2, 3] }, ...handWeights.slice(1)];
    const expectFileError = (fn: () => unknown, pattern: RegExp): void => {
      let caught: unknown;
      try {
        fn();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(LoomError);
      expect((caught as LoomError).code).toBe('LOOM_ERR_MODEL_FILE');
      expect((caught as Error).message).toMatch(pattern);
    };
    expectFileError(() => decodeLoomBundle(loomBundle(handLayers, short, 'jsonModelB64')), /layer 0 \(dense\): weight field kernel has 3 values, expected 4/);
    expectFileError(() => decodeLoomBundle('{"type": "something/else"}'), /"type" must be "modelhost\/bundle"/);
    expectFileError(() => decodeLoomBundle('{"type": "modelhost/bundle", "models": [{'), /not valid JSON/);
    expectFileError(() => decodeLoomBundle(loomBundle(handLayers, handWeights, 'jsonModelB64', [2, 2, 1])), /2×2×1 grid needs 4 layers, cfg.layers has 3/);
    const mismatch = [{ ...handLayers[0], output_height: 3 }, ...handLayers.slice(1)];
    expectFileError(() => decodeLoomBundle(loomBundle(mismatch, handWeights, 'jsonModelB64')), /dense expects input_height 2 values, but the previous layer gives 3/);
    expectFileError(() => decodeLoomBundle(loomBundle([{ type: 'warp', activation: 'relu' }], [{}], 'jsonModelB64')), /LOOM layer type "warp" cannot be read/);
    const garbledData = loomBundle(handLayers, handWeights, 'jsonModelB64').replace(/"data": "[^"]{4}/, '"data": "!!!!');
    expectFileError(() => decodeLoomBundle(garbledData), /invalid base64 character/);
  });
});

describe('LOOM bundle: writing', () => {
  const native = (): Network => {
    const spec = sequentialNetworkSpec([2, 4], <LayerSpec[]>[
      { type: 'lstm', hidden: 3 },
      { type: 'layer_norm' },
      { type: 'parallel', combine: 'filter', temperature: 0.5, branches: [{ type: 'dense', units: 6, activation: 'relu' }, { type: 'sequential', layers: [{ type: 'swiglu', hidden: 4 }, { type: 'flatten' }] }, { type: 'flatten' }] },
      { type: 'dense', units: 2, activation: 'gelu', initScale: 0.5 },
    ]);
    const network = new Network(spec, new Rng(3));
    const rng = new Rng(4);
    for (const p of network.params()) for (let i = 0; i < p.value.length; i++) p.value[i] = Math.fround(rng.normal(0, 0.4));
    return network;
  };
  const x = (): Tensor => tensor([3, 2, 4], Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)));

  it('round-trips a network through both weight formats: same spec, params and outputs', () => {
    const original = native();
    for (const format of ['jsonModelB64', 'multiPrecisionB64'] as const) {
      const loaded = decodeLoomBundle(encodeLoomBundle([{ id: 'n1', network: original }], { format })).models[0]!;
      expect(loaded.network.spec).toEqual(original.spec);
      original.params().forEach((p, k) => expect(Array.from(loaded.network.params()[k]!.value), p.name).toEqual(Array.from(p.value)));
      expect(Array.from(loaded.network.forward(x()).data)).toEqual(Array.from(original.forward(x()).data));
    }
  });

  it('writes LOOM field names and layouts, sorted models, and is deterministic', () => {
    const a = native();
    const b = new Network(sequentialNetworkSpec([3], [{ type: 'dense', units: 2, activation: 'scaled_relu' } as LayerSpec]), new Rng(1));
    b.params()[0]!.value.set([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    const text = encodeLoomBundle([{ id: 'zeta', network: a }, { id: 'alpha', network: b }]);
    const bundle = JSON.parse(text);
    expect(bundle.type).toBe('modelhost/bundle');
    expect(bundle.version).toBe(1);
    expect(bundle.models.map((m: { id: string }) => m.id)).toEqual(['alpha', 'zeta']);
    expect(bundle.models[0].cfg.layers).toEqual([{ type: 'dense', activation: 'relu', input_height: 3, output_height: 2 }]);
    const payload = JSON.parse(Buffer.from(bundle.models[0].weights.data, 'base64').toString());
    expect(payload).toEqual({ type: 'float32', dtype: '', layers: [{ biases: [0, 0], kernel: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6] }] });
    expect(Object.keys(bundle.models[1].cfg.layers[0])).toEqual(['type', 'activation', 'input_size', 'seq_length', 'hidden_size']);
    expect(bundle.models[1].cfg.layers[2].combine_mode).toBe('filter');

    const again = decodeLoomBundle(text).models.map((m) => ({ id: m.id, network: m.network }));
    expect(encodeLoomBundle(again)).toBe(text);
    expect(() => encodeLoomBundle([{ id: 'x', network: b }, { id: 'x', network: b }])).toThrow(/two models share the id "x"/);
  });

  it('round-trips a bundle LOOM wrote: read → write → read gives the same network', () => {
    const first = decodeLoomBundle(loomBundle(handLayers, handWeights, 'jsonModelB64')).models[0]!.network;
    const text = encodeLoomBundle([{ id: 'hand', network: first }]);
    const bundle = JSON.parse(text);
    expect(bundle.models[0].cfg.layers[1].branches[0]).toEqual({ type: 'dense', activation: 'relu', input_height: 2, output_height: 2 });
    expect(bundle.models[0].cfg.layers[0].activation).toBe('linear');
    const second = decodeLoomBundle(text).models[0]!.network;
    expect(second.spec).toEqual(first.spec);
    expectClose(run(second, handInputs), handOutputs, 6);
    // Without cfg.loomts (as LOOM would hand it back) the LOOM fields alone give the same network too.
    delete bundle.models[0].cfg.loomts;
    const third = decodeLoomBundle(JSON.stringify(bundle)).models[0]!.network;
    expect(third.spec).toEqual(first.spec);
    expectClose(run(third, handInputs), handOutputs, 6);
  });

  it('writes LOOM-expressible networks so that the LOOM fields alone rebuild them exactly (no cfg.loomts)', () => {
    const seq = (core: LayerSpec): LayerSpec => ({ type: 'sequential', layers: [{ type: 'reshape', shape: [2, 4] }, core, { type: 'flatten' }] }) as LayerSpec;
    const spec = sequentialNetworkSpec([1, 4, 4], <LayerSpec[]>[
      { type: 'conv2d', filters: 2, kernelSize: 3, padding: 1, activation: 'scaled_relu' },
      { type: 'dense', units: 8, activation: 'tanh' },
      {
        type: 'parallel', combine: 'add',
        branches: [
          seq({ type: 'mha', heads: 2, causal: true, rope: true, ropeTheta: 1e6 } as LayerSpec),
          seq({ type: 'lstm', hidden: 4 } as LayerSpec),
          seq({ type: 'rnn', hidden: 4 } as LayerSpec),
          { type: 'dense', units: 8, activation: 'leaky_relu' },
        ],
      },
      { type: 'layer_norm' },
      { type: 'swiglu', hidden: 6 },
      { type: 'rms_norm' },
      { type: 'dense', units: 3, activation: 'sigmoid' },
      { type: 'softmax' },
    ]);
    const original = new Network(spec, new Rng(5));
    const rng = new Rng(6);
    for (const p of original.params()) for (let i = 0; i < p.value.length; i++) p.value[i] = Math.fround(rng.normal(0, 0.5));
    for (const format of ['jsonModelB64', 'multiPrecisionB64'] as const) {
      const bundle = JSON.parse(encodeLoomBundle([{ id: 'plain', network: original }], { format }));
      expect(bundle.models[0].cfg.layers[2].branches[0]).toEqual({ type: 'multi_head_attention', activation: 'linear', d_model: 4, num_heads: 2, seq_length: 2 });
      delete bundle.models[0].cfg.loomts;
      const loaded = decodeLoomBundle(JSON.stringify(bundle)).models[0]!.network;
      expect(loaded.spec).toEqual(original.spec);
      const input = tensor([2, 1, 4, 4], Float32Array.from({ length: 32 }, (_, i) => Math.cos(i)));
      expect(Array.from(loaded.forward(input).data)).toEqual(Array.from(original.forward(input).data));
    }
  });

  it('also rebuilds embedding, conv1d, residual, grid_scatter, filter gates and grid softmax from the LOOM fields alone', () => {
    const spec = sequentialNetworkSpec([5], <LayerSpec[]>[
      { type: 'embedding', vocab: 7, dim: 3 },
      { type: 'conv1d', filters: 2, kernelSize: 2, stride: 1, padding: 1, activation: 'softplus' },
      { type: 'dense', units: 6, activation: 'linear' },
      { type: 'dense', units: 6, activation: 'tanh' },
      { type: 'residual', back: 1 },
      {
        type: 'parallel', combine: 'grid_scatter', gridRows: 1, gridCols: 3, gridLayers: 1,
        positions: [{ row: 0, col: 2, layer: 0 }, { row: 0, col: 0, layer: 0 }, { row: 0, col: 1, layer: 0 }],
        branches: [{ type: 'dense', units: 2 }, { type: 'dense', units: 2, activation: 'sigmoid' }, { type: 'dense', units: 2, activation: 'tanh' }],
      },
      { type: 'flatten' },
      { type: 'parallel', combine: 'filter', temperature: 0.5, branches: [{ type: 'dense', units: 4 }, { type: 'dense', units: 4, activation: 'softplus' }] },
      { type: 'softmax', variant: 'grid', rows: 2, cols: 2 },
    ]);
    const original = new Network(spec, new Rng(8));
    const rng = new Rng(9);
    for (const p of original.params()) for (let i = 0; i < p.value.length; i++) p.value[i] = Math.fround(rng.normal(0, 0.5));
    const bundle = JSON.parse(encodeLoomBundle([{ id: 'x', network: original }]));
    delete bundle.models[0].cfg.loomts;
    // flatten is not a LOOM type: it has to go (LOOM is flat anyway), leaving a LOOM-only layer list
    bundle.models[0].cfg.layers.splice(6, 1);
    bundle.models[0].cfg.layers_per_cell -= 1;
    const payload = JSON.parse(Buffer.from(bundle.models[0].weights.data, 'base64').toString());
    payload.layers.splice(6, 1);
    bundle.models[0].weights.data = b64json(payload);
    const loaded = decodeLoomBundle(JSON.stringify(bundle)).models[0]!.network;
    const expected = original.spec.layers.filter((l) => l.type !== 'flatten');
    expect(loaded.spec.layers).toEqual(expected);
    const input = tensor([2, 5], [0, 6, 2, 2, 1, 3, 3, 4, 5, 0]);
    expect(Array.from(loaded.forward(input).data)).toEqual(Array.from(original.forward(input).data));
  });

  it('quantizes multiPrecision int8/int16 with LOOM fixed scales (error ≤ 1/254 and 1/65534 for |w| ≤ 1)', () => {
    const original = native();
    for (const [dtype, bound] of [['int8', 1 / 254], ['int16', 1 / 65534]] as const) {
      const loaded = decodeLoomBundle(encodeLoomBundle([{ id: 'q', network: original }], { format: 'multiPrecisionB64', dtype })).models[0]!;
      expect(loaded.dtype).toBe(dtype);
      original.params().forEach((p, k) => {
        const q = loaded.network.params()[k]!.value;
        p.value.forEach((w, i) => {
          const expected = Math.abs(w) <= 1 ? bound * (1 + 1e-6) : Math.abs(w) - 1 + bound; // beyond ±1 LOOM's fixed scale clips
          expect(Math.abs(q[i]! - w)).toBeLessThanOrEqual(expected);
        });
      });
    }
  });
});
