/**
 * The answering chain every long-running front end uses, outermost first: count everything
 * (metrics), refuse during shutdown (draining), then per-user/per-channel rates and the
 * concurrency cap (limits), then the core.
 */
import type { Config } from '../config.js';
import type { Answerer } from '../core/types.js';
import { DrainingAnswerer } from '../ops/draining-answerer.js';
import { LimitedAnswerer } from '../ops/limited-answerer.js';
import { type BotMetrics, MeteredAnswerer } from '../ops/metrics.js';
import type { RateLimiter } from '../ops/shared-state.js';

export interface GuardedAnswerer {
  readonly answerer: Answerer;
  /** For graceful shutdown: refuse new questions and wait for (or interrupt) those in flight. */
  readonly draining: DrainingAnswerer;
}

export function guardAnswerer(
  core: Answerer,
  config: Config,
  rates: RateLimiter,
  metrics?: BotMetrics,
): GuardedAnswerer {
  const draining = new DrainingAnswerer(
    new LimitedAnswerer(core, rates, {
      userPerMinute: config.limits.userPerMinute,
      channelPerMinute: config.limits.channelPerMinute,
      maxConcurrent: config.limits.maxConcurrentAnswers,
      maxQueued: config.limits.maxQueuedAnswers,
    }),
  );
  return { answerer: metrics ? new MeteredAnswerer(draining, metrics) : draining, draining };
}
