/**
 * Process metrics: prom-client's default set with the event-loop lag measured by a coarse
 * sampler (100 ms, so an idle bot is not woken a hundred times a second), reported as the
 * delay beyond the sampling interval, under prom-client's metric names.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BotMetrics } from '../../src/ops/metrics.js';
import { type DelayHistogram, eventLoopMetrics, LAG_SAMPLE_MS } from '../../src/ops/process-metrics.js';

/** A histogram whose samples are given, in milliseconds (perf_hooks reports nanoseconds). */
function histogramOf(samplesMs: number[]): DelayHistogram & { resets: number } {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const ns = (ms: number) => ms * 1e6;
  const state = { resets: 0, samples: sorted };
  return {
    get count() {
      return state.samples.length;
    },
    get min() {
      return state.samples.length ? ns(state.samples[0]!) : 9_223_372_036_854_776_000;
    },
    get max() {
      return ns(state.samples.at(-1) ?? 0);
    },
    get mean() {
      return ns(state.samples.reduce((sum, value) => sum + value, 0) / state.samples.length);
    },
    get stddev() {
      return 0;
    },
    percentile(p) {
      const at = Math.min(state.samples.length - 1, Math.ceil((p / 100) * state.samples.length) - 1);
      return ns(state.samples[Math.max(0, at)] ?? 0);
    },
    reset() {
      state.samples = [];
      state.resets += 1;
    },
    get resets() {
      return state.resets;
    },
  };
}

async function values(registry: Registry): Promise<Record<string, number>> {
  const metrics = await registry.getMetricsAsJSON();
  return Object.fromEntries(
    metrics.map((metric) => [metric.name, Number(metric.values[0]?.value ?? Number.NaN)]),
  );
}

describe('event-loop lag', () => {
  it('reports the delay beyond the sampling interval: a loop idle at 100 ms ticks has no lag, a 250 ms stall shows 150 ms', async () => {
    const registry = new Registry();
    const histogram = histogramOf([100.2, 100.1, 100.3, 250]);
    eventLoopMetrics(registry, histogram, 100);
    const read = await values(registry);
    expect(read.nodejs_eventloop_lag_min_seconds).toBeCloseTo(0.0001, 6);
    expect(read.nodejs_eventloop_lag_max_seconds).toBeCloseTo(0.15, 6);
    expect(read.nodejs_eventloop_lag_p50_seconds).toBeCloseTo(0.0002, 6);
    expect(read.nodejs_eventloop_lag_p99_seconds).toBeCloseTo(0.15, 6);
    expect(histogram.resets).toBe(1);
  });

  it('reports zero, not an overflowed minimum, when nothing was sampled since the last scrape', async () => {
    const registry = new Registry();
    eventLoopMetrics(registry, histogramOf([]), 100);
    const read = await values(registry);
    expect(read.nodejs_eventloop_lag_min_seconds).toBe(0);
    expect(read.nodejs_eventloop_lag_p99_seconds).toBe(0);
    expect(read.nodejs_eventloop_utilization_ratio).toBeGreaterThanOrEqual(0);
    expect(read.nodejs_eventloop_utilization_ratio).toBeLessThanOrEqual(1);
  });

  it('samples every 100 ms in the bot', () => {
    expect(LAG_SAMPLE_MS).toBe(100);
  });
});

describe('the bot’s /metrics', () => {
  it('keeps prom-client’s process metrics and lag names, and adds the event-loop utilisation', async () => {
    const text = await new BotMetrics().registry.metrics();
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
      'nodejs_version_info',
      'nodejs_active_handles_total',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_eventloop_lag_max_seconds',
      'nodejs_eventloop_utilization_ratio',
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
  });
});
