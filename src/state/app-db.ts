/**
 * The bot's own small database, beside the knowledge: settings changed from the chat,
 * knowledge sources and their sync state, Slack installations, answer records. One SQLite
 * file (`RAG_DATA_DIR/app.db`, Node's built-in node:sqlite) in WAL mode, so `npm start`, its
 * shards and the commands can read and write it at the same time. Each feature owns its
 * tables and creates them through `migrate`, once, whichever process gets there first.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { checkWritable, loadSqlite, processUser, SQLITE_READONLY } from '../stores/local/sqlite.js';

/** Milliseconds a writer waits for another process's transaction before giving up. */
const BUSY_TIMEOUT_MS = 30_000;
/** For a short blocking pause while opening (opening is synchronous). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * The bot's database cannot be opened: damaged, locked or unreadable. The message names the
 * file, what it holds and what to do, and is printed alone at start-up.
 */
export class AppDatabaseError extends Error {
  override name = 'AppDatabaseError';
}

const DAMAGED = new Set([11, 26]); // SQLITE_CORRUPT, SQLITE_NOTADB
const BUSY = new Set([5, 6]); // SQLITE_BUSY, SQLITE_LOCKED
const sqliteCode = (error: unknown): number | undefined => {
  const code = (error as { errcode?: number }).errcode;
  return code === undefined ? undefined : code & 0xff;
};

/** Why `file` cannot be used, for a person: what it is, what happened, what to do. */
function openProblem(file: string, error: unknown): AppDatabaseError {
  const code = sqliteCode(error);
  const detail = (error as Error).message;
  if (code !== undefined && DAMAGED.has(code)) {
    return new AppDatabaseError(
      `The bot's database at ${file} is damaged (${detail}). It holds the settings changed from the chat, ` +
        'the web sources, the Slack installations and the answer records. Restore it from a backup; or move it ' +
        `aside (mv ${file} ${file}.damaged) and start again with a new, empty one: chat settings and web ` +
        'sources are then added again, and workspaces that installed the app install it again.',
    );
  }
  if (code !== undefined && BUSY.has(code)) {
    return new AppDatabaseError(
      `The bot's database at ${file} stayed locked by another process; try again when it has finished.`,
    );
  }
  if (code === SQLITE_READONLY) {
    return new AppDatabaseError(
      `The bot's database at ${file} cannot be written by the user the bot runs as (${processUser()}): ${detail}. ` +
        'It holds the settings changed from the chat, the web sources, the Slack installations and the answer ' +
        'records, and every question writes to it. Give that user write access to the file and to its folder ' +
        `${dirname(file)} (for example chown the folder to it), or set RAG_DATA_DIR to a folder it may write.`,
    );
  }
  return new AppDatabaseError(
    `Cannot open the bot's database at ${file}: ${detail}. Check that the folder RAG_DATA_DIR names exists and the bot's user may read and write it.`,
  );
}

export interface AppDatabase {
  readonly db: DatabaseSync;
  /** The file's path, for messages. */
  readonly file: string;
  /**
   * Runs `sql` once per database, remembered under `name` (e.g. "settings-1"). Safe when
   * several processes open a new database at the same moment.
   */
  migrate(name: string, sql: string): void;
  /** Runs `work` in one write transaction; rolled back if it throws. */
  transaction<T>(work: () => T): T;
  close(): void;
}

export function openAppDatabase(dataDir: string, name = 'app.db'): AppDatabase {
  const file = join(dataDir, name);
  let db: DatabaseSync;
  try {
    mkdirSync(dataDir, { recursive: true });
    const { DatabaseSync } = loadSqlite();
    db = new DatabaseSync(file);
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  } catch (error) {
    throw openProblem(file, error);
  }
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
      // A file the bot may read but not write would open fine and fail every question later.
      checkWritable(db);
      break;
    } catch (error) {
      const code = sqliteCode(error);
      if (code === undefined || !BUSY.has(code) || Date.now() > deadline) {
        db.close();
        throw openProblem(file, error);
      }
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
    file,
    transaction,
    migrate(name, sql) {
      try {
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
      } catch (error) {
        // Damage deeper in the file shows when a feature first reads its tables.
        const code = sqliteCode(error);
        if (code !== undefined && DAMAGED.has(code)) throw openProblem(file, error);
        throw error;
      }
    },
    close: () => db.close(),
  };
}
