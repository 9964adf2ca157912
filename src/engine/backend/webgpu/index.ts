import { Worker } from 'node:worker_threads';
import { LoomError } from '../../errors.js';
import { cpuJsBackend } from '../cpu.js';
import { cpuWasmBackend, wasmAvailable } from '../cpu-wasm.js';
import type { AttentionArgs, AttentionBackwardArgs, Backend, Conv2dArgs, Conv2dBackwardArgs, MatmulArgs } from '../types.js';
import { CONTROL_BYTES, FAILED, MESSAGE_LENGTH, MESSAGE_START_BYTE, STATE, WORKING, type DeviceHello, type GpuOp, type Slot } from './protocol.js';

/**
 * The WebGPU backend, through the `webgpu` package (Dawn's Node binding).
 *
 * Bridging a synchronous interface to an asynchronous API: a worker thread (device-thread.ts) owns the GPU device.
 * Each kernel call copies its operands into a SharedArrayBuffer, posts one command and sleeps in Atomics.wait
 * until the worker has uploaded, dispatched, mapped the results back and notified. So layers call it exactly like
 * the CPU backends, and results are bit-for-bit what the GPU computed.
 *
 * Limits, honestly: every call is a full round trip (copy in, upload, run, read back, wake), nothing stays resident
 * on the GPU between calls, and the calling thread blocks meanwhile. That costs roughly 0.1-1 ms per call, so the
 * GPU only pays off for large products; calls below `minWork` multiply-adds go to the CPU backend instead. On
 * lavapipe (Mesa's software Vulkan driver, what CI has) the path is correct but slow: it is for testing.
 */
export interface WebGpuOptions {
  /** Calls with fewer multiply-adds than this run on the CPU backend (default 2^20; 0 sends everything to the GPU). */
  readonly minWork?: number;
  /** How long one call may take before it fails (default 120 s). */
  readonly timeoutMs?: number;
  /** Print the one-line notice when no adapter exists (default true). */
  readonly notice?: boolean;
  /** Where calls below `minWork` go (default: cpu-wasm when its kernel loads, else cpu-js). */
  readonly cpu?: Backend;
  /** Options for Dawn's `create()`, e.g. 'backend=vulkan' or 'adapter=NAME' to pick an adapter. */
  readonly dawnOptions?: readonly string[];
}

export interface WebGpuBackend extends Backend {
  /** The adapter's vendor, architecture and description, e.g. "mesa software llvmpipe …". */
  readonly adapter: string;
  /** Stops the device thread; the backend must not be used afterwards. */
  close(): Promise<void>;
}

/** A window of a caller's array: the part a kernel reads or writes. */
interface Window {
  readonly array: Float32Array;
  readonly offset: number;
  readonly length: number;
}

const window = (name: string, array: Float32Array, offset: number, length: number): Window => {
  if (offset < 0 || offset + length > array.length) {
    throw new LoomError('LOOM_ERR_BACKEND', `webgpu: ${name} holds ${array.length} values, needs ${length} from offset ${offset}`);
  }
  return { array, offset, length };
};

let noticed = false;

/** Starts the device thread and resolves to the backend, or to null (with a one-line notice) when there is no adapter. */
export async function createWebGpuBackend(options: WebGpuOptions = {}): Promise<WebGpuBackend | null> {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const worker = new Worker(new URL('./device-entry.mjs', import.meta.url), { workerData: { control, dawnOptions: [...(options.dawnOptions ?? [])] } });
  const hello = await new Promise<DeviceHello>((resolve) => {
    worker.once('message', (m: DeviceHello) => resolve(m));
    worker.once('error', (err) => resolve({ kind: 'unavailable', reason: err.message.split('\n')[0] ?? 'device thread failed' }));
    worker.once('exit', (code) => resolve({ kind: 'unavailable', reason: `device thread exited (${code})` }));
  });
  if (hello.kind === 'unavailable') {
    await worker.terminate();
    if ((options.notice ?? true) && !noticed) {
      noticed = true;
      process.stderr.write(`loom: WebGPU unavailable (${hello.reason}); falling back to the CPU backend\n`);
    }
    return null;
  }
  worker.unref(); // an idle device thread must not keep the process alive
  return new GpuBridge(worker, control, hello.adapter, options).backend();
}

class GpuBridge {
  private readonly control: Int32Array;
  private data = new SharedArrayBuffer(0);
  private floats = new Float32Array(this.data);
  private readonly cpu: Backend;
  private readonly minWork: number;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(
    private readonly worker: Worker,
    control: SharedArrayBuffer,
    private readonly adapter: string,
    options: WebGpuOptions,
  ) {
    this.control = new Int32Array(control);
    this.minWork = options.minWork ?? 1 << 20;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.cpu = options.cpu ?? (wasmAvailable() ? cpuWasmBackend : cpuJsBackend);
  }

  backend(): WebGpuBackend {
    return {
      name: 'webgpu',
      adapter: this.adapter,
      matmul: (args) => this.matmul(args),
      conv2d: (args) => this.conv2d(args),
      conv2dBackward: (args) => this.conv2dBackward(args),
      attention: (args) => this.attention(args),
      attentionBackward: (args) => this.attentionBackward(args),
      close: async () => {
        this.closed = true;
        await this.worker.terminate();
      },
    };
  }

  private matmul(args: MatmulArgs): void {
    const { a, b, c, m, n, k } = args;
    if (m * n * k < this.minWork) return this.cpu.matmul(args);
    const cWindow = window('c', c, args.cOffset ?? 0, m * n);
    const flags = (args.transA ? 1 : 0) | (args.transB ? 2 : 0) | (args.accumulate ? 4 : 0);
    this.call(
      'matmul',
      { m, n, k, flags },
      { a: window('a', a, args.aOffset ?? 0, m * k), b: window('b', b, args.bOffset ?? 0, k * n), ...(args.accumulate ? { c: cWindow } : {}) },
      { c: cWindow },
    );
  }

  private conv2d(args: Conv2dArgs): void {
    const { batch, inC, inH, inW, outC, kH, kW, outH, outW } = args;
    if (batch * outC * outH * outW * inC * kH * kW < this.minWork) return this.cpu.conv2d(args);
    this.call(
      'conv2d',
      convDims(args),
      { x: window('x', args.x, 0, batch * inC * inH * inW), w: window('w', args.w, 0, outC * inC * kH * kW), bias: window('bias', args.bias, 0, outC) },
      { y: window('y', args.y, 0, batch * outC * outH * outW) },
    );
  }

  private conv2dBackward(args: Conv2dBackwardArgs): void {
    const { batch, inC, inH, inW, outC, kH, kW, outH, outW } = args;
    if (batch * outC * outH * outW * inC * kH * kW < this.minWork) return this.cpu.conv2dBackward(args);
    const dw = window('dw', args.dw, 0, outC * inC * kH * kW);
    const db = window('db', args.db, 0, outC);
    this.call(
      'conv2dBackward',
      convDims(args),
      { x: window('x', args.x, 0, batch * inC * inH * inW), w: window('w', args.w, 0, outC * inC * kH * kW), dy: window('dy', args.dy, 0, batch * outC * outH * outW), dw, db },
      { dx: window('dx', args.dx, 0, batch * inC * inH * inW), dw, db },
    );
  }

  private attention(args: AttentionArgs): void {
    const { batch, heads, kvHeads, seqQ, seqK, headDim } = args;
    checkGrouping(heads, kvHeads);
    if (batch * heads * seqQ * seqK * headDim < this.minWork) return this.cpu.attention(args);
    const qLen = batch * seqQ * heads * headDim;
    const kvLen = batch * seqK * kvHeads * headDim;
    this.call(
      'attention',
      attentionDims(args),
      { q: window('q', args.q, 0, qLen), k: window('k', args.k, 0, kvLen), v: window('v', args.v, 0, kvLen) },
      { out: window('out', args.out, 0, qLen), probs: window('probs', args.probs, 0, batch * heads * seqQ * seqK) },
    );
  }

  private attentionBackward(args: AttentionBackwardArgs): void {
    const { batch, heads, kvHeads, seqQ, seqK, headDim } = args;
    checkGrouping(heads, kvHeads);
    if (batch * heads * seqQ * seqK * headDim < this.minWork) return this.cpu.attentionBackward(args);
    const qLen = batch * seqQ * heads * headDim;
    const kvLen = batch * seqK * kvHeads * headDim;
    this.call(
      'attentionBackward',
      attentionDims(args),
      {
        q: window('q', args.q, 0, qLen),
        k: window('k', args.k, 0, kvLen),
        v: window('v', args.v, 0, kvLen),
        probs: window('probs', args.probs, 0, batch * heads * seqQ * seqK),
        dOut: window('dOut', args.dOut, 0, qLen),
      },
      { dq: window('dq', args.dq, 0, qLen), dk: window('dk', args.dk, 0, kvLen), dv: window('dv', args.dv, 0, kvLen) },
    );
  }

  /** One synchronous round trip: operands into shared memory, command to the device thread, sleep, results out. */
  private call(op: GpuOp, dims: Record<string, number>, inputs: Record<string, Window>, outputs: Record<string, Window>): void {
    if (this.closed) throw new LoomError('LOOM_ERR_BACKEND', 'webgpu: the backend was closed');
    const slots = new Map<string, Slot>();
    let floats = 0;
    for (const [name, w] of [...Object.entries(inputs), ...Object.entries(outputs)]) {
      if (slots.has(name)) continue;
      slots.set(name, [floats, w.length]);
      floats += Math.ceil(w.length / 4) * 4;
    }
    if (floats > this.floats.length) {
      this.data = new SharedArrayBuffer(Math.max(floats, this.floats.length * 2) * 4);
      this.floats = new Float32Array(this.data);
    }
    const slotsOf = (ws: Record<string, Window>): Record<string, Slot> => Object.fromEntries(Object.keys(ws).map((name) => [name, slots.get(name) as Slot]));
    for (const [name, w] of Object.entries(inputs)) this.floats.set(w.array.subarray(w.offset, w.offset + w.length), (slots.get(name) as Slot)[0]);

    Atomics.store(this.control, STATE, WORKING);
    this.worker.postMessage({ op, dims, inputs: slotsOf(inputs), outputs: slotsOf(outputs), data: this.data });
    if (Atomics.wait(this.control, STATE, WORKING, this.timeoutMs) === 'timed-out') {
      throw new LoomError('LOOM_ERR_BACKEND', `webgpu: ${op} did not finish within ${this.timeoutMs} ms`);
    }
    if (Atomics.load(this.control, STATE) === FAILED) {
      const length = Atomics.load(this.control, MESSAGE_LENGTH);
      const message = new TextDecoder().decode(new Uint8Array(this.control.buffer, MESSAGE_START_BYTE, length).slice());
      throw new LoomError('LOOM_ERR_BACKEND', `webgpu: ${op} failed: ${message}`);
    }
    for (const [name, w] of Object.entries(outputs)) {
      const [at, length] = slots.get(name) as Slot;
      w.array.set(this.floats.subarray(at, at + length), w.offset);
    }
  }
}

/** The sizes a conv kernel reads, after checking them: a wrong outH/outW would read past the image silently. */
function convDims(g: Omit<Conv2dArgs, 'x' | 'w' | 'bias' | 'y'>): Record<string, number> {
  const sizes = [g.batch, g.inC, g.inH, g.inW, g.outC, g.kH, g.kW, g.strideH, g.strideW, g.outH, g.outW];
  const out = (size: number, k: number, stride: number, pad: number): number => Math.floor((size + 2 * pad - k) / stride) + 1;
  if (!sizes.every((v) => Number.isInteger(v) && v >= 1) || !(g.padH >= 0 && g.padW >= 0) || out(g.inH, g.kH, g.strideH, g.padH) !== g.outH || out(g.inW, g.kW, g.strideW, g.padW) !== g.outW) {
    throw new LoomError(
      'LOOM_ERR_BACKEND',
      `webgpu conv2d: output ${g.outH}×${g.outW} does not match input ${g.inH}×${g.inW}, kernel ${g.kH}×${g.kW}, stride ${g.strideH}×${g.strideW}, padding ${g.padH}×${g.padW}`,
    );
  }
  return {
    batch: g.batch, inC: g.inC, inH: g.inH, inW: g.inW, outC: g.outC, kH: g.kH, kW: g.kW,
    strideH: g.strideH, strideW: g.strideW, padH: g.padH, padW: g.padW, outH: g.outH, outW: g.outW,
  };
}

const attentionDims = (a: Omit<AttentionArgs, 'q' | 'k' | 'v' | 'out' | 'probs'>): Record<string, number> => ({
  batch: a.batch, heads: a.heads, kvHeads: a.kvHeads, seqQ: a.seqQ, seqK: a.seqK, headDim: a.headDim, causal: a.causal ? 1 : 0, scale: a.scale,
});

function checkGrouping(heads: number, kvHeads: number): void {
  if (!(kvHeads >= 1) || heads % kvHeads !== 0) {
    throw new LoomError('LOOM_ERR_BACKEND', `attention: kvHeads (${kvHeads}) must be a positive divisor of heads (${heads})`);
  }
}
