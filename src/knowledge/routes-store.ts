/**
 * Routes set from the chat (`/kb use`). By default in the bot's own database, so every process
 * on the data volume (the bot, its Discord shards, `npm run ingest`) sees them; with
 * DATABASE_URL in PostgreSQL, or else with REDIS_URL in Redis, so instances on different
 * machines agree on what each channel reads. Read per
 * question (one lookup for the place's keys), with no cache to go stale across instances.
 */
import type { Redis } from 'ioredis';
import { type Logger, silentLogger } from '../log.js';
import type { AppDatabase } from '../state/app-db.js';
import type { PostgresDatabase } from '../state/postgres.js';
import type { Routes } from './collections.js';

export interface RouteSetting {
  readonly collections: string[];
  readonly setBy: string;
  readonly setAt: string;
}

export interface RouteStore {
  /** The routes set from the chat for these place keys. */
  lookup(keys: readonly string[]): Promise<Routes>;
  set(key: string, collections: readonly string[], setBy: string): Promise<void>;
  clear(key: string): Promise<boolean>;
}

export function sqliteRouteStore(app: AppDatabase): RouteStore {
  app.migrate(
    'knowledge-routes-1',
    `CREATE TABLE knowledge_routes (
       place TEXT PRIMARY KEY,
       collections TEXT NOT NULL,
       set_by TEXT NOT NULL,
       set_at TEXT NOT NULL
     ) STRICT;`,
  );
  const get = app.db.prepare('SELECT collections FROM knowledge_routes WHERE place = ?');
  const upsert = app.db.prepare(
    `INSERT INTO knowledge_routes (place, collections, set_by, set_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (place) DO UPDATE SET collections = excluded.collections, set_by = excluded.set_by, set_at = excluded.set_at`,
  );
  const remove = app.db.prepare('DELETE FROM knowledge_routes WHERE place = ?');
  return {
    async lookup(keys) {
      const found = new Map<string, string[]>();
      for (const key of keys) {
        const row = get.get(key) as { collections: string } | undefined;
        if (row) found.set(key, JSON.parse(row.collections) as string[]);
      }
      return found;
    },
    async set(key, collections, setBy) {
      upsert.run(key, JSON.stringify(collections), setBy, new Date().toISOString());
    },
    async clear(key) {
      return Number(remove.run(key).changes) > 0;
    },
  };
}

/**
 * Routes in PostgreSQL (DATABASE_URL): every instance on every host reads the same table, per
 * question, so a `/kb use` through one instance applies to the next question any instance gets.
 */
export async function postgresRouteStore(db: PostgresDatabase): Promise<RouteStore> {
  await db.migrate(
    'knowledge-routes-1',
    `CREATE TABLE knowledge_routes (
       place text PRIMARY KEY,
       collections jsonb NOT NULL,
       set_by text NOT NULL,
       set_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  return {
    async lookup(keys) {
      const { rows } = await db.pool.query<{ place: string; collections: string[] }>(
        'SELECT place, collections FROM knowledge_routes WHERE place = ANY($1::text[])',
        [keys],
      );
      return new Map(rows.map((row) => [row.place, row.collections]));
    },
    async set(key, collections, setBy) {
      await db.pool.query(
        `INSERT INTO knowledge_routes (place, collections, set_by) VALUES ($1, $2::jsonb, $3)
         ON CONFLICT (place) DO UPDATE SET collections = excluded.collections, set_by = excluded.set_by,
           set_at = now()`,
        [key, JSON.stringify(collections), setBy],
      );
    },
    async clear(key) {
      const { rowCount } = await db.pool.query('DELETE FROM knowledge_routes WHERE place = $1', [key]);
      return (rowCount ?? 0) > 0;
    },
  };
}

const ROUTES_KEY = 'rag-chat-bot:knowledge-routes';

/**
 * Routes in one Redis hash (place → setting). While Redis is unreachable, lookups answer from
 * what this instance last read or wrote, so answers go on with the routes as they were; a change
 * (`/kb use`) fails and says so rather than being lost.
 */
export function redisRouteStore(redis: Redis, log: Logger = silentLogger): RouteStore {
  const lastKnown = new Map<string, string[] | undefined>();
  let down = false;
  const parse = (raw: string | null): string[] | undefined =>
    raw ? (JSON.parse(raw) as RouteSetting).collections : undefined;
  return {
    async lookup(keys) {
      const found = new Map<string, string[]>();
      try {
        const values = keys.length > 0 ? await redis.hmget(ROUTES_KEY, ...keys) : [];
        for (const [i, key] of keys.entries()) lastKnown.set(key, parse(values[i] ?? null));
        if (down) log.info('Redis is back; knowledge routes shared again');
        down = false;
      } catch (error) {
        if (!down)
          log.warn({ err: error }, 'Redis unavailable for knowledge routes; using the last ones seen');
        down = true;
      }
      for (const key of keys) {
        const collections = lastKnown.get(key);
        if (collections) found.set(key, collections);
      }
      return found;
    },
    async set(key, collections, setBy) {
      const setting: RouteSetting = { collections: [...collections], setBy, setAt: new Date().toISOString() };
      await redis.hset(ROUTES_KEY, key, JSON.stringify(setting));
      lastKnown.set(key, setting.collections);
    },
    async clear(key) {
      const removed = (await redis.hdel(ROUTES_KEY, key)) > 0;
      lastKnown.set(key, undefined);
      return removed;
    },
  };
}
