// A coordinator whose only job never finishes, so a test can SIGKILL it while it holds the run's lease (TTL 5 s,
// heartbeat 1 s). Prints "leased" once the lease is taken. argv: DB_PATH RUN_ID CONFIG_JSON
import { Coordinator } from '../../../src/search/coordinator.js';
import { parseSearchConfig } from '../../../src/search/config.js';
import { Store } from '../../../src/store/store.js';
import { InProcessExecutor } from './reliability.js';

const [dbPath, runId, configJson] = process.argv.slice(2) as [string, string, string];
const store = Store.open(dbPath);
const never = new Promise<void>(() => {});
const keepAlive = setInterval(() => {}, 1000);
const coordinator = new Coordinator({
  store,
  executor: new InProcessExecutor(never),
  lease: { ttlMs: 5000, heartbeatMs: 1000 },
  onEvent: (e) => {
    if (e.kind === 'run-start') process.stdout.write('leased\n');
  },
});
await coordinator.start(parseSearchConfig(JSON.parse(configJson)), runId);
clearInterval(keepAlive);
