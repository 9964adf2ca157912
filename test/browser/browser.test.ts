import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel } from '../../src/engine/io/formats.js';
import { PREPROCESSING_VERSION, type Preprocessing } from '../../src/engine/preprocess.js';
import { finishConfig } from '../../src/search/arch.js';
import { buildNetworkSpec } from '../../src/search/build.js';
import { buildServeApp } from '../../src/serve/app.js';
import { modelFromBytes, predictRows } from '../../src/serve/predictor.js';
import { noisyNetwork, randomInput } from '../onnx/helpers.js';
import type { LayerSpec } from '../../src/engine/layers/types.js';
import { sequentialNetworkSpec } from '../../src/engine/network.js';

/**
 * The browser build (scripts/build-browser.mjs, bundled from the current sources) in Debian's Chromium: the demo page
 * served by `loom serve` loads it and the served model file, runs the model in the page with the WebAssembly kernel,
 * and gets Node's outputs; a digit drawn on the canvas is predicted in the page and by the server alike.
 */
const CHROMIUM = '/usr/bin/chromium';
const OUT = 'test-output';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ROOT = join(import.meta.dirname, '..', '..');

/** An MNIST-shaped search network (28×28 image, rows two per token, a hive of brains) with seeded noisy weights. */
function digitModel(): Uint8Array {
  const config = finishConfig({
    id: 'digits', gridRows: 1, gridCols: 4, brains: ['MHA', 'LSTM', 'Conv1D', 'SwiGLU'], dModel: 16, numHeads: 2, learningRate: 0.01,
    budgetScale: 1, activation: 'gelu', combineMode: 'filter', initScale: 1, dtype: 'float32', seqLen: 14, tokenDim: 56,
    numClasses: 10, parents: [], origin: 'random', mutations: [],
  });
  const net = noisyNetwork(buildNetworkSpec(config, { inputShape: [28, 28], numClasses: 10 }), 5);
  net.modelId = 'digits';
  const preprocessing: Preprocessing = {
    version: PREPROCESSING_VERSION, inputShape: [28, 28], layout: { kind: 'image', height: 28, width: 28 }, features: [],
    normalization: { kind: 'none' }, classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  };
  return encodeModel(net, 'loom', { preprocessing });
}

/** A table model: raw columns size (number, gaps filled with 12.5), colour (three categories), weight (number). */
function tableModel(): Uint8Array {
  const net = noisyNetwork(sequentialNetworkSpec([5], [{ type: 'dense', units: 3 } as LayerSpec, { type: 'softmax' } as LayerSpec]), 3);
  net.modelId = 'table';
  const preprocessing: Preprocessing = {
    version: PREPROCESSING_VERSION, inputShape: [5], layout: { kind: 'features' },
    features: ['size', 'colour=blue', 'colour=green', 'colour=red', 'weight'],
    normalization: { kind: 'zscore', mean: [12, 0.3, 0.3, 0.4, 50], std: [4, 0.5, 0.5, 0.5, 10] }, classes: ['a', 'b', 'c'],
    columns: [
      { name: 'size', kind: 'number', fill: 12.5 },
      { name: 'colour', kind: 'category', values: ['blue', 'green', 'red'] },
      { name: 'weight', kind: 'number', fill: 48 },
    ],
  };
  return encodeModel(net, 'loom', { preprocessing });
}

describe('browser build in Chromium', () => {
  let dir: string;
  let app: FastifyInstance;
  let browser: Browser;
  let base = '';
  let bytes: Uint8Array;
  let tableApp: FastifyInstance;
  let tableBase = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-browser-'));
    const bundle = join(dir, 'loom.js');
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-browser.mjs'), '--out', bundle], { cwd: ROOT, stdio: 'pipe' });
    bytes = digitModel();
    app = await buildServeApp({ model: modelFromBytes(bytes), modelBytes: bytes, browserBundle: bundle });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    const table = tableModel();
    tableApp = await buildServeApp({ model: modelFromBytes(table), modelBytes: table, browserBundle: bundle });
    tableBase = await tableApp.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    mkdirSync(OUT, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await tableApp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function openDemo(at = base): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${at}/demo`);
    await page.waitForFunction(() => (window as unknown as { loomDemo?: { ready: boolean } }).loomDemo?.ready === true, undefined, { timeout: 20_000 });
    return { page, errors };
  }

  it('runs the served model in the page with the WebAssembly kernel and matches Node', async () => {
    const { page, errors } = await openDemo();
    const x = randomInput([28, 28], 4, 11);
    const rows = Array.from({ length: 4 }, (_, i) => Array.from(x.data.subarray(i * 784, (i + 1) * 784)).map((v) => (v + 2) / 4));
    const inPage = await page.evaluate((input) => {
      const demo = (window as unknown as { loomDemo: { loom: { backendName(): string; predictRows(m: unknown, r: number[][]): { label: string; probabilities: number[] }[] }; model: unknown } }).loomDemo;
      return { backend: demo.loom.backendName(), predictions: demo.loom.predictRows(demo.model, input) };
    }, rows);
    const node = predictRows(modelFromBytes(bytes), rows);
    expect(inPage.backend).toBe('cpu-wasm');
    expect(inPage.predictions.map((p) => p.label)).toEqual(node.map((p) => p.label));
    let diff = 0;
    inPage.predictions.forEach((p, i) => p.probabilities.forEach((v, c) => (diff = Math.max(diff, Math.abs(v - (node[i]?.probabilities[c] as number))))));
    expect(diff).toBeLessThan(1e-5);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('predicts a digit drawn on the canvas, in the page and on the server alike', async () => {
    const { page, errors } = await openDemo();
    const box = await page.locator('#canvas').boundingBox();
    if (!box) throw new Error('no canvas');
    // A "7": a bar across the top, then a stroke down to the lower left.
    await page.mouse.move(box.x + 70, box.y + 60);
    await page.mouse.down();
    await page.mouse.move(box.x + 210, box.y + 60, { steps: 8 });
    await page.mouse.move(box.x + 110, box.y + 230, { steps: 8 });
    await page.mouse.up();
    await page.click('#predict');
    await page.waitForSelector('.server-label', { timeout: 10_000 });
    const local = await page.textContent('.label');
    const server = await page.textContent('.server-label');
    expect(local).toMatch(/^[0-9]$/);
    expect(server).toBe(local);
    await page.screenshot({ path: join(OUT, 'serve-demo.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('reads a typed table row with text and a gap, in the page and on the server alike', async () => {
    const { page, errors } = await openDemo(tableBase);
    // size 20, colour red, weight left empty (missing: the stored fill).
    await page.fill('#values', '20, red, \n9, purple, 51');
    await page.click('#predict');
    await page.waitForSelector('.server-label', { timeout: 10_000 });
    const local = await page.$$eval('.label', (els) => els.map((e) => e.textContent));
    const server = await page.$$eval('.server-label', (els) => els.map((e) => e.textContent));
    const node = predictRows(modelFromBytes(tableModel()), [[20, 'red', null], [9, 'purple', 51]]).map((p) => p.label);
    expect(local).toEqual(node);
    expect(server).toEqual(node);
    expect(errors).toEqual([]);
    await page.close();
  });
});
