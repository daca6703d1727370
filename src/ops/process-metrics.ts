/**
 * Process metrics for /metrics: prom-client's default set (CPU, memory, heap, handles, GC,
 * version) with the event-loop lag measured here instead.
 *
 * prom-client samples the loop every 10 ms to build its lag histogram: a hundred wake-ups a
 * second, about 4–6 ms of CPU per second in a bot that is otherwise asleep. Here the loop is
 * sampled every 100 ms (under 0.5 ms of CPU per second): any stall of 100 ms or more is always
 * caught, shorter ones in proportion to their length, and the event-loop utilisation, which
 * costs nothing until it is read, covers the busy time in between. A sample is the time
 * between two ticks, so the interval itself is subtracted: the reported lag is the delay
 * beyond it (prom-client reports 10 ms of lag for a loop that is idle). Same metric names
 * and shard aggregation as prom-client's.
 */
import './metrics-deps.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** How often the loop is sampled for the lag histogram. */
export const LAG_SAMPLE_MS = 100;

/** prom-client's default metrics, by module, but for its event-loop lag. */
const DEFAULT_METRICS = [
  'processCpuTotal',
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;

type DefaultMetric = (registry: Registry, config: object) => void;

/** What the lag metrics read from a delay histogram (perf_hooks' IntervalHistogram). */
export interface DelayHistogram {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
  percentile(percentile: number): number;
  reset(): void;
}

/** Registers prom-client's default metrics, one module each (they are not exported one by one). */
function defaultMetrics(registry: Registry): void {
  const require = createRequire(import.meta.url);
  const metricsDir = join(dirname(require.resolve('prom-client')), 'lib/metrics');
  for (const name of DEFAULT_METRICS) (require(join(metricsDir, name)) as DefaultMetric)(registry, {});
}

/**
 * The lag gauges (nodejs_eventloop_lag_*_seconds from `histogram`, read and reset at each
 * scrape; nodejs_eventloop_lag_seconds measured at the scrape itself) and the event-loop
 * utilisation since the previous scrape.
 */
export function eventLoopMetrics(registry: Registry, histogram: DelayHistogram, sampleMs: number): void {
  const registers = [registry];
  const beyond = (nanoseconds: number) =>
    histogram.count === 0 ? 0 : Math.max(0, nanoseconds / 1e6 - sampleMs) / 1000;
  const gauge = (name: string, help: string, aggregator: 'min' | 'max' | 'average') =>
    new Gauge({ name, help, registers, aggregator });
  // Registered first: its reading of the histogram sets the gauges read after it in the same scrape.
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers,
    aggregator: 'average',
    async collect() {
      min.set(beyond(histogram.min));
      max.set(beyond(histogram.max));
      mean.set(beyond(histogram.mean));
      stddev.set(histogram.count === 0 ? 0 : histogram.stddev / 1e9);
      for (const [p, target] of percentiles) target.set(beyond(histogram.percentile(p)));
      histogram.reset();
      const start = performance.now();
      await new Promise((resolve) => setImmediate(resolve));
      this.set((performance.now() - start) / 1000);
    },
  });
  const min = gauge('nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.', 'min');
  const max = gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.', 'max');
  const mean = gauge(
    'nodejs_eventloop_lag_mean_seconds',
    'The mean of the recorded event loop delays.',
    'average',
  );
  const stddev = gauge(
    'nodejs_eventloop_lag_stddev_seconds',
    'The standard deviation of the recorded event loop delays.',
    'average',
  );
  const percentiles = ([50, 90, 99] as const).map(
    (p) =>
      [
        p,
        gauge(
          `nodejs_eventloop_lag_p${p}_seconds`,
          `The ${p}th percentile of the recorded event loop delays.`,
          'average',
        ),
      ] as const,
  );
  let utilization = performance.eventLoopUtilization();
  new Gauge({
    name: 'nodejs_eventloop_utilization_ratio',
    help: 'Share of the time since the previous scrape that the event loop was busy (0–1).',
    registers,
    aggregator: 'average',
    collect() {
      const now = performance.eventLoopUtilization();
      this.set(performance.eventLoopUtilization(now, utilization).utilization);
      utilization = now;
    },
  });
}

/** Every process metric this bot reports, into `registry`. */
export function processMetrics(registry: Registry): void {
  defaultMetrics(registry);
  const histogram = monitorEventLoopDelay({ resolution: LAG_SAMPLE_MS });
  histogram.enable();
  eventLoopMetrics(registry, histogram, LAG_SAMPLE_MS);
}
