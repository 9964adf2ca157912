import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command as exportCommand } from '../../src/cli/export.js';
import { decodeLoomModel } from '../../src/engine/io/loom-format.js';
import { storePlugin } from '../../src/dashboard/plugins/store.js';
import { checkExposure } from '../../src/dashboard/server.js';
import { Store } from '../../src/store/store.js';
import { buildFixture, FINISHED, fitnessParts, LIVE, type Fixture } from './fixture.js';
import { buildApp } from './helper.js';

let fx: Fixture;
let app: FastifyInstance;

beforeAll(async () => {
  fx = buildFixture();
  app = await buildApp({ dbPath: fx.dbPath, pollMs: 20 });
});

afterAll(async () => {
  await app?.close();
  fx?.writer.close();
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
});

const get = async (url: string) => app.inject({ method: 'GET', url });
const json = async (url: string) => {
  const res = await get(url);
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
  return res.json();
};
const best = () => [...fx.finished].sort((a, b) => b.valAccuracy - a.valAccuracy || a.modelId.localeCompare(b.modelId))[0]!;

describe('runs', () => {
  it('lists both runs, newest first, with counts and the best single model and ensemble', async () => {
    const { runs } = await json('/api/runs');
    expect(runs.map((r: { id: string }) => r.id)).toEqual([LIVE, FINISHED]);
    const done = runs[1];
    expect(done).toMatchObject({ status: 'finished', dataRef: 'iris', modelsTotal: 8, modelsDone: 7, modelsFailed: 1, generations: 2 });
    expect(done.bestModelId).toBe(best().modelId);
    expect(done.bestValAccuracy).toBeCloseTo(best().valAccuracy, 12);
    expect(done.bestTestAccuracy).toBeCloseTo(best().testAccuracy, 12);
    expect(done.bestEnsembleTestAccuracy).toBeCloseTo(fx.ensembleTest, 12);
    expect(runs[0]).toMatchObject({ status: 'running', modelsDone: 2, modelsPending: 4, bestEnsembleId: null });
  });

  it('gives a run with per-generation stats and workers', async () => {
    const body = await json(`/api/runs/${FINISHED}`);
    const gen0 = fx.finished.filter((m) => m.generation === 0);
    expect(body.generations).toHaveLength(2);
    expect(body.generations[0].size).toBe(4);
    expect(body.generations[0].done).toBe(4);
    expect(body.generations[1].done).toBe(3);
    expect(body.generations[0].bestValAccuracy).toBeCloseTo(Math.max(...gen0.map((m) => m.valAccuracy)), 12);
    expect(body.generations[0].meanValAccuracy).toBeCloseTo(gen0.reduce((a, m) => a + m.valAccuracy, 0) / 4, 12);
    const w0 = fx.finished.filter((m) => m.worker === 'w0');
    expect(body.workers.find((w: { worker: string }) => w.worker === 'w0')).toEqual({ worker: 'w0', models: w0.length, trainMs: w0.reduce((a, m) => a + m.trainMs, 0) });
    expect(body.config.name).toBe('iris-evo');
    expect(body.lastEventId).toBeGreaterThan(0);
  });

  it('compares two runs: config differences and test samples only one best model gets right', async () => {
    const body = await json(`/api/compare?a=${FINISHED}&b=${LIVE}`);
    expect(body.configDiff).toContainEqual({ key: 'name', a: '"iris-evo"', b: '"iris-live"' });
    expect(body.configDiff).toContainEqual({ key: 'population', a: '4', b: '6' });
    expect(body.a.run.id).toBe(FINISHED);
    expect(typeof body.onlyA).toBe('number');
  });

  it('compares samples only when the data checksum and split agree, and says why not; a dead coordinator shows stalled', async () => {
    const same = await json(`/api/compare?a=${FINISHED}&b=${LIVE}`);
    expect(same.masksNote).toBeNull();
    fx.addRun('run-other-split', 'other-split', { data: { ref: 'iris', splitSeed: 7 } });
    fx.addRun('run-other-data', 'other-data', { checksum: 'f'.repeat(64) });
    const split = await json(`/api/compare?a=${FINISHED}&b=run-other-split`);
    expect(split).toMatchObject({ onlyA: null, onlyB: null });
    expect(split.masksNote).toMatch(/split the data differently \(data\.splitSeed: 0 vs 7\)/);
    const data = await json(`/api/compare?a=${FINISHED}&b=run-other-data`);
    expect(data.masksNote).toMatch(/different data \(checksum/);
    // Created on the fixture's 2025 clock and never renewed: its coordinator is gone.
    const { runs } = await json('/api/runs');
    const byId = new Map(runs.map((r: { id: string; status: string }) => [r.id, r.status]));
    expect(byId.get('run-other-split')).toBe('stalled');
    // Its duration stops at the last heartbeat instead of growing with the clock.
    expect(runs.find((r: { id: string }) => r.id === 'run-other-split').durationMs).toBe(0);
    expect(byId.get(LIVE)).toBe('running');
    expect(byId.get(FINISHED)).toBe('finished');
  });

  it('rejects bad ids with 400 and unknown ones with 404', async () => {
    const bad = await get('/api/runs/..%2Fetc');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/runId/);
    expect((await get('/api/runs/run-nope')).statusCode).toBe(404);
    expect((await get('/api/runs/run-nope')).json().message).toBe('no run "run-nope" in this database');
    expect((await get(`/api/compare?a=${FINISHED}`)).statusCode).toBe(400);
    expect((await get(`/api/compare?a=${FINISHED}&b=zzz`)).statusCode).toBe(404);
    expect((await get('/api/nothing-here')).statusCode).toBe(404);
  });
});

describe('models', () => {
  it('lists the population as flat rows', async () => {
    const { models, latestUpdate } = await json(`/api/runs/${FINISHED}/models`);
    expect(models).toHaveLength(8);
    const m1 = fx.finished.find((m) => m.modelId === 'm1')!;
    const row = models.find((m: { modelId: string }) => m.modelId === 'm1');
    expect(row).toMatchObject({ status: 'done', species: m1.arch.species, combineMode: m1.arch.combineMode, dModel: m1.arch.dModel, worker: m1.worker, trainMs: m1.trainMs });
    expect(row.valAccuracy).toBeCloseTo(m1.valAccuracy, 12);
    expect(models.find((m: { modelId: string }) => m.modelId === fx.failedModelId).status).toBe('failed');
    expect(latestUpdate).toBeGreaterThan(0);
  });

  it('filters by status and generation, and returns only rows changed after updatedAfter', async () => {
    expect((await json(`/api/runs/${FINISHED}/models?status=failed`)).models).toHaveLength(1);
    expect((await json(`/api/runs/${FINISHED}/models?generation=1`)).models).toHaveLength(4);
    const { latestUpdate } = await json(`/api/runs/${FINISHED}/models`);
    expect((await json(`/api/runs/${FINISHED}/models?updatedAfter=${latestUpdate}`)).models).toHaveLength(0);
    expect((await get(`/api/runs/${FINISHED}/models?status=exploded`)).statusCode).toBe(400);
    expect((await get(`/api/runs/${FINISHED}/models?generation=-1`)).statusCode).toBe(400);
    expect((await get('/api/runs/run-nope/models')).statusCode).toBe(404);
  });

  it('shows a model: hive grid, layers, learning curve and the test confusion matrix from the rebuilt labels', async () => {
    const m = fx.finished.find((x) => x.arch.gridRows === 2)!;
    const body = await json(`/api/runs/${FINISHED}/models/${m.modelId}`);
    expect(body.hive.rows).toBe(2);
    expect(body.hive.cells.map((c: { brain: string }) => c.brain)).toEqual(m.arch.brains);
    expect(body.layers.map((l: { type: string }) => l.type)).toEqual(['dense', 'parallel', 'dense', 'flatten', 'dense']);
    expect(body.metrics).toHaveLength(3);
    expect(body.hasWeights).toBe(true);
    // Hand-built expectation: the fixture predicts the true class when the mask says right, else the next class.
    const expected = [0, 1, 2].map(() => [0, 0, 0]);
    fx.testLabels.forEach((y, i) => expected[y]![m.testMask[i] ? y : (y + 1) % 3]!++);
    expect(body.confusion.available).toBe(true);
    expect(body.confusion.matrix).toEqual(expected);
    expect(body.confusion.classNames).toEqual(fx.classNames);
  });

  it('says why a failed model has no confusion matrix, and 404s unknown models', async () => {
    const body = await json(`/api/runs/${FINISHED}/models/${fx.failedModelId}`);
    expect(body.confusion.available).toBe(false);
    expect(body.confusion.note).toMatch(/not finished/);
    expect(body.error).toBe('out of memory (synthetic)');
    const missing = await get(`/api/runs/${FINISHED}/models/m99`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().message).toBe(`no model "m99" in run "${FINISHED}"`);
    expect((await get(`/api/runs/${FINISHED}/models/bad%20id`)).statusCode).toBe(400);
  });
});

describe('progress', () => {
  it('pages through events after an id', async () => {
    const all = await json(`/api/runs/${FINISHED}/progress`);
    expect(all.events.length).toBeGreaterThan(3);
    expect(all.status).toBe('finished');
    expect(all.counts).toEqual({ pending: 0, running: 0, done: 7, failed: 1, pruned: 0, paused: 0 });
    const rest = await json(`/api/runs/${FINISHED}/progress?afterId=${all.events[1].id}`);
    expect(rest.events[0].id).toBe(all.events[2].id);
    expect((await get(`/api/runs/${FINISHED}/progress?afterId=abc`)).statusCode).toBe(400);
    expect((await get('/api/runs/run-nope/progress')).statusCode).toBe(404);
  });

  it('streams a finished run as server-sent events and ends', async () => {
    const res = await get(`/api/runs/${FINISHED}/events`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    expect(res.body).toMatch(/event: progress\ndata: \{"id":\d+/);
    expect(res.body).toMatch(/event: state\ndata: \{"status":"finished","counts":\{"pending":0,"running":0,"done":7,"failed":1,"pruned":0,"paused":0\}\}/);
    expect(res.body.trimEnd().endsWith('event: end\ndata: {"status":"finished"}')).toBe(true);
    const last = await json(`/api/runs/${FINISHED}/progress`);
    const resumed = await app.inject({ method: 'GET', url: `/api/runs/${FINISHED}/events`, headers: { 'last-event-id': String(last.lastId) } });
    expect(resumed.body).not.toMatch(/event: progress/);
    expect((await get('/api/runs/run-nope/events')).statusCode).toBe(404);
  });

  it('streams a live run as models finish', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/runs/${LIVE}/events`, payloadAsStream: true });
    const stream = res.stream();
    let text = '';
    const seen = new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('"modelId":"live-2"')) resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 50));
    fx.addLiveModel(fx.writer, 2);
    await seen;
    stream.destroy();
    expect(text).toMatch(/"kind":"model-done","payload":\{"kind":"model-done","modelId":"live-2"/);
  });
});

describe('analysis', () => {
  it('gives the correlation heatmap, clusters, pairs and ensembles with realized gain', async () => {
    const body = await json(`/api/runs/${FINISHED}/analysis`);
    expect(body.models).toBe(7);
    expect(body.samples).toBe(fx.valLabels.length);
    expect(body.heatmap.modelIds[0]).toBe(best().modelId);
    expect(body.heatmap.matrix).toHaveLength(7);
    expect(body.clusters.points).toHaveLength(7);
    expect(body.clusters.sizes.reduce((a: number, b: number) => a + b, 0)).toBe(7);
    // The best pair covers at least as many samples as either member alone.
    const p = body.pairs[0];
    expect(p.coverage).toBeGreaterThanOrEqual(Math.max(p.accuracyA, p.accuracyB));
    expect(body.ensembles).toHaveLength(1);
    expect(body.ensembles[0].testGain).toBeCloseTo(fx.ensembleTest - best().testAccuracy, 12);
    expect(body.stored.map((s: { kind: string }) => s.kind)).toEqual(['ensemble']);
    expect((await json(`/api/runs/${FINISHED}/analysis?top=3`)).heatmap.modelIds).toHaveLength(3);
    expect((await get(`/api/runs/${FINISHED}/analysis?top=1`)).statusCode).toBe(400);
    expect((await get('/api/runs/run-nope/analysis')).statusCode).toBe(404);
  });
});

describe('export', () => {
  it('downloads the population as CSV', async () => {
    const res = await get(`/api/runs/${FINISHED}/population.csv`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${FINISHED}-population.csv"`);
    const lines = res.body.trim().split('\n');
    expect(lines).toHaveLength(9);
    expect(lines[0]).toMatch(/^modelId,generation,status,species/);
    expect(lines.find((l) => l.startsWith('m1,'))).toContain(`,${fx.finished.find((m) => m.modelId === 'm1')!.valAccuracy},`);
    // Fitness is stored (setFitness) and exported, no longer always empty.
    const m1 = fx.finished.find((m) => m.modelId === 'm1')!;
    const header = lines[0]!.split(',');
    const row = lines.find((l) => l.startsWith('m1,'))!.split(',');
    expect(Number(row[header.indexOf('fitness')])).toBeCloseTo(fitnessParts(m1).accuracy + fitnessParts(m1).size, 12);
    // …and so are its parts, a column each right after it; the failed model has none (empty cells).
    expect(header.slice(header.indexOf('fitness'), header.indexOf('fitness') + 3)).toEqual(['fitness', 'fitness.accuracy', 'fitness.size']);
    for (const m of fx.finished) {
      const cells = lines.find((l) => l.startsWith(`${m.modelId},`))!.split(',');
      expect(Number(cells[header.indexOf('fitness.accuracy')]), m.modelId).toBeCloseTo(fitnessParts(m).accuracy, 12);
      expect(Number(cells[header.indexOf('fitness.size')]), m.modelId).toBeCloseTo(fitnessParts(m).size, 12);
    }
    const failed = lines.find((l) => l.startsWith(`${fx.failedModelId},`))!.split(',');
    expect([failed[header.indexOf('fitness.accuracy')], failed[header.indexOf('fitness.size')]]).toEqual(['', '']);
    expect(failed).toHaveLength(header.length);
    expect((await get('/api/runs/run-nope/population.csv')).statusCode).toBe(404);
  });

  it("downloads a model's stored file", async () => {
    const res = await get(`/api/runs/${FINISHED}/models/m1/weights`);
    expect(res.statusCode).toBe(200);
    expect(decodeLoomModel(res.rawPayload).modelId).toBe('m1');
    expect((await get(`/api/runs/${FINISHED}/models/${fx.failedModelId}/weights`)).statusCode).toBe(404);
  });

  it('grafts an ensemble on the fly into one model file with the members and weights', async () => {
    const res = await get(`/api/runs/${FINISHED}/ensembles/${fx.ensembleId}/model`);
    expect(res.statusCode).toBe(200);
    const file = decodeLoomModel(res.rawPayload);
    expect(file.metadata['weights']).toEqual([0.5, 0.25, 0.25]);
    expect(file.network.outputShape).toEqual([3]);
    expect((await get(`/api/runs/${FINISHED}/ensembles/99/model`)).statusCode).toBe(404);
    expect((await get(`/api/runs/${FINISHED}/ensembles/zero/model`)).statusCode).toBe(400);
  });

  it('grafts and records an export (the one write), then serves the file', async () => {
    const before = await json(`/api/runs/${FINISHED}/ensembles`);
    expect(before.exports).toEqual([]);
    const res = await app.inject({ method: 'POST', url: `/api/runs/${FINISHED}/ensembles/${fx.ensembleId}/graft`, payload: { dtype: 'float16' } });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.export).toMatchObject({ ensembleId: fx.ensembleId, fileName: `${FINISHED}-ensemble-${fx.ensembleId}.loom`, downloadable: true });
    expect(existsSync(`${fx.dir}/exports/${body.export.fileName}`)).toBe(true);
    const after = await json(`/api/runs/${FINISHED}/ensembles`);
    expect(after.exports).toHaveLength(1);
    const file = await get(`/api/runs/${FINISHED}/exports/${body.export.id}/file`);
    expect(file.statusCode).toBe(200);
    expect(decodeLoomModel(file.rawPayload).dtype).toBe('float16');
    expect((await get(`/api/runs/${FINISHED}/exports/77/file`)).statusCode).toBe(404);
    const bad = await app.inject({ method: 'POST', url: `/api/runs/${FINISHED}/ensembles/${fx.ensembleId}/graft`, payload: { dtype: 'float64' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/dtype/);
    expect((await app.inject({ method: 'POST', url: `/api/runs/${FINISHED}/ensembles/42/graft`, payload: {} })).statusCode).toBe(404);
  });

  it('serves the exports the CLI recorded (here by loom export), and nothing a row merely names', async () => {
    const exportsOf = async () => (await json(`/api/runs/${LIVE}/ensembles`)).exports as { id: number; fileName: string; downloadable: boolean; notServed?: string }[];
    // `loom export RUN:MODEL --out …` writes the file and records it in the exports table, as a user would run it.
    const out = join(fx.dir, 'cli', 'live-0.loom');
    mkdirSync(join(fx.dir, 'cli'));
    expect(await exportCommand.run([`${LIVE}:live-0`, '--out', out, '--db', fx.dbPath])).toBe(0);
    // A path recorded relative to where the CLI ran (here: the database's folder), and rows that must not be served:
    // a file that is not a model file name, a link planted under an export's name, a file gone, another run's export.
    writeFileSync(join(fx.dir, 'relative.loom'), readFileSync(out));
    writeFileSync(join(fx.dir, 'secret.txt'), 'not a model');
    symlinkSync(join(fx.dir, 'secret.txt'), join(fx.dir, 'cli', 'planted.loom'));
    fx.writer.addExport(LIVE, { path: 'relative.loom', format: 'loom' });
    fx.writer.addExport(LIVE, { path: `${fx.dir}/cli/../secret.txt`, format: 'loom' });
    fx.writer.addExport(LIVE, { path: join(fx.dir, 'cli', 'planted.loom'), format: 'loom' });
    fx.writer.addExport(LIVE, { path: join(fx.dir, 'gone.loom'), format: 'loom' });
    fx.writer.addExport(LIVE, { path: join(fx.dir, 'relative.loom'), format: 'not-a-format' });
    const other = fx.writer.addExport(FINISHED, { path: out, format: 'loom' });

    const listed = await exportsOf();
    expect(listed.map((x) => [x.fileName, x.downloadable])).toEqual([
      ['live-0.loom', true], ['relative.loom', true], ['secret.txt', false], ['planted.loom', false], ['gone.loom', false], ['relative.loom', false],
    ]);
    expect(listed.map((x) => x.notServed ?? '')).toEqual(['', '', 'the file name does not end in .loom', expect.stringMatching(/symbolic link/), 'the file is no longer there', expect.stringMatching(/not a model format/)]);
    const [exported, relative, secret, planted, gone] = listed as [(typeof listed)[number], (typeof listed)[number], (typeof listed)[number], (typeof listed)[number], (typeof listed)[number]];

    const file = await get(`/api/runs/${LIVE}/exports/${exported.id}/file`);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-disposition']).toBe('attachment; filename="live-0.loom"');
    expect(Buffer.compare(file.rawPayload, readFileSync(out))).toBe(0);
    expect(decodeLoomModel(file.rawPayload).metadata['runId']).toBe(LIVE);
    expect((await get(`/api/runs/${LIVE}/exports/${relative.id}/file`)).rawPayload.equals(readFileSync(out))).toBe(true);
    for (const refused of [secret, planted, gone]) {
      const res = await get(`/api/runs/${LIVE}/exports/${refused.id}/file`);
      expect(res.statusCode, refused.fileName).toBe(404);
      expect(res.body).not.toContain('not a model');
    }
    // An export is looked up under its own run only, and the id is an integer, never a path.
    expect((await get(`/api/runs/${LIVE}/exports/${other.id}/file`)).statusCode).toBe(404);
    expect((await get(`/api/runs/${FINISHED}/exports/${other.id}/file`)).statusCode).toBe(200);
    for (const bad of ['..%2F..%2Fsecret.txt', '1%2F..%2F..', '-1', '1.5']) expect((await get(`/api/runs/${LIVE}/exports/${bad}/file`)).statusCode, bad).toBe(400);
  });

  it('opens the database read-only (the store decorator), writing only through withWritableStore', async () => {
    const bare = Fastify();
    await bare.register(storePlugin, { dbPath: fx.dbPath });
    await bare.ready();
    try {
      expect(bare.store.readonly).toBe(true);
      expect(() => bare.store.appendEvent(FINISHED, 'x')).toThrow(/read-only/);
      expect(await bare.withWritableStore((s) => s.readonly)).toBe(false);
    } finally {
      await bare.close();
    }
  });
});

describe('genes and curves', () => {
  it('ranks gene importances over the finished models, reproducibly', async () => {
    const a = await json(`/api/runs/${FINISHED}/importance`);
    expect(a.models).toBe(7);
    expect(a.genes.length).toBeGreaterThan(1);
    expect(a.genes.reduce((t: number, g: { share: number }) => t + g.share, 0)).toBeCloseTo(1, 9);
    const shares = a.genes.map((g: { importance: number }) => g.importance);
    expect(shares).toEqual([...shares].sort((x, y) => y - x));
    expect(await json(`/api/runs/${FINISHED}/importance`)).toEqual(a);
  });

  it('gives several models\' curves at once (valLoss included when recorded), 404 for an unknown id', async () => {
    const [m1, m2] = fx.finished;
    const { curves } = await json(`/api/runs/${FINISHED}/curves?models=${m1!.modelId},${m2!.modelId}`);
    expect(curves.map((c: { modelId: string }) => c.modelId)).toEqual([m1!.modelId, m2!.modelId]);
    expect(curves[0].metrics.map((e: { trainLoss: number }) => e.trainLoss)).toEqual([1, 2, 3].map((e) => 1.2 / e));
    expect(curves[0].metrics.map((e: { valLoss: number }) => e.valLoss)).toEqual([1, 2, 3].map((e) => 1.3 / e));
    expect(curves[0].status).toBe('done');
    expect((await get(`/api/runs/${FINISHED}/curves?models=${m1!.modelId},nope`)).statusCode).toBe(404);
    expect((await get(`/api/runs/${FINISHED}/curves?models=a;b`)).statusCode).toBe(400);
  });

  it('serves ECharts from the installed package (works offline)', async () => {
    const res = await get('/vendor/echarts.min.js');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.body.length).toBeGreaterThan(500_000);
    expect((await get(`/runs/${FINISHED}`)).body).toContain('<script src="/vendor/echarts.min.js"></script>');
  });
});

describe('pages and security', () => {
  it('serves the pages and assets, 404s unknown ids and assets', async () => {
    for (const url of ['/', '/compare', `/runs/${FINISHED}`, `/runs/${FINISHED}/analysis`, `/runs/${FINISHED}/models/m1`, '/assets/common.js', '/assets/style.css']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
    }
    expect((await get('/')).headers['content-type']).toMatch(/text\/html/);
    expect((await get('/runs/run-nope')).statusCode).toBe(404);
    expect((await get('/runs/run-nope')).headers['content-type']).toMatch(/text\/html/);
    expect((await get('/runs/run-nope')).body).toContain('no run &#34;run-nope&#34; in this database');
    expect((await get('/api/runs/run-nope')).headers['content-type']).toMatch(/json/);
    expect((await get(`/runs/${FINISHED}/models/m99`)).statusCode).toBe(404);
    expect((await get('/assets/nope.js')).statusCode).toBe(404);
    expect((await get('/assets/runs.html')).statusCode).toBe(400);
    expect((await get('/assets/..%2F..%2Fstore%2Fstore.ts')).statusCode).toBe(400);
  });

  it('with a token, refuses requests without it and accepts header, query and the cookie it sets', async () => {
    const store = Store.open(fx.dbPath, { readonly: true });
    const secured = await buildApp({ dbPath: fx.dbPath, store, token: 's3cret' });
    try {
      expect((await secured.inject({ url: '/api/runs' })).statusCode).toBe(401);
      expect((await secured.inject({ url: '/api/runs', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
      expect((await secured.inject({ url: '/api/runs', headers: { authorization: 'Bearer s3cret' } })).statusCode).toBe(200);
      const page = await secured.inject({ url: '/?token=s3cret' });
      expect(page.statusCode).toBe(200);
      const cookie = String(page.headers['set-cookie']).split(';')[0]!;
      expect((await secured.inject({ url: '/assets/style.css', headers: { cookie } })).statusCode).toBe(200);
      expect((await secured.inject({ url: '/assets/style.css' })).statusCode).toBe(401);
    } finally {
      store.close();
      await secured.close();
    }
  });

  it('without a token answers only to loopback host names and --host (DNS rebinding), with a token to any', async () => {
    const host = (h: string, a: FastifyInstance = app) => a.inject({ url: '/api/runs', headers: { host: h } });
    for (const h of ['localhost', 'localhost:3000', '127.0.0.1:3000', '127.0.0.2', '[::1]:3000', 'LOCALHOST', 'app.localhost:3000']) {
      expect((await host(h)).statusCode, h).toBe(200);
    }
    for (const h of ['attacker.example', 'attacker.example:3000', '127.0.0.1.attacker.example', 'localhost.attacker.example', '192.168.1.5:3000']) {
      const res = await host(h);
      expect(res.statusCode, h).toBe(403);
      expect(res.json().message).toMatch(/not served/);
    }
    // Pages and assets too, not only the API.
    expect((await app.inject({ url: '/', headers: { host: 'attacker.example' } })).statusCode).toBe(403);
    const store = Store.open(fx.dbPath, { readonly: true });
    const lan = await buildApp({ dbPath: fx.dbPath, store, host: '10.0.0.7' });
    const secured = await buildApp({ dbPath: fx.dbPath, store, token: 't0k' });
    try {
      expect((await host('10.0.0.7:3000', lan)).statusCode).toBe(200);
      expect((await host('10.0.0.8:3000', lan)).statusCode).toBe(403);
      expect((await secured.inject({ url: '/api/runs', headers: { host: 'dash.example.org', authorization: 'Bearer t0k' } })).statusCode).toBe(200);
      expect((await secured.inject({ url: '/api/runs', headers: { host: 'dash.example.org' } })).statusCode).toBe(401);
    } finally {
      store.close();
      await lan.close();
      await secured.close();
    }
  });

  it('refuses state-changing requests from another origin, before doing anything', async () => {
    const graft = (headers: Record<string, string>) =>
      app.inject({ method: 'POST', url: `/api/runs/${FINISHED}/ensembles/${fx.ensembleId}/graft`, payload: {}, headers: { host: '127.0.0.1:3000', ...headers } });
    const before = (await json(`/api/runs/${FINISHED}/ensembles`)).exports.length;
    const refused: Record<string, string>[] = [{ origin: 'http://attacker.example' }, { origin: 'http://127.0.0.1:8080' }, { origin: 'null' }, { origin: 'not a url' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:3000' }];
    for (const headers of refused) {
      const res = await graft(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json().message).toMatch(/may not change anything/);
    }
    expect((await json(`/api/runs/${FINISHED}/ensembles`)).exports).toHaveLength(before);
    // The dashboard's own page (same origin), and a client that sends no Origin (curl), may.
    expect((await graft({ origin: 'http://127.0.0.1:3000', 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
    expect((await graft({})).statusCode).toBe(200);
    // Reads stay open to any origin header (the Host check guards them).
    expect((await app.inject({ url: '/api/runs', headers: { origin: 'http://attacker.example' } })).statusCode).toBe(200);
  });

  it('refuses to listen beyond loopback without a token', () => {
    expect(() => checkExposure('0.0.0.0', undefined)).toThrow(/--token/);
    expect(() => checkExposure('0.0.0.0', 't')).not.toThrow();
    expect(() => checkExposure('127.0.0.1', undefined)).not.toThrow();
  });
});
