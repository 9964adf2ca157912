import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command as exportCommand } from '../../src/cli/export.js';
import { Store } from '../../src/store/store.js';
import { buildFixture, FINISHED, fitnessParts, LIVE, pct, type Fixture } from './fixture.js';
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
async function open(path: string, width = 1360): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
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

/** The labels drawn on a chart with where they sit: the centre's y (a row: x-axis ticks, a legend) and the right edge (a column: y-axis ticks). */
async function chartLabels(page: Page, chart: string): Promise<{ text: string; cy: number; right: number }[]> {
  return page.locator(`${chart} svg text`).evaluateAll((ts) => ts.map((t) => {
    const r = t.getBoundingClientRect();
    return { text: (t.textContent ?? '').trim(), cy: Math.round(r.top + r.height / 2), right: Math.round(r.right) };
  }).filter((l) => l.text !== ''));
}

/** No label repeats on one axis or legend: the labels in each row and in each column of a chart are unique ("93%, 93%, 92%" fails). */
async function expectUniqueTicks(page: Page, chart: string): Promise<void> {
  const labels = await chartLabels(page, chart);
  expect(labels.length, chart).toBeGreaterThan(4);
  const groups = new Map<string, string[]>();
  for (const l of labels) for (const key of [`row ${l.cy}`, `column ${l.right}`]) groups.set(key, [...(groups.get(key) ?? []), l.text]);
  for (const [key, texts] of groups) expect(new Set(texts).size, `${chart} ${key}: ${texts.join(', ')}`).toBe(texts.length);
}

/** The x-axis tick labels: the numeric labels on the lowest row that has any. */
async function xTicks(page: Page, chart: string): Promise<string[]> {
  const numeric = (await chartLabels(page, chart)).filter((l) => /^-?[\d.]+$/.test(l.text));
  const bottom = Math.max(...numeric.map((l) => l.cy));
  return numeric.filter((l) => Math.abs(l.cy - bottom) <= 2).map((l) => l.text);
}

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
    expect(await page.getAttribute('#chart-over-time', 'data-points')).toBe('7');
    expect(await page.getAttribute('#chart-over-time', 'data-best')).toBe(pct(best().valAccuracy));
    // The worker timeline (ECharts): a bar per finished model on its worker's row, a legend naming the generations.
    expect(await page.getAttribute('#timeline', 'data-spans')).toBe('7');
    expect(await page.getAttribute('#timeline', 'data-workers')).toBe('w0,w1');
    expect(await page.locator('#timeline svg text').allTextContents()).toEqual(expect.arrayContaining(['w0', 'w1', 'gen 0', 'gen 1']));
    expect(await page.textContent('#timeline [data-busy]')).toMatch(/^w0: \d+% busy · w1: \d+% busy$/);
    // The history plot's best-so-far line; parallel coordinates, slice plots and importances drawn by ECharts.
    expect(await page.locator('#chart-over-time svg text', { hasText: 'best so far' }).count()).toBe(1);
    expect(await page.getAttribute('#parallel', 'data-models')).toBe('7');
    expect(await page.locator('#parallel svg').count()).toBe(1);
    expect(await page.locator('#parallel svg text', { hasText: 'species' }).count()).toBeGreaterThan(0);
    expect(await page.locator('#slices > div').count()).toBe(8);
    expect(await page.locator('#slices svg').count()).toBe(8);
    expect(await page.getAttribute('#slices [data-gene="dModel"]', 'data-points')).toBe('7');
    await page.waitForSelector('#importance[data-genes]');
    expect((await page.getAttribute('#importance', 'data-genes'))!.split(',').length).toBeGreaterThan(1);
    expect(await page.textContent('#importance-note')).toContain('random forest');
    await page.selectOption('select[data-filter="status"]', 'failed');
    expect(await page.locator('#population-table tbody tr').count()).toBe(1);
    await page.selectOption('select[data-filter="status"]', '');
    await page.fill('input[data-filter="brains"]', 'MHA');
    const withMha = [...fx.finished.map((m) => m.arch), fx.failedArch].filter((a) => a.brains.includes('MHA')).length;
    expect(withMha).toBeGreaterThan(0);
    expect(await page.locator('#population-table tbody tr').count()).toBe(withMha);
    await page.fill('input[data-filter="brains"]', '');
    await page.selectOption('#param-select', 'paramCount');
    await page.waitForSelector('#chart-param[data-param="paramCount"]');
    expect(await page.getAttribute('#chart-param', 'data-points')).toBe('7');
    // The parameter chart's legend names the generations its points are coloured by.
    expect(await page.locator('#chart-param svg text').allTextContents()).toEqual(expect.arrayContaining(['gen 0', 'gen 1']));
    // No tick label repeats on any axis of any chart (no "93%, 93%, 92%").
    for (const chart of ['#chart-over-time', '#chart-per-generation', '#chart-param', '#timeline']) await expectUniqueTicks(page, chart);
    expect(await xTicks(page, '#chart-per-generation')).toEqual(['0', '1']);
    // Parameter counts never print as "1e+4".
    expect((await chartLabels(page, '#chart-param')).map((l) => l.text).join(' ')).not.toMatch(/e\+/);
    // An integer gene gets integer ticks only.
    await page.selectOption('#param-select', 'dModel');
    await page.waitForSelector('#chart-param[data-param="dModel"]');
    const dModelTicks = await xTicks(page, '#chart-param');
    expect(dModelTicks.length).toBeGreaterThan(1);
    for (const t of dModelTicks) expect(Number.isInteger(Number(t)), dModelTicks.join(', ')).toBe(true);
    await expectUniqueTicks(page, '#chart-param');
    // The charts fill their panel and follow it when it changes width.
    const widthOf = (sel: string) => page.locator(`${sel} svg`).first().evaluate((e) => e.getBoundingClientRect().width);
    const panelOf = (sel: string) => page.locator(sel).evaluate((e) => e.getBoundingClientRect().width);
    for (const chart of ['#chart-param', '#timeline']) expect(Math.abs((await widthOf(chart)) - (await panelOf(chart))), chart).toBeLessThan(2);
    await page.setViewportSize({ width: 900, height: 900 });
    await page.waitForFunction(() => {
      const svg = document.querySelector('#chart-param svg');
      return svg !== null && Math.abs(svg.getBoundingClientRect().width - document.querySelector('#chart-param')!.getBoundingClientRect().width) < 2;
    });
    expect(await widthOf('#chart-param')).toBeLessThan(900);
    await page.setViewportSize({ width: 1360, height: 900 });
    // Model ids sort naturally (g0-2 before g0-10), not as text.
    expect(await page.evaluate("['g0-10', 'g0-2', 'g1-1', 'g0-1'].sort(naturalCompare)")).toEqual(['g0-1', 'g0-2', 'g0-10', 'g1-1']);
    await page.click('#population-table th[data-key="modelId"]');
    const ids = await page.locator('#population-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id') ?? ''));
    expect(ids).toEqual([...ids].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })));
    expect(page.url()).toContain('sort=modelId');
    // Run metadata.
    expect(await page.textContent('[data-meta="Seed"]')).toBe('11');
    expect(await page.textContent('[data-meta="Code version"]')).toBe('test');
    expect((await page.textContent('[data-meta="Data checksum"]'))!.length).toBeGreaterThan(10);
    expect(await page.textContent('#run-config')).toContain('"population": 4');
    // Learning curves: the three best overlaid by default; a metric, log scale and one more model picked.
    await page.waitForSelector('#curves[data-series="3"]');
    await page.selectOption('select[data-curves="metric"]', 'valAccuracy');
    expect(await page.getAttribute('#curves', 'data-metric')).toBe('valAccuracy');
    await page.check('input[data-curves="log"]');
    await page.fill('input[data-curves="smooth"]', '0.5');
    await page.check(`input[data-pick="${fx.finished.find((m) => m.valAccuracy < best().valAccuracy - 0.1)!.modelId}"]`);
    await page.waitForSelector('#curves[data-series="4"]');
    expect(await page.locator('#curves svg path').count()).toBeGreaterThan(4);
    await done(page, errors, 'run', true);

    // The URL carries filters, sort and the selected gene: a link reproduces the view and Back undoes a change.
    const linked = await open(`/runs/${FINISHED}?status=done&brains=MHA&sort=valAccuracy&dir=asc&param=learningRate`);
    const mhaDone = fx.finished.filter((m) => m.arch.brains.includes('MHA'));
    expect(await linked.page.locator('#population-table tbody tr').count()).toBe(mhaDone.length);
    expect(await linked.page.inputValue('input[data-filter="brains"]')).toBe('MHA');
    expect(await linked.page.inputValue('select[data-filter="status"]')).toBe('done');
    expect(await linked.page.inputValue('#param-select')).toBe('learningRate');
    const worst = [...mhaDone].sort((a, b) => a.valAccuracy - b.valAccuracy)[0]!;
    expect(await linked.page.locator('#population-table tbody tr').first().getAttribute('data-id')).toBe(worst.modelId);
    await linked.page.selectOption('select[data-filter="status"]', 'failed');
    expect(linked.page.url()).toContain('status=failed');
    await linked.page.goBack();
    await linked.page.waitForFunction(() => (document.querySelector('select[data-filter="status"]') as HTMLSelectElement | null)?.value === 'done');
    expect(await linked.page.locator('#population-table tbody tr').count()).toBe(mhaDone.length);
    await done(linked.page, linked.errors, 'run-linked');
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
    // Learning curves (ECharts): loss and accuracy, each with a legend, epochs 1-3 as integer ticks, no label twice.
    expect(await page.getAttribute('#curve-loss', 'data-series')).toBe('2');
    expect(await page.getAttribute('#curve-accuracy', 'data-series')).toBe('2');
    for (const [chart, legend] of [['#curve-loss', ['train loss', 'val loss']], ['#curve-accuracy', ['val accuracy', 'train accuracy']]] as const) {
      expect((await chartLabels(page, chart)).map((l) => l.text)).toEqual(expect.arrayContaining([...legend, 'epoch']));
      await expectUniqueTicks(page, chart);
      expect(await xTicks(page, chart), chart).toEqual(['1', '2', '3']);
    }
    await done(page, errors, 'model');

    // A bred model: its parents are links, its fitness and the parts it was made of are shown.
    const child = fx.finished.find((x) => x.generation === 1)!;
    const bred = await open(`/runs/${FINISHED}/models/${child.modelId}`);
    const parents = bred.page.locator('#config a[href*="/models/"]');
    expect(await parents.count()).toBe(2);
    expect(await parents.first().getAttribute('href')).toBe(`/runs/${FINISHED}/models/${fx.finished[0]!.modelId}`);
    const parts = fitnessParts(child);
    expect(await bred.page.textContent('#fitness')).toBe((parts.accuracy + parts.size).toPrecision(4));
    expect(await bred.page.textContent('[data-part="size"]')).toBe(parts.size.toPrecision(4));
    await parents.first().click();
    await bred.page.waitForURL(`**/models/${fx.finished[0]!.modelId}`);
    await done(bred.page, bred.errors, 'model-bred');

    const failed = await open(`/runs/${FINISHED}/models/${fx.failedModelId}`);
    expect(await failed.page.textContent('#confusion-missing')).toContain('has not finished');
    await done(failed.page, failed.errors, 'model-failed');

    // Unknown ids: a page that says so, with navigation back (and status 404), not raw JSON.
    const lost = await browser.newPage();
    const res = await lost.goto(`${base}/runs/${FINISHED}/models/m-nope`);
    expect(res?.status()).toBe(404);
    expect(await lost.textContent('#not-found')).toContain('no model "m-nope"');
    expect(await lost.locator(`header a[href="/runs/${FINISHED}"]`).count()).toBe(1);
    await lost.goto(`${base}/runs/run-nope/analysis`);
    expect(await lost.textContent('#not-found')).toContain('no run "run-nope"');
    expect(await lost.locator('header a[href="/"]').count()).toBeGreaterThan(0);
    await lost.close();
  });

  it('compare refuses sample-level claims across different splits; a run whose coordinator died shows stalled', async () => {
    fx.addRun('run-20250116-split7', 'iris-split7', { data: { ref: 'iris', splitSeed: 7 } });
    const compare = await open(`/compare?a=${FINISHED}&b=run-20250116-split7`);
    const overlap = await compare.page.textContent('#overlap');
    expect(overlap).toContain('not compared sample by sample');
    expect(overlap).toContain('data.splitSeed: 0 vs 7');
    expect(overlap).not.toMatch(/right where/);
    await done(compare.page, compare.errors, 'compare-split');

    // Three runs at once: a column each with id and seed, and the best models' curves of the two with models.
    const three = await open(`/compare?a=${FINISHED}&b=${LIVE}&run=run-20250116-split7`);
    expect(await three.page.locator('#compare-table thead th').count()).toBe(4);
    const ids = await three.page.locator('#compare-table tbody tr', { hasText: 'Run id' }).textContent();
    expect(ids).toContain(FINISHED);
    expect(ids).toContain('run-20250116-split7');
    expect(await three.page.locator('#compare-table tbody tr', { hasText: 'Seed' }).textContent()).toContain('13');
    await three.page.waitForSelector('#run-curves[data-series="2"]');
    expect(await three.page.getAttribute('#compare-generations', 'data-series')).toBe('3');
    expect(await three.page.locator('#compare-generations svg text', { hasText: 'iris-split7 (seed 13)' }).count()).toBe(1);
    expect(await three.page.textContent('#config-diff')).toContain('data.splitSeed');
    await done(three.page, three.errors, 'compare-three');

    const runs = await open('/');
    expect(await runs.page.locator('#runs-table tr[data-id="run-20250116-split7"] .status').textContent()).toBe('stalled');
    expect(await runs.page.locator(`#runs-table tr[data-id="${LIVE}"] .status`).textContent()).toBe('running');
    // Times say their zone.
    expect(await runs.page.locator(`#runs-table tr[data-id="${FINISHED}"]`).textContent()).toContain('2025-01-15 09:00:00 UTC');
    await runs.page.close();
    // A pruned model (stopped early by the search): its status, its partial curve dashed, a note on its page.
    fx.writer.addModels('run-20250116-split7', [{ modelId: 'p0', generation: 0, arch: { ...fx.failedArch, id: 'p0' } }]);
    fx.writer.markModelRunning('run-20250116-split7', 'p0', 'w0');
    fx.writer.markModelPruned('run-20250116-split7', 'p0', { metrics: [{ epoch: 1, loss: 1.1, accuracy: 0.5, valAccuracy: 0.55, lr: 0.01, ms: 10 }], valAccuracy: 0.55 });
    const pruned = await open('/runs/run-20250116-split7/models/p0');
    expect(await pruned.page.textContent('h1 .status')).toBe('pruned');
    expect(await pruned.page.textContent('#pruned-note')).toContain('stopped this model early');
    await done(pruned.page, pruned.errors, 'model-pruned');
    const stalled = await open('/runs/run-20250116-split7');
    await stalled.page.waitForSelector('#curves[data-series="1"]');
    expect(await stalled.page.locator('#curves svg text', { hasText: 'p0 (pruned)' }).count()).toBe(1);
    expect(await stalled.page.locator('#curves svg path[stroke-dasharray]').count()).toBeGreaterThan(0);
    expect(await stalled.page.locator('#population-table tr[data-id="p0"] .status').textContent()).toBe('pruned');
    expect(await stalled.page.textContent('#live')).toContain('stalled');
    expect(await stalled.page.textContent('#live')).toContain('loom search --resume run-20250116-split7');
    expect(await stalled.page.locator('h1 .status').textContent()).toBe('stalled');
    await done(stalled.page, stalled.errors, 'run-stalled');
  });

  it('analysis page shows heatmap, clusters, pairs, ensembles with gain, and grafts one', async () => {
    const { page, errors } = await open(`/runs/${FINISHED}/analysis`);
    // The correlation heatmap and the clusters (ECharts): a cell per pair of the 7 models, a point per model.
    expect(await page.getAttribute('#heatmap', 'data-cells')).toBe('49');
    expect(await page.getAttribute('#clusters', 'data-points')).toBe('7');
    const clusterLegend = (await page.locator('#clusters svg text').allTextContents()).filter((t) => /^cluster \d+ \(\d+\)$/.test(t));
    expect(clusterLegend.length).toBeGreaterThan(0);
    expect(clusterLegend.reduce((n, t) => n + Number(/\((\d+)\)/.exec(t)![1]), 0)).toBe(7);
    expect(await page.textContent('#models')).toBe('7');
    const row = page.locator(`#ensembles tr[data-id="${fx.ensembleId}"]`);
    expect(await row.locator('td.gain').textContent()).toBe(gain(fx.ensembleTest - best().testAccuracy));
    expect(await row.textContent()).toContain(pct(fx.ensembleTest));
    expect(await page.locator('#pairs tbody tr').count()).toBeGreaterThan(0);
    await page.click(`button[data-graft="${fx.ensembleId}"]`);
    await page.waitForSelector('#exports li');
    expect(await page.textContent('#graft-status')).toContain('grafted 3 models');
    expect(await page.locator('#exports li a').first().getAttribute('href')).toMatch(/\/exports\/\d+\/file$/);
    // The colour scale's middle (correlation 0) is not white: a 0 cell and the scale stand out from the white panel.
    const stops = await page.locator('#heatmap svg linearGradient stop').evaluateAll((ss) => ss.map((x) => x.getAttribute('stop-color') ?? ''));
    expect(stops.length).toBeGreaterThan(1);
    const rgb = (c: string) => (c.startsWith('#') ? [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) : (c.match(/\d+/g) ?? []).slice(0, 3).map(Number));
    for (const c of stops) expect(Math.min(...rgb(c)), `stop ${c}`).toBeLessThan(240);
    await done(page, errors, 'analysis');

    // Exports the CLI wrote (`loom export`) are links too, on the analysis and the run page, and download the file.
    const cliOut = join(fx.dir, 'cli-export', 'best.loom');
    expect(await exportCommand.run([`${FINISHED}:${best().modelId}`, '--out', cliOut, '--db', fx.dbPath])).toBe(0);
    const run = await open(`/runs/${FINISHED}`);
    await run.page.waitForSelector('#run-exports li a[href*="/exports/"]');
    const links = run.page.locator('#run-exports li a[href*="/exports/"]');
    expect(await links.allTextContents()).toEqual([`${FINISHED}-ensemble-${fx.ensembleId}.loom`, 'best.loom']);
    const download = await run.page.request.get(base + (await links.nth(1).getAttribute('href'))!);
    expect(download.status()).toBe(200);
    expect(Buffer.compare(await download.body(), readFileSync(cliOut))).toBe(0);
    await run.page.close();

    // ?k= and ?top= are honoured and shown in the controls, which change them.
    const tuned = await open(`/runs/${FINISHED}/analysis?k=2&top=5`);
    expect(await tuned.page.getAttribute('#heatmap', 'data-cells')).toBe('25');
    expect(await tuned.page.inputValue('#k-input')).toBe('2');
    expect(await tuned.page.inputValue('#top-input')).toBe('5');
    expect(await tuned.page.textContent('main')).toContain('k = 2');
    await tuned.page.fill('#k-input', '3');
    await tuned.page.click('#analysis-controls button');
    await tuned.page.waitForURL(/k=3/);
    await tuned.page.waitForSelector('body[data-ready="true"]');
    expect(await tuned.page.textContent('main')).toContain('k = 3');
    await done(tuned.page, tuned.errors, 'analysis-k');
  });

  it('every page fits a 390 px wide phone screen without horizontal scrolling', async () => {
    const model = fx.finished.find((x) => x.arch.gridRows === 2)!;
    for (const [name, path] of [['runs', '/'], ['run', `/runs/${FINISHED}`], ['model', `/runs/${FINISHED}/models/${model.modelId}`], ['analysis', `/runs/${FINISHED}/analysis`], ['compare', `/compare?a=${FINISHED}&b=${LIVE}`]] as const) {
      const { page, errors } = await open(path, 390);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(width, `${name} is ${width} px wide`).toBeLessThanOrEqual(390);
      await done(page, errors, `${name}-phone`, true);
    }
  });

  it("live run: new models appear on the open page without reloading", async () => {
    const { page, errors } = await open(`/runs/${LIVE}`);
    expect(await page.textContent('#live')).toContain('live');
    const startCount = Number((await page.textContent('#models-done'))!.split(' / ')[0]);
    // Typing into the population filter while events arrive: the text and the focus survive the refresh.
    await page.click('input[data-filter="brains"]');
    await page.keyboard.type('n');
    const next = fx.addLiveModel(fx.writer, 3);
    await page.waitForFunction((n) => document.querySelector('#models-done')?.textContent === `${n} / 6`, startCount + 1, { timeout: 10_000 });
    await page.keyboard.type('s');
    expect(await page.inputValue('input[data-filter="brains"]')).toBe('ns');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-filter'))).toBe('brains');
    await page.fill('input[data-filter="brains"]', '');
    // A model in training shows its epoch and loss in the table as progress events arrive.
    const training = fx.liveModelIds[4]!;
    fx.clock.now += 50;
    fx.writer.markModelRunning(LIVE, training, 'w1');
    fx.writer.appendEvent(LIVE, 'model-progress', { kind: 'model-progress', progress: { modelId: training, epoch: 2, epochs: 3, loss: 0.4321 } });
    await page.waitForSelector(`[data-progress="${training}"]`, { timeout: 10_000 });
    expect(await page.textContent(`[data-progress="${training}"]`)).toBe(' epoch 2/3 · loss 0.432');
    await page.waitForSelector(`#population-table tr[data-id="${next.modelId}"]`);
    expect(await page.locator(`#population-table tr[data-id="${next.modelId}"]`).textContent()).toContain(pct(next.valAccuracy));
    await page.waitForFunction((id) => document.querySelector('#event-log')?.textContent?.includes(`${id} done`), next.modelId, { timeout: 10_000 });
    // The run finishes: the page says so and stops listening.
    fx.writer.finishRun(LIVE, {});
    await page.waitForFunction(() => document.querySelector('#live')?.textContent === 'run finished', undefined, { timeout: 10_000 });
    await done(page, errors, 'live');
  });

  // After the live run has finished: with no run live when the page opens, the list still notices new ones.
  it('runs list updates live: a run started and then finished while the page is open shows up without reloading', async () => {
    const { page, errors } = await open('/');
    const rows = await page.locator('#runs-table tbody tr').count();
    expect(await page.locator('#runs-table .status', { hasText: /^running$/ }).count()).toBe(0);
    await page.check(`input[data-run="${FINISHED}"]`);
    // A new run whose coordinator holds its lease (on the real clock, as a live search does): listed as running.
    const id = 'run-20250118090000-dddd';
    fx.addRun(id, 'iris-late');
    const coordinator = Store.open(fx.dbPath);
    try {
      coordinator.acquireRunLease(id, 'test-coordinator', 60_000);
      await page.waitForSelector(`#runs-table tr[data-id="${id}"]`, { timeout: 15_000 });
      expect(await page.locator(`#runs-table tr[data-id="${id}"] .status`).textContent()).toBe('running');
      expect(await page.locator('#runs-table tbody tr').count()).toBe(rows + 1);
      // It finishes: the row says so on the next poll; the ticked run stays ticked.
      coordinator.finishRun(id, {});
      await page.waitForFunction((rid) => document.querySelector(`#runs-table tr[data-id="${rid}"] .status`)?.textContent === 'finished', id, { timeout: 10_000 });
      expect(await page.isChecked(`input[data-run="${FINISHED}"]`)).toBe(true);
    } finally {
      coordinator.close();
    }
    await done(page, errors, 'runs-live');
  });
});
