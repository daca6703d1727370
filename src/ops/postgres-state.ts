/**
 * Event dedupe, short-lived keys (a file's note said once per thread, one hand-off per answer) and
 * rate-limit windows in PostgreSQL, for a deployment with DATABASE_URL and no REDIS_URL: one
 * service is then enough for several instances. Times come from the database's clock, so
 * instances whose clocks disagree still agree on when a key or window expires.
 *
 * Like the Redis stores, both fall back to this instance's memory while the database is
 * unreachable, and log the outage once: the bot keeps answering, dropping retries and limiting
 * as a single instance would.
 */
import type pg from 'pg';
import { type Logger, silentLogger } from '../log.js';
import type { PostgresDatabase } from '../state/postgres.js';
import { OutageLog } from './outage-log.js';
import {
  type DedupeStore,
  MemoryDedupeStore,
  MemoryRateLimiter,
  type RateDecision,
  type RateLimit,
  type RateLimiter,
} from './shared-state.js';

export const SHARED_STATE_MIGRATION = 'shared-state-1';

export const SHARED_STATE_SCHEMA = `
CREATE TABLE rag_seen_keys (
  key text PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
CREATE INDEX rag_seen_keys_expiry ON rag_seen_keys (expires_at);
CREATE TABLE rag_rate_windows (
  key text PRIMARY KEY,
  started_at timestamptz NOT NULL,
  hits integer NOT NULL
);
CREATE INDEX rag_rate_windows_start ON rag_rate_windows (started_at);
`;

/**
 * Each rate window keeps its own expiry, set from its own length when it starts: one table
 * holds limits per minute and per hour, and a sweep may drop only windows whose own time is up.
 * Windows from before last an hour, the longest limit then.
 */
export const RATE_EXPIRY_MIGRATION = 'shared-state-2';
export const RATE_EXPIRY_SCHEMA = `
ALTER TABLE rag_rate_windows ADD COLUMN expires_at timestamptz;
UPDATE rag_rate_windows SET expires_at = started_at + interval '1 hour';
ALTER TABLE rag_rate_windows ALTER COLUMN expires_at SET NOT NULL;
CREATE INDEX rag_rate_windows_expiry ON rag_rate_windows (expires_at);
`;

/** Expired keys and windows are deleted at most this often, by whichever instance passes by. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Each statement's client-side limit. Dedupe and the rate limits stand in front of every
 * question: against a database that hangs (a lock held, packets dropped without a word) they
 * give up and use this instance's memory, as when the database refuses, instead of holding the
 * question (and its place in the queue) for as long as the database does not answer.
 */
export const SHARED_STATE_TIMEOUT_MS = 2_000;

type TimedQuery = pg.QueryConfig & { readonly query_timeout: number };
const timed = (text: string, values: unknown[], timeoutMs: number): TimedQuery => ({
  text,
  values,
  query_timeout: timeoutMs,
});

export class PostgresDedupeStore implements DedupeStore {
  private readonly outage: OutageLog;
  private lastSweep = 0;

  constructor(
    private readonly db: PostgresDatabase,
    log: Logger = silentLogger,
    /** Stands in while the database is unreachable. */
    private readonly fallback: DedupeStore = new MemoryDedupeStore(),
    private readonly timeoutMs = SHARED_STATE_TIMEOUT_MS,
  ) {
    this.outage = new OutageLog(log, 'PostgreSQL', 'dedupe');
  }

  async firstSeen(key: string, ttlMs: number): Promise<boolean> {
    try {
      // A key is new when absent or expired: the insert (or the refresh of an expired key) wins.
      const { rowCount } = await this.db.pool.query(
        timed(
          `INSERT INTO rag_seen_keys (key, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')
           ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
           WHERE rag_seen_keys.expires_at <= now()`,
          [key, ttlMs],
          this.timeoutMs,
        ),
      );
      this.outage.worked();
      // Also remembered locally, so a retry arriving during a later outage is still known here.
      await this.fallback.firstSeen(key, ttlMs);
      this.sweep();
      return rowCount === 1;
    } catch (error) {
      this.outage.failed(error);
      return this.fallback.firstSeen(key, ttlMs);
    }
  }

  async forget(key: string): Promise<void> {
    await this.fallback.forget(key);
    try {
      await this.db.pool.query(timed('DELETE FROM rag_seen_keys WHERE key = $1', [key], this.timeoutMs));
      this.outage.worked();
    } catch (error) {
      this.outage.failed(error);
    }
  }

  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    void this.db.pool.query('DELETE FROM rag_seen_keys WHERE expires_at < now()').catch(() => undefined);
  }
}

export class PostgresRateLimiter implements RateLimiter {
  private readonly outage: OutageLog;
  private lastSweep = 0;

  constructor(
    private readonly db: PostgresDatabase,
    log: Logger = silentLogger,
    /** Stands in while the database is unreachable. */
    private readonly fallback: RateLimiter = new MemoryRateLimiter(),
    private readonly timeoutMs = SHARED_STATE_TIMEOUT_MS,
  ) {
    this.outage = new OutageLog(log, 'PostgreSQL', 'rate limits');
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    return this.hitAll([{ key, limit, windowMs }]);
  }

  /**
   * One transaction: every key's window row is made to exist and locked (in key order, so two
   * instances never deadlock), each is read as its own expiry says (a window past it counts
   * nothing), and only when every limit allows is each counted (a passed window starts anew).
   */
  async hitAll(limits: readonly RateLimit[]): Promise<RateDecision & { readonly refused?: number }> {
    try {
      const decision = await this.db.transaction(
        async (client) => {
          const keys = limits.map(({ key }) => key);
          await client.query(
            timed(
              `INSERT INTO rag_rate_windows (key, started_at, hits, expires_at)
             SELECT k, now(), 0, now() FROM unnest($1::text[]) AS k ON CONFLICT (key) DO NOTHING`,
              [keys],
              this.timeoutMs,
            ),
          );
          const { rows } = await client.query<{ key: string; hits: number; left_ms: number }>(
            timed(
              `SELECT key, CASE WHEN expires_at > now() THEN hits ELSE 0 END AS hits,
               (extract(epoch FROM expires_at - now()) * 1000)::float8 AS left_ms
             FROM rag_rate_windows WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE`,
              [keys],
              this.timeoutMs,
            ),
          );
          const windows = new Map(rows.map((row) => [row.key, row]));
          for (const [index, { key, limit }] of limits.entries()) {
            const window = windows.get(key);
            if (window && Number(window.hits) >= limit) {
              return { allowed: false, retryAfterMs: Math.max(Math.ceil(window.left_ms), 0), refused: index };
            }
          }
          for (const { key, windowMs } of limits) {
            await client.query(
              timed(
                `UPDATE rag_rate_windows SET
                 hits = CASE WHEN expires_at > now() THEN hits + 1 ELSE 1 END,
                 started_at = CASE WHEN expires_at > now() THEN started_at ELSE now() END,
                 expires_at = CASE WHEN expires_at > now() THEN expires_at
                              ELSE now() + $2 * interval '1 millisecond' END
               WHERE key = $1`,
                [key, windowMs],
                this.timeoutMs,
              ),
            );
          }
          return { allowed: true, retryAfterMs: 0 };
        },
        { queryTimeoutMs: this.timeoutMs },
      );
      this.outage.worked();
      this.sweep();
      // Also counted locally, so an outage later starts from what this instance has seen.
      if (decision.allowed) await this.fallback.hitAll(limits);
      return decision;
    } catch (error) {
      this.outage.failed(error);
      return this.fallback.hitAll(limits);
    }
  }

  /** Drops windows whose own expiry has passed, whatever the limits asked now. */
  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    void this.db.pool.query('DELETE FROM rag_rate_windows WHERE expires_at < now()').catch(() => undefined);
  }
}
