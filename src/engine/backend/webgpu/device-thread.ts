import { parentPort, workerData } from 'node:worker_threads';
import {
  ATTENTION_DKV_WGSL,
  ATTENTION_DQ_WGSL,
  ATTENTION_WGSL,
  CONV2D_DB_WGSL,
  CONV2D_DW_WGSL,
  CONV2D_DX_WGSL,
  CONV2D_WGSL,
  LINEAR_WORKGROUP,
  MATMUL_TILE,
  MATMUL_WGSL,
} from './kernels.js';
import { DONE, FAILED, MESSAGE_LENGTH, MESSAGE_START_BYTE, STATE, type DeviceHello, type GpuCommand } from './protocol.js';

/**
 * The thread that owns the GPU device. WebGPU only answers through promises (mapAsync), which need an event loop
 * that keeps turning; this thread has one while the host thread sleeps in Atomics.wait, which is what lets the
 * Backend interface stay synchronous. One command at a time: upload, run the kernels, read back, wake the host.
 */
interface Pass {
  readonly shader: string;
  /** Buffer names bound at @binding(1), (2), … in order; @binding(0) is the uniform. */
  readonly buffers: readonly string[];
  readonly invocations: [x: number, y: number] | number;
}

interface Plan {
  readonly uniform: ArrayBuffer;
  /** Device-only buffers (float lengths) that no one uploads or reads back. */
  readonly scratch: Readonly<Record<string, number>>;
  readonly passes: readonly Pass[];
}

const { control: controlBuffer, dawnOptions } = workerData as { control: SharedArrayBuffer; dawnOptions: string[] };
const control = new Int32Array(controlBuffer);
const port = parentPort;
if (!port) throw new Error('device-thread.ts must run in a worker thread');

const u32s = (values: number[]): ArrayBuffer => Uint32Array.from(values).buffer;

/** Packs each op's sizes in the order its WGSL `Dims` struct declares them. */
function plan(cmd: GpuCommand): Plan {
  const d = cmd.dims as Record<string, number>;
  const n = (name: string): number => d[name] ?? 0;
  switch (cmd.op) {
    case 'matmul':
      return {
        uniform: u32s([n('m'), n('n'), n('k'), n('flags')]),
        scratch: {},
        passes: [{ shader: MATMUL_WGSL, buffers: ['a', 'b', 'c'], invocations: [Math.ceil(n('n') / MATMUL_TILE), Math.ceil(n('m') / MATMUL_TILE)] }],
      };
    case 'conv2d':
    case 'conv2dBackward': {
      const fields = ['batch', 'inC', 'inH', 'inW', 'outC', 'kH', 'kW', 'strideH', 'strideW', 'padH', 'padW', 'outH', 'outW'];
      const uniform = u32s([...fields.map(n), 0, 0, 0]);
      const outputs = n('batch') * n('outC') * n('outH') * n('outW');
      if (cmd.op === 'conv2d') return { uniform, scratch: {}, passes: [{ shader: CONV2D_WGSL, buffers: ['x', 'w', 'bias', 'y'], invocations: outputs }] };
      return {
        uniform,
        scratch: {},
        passes: [
          { shader: CONV2D_DX_WGSL, buffers: ['w', 'dy', 'dx'], invocations: n('batch') * n('inC') * n('inH') * n('inW') },
          { shader: CONV2D_DW_WGSL, buffers: ['x', 'dy', 'dw'], invocations: n('outC') * n('inC') * n('kH') * n('kW') },
          { shader: CONV2D_DB_WGSL, buffers: ['dy', 'db'], invocations: n('outC') },
        ],
      };
    }
    case 'attention':
    case 'attentionBackward': {
      const uniform = new ArrayBuffer(32);
      new Uint32Array(uniform, 0, 7).set([n('batch'), n('heads'), n('kvHeads'), n('seqQ'), n('seqK'), n('headDim'), n('causal')]);
      new Float32Array(uniform, 28, 1)[0] = n('scale');
      const rows = n('batch') * n('heads') * n('seqQ');
      if (cmd.op === 'attention') return { uniform, scratch: {}, passes: [{ shader: ATTENTION_WGSL, buffers: ['q', 'k', 'v', 'probs', 'out'], invocations: rows }] };
      return {
        uniform,
        scratch: { dS: rows * n('seqK') },
        passes: [
          { shader: ATTENTION_DQ_WGSL, buffers: ['k', 'v', 'probs', 'dOut', 'dS', 'dq'], invocations: rows },
          { shader: ATTENTION_DKV_WGSL, buffers: ['q', 'probs', 'dOut', 'dS', 'dk', 'dv'], invocations: n('batch') * n('seqK') * n('kvHeads') * n('headDim') },
        ],
      };
    }
  }
}

/** Workgroups for a pass: tiled passes give them directly; linear ones spread past the 65535-per-dimension cap. */
function workgroups(invocations: Pass['invocations']): [number, number] {
  if (typeof invocations !== 'number') return invocations;
  const groups = Math.ceil(invocations / LINEAR_WORKGROUP);
  const x = Math.min(groups, 65535);
  return [x, x === 0 ? 0 : Math.ceil(groups / x)];
}

/** Dawn's instance: held for the thread's lifetime, since collecting it tears down the device under our feet. */
let gpu: GPU | null = null;

async function start(): Promise<void> {
  let device: GPUDevice;
  try {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    gpu = create(dawnOptions);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return hello({ kind: 'unavailable', reason: 'no WebGPU adapter found' });
    device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
        maxStorageBuffersPerShaderStage: Math.max(8, Math.min(10, adapter.limits.maxStorageBuffersPerShaderStage)),
      },
    });
    const info = adapter.info;
    hello({ kind: 'ready', adapter: [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') || 'unknown adapter' });
  } catch (err) {
    return hello({ kind: 'unavailable', reason: (err as Error).message.split('\n')[0] ?? 'WebGPU failed to start' });
  }

  const pipelines = new Map<string, GPUComputePipeline>();
  const pipeline = (code: string): GPUComputePipeline => {
    let p = pipelines.get(code);
    if (!p) {
      p = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
      pipelines.set(code, p);
    }
    return p;
  };

  async function run(cmd: GpuCommand): Promise<void> {
    const data = new Float32Array(cmd.data);
    const { uniform, scratch, passes } = plan(cmd);
    const made: GPUBuffer[] = [];
    const makeBuffer = (bytes: number, usage: number): GPUBuffer => {
      const buffer = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
      made.push(buffer);
      return buffer;
    };
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    let openScopes = 2;
    let failure: string | null = null;
    try {
      const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
      const buffers = new Map<string, GPUBuffer>();
      for (const [name, [, length]] of [...Object.entries(cmd.inputs), ...Object.entries(cmd.outputs)]) {
        if (!buffers.has(name)) buffers.set(name, makeBuffer(length * 4, storage));
      }
      for (const [name, length] of Object.entries(scratch)) buffers.set(name, makeBuffer(length * 4, storage));
      for (const [name, [offset, length]] of Object.entries(cmd.inputs)) {
        // Dawn copies out of the view at once; a plain copy keeps it off the shared memory the host also sees.
        device.queue.writeBuffer(buffers.get(name) as GPUBuffer, 0, data.slice(offset, offset + length));
      }
      const uniformBuffer = makeBuffer(uniform.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      device.queue.writeBuffer(uniformBuffer, 0, uniform);

      const encoder = device.createCommandEncoder();
      for (const pass of passes) {
        const p = pipeline(pass.shader);
        const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniformBuffer } }];
        pass.buffers.forEach((name, i) => entries.push({ binding: i + 1, resource: { buffer: buffers.get(name) as GPUBuffer } }));
        const [x, y] = workgroups(pass.invocations);
        if (x === 0 || y === 0) continue;
        const computePass = encoder.beginComputePass();
        computePass.setPipeline(p);
        computePass.setBindGroup(0, device.createBindGroup({ layout: p.getBindGroupLayout(0), entries }));
        computePass.dispatchWorkgroups(x, y);
        computePass.end();
      }
      // All outputs go into one staging buffer: one mapAsync per command.
      const outputs = Object.entries(cmd.outputs);
      const stagingOffsets: number[] = [];
      let stagingBytes = 0;
      for (const [, [, length]] of outputs) {
        stagingOffsets.push(stagingBytes);
        stagingBytes += Math.ceil((length * 4) / 16) * 16;
      }
      const staging = makeBuffer(stagingBytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
      outputs.forEach(([name, [, length]], i) => {
        const bytes = Math.ceil((length * 4) / 16) * 16;
        if (bytes > 0) encoder.copyBufferToBuffer(buffers.get(name) as GPUBuffer, 0, staging, stagingOffsets[i] as number, bytes);
      });
      device.queue.submit([encoder.finish()]);
      openScopes = 0;
      const outOfMemory = await device.popErrorScope();
      const invalid = await device.popErrorScope();
      const error = invalid ?? outOfMemory;
      if (error) throw new Error(error.message);
      await staging.mapAsync(GPUMapMode.READ);
      const mapped = new Float32Array(staging.getMappedRange());
      outputs.forEach(([, [offset, length]], i) => {
        const from = (stagingOffsets[i] as number) / 4;
        data.set(mapped.subarray(from, from + length), offset);
      });
      staging.unmap();
    } catch (err) {
      failure = (err as Error).message || String(err);
    } finally {
      for (; openScopes > 0; openScopes--) await device.popErrorScope().catch(() => null);
      for (const buffer of made) buffer.destroy();
    }
    finish(failure === null ? DONE : FAILED, failure ?? '');
  }

  // The host waits for each command before sending the next; the chain only guards against a misbehaving host.
  let queue = Promise.resolve();
  port?.on('message', (cmd: GpuCommand) => {
    queue = queue.then(() => run(cmd));
  });
}

function hello(message: DeviceHello): void {
  port?.postMessage(message);
}

/** Publishes the outcome and wakes the host thread. */
function finish(state: number, message = ''): void {
  const bytes = new TextEncoder().encode(message).subarray(0, control.byteLength - MESSAGE_START_BYTE);
  new Uint8Array(control.buffer, MESSAGE_START_BYTE, bytes.length).set(bytes);
  Atomics.store(control, MESSAGE_LENGTH, bytes.length);
  Atomics.store(control, STATE, state);
  Atomics.notify(control, STATE);
}

await start();
