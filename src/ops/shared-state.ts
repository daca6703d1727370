/**
 * Small interfaces for the state several instances must share when scaled out: event
 * dedupe and rate-limit counters. The in-process defaults serve one instance; a Redis
 * implementation (selected by REDIS_URL) or a PostgreSQL one (DATABASE_URL without REDIS_URL)
 * serves many.
 */
import { type Logger, silentLogger } from '../log.js';
import type { PostgresDatabase } from '../state/postgres.js';

export interface DedupeStore {
  /** True the first time `key` is seen within `ttlMs`; false for repeats. */
  firstSeen(key: string, ttlMs: number): Promise<boolean>;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** When the caller may try again; 0 when allowed. */
  readonly retryAfterMs: number;
}

export interface RateLimiter {
  /** Counts one hit for `key` within a fixed window; refuses beyond `limit`. */
  hit(key: string, limit: number, windowMs: number): Promise<RateDecision>;
}

/** In-process TTL set. Expired keys are swept lazily so memory stays bounded by traffic. */
export class MemoryDedupeStore implements DedupeStore {
  private readonly seen = new Map<string, number>();
  private lastSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async firstSeen(key: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    this.sweep(now);
    const expiresAt = this.seen.get(key);
    if (expiresAt !== undefined && expiresAt > now) return false;
    this.seen.set(key, now + ttlMs);
    return true;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 1_000) return;
    this.lastSweep = now;
    for (const [key, expiresAt] of this.seen) if (expiresAt <= now) this.seen.delete(key);
  }
}

/** In-process fixed-window counters. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private lastSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    const now = this.now();
    this.sweep(now, windowMs);
    let window = this.windows.get(key);
    if (!window || now - window.start >= windowMs) {
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    if (window.count >= limit) return { allowed: false, retryAfterMs: window.start + windowMs - now };
    window.count += 1;
    return { allowed: true, retryAfterMs: 0 };
  }

  private sweep(now: number, windowMs: number): void {
    if (now - this.lastSweep < windowMs) return;
    this.lastSweep = now;
    for (const [key, window] of this.windows) if (now - window.start >= windowMs) this.windows.delete(key);
  }
}

export interface SharedState {
  readonly dedupe: DedupeStore;
  readonly rates: RateLimiter;
  readonly description: string;
  close(): Promise<void>;
}

/**
 * Redis when REDIS_URL is set (several instances; it keeps these hot paths even beside
 * PostgreSQL), else PostgreSQL when the bot has a database (DATABASE_URL), in-process otherwise
 * (one instance). While the shared service is unreachable its stores fall back to in-process
 * ones, never to nothing.
 */
export async function createSharedState(
  redisURL: string | undefined,
  log: Logger = silentLogger,
  options: { readonly connectWaitMs?: number; readonly database?: PostgresDatabase } = {},
): Promise<SharedState> {
  if (!redisURL && options.database) {
    const { PostgresDedupeStore, PostgresRateLimiter, SHARED_STATE_MIGRATION, SHARED_STATE_SCHEMA } =
      await import('./postgres-state.js');
    const db = options.database;
    await db.migrate(SHARED_STATE_MIGRATION, SHARED_STATE_SCHEMA);
    return {
      dedupe: new PostgresDedupeStore(db, log),
      rates: new PostgresRateLimiter(db, log),
      description: 'PostgreSQL',
      // The database belongs to the bot, which closes it.
      close: async () => undefined,
    };
  }
  if (!redisURL) {
    return {
      dedupe: new MemoryDedupeStore(),
      rates: new MemoryRateLimiter(),
      description: 'in-process',
      close: async () => undefined,
    };
  }
  // Loaded only when used: a single instance never pays for the Redis client.
  const { connectRedis, RedisDedupeStore, RedisRateLimiter } = await import('./redis-state.js');
  const redis = await connectRedis(redisURL, log, options.connectWaitMs);
  return {
    dedupe: new RedisDedupeStore(redis, log),
    rates: new RedisRateLimiter(redis, log),
    description: 'Redis',
    close: async () => {
      redis.disconnect();
    },
  };
}
