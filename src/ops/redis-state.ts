/**
 * Shared state in Redis for several instances behind a load balancer: event dedupe (so a
 * Slack retry landing on another instance is still dropped) and rate-limit windows.
 *
 * Both fail over to this instance's own memory while Redis is unreachable: the bot keeps
 * answering, and still drops retries and applies limits as a single instance would (only
 * what other instances saw is missed). Commands fail fast (no offline queue) so an outage
 * never stalls an answer; the switch and the recovery are each logged once.
 */
import { Redis } from 'ioredis';
import { type Logger, silentLogger } from '../log.js';
import { OutageLog } from './outage-log.js';
import {
  type DedupeStore,
  MemoryDedupeStore,
  MemoryRateLimiter,
  type RateDecision,
  type RateLimit,
  type RateLimiter,
} from './shared-state.js';

const PREFIX = 'rag-chat-bot:';

/**
 * One hit on each key (KEYS[i], at most ARGV[2i-1] hits per ARGV[2i] ms), counted only when every
 * key allows it. Each counter carries its own expiry, set from its own window when it starts (and
 * set again should a counter ever be found without one, so none can outlive its window for good).
 * Returns {0, 0} when counted, else {i, ms left} for the first key that refused.
 */
const HIT_ALL_SCRIPT = `
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[2 * i - 1]) then
    local left = redis.call('PTTL', key)
    if left < 0 then
      redis.call('PEXPIRE', key, ARGV[2 * i])
      left = tonumber(ARGV[2 * i])
    end
    return {i, left}
  end
end
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 or redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, ARGV[2 * i]) end
end
return {0, 0}
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
  const host = redisHost(url);
  // The client retries every few seconds for as long as Redis is away, and reports each failed
  // attempt: said once when the trouble starts and once when it is over, not every 5 s for hours.
  let failing = false;
  redis.on('error', (error: Error & { code?: string }) => {
    lastErrors.set(redis, error);
    if (failing) return;
    failing = true;
    log.warn({ redis: host, code: error.code }, redisProblem(error, host));
    log.debug({ err: error, redis: host }, 'Redis connection error');
  });
  redis.on('ready', () => {
    if (failing) log.info({ redis: host }, `Redis at ${host} is reachable again`);
    failing = false;
  });
  if (redis.status !== 'ready') {
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), waitMs);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!ready && !failing)
      log.warn({ redis: host }, `Redis at ${host} has not answered yet; sharing nothing until it does`);
  }
  return redis;
}

const lastErrors = new WeakMap<Redis, Error & { code?: string }>();

/** Why a client from `connectRedis` could not connect last, in words (doctor), if it failed. */
export function connectionProblem(redis: Redis, url: string): string | undefined {
  const error = lastErrors.get(redis);
  return error ? redisProblem(error, redisHost(url), false) : undefined;
}

/** `host:port` of a Redis URL, for people; never its password. */
function redisHost(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'REDIS_URL';
  }
}

/**
 * What is wrong with Redis, in a sentence an operator can act on; never the URL's password.
 * `running`: said by a running bot, which goes on with its own memory meanwhile.
 */
export function redisProblem(error: Error & { code?: string }, host: string, running = true): string {
  const meanwhile = (until: string) =>
    running ? `; dedupe and rate limits use this instance's memory until ${until}` : '';
  const reply = (error.message ?? '').split(' ')[0];
  if (reply === 'NOAUTH' || reply === 'WRONGPASS' || /invalid password/i.test(error.message ?? ''))
    return `Redis at ${host} refused the credentials in REDIS_URL (${reply}): set the password (redis://:password@host:6379, or user:password for an ACL user)${meanwhile('it accepts them')}`;
  if (
    error.code &&
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(error.code)
  )
    return `Redis at ${host} is not reachable (${error.code}): check that it is running and REDIS_URL's host and port${meanwhile('it is')}`;
  return `Redis at ${host}: ${error.message}${meanwhile('it answers')}`;
}

export class RedisDedupeStore implements DedupeStore {
  private readonly outage: OutageLog;

  constructor(
    private readonly redis: Redis,
    log: Logger = silentLogger,
    /** Stands in while Redis is unreachable. */
    private readonly fallback: DedupeStore = new MemoryDedupeStore(),
  ) {
    this.outage = new OutageLog(log, 'Redis', 'dedupe');
  }

  async firstSeen(key: string, ttlMs: number): Promise<boolean> {
    try {
      const first = (await this.redis.set(`${PREFIX}seen:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
      this.outage.worked();
      // Also remembered locally, so a retry arriving during a later outage is still known here.
      await this.fallback.firstSeen(key, ttlMs);
      return first;
    } catch (error) {
      this.outage.failed(error);
      return this.fallback.firstSeen(key, ttlMs);
    }
  }

  async forget(key: string): Promise<void> {
    await this.fallback.forget(key);
    try {
      await this.redis.del(`${PREFIX}seen:${key}`);
      this.outage.worked();
    } catch (error) {
      this.outage.failed(error);
    }
  }
}

export class RedisRateLimiter implements RateLimiter {
  private readonly outage: OutageLog;

  constructor(
    private readonly redis: Redis,
    log: Logger = silentLogger,
    /** Stands in while Redis is unreachable. */
    private readonly fallback: RateLimiter = new MemoryRateLimiter(),
  ) {
    this.outage = new OutageLog(log, 'Redis', 'rate limits');
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    return this.hitAll([{ key, limit, windowMs }]);
  }

  async hitAll(limits: readonly RateLimit[]): Promise<RateDecision & { readonly refused?: number }> {
    try {
      const [refused, left] = (await this.redis.eval(
        HIT_ALL_SCRIPT,
        limits.length,
        ...limits.map(({ key }) => `${PREFIX}rate:${key}`),
        ...limits.flatMap(({ limit, windowMs }) => [limit, windowMs]),
      )) as [number, number];
      this.outage.worked();
      if (refused > 0) return { allowed: false, retryAfterMs: Math.max(left, 0), refused: refused - 1 };
      // Also counted locally, so an outage later starts from what this instance has seen, not from zero.
      await this.fallback.hitAll(limits);
      return { allowed: true, retryAfterMs: 0 };
    } catch (error) {
      this.outage.failed(error);
      return this.fallback.hitAll(limits);
    }
  }
}
