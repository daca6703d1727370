/**
 * Routes set from the chat (`/kb use`), kept in the bot's own database so every process on the
 * data volume (the bot, its Discord shards, `npm run ingest`) sees them. Read per question:
 * one indexed lookup per place key, no cache to go stale across instances.
 */
import type { AppDatabase } from '../state/app-db.js';
import type { Routes } from './collections.js';

export interface RouteStore {
  /** The routes set from the chat for these place keys. */
  lookup(keys: readonly string[]): Routes;
  set(key: string, collections: readonly string[], setBy: string): void;
  clear(key: string): boolean;
  all(): Map<string, { collections: string[]; setBy: string; setAt: string }>;
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
  const list = app.db.prepare(
    'SELECT place, collections, set_by, set_at FROM knowledge_routes ORDER BY place',
  );
  return {
    lookup(keys) {
      const found = new Map<string, string[]>();
      for (const key of keys) {
        const row = get.get(key) as { collections: string } | undefined;
        if (row) found.set(key, JSON.parse(row.collections) as string[]);
      }
      return found;
    },
    set(key, collections, setBy) {
      upsert.run(key, JSON.stringify(collections), setBy, new Date().toISOString());
    },
    clear(key) {
      return Number(remove.run(key).changes) > 0;
    },
    all() {
      const rows = list.all() as unknown as {
        place: string;
        collections: string;
        set_by: string;
        set_at: string;
      }[];
      return new Map(
        rows.map((row) => [
          row.place,
          { collections: JSON.parse(row.collections) as string[], setBy: row.set_by, setAt: row.set_at },
        ]),
      );
    },
  };
}
