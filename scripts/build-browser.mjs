#!/usr/bin/env node
// Bundles the engine for browsers (src/browser.ts → dist/browser/loom.js, one ES module) with esbuild.
// The WebAssembly kernels (build/wasm/*.wasm, from build-wasm.mjs) are embedded: the engine loads them with
// node:fs, so in the bundle node:fs, node:url, node:module and node:worker_threads are small shims (the WebGPU
// backend, which needs worker threads, and the native addon are Node-only and never selected in a browser).
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.warn('loom: esbuild is not installed; skipping the browser build');
  process.exit(0);
}
// Every kernel build-wasm.mjs wrote (build/wasm/*.wasm), embedded by file name.
const wasmDir = join(root, 'build', 'wasm');
const kernels = existsSync(wasmDir)
  ? Object.fromEntries(readdirSync(wasmDir).filter((f) => f.endsWith('.wasm')).map((f) => [f, readFileSync(join(wasmDir, f)).toString('base64')]))
  : {};
if (Object.keys(kernels).length === 0) console.warn('loom: build/wasm/ has no kernels; the browser build will use the plain JS kernels');

const shims = {
  'node:fs': `
    const kernels = ${JSON.stringify(kernels)};
    const kernel = (p) => kernels[String(p).split(/[\\/]/).pop()];
    export const existsSync = (p) => kernel(p) !== undefined;
    export function readFileSync(p) {
      const b64 = kernel(p);
      if (b64 === undefined) throw new Error('no file system in the browser: ' + p);
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      return bytes;
    }`,
  'node:url': `export const fileURLToPath = (u) => String(u);`,
  // The native addon (cpu-native.ts) is Node-only and never loaded in a page; this only satisfies the import.
  'node:module': `export const createRequire = () => () => { throw new Error('no native addons in the browser'); };`,
  'node:worker_threads': `export class Worker { constructor() { throw new Error('worker threads are Node-only'); } }
    export const parentPort = null; export const workerData = null;`,
};

const shimPlugin = {
  name: 'loom-browser-shims',
  setup(build) {
    build.onResolve({ filter: /^node:(fs|url|module|worker_threads)$/ }, (args) => ({ path: args.path, namespace: 'loom-shim' }));
    build.onResolve({ filter: /^webgpu$/ }, () => ({ path: 'webgpu', namespace: 'loom-shim' }));
    build.onLoad({ filter: /.*/, namespace: 'loom-shim' }, (args) => ({ contents: shims[args.path] ?? 'export {};', loader: 'js' }));
  },
};

// `--out FILE` writes elsewhere (the browser test bundles the current sources into a temporary folder).
const outArg = process.argv.indexOf('--out');
const outfile = outArg > 0 && process.argv[outArg + 1] ? process.argv[outArg + 1] : join(root, 'dist', 'browser', 'loom.js');
mkdirSync(dirname(outfile), { recursive: true });
await esbuild.build({
  entryPoints: [join(root, 'src', 'browser.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: false,
  legalComments: 'none',
  plugins: [shimPlugin],
  // The engine writes one-line notices to process.stderr; in a page they go to the console.
  banner: { js: "globalThis.process ??= { env: {}, stderr: { write: (m) => console.warn(String(m).trimEnd()) } };" },
  logLevel: 'warning',
});
console.log(`loom: built ${outfile}`);
