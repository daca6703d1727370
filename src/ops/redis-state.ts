/**
 * Shared state in Redis for several instances behind a load balancer: event dedupe (so a
 * Slack retry landing on another instance is still dropped) and rate-limit windows.
 *
 * Both fail open: if Redis is unreachable the bot answers rather than dropping questions,
 * since a rare duplicate answer or a missed limit costs less than silence. Commands fail
 * fast (no offline queue) so a Redis outage never stalls an answer.
 */
import { Redis } from 'ioredis';
import { type Logger, silentLogger } from '../log.js';
import type { DedupeStore, RateDecision, RateLimiter } from './shared-state.js';

const PREFIX = 'rag-chat-bot:';

/** INCR the window's counter, starting its expiry on the first hit; returns [count, ms left]. */
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
`;

/**
 * Connects and waits (up to `waitMs`) until Redis is ready: without an offline queue, commands
 * sent before that would fail and be taken for an outage. Not ready in time: the client keeps
 * reconnecting in the background and the stores fail open meanwhile.
 */
export async function connectRedis(url: string, log: Logger = silentLogger, waitMs = 2_000): Promise<Redis> {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // Keep trying to reconnect in the background, at most every 5 s.
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  });
  redis.on('error', (error) => log.warn({ err: error }, 'Redis connection problem'));
  if (redis.status !== 'ready') {
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), waitMs);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!ready) log.warn({ url: new URL(url).host }, 'Redis not reachable yet; sharing nothing until it is');
  }
  return redis;
}

export class RedisDedupeStore implements DedupeStore {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger = silentLogger,
  ) {}

  async firstSeen(key: string, ttlMs: number): Promise<boolean> {
    try {
      return (await this.redis.set(`${PREFIX}seen:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
    } catch (error) {
      this.log.warn({ err: error }, 'Redis unavailable for dedupe; treating the event as new');
      return true;
    }
  }
}

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger = silentLogger,
  ) {}

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    try {
      const [count, left] = (await this.redis.eval(HIT_SCRIPT, 1, `${PREFIX}rate:${key}`, windowMs)) as [
        number,
        number,
      ];
      return count <= limit
        ? { allowed: true, retryAfterMs: 0 }
        : { allowed: false, retryAfterMs: Math.max(left, 0) };
    } catch (error) {
      this.log.warn({ err: error }, 'Redis unavailable for rate limits; allowing the question');
      return { allowed: true, retryAfterMs: 0 };
    }
  }
}
