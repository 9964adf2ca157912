import { LoomError } from '../engine/errors.js';

/** A CLI command: one file per command, loaded only when used so `loom --help` stays fast. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Full help text printed by `loom <name> --help`. */
  readonly help: string;
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<{ command: Command }>> = {
  search: () => import('./search.js'),
  runs: () => import('./runs.js'),
  show: () => import('./show.js'),
  predict: () => import('./predict.js'),
  inspect: () => import('./inspect.js'),
};

const usage = (): string =>
  [
    'loom — evolutionary neural architecture search',
    '',
    'usage: loom <command> [options]   (loom <command> --help for details)',
    '',
    'commands:',
    ...Object.keys(commands).map((name) => `  ${name}`),
  ].join('\n');

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const load = commands[name];
  if (!load) {
    console.error(`loom: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const { command } = await load();
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
