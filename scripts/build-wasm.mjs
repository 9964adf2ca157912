#!/usr/bin/env node
// Compiles the WebAssembly SIMD kernels from assembly/ into build/wasm/ (run by `npm ci` through `prepare`).
// If the compiler is missing (a production install without dev dependencies), Loom falls back to plain JS.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let asc;
try {
  asc = join(dirname(require.resolve('assemblyscript/package.json')), 'bin', 'asc.js');
} catch {
  console.warn('loom: assemblyscript is not installed; skipping the WebAssembly kernels (the plain JS backend will be used)');
  process.exit(0);
}
mkdirSync(join(root, 'build', 'wasm'), { recursive: true });
// Each kernel twice: plain SIMD (every runtime Loom supports) and relaxed SIMD (fused multiply-add; validated and
// preferred at run time where the runtime has it, Node >= 22). The compiler needs no relaxed-SIMD support from the
// Node running it: it only emits the opcodes.
const variants = [
  { suffix: '', features: ['simd'] },
  { suffix: '-relaxed', features: ['simd', 'relaxed-simd'] },
];
for (const name of ['matmul', 'attention', 'lstm']) {
  for (const { suffix, features } of variants) {
    const out = join(root, 'build', 'wasm', `${name}${suffix}.wasm`);
    const enable = features.flatMap((f) => ['--enable', f]);
    execFileSync(process.execPath, [asc, join(root, 'assembly', `${name}.ts`), '-o', out, '-O3', '--runtime', 'stub', '--noAssert', ...enable, '--initialMemory', '2'], { stdio: 'inherit' });
    if (!existsSync(out)) throw new Error(`build-wasm: ${out} was not written`);
    console.log(`loom: built ${out}`);
  }
}
