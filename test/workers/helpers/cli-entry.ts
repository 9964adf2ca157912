// Runs one Loom CLI command the way bin/loom.mjs does (message and exit code for a LoomError), for tests
// written before the command was added to src/cli/main.ts's command table.
import { LoomError } from '../../../src/engine/errors.js';

const [name, ...argv] = process.argv.slice(2);
const { command } = (await import(`../../../src/cli/${name}.ts`)) as { command: { run(argv: string[]): Promise<number> } };
try {
  process.exitCode = await command.run(argv);
} catch (err) {
  if (!(err instanceof LoomError)) throw err;
  console.error(`loom ${name}: ${err.message}`);
  process.exitCode = err.code === 'LOOM_ERR_USAGE' ? 2 : 1;
}
