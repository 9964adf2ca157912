import { Worker } from 'node:worker_threads';
const code = `
const { parentPort } = await import('node:worker_threads');
const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter();
const device = await adapter.requestDevice();
console.error('device ok');
parentPort.on('message', async (m) => {
  console.error('got', m);
  const buf = device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
  device.queue.writeBuffer(buf, 0, new Float32Array(16).fill(2));
  const st = device.createBuffer({ size: 64, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder(); enc.copyBufferToBuffer(buf, 0, st, 0, 64); device.queue.submit([enc.finish()]);
  await st.mapAsync(GPUMapMode.READ);
  const r = new Float32Array(st.getMappedRange()).slice(); st.unmap();
  if (m.sab) { const c = new Int32Array(m.sab); Atomics.store(c, 0, 1); Atomics.notify(c, 0); }
  parentPort.postMessage(r[3]);
});
parentPort.postMessage('ready');
`;
const w = new Worker(code, { eval: true });
w.on('exit', (c) => console.log('exit', c));
await new Promise((r) => w.once('message', r));
console.log('ready');
w.postMessage({});
console.log('async result', await new Promise((r) => w.once('message', r)));
const sab = new SharedArrayBuffer(8); const c = new Int32Array(sab);
w.postMessage({ sab });
console.log('wait', Atomics.wait(c, 0, 0, 10000));
console.log('sync result', await new Promise((r) => w.once('message', r)));
await w.terminate();
console.log('terminated');
