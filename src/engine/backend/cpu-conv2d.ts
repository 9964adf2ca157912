import { LoomError } from '../errors.js';
import { matmulJs } from './cpu-matmul.js';
import type { Conv2dArgs, Conv2dBackwardArgs, MatmulArgs } from './types.js';

type Matmul = (args: MatmulArgs) => void;

/**
 * Reference NCHW convolution in plain JavaScript, as im2col + matmul: each sample's receptive fields are unrolled
 * into a [inC·kH·kW][outH·outW] matrix, so the whole convolution is one product with the [outC][inC·kH·kW] kernel.
 * A 1×1 kernel with stride 1 and no padding needs no unrolling: the sample itself is that matrix.
 */

type Geometry = Omit<Conv2dArgs, 'x' | 'w' | 'bias' | 'y'>;

const convSize = (size: number, k: number, stride: number, pad: number): number => Math.floor((size + 2 * pad - k) / stride) + 1;

/** Catches caller mistakes (a wrong outH, a short buffer) that would otherwise read out of range silently. */
function checkGeometry(where: string, g: Geometry, buffers: Record<string, [Float32Array, number]>): void {
  const fail = (msg: string): never => {
    throw new LoomError('LOOM_ERR_BACKEND', `${where}: ${msg}`);
  };
  const ints = [g.batch, g.inC, g.inH, g.inW, g.outC, g.kH, g.kW, g.strideH, g.strideW, g.outH, g.outW];
  if (!ints.every((v) => Number.isInteger(v) && v >= 1)) fail('sizes, kernel and strides must be positive integers');
  if (!(Number.isInteger(g.padH) && Number.isInteger(g.padW) && g.padH >= 0 && g.padW >= 0)) fail('padding must be a non-negative integer');
  const oh = convSize(g.inH, g.kH, g.strideH, g.padH);
  const ow = convSize(g.inW, g.kW, g.strideW, g.padW);
  if (oh !== g.outH || ow !== g.outW) fail(`output ${g.outH}×${g.outW} does not match the geometry, which gives ${oh}×${ow}`);
  for (const [name, [buf, need]] of Object.entries(buffers)) {
    if (buf.length < need) fail(`${name} holds ${buf.length} values, needs ${need}`);
  }
}

const isPointwise = (g: Geometry): boolean =>
  g.kH === 1 && g.kW === 1 && g.strideH === 1 && g.strideW === 1 && g.padH === 0 && g.padW === 0;

/**
 * The output columns [lo, hi) of kernel column j whose input column ow·strideW + j − padW lies inside the image:
 * the loops below copy those without a bounds test per element and pad the rest with zeros.
 */
function validColumns(j: number, g: Geometry): [number, number] {
  const { inW, strideW, padW, outW } = g;
  const lo = Math.min(outW, Math.max(0, Math.ceil((padW - j) / strideW)));
  const hi = Math.max(lo, Math.min(outW, Math.floor((inW - 1 + padW - j) / strideW) + 1));
  return [lo, hi];
}

/** For stride 1: the output rows [lo, hi) of kernel row i whose input row oh + i − padH lies inside the image. */
function validRowsStride1(i: number, g: Geometry): [number, number] {
  const lo = Math.min(g.outH, Math.max(0, g.padH - i));
  return [lo, Math.max(lo, Math.min(g.outH, g.inH + g.padH - i))];
}

/** Zeroes the columns outside [lo, hi) of output rows [ohLo, ohHi) of one unrolled row. */
function zeroEdgeColumns(cols: Float32Array, rowStart: number, ohLo: number, ohHi: number, lo: number, hi: number, outW: number): void {
  for (let oh = ohLo; oh < ohHi; oh++) {
    const out = rowStart + oh * outW;
    for (let ow = 0; ow < lo; ow++) cols[out + ow] = 0;
    for (let ow = hi; ow < outW; ow++) cols[out + ow] = 0;
  }
}

/** cols[(c·kH + i)·kW + j][oh·outW + ow] = x[c][oh·strideH + i − padH][ow·strideW + j − padW], 0 outside the image. */
function im2col(x: Float32Array, xOffset: number, g: Geometry, cols: Float32Array): void {
  const { inC, inH, inW, kH, kW, strideH, strideW, padH, padW, outH, outW } = g;
  const positions = outH * outW;
  // Stride 1 with the output as wide as the input ('same' padding): each unrolled row is the input plane shifted,
  // one block copy plus zeroed edge columns.
  const contiguous = strideH === 1 && strideW === 1 && outW === inW;
  let row = 0;
  for (let c = 0; c < inC; c++) {
    const plane = xOffset + c * inH * inW;
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++, row++) {
        const rowStart = row * positions;
        const [lo, hi] = validColumns(j, g);
        if (contiguous) {
          copyShiftedPlane(x, plane, i, j, g, cols, rowStart, lo, hi);
          continue;
        }
        for (let oh = 0; oh < outH; oh++) {
          const out = rowStart + oh * outW;
          const ih = oh * strideH + i - padH;
          if (ih < 0 || ih >= inH) {
            cols.fill(0, out, out + outW);
            continue;
          }
          for (let ow = 0; ow < lo; ow++) cols[out + ow] = 0;
          const src = plane + ih * inW + j - padW;
          if (strideW === 1) for (let ow = lo; ow < hi; ow++) cols[out + ow] = x[src + ow] as number;
          else for (let ow = lo; ow < hi; ow++) cols[out + ow] = x[src + ow * strideW] as number;
          for (let ow = hi; ow < outW; ow++) cols[out + ow] = 0;
        }
      }
    }
  }
}

/**
 * One unrolled row of im2col for stride 1 and outW = inW: cols[row][oh·W + ow] = x[oh + i − padH][ow + j − padW]. The
 * rows of oh inside the image are one contiguous stretch of the plane shifted by (i − padH)·W + j − padW, copied at
 * once; columns outside [lo, hi) picked up a neighbouring row's pixel (or lie outside the array) and are zeroed.
 */
function copyShiftedPlane(x: Float32Array, plane: number, i: number, j: number, g: Geometry, cols: Float32Array, rowStart: number, lo: number, hi: number): void {
  const { padH, padW, outH, outW } = g;
  const [ohLo, ohHi] = validRowsStride1(i, g);
  cols.fill(0, rowStart, rowStart + ohLo * outW);
  cols.fill(0, rowStart + ohHi * outW, rowStart + outH * outW);
  if (ohHi === ohLo) return;
  let dst = rowStart + ohLo * outW;
  let src = plane + (ohLo + i - padH) * outW + j - padW;
  let count = (ohHi - ohLo) * outW;
  if (src < 0) {
    dst -= src;
    count += src;
    src = 0;
  }
  count = Math.min(count, x.length - src);
  if (count > 0) cols.set(x.subarray(src, src + count), dst);
  zeroEdgeColumns(cols, rowStart, ohLo, ohHi, lo, hi, outW);
}

/** The adjoint of im2col: adds each unrolled entry back onto the input pixel it was copied from. */
function col2imAdd(cols: Float32Array, g: Geometry, dx: Float32Array, dxOffset: number): void {
  const { inC, inH, inW, kH, kW, strideH, strideW, padH, padW, outH, outW } = g;
  const positions = outH * outW;
  const contiguous = strideH === 1 && strideW === 1 && outW === inW;
  let row = 0;
  for (let c = 0; c < inC; c++) {
    const plane = dxOffset + c * inH * inW;
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++, row++) {
        const rowStart = row * positions;
        const [lo, hi] = validColumns(j, g);
        if (contiguous) {
          addShiftedPlane(cols, rowStart, lo, hi, i, j, g, dx, plane);
          continue;
        }
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH + i - padH;
          if (ih < 0 || ih >= inH) continue;
          const dst = plane + ih * inW + j - padW;
          const out = rowStart + oh * outW;
          for (let ow = lo; ow < hi; ow++) {
            const t = dst + ow * strideW;
            dx[t] = (dx[t] as number) + (cols[out + ow] as number);
          }
        }
      }
    }
  }
}

/**
 * The adjoint of copyShiftedPlane: adds one unrolled row onto the shifted plane as one contiguous stretch. The
 * entries of edge columns (outside [lo, hi)) belong to no pixel of this row: they are zeroed in cols first (the
 * kernels' own scratch), so the stretch adds exactly +0 to the neighbouring pixels they line up with.
 */
function addShiftedPlane(cols: Float32Array, rowStart: number, lo: number, hi: number, i: number, j: number, g: Geometry, dx: Float32Array, plane: number): void {
  const { padH, padW, outW } = g;
  const [ohLo, ohHi] = validRowsStride1(i, g);
  if (ohHi === ohLo) return;
  zeroEdgeColumns(cols, rowStart, ohLo, ohHi, lo, hi, outW);
  let src = rowStart + ohLo * outW;
  let dst = plane + (ohLo + i - padH) * outW + j - padW;
  let end = dst + (ohHi - ohLo) * outW;
  if (dst < 0) {
    src -= dst;
    dst = 0;
  }
  end = Math.min(end, dx.length);
  for (let t = dst; t < end; t++, src++) dx[t] = (dx[t] as number) + (cols[src] as number);
}

/**
 * Per-thread scratch for the unrolled patches, grown to the largest layer and reused by every call: a conv stem
 * unrolls ~200 KB per sample per call, and a fresh array per call costs page faults and zeroing that show in a
 * profile. Nothing outside one kernel call reads it.
 */
const scratch = { cols: new Float32Array(0), dCols: new Float32Array(0) };
function scratchOf(which: keyof typeof scratch, n: number): Float32Array {
  if (scratch[which].length < n) scratch[which] = new Float32Array(n);
  return scratch[which];
}

/** db[f] += Σ_p dy[dyOffset + f·positions + p] for each of `channels` rows, summed in float64. */
function biasGradAdd(dy: Float32Array, dyOffset: number, db: Float32Array, channels: number, positions: number): void {
  for (let f = 0; f < channels; f++) {
    let sum = 0;
    const start = dyOffset + f * positions;
    for (let p = 0; p < positions; p++) sum += dy[start + p] as number;
    db[f] = (db[f] as number) + sum;
  }
}

/**
 * The loops of a convolution outside its matrix products, one sample per call. These JavaScript loops are the
 * reference; the native backend passes the addon's (the same values; its bias sums in four float64 lanes).
 */
export interface ConvLoops {
  im2col(x: Float32Array, xOffset: number, g: Geometry, cols: Float32Array): void;
  /** May overwrite cols (the JS loop zeroes its edge columns first): pass scratch. */
  col2imAdd(cols: Float32Array, g: Geometry, dx: Float32Array, dxOffset: number): void;
  biasGradAdd(dy: Float32Array, dyOffset: number, db: Float32Array, channels: number, positions: number): void;
}

export type { Geometry as Conv2dGeometry };

export const convLoopsJs: ConvLoops = { im2col, col2imAdd, biasGradAdd };

/** A conv2d kernel built on a given matrix multiply and loops (each backend passes its own). */
export const makeConv2d = (matmul: Matmul, loops: ConvLoops = convLoopsJs) => (args: Conv2dArgs): void => {
  const { x, w, bias, y, batch, inC, inH, inW, outC, kH, kW, outH, outW } = args;
  const patch = inC * kH * kW;
  const positions = outH * outW;
  const inSize = inC * inH * inW;
  checkGeometry('conv2d', args, {
    x: [x, batch * inSize],
    w: [w, outC * patch],
    bias: [bias, outC],
    y: [y, batch * outC * positions],
  });
  const pointwise = isPointwise(args);
  const cols = pointwise ? x : scratchOf('cols', patch * positions);
  for (let b = 0; b < batch; b++) {
    const yOffset = b * outC * positions;
    for (let f = 0; f < outC; f++) y.fill(bias[f] as number, yOffset + f * positions, yOffset + (f + 1) * positions);
    if (!pointwise) loops.im2col(x, b * inSize, args, cols);
    // y_b[outC][positions] += w[outC][patch] · cols[patch][positions]
    matmul({ a: w, b: cols, c: y, m: outC, n: positions, k: patch, accumulate: true, bOffset: pointwise ? b * inSize : 0, cOffset: yOffset });
  }
};

export const makeConv2dBackward = (matmul: Matmul, loops: ConvLoops = convLoopsJs) => (args: Conv2dBackwardArgs): void => {
  const { x, w, dy, dx, dw, db, batch, inC, inH, inW, outC, kH, kW, outH, outW } = args;
  const patch = inC * kH * kW;
  const positions = outH * outW;
  const inSize = inC * inH * inW;
  checkGeometry('conv2dBackward', args, {
    x: [x, batch * inSize],
    w: [w, outC * patch],
    dy: [dy, batch * outC * positions],
    dx: [dx, batch * inSize],
    dw: [dw, outC * patch],
    db: [db, outC],
  });
  const pointwise = isPointwise(args);
  const inputGrad = args.inputGrad !== false;
  const cols = pointwise ? x : scratchOf('cols', patch * positions);
  const dCols = pointwise ? dx : scratchOf('dCols', patch * positions);
  if (!pointwise && inputGrad) dx.fill(0, 0, batch * inSize);
  for (let b = 0; b < batch; b++) {
    const dyOffset = b * outC * positions;
    loops.biasGradAdd(dy, dyOffset, db, outC, positions);
    if (!pointwise) loops.im2col(x, b * inSize, args, cols);
    const colsOffset = pointwise ? b * inSize : 0;
    // dw[outC][patch] += dy_b[outC][positions] · cols[patch][positions]ᵀ
    matmul({ a: dy, b: cols, c: dw, m: outC, n: patch, k: positions, transB: true, accumulate: true, aOffset: dyOffset, bOffset: colsOffset });
    if (!inputGrad) continue;
    // dCols[patch][positions] = w[outC][patch]ᵀ · dy_b[outC][positions]; for 1×1 kernels that is dx_b itself.
    matmul({ a: w, b: dy, c: dCols, m: patch, n: positions, k: outC, transA: true, bOffset: dyOffset, cOffset: colsOffset });
    if (!pointwise) loops.col2imAdd(dCols, args, dx, b * inSize);
  }
};

export const conv2dJs = makeConv2d(matmulJs);
export const conv2dBackwardJs = makeConv2dBackward(matmulJs);
