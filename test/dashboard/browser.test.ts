import { existsSync, mkdirSync, rmSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixture, FINISHED, LIVE, pct, type Fixture } from './fixture.js';
import { buildApp } from './helper.js';

/**
 * The pages in Debian's Chromium (scripts/install-chromium.sh), driven by playwright-core: each page loads on the
 * fixture database, shows the fixture's numbers, logs no console error, and leaves a screenshot in test-output/.
 */
const CHROMIUM = '/usr/bin/chromium';
const OUT = 'test-output';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let fx: Fixture;
let app: FastifyInstance;
let browser: Browser;
let base = '';

beforeAll(async () => {
  fx = buildFixture();
  app = await buildApp({ dbPath: fx.dbPath, pollMs: 150 });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  mkdirSync(OUT, { recursive: true });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  fx?.writer.close();
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
});

/** Opens a page, failing the test on any console error or uncaught exception; waits until its script is done. */
async function open(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  // A request the page itself aborts (closing the finished run's event stream) is not a failure.
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  await page.goto(base + path);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
  return { page, errors };
}

async function done(page: Page, errors: string[], name: string, fullPage = false): Promise<void> {
  await page.screenshot({ path: `${OUT}/dashboard-${name}.png`, fullPage });
  expect(errors).toEqual([]);
  await page.close();
}

const best = () => [...fx.finished].sort((a, b) => b.valAccuracy - a.valAccuracy || a.modelId.localeCompare(b.modelId))[0]!;
const gain = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)} pts`;

describe.skipIf(!existsSync(CHROMIUM))('dashboard in Chromium', () => {
  it('runs page lists both runs with their numbers and compares two', async () => {
    const { page, errors } = await open('/');
    const row = page.locator(`#runs-table tr[data-id="${FINISHED}"]`);
    await expect(row.textContent()).resolves.toContain(pct(best().valAccuracy));
    expect(await row.textContent()).toContain(pct(fx.ensembleTest));
    expect(await row.textContent()).toContain('7 / 8 (1 failed)');
    expect(await page.locator(`#runs-table tr[data-id="${LIVE}"]`).textContent()).toContain('running');
    await page.check(`input[data-run="${FINISHED}"]`);
    await page.check(`input[data-run="${LIVE}"]`);
    await done(page, errors, 'runs');

    const compare = await open(`/compare?a=${FINISHED}&b=${LIVE}`);
    const text = await compare.page.locator('main').textContent();
    expect(text).toContain('iris-evo vs iris-live');
    expect(text).toContain('population');
    await done(compare.page, compare.errors, 'compare');
  });

  it('run page shows the summary, charts, a filterable population and the worker timeline', async () => {
    const { page, errors } = await open(`/runs/${FINISHED}`);
    expect(await page.textContent('#best-val')).toBe(pct(best().valAccuracy));
    expect(await page.textContent('#best-test')).toBe(pct(best().testAccuracy));
    expect(await page.textContent('#models-done')).toBe('7 / 8');
    expect(await page.locator('#population-table tbody tr').count()).toBe(8);
    // Sorted by validation accuracy, best first.
    expect(await page.locator('#population-table tbody tr').first().getAttribute('data-id')).toBe(best().modelId);
    expect(await page.locator('#chart-over-time circle').count()).toBe(7);
    expect(await page.locator('#timeline rect.span').count()).toBe(7);
    await page.selectOption('select[data-filter="status"]', 'failed');
    expect(await page.locator('#population-table tbody tr').count()).toBe(1);
    await page.selectOption('select[data-filter="status"]', '');
    await page.fill('input[data-filter="brains"]', 'MHA');
    const withMha = [...fx.finished.map((m) => m.arch), fx.failedArch].filter((a) => a.brains.includes('MHA')).length;
    expect(withMha).toBeGreaterThan(0);
    expect(await page.locator('#population-table tbody tr').count()).toBe(withMha);
    await page.fill('input[data-filter="brains"]', '');
    await page.selectOption('#param-select', 'paramCount');
    expect(await page.locator('#chart-param circle').count()).toBe(7);
    await done(page, errors, 'run', true);
  });

  it('model page shows config, hive, learning curves and the confusion matrix', async () => {
    const m = fx.finished.find((x) => x.arch.gridRows === 2)!;
    const { page, errors } = await open(`/runs/${FINISHED}/models/${m.modelId}`);
    expect(await page.textContent('#val-acc')).toBe(pct(m.valAccuracy));
    expect(await page.locator('#hive g.brain').count()).toBe(4);
    expect(await page.locator('#hive g.brain').first().getAttribute('data-brain')).toBe(m.arch.brains[0]);
    const expected = [0, 1, 2].map(() => [0, 0, 0]);
    fx.testLabels.forEach((y, i) => expected[y]![m.testMask[i] ? y : (y + 1) % 3]!++);
    const cells = await page.locator('#confusion tbody td').allTextContents();
    expect(cells.map(Number)).toEqual(expected.flat());
    expect(await page.locator('#layers tbody tr').count()).toBe(5);
    await done(page, errors, 'model');

    const failed = await open(`/runs/${FINISHED}/models/${fx.failedModelId}`);
    expect(await failed.page.textContent('#confusion-missing')).toContain('has not finished');
    await done(failed.page, failed.errors, 'model-failed');
  });

  it('analysis page shows heatmap, clusters, pairs, ensembles with gain, and grafts one', async () => {
    const { page, errors } = await open(`/runs/${FINISHED}/analysis`);
    expect(await page.locator('#heatmap rect').count()).toBe(49);
    expect(await page.textContent('#models')).toBe('7');
    const row = page.locator(`#ensembles tr[data-id="${fx.ensembleId}"]`);
    expect(await row.locator('td.gain').textContent()).toBe(gain(fx.ensembleTest - best().testAccuracy));
    expect(await row.textContent()).toContain(pct(fx.ensembleTest));
    expect(await page.locator('#pairs tbody tr').count()).toBeGreaterThan(0);
    await page.click(`button[data-graft="${fx.ensembleId}"]`);
    await page.waitForSelector('#exports li');
    expect(await page.textContent('#graft-status')).toContain('grafted 3 models');
    await done(page, errors, 'analysis');
  });

  it("live run: new models appear on the open page without reloading", async () => {
    const { page, errors } = await open(`/runs/${LIVE}`);
    expect(await page.textContent('#live')).toContain('live');
    const startCount = Number((await page.textContent('#models-done'))!.split(' / ')[0]);
    const next = fx.addLiveModel(fx.writer, 3);
    await page.waitForFunction((n) => document.querySelector('#models-done')?.textContent === `${n} / 6`, startCount + 1, { timeout: 10_000 });
    await page.waitForSelector(`#population-table tr[data-id="${next.modelId}"]`);
    expect(await page.locator(`#population-table tr[data-id="${next.modelId}"]`).textContent()).toContain(pct(next.valAccuracy));
    await page.waitForFunction((id) => document.querySelector('#event-log')?.textContent?.includes(`${id} done`), next.modelId, { timeout: 10_000 });
    // The run finishes: the page says so and stops listening.
    fx.writer.finishRun(LIVE, {});
    await page.waitForFunction(() => document.querySelector('#live')?.textContent === 'run finished', undefined, { timeout: 10_000 });
    await done(page, errors, 'live');
  });
});
