import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadDataset, readRaw, splitTensors } from '../../src/data/index.js';
import { preprocessingFor } from '../../src/data/preprocessing.js';
import { evaluate } from '../../src/engine/eval.js';
import { encodeModel } from '../../src/engine/io/formats.js';
import { Network, sequentialNetworkSpec } from '../../src/engine/network.js';
import { Rng } from '../../src/engine/rng.js';
import { train } from '../../src/engine/train/index.js';
import { buildServeApp } from '../../src/serve/app.js';
import { checkExposure } from '../../src/serve/auth.js';
import { modelFromBytes, predictRows } from '../../src/serve/predictor.js';
import { startServe } from '../../src/serve/server.js';
import { MAX_ROWS } from '../../src/serve/schemas.js';

/** A small classifier trained on z-scored iris, saved with its preprocessing: served, it must take raw measurements. */
function trainedIris() {
  const data = loadDataset('iris', { splitSeed: 1 });
  const net = new Network(sequentialNetworkSpec([4], [{ type: 'dense', units: 16, activation: 'tanh' }, { type: 'dense', units: 3 }] as never), new Rng(2));
  net.modelId = 'iris-mlp';
  train(net, splitTensors(data, data.train), { epochs: 60, batchSize: 16, learningRate: 0.02, seed: 1 });
  const testAccuracy = evaluate(net, splitTensors(data, data.test)).accuracy;
  const bytes = encodeModel(net, 'loom', { preprocessing: preprocessingFor(data) });
  return { data, bytes, testAccuracy };
}

describe('loom serve', () => {
  let app: FastifyInstance;
  let secured: FastifyInstance;
  let iris: ReturnType<typeof trainedIris>;
  const raw = readRaw('iris');
  const rawRows = Array.from({ length: raw.count }, (_, i) => Array.from(raw.x.subarray(i * 4, (i + 1) * 4)));

  beforeAll(async () => {
    iris = trainedIris();
    const model = modelFromBytes(iris.bytes);
    app = await buildServeApp({ model, modelBytes: iris.bytes });
    secured = await buildServeApp({ model, modelBytes: iris.bytes, token: 's3cret' });
  });
  afterAll(async () => {
    await app.close();
    await secured.close();
  });

  const predict = (payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/predict', payload: payload as never, headers });

  it('GET /model describes inputs, classes and the blueprint', async () => {
    const res = await app.inject({ method: 'GET', url: '/model' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.modelId).toBe('iris-mlp');
    expect(body.inputSize).toBe(4);
    expect(body.features).toEqual(iris.data.columns?.features ?? []);
    expect(body.classes).toEqual([...iris.data.classNames]);
    expect(body.normalization).toBe('zscore');
    expect(body.preprocessingStored).toBe(true);
    expect(body.blueprint.layers.length).toBe(2);
  });

  it('POST /predict takes raw measurements, normalizes them and labels them as well as Loom does on z-scored data', async () => {
    const res = await predict({ rows: rawRows });
    expect(res.statusCode).toBe(200);
    const { predictions, modelId } = res.json() as { modelId: string; predictions: { label: string; index: number; probabilities: number[] }[] };
    expect(modelId).toBe('iris-mlp');
    expect(predictions).toHaveLength(raw.count);
    for (const p of predictions) {
      expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(p.label).toBe(iris.data.classNames[p.index]);
    }
    const accuracy = predictions.filter((p, i) => p.index === raw.y[i]).length / raw.count;
    expect(iris.testAccuracy).toBeGreaterThan(0.85);
    expect(accuracy).toBeGreaterThan(0.85);
    // The same answers as the library's predict on the same raw rows.
    expect(predictions.map((p) => p.label)).toEqual(predictRows(modelFromBytes(iris.bytes), rawRows).map((p) => p.label));
  });

  it('serves the model file and the demo page', async () => {
    const file = await app.inject({ method: 'GET', url: '/model/file' });
    expect(file.statusCode).toBe(200);
    expect(new Uint8Array(file.rawPayload)).toEqual(iris.bytes);
    const page = await app.inject({ method: 'GET', url: '/demo' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('/demo/loom.js');
    expect(page.body).toContain('"iris-mlp"');
  });

  describe('bad requests get a 400 naming the problem', () => {
    const cases: [string, unknown, RegExp][] = [
      ['no rows field', {}, /must have required property 'rows'/],
      ['rows not an array', { rows: 'abc' }, /rows must be array/],
      ['no rows', { rows: [] }, /rows must NOT have fewer than 1 items/],
      ['a short row', { rows: [[1, 2, 3, 4], [1, 2, 3]] }, /rows\/1 must NOT have fewer than 4 items/],
      ['a long row', { rows: [[1, 2, 3, 4, 5]] }, /rows\/0 must NOT have more than 4 items/],
      ['a string value', { rows: [[1, 'x', 3, 4]] }, /rows\/0\/1 must be number/],
      ['a null value', { rows: [[1, null, 3, 4]] }, /rows\/0\/1 must be number/],
      ['a nested row', { rows: [[[1, 2, 3, 4]]] }, /rows\/0 must NOT have fewer than 4 items/],
      ['an unknown field', { rows: [[1, 2, 3, 4]], extra: 1 }, /must NOT have additional properties/],
      ['too many rows', { rows: Array.from({ length: MAX_ROWS + 1 }, () => [1, 2, 3, 4]) }, new RegExp(`rows must NOT have more than ${MAX_ROWS} items`)],
      ['a value beyond float32 once normalized', { rows: [[1e39, 2, 3, 4]] }, /beyond float32/],
      ['a body that is an array', [[1, 2, 3, 4]], /body must be object/],
    ];
    for (const [name, payload, message] of cases) {
      it(name, async () => {
        const res = await predict(payload);
        expect(res.statusCode).toBe(400);
        expect(res.json().message).toMatch(message);
      });
    }

    it('invalid JSON', async () => {
      const res = await predict('{"rows": [[1, 2', { 'content-type': 'application/json' });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(/JSON/i);
    });

    it('no body at all', async () => {
      const res = await app.inject({ method: 'POST', url: '/predict' });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(/body must be object/);
    });

    it('a wrong content type gets 415', async () => {
      const res = await predict('1,2,3,4', { 'content-type': 'text/csv' });
      expect(res.statusCode).toBe(415);
    });

    it('an unknown route gets 404 naming it', async () => {
      const res = await app.inject({ method: 'GET', url: '/nope' });
      expect(res.statusCode).toBe(404);
      expect(res.json().message).toBe('no route GET /nope');
    });
  });

  describe('token', () => {
    it('refuses requests without the token and accepts each way of presenting it', async () => {
      expect((await secured.inject({ method: 'GET', url: '/model' })).statusCode).toBe(401);
      expect((await secured.inject({ method: 'GET', url: '/model', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
      expect((await secured.inject({ method: 'GET', url: '/model', headers: { authorization: 'Bearer s3cret' } })).statusCode).toBe(200);
      expect((await secured.inject({ method: 'POST', url: '/predict', payload: { rows: [rawRows[0]] }, headers: { 'x-loom-token': 's3cret' } })).statusCode).toBe(200);
      const page = await secured.inject({ method: 'GET', url: '/demo?token=s3cret' });
      expect(page.statusCode).toBe(200);
      const cookie = String(page.headers['set-cookie']).split(';')[0] as string;
      expect((await secured.inject({ method: 'GET', url: '/model/file', headers: { cookie } })).statusCode).toBe(200);
    });

    it('a server beyond loopback needs a token', () => {
      expect(() => checkExposure('0.0.0.0', undefined)).toThrow(/pass --token/);
      expect(() => checkExposure('0.0.0.0', 't')).not.toThrow();
      expect(() => checkExposure('127.0.0.1', undefined)).not.toThrow();
    });
  });

  it('startServe loads the file and listens on loopback', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-serve-'));
    const file = join(dir, 'iris.loom');
    writeFileSync(file, iris.bytes);
    const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
    const { server, url } = await startServe({ modelPath: file, port: 0 });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: [[5.1, 3.5, 1.4, 0.2]] }) });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { predictions: { label: string }[] }).predictions[0]?.label).toBe('setosa');
    } finally {
      await server.close();
      // Only the shutdown handlers startServe added, not the test runner's.
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        for (const l of process.listeners(signal)) if (!before[signal].includes(l)) process.off(signal, l);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('CLI', () => {
    it('--help describes the endpoints; missing --model is a usage error', async () => {
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      const err = vi.spyOn(console, 'error').mockImplementation(() => {});
      try {
        expect(await main(['serve', '--help'])).toBe(0);
        expect(String(log.mock.calls[0]?.[0])).toMatch(/POST \/predict/);
        expect(await main(['serve'])).toBe(2);
        expect(String(err.mock.calls[0]?.[0])).toMatch(/needs --model FILE/);
        expect(await main(['serve', '--model', 'x.loom', '--host', '0.0.0.0'])).toBe(2);
        expect(String(err.mock.calls[1]?.[0])).toMatch(/pass --token/);
      } finally {
        log.mockRestore();
        err.mockRestore();
      }
    });
  });
});
