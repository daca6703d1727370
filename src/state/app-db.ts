/**
 * The bot's own small database, beside the knowledge: settings changed from the chat,
 * knowledge sources and their sync state, Slack installations, answer records. One SQLite
 * file (`RAG_DATA_DIR/app.db`, Node's built-in node:sqlite) in WAL mode, so `npm start`, its
 * shards and the commands can read and write it at the same time. Each feature owns its
 * tables and creates them through `migrate`, once, whichever process gets there first.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { loadSqlite } from '../stores/local/sqlite.js';

/** Milliseconds a writer waits for another process's transaction before giving up. */
const BUSY_TIMEOUT_MS = 30_000;
/** For a short blocking pause while opening (opening is synchronous). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

export interface AppDatabase {
  readonly db: DatabaseSync;
  /**
   * Runs `sql` once per database, remembered under `name` (e.g. "settings-1"). Safe when
   * several processes open a new database at the same moment.
   */
  migrate(name: string, sql: string): void;
  /** Runs `work` in one write transaction; rolled back if it throws. */
  transaction<T>(work: () => T): T;
  close(): void;
}

export function openAppDatabase(dataDir: string, file = 'app.db'): AppDatabase {
  mkdirSync(dataDir, { recursive: true });
  const { DatabaseSync } = loadSqlite();
  const db = new DatabaseSync(join(dataDir, file));
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // Processes creating the file at once can meet SQLITE_BUSY where SQLite calls no busy
  // handler (switching a new file to WAL): retried briefly, as a writer would wait.
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
      db.exec(
        'CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT',
      );
      break;
    } catch (error) {
      const code = (error as { errcode?: number }).errcode;
      if (code === undefined || ![5, 6].includes(code & 0xff) || Date.now() > deadline) throw error;
      Atomics.wait(PAUSE, 0, 0, Math.min(25 * attempt, 250));
    }
  }
  const transaction = <T>(work: () => T): T => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  };
  return {
    db,
    transaction,
    migrate(name, sql) {
      const applied = db.prepare('SELECT 1 AS yes FROM migrations WHERE name = ?');
      if (applied.get(name)) return;
      transaction(() => {
        if (applied.get(name)) return;
        db.exec(sql);
        db.prepare('INSERT INTO migrations (name, applied_at) VALUES (?, ?)').run(
          name,
          new Date().toISOString(),
        );
      });
    },
    close: () => db.close(),
  };
}
