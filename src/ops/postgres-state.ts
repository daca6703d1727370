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
import { type Logger, silentLogger } from '../log.js';
import type { PostgresDatabase } from '../state/postgres.js';
import { OutageLog } from './outage-log.js';
import {
  type DedupeStore,
  MemoryDedupeStore,
  MemoryRateLimiter,
  type RateDecision,
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

/** Expired keys and windows are deleted at most this often, by whichever instance passes by. */
const SWEEP_EVERY_MS = 60_000;

export class PostgresDedupeStore implements DedupeStore {
  private readonly outage: OutageLog;
  private lastSweep = 0;

  constructor(
    private readonly db: PostgresDatabase,
    log: Logger = silentLogger,
    /** Stands in while the database is unreachable. */
    private readonly fallback: DedupeStore = new MemoryDedupeStore(),
  ) {
    this.outage = new OutageLog(log, 'PostgreSQL', 'dedupe');
  }

  async firstSeen(key: string, ttlMs: number): Promise<boolean> {
    try {
      // A key is new when absent or expired: the insert (or the refresh of an expired key) wins.
      const { rowCount } = await this.db.pool.query(
        `INSERT INTO rag_seen_keys (key, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')
         ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
         WHERE rag_seen_keys.expires_at <= now()`,
        [key, ttlMs],
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
  ) {
    this.outage = new OutageLog(log, 'PostgreSQL', 'rate limits');
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    try {
      // One fixed window per key: a hit after the window has passed starts a new one.
      const { rows } = await this.db.pool.query<{ hits: number; left_ms: number }>(
        `INSERT INTO rag_rate_windows AS w (key, started_at, hits) VALUES ($1, now(), 1)
         ON CONFLICT (key) DO UPDATE SET
           hits = CASE WHEN w.started_at <= now() - $2 * interval '1 millisecond' THEN 1 ELSE w.hits + 1 END,
           started_at = CASE WHEN w.started_at <= now() - $2 * interval '1 millisecond' THEN now()
                        ELSE w.started_at END
         RETURNING hits,
           (extract(epoch FROM started_at + $2 * interval '1 millisecond' - now()) * 1000)::float8 AS left_ms`,
        [key, windowMs],
      );
      this.outage.worked();
      this.sweep(windowMs);
      const row = rows[0]!;
      return row.hits <= limit
        ? { allowed: true, retryAfterMs: 0 }
        : { allowed: false, retryAfterMs: Math.max(Math.ceil(row.left_ms), 0) };
    } catch (error) {
      this.outage.failed(error);
      return this.fallback.hit(key, limit, windowMs);
    }
  }

  private sweep(windowMs: number): void {
    const now = Date.now();
    if (now - this.lastSweep < Math.max(SWEEP_EVERY_MS, windowMs)) return;
    this.lastSweep = now;
    void this.db.pool
      .query("DELETE FROM rag_rate_windows WHERE started_at < now() - $1 * interval '1 millisecond'", [
        windowMs,
      ])
      .catch(() => undefined);
  }
}
