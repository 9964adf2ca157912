/**
 * The fuzz suite's bad inputs: each case is a CLI invocation (argv, with files it needs written into the sandbox
 * first) and what its one message must name. Most are generated from tables (a field × its bad values); the rest
 * are written by hand from the list of inputs that once escaped (issue 15).
 */

export interface CliCase {
  readonly name: string;
  /** Files to write in the sandbox before anything runs (path relative to the sandbox → content). */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  /** argv; SANDBOX/ in an argument is replaced by the sandbox path, DB by the fixture database, RUN by its run id. */
  readonly argv: readonly string[];
  /** The first line of the error output must match. */
  readonly expect: RegExp;
  /** Bound on the wall time (default 8 s: in-process, after the modules are loaded). */
  readonly timeoutMs?: number;
}

// ── configs ─────────────────────────────────────────────────────────────────────────────────────────
/** A valid, tiny search: a bad config below is this with one thing broken. */
export const BASE_CONFIG = {
  name: 'fuzz',
  seed: 1,
  data: { ref: 'synthetic:blobs', limit: 60 },
  population: 2,
  generations: 1,
  elite: 1,
  training: { epochs: 1, batchSize: 32 },
  generator: { dModels: [8], numHeads: [2], gridShapes: ['1x1 Mono'], maxBrains: 1 },
};

type Json = unknown;
/** [path in the config, bad values, what the message must name]. */
const CONFIG_FIELDS: ReadonlyArray<readonly [string, readonly Json[], RegExp?]> = [
  ['population', [0, -1, 1.5, '8', null, true, 1e9, [], {}]],
  ['generations', [0, -3, 'x', 2.5, 1e12]],
  ['elite', [-1, 0.5, 'one', 3], /elite/],
  ['tournamentSize', [0, -2, 'x']],
  ['mutationRate', [-0.1, 1.5, 'high']],
  ['crossoverRate', [2, -1]],
  ['diversityWeight', [-1, 'x']],
  ['timeBudgetMinutes', [-5, 'soon']],
  ['seed', [-1, 1.5, 'a', 1e30, 4294967297]],
  ['training.epochs', [0, -1, 1.5, 1e9]],
  ['training.batchSize', [0, -8, 'big']],
  ['training.optimizer', ['adam2', 7]],
  ['training.scheduler', ['zz']],
  ['training.mode', ['fast']],
  ['training.weightDecay', [-1, 'x']],
  ['training.clipNorm', [-1]],
  ['training.patience', [-1]],
  ['data.ref', ['nope', '', 'csv:', 7, 'synthetic:nope'], /data|ref|nope|csv/],
  ['data.limit', [0, -5, 'all']],
  ['data.fractions', [[0.5, 0.5], [-1, 1, 1], [1e308, 1e308, 1e308], 'x', [0, 0, 0]]],
  ['data.splitSeed', [-1, 'x']],
  ['generator.dModels', [[], [0], 'x', [-8]]],
  ['generator.numHeads', [[0], 'x']],
  ['generator.gridShapes', [['9x9 Bogus'], 'x']],
  ['generator.maxBrains', [0, -1]],
  ['generator.brainTypes', [['Nope'], 'Dense']],
  ['generator.activations', [['nope']]],
];

function withField(path: string, value: Json): Json {
  const config = structuredClone(BASE_CONFIG) as Record<string, unknown>;
  const keys = path.split('.');
  let at = config;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  at[keys[keys.length - 1] as string] = value;
  return config;
}

const lastKey = (path: string): string => path.split('.').at(-1) as string;

function configCases(): CliCase[] {
  const out: CliCase[] = [];
  let n = 0;
  const add = (name: string, text: string, expect: RegExp): void => {
    const file = `configs/c${++n}.json`;
    out.push({ name: `config: ${name}`, files: { [file]: text }, argv: ['search', `SANDBOX/${file}`, '--db', 'SANDBOX/out/search.db', '--quiet', '--workers', '1'], expect });
  };
  for (const [path, values, expect] of CONFIG_FIELDS) {
    for (const v of values) add(`${path} = ${JSON.stringify(v)}`, JSON.stringify(withField(path, v)), expect ?? new RegExp(lastKey(path)));
  }
  add('unknown top-level key', JSON.stringify({ ...BASE_CONFIG, populaton: 4 }), /populaton/);
  add('unknown training key', JSON.stringify(withField('training.epoch', 3)), /epoch/);
  add('unknown generator key (typo)', JSON.stringify(withField('generator.dModel', [8])), /dModel/);
  add('unknown data key', JSON.stringify(withField('data.seed', 3)), /seed/);
  add('root is an array', '[]', /object/);
  add('root is a number', '1', /object/);
  add('root is a string', '"config"', /object/);
  add('root is null', 'null', /object/);
  add('invalid JSON: open brace', '{', /JSON/);
  add('invalid JSON: empty file', '', /JSON|empty/);
  add('invalid JSON: missing value', '{"population":}', /JSON/);
  add('invalid JSON: trailing comma', '{"population": 4,}', /JSON/);
  add('binary garbage', '\u0000\u0001\u0002\u00ff', /JSON/);
  out.push({ name: 'config: file missing', argv: ['search', 'SANDBOX/configs/none.json', '--db', 'SANDBOX/out/search.db'], expect: /not found|no such|does not exist/i });
  out.push({ name: 'config: a directory', argv: ['search', 'SANDBOX/configs', '--db', 'SANDBOX/out/search.db'], expect: /directory|not a file|cannot read|EISDIR/i });
  return out;
}

// ── CSV data ────────────────────────────────────────────────────────────────────────────────────────
const CSVS: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['empty file', '', /header|empty/i],
  ['header only', 'a,b,label\n', /sample|row|no data|empty/i],
  ['one column', 'label\nx\ny\n', /header|column/i],
  ['1e39 (infinite as float32)', 'a,b,label\n1,2,x\n1e39,2,y\n3,4,x\n5,6,y\n', /float32|1e39|range/i],
  ['-1e39', 'a,b,label\n1,2,x\n-1e39,2,y\n3,4,x\n5,6,y\n', /float32|range/i],
  ['text in a feature', 'a,b,label\n1,abc,x\n1,2,y\n', /abc|number/i],
  ['Infinity', 'a,b,label\n1,Infinity,x\n1,2,y\n', /Infinity|finite|number/i],
  // NaN, NA and empty cells are missing values (test/data/csv-table.test.ts); a column of nothing else is refused.
  ['a column of missing values', 'a,b,label\n1,NaN,x\n1,,y\n', /column "b" has no values/i],
  ['decimal commas', 'a;b;label\n1,5;2;x\n3;4;y\n', /decimal point/i],
  ['short row', 'a,b,label\n1,2,x\n1,y\n', /line 3|column|field/i],
  ['long row', 'a,b,label\n1,2,x\n1,2,3,y\n', /line 3|column|field/i],
  ['quote never closed', 'a,b,label\n1,"2,x\n1,2,y\n', /quote/i],
  ['one class only', 'a,b,label\n1,2,x\n3,4,x\n5,6,x\n', /class/i],
];

function csvCases(): CliCase[] {
  const out: CliCase[] = CSVS.map(([name, text, expect], i) => ({
    name: `csv: ${name}`,
    files: { [`data/d${i}.csv`]: text, [`configs/csv${i}.json`]: JSON.stringify({ ...BASE_CONFIG, data: { ref: `csv:SANDBOX/data/d${i}.csv` } }) },
    argv: ['search', `SANDBOX/configs/csv${i}.json`, '--db', 'SANDBOX/out/search.db', '--quiet', '--workers', '1'],
    expect,
  }));
  out.push({
    name: 'csv: label column absent',
    files: { 'data/ok.csv': 'a,b,label\n1,2,x\n3,4,y\n', 'configs/csv-label.json': JSON.stringify({ ...BASE_CONFIG, data: { ref: 'csv:SANDBOX/data/ok.csv?label=zzz' } }) },
    argv: ['search', 'SANDBOX/configs/csv-label.json', '--db', 'SANDBOX/out/search.db', '--quiet'],
    expect: /zzz/,
  });
  out.push({
    name: 'csv: file missing',
    files: { 'configs/csv-missing.json': JSON.stringify({ ...BASE_CONFIG, data: { ref: 'csv:SANDBOX/data/none.csv' } }) },
    argv: ['search', 'SANDBOX/configs/csv-missing.json', '--db', 'SANDBOX/out/search.db', '--quiet'],
    expect: /not found/,
  });
  return out;
}

// ── model files (inspect and predict) ───────────────────────────────────────────────────────────────
export const BAD_MODELS: ReadonlyArray<readonly [string, string | Uint8Array, RegExp]> = [
  ['empty file', '', /empty|model|format/i],
  ['random bytes', Uint8Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 255), /model|format|recogni/i],
  ['text', 'hello world\n', /model|format|recogni/i],
  ['JSON object without models', '{}', /model|bundle|format/i],
  ['JSON null', 'null', /model|bundle|format/i],
  ['JSON array', '[1,2,3]', /model|bundle|format/i],
  ['bundle with no models', '{"type":"modelhost","models":[]}', /no models|empty|model/i],
  ['bundle model without a network', '{"type":"modelhost","models":[{"id":"a"}]}', /model|cfg|network|layer/i],
  ['safetensors header length beyond the file', Uint8Array.from([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 123, 125]), /header|safetensors|model|format/i],
  ['JSON syntax error', '{"models": [', /JSON|model|format/i],
];

function modelCases(): CliCase[] {
  const out: CliCase[] = [];
  BAD_MODELS.forEach(([name, content, expect], i) => {
    const file = `models/bad${i}.bin`;
    out.push({ name: `model (inspect): ${name}`, files: { [file]: content }, argv: ['inspect', '--model', `SANDBOX/${file}`], expect });
    out.push({ name: `model (predict): ${name}`, files: { [file]: content }, argv: ['predict', '--model', `SANDBOX/${file}`, '--input', 'SANDBOX/inputs/good.json'], expect });
  });
  out.push({ name: 'model (inspect): bundle with duplicate model ids', argv: ['inspect', '--model', 'SANDBOX/models/dup.json'], expect: /duplicate|twice|same id|two models have the id/i });
  out.push({ name: 'model (predict): bundle with duplicate model ids', argv: ['predict', '--model', 'SANDBOX/models/dup.json', '--input', 'SANDBOX/inputs/good.json'], expect: /duplicate|twice|same id|two models have the id/i });
  out.push({ name: 'model (inspect): truncated model file', argv: ['inspect', '--model', 'SANDBOX/models/truncated.loom'], expect: /truncat|short|end|corrupt|model/i });
  out.push({ name: 'model (inspect): missing file', argv: ['inspect', '--model', 'SANDBOX/models/none.loom'], expect: /not found|no such|does not exist/i });
  out.push({ name: 'model (inspect): a directory', argv: ['inspect', '--model', 'SANDBOX/models'], expect: /directory|cannot read|not a file|EISDIR|config\.json/i });
  return out;
}

// ── predict inputs (a good model, bad samples) ──────────────────────────────────────────────────────
const deep = (levels: number): string => `${'['.repeat(levels)}1${']'.repeat(levels)}`;
export const BAD_INPUTS: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['empty', '', /empty/i],
  ['JSON object', '{}', /object|array/i],
  ['empty array', '[]', /empty|array/i],
  ['too few values', '[[1,2]]', /4|values|width|expected/i],
  ['too many values', '[[1,2,3,4,5,6]]', /4|values|width|expected/i],
  ['a string value', '[["a",1,2,3]]', /"a"|number/i],
  ['null value', '[[null,1,2,3]]', /null|number/i],
  ['1e39 (infinite as float32)', '[[1e39,1,2,3]]', /float32|range|1e\+?39/i],
  ['1e999 (Infinity)', '[[1e999,1,2,3]]', /finite|Infinity|number|range/i],
  ['nested 100 levels', `[${deep(100)}]`, /nested|deep|depth/i],
  ['nested 100000 levels', `[${deep(100_000)}]`, /nested|deep|depth|JSON/i],
  ['truncated JSON', '[[1,2,3,4]', /JSON/i],
  ['NaN literal', '[[NaN,1,2,3]]', /JSON|NaN/i],
  ['CSV with text', 'a,b,c,d\n1,x,3,4\n', /x|number/i],
  ['CSV with 1e39', 'a,b,c,d\n1,1e39,3,4\n', /float32|range|1e39/i],
  ['CSV with missing value', 'a,b,c,d\n1,,3,4\n', /empty|missing|number|value/i],
];

function inputCases(): CliCase[] {
  const out: CliCase[] = BAD_INPUTS.map(([name, text, expect], i) => ({
    name: `predict input: ${name}`,
    files: { [`inputs/bad${i}.${text.startsWith('a,') ? 'csv' : 'json'}`]: text },
    argv: ['predict', '--model', 'SANDBOX/models/good.loom', '--input', `SANDBOX/inputs/bad${i}.${text.startsWith('a,') ? 'csv' : 'json'}`],
    expect,
  }));
  out.push({ name: 'predict input: missing file', argv: ['predict', '--model', 'SANDBOX/models/good.loom', '--input', 'SANDBOX/inputs/none.json'], expect: /not found/i });
  out.push({ name: 'predict input: a directory', argv: ['predict', '--model', 'SANDBOX/models/good.loom', '--input', 'SANDBOX/inputs'], expect: /directory|cannot read|EISDIR/i });
  return out;
}

// ── CLI flags ───────────────────────────────────────────────────────────────────────────────────────
function flagCases(): CliCase[] {
  const c = (name: string, argv: string[], expect: RegExp): CliCase => ({ name: `flags: ${name}`, argv, expect });
  const search = ['search', 'SANDBOX/configs/valid.json', '--db', 'SANDBOX/out/search.db', '--quiet'];
  return [
    c('unknown command', ['serch'], /unknown command "serch"/),
    c('search --workers -1', [...search, '--workers', '-1'], /--workers/),
    c('search --workers abc', [...search, '--workers', 'abc'], /--workers/),
    c('search --workers 0', [...search, '--workers', '0'], /--workers/),
    c('search --workers 1e9', [...search, '--workers', '1e9'], /--workers/),
    c('search --seed -1', [...search, '--seed', '-1'], /--seed/),
    c('search --seed 1.5', [...search, '--seed', '1.5'], /--seed/),
    c('search --seed 1e30', [...search, '--seed', '1e30'], /--seed/),
    c('search --bogus', [...search, '--bogus'], /bogus/),
    c('search two configs', [...search, 'SANDBOX/configs/valid.json'], /at most one CONFIG/),
    c('search --resume unknown run', ['search', '--resume', 'no-such-run', '--db', 'DB', '--quiet'], /no run "no-such-run"/),
    c('search --resume without value', ['search', '--resume'], /resume/),
    c('search --db not a database', [...search.slice(0, 2), '--db', 'SANDBOX/data/ok.csv', '--quiet'], /database|not a/i),
    c('runs --db missing', ['runs', '--db', 'SANDBOX/none.db'], /no database/),
    c('runs extra argument', ['runs', 'extra', '--db', 'DB'], /extra|positional|argument/i),
    c('runs --db a CSV file', ['runs', '--db', 'SANDBOX/data/ok.csv'], /database/i),
    c('show without RUN', ['show', '--db', 'DB'], /RUN/),
    c('show unknown run', ['show', 'nope', '--db', 'DB'], /no run "nope"/),
    c('show --top abc', ['show', 'RUN', '--db', 'DB', '--top', 'abc'], /--top/),
    c('show --top -1', ['show', 'RUN', '--db', 'DB', '--top', '-1'], /--top/),
    c('analyze without RUN', ['analyze', '--db', 'DB'], /RUN/),
    c('analyze unknown run', ['analyze', 'nope', '--db', 'DB'], /nope/),
    c('graft unknown run', ['graft', 'nope', '--db', 'DB', '--out', 'SANDBOX/out/g.loom'], /nope/),
    c('export without RUN:MODEL', ['export', '--db', 'DB', '--out', 'SANDBOX/out/x.loom'], /RUN|MODEL/),
    c('export bad format', ['export', 'RUN:nope', '--db', 'DB', '--format', 'zzz', '--out', 'SANDBOX/out/x.loom'], /zzz|format/),
    c('predict without --model', ['predict', '--input', 'SANDBOX/inputs/good.json'], /--model/),
    c('predict --batch 0', ['predict', '--model', 'SANDBOX/models/good.loom', '--input', 'SANDBOX/inputs/good.json', '--batch', '0'], /--batch/),
    c('inspect without --model', ['inspect'], /--model/),
    c('dashboard --port 70000', ['dashboard', '--db', 'DB', '--port', '70000'], /--port/),
    c('dashboard --port -1', ['dashboard', '--db', 'DB', '--port', '-1'], /--port/),
    c('dashboard --port abc', ['dashboard', '--db', 'DB', '--port', 'abc'], /--port/),
    c('dashboard --host 0.0.0.0 without a token', ['dashboard', '--db', 'DB', '--host', '0.0.0.0', '--port', '0'], /token/),
    c('dashboard --db missing', ['dashboard', '--db', 'SANDBOX/none.db'], /no database/),
    c('worker without --redis', ['worker'], /--redis/),
    c('worker --device tpu', ['worker', '--redis', 'redis://127.0.0.1:6379', '--device', 'tpu'], /--device/),
    c('worker --concurrency 0', ['worker', '--redis', 'redis://127.0.0.1:6379', '--concurrency', '0'], /--concurrency/),
    c('worker --lock-duration 5', ['worker', '--redis', 'redis://127.0.0.1:6379', '--lock-duration', '5'], /--lock-duration/),
    c('worker positional', ['worker', 'extra', '--redis', 'redis://127.0.0.1:6379'], /positional|extra/i),
    c('workers without --redis', ['workers'], /--redis/),
  ];
}

// ── Redis URLs ──────────────────────────────────────────────────────────────────────────────────────
export const BAD_REDIS_URLS: ReadonlyArray<readonly [string, RegExp]> = [
  ['not a url', /--redis/],
  ['http://127.0.0.1:6379', /redis:\/\//],
  ['redis://127.0.0.1:6379/99', /no database 99/],
  ['redis://127.0.0.1:6379/16', /no database 16/],
  ['redis://127.0.0.1:6379/-1', /database/],
  ['redis://127.0.0.1:6379/abc', /database/],
  ['redis://127.0.0.1:6379/1.5', /database/],
  ['redis://127.0.0.1:1', /cannot reach Redis/],
  ['redis://127.0.0.1:99999', /--redis|port/],
  ['rediss://127.0.0.1:6379', /cannot reach Redis/],
  ['redis://[::1', /--redis/],
];

function redisCases(): CliCase[] {
  const out: CliCase[] = [];
  for (const [url, expect] of BAD_REDIS_URLS) {
    out.push({ name: `redis (workers): ${url}`, argv: ['workers', '--redis', url], expect });
    out.push({ name: `redis (worker): ${url}`, argv: ['worker', '--redis', url, '--device', 'cpu'], expect });
  }
  for (const url of ['redis://127.0.0.1:6379/99', 'redis://127.0.0.1:1', 'not a url']) {
    out.push({ name: `redis (search): ${url}`, argv: ['search', 'SANDBOX/configs/valid.json', '--db', 'SANDBOX/out/search.db', '--quiet', '--redis', url], expect: BAD_REDIS_URLS.find(([u]) => u === url)?.[1] ?? /redis/i });
  }
  return out;
}

export function cliCases(): CliCase[] {
  return [...configCases(), ...csvCases(), ...modelCases(), ...inputCases(), ...flagCases(), ...redisCases()];
}
