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

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]): string => `| ${r.map((c, i) => String(c).padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(cells[0] as string[]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

export const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
