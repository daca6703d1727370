/**
 * The embedded knowledge store: passages in one SQLite file (Node's built-in `node:sqlite`),
 * ranked by FTS5's BM25 over stemmed terms of their title, text and metadata. It needs no
 * server, no account and downloads nothing. Writes are incremental transactions, so ingestion
 * never rewrites the store; WAL lets a running bot read while `npm run ingest` writes, and
 * every search reads the file as it is now, so new documents are visible without a restart.
 * Why BM25 and not an embedding model: docs/retrieval-quality.md.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { failures, RagError } from '../../core/failures.js';
import {
  type Chunk,
  type CollectionStore,
  DEFAULT_COLLECTION,
  type Passage,
  type SearchOptions,
  type StoreStats,
} from '../../core/types.js';
import { type Logger, silentLogger } from '../../log.js';
import { LocalStoreError } from './errors.js';
import { importLegacyJson } from './legacy-json.js';
import {
  AGREEMENT_DEPTH,
  BODY_WEIGHT,
  META_WEIGHT,
  metadataText,
  RELEVANCE_FLOOR,
  rankingTerms,
  relevanceScorer,
  TITLE_WEIGHT,
  withAgreement,
} from './ranking.js';
import { BUSY_TIMEOUT_MS, configure, ensureSchema } from './schema.js';
import { checkWritable, loadSqlite, processUser, SQLITE_READONLY } from './sqlite.js';
import { queryTerms, terms } from './terms.js';

export const STORE_FILE = 'store.sqlite';

export { LocalStoreError };

export interface LocalStoreOptions {
  /** Folder for the store file; created if missing. */
  readonly dir: string;
  readonly logger?: Logger;
}

interface ChunkRow {
  readonly rowid: number;
  readonly id: string;
  readonly source: string;
  readonly title: string | null;
  readonly url: string | null;
  readonly text: string;
  readonly metadata: string;
}

/** Document frequencies remembered between writes: enough for any session of questions. */
const MAX_CACHED_FREQUENCIES = 50_000;

/** SQLite result codes that mean the file is not a store we can read. */
const DAMAGED_CODES = new Set([11, 26]); // SQLITE_CORRUPT, SQLITE_NOTADB
const BUSY_CODES = new Set([5, 6]); // SQLITE_BUSY, SQLITE_LOCKED

function sqliteCode(error: unknown): number | undefined {
  const code = (error as { errcode?: unknown }).errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

function indexedTerms(chunk: Pick<Chunk, 'source' | 'title' | 'text' | 'metadata'>) {
  return {
    title: terms(chunk.title ?? '').join(' '),
    body: terms(chunk.text).join(' '),
    meta: terms(metadataText(chunk)).join(' '),
  };
}

function toPassage(row: ChunkRow, score: number): Passage {
  return {
    id: row.id,
    text: row.text,
    source: row.source,
    ...(row.title ? { title: row.title } : {}),
    ...(row.url ? { url: row.url } : {}),
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    score,
  };
}

/** Statements and corpus statistics shared by every collection's view of one open file. */
interface Shared {
  readonly db: DatabaseSync;
  readonly statements: Statements;
  /** Corpus statistics, valid until the file changes (checked with `PRAGMA data_version`). */
  statsVersion: number;
  documents: number;
  /** Collections holding passages (refreshed with the statistics). */
  present: ReadonlySet<string>;
  readonly frequencies: Map<string, number>;
  closed: boolean;
}

type Statements = ReturnType<typeof prepare>;

function prepare(db: DatabaseSync) {
  const statements = {
    // When every collection in the file is wanted, no row needs checking: rank the index alone.
    searchAll: db.prepare(
      `WITH ranked AS (
         SELECT rowid, bm25(chunk_terms, ${TITLE_WEIGHT}, ${BODY_WEIGHT}, ${META_WEIGHT}) AS rank
         FROM chunk_terms WHERE chunk_terms MATCH ? ORDER BY rank LIMIT ?
       )
       SELECT c.rowid, c.id, c.source, c.title, c.url, c.text, c.metadata
       FROM ranked JOIN chunks c ON c.rowid = ranked.rowid ORDER BY ranked.rank, c.rowid`,
    ),
    search: db.prepare(
      `SELECT c.rowid, c.id, c.source, c.title, c.url, c.text, c.metadata
       FROM chunk_terms JOIN chunks c ON c.rowid = chunk_terms.rowid
       WHERE chunk_terms MATCH ? AND c.collection IN (SELECT value FROM json_each(?))
       ORDER BY bm25(chunk_terms, ${TITLE_WEIGHT}, ${BODY_WEIGHT}, ${META_WEIGHT}), c.rowid LIMIT ?`,
    ),
    documentFrequency: db.prepare('SELECT doc FROM chunk_vocab WHERE term = ?'),
    count: db.prepare('SELECT count(*) AS n FROM chunks'),
    countIn: db.prepare('SELECT count(*) AS n FROM chunks WHERE collection = ?'),
    collections: db.prepare('SELECT collection, count(*) AS n FROM chunks GROUP BY collection'),
    collectionNames: db.prepare('SELECT DISTINCT collection FROM chunks'),
    dataVersion: db.prepare('PRAGMA data_version'),
    byId: db.prepare(
      'SELECT rowid, id, source, title, url, text, metadata FROM chunks WHERE collection = ? AND id = ?',
    ),
    insertChunk: db.prepare(
      'INSERT INTO chunks (id, collection, source, title, url, text, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    updateChunk: db.prepare(
      'UPDATE chunks SET source = ?, title = ?, url = ?, text = ?, metadata = ? WHERE rowid = ?',
    ),
    deleteChunk: db.prepare('DELETE FROM chunks WHERE rowid = ?'),
    insertTerms: db.prepare('INSERT INTO chunk_terms (rowid, title, body, meta) VALUES (?, ?, ?, ?)'),
    deleteTerms: db.prepare('DELETE FROM chunk_terms WHERE rowid = ?'),
    deleteCollectionTerms: db.prepare(
      'DELETE FROM chunk_terms WHERE rowid IN (SELECT rowid FROM chunks WHERE collection = ?)',
    ),
    deleteCollection: db.prepare('DELETE FROM chunks WHERE collection = ?'),
    listIds: db.prepare('SELECT id, source FROM chunks WHERE collection = ?'),
  };
  // FTS5 writes its own shadow tables, which can leave SQLite's "last insert rowid" beyond
  // JavaScript's safe integers; Node 26 throws on such a result unless it comes as a BigInt.
  for (const write of [
    statements.insertChunk,
    statements.updateChunk,
    statements.deleteChunk,
    statements.insertTerms,
    statements.deleteTerms,
    statements.deleteCollectionTerms,
    statements.deleteCollection,
  ])
    write.setReadBigInts(true);
  return statements;
}

export class LocalStore implements CollectionStore {
  readonly description: string;
  /** Scores are the share of the question's information the passage covers, discounted for a passage alone among the results (see RELEVANCE_FLOOR). */
  readonly defaultMinScore = RELEVANCE_FLOOR;

  private readonly shared: Shared;

  private constructor(
    shared: Shared | DatabaseSync,
    readonly dir: string,
    private readonly log: Logger,
    /** The collection this view writes into, lists and counts. */
    readonly collectionName: string = DEFAULT_COLLECTION,
  ) {
    this.description =
      collectionName === DEFAULT_COLLECTION
        ? `local store (${dir})`
        : `local store (${dir}, collection ${collectionName})`;
    this.shared =
      'statements' in shared
        ? shared
        : {
            db: shared,
            statements: prepare(shared),
            statsVersion: -1,
            documents: 0,
            present: new Set(),
            frequencies: new Map(),
            closed: false,
          };
  }

  private get db(): DatabaseSync {
    return this.shared.db;
  }

  private get statements(): Statements {
    return this.shared.statements;
  }

  /** The same file, writing into collection `name`. Closing any view closes the file. */
  collection(name: string): LocalStore {
    return new LocalStore(this.shared, this.dir, this.log, name);
  }

  async collections(): Promise<Map<string, number>> {
    const rows = this.statements.collections.all() as unknown as { collection: string; n: number }[];
    return new Map(rows.map((row) => [row.collection, Number(row.n)]));
  }

  /** Opens (or creates) the store in `dir`, importing a JSON store an older version left there. */
  static async open(options: LocalStoreOptions): Promise<LocalStore> {
    const log = options.logger ?? silentLogger;
    const file = join(options.dir, STORE_FILE);
    let db: DatabaseSync;
    try {
      mkdirSync(options.dir, { recursive: true });
      const { DatabaseSync } = loadSqlite();
      db = new DatabaseSync(file);
    } catch (error) {
      throw new LocalStoreError(`Cannot open the local store at ${file}: ${(error as Error).message}`);
    }
    // Two processes creating the file at once can meet SQLITE_BUSY where SQLite calls no busy
    // handler (switching a new file to WAL, upgrading its schema): such a clash is retried,
    // with a short growing pause, for as long as a writer would wait for the lock.
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        configure(db);
        ensureSchema(db);
        // Saved threads and synced sites write here: a file it cannot write fails now, named.
        checkWritable(db);
        break;
      } catch (error) {
        const code = sqliteCode(error);
        if (code === undefined || !BUSY_CODES.has(code) || Date.now() > deadline) {
          db.close();
          throw LocalStore.openError(error, options.dir, file);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(25 * attempt, 250)));
      }
    }
    const store = new LocalStore(db, options.dir, log);
    try {
      const imported = importLegacyJson(options.dir, (chunks) => store.write(() => store.put(chunks)), log);
      if (imported > 0)
        log.info({ chunks: imported, dir: options.dir }, 'imported the JSON store into SQLite');
    } catch (error) {
      store.close();
      throw error;
    }
    log.debug({ file }, 'local store opened');
    return store;
  }

  private static openError(error: unknown, dir: string, file: string): LocalStoreError {
    const code = sqliteCode(error);
    if (code !== undefined && DAMAGED_CODES.has(code)) {
      return new LocalStoreError(
        `The local store at ${file} is damaged (${(error as Error).message}). ` +
          `Delete the folder ${dir} and run the command again to rebuild it from your documents.`,
      );
    }
    if (code !== undefined && BUSY_CODES.has(code)) {
      return new LocalStoreError(
        `The local store at ${file} stayed locked by another process; try again when it has finished.`,
      );
    }
    if (code === SQLITE_READONLY) {
      return new LocalStoreError(
        `The local store at ${file} cannot be written by the user the bot runs as (${processUser()}): ` +
          `${(error as Error).message}. It holds the passages answers are found in, and saved threads and ` +
          `synced sites are written to it. Give that user write access to the file and to its folder ${dir}, ` +
          'or set RAG_DATA_DIR to a folder it may write.',
      );
    }
    return new LocalStoreError(`Cannot open the local store at ${file}: ${(error as Error).message}`);
  }

  async search(query: string, options: SearchOptions): Promise<Passage[]> {
    options.signal?.throwIfAborted();
    const wanted = queryTerms(query);
    if (wanted.length === 0) return [];
    try {
      const frequencies = this.documentFrequencies(wanted);
      const ranked = rankingTerms(wanted, frequencies, this.shared.documents);
      // Terms are letters and digits only (see terms.ts), so quoting makes them plain FTS5 terms.
      const match = ranked.map((term) => `"${term}"`).join(' OR ');
      const wantedCollections = options.collections ?? [DEFAULT_COLLECTION];
      const everything = [...this.shared.present].every((name) => wantedCollections.includes(name));
      // Scores compare each passage's document with the top results' (withAgreement), so at
      // least that many are ranked whatever the caller keeps.
      const depth = Math.max(options.topK, AGREEMENT_DEPTH);
      const rows = (everything
        ? this.statements.searchAll.all(match, depth)
        : this.statements.search.all(
            match,
            JSON.stringify(wantedCollections),
            depth,
          )) as unknown as ChunkRow[];
      if (rows.length === 0) return [];
      const relevance = relevanceScorer(query, wanted, frequencies, this.shared.documents);
      const scored = rows.map((row) => {
        const passage = toPassage(row, 0);
        return { ...passage, score: relevance(passage) };
      });
      return withAgreement(scored).slice(0, options.topK);
    } catch (error) {
      this.log.error({ err: error }, 'local store search failed');
      throw new RagError(
        { ...failures.unavailable('The knowledge base'), service: 'local-store' },
        { cause: error },
      );
    }
  }

  async upsert(chunks: readonly Chunk[]): Promise<void> {
    this.write(() => this.put(chunks));
  }

  async delete(ids: readonly string[]): Promise<void> {
    this.write(() => {
      for (const id of ids) {
        const row = this.statements.byId.get(this.collectionName, id) as ChunkRow | undefined;
        if (!row) continue;
        this.statements.deleteTerms.run(row.rowid);
        this.statements.deleteChunk.run(row.rowid);
      }
    });
  }

  async listIds(): Promise<Map<string, string>> {
    const rows = this.statements.listIds.all(this.collectionName) as unknown as {
      id: string;
      source: string;
    }[];
    return new Map(rows.map((row) => [row.id, row.source]));
  }

  async reset(): Promise<void> {
    this.write(() => {
      const all = Number((this.statements.count.get() as { n: number }).n);
      const mine = Number((this.statements.countIn.get(this.collectionName) as { n: number }).n);
      if (all === mine) this.db.exec("INSERT INTO chunk_terms (chunk_terms) VALUES ('delete-all')");
      else this.statements.deleteCollectionTerms.run(this.collectionName);
      this.statements.deleteCollection.run(this.collectionName);
    });
  }

  async stats(): Promise<StoreStats> {
    return { vectorCount: Number((this.statements.countIn.get(this.collectionName) as { n: number }).n) };
  }

  /** Releases the file; the store (and every collection's view of it) cannot be used afterwards. */
  close(): void {
    if (this.shared.closed) return;
    this.shared.closed = true;
    this.db.close();
  }

  /** Inserts new chunks and replaces changed ones; unchanged ones cost one lookup. */
  private put(chunks: readonly Chunk[]): void {
    const s = this.statements;
    for (const chunk of chunks) {
      const metadata = JSON.stringify(chunk.metadata ?? {});
      const title = chunk.title || null;
      const url = chunk.url || null;
      const existing = s.byId.get(this.collectionName, chunk.id) as ChunkRow | undefined;
      if (!existing) {
        const indexed = indexedTerms(chunk);
        const { lastInsertRowid } = s.insertChunk.run(
          chunk.id,
          this.collectionName,
          chunk.source,
          title,
          url,
          chunk.text,
          metadata,
        );
        s.insertTerms.run(lastInsertRowid, indexed.title, indexed.body, indexed.meta);
        continue;
      }
      const same =
        existing.source === chunk.source &&
        existing.title === title &&
        existing.url === url &&
        existing.text === chunk.text &&
        existing.metadata === metadata;
      if (same) continue;
      const indexed = indexedTerms(chunk);
      s.updateChunk.run(chunk.source, title, url, chunk.text, metadata, existing.rowid);
      s.deleteTerms.run(existing.rowid);
      s.insertTerms.run(existing.rowid, indexed.title, indexed.body, indexed.meta);
    }
  }

  /** One write transaction; other processes' writers wait for it (and it for them). */
  private write(work: () => void): void {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      throw this.writeError(error);
    }
    try {
      work();
      this.db.exec('COMMIT');
    } catch (error) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // Already rolled back by SQLite itself.
      }
      throw this.writeError(error);
    } finally {
      this.shared.statsVersion = -1;
    }
  }

  private writeError(error: unknown): LocalStoreError {
    const code = sqliteCode(error);
    if (code !== undefined && BUSY_CODES.has(code)) {
      return new LocalStoreError(
        `The local store in ${this.dir} stayed locked by another writer for too long; nothing was changed. ` +
          'Run the command again when the other ingestion has finished.',
      );
    }
    return new LocalStoreError(`Cannot write to the local store in ${this.dir}: ${(error as Error).message}`);
  }

  /** Re-reads the passage count when this or another process has changed the file. */
  private refreshStatistics(): void {
    const shared = this.shared;
    const { data_version: version } = this.statements.dataVersion.get() as { data_version: number };
    if (version === shared.statsVersion) return;
    shared.statsVersion = version;
    shared.documents = Number((this.statements.count.get() as { n: number }).n);
    shared.present = new Set(
      (this.statements.collectionNames.all() as unknown as { collection: string }[]).map(
        (row) => row.collection,
      ),
    );
    shared.frequencies.clear();
  }

  private documentFrequencies(wanted: readonly string[]): Map<string, number> {
    this.refreshStatistics();
    const frequencies = this.shared.frequencies;
    if (frequencies.size > MAX_CACHED_FREQUENCIES) frequencies.clear();
    for (const term of wanted) {
      if (frequencies.has(term)) continue;
      const row = this.statements.documentFrequency.get(term) as { doc: number } | undefined;
      frequencies.set(term, row ? Number(row.doc) : 0);
    }
    return frequencies;
  }
}
