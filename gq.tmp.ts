import { createWebGpuBackend } from './src/engine/backend/webgpu/index.js';
import { matmulJs } from './src/engine/backend/cpu-matmul.js';
const t0 = performance.now();
const gpu = await createWebGpuBackend({ minWork: 0 });
console.log('start', performance.now() - t0, gpu?.adapter);
if (gpu) {
  for (const [m, n, k] of [[3, 5, 7], [65, 70, 33], [256, 256, 256]]) {
    const a = Float32Array.from({ length: m * k }, () => Math.random() - 0.5);
    const b = Float32Array.from({ length: n * k }, () => Math.random() - 0.5);
    const c1 = new Float32Array(m * n), c2 = new Float32Array(m * n);
    matmulJs({ a, b, c: c1, m, n, k, transB: true });
    const t = performance.now();
    gpu.matmul({ a, b, c: c2, m, n, k, transB: true });
    let e = 0; for (let i = 0; i < c1.length; i++) e = Math.max(e, Math.abs(c1[i]! - c2[i]!));
    console.log(m, n, k, 'err', e, 'ms', performance.now() - t);
  }
  await gpu.close();
}
