import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * The PyTorch anchor (scripts/torch-training.py) as a child process the training bench can alternate with Loom's
 * own epochs: one thread (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1), so the ratio compares one core with
 * one core. Available only when /usr/bin/python3 imports torch (scripts/install-torch.sh).
 */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../scripts/torch-training.py', import.meta.url));
const ENV = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };

export interface TorchAnchor {
  readonly version: string;
  /** Trains one epoch of `steps` batches of the named net; resolves to PyTorch's own timing of it, in ms. */
  epoch(name: string, steps: number): Promise<number>;
  close(): void;
}

/** Why torch is not available ('' when it is). */
export function torchUnavailable(): string {
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return `${PYTHON}: ${r.error.message}`;
  return r.status === 0 ? '' : `${PYTHON} cannot import torch (scripts/install-torch.sh installs it)`;
}

function parseLine<K extends string>(line: string, key: K, type: 'string' | 'number'): string | number {
  const parsed: unknown = JSON.parse(line);
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as Record<string, unknown>)[key] !== type) {
    throw new Error(`torch-training.py: unexpected line ${line}`);
  }
  return (parsed as Record<string, string | number>)[key] as string | number;
}

/** Starts the anchor, or resolves to null when torch is not available. */
export async function startTorch(): Promise<TorchAnchor | null> {
  if (torchUnavailable()) return null;
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, [SCRIPT], { env: ENV, stdio: 'pipe' });
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  lines.on('line', (line) => waiting.shift()?.(line));
  const exited = new Promise<never>((_, reject) => child.on('exit', (code) => reject(new Error(`torch-training.py exited (${code}): ${stderr.trim()}`))));
  const next = (): Promise<string> => Promise.race([new Promise<string>((resolve) => waiting.push(resolve)), exited]);
  const version = String(parseLine(await next(), 'torch', 'string'));
  return {
    version,
    epoch: async (name, steps) => {
      child.stdin.write(`${name}\t${steps}\n`);
      return 1000 * Number(parseLine(await next(), 'seconds', 'number'));
    },
    close: () => {
      exited.catch(() => undefined);
      child.stdin.end();
      child.kill();
    },
  };
}
