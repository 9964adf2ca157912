import type { FastifyInstance } from 'fastify';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { buildFixture, FINISHED, type Fixture } from '../dashboard/fixture.js';
import { buildApp } from '../dashboard/helper.js';
import { changedFiles, snapshot } from './harness.js';

/**
 * Hostile HTTP requests to the dashboard through Fastify's inject(): malformed ids, out-of-range queries, path
 * traversal, bad graft bodies, wrong methods, missing tokens. Each must get a 4xx with a message, no stack trace,
 * in bounded time, and leave the database and the exports folder as they were.
 */
interface HttpCase {
  readonly name: string;
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  readonly url: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  /** The app with a token (for the 401 cases). */
  readonly tokened?: boolean;
  /** The message (JSON replies) must match; HTML and asset 404s only need the status. */
  readonly expect?: RegExp;
  readonly status?: number;
}

const R = FINISHED;
const long = 'x'.repeat(5000);
let ensembleId = 1;

function httpCases(): HttpCase[] {
  const get = (name: string, url: string, expect?: RegExp, status?: number): HttpCase => ({ name, url, ...(expect ? { expect } : {}), ...(status ? { status } : {}) });
  const post = (name: string, url: string, body: string, expect?: RegExp, headers: Record<string, string> = { 'content-type': 'application/json' }): HttpCase => ({
    name,
    method: 'POST',
    url,
    body,
    headers,
    ...(expect ? { expect } : {}),
  });
  const e = `/api/runs/${R}/ensembles/${ensembleId}`;
  return [
    get('unknown run', '/api/runs/nope', /no run "nope"/, 404),
    get('run id with a NUL', '/api/runs/%00', /runId|must match/),
    get('run id of 5000 characters', `/api/runs/${long}`),
    get('run id with a slash (encoded)', '/api/runs/a%2Fb'),
    get('run id with spaces', '/api/runs/a%20b', /runId/),
    get('unknown model', `/api/runs/${R}/models/nope`, /no model "nope"/, 404),
    get('models ?status=zzz', `/api/runs/${R}/models?status=zzz`, /status/),
    get('models ?generation=-1', `/api/runs/${R}/models?generation=-1`, /generation/),
    get('models ?generation=abc', `/api/runs/${R}/models?generation=abc`, /generation/),
    get('models ?updatedAfter=abc', `/api/runs/${R}/models?updatedAfter=abc`, /updatedAfter/),
    get('models ?updatedAfter=-5', `/api/runs/${R}/models?updatedAfter=-5`, /updatedAfter/),
    get('progress ?afterId=-1', `/api/runs/${R}/progress?afterId=-1`, /afterId/),
    get('progress ?limit=0', `/api/runs/${R}/progress?limit=0`, /limit/),
    get('progress ?limit=100000', `/api/runs/${R}/progress?limit=100000`, /limit/),
    get('progress ?afterId=abc', `/api/runs/${R}/progress?afterId=abc`, /afterId/),
    get('progress of an unknown run', '/api/runs/nope/progress', /no run/, 404),
    get('analysis ?top=1', `/api/runs/${R}/analysis?top=1`, /top/),
    get('analysis ?top=abc', `/api/runs/${R}/analysis?top=abc`, /top/),
    get('analysis ?k=0', `/api/runs/${R}/analysis?k=0`, /k/),
    get('analysis ?k=1000', `/api/runs/${R}/analysis?k=1000`, /k/),
    get('compare without runs', '/api/compare', /a|b|required/),
    get('compare with an unknown run', `/api/compare?a=${R}&b=nope`, /nope/, 404),
    get('compare with a bad id', '/api/compare?a=..&b=%00', /a|b|must match/),
    get('ensemble id abc', `/api/runs/${R}/ensembles/abc/model`, /ensembleId/),
    get('ensemble id -1', `/api/runs/${R}/ensembles/-1/model`, /ensembleId/),
    get('ensemble id 1e999', `/api/runs/${R}/ensembles/1e999/model`, /ensemble/),
    get('unknown ensemble', `/api/runs/${R}/ensembles/99999/model`, /99999/, 404),
    get('export id abc', `/api/runs/${R}/exports/abc/file`, /exportId/),
    get('unknown export', `/api/runs/${R}/exports/99999/file`, /99999|export/, 404),
    get('population.csv of an unknown run', '/api/runs/nope/population.csv', /no run/, 404),
    get('weights of an unknown model', `/api/runs/${R}/models/nope/weights`, /nope/, 404),
    get('asset path traversal (encoded)', '/assets/..%2f..%2fpackage.json', undefined),
    get('asset traversal to a source file', '/assets/..%2F..%2Fcli%2Fmain.ts', undefined),
    get('unknown asset', '/assets/nope.js', undefined, 404),
    get('an HTML page as an asset', '/assets/run.html', undefined),
    get('page of an unknown run', '/runs/nope', undefined, 404),
    get('page of an unknown model', `/runs/${R}/models/nope`, undefined, 404),
    get('unknown route', '/nope', undefined, 404),
    get('route traversal', '/../../etc/passwd', undefined),
    post('graft dtype float64', `${e}/graft`, '{"dtype":"float64"}', /dtype/),
    post('graft dtype a number', `${e}/graft`, '{"dtype":1}', /dtype/),
    post('graft body not JSON', `${e}/graft`, 'not json', /JSON|body/i),
    post('graft body an array', `${e}/graft`, '[]', /object|body/i),
    post('graft of ensemble abc', `/api/runs/${R}/ensembles/abc/graft`, '{}', /ensembleId/),
    post('graft of an unknown ensemble', `/api/runs/${R}/ensembles/99999/graft`, '{}', /99999/),
    post('graft in an unknown run', '/api/runs/nope/ensembles/1/graft', '{}', /nope/),
    post('graft body of 2 MB', `${e}/graft`, JSON.stringify({ dtype: 'float32', pad: 'x'.repeat(2 * 1024 * 1024) }), /body|large/i),
    post('graft as text/plain', `${e}/graft`, 'dtype=int8', /body|content|type|Unsupported/i, { 'content-type': 'text/plain' }),
    { name: 'PUT on the runs list', method: 'PUT', url: '/api/runs' },
    { name: 'DELETE a run', method: 'DELETE', url: `/api/runs/${R}` },
    { name: 'PATCH a model', method: 'PATCH', url: `/api/runs/${R}/models/x`, body: '{}', headers: { 'content-type': 'application/json' } },
    { name: 'POST to a read route', method: 'POST', url: '/api/runs', body: '{}', headers: { 'content-type': 'application/json' } },
    { name: 'no token', url: '/api/runs', tokened: true, status: 401, expect: /token/i },
    { name: 'wrong token', url: '/api/runs?token=nope', tokened: true, status: 401, expect: /token/i },
    { name: 'wrong token header', url: '/api/runs', headers: { 'x-loom-token': 'nope' }, tokened: true, status: 401, expect: /token/i },
    { name: 'wrong bearer token', url: '/api/runs', headers: { authorization: 'Bearer nope' }, tokened: true, status: 401, expect: /token/i },
    { name: 'token in a cookie of another name', url: '/api/runs', headers: { cookie: 'token=s3cret' }, tokened: true, status: 401, expect: /token/i },
    { name: 'graft without a token', method: 'POST', url: `${e}/graft`, body: '{}', headers: { 'content-type': 'application/json' }, tokened: true, status: 401, expect: /token/i },
  ];
}

let fx: Fixture;
let open: FastifyInstance;
let locked: FastifyInstance;
let cases: HttpCase[] = [];

beforeAll(async () => {
  fx = buildFixture();
  const reader = Store.open(fx.dbPath, { readonly: true });
  ensembleId = reader.listEnsembles(FINISHED)[0]?.id ?? 1;
  reader.close();
  cases = httpCases();
  open = await buildApp({ dbPath: fx.dbPath, pollMs: 20 });
  locked = await buildApp({ dbPath: fx.dbPath, pollMs: 20, token: 's3cret' });
});

afterAll(async () => {
  await open?.close();
  await locked?.close();
  fx?.writer.close();
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
});

describe('fuzz: hostile dashboard requests', () => {
  // Built before the fixture exists (the ensemble id only changes the URLs), so vitest can list the cases.
  const listed = httpCases();
  it('has at least 50 cases with unique names', () => {
    expect(listed.length).toBeGreaterThanOrEqual(50);
    expect(new Set(listed.map((c) => c.name)).size).toBe(listed.length);
  });

  it.each(listed.map((c, i) => [c.name, i] as const))('%s', async (_name, i: number) => {
    const c = cases[i] as HttpCase;
    const before = snapshot(fx.dir);
    const started = Date.now();
    const res = await (c.tokened ? locked : open).inject({
      method: c.method ?? 'GET',
      url: c.url,
      ...(c.body === undefined ? {} : { payload: c.body }),
      ...(c.headers ? { headers: c.headers } : {}),
    });
    const ms = Date.now() - started;
    const report = `${c.method ?? 'GET'} ${c.url.slice(0, 120)} → ${res.statusCode} in ${ms} ms: ${res.body.slice(0, 400)}`;
    expect(res.statusCode, report).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, report).toBeLessThan(500);
    if (c.status) expect(res.statusCode, report).toBe(c.status);
    expect(res.body, report).not.toMatch(/^\s+at\s+\S|\.ts:\d+:\d+|node_modules/m);
    if (c.expect) {
      const message = (res.json() as { message?: unknown }).message;
      expect(typeof message, report).toBe('string');
      expect(message as string, report).toMatch(c.expect);
    }
    expect(ms, report).toBeLessThanOrEqual(3_000);
    expect(changedFiles(before, snapshot(fx.dir)), report).toEqual([]);
  });
});
