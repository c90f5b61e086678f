/** Summary figures of a set of durations in ms. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

export function summarise(durationsMs: readonly number[]): LatencySummary {
  const sorted = [...durationsMs].sort((a, b) => a - b);
  const at = (quantile: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] ?? Number.NaN;
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return { count: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), meanMs: total / sorted.length };
}

/** Runs `task` `count` times, one after another, and returns each duration in ms. */
export async function timeSequential(count: number, task: () => Promise<void>): Promise<number[]> {
  const durations: number[] = [];
  for (let index = 0; index < count; index++) {
    const startedNs = process.hrtime.bigint();
    await task();
    durations.push(Number(process.hrtime.bigint() - startedNs) / 1e6);
  }
  return durations;
}

/** Runs `task` `count` times with `concurrency` in flight; returns completions per second. */
export async function throughput(
  count: number,
  concurrency: number,
  task: () => Promise<void>,
): Promise<number> {
  let started = 0;
  const startedNs = process.hrtime.bigint();
  const lane = async () => {
    while (started < count) {
      started += 1;
      await task();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return count / (Number(process.hrtime.bigint() - startedNs) / 1e9);
}

export function formatSummary(summary: LatencySummary): string {
  return `p50 ${summary.p50Ms.toFixed(2)} ms, p99 ${summary.p99Ms.toFixed(2)} ms (n=${summary.count})`;
}

export function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}
