import { describe, expect, it } from 'vitest';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { cpuWasmBackend } from '../../src/engine/backend/cpu-wasm.js';
import { lstmForwardJs, lstmForwardVariant, lstmVariantsAvailable } from '../../src/engine/backend/cpu-wasm-lstm.js';
import type { LstmForwardArgs } from '../../src/engine/backend/types.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch } from '../helpers/gradcheck.js';

const random = (n: number, rng: Rng, scale = 1): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));

function args(batch: number, seq: number, inSize: number, hidden: number, seed: number, scale = 1): LstmForwardArgs {
  const rng = new Rng(seed);
  const g4 = 4 * hidden;
  const step = batch * hidden;
  return {
    x: random(batch * seq * inSize, rng, scale),
    kernel: random(inSize * g4, rng, scale),
    recurrent: random(hidden * g4, rng, scale),
    bias: random(g4, rng, scale),
    // Stale values everywhere: every output must be overwritten.
    hs: new Float32Array((seq + 1) * step).fill(5),
    cs: new Float32Array((seq + 1) * step).fill(5),
    gates: new Float32Array(seq * batch * g4).fill(5),
    cellTanh: new Float32Array(seq * step).fill(5),
    batch,
    seq,
    inSize,
    hidden,
  };
}

const copy = (a: LstmForwardArgs): LstmForwardArgs => ({
  ...a,
  hs: Float32Array.from(a.hs),
  cs: Float32Array.from(a.cs),
  gates: Float32Array.from(a.gates),
  cellTanh: Float32Array.from(a.cellTanh),
});

function maxDiff(x: Float32Array, y: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  return worst;
}

describe('LSTM forward kernel', () => {
  const variants = lstmVariantsAvailable();
  it('loads where the matmul kernel loads', () => {
    expect(variants.length).toBeGreaterThan(0);
  });

  // [batch, seq, inSize, hidden]: single sample, single step, primes, the bench size; hidden 5 takes the JS path.
  const shapes: [number, number, number, number][] = [
    [1, 1, 1, 4],
    [1, 7, 3, 8],
    [5, 1, 13, 4],
    [3, 5, 7, 12],
    [32, 16, 32, 64],
    [2, 3, 4, 5],
  ];
  for (const variant of ['simd', 'relaxed-simd'] as const) {
    for (const [batch, seq, inSize, hidden] of shapes) {
      it.runIf(variants.includes(variant))(`${variant} matches the JS reference for batch ${batch}, seq ${seq}, in ${inSize}, hidden ${hidden}`, () => {
        for (const scale of [0.5, 4]) {
          // scale 4 drives the gates deep into saturation, where the SIMD exp's clamping shows.
          const want = args(batch, seq, inSize, hidden, batch * 100 + hidden, scale);
          const got = copy(want);
          lstmForwardJs(want);
          lstmForwardVariant(variant)(got);
          for (const key of ['hs', 'cs', 'gates', 'cellTanh'] as const) {
            expect(maxDiff(got[key], want[key]), `${key}, scale ${scale}`).toBeLessThan(2e-5 * Math.max(1, scale * Math.sqrt(inSize + hidden)));
          }
        }
      });
    }
  }

  it('an LSTM network gives the same outputs and gradients on cpu-wasm (fused) as on cpu-js (the layer loop)', () => {
    const spec = sequentialNetworkSpec([6, 5], [{ type: 'lstm', hidden: 8 } as LayerSpec, { type: 'dense', units: 3 } as LayerSpec]);
    const rng = new Rng(4);
    const x = { data: random(4 * 30, rng), shape: [4, 6, 5] };
    const run = (backend: typeof cpuJsBackend) => {
      const net = new Network(spec, new Rng(1));
      const y = net.forward(x, { backend });
      const dx = net.backward({ data: Float32Array.from(y.data, (_, i) => Math.cos(i)), shape: y.shape }, { backend });
      return { y: y.data, dx: dx.data, grads: net.params().map((p) => p.grad) };
    };
    const js = run(cpuJsBackend);
    const wasm = run(cpuWasmBackend);
    expect(maxDiff(wasm.y, js.y)).toBeLessThan(1e-5);
    expect(maxDiff(wasm.dx, js.dx)).toBeLessThan(1e-5);
    wasm.grads.forEach((g, i) => expect(maxDiff(g, js.grads[i]!)).toBeLessThan(1e-4));
  });

  it('gradients through the fused forward match finite differences', () => {
    const net = new Network(sequentialNetworkSpec([3, 4], [{ type: 'lstm', hidden: 4 } as LayerSpec, { type: 'dense', units: 2 } as LayerSpec]), new Rng(2));
    const rng = new Rng(8);
    const x = { data: random(2 * 12, rng), shape: [2, 3, 4] };
    expectGradientsMatch(net, x, { backend: cpuWasmBackend });
  });
});
