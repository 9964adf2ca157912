import { LoomError } from '../engine/errors.js';
import type { Command } from './shared.js';

// name → [one-line summary for `loom --help`, loader]. Loading lazily keeps `loom --help` fast.
const commands: Record<string, readonly [string, () => Promise<{ command: Command }>]> = {
  search: ['run an evolutionary architecture search', () => import('./search.js')],
  runs: ['list runs', () => import('./runs.js')],
  show: ['show a run: generations and best models', () => import('./show.js')],
  analyze: ['analyse a run: diversity, clusters, correlations, ensembles', () => import('./analyze.js')],
  graft: ["graft a run's models into one model file", () => import('./graft.js')],
  export: ['write a model as a Loom file or a LOOM bundle', () => import('./export.js')],
  predict: ['run a saved model on inputs (JSON or CSV)', () => import('./predict.js')],
  inspect: ["print a saved model's layers, shapes and parameters", () => import('./inspect.js')],
  generate: ['continue a prompt with a Llama-architecture checkpoint (Hugging Face folder)', () => import('./generate.js')],
  dashboard: ['web dashboard over a run database', () => import('./dashboard.js')],
  serve: ['serve a model over HTTP: POST /predict, GET /model, a browser demo', () => import('./serve.js')],
  worker: ['train models for distributed searches (BullMQ on Redis)', () => import('./worker.js')],
  workers: ['list the workers registered on a Redis server', () => import('./workers.js')],
};

const usage = (): string =>
  [
    'loom — evolutionary neural architecture search',
    '',
    'usage: loom <command> [options]   (loom <command> --help for details)',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, [summary]]) => `  ${name.padEnd(10)} ${summary}`),
  ].join('\n');

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const entry = commands[name];
  if (!entry) {
    console.error(`loom: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const { command } = await entry[1]();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    // Known errors are the user's to fix: print the message, not a stack trace.
    if (err instanceof LoomError) {
      console.error(`loom ${name}: ${err.message}`);
      return err.code === 'LOOM_ERR_USAGE' ? 2 : 1;
    }
    throw err;
  }
}
