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

/** cols[(c·kH + i)·kW + j][oh·outW + ow] = x[c][oh·strideH + i − padH][ow·strideW + j − padW], 0 outside the image. */
function im2col(x: Float32Array, xOffset: number, g: Geometry, cols: Float32Array): void {
  const { inC, inH, inW, kH, kW, strideH, strideW, padH, padW, outH, outW } = g;
  const positions = outH * outW;
  let row = 0;
  for (let c = 0; c < inC; c++) {
    const plane = xOffset + c * inH * inW;
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++, row++) {
        const rowStart = row * positions;
        for (let oh = 0; oh < outH; oh++) {
          const out = rowStart + oh * outW;
          const ih = oh * strideH + i - padH;
          if (ih < 0 || ih >= inH) {
            cols.fill(0, out, out + outW);
            continue;
          }
          const line = plane + ih * inW;
          for (let ow = 0; ow < outW; ow++) {
            const iw = ow * strideW + j - padW;
            cols[out + ow] = iw >= 0 && iw < inW ? (x[line + iw] as number) : 0;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: adds each unrolled entry back onto the input pixel it was copied from. */
function col2imAdd(cols: Float32Array, g: Geometry, dx: Float32Array, dxOffset: number): void {
  const { inC, inH, inW, kH, kW, strideH, strideW, padH, padW, outH, outW } = g;
  const positions = outH * outW;
  let row = 0;
  for (let c = 0; c < inC; c++) {
    const plane = dxOffset + c * inH * inW;
    for (let i = 0; i < kH; i++) {
      for (let j = 0; j < kW; j++, row++) {
        const rowStart = row * positions;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * strideH + i - padH;
          if (ih < 0 || ih >= inH) continue;
          const line = plane + ih * inW;
          const out = rowStart + oh * outW;
          for (let ow = 0; ow < outW; ow++) {
            const iw = ow * strideW + j - padW;
            if (iw >= 0 && iw < inW) dx[line + iw] = (dx[line + iw] as number) + (cols[out + ow] as number);
          }
        }
      }
    }
  }
}

/** A conv2d kernel built on a given matrix multiply (each backend passes its own). */
export const makeConv2d = (matmul: Matmul) => (args: Conv2dArgs): void => {
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
  const cols = pointwise ? x : new Float32Array(patch * positions);
  for (let b = 0; b < batch; b++) {
    const yOffset = b * outC * positions;
    for (let f = 0; f < outC; f++) y.fill(bias[f] as number, yOffset + f * positions, yOffset + (f + 1) * positions);
    if (!pointwise) im2col(x, b * inSize, args, cols);
    // y_b[outC][positions] += w[outC][patch] · cols[patch][positions]
    matmul({ a: w, b: cols, c: y, m: outC, n: positions, k: patch, accumulate: true, bOffset: pointwise ? b * inSize : 0, cOffset: yOffset });
  }
};

export const makeConv2dBackward = (matmul: Matmul) => (args: Conv2dBackwardArgs): void => {
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
  const cols = pointwise ? x : new Float32Array(patch * positions);
  const dCols = pointwise ? dx : new Float32Array(patch * positions);
  if (!pointwise) dx.fill(0, 0, batch * inSize);
  for (let b = 0; b < batch; b++) {
    const dyOffset = b * outC * positions;
    for (let f = 0; f < outC; f++) {
      let sum = 0;
      const start = dyOffset + f * positions;
      for (let p = 0; p < positions; p++) sum += dy[start + p] as number;
      db[f] = (db[f] as number) + sum;
    }
    if (!pointwise) im2col(x, b * inSize, args, cols);
    const colsOffset = pointwise ? b * inSize : 0;
    // dw[outC][patch] += dy_b[outC][positions] · cols[patch][positions]ᵀ
    matmul({ a: dy, b: cols, c: dw, m: outC, n: patch, k: positions, transB: true, accumulate: true, aOffset: dyOffset, bOffset: colsOffset });
    // dCols[patch][positions] = w[outC][patch]ᵀ · dy_b[outC][positions]; for 1×1 kernels that is dx_b itself.
    matmul({ a: w, b: dy, c: dCols, m: patch, n: positions, k: outC, transA: true, bOffset: dyOffset, cOffset: colsOffset });
    if (!pointwise) col2imAdd(dCols, args, dx, b * inSize);
  }
};

export const conv2dJs = makeConv2d(matmulJs);
export const conv2dBackwardJs = makeConv2dBackward(matmulJs);
