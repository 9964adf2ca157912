import { LoomError } from '../engine/errors.js';
import { DEFAULT_QUEUE_PREFIX, DEFAULT_REDIS_URL } from '../workers/redis.js';
import { DEFAULT_LOCK_DURATION_MS, DEFAULT_STALLED_INTERVAL_MS, RemoteWorker, type DeviceChoice } from '../workers/remote-worker.js';
import { intOption, parseCommandArgs } from './args.js';
import type { Command } from './shared.js';

const help = `usage: loom worker --redis URL [options]

Trains models for \`loom search --redis URL\` runs, on this machine, until stopped. Start as many as you like,
on any machines that reach the Redis server and have the run's data (see docs/workers.md).

  --redis URL             Redis server, e.g. ${DEFAULT_REDIS_URL} (required)
  --concurrency N         models trained at once, one thread each (default: one per core)
  --device cpu|webgpu|auto
                          auto (default) uses WebGPU when this machine has a hardware adapter, else the CPU
  --name NAME             name shown by \`loom workers\` and stored with results (default: host-pid)
  --prefix P              Redis key prefix; must match the coordinator's (default: ${DEFAULT_QUEUE_PREFIX})
  --lock-duration MS      a job's lock lifetime; a worker silent this long loses its job (default ${DEFAULT_LOCK_DURATION_MS})
  --stalled-interval MS   how often to look for jobs of dead workers (default ${DEFAULT_STALLED_INTERVAL_MS});
                          a killed worker's job is retaken within the sum of the two
  -h, --help              this help

Ctrl-C (or SIGTERM) finishes the models in hand, then exits; a second Ctrl-C hands them back to the queue at once.`;

const DEVICES: readonly DeviceChoice[] = ['cpu', 'webgpu', 'auto'];

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
};

export async function runWorker(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('worker', argv, {
    redis: { type: 'string' },
    concurrency: { type: 'string' },
    device: { type: 'string' },
    name: { type: 'string' },
    prefix: { type: 'string' },
    'lock-duration': { type: 'string' },
    'stalled-interval': { type: 'string' },
  });
  if (positionals.length > 0) throw new LoomError('LOOM_ERR_USAGE', `loom worker takes no positional arguments, got "${positionals[0]}" (see loom worker --help)`);
  if (!values.redis) throw new LoomError('LOOM_ERR_USAGE', `loom worker needs --redis URL, e.g. --redis ${DEFAULT_REDIS_URL}`);
  const device = (values.device ?? 'auto') as DeviceChoice;
  if (!DEVICES.includes(device)) throw new LoomError('LOOM_ERR_USAGE', `--device must be one of ${DEVICES.join(', ')}, got "${values.device}"`);
  const concurrency = intOption('concurrency', values.concurrency, 1);
  const lockDurationMs = intOption('lock-duration', values['lock-duration'], 100);
  const stalledIntervalMs = intOption('stalled-interval', values['stalled-interval'], 100);

  const worker = await RemoteWorker.start({
    redis: values.redis,
    device,
    log,
    ...(values.name ? { name: values.name } : {}),
    ...(values.prefix ? { prefix: values.prefix } : {}),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(lockDurationMs === undefined ? {} : { lockDurationMs }),
    ...(stalledIntervalMs === undefined ? {} : { stalledIntervalMs }),
  });

  let signals = 0;
  let exitCode = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      log(`${signal}: finishing ${worker.active} job(s) in hand, then exiting (Ctrl-C again to hand them back now)`);
      void worker.stop();
    } else {
      log(`${signal} again: handing ${worker.active} job(s) back to the queue and exiting`);
      exitCode = 130;
      void worker.stop(true);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await worker.stopped;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  log(`worker ${worker.name} stopped`);
  // Sandbox threads of a forced stop may still be training: leave without waiting for them.
  if (exitCode !== 0) process.exit(exitCode);
  return exitCode;
}

export const command: Command = { name: 'worker', help, run: runWorker };
