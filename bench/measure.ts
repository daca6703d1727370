/**
 * The latency suites' common loop: at each concurrency, alternate rounds of the measured path
 * and of the bare-HTTP baseline (so both see the same machine load), then report the
 * difference of their percentiles as the overhead.
 */
import { percentile } from './stats.js';

export interface OverheadSample {
  readonly concurrency: number;
  readonly measuredP50: number;
  readonly bareP50: number;
  /** p50 and p99 of the measured path minus those of the baseline. */
  readonly p50: number;
  readonly p99: number;
}

/** [concurrency, rounds] pairs: enough samples per level within a bounded time. */
export const DEFAULT_LEVELS: readonly (readonly [number, number])[] = [
  [1, 40],
  [10, 8],
  [100, 2],
];

export async function measureOverhead(
  measured: (i: number) => Promise<number>,
  baseline: () => Promise<number>,
  levels = DEFAULT_LEVELS,
): Promise<OverheadSample[]> {
  // Warm up connections and JIT on both paths.
  await Promise.all(Array.from({ length: 10 }, (_, i) => measured(i)));
  await Promise.all(Array.from({ length: 10 }, () => baseline()));
  const samples: OverheadSample[] = [];
  for (const [concurrency, rounds] of levels) {
    const ours: number[] = [];
    const bare: number[] = [];
    for (let round = 0; round < rounds; round++) {
      ours.push(...(await Promise.all(Array.from({ length: concurrency }, (_, i) => measured(i)))));
      bare.push(...(await Promise.all(Array.from({ length: concurrency }, () => baseline()))));
    }
    samples.push({
      concurrency,
      measuredP50: percentile(ours, 50),
      bareP50: percentile(bare, 50),
      p50: percentile(ours, 50) - percentile(bare, 50),
      p99: percentile(ours, 99) - percentile(bare, 99),
    });
  }
  return samples;
}
