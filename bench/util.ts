/** Shared helpers for benchmarks: medians of repeated runs, a plain table, and the results file. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Runs fn until both `minRuns` runs and `minMs` milliseconds have passed; returns the median run time in ms. */
export async function timeMedian(fn: () => void | Promise<void>, minRuns = 5, minMs = 300): Promise<number> {
  await fn(); // warm-up
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < minMs) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
    if (times.length > 200) break;
  }
  return median(times);
}

/**
 * Times several functions in alternation (a b a b …) so a burst of load from a neighbour hits them alike; returns
 * each one's median run time in ms. The fair way to compare two engines on a shared, noisy machine.
 */
export async function timeInterleaved(fns: (() => void | Promise<void>)[], minRuns = 5, minMs = 300): Promise<number[]> {
  for (const fn of fns) await fn(); // warm-up
  const times: number[][] = fns.map(() => []);
  const start = performance.now();
  let rounds = 0;
  while (rounds < minRuns || performance.now() - start < minMs) {
    for (let i = 0; i < fns.length; i++) {
      const t = performance.now();
      await (fns[i] as () => void | Promise<void>)();
      (times[i] as number[]).push(performance.now() - t);
    }
    if (++rounds >= 200) break;
  }
  return times.map(median);
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]): string => `| ${r.map((c, i) => String(c).padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(cells[0] as string[]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

export const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
