/**
 * Dedupe and rate limits in a real PostgreSQL, as instances on different machines with one
 * DATABASE_URL and no Redis see them; and what each instance does while the database is down.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresDedupeStore, PostgresRateLimiter } from '../../src/ops/postgres-state.js';
import { createSharedState, type SharedState } from '../../src/ops/shared-state.js';
import { connectPostgres, type PostgresDatabase } from '../../src/state/postgres.js';
import { captureLogs } from '../support/logs.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';

const databases: PostgresDatabase[] = [];
let url = '';

/** One instance: its own pool on the shared database, state as `npm start` builds it. */
async function instance(): Promise<SharedState & { db: PostgresDatabase }> {
  const db = await connectPostgres(url, { maxConnections: 3 });
  databases.push(db);
  return { ...(await createSharedState(undefined, undefined, { database: db })), db };
}

beforeAll(async () => {
  if (havePostgres) url = await createTestDatabase('shared_state');
});
afterAll(() => Promise.all(databases.map((db) => db.close())));

describe.skipIf(!havePostgres)('shared state in PostgreSQL, without Redis', () => {
  it('is what an instance uses when DATABASE_URL is set and REDIS_URL is not', async () => {
    expect((await instance()).description).toBe('PostgreSQL');
  });

  it('drops an event delivered to two instances at once: one of them answers it', async () => {
    const [a, b] = [await instance(), await instance()];
    const seen = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).dedupe.firstSeen('slack:delivery:Ev1', 60_000)),
    );
    expect(seen.filter(Boolean)).toHaveLength(1);
    expect(await a.dedupe.firstSeen('slack:delivery:Ev2', 60_000)).toBe(true);
  });

  it('forgets a key once it has expired, so a later note is said again', async () => {
    const [a, b] = [await instance(), await instance()];
    expect(await a.dedupe.firstSeen('slack:file-note:T1:F1:x', 50)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await b.dedupe.firstSeen('slack:file-note:T1:F1:x', 60_000)).toBe(true);
    expect(await a.dedupe.firstSeen('slack:file-note:T1:F1:x', 60_000)).toBe(false);
  });

  it('counts one user across instances and says how long to wait', async () => {
    const [a, b] = [await instance(), await instance()];
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await (i % 2 ? a : b).rates.hit('user:slack:U1', 3, 60_000));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions[3]!.retryAfterMs).toBeGreaterThan(50_000);
    expect(decisions[3]!.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect((await a.rates.hit('user:slack:U2', 3, 60_000)).allowed).toBe(true);
  });

  it('opens a new window once the old one has passed', async () => {
    const a = await instance();
    await a.rates.hit('user:slack:U3', 1, 100);
    expect((await a.rates.hit('user:slack:U3', 1, 100)).allowed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await a.rates.hit('user:slack:U3', 1, 100)).allowed).toBe(true);
  });

  it('keeps an hourly window beside per-minute ones: a sweep for short windows leaves it alone', async () => {
    const [a, b] = [await instance(), await instance()];
    for (let i = 0; i < 3; i++) await a.rates.hit('escalation:user:slack:U4', 3, 3_600_000);
    // Short windows come and go (and their sweeps run) meanwhile.
    await b.rates.hit('user:slack:U5', 5, 50);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await b.db.pool.query('DELETE FROM rag_rate_windows WHERE expires_at < now()');
    await b.rates.hit('user:slack:U5', 5, 50);
    const refused = await b.rates.hit('escalation:user:slack:U4', 3, 3_600_000);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(3_500_000);
  });

  it('counts a hit on several limits only when all allow it, and gives a claimed key back', async () => {
    const a = await instance();
    await a.rates.hit('escalation:channel:slack:C1', 1, 3_600_000);
    const both = await a.rates.hitAll([
      { key: 'escalation:user:slack:U6', limit: 1, windowMs: 3_600_000 },
      { key: 'escalation:channel:slack:C1', limit: 1, windowMs: 3_600_000 },
    ]);
    expect(both).toMatchObject({ allowed: false, refused: 1 });
    expect((await a.rates.hit('escalation:user:slack:U6', 1, 3_600_000)).allowed).toBe(true);
    expect(await a.dedupe.firstSeen('slack:escalation:q1', 60_000)).toBe(true);
    await a.dedupe.forget('slack:escalation:q1');
    expect(await (await instance()).dedupe.firstSeen('slack:escalation:q1', 60_000)).toBe(true);
  });

  it('keeps dropping repeats and limiting in memory while the database is down, and logs it once', async () => {
    const { logger, lines } = captureLogs();
    const db = await connectPostgres(url, { maxConnections: 1, connectTimeoutMs: 500 });
    const dedupe = new PostgresDedupeStore(db, logger);
    const rates = new PostgresRateLimiter(db, logger);
    await createSharedState(undefined, undefined, { database: db });
    await db.pool.end();
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push(await dedupe.firstSeen('slack:delivery:Ev9', 60_000));
    expect(seen).toEqual([true, false, false]);
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push((await rates.hit('user:slack:U9', 2, 60_000)).allowed);
    expect(decisions).toEqual([true, true, false]);
    expect(lines.filter((line) => line.includes('PostgreSQL unavailable for dedupe'))).toHaveLength(1);
    expect(lines.filter((line) => line.includes('PostgreSQL unavailable for rate limits'))).toHaveLength(1);
  });

  it('gives up on a database that does not answer, limits in memory meanwhile, and leaves no transaction open', async () => {
    const { logger, lines } = captureLogs();
    const db = await connectPostgres(url, { maxConnections: 2 });
    databases.push(db);
    await createSharedState(undefined, undefined, { database: db });
    // Short limits for the statements that meet the held rows (the default is 2 s).
    const rates = new PostgresRateLimiter(db, logger, undefined, 500);
    const dedupe = new PostgresDedupeStore(db, logger, undefined, 500);
    expect((await new PostgresRateLimiter(db).hit('user:web:hung', 5, 60_000)).allowed).toBe(true);
    // Another session holds the user's window and a dedupe key without answering: every
    // statement on them waits, as on a database that hangs.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT * FROM rag_rate_windows WHERE key = 'user:web:hung' FOR UPDATE");
      await holder.query(
        "INSERT INTO rag_seen_keys (key, expires_at) VALUES ('web:delivery:hung', now() + interval '1 minute')",
      );
      // Each answers within its own limit, from this instance's memory.
      const decisions = [];
      for (let i = 0; i < 3; i++) decisions.push((await rates.hit('user:web:hung', 5, 60_000)).allowed);
      expect(decisions).toEqual([true, true, true]);
      expect(await dedupe.firstSeen('web:delivery:hung', 60_000)).toBe(true);
      expect(await dedupe.firstSeen('web:delivery:hung', 60_000)).toBe(false);
      expect(lines.filter((line) => line.includes('PostgreSQL unavailable for rate limits'))).toHaveLength(1);
      expect(lines.filter((line) => line.includes('PostgreSQL unavailable for dedupe'))).toHaveLength(1);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    // Nothing was left half done: the pool's connections hold no open transaction, and the
    // shared window counts again (one hit before, this one now).
    // A session given up on may pass through 'idle in transaction' before it sees its client gone.
    await waitFor(async () => {
      const open = await db.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
      );
      return open.rows[0]!.n === 0;
    }, 'no transaction left open');
    const { rows } = await db.pool.query<{ hits: number }>(
      "SELECT hits FROM rag_rate_windows WHERE key = 'user:web:hung'",
    );
    expect(rows[0]!.hits).toBe(1);
    const back = () => lines.some((line) => line.includes('PostgreSQL is back; rate limits shared again'));
    await waitFor(
      async () => (await rates.hit('user:web:after', 1_000, 60_000)).allowed && back(),
      'limits shared again',
    );
  });
});
