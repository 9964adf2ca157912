import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { dashboardApp } from '../src/dashboard/app.js';
import { Rng } from '../src/engine/rng.js';
import { generateConfigs } from '../src/search/arch.js';
import { Store } from '../src/store/store.js';

/**
 * The run page with 2,000 models: the two API calls it makes on load (the run, the population) over real HTTP,
 * and — when Debian's Chromium is installed — the page load in a browser, from navigation start until its script has
 * drawn the cards, charts, table and timeline (the page's own performance.now()). Goal: under a second. Medians of a
 * few loads after a warm-up.
 */
export const DASHBOARD_GOAL_MS = 1000;
const MODELS = 2000;
const PER_GENERATION = 100;
const SAMPLES = 300;

export interface DashboardBench {
  readonly models: number;
  readonly runApiMs: number;
  readonly modelsApiMs: number;
  readonly modelsApiKb: number;
  /** null when /usr/bin/chromium is missing (scripts/install-chromium.sh installs it). */
  readonly pageLoadMs: number | null;
  readonly goalMs: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export function buildDb(path: string): string {
  const runId = 'run-bench-2000';
  let now = Date.UTC(2025, 0, 1);
  const store = Store.open(path, { now: () => now });
  store.createRun({ id: runId, name: 'bench-2000', config: { name: 'bench-2000', data: { ref: 'synthetic:blobs', splitSeed: 0 } }, seed: 1, dataRef: 'synthetic:blobs', dataChecksum: 'x', codeVersion: 'bench' });
  const task = { inputShape: [16], numClasses: 3 };
  const rng = new Rng(3);
  const configs = generateConfigs(MODELS, task, rng, { maxBrains: 9 }, 'm');
  store.transaction(() => {
    for (let g = 0; g < MODELS / PER_GENERATION; g++) {
      const members = configs.slice(g * PER_GENERATION, (g + 1) * PER_GENERATION);
      store.addGeneration(runId, g, { members: members.map((c) => c.id) });
      store.addModels(runId, members.map((c) => ({ modelId: c.id, generation: g, arch: c })));
      members.forEach((c, i) => {
        now += 500;
        const mask = Uint8Array.from({ length: SAMPLES }, () => (rng.next() < 0.6 + 0.3 * (g / 20) ? 1 : 0));
        const probs = new Float32Array(SAMPLES * 3).fill(1 / 3);
        const acc = mask.reduce((a, b) => a + b, 0) / SAMPLES;
        store.markModelRunning(runId, c.id, `w${i % 4}`);
        store.recordResult(runId, {
          modelId: c.id, metrics: [{ epoch: 1, loss: 1, accuracy: 0.5, lr: 0.01, ms: 1 }, { epoch: 2, loss: 0.5, accuracy: 0.7, valAccuracy: acc, lr: 0.01, ms: 1 }], valProbs: probs, testProbs: probs,
          valMask: mask, testMask: mask, weights: new Uint8Array(16), paramCount: 1000 + i, trainMs: 400 + (i % 7) * 30, worker: `w${i % 4}`,
          valAccuracy: acc, testAccuracy: acc, numClasses: 3,
        });
      });
    }
  });
  store.finishRun(runId, {});
  store.close();
  return runId;
}

export async function benchDashboard(): Promise<DashboardBench> {
  const dir = mkdtempSync(join(tmpdir(), 'loom-bench-dashboard-'));
  const dbPath = join(dir, 'loom.db');
  const runId = buildDb(dbPath);
  const app = Fastify({ logger: false, forceCloseConnections: true });
  await app.register(dashboardApp, { dbPath });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const time = async (path: string): Promise<{ ms: number; bytes: number }> => {
      const t = performance.now();
      const res = await fetch(base + path);
      const body = await res.arrayBuffer();
      if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
      return { ms: performance.now() - t, bytes: body.byteLength };
    };
    const runPath = `/api/runs/${runId}`;
    const modelsPath = `/api/runs/${runId}/models`;
    await time(runPath);
    await time(modelsPath);
    const runTimes: number[] = [];
    const modelTimes: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 5; i++) {
      runTimes.push((await time(runPath)).ms);
      const m = await time(modelsPath);
      modelTimes.push(m.ms);
      bytes = m.bytes;
    }

    let pageLoadMs: number | null = null;
    if (existsSync('/usr/bin/chromium')) {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const loads: number[] = [];
        for (let i = 0; i < 4; i++) {
          const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
          await page.goto(`${base}/runs/${runId}`);
          await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
          // The page's own clock: from navigation start until cards, charts, table and timeline are drawn.
          const readyMs = Number(await page.getAttribute('body', 'data-ready-ms'));
          if (i > 0) loads.push(readyMs); // the first load warms the browser's caches and JIT
          await page.close();
        }
        pageLoadMs = median(loads);
      } finally {
        await browser.close();
      }
    }
    return { models: MODELS, runApiMs: median(runTimes), modelsApiMs: median(modelTimes), modelsApiKb: bytes / 1024, pageLoadMs, goalMs: DASHBOARD_GOAL_MS };
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function dashboardTable(r: DashboardBench): string {
  const page = r.pageLoadMs === null ? 'n/a (no /usr/bin/chromium)' : `${r.pageLoadMs.toFixed(0)} ms`;
  return [
    '| models | GET run | GET population | population size | run page load (Chromium) | goal |',
    '|---|---|---|---|---|---|',
    `| ${r.models} | ${r.runApiMs.toFixed(0)} ms | ${r.modelsApiMs.toFixed(0)} ms | ${r.modelsApiKb.toFixed(0)} kB | ${page} | < ${r.goalMs} ms |`,
  ].join('\n');
}

// `node bin/run-ts.mjs bench/dashboard.ts` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchDashboard();
  console.log(dashboardTable(r));
}
