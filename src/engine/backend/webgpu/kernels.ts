/**
 * WGSL compute kernels of the WebGPU backend. Each follows the CPU reference of the same name line for line in
 * meaning (cpu-matmul.ts, cpu-conv2d.ts, cpu-attention.ts); buffers are row-major f32 starting at offset 0 (the
 * host copies the windows it needs). Every kernel reads its sizes from one uniform struct, declared here next to
 * the TypeScript that packs it (device-thread.ts), field for field.
 *
 * Large 1-D grids are dispatched as (x, y) workgroups because one dimension stops at 65535 workgroups:
 * the flat index is gid.x + gid.y · (num_workgroups.x · 64).
 */

export const LINEAR_WORKGROUP = 64;
export const MATMUL_TILE = 64; // each workgroup computes a 64×64 block of C, 4×4 values per invocation

/** C (+)= op(A)·op(B). flags: bit 0 transA, bit 1 transB, bit 2 accumulate. */
export const MATMUL_WGSL = /* wgsl */ `
struct Dims { m: u32, n: u32, k: u32, flags: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// A 64×16 slab of op(A) and a 16×64 slab of op(B) per step; each of the 16×16 invocations owns a 4×4 block of C.
var<workgroup> tileA: array<array<f32, 64>, 16>; // [p][row]
var<workgroup> tileB: array<array<f32, 64>, 16>; // [p][col]

fn loadA(i: u32, p: u32) -> f32 {
  if (i >= dims.m || p >= dims.k) { return 0.0; }
  if ((dims.flags & 1u) != 0u) { return a[p * dims.m + i]; }
  return a[i * dims.k + p];
}

fn loadB(p: u32, j: u32) -> f32 {
  if (p >= dims.k || j >= dims.n) { return 0.0; }
  if ((dims.flags & 2u) != 0u) { return b[j * dims.k + p]; }
  return b[p * dims.n + j];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rowBase = wg.y * 64u;
  let colBase = wg.x * 64u;
  let flat = lid.y * 16u + lid.x; // 0..255: which slab entries this invocation loads
  var acc: array<array<f32, 4>, 4>;
  for (var t = 0u; t < dims.k; t += 16u) {
    for (var r = 0u; r < 4u; r++) {
      let e = flat + r * 256u; // 1024 entries per slab, 4 per invocation
      tileA[e % 16u][e / 16u] = loadA(rowBase + e / 16u, t + e % 16u);
      tileB[e / 64u][e % 64u] = loadB(t + e / 64u, colBase + e % 64u);
    }
    workgroupBarrier();
    for (var p = 0u; p < 16u; p++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var r = 0u; r < 4u; r++) {
        av[r] = tileA[p][lid.y * 4u + r];
        bv[r] = tileB[p][lid.x * 4u + r];
      }
      for (var r = 0u; r < 4u; r++) {
        for (var s = 0u; s < 4u; s++) { acc[r][s] += av[r] * bv[s]; }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = rowBase + lid.y * 4u + r;
    for (var s = 0u; s < 4u; s++) {
      let j = colBase + lid.x * 4u + s;
      if (i < dims.m && j < dims.n) {
        let idx = i * dims.n + j;
        if ((dims.flags & 4u) != 0u) { c[idx] = c[idx] + acc[r][s]; } else { c[idx] = acc[r][s]; }
      }
    }
  }
}
`;

const CONV_DIMS = /* wgsl */ `
struct Dims {
  batch: u32, inC: u32, inH: u32, inW: u32,
  outC: u32, kH: u32, kW: u32, strideH: u32,
  strideW: u32, padH: u32, padW: u32, outH: u32,
  outW: u32, _pad0: u32, _pad1: u32, _pad2: u32,
}
@group(0) @binding(0) var<uniform> d: Dims;

fn flatIndex(gid: vec3u, groups: vec3u) -> u32 { return gid.x + gid.y * groups.x * ${LINEAR_WORKGROUP}u; }
`;

/** y[b][f][oh][ow] = bias[f] + Σ_c,i,j w[f][c][i][j]·x[b][c][oh·sH + i − pH][ow·sW + j − pW]; one invocation per output. */
export const CONV2D_WGSL = /* wgsl */ `${CONV_DIMS}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(${LINEAR_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let idx = flatIndex(gid, groups);
  if (idx >= d.batch * d.outC * d.outH * d.outW) { return; }
  let ow = idx % d.outW;
  let oh = (idx / d.outW) % d.outH;
  let f = (idx / (d.outW * d.outH)) % d.outC;
  let b = idx / (d.outW * d.outH * d.outC);
  var sum = bias[f];
  for (var c = 0u; c < d.inC; c++) {
    for (var i = 0u; i < d.kH; i++) {
      let ih = i32(oh * d.strideH + i) - i32(d.padH);
      if (ih < 0 || ih >= i32(d.inH)) { continue; }
      for (var j = 0u; j < d.kW; j++) {
        let iw = i32(ow * d.strideW + j) - i32(d.padW);
        if (iw < 0 || iw >= i32(d.inW)) { continue; }
        sum += w[((f * d.inC + c) * d.kH + i) * d.kW + j] * x[((b * d.inC + c) * d.inH + u32(ih)) * d.inW + u32(iw)];
      }
    }
  }
  y[idx] = sum;
}
`;

/** dx[b][c][ih][iw] = Σ over the outputs that read it of w·dy (overwrites dx); one invocation per input pixel. */
export const CONV2D_DX_WGSL = /* wgsl */ `${CONV_DIMS}
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(${LINEAR_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let idx = flatIndex(gid, groups);
  if (idx >= d.batch * d.inC * d.inH * d.inW) { return; }
  let iw = idx % d.inW;
  let ih = (idx / d.inW) % d.inH;
  let c = (idx / (d.inW * d.inH)) % d.inC;
  let b = idx / (d.inW * d.inH * d.inC);
  var sum = 0.0;
  for (var i = 0u; i < d.kH; i++) {
    // oh·strideH + i − padH = ih  ⇒  oh = (ih + padH − i) / strideH when that divides exactly.
    let th = i32(ih + d.padH) - i32(i);
    if (th < 0 || th % i32(d.strideH) != 0) { continue; }
    let oh = u32(th) / d.strideH;
    if (oh >= d.outH) { continue; }
    for (var j = 0u; j < d.kW; j++) {
      let tw = i32(iw + d.padW) - i32(j);
      if (tw < 0 || tw % i32(d.strideW) != 0) { continue; }
      let ow = u32(tw) / d.strideW;
      if (ow >= d.outW) { continue; }
      for (var f = 0u; f < d.outC; f++) {
        sum += w[((f * d.inC + c) * d.kH + i) * d.kW + j] * dy[((b * d.outC + f) * d.outH + oh) * d.outW + ow];
      }
    }
  }
  dx[idx] = sum;
}
`;

/** dw[f][c][i][j] += Σ_b,oh,ow dy[b][f][oh][ow]·x[b][c][oh·sH + i − pH][ow·sW + j − pW]; one invocation per weight. */
export const CONV2D_DW_WGSL = /* wgsl */ `${CONV_DIMS}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(${LINEAR_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let idx = flatIndex(gid, groups);
  if (idx >= d.outC * d.inC * d.kH * d.kW) { return; }
  let j = idx % d.kW;
  let i = (idx / d.kW) % d.kH;
  let c = (idx / (d.kW * d.kH)) % d.inC;
  let f = idx / (d.kW * d.kH * d.inC);
  var sum = 0.0;
  for (var b = 0u; b < d.batch; b++) {
    for (var oh = 0u; oh < d.outH; oh++) {
      let ih = i32(oh * d.strideH + i) - i32(d.padH);
      if (ih < 0 || ih >= i32(d.inH)) { continue; }
      for (var ow = 0u; ow < d.outW; ow++) {
        let iw = i32(ow * d.strideW + j) - i32(d.padW);
        if (iw < 0 || iw >= i32(d.inW)) { continue; }
        sum += dy[((b * d.outC + f) * d.outH + oh) * d.outW + ow] * x[((b * d.inC + c) * d.inH + u32(ih)) * d.inW + u32(iw)];
      }
    }
  }
  dw[idx] = dw[idx] + sum;
}
`;

/** db[f] += Σ_b,oh,ow dy[b][f][oh][ow]; one invocation per output channel. */
export const CONV2D_DB_WGSL = /* wgsl */ `${CONV_DIMS}
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;

@compute @workgroup_size(${LINEAR_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let f = flatIndex(gid, groups);
  if (f >= d.outC) { return; }
  let positions = d.outH * d.outW;
  var sum = 0.0;
  for (var b = 0u; b < d.batch; b++) {
    let start = (b * d.outC + f) * positions;
    for (var p = 0u; p < positions; p++) { sum += dy[start + p]; }
  }
  db[f] = db[f] + sum;
}
`;

const ATTENTION_DIMS = /* wgsl */ `
struct Dims { batch: u32, heads: u32, kvHeads: u32, seqQ: u32, seqK: u32, headDim: u32, causal: u32, scale: f32 }
@group(0) @binding(0) var<uniform> d: Dims;

fn flatIndex(gid: vec3u, groups: vec3u) -> u32 { return gid.x + gid.y * groups.x * ${LINEAR_WORKGROUP}u; }
fn visibleKeys(i: u32) -> u32 { if (d.causal != 0u) { return min(i + 1u, d.seqK); } return d.seqK; }
`;

/**
 * One invocation per (b, h, i) query row: scores into probs, a max-shifted softmax (masked keys exactly 0), then
 * out = P·V. q/out are [b][seqQ][heads][headDim], k/v [b][seqK][kvHeads][headDim], probs [b][heads][seqQ][seqK].
 */
export const ATTENTION_WGSL = /* wgsl */ `${ATTENTION_DIMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> probs: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(${LINEAR_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let row = flatIndex(gid, groups);
  if (row >= d.batch * d.heads * d.seqQ) { return; }
  let i = row % d.seqQ;
  let h = (row / d.seqQ) % d.heads;
  let b = row / (d.seqQ * d.heads);
  let kvh = h / (d.heads / d.kvHeads);
  let qRow = d.heads * d.headDim;
  let kvRow = d.kvHeads * d.headDim;
  let qOff = (b * d.seqQ + i) * qRow + h * d.headDim;
  let kvBase = b * d.seqK * kvRow + kvh * d.headDim;
  let pOff = row * d.seqK; // ((b·heads + h)·seqQ + i)·seqK
  let visible = visibleKeys(i);
  var maxScore = -3.4e38;
  for (var j = 0u; j < visible; j++) {
    let kOff = kvBase + j * kvRow;
    var s = 0.0;
    for (var e = 0u; e < d.headDim; e++) { s += q[qOff + e] * k[kOff + e]; }
    s *= d.scale;
    probs[pOff + j] = s;
    maxScore = max(maxScore, s);
  }
  var sum = 0.0;
  for (var j = 0u; j < visible; j++) {
    let ex = exp(probs[pOff + j] - maxScore);
    probs[pOff + j] = ex;
    sum += ex;
  }
  for (var j = 0u; j < d.seqK; j++) {
    if (j < visible) { probs[pOff + j] = probs[pOff + j] / sum; } else { probs[pOff + j] = 0.0; }
  }
  for (var e = 0u; e < d.headDim; e++) {
    var acc = 0.0;
    for (var j = 0u; j < visible; j++) { acc += probs[pOff + j] * v[kvBase + j * kvRow + e]; }
    out[qOff + e] = acc;
  }
}
`;

/**
 * Backward, step 1, one invocation per query row: dS = scale·P⊙(dP − Σ_j P⊙dP) with dP = dOut·Vᵀ (into dS), then
 * dq = dS·K. Masked keys have P = 0, so they get dS = 0 with no mask of their own.
 */
export const ATTENTION_DQ_WGSL = /* wgsl */ `${ATTENTION_DIMS}
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> probs: array<f32>;
@group(0) @binding(4) var<storage, read> dOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> dS: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<f32>;

@compute @workgroup_size(${LINEAR_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let row = flatIndex(gid, groups);
  if (row >= d.batch * d.heads * d.seqQ) { return; }
  let i = row % d.seqQ;
  let h = (row / d.seqQ) % d.heads;
  let b = row / (d.seqQ * d.heads);
  let kvh = h / (d.heads / d.kvHeads);
  let qRow = d.heads * d.headDim;
  let kvRow = d.kvHeads * d.headDim;
  let qOff = (b * d.seqQ + i) * qRow + h * d.headDim;
  let kvBase = b * d.seqK * kvRow + kvh * d.headDim;
  let pOff = row * d.seqK;
  var dot = 0.0;
  for (var j = 0u; j < d.seqK; j++) {
    var dp = 0.0;
    for (var e = 0u; e < d.headDim; e++) { dp += dOut[qOff + e] * v[kvBase + j * kvRow + e]; }
    dS[pOff + j] = dp;
    dot += probs[pOff + j] * dp;
  }
  for (var j = 0u; j < d.seqK; j++) { dS[pOff + j] = probs[pOff + j] * (dS[pOff + j] - dot) * d.scale; }
  for (var e = 0u; e < d.headDim; e++) {
    var acc = 0.0;
    for (var j = 0u; j < d.seqK; j++) { acc += dS[pOff + j] * k[kvBase + j * kvRow + e]; }
    dq[qOff + e] = acc;
  }
}
`;

/**
 * Backward, step 2, one invocation per (b, j, kv head, e): dk = Σ_h,i dS·q and dv = Σ_h,i P·dOut over the query heads
 * h that share kv head kvh and every query position i.
 */
export const ATTENTION_DKV_WGSL = /* wgsl */ `${ATTENTION_DIMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read> dOut: array<f32>;
@group(0) @binding(4) var<storage, read> dS: array<f32>;
@group(0) @binding(5) var<storage, read_write> dk: array<f32>;
@group(0) @binding(6) var<storage, read_write> dv: array<f32>;

@compute @workgroup_size(${LINEAR_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let idx = flatIndex(gid, groups); // [b][j][kvh][e], the layout of dk and dv
  if (idx >= d.batch * d.seqK * d.kvHeads * d.headDim) { return; }
  let e = idx % d.headDim;
  let kvh = (idx / d.headDim) % d.kvHeads;
  let j = (idx / (d.headDim * d.kvHeads)) % d.seqK;
  let b = idx / (d.headDim * d.kvHeads * d.seqK);
  let group = d.heads / d.kvHeads;
  let qRow = d.heads * d.headDim;
  var dkSum = 0.0;
  var dvSum = 0.0;
  for (var h = kvh * group; h < (kvh + 1u) * group; h++) {
    for (var i = 0u; i < d.seqQ; i++) {
      let pIdx = ((b * d.heads + h) * d.seqQ + i) * d.seqK + j;
      let qIdx = (b * d.seqQ + i) * qRow + h * d.headDim + e;
      dkSum += dS[pIdx] * q[qIdx];
      dvSum += probs[pIdx] * dOut[qIdx];
    }
  }
  dk[idx] = dkSum;
  dv[idx] = dvSum;
}
`;
