/**
 * The local store's tables. `chunks` holds each passage, the collection it belongs to and its
 * citation fields (a chunk id is unique within its collection); `chunk_terms`
 * is an FTS5 index of the stemmed terms of its title, text and metadata (stemmed by us, see
 * terms.ts, so questions and passages are cut the same way); `chunk_vocab` exposes how many
 * passages hold each term, for the relevance score. The index keeps no copy of the text.
 */
import type { DatabaseSync } from 'node:sqlite';

export const SCHEMA_VERSION = 2;

/** Milliseconds a writer waits for another process's transaction before giving up. */
export const BUSY_TIMEOUT_MS = 30_000;

const chunkColumns = `
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  collection TEXT NOT NULL DEFAULT 'default',
  source TEXT NOT NULL,
  title TEXT,
  url TEXT,
  text TEXT NOT NULL,
  metadata TEXT NOT NULL,
  UNIQUE (collection, id)`;

/**
 * Version 1 had no collections: its chunks move into `default`, keeping their rowids, which
 * the FTS5 index is keyed by, so nothing is re-indexed.
 */
const FROM_VERSION_1 = `
CREATE TABLE chunks_v2 (${chunkColumns}) STRICT;
INSERT INTO chunks_v2 (rowid, id, collection, source, title, url, text, metadata)
  SELECT rowid, id, 'default', source, title, url, text, metadata FROM chunks;
DROP TABLE chunks;
ALTER TABLE chunks_v2 RENAME TO chunks;
CREATE INDEX IF NOT EXISTS chunks_by_collection ON chunks (collection);
`;

const TABLES = `
CREATE TABLE IF NOT EXISTS store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS chunks (${chunkColumns}) STRICT;
CREATE INDEX IF NOT EXISTS chunks_by_collection ON chunks (collection);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5(
  title, body, meta,
  content = '', contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_vocab USING fts5vocab(chunk_terms, 'row');
`;

/** WAL lets the bot read while `npm run ingest` writes; writers queue for each other. */
export function configure(db: DatabaseSync): void {
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
}

function schemaVersion(db: DatabaseSync): number | undefined {
  const hasInfo = db
    .prepare("SELECT 1 AS yes FROM sqlite_master WHERE type = 'table' AND name = 'store_info'")
    .get();
  if (!hasInfo) return undefined;
  const row = db.prepare("SELECT value FROM store_info WHERE key = 'schema'").get() as
    | { value: string }
    | undefined;
  return row ? Number(row.value) : undefined;
}

/** Creates the tables once; safe when several processes open a new store at the same moment. */
export function ensureSchema(db: DatabaseSync): void {
  if (schemaVersion(db) === SCHEMA_VERSION) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    // Another process may have upgraded the file while this one waited for the lock.
    const version = schemaVersion(db);
    if (version === 1) db.exec(FROM_VERSION_1);
    else if (version !== SCHEMA_VERSION) db.exec(TABLES);
    db.prepare("INSERT OR REPLACE INTO store_info (key, value) VALUES ('schema', ?)").run(
      String(SCHEMA_VERSION),
    );
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}
