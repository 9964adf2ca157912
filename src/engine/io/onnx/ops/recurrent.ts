import { int, type OnnxGraph, type OnnxLayer, type OnnxParam } from '../graph.js';

/** Loom's [in][width] kernel with its width split into gate blocks, as ONNX's [1][width][in] with blocks reordered. */
function gateMajor(p: OnnxParam, hidden: number, order: readonly number[]): Float32Array {
  const [rows, width] = p.shape as [number, number];
  const out = new Float32Array(rows * width);
  order.forEach((gate, block) => {
    for (let j = 0; j < hidden; j++) {
      for (let r = 0; r < rows; r++) out[(block * hidden + j) * rows + r] = p.value[r * width + gate * hidden + j] as number;
    }
  });
  return out;
}

/** Bias [width] reordered into ONNX's [1][2·width] (input bias, then a zero recurrent bias: Loom has one bias). */
function gateBias(p: OnnxParam, hidden: number, order: readonly number[]): Float32Array {
  const width = p.value.length;
  const out = new Float32Array(2 * width);
  order.forEach((gate, block) => out.set(p.value.subarray(gate * hidden, (gate + 1) * hidden), block * hidden));
  return out;
}

/**
 * Runs ONNX's RNN or LSTM op on Loom's batch-major [N, seq, in] (transposed to the op's time-major layout and
 * back), zero initial state, every step returned. Shared by the rnn and lstm kinds (layers/rnn.ts, lstm.ts).
 */
export function emitRecurrent<L extends OnnxLayer>(layer: OnnxLayer, x: string, g: OnnxGraph<L>, op: 'RNN' | 'LSTM', hidden: number, order: readonly number[]): string {
  const kernel = g.paramOf(layer, 'kernel');
  const recurrent = g.paramOf(layer, 'recurrentKernel');
  const bias = g.paramOf(layer, 'bias');
  const width = order.length * hidden;
  const inSize = kernel.shape[0] as number;
  const w = g.constant(`${op}_W`, gateMajor(kernel, hidden, order), [1, width, inSize]);
  const r = g.constant(`${op}_R`, gateMajor(recurrent, hidden, order), [1, width, hidden]);
  const b = g.constant(`${op}_B`, gateBias(bias, hidden, order), [1, 2 * width]);
  const timeMajor = g.transpose(x, [1, 0, 2]);
  const [y] = g.opN(op, [timeMajor, w, r, b], 1, { hidden_size: int(hidden) });
  // Y is [seq, directions = 1, N, hidden].
  const squeezed = g.op('Squeeze', [y as string, g.int64('axes', [1])]);
  return g.transpose(squeezed, [1, 0, 2]);
}
