import { createWebGpuBackend } from './src/engine/backend/webgpu/index.js';
console.log(await createWebGpuBackend({ dawnOptions: ['adapter=no-such-adapter'] }));
