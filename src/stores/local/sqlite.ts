/**
 * Loads Node's built-in SQLite. On Node 22 the module still prints an ExperimentalWarning when
 * first loaded; users of the bot cannot act on it, so that one warning is swallowed while the
 * module loads. Every other warning goes through untouched.
 */
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';
import type * as Sqlite from 'node:sqlite';

type SqliteModule = typeof Sqlite;

let loaded: SqliteModule | undefined;

function isSqliteExperimentalWarning(warning: string | Error, rest: readonly unknown[]): boolean {
  const message = typeof warning === 'string' ? warning : warning.message;
  const first = rest[0];
  const type =
    typeof warning !== 'string'
      ? warning.name
      : typeof first === 'string'
        ? first
        : typeof first === 'object' && first !== null && 'type' in first
          ? String((first as { type: unknown }).type)
          : '';
  return type === 'ExperimentalWarning' && /sqlite/i.test(message);
}

export function loadSqlite(): SqliteModule {
  if (loaded) return loaded;
  const original = process.emitWarning;
  process.emitWarning = function emitWarning(
    this: NodeJS.Process,
    warning: string | Error,
    ...rest: unknown[]
  ): void {
    if (isSqliteExperimentalWarning(warning, rest)) return;
    Reflect.apply(original, process, [warning, ...rest]);
  } as typeof process.emitWarning;
  try {
    loaded = createRequire(import.meta.url)('node:sqlite') as SqliteModule;
  } finally {
    process.emitWarning = original;
  }
  return loaded;
}

/** SQLITE_READONLY, the primary code: the file or its folder cannot be written by this process. */
export const SQLITE_READONLY = 8;

/**
 * Tries a write (the header's user_version set to itself) and rolls it back, so a file this
 * process may read but not write fails at open, with SQLite's own error, instead of at the
 * first question that writes ("attempt to write a readonly database").
 */
export function checkWritable(db: Sqlite.DatabaseSync): void {
  const { user_version: version } = db.prepare('PRAGMA user_version').get() as { user_version: number };
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(`PRAGMA user_version = ${Number(version)}`);
  } finally {
    try {
      db.exec('ROLLBACK');
    } catch {
      // SQLite already rolled back after the failed write.
    }
  }
}

/** Who the process runs as, for a message telling the operator whose access is missing. */
export function processUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}
