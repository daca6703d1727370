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
  /** Forgets `key`, so it is new again (a claim given back when what it was for was refused). */
  forget(key: string): Promise<void>;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** When the caller may try again; 0 when allowed. */
  readonly retryAfterMs: number;
}

/** One fixed-window limit: at most `limit` hits on `key` per `windowMs`. */
export interface RateLimit {
  readonly key: string;
  readonly limit: number;
  readonly windowMs: number;
}

export interface RateLimiter {
  /** Counts one hit for `key` within a fixed window; refuses beyond `limit`. */
  hit(key: string, limit: number, windowMs: number): Promise<RateDecision>;
  /**
   * One hit on each of `limits`, counted only when every one of them allows it: an attempt any
   * limit refuses spends nothing of the others. `refused` is the index of the first that refused.
   */
  hitAll(limits: readonly RateLimit[]): Promise<RateDecision & { readonly refused?: number }>;
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

  async forget(key: string): Promise<void> {
    this.seen.delete(key);
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 1_000) return;
    this.lastSweep = now;
    for (const [key, expiresAt] of this.seen) if (expiresAt <= now) this.seen.delete(key);
  }
}

/**
 * In-process fixed-window counters. Each counter keeps its own expiry, set from the window it was
 * started with: one limiter serves limits per minute and per hour alike, and a counter is only
 * ever dropped once its own window has passed.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly counters = new Map<string, { expiresAt: number; count: number }>();
  private lastSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    return this.hitAll([{ key, limit, windowMs }]);
  }

  async hitAll(limits: readonly RateLimit[]): Promise<RateDecision & { readonly refused?: number }> {
    const now = this.now();
    this.sweep(now);
    for (const [index, { key, limit }] of limits.entries()) {
      const counter = this.live(key, now);
      if (counter && counter.count >= limit) {
        return { allowed: false, retryAfterMs: counter.expiresAt - now, refused: index };
      }
    }
    for (const { key, windowMs } of limits) {
      const counter = this.live(key, now);
      if (counter) counter.count += 1;
      else this.counters.set(key, { expiresAt: now + windowMs, count: 1 });
    }
    return { allowed: true, retryAfterMs: 0 };
  }

  private live(key: string, now: number) {
    const counter = this.counters.get(key);
    return counter && counter.expiresAt > now ? counter : undefined;
  }

  /** Drops counters whose own window has passed, at most once a second. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 1_000) return;
    this.lastSweep = now;
    for (const [key, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(key);
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
    const state = await import('./postgres-state.js');
    const { PostgresDedupeStore, PostgresRateLimiter } = state;
    const db = options.database;
    await db.migrate(state.SHARED_STATE_MIGRATION, state.SHARED_STATE_SCHEMA);
    await db.migrate(state.RATE_EXPIRY_MIGRATION, state.RATE_EXPIRY_SCHEMA);
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
