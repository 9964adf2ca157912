import { LoomError } from '../errors.js';
import { sigmoid } from '../math.js';
import { matmulJs } from './cpu-matmul.js';
import type { LstmForwardArgs, MatmulArgs } from './types.js';
import { align, loadError, loadWasm, WASM_VARIANTS, type WasmModule, type WasmVariant } from './wasm-loader.js';

/**
 * The LSTM forward of a whole sequence in one WebAssembly call (assembly/lstm.ts): both products and the cell
 * update (SIMD sigmoid and tanh) run inside the module, so the per-step products cost no copies. Needs hidden to
 * be a multiple of 4; other sizes, or a missing module, take `lstmForwardJs`, the same loop as layers/lstm.ts.
 */
interface Kernel {
  mod: WasmModule;
  forward: (...args: number[]) => number | undefined;
  work: number;
  dataStart: number;
}

const kernels = new Map<WasmVariant, Kernel | null>();

function loadVariant(variant: WasmVariant): Kernel | null {
  const known = kernels.get(variant);
  if (known !== undefined) return known;
  const mod = loadWasm('lstm', variant);
  let kern: Kernel | null = null;
  if (mod) {
    const work = mod.dataStart;
    kern = { mod, forward: mod.fn('lstmForward'), work, dataStart: align(work + Number(mod.fn('workBytes')())) };
  }
  kernels.set(variant, kern);
  return kern;
}

/** The LSTM variants that load in this runtime, preferred first. */
export const lstmVariantsAvailable = (): WasmVariant[] => WASM_VARIANTS.filter((v) => loadVariant(v) !== null);

/** Throws when an array is shorter than the sizes need (shared with cpu-native.ts). */
export function checkLstmArgs(args: LstmForwardArgs): void {
  const { batch, seq, inSize, hidden } = args;
  const g4 = 4 * hidden;
  const step = batch * hidden;
  const need: [string, Float32Array, number][] = [
    ['x', args.x, batch * seq * inSize],
    ['kernel', args.kernel, inSize * g4],
    ['recurrent', args.recurrent, hidden * g4],
    ['bias', args.bias, g4],
    ['hs', args.hs, (seq + 1) * step],
    ['cs', args.cs, (seq + 1) * step],
    ['gates', args.gates, seq * batch * g4],
    ['cellTanh', args.cellTanh, seq * step],
  ];
  for (const [name, buf, len] of need) {
    if (buf.length < len) throw new LoomError('LOOM_ERR_BACKEND', `lstm: ${name} holds ${buf.length} values, needs ${len}`);
  }
}

/** The reference: layers/lstm.ts's loop, products through `matmul`. */
export function lstmForwardJs(args: LstmForwardArgs, matmul: (a: MatmulArgs) => void = matmulJs): void {
  checkLstmArgs(args);
  const { x, kernel, recurrent, bias, hs, cs, gates, cellTanh, batch, seq, inSize, hidden: h } = args;
  const g4 = 4 * h;
  const step = batch * h;
  const xw = new Float32Array(batch * seq * g4);
  matmul({ a: x, b: kernel, c: xw, m: batch * seq, n: g4, k: inSize });
  hs.fill(0, 0, step);
  cs.fill(0, 0, step);
  for (let t = 0; t < seq; t++) {
    const gt = t * batch * g4;
    for (let s = 0; s < batch; s++) {
      const from = (s * seq + t) * g4;
      for (let j = 0; j < g4; j++) gates[gt + s * g4 + j] = xw[from + j]! + bias[j]!;
    }
    if (t > 0) matmul({ a: hs, b: recurrent, c: gates, m: batch, n: g4, k: h, aOffset: t * step, cOffset: gt, accumulate: true });
    for (let s = 0; s < batch; s++) {
      const row = gt + s * g4;
      const prev = t * step + s * h;
      const next = prev + step;
      for (let j = 0; j < h; j++) {
        const i = sigmoid(gates[row + j]!);
        const f = sigmoid(gates[row + h + j]!);
        const g = Math.tanh(gates[row + 2 * h + j]!);
        const o = sigmoid(gates[row + 3 * h + j]!);
        gates[row + j] = i;
        gates[row + h + j] = f;
        gates[row + 2 * h + j] = g;
        gates[row + 3 * h + j] = o;
        const c = f * cs[prev + j]! + i * g;
        const tc = Math.tanh(c);
        cs[next + j] = c;
        cellTanh[t * step + s * h + j] = tc;
        hs[next + j] = o * tc;
      }
    }
  }
}

function run(kern: Kernel | null, args: LstmForwardArgs, fallback: (a: MatmulArgs) => void): void {
  if (kern === null || args.hidden % 4 !== 0) {
    lstmForwardJs(args, fallback);
    return;
  }
  checkLstmArgs(args);
  const { batch, seq, inSize, hidden } = args;
  const g4 = 4 * hidden;
  const step = batch * hidden;
  const lens = [batch * seq * inSize, inSize * g4, hidden * g4, g4, batch * seq * g4, (seq + 1) * step, (seq + 1) * step, seq * batch * g4, seq * step];
  const at: number[] = [];
  let p = kern.dataStart;
  for (const len of lens) {
    at.push(p);
    p = align(p + len * 4);
  }
  const [xP, kP, rP, bP, xwP, hsP, csP, gP, tcP] = at as [number, number, number, number, number, number, number, number, number];
  const heap = kern.mod.heap(p);
  heap.set(args.x.subarray(0, lens[0]), xP >> 2);
  heap.set(args.kernel.subarray(0, lens[1]), kP >> 2);
  heap.set(args.recurrent.subarray(0, lens[2]), rP >> 2);
  heap.set(args.bias.subarray(0, lens[3]), bP >> 2);
  kern.forward(xP, kP, rP, bP, xwP, hsP, csP, gP, tcP, batch, seq, inSize, hidden, kern.work);
  args.hs.set(heap.subarray(hsP >> 2, (hsP >> 2) + lens[5]!));
  args.cs.set(heap.subarray(csP >> 2, (csP >> 2) + lens[6]!));
  args.gates.set(heap.subarray(gP >> 2, (gP >> 2) + lens[7]!));
  args.cellTanh.set(heap.subarray(tcP >> 2, (tcP >> 2) + lens[8]!));
}

/** With the preferred variant; `matmul` serves the JS fallback. */
export function makeLstmForward(matmul: (a: MatmulArgs) => void): (args: LstmForwardArgs) => void {
  return (args) => {
    const kern = WASM_VARIANTS.map(loadVariant).find((k) => k !== null) ?? null;
    run(kern, args, matmul);
  };
}

/** With one variant, for tests and the bench; throws when it does not load here. */
export function lstmForwardVariant(variant: WasmVariant): (args: LstmForwardArgs) => void {
  const kern = loadVariant(variant);
  if (kern === null) throw new LoomError('LOOM_ERR_BACKEND', `wasm lstm ${variant} unavailable: ${loadError('lstm', variant)}`);
  return (args) => run(kern, args, matmulJs);
}
