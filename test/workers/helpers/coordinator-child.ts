// A coordinator in its own process, so a test can SIGKILL it mid-run: starts a run on a queue and prints each
// coordinator event as one JSON line. argv: DB_PATH PREFIX RUN_ID CONFIG_JSON
import { Coordinator } from '../../../src/search/coordinator.js';
import { parseSearchConfig } from '../../../src/search/config.js';
import { Store } from '../../../src/store/store.js';
import { QueueExecutor } from '../../../src/workers/queue.js';
import { REDIS_URL } from './redis-test.js';

const [dbPath, prefix, runId, configJson] = process.argv.slice(2) as [string, string, string, string];
const store = Store.open(dbPath);
const executor = await QueueExecutor.connect({ redis: REDIS_URL, prefix, backoffMs: 50, pollMs: 500 });
const onEvent = (e: unknown): void => void process.stdout.write(`${JSON.stringify(e)}\n`);
// A short run lease (5 s) so the test's resume, after the SIGKILL, need not wait the default 30 s for it.
await new Coordinator({ store, executor, onEvent, maxAttempts: 1, lease: { ttlMs: 5000, heartbeatMs: 1000 } }).start(parseSearchConfig(JSON.parse(configJson)), runId);
await executor.close();
store.close();
