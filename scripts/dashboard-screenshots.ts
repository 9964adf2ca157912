// Regenerates the dashboard screenshots in docs/ from the test fixture: `npx tsx scripts/dashboard-screenshots.ts` (needs /usr/bin/chromium).
import { rmSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { buildFixture, FINISHED, LIVE } from '../test/dashboard/fixture.js';
import { buildApp } from '../test/dashboard/helper.js';

const fx = buildFixture();
fx.addRun('run-20250116120000-cccc', 'iris-split7', { data: { ref: 'iris', splitSeed: 7 } });
const app = await buildApp({ dbPath: fx.dbPath });
const base = await app.listen({ host: '127.0.0.1', port: 0 });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const model = fx.finished.find((m) => m.generation === 1 && m.arch.gridRows === 2) ?? fx.finished[5]!;
const pages: [string, string][] = [
  ['runs', '/'], ['run', `/runs/${FINISHED}`], ['model', `/runs/${FINISHED}/models/${model.modelId}`],
  ['analysis', `/runs/${FINISHED}/analysis`], ['compare', `/compare?a=${FINISHED}&b=${LIVE}&run=run-20250116120000-cccc`],
];
for (const [name, path] of pages) {
  for (const [suffix, width] of [['', 1360], ['-phone', 390]] as const) {
    const page = await browser.newPage({ viewport: { width, height: width > 500 ? 900 : 844 }, deviceScaleFactor: 1 });
    await page.goto(base + path);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForTimeout(name === 'run' ? 1500 : 600);
    await page.screenshot({ path: `docs/dashboard-${name}${suffix}.png`, fullPage: true });
    await page.close();
  }
}
// The README's hero image: the run page as a desktop browser first shows it.
const hero = await browser.newPage({ viewport: { width: 1360, height: 900 } });
await hero.goto(`${base}/runs/${FINISHED}`);
await hero.waitForSelector('body[data-ready="true"]');
await hero.waitForTimeout(800);
await hero.screenshot({ path: 'docs/dashboard.png' });
await browser.close();
await app.close();
fx.writer.close();
rmSync(fx.dir, { recursive: true, force: true });
