/**
 * The registry of knowledge sources: each source added (`npm run ingest -- <url>`, `/kb add`),
 * its kind (web, git, …) and the opaque state its kind keeps between syncs (a cursor), the
 * collection it feeds, its last sync and failures, and per item (a page, a file, an issue) its
 * version, validators (ETag, Last-Modified), content hash, links and chunk ids that make a
 * re-sync cheap and let removed items be pruned; the collections' owners and the per-source sync
 * locks. Behind one asynchronous interface with two homes: the bot's own SQLite database
 * (`SourceRegistry`, src/state/app-db.ts), or PostgreSQL with DATABASE_URL
 * (`PostgresSourceRepository`, sources-postgres.ts), shared by every instance on every host.
 */
import type { AppDatabase } from '../state/app-db.js';
import type { SyncLocks } from './sync-lock.js';

export interface SourceRecord {
  readonly id: number;
  /** Which source kind reads it (src/knowledge/kinds): `web`, `git`, `github`, … */
  readonly kind: string;
  readonly url: string;
  readonly collection: string;
  readonly addedBy: string;
  /** The workspace or server that added it from the chat ("slack:T0123"), in multi-workspace mode. */
  readonly tenant?: string;
  readonly addedAt: string;
  readonly lastSyncAt?: string;
  /** `ok`, `partial` (some pages failed) or `failed` (the sync stopped). */
  readonly lastStatus?: string;
  readonly lastError?: string;
  readonly pages: number;
  readonly chunks: number;
  /** Pages that failed in the last sync. */
  readonly failures: number;
}

/** One item of a source: a web page (keyed by URL), a file (by path), an issue, a wiki page. */
export interface PageRecord {
  /** The item's key within its source. */
  readonly url: string;
  readonly title?: string;
  /** The item's version as its service states it (a blob id, `updated_at`, a version number). */
  readonly version?: string;
  readonly etag?: string;
  readonly lastModified?: string;
  readonly hash: string;
  readonly links: readonly string[];
  readonly chunkIds: readonly string[];
}

/**
 * A source's row as both homes read it (SQLite and PostgreSQL), the columns whose types differ
 * (a date, JSON lists) already converted by the home.
 */
export interface SourceRow {
  id: number;
  kind: string;
  url: string;
  collection: string;
  added_by: string;
  tenant: string | null;
  added_at: string;
  /** ISO time. */
  last_sync_at: string | null;
  last_status: string | null;
  last_error: string | null;
  pages: number;
  chunks: number;
  failures: number;
}

/** An item's row as both homes read it, its lists already parsed. */
export interface PageRow {
  url: string;
  title: string | null;
  version: string | null;
  etag: string | null;
  last_modified: string | null;
  hash: string;
  links: readonly string[];
  chunk_ids: readonly string[];
}

export function toSource(row: SourceRow): SourceRecord {
  return {
    id: Number(row.id),
    kind: row.kind,
    url: row.url,
    collection: row.collection,
    addedBy: row.added_by,
    ...(row.tenant ? { tenant: row.tenant } : {}),
    addedAt: row.added_at,
    ...(row.last_sync_at ? { lastSyncAt: row.last_sync_at } : {}),
    ...(row.last_status ? { lastStatus: row.last_status } : {}),
    ...(row.last_error ? { lastError: row.last_error } : {}),
    pages: Number(row.pages),
    chunks: Number(row.chunks),
    failures: Number(row.failures),
  };
}

export function toPage(row: PageRow): PageRecord {
  return {
    url: row.url,
    ...(row.title ? { title: row.title } : {}),
    ...(row.version ? { version: row.version } : {}),
    ...(row.etag ? { etag: row.etag } : {}),
    ...(row.last_modified ? { lastModified: row.last_modified } : {}),
    hash: row.hash,
    links: row.links,
    chunkIds: row.chunk_ids,
  };
}

/** SQLite keeps an item's lists as JSON text. */
type SqlitePageRow = Omit<PageRow, 'links' | 'chunk_ids'> & { links: string; chunk_ids: string };

const sqlitePage = (row: SqlitePageRow): PageRecord =>
  toPage({
    ...row,
    links: JSON.parse(row.links) as string[],
    chunk_ids: JSON.parse(row.chunk_ids) as string[],
  });

export interface SyncOutcome {
  readonly status: 'ok' | 'partial' | 'failed';
  readonly error?: string;
  readonly failures: number;
}

/** A source as a sync began with it: its id, and when it was added (an id may be given again). */
export type SourceIdentity = Pick<SourceRecord, 'id' | 'addedAt'>;

/** How a chat write may take an unowned collection; `isNew`: no source has used it yet. */
export type ClaimDecision = (isNew: boolean) => boolean | 'shared';

/**
 * What KNOWLEDGE_ROUTES says of a collection a chat writes into, decided before its owner is
 * looked at (the operator's routes win over a tenant's earlier claim): `writer`, routed only to
 * the writer's own workspace or channel (written without a claim, whoever claimed it first);
 * `elsewhere`, routed to other places too (refused as 'shared'). Unset: not routed.
 */
export type RoutedFor = 'writer' | 'elsewhere';

/** A chat write taking `collection` for `owner` (see `SourceRegistry.claimCollection`). */
export interface ClaimInput {
  readonly collection: string;
  readonly owner: string;
  readonly decide: ClaimDecision;
  readonly routed?: RoutedFor;
  /** At most this many collections owned by `owner` (counted in the same transaction). */
  readonly maxOwned?: number;
}

/** 'names': the owner already has `maxOwned` collections. */
export type ClaimResult = 'ok' | 'owned' | 'shared' | 'names';

export interface AddClaimingInput extends ClaimInput {
  readonly url: string;
  /** The source kind that reads it (default: a web site). */
  readonly kind?: string;
  readonly addedBy: string;
  readonly tenant?: string;
  /** At most this many chat-added sources of `owner` (counted in the same transaction). */
  readonly maxSources?: number;
}

export type AddClaimingResult =
  | { readonly source: SourceRecord; readonly created: boolean }
  | { readonly refused: Exclude<ClaimResult, 'ok'> | 'limit' };

/**
 * Where the sources live, for every process that reads or changes them (the bot, its shards,
 * `npm run ingest`, other instances): each change that must not race (a claim, adding a source
 * with its claim, removing a source, writing an item of a source that may be going) is one
 * transaction.
 */
export interface SourceRepository extends SyncLocks {
  /** Where it is, for messages: a file, or PostgreSQL's `host:port/database`. */
  readonly description: string;
  /** The workspace or server a collection was first filled from in the chat, if any. */
  ownerOf(collection: string): Promise<string | undefined>;
  /** The owners of those of `collections` that have one, in one query. */
  ownersOf(collections: readonly string[]): Promise<Map<string, string>>;
  /** A chat write taking `collection` for `owner` (see `SourceRegistry.claimCollection`). */
  claimCollection(input: ClaimInput): Promise<ClaimResult>;
  /** `/kb add` from a chat, with its collection's claim, as one transaction. */
  addClaiming(input: AddClaimingInput): Promise<AddClaimingResult>;
  /** Sources `owner` added from the chat. */
  chatSourcesOf(owner: string): Promise<number>;
  /** Adds a source; an existing one (same URL and collection) is returned as it is. */
  add(
    url: string,
    collection: string,
    addedBy: string,
    kind?: string,
  ): Promise<{ source: SourceRecord; created: boolean }>;
  find(url: string, collection: string): Promise<SourceRecord | undefined>;
  get(id: number): Promise<SourceRecord | undefined>;
  list(): Promise<SourceRecord[]>;
  /** A source named by its number (`3` or `#3`) or its URL. */
  resolve(reference: string): Promise<SourceRecord | undefined>;
  /** Deletes the source and its items in one transaction; returns the items it had. */
  remove(id: number): Promise<PageRecord[]>;
  /** The state the source's kind kept after its last sync (opaque JSON), if any. */
  state(sourceId: number): Promise<unknown>;
  saveState(sourceId: number, state: unknown): Promise<void>;
  pages(sourceId: number): Promise<PageRecord[]>;
  savePage(sourceId: number, page: PageRecord): Promise<void>;
  removePage(sourceId: number, url: string): Promise<void>;
  /** Which of `ids` items of other sources of `collection` still hold. */
  heldByOthers(collection: string, sourceId: number, ids: readonly string[]): Promise<Set<string>>;
  /** Whether `source` is still registered as it was read. */
  isCurrent(source: SourceIdentity): Promise<boolean>;
  /** `savePage` only while the source is still the one the sync began with (one transaction). */
  savePageIfCurrent(source: SourceIdentity, page: PageRecord): Promise<boolean>;
  /** `removePage` only while the source is still the one the sync began with. */
  removePageIfCurrent(source: SourceIdentity, url: string): Promise<boolean>;
  /** Records the end of a sync, at `at` or the repository's clock. */
  recordSync(sourceId: number, outcome: SyncOutcome, at?: Date): Promise<void>;
  /** Sources never synced, or last synced `intervalMs` ago or more, by the repository's clock. */
  dueSources(intervalMs: number): Promise<SourceRecord[]>;
  /** Whether the source is (still) due: never synced, or last synced `intervalMs` ago or more. */
  isDue(sourceId: number, intervalMs: number): Promise<boolean>;
  /** `SyncLocks.tryLock`, at `now` (epoch ms) when given, else the repository's clock. */
  tryLock(name: string, holder: string, ttlMs: number, now?: number): Promise<boolean>;
  renewLock(name: string, holder: string, ttlMs: number, now?: number): Promise<boolean>;
}

/** A reference to a source by number (`3`, `#3`); undefined for a URL. */
export function sourceNumber(reference: string): number | undefined {
  const id = /^#?(\d{1,9})$/.exec(reference.trim())?.[1];
  return id ? Number(id) : undefined;
}

/** The one source `reference` names among `sources`, by URL (with or without its last slash). */
export function sourceByUrl(sources: readonly SourceRecord[], reference: string): SourceRecord | undefined {
  const ref = reference.trim();
  const matches = sources.filter((source) => source.url === ref || source.url === `${ref}/`);
  return matches.length === 1 ? matches[0] : undefined;
}

export class SourceRegistry implements SourceRepository {
  constructor(
    private readonly app: AppDatabase,
    /** The clock of locks and due syncs (tests); default the system's. */
    private readonly clock: () => number = Date.now,
  ) {
    app.migrate(
      'knowledge-sources-1',
      `CREATE TABLE knowledge_sources (
         id INTEGER PRIMARY KEY,
         url TEXT NOT NULL,
         collection TEXT NOT NULL,
         added_by TEXT NOT NULL,
         added_at TEXT NOT NULL,
         last_sync_at TEXT,
         last_status TEXT,
         last_error TEXT,
         failures INTEGER NOT NULL DEFAULT 0,
         UNIQUE (url, collection)
       ) STRICT;
       CREATE TABLE knowledge_pages (
         source_id INTEGER NOT NULL REFERENCES knowledge_sources (id) ON DELETE CASCADE,
         url TEXT NOT NULL,
         title TEXT,
         etag TEXT,
         last_modified TEXT,
         hash TEXT NOT NULL,
         links TEXT NOT NULL,
         chunk_ids TEXT NOT NULL,
         fetched_at TEXT NOT NULL,
         PRIMARY KEY (source_id, url)
       ) STRICT;
       CREATE TABLE knowledge_locks (
         name TEXT PRIMARY KEY,
         holder TEXT NOT NULL,
         expires_at INTEGER NOT NULL
       ) STRICT;`,
    );
    this.ensureTenants();
    // Source kinds: what reads each source, the state it keeps, and each item's version.
    app.migrate(
      'knowledge-sources-2',
      `ALTER TABLE knowledge_sources ADD COLUMN kind TEXT NOT NULL DEFAULT 'web';
       ALTER TABLE knowledge_sources ADD COLUMN state TEXT;
       ALTER TABLE knowledge_pages ADD COLUMN version TEXT;`,
    );
  }

  get description(): string {
    return this.app.file;
  }

  private get db() {
    return this.app.db;
  }

  /**
   * Sources remember the workspace or server that added them. Rows from before are given the
   * owner of their collection where it has one (a collection first filled from a chat); the
   * others (added to a shared collection) stay without one, managed by no tenant.
   */
  private ensureTenants(): void {
    this.ensureOwners();
    this.app.migrate(
      'knowledge-sources-tenant-1',
      `ALTER TABLE knowledge_sources ADD COLUMN tenant TEXT;
       UPDATE knowledge_sources SET tenant = (SELECT owner FROM knowledge_collection_owners o
         WHERE o.collection = knowledge_sources.collection)
       WHERE added_by != 'cli';`,
    );
  }

  private ownerNow(collection: string): string | undefined {
    const row = this.db
      .prepare('SELECT owner FROM knowledge_collection_owners WHERE collection = ?')
      .get(collection) as { owner: string } | undefined;
    return row?.owner;
  }

  /** The workspace or server a collection was first filled from in the chat, if any. */
  async ownerOf(collection: string): Promise<string | undefined> {
    return this.ownerNow(collection);
  }

  async ownersOf(collections: readonly string[]): Promise<Map<string, string>> {
    const names = [...new Set(collections)];
    if (names.length === 0) return new Map();
    const rows = this.db
      .prepare(
        'SELECT collection, owner FROM knowledge_collection_owners WHERE collection IN (SELECT value FROM json_each(?))',
      )
      .all(JSON.stringify(names)) as { collection: string; owner: string }[];
    return new Map(rows.map((row) => [row.collection, row.owner]));
  }

  /**
   * `/kb add` from a chat, as one write transaction, so two workspaces racing for one new
   * collection cannot both get it: the collection is claimed as `decide` says (within the same
   * transaction), then the source is added.
   */
  async addClaiming(input: AddClaimingInput): Promise<AddClaimingResult> {
    return this.app.transaction(() => {
      const claim = this.claimWithin(input);
      if (claim !== 'ok') return { refused: claim };
      const existing = this.findNow(input.url, input.collection);
      if (existing) return { source: existing, created: false };
      if (input.maxSources !== undefined && this.chatSourcesNow(input.owner) >= input.maxSources) {
        return { refused: 'limit' as const };
      }
      const { lastInsertRowid } = this.db
        .prepare(
          'INSERT INTO knowledge_sources (kind, url, collection, added_by, tenant, added_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(
          input.kind ?? 'web',
          input.url,
          input.collection,
          input.addedBy,
          input.tenant ?? null,
          new Date().toISOString(),
        );
      return { source: this.getNow(Number(lastInsertRowid))!, created: true };
    });
  }

  /**
   * A chat write (a saved thread, `/kb use` of a new name) taking `collection` for `owner`, in
   * one write transaction. The operator's routes decide first (`routed`): routed elsewhere is
   * refused ('shared') and routed to the writer alone is written, whoever claimed the name.
   * Otherwise the collection's owner is read; another owner refuses ('owned'); with none,
   * `decide(isNew)` says whether it becomes `owner`'s (`isNew`: no source has used it yet),
   * stays unowned ('shared') or is refused (false, e.g. a collection another tenant reads); an
   * owner already holding `maxOwned` collections takes no more ('names').
   */
  async claimCollection(input: ClaimInput): Promise<ClaimResult> {
    return this.app.transaction(() => this.claimWithin(input));
  }

  private claimWithin(input: ClaimInput): ClaimResult {
    if (input.routed === 'elsewhere') return 'shared';
    if (input.routed === 'writer') return 'ok';
    const owner = this.ownerNow(input.collection);
    if (owner !== undefined) return owner === input.owner ? 'ok' : 'owned';
    const used = this.db
      .prepare('SELECT 1 AS yes FROM knowledge_sources WHERE collection = ? LIMIT 1')
      .get(input.collection);
    const decision = input.decide(!used);
    if (decision === false) return 'shared';
    if (decision === true) {
      if (input.maxOwned !== undefined) {
        const { n } = this.db
          .prepare('SELECT count(*) AS n FROM knowledge_collection_owners WHERE owner = ?')
          .get(input.owner) as { n: number };
        if (Number(n) >= input.maxOwned) return 'names';
      }
      this.db
        .prepare('INSERT INTO knowledge_collection_owners (collection, owner, claimed_at) VALUES (?, ?, ?)')
        .run(input.collection, input.owner, new Date().toISOString());
    }
    return 'ok';
  }

  private chatSourcesNow(owner: string): number {
    const row = this.db
      .prepare(
        `SELECT count(*) AS n FROM knowledge_sources s
         LEFT JOIN knowledge_collection_owners o ON o.collection = s.collection
         WHERE s.added_by != 'cli' AND coalesce(s.tenant, o.owner) = ?`,
      )
      .get(owner) as { n: number };
    return Number(row.n);
  }

  /** Sources `owner` (a workspace or server) added from the chat, its own or in its collections. */
  async chatSourcesOf(owner: string): Promise<number> {
    return this.chatSourcesNow(owner);
  }

  private ensureOwners(): void {
    this.app.migrate(
      'knowledge-owners-1',
      `CREATE TABLE knowledge_collection_owners (
         collection TEXT PRIMARY KEY,
         owner TEXT NOT NULL,
         claimed_at TEXT NOT NULL
       ) STRICT;`,
    );
  }

  private static readonly SELECT =
    `SELECT s.*, (SELECT count(*) FROM knowledge_pages p WHERE p.source_id = s.id) AS pages,
      (SELECT coalesce(sum(json_array_length(p.chunk_ids)), 0) FROM knowledge_pages p WHERE p.source_id = s.id) AS chunks
    FROM knowledge_sources s`;

  /** Adds a source; an existing one (same URL and collection) is returned as it is. */
  async add(
    url: string,
    collection: string,
    addedBy: string,
    kind = 'web',
  ): Promise<{ source: SourceRecord; created: boolean }> {
    const existing = this.findNow(url, collection);
    if (existing) return { source: existing, created: false };
    const { lastInsertRowid } = this.db
      .prepare(
        'INSERT INTO knowledge_sources (kind, url, collection, added_by, added_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(kind, url, collection, addedBy, new Date().toISOString());
    return { source: this.getNow(Number(lastInsertRowid))!, created: true };
  }

  private findNow(url: string, collection: string): SourceRecord | undefined {
    const row = this.db
      .prepare(`${SourceRegistry.SELECT} WHERE s.url = ? AND s.collection = ?`)
      .get(url, collection) as SourceRow | undefined;
    return row ? toSource(row) : undefined;
  }

  async find(url: string, collection: string): Promise<SourceRecord | undefined> {
    return this.findNow(url, collection);
  }

  private getNow(id: number): SourceRecord | undefined {
    const row = this.db.prepare(`${SourceRegistry.SELECT} WHERE s.id = ?`).get(id) as SourceRow | undefined;
    return row ? toSource(row) : undefined;
  }

  async get(id: number): Promise<SourceRecord | undefined> {
    return this.getNow(id);
  }

  private listNow(): SourceRecord[] {
    const rows = this.db.prepare(`${SourceRegistry.SELECT} ORDER BY s.id`).all() as unknown as SourceRow[];
    return rows.map(toSource);
  }

  async list(): Promise<SourceRecord[]> {
    return this.listNow();
  }

  /** A source named by its number (`3` or `#3`) or its URL. */
  async resolve(reference: string): Promise<SourceRecord | undefined> {
    const id = sourceNumber(reference);
    if (id !== undefined) return this.getNow(id);
    return sourceByUrl(this.listNow(), reference);
  }

  /**
   * Deletes the source and its pages in one transaction; returns the pages it had, whose chunks
   * the caller deletes. Once this returns, a sync still running elsewhere finds the source gone
   * before its next write and undoes any page it writes after (see sync.ts).
   */
  async remove(id: number): Promise<PageRecord[]> {
    return this.app.transaction(() => {
      const pages = this.pagesNow(id);
      this.db.prepare('DELETE FROM knowledge_pages WHERE source_id = ?').run(id);
      this.db.prepare('DELETE FROM knowledge_sources WHERE id = ?').run(id);
      return pages;
    });
  }

  /** The state the source's kind kept after its last sync (opaque JSON), if any. */
  async state(sourceId: number): Promise<unknown> {
    const row = this.db.prepare('SELECT state FROM knowledge_sources WHERE id = ?').get(sourceId) as
      | { state: string | null }
      | undefined;
    return row?.state ? (JSON.parse(row.state) as unknown) : undefined;
  }

  async saveState(sourceId: number, state: unknown): Promise<void> {
    this.db
      .prepare('UPDATE knowledge_sources SET state = ? WHERE id = ?')
      .run(state === undefined ? null : JSON.stringify(state), sourceId);
  }

  private pagesNow(sourceId: number): PageRecord[] {
    const rows = this.db
      .prepare(
        'SELECT url, title, version, etag, last_modified, hash, links, chunk_ids FROM knowledge_pages WHERE source_id = ? ORDER BY url',
      )
      .all(sourceId) as unknown as SqlitePageRow[];
    return rows.map(sqlitePage);
  }

  async pages(sourceId: number): Promise<PageRecord[]> {
    return this.pagesNow(sourceId);
  }

  private savePageNow(sourceId: number, page: PageRecord): void {
    this.db
      .prepare(
        `INSERT INTO knowledge_pages (source_id, url, title, version, etag, last_modified, hash, links, chunk_ids, fetched_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (source_id, url) DO UPDATE SET title = excluded.title, version = excluded.version, etag = excluded.etag,
           last_modified = excluded.last_modified, hash = excluded.hash, links = excluded.links,
           chunk_ids = excluded.chunk_ids, fetched_at = excluded.fetched_at`,
      )
      .run(
        sourceId,
        page.url,
        page.title ?? null,
        page.version ?? null,
        page.etag ?? null,
        page.lastModified ?? null,
        page.hash,
        JSON.stringify(page.links),
        JSON.stringify(page.chunkIds),
        new Date().toISOString(),
      );
  }

  async savePage(sourceId: number, page: PageRecord): Promise<void> {
    this.savePageNow(sourceId, page);
  }

  /**
   * Which of `ids` pages of other sources in `collection` still hold. Chunk ids come from a
   * page's URL and text, so two sources reaching the same pages (a site and a folder of it, or a
   * site removed and added again while the old sync still runs) share them: deleting one
   * source's chunks must keep those.
   */
  async heldByOthers(collection: string, sourceId: number, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const wanted = new Set(ids);
    const rows = this.db
      .prepare(
        `SELECT p.chunk_ids FROM knowledge_pages p JOIN knowledge_sources s ON s.id = p.source_id
         WHERE s.collection = ? AND s.id != ?`,
      )
      .all(collection, sourceId) as unknown as { chunk_ids: string }[];
    const held = new Set<string>();
    for (const row of rows) {
      for (const id of JSON.parse(row.chunk_ids) as string[]) if (wanted.has(id)) held.add(id);
    }
    return held;
  }

  private isCurrentNow(source: SourceIdentity): boolean {
    const row = this.db.prepare('SELECT added_at FROM knowledge_sources WHERE id = ?').get(source.id) as
      | { added_at: string }
      | undefined;
    return row?.added_at === source.addedAt;
  }

  /** Whether `source` is still registered as it was read (SQLite may reuse a removed source's id). */
  async isCurrent(source: SourceIdentity): Promise<boolean> {
    return this.isCurrentNow(source);
  }

  /**
   * `savePage` for a sync, in one transaction with the check that its source is still the one
   * the sync began with: false (and nothing written) once it was removed, even if a source added
   * again since got its id.
   */
  async savePageIfCurrent(source: SourceIdentity, page: PageRecord): Promise<boolean> {
    return this.app.transaction(() => {
      if (!this.isCurrentNow(source)) return false;
      this.savePageNow(source.id, page);
      return true;
    });
  }

  /** `removePage` for a sync, only while its source is still the one it began with. */
  async removePageIfCurrent(source: SourceIdentity, url: string): Promise<boolean> {
    return this.app.transaction(() => {
      if (!this.isCurrentNow(source)) return false;
      this.db.prepare('DELETE FROM knowledge_pages WHERE source_id = ? AND url = ?').run(source.id, url);
      return true;
    });
  }

  async removePage(sourceId: number, url: string): Promise<void> {
    this.db.prepare('DELETE FROM knowledge_pages WHERE source_id = ? AND url = ?').run(sourceId, url);
  }

  async recordSync(sourceId: number, outcome: SyncOutcome, at = new Date(this.clock())): Promise<void> {
    this.db
      .prepare(
        'UPDATE knowledge_sources SET last_sync_at = ?, last_status = ?, last_error = ?, failures = ? WHERE id = ?',
      )
      .run(at.toISOString(), outcome.status, outcome.error ?? null, outcome.failures, sourceId);
  }

  async dueSources(intervalMs: number): Promise<SourceRecord[]> {
    const before = new Date(this.clock() - intervalMs).toISOString();
    return this.listNow().filter((source) => !source.lastSyncAt || source.lastSyncAt <= before);
  }

  async isDue(sourceId: number, intervalMs: number): Promise<boolean> {
    const source = this.getNow(sourceId);
    if (!source) return false;
    return !source.lastSyncAt || source.lastSyncAt <= new Date(this.clock() - intervalMs).toISOString();
  }

  /**
   * Takes the named lock for `ttlMs` unless another holder's lock is still current: one sync of
   * a source at a time across every process sharing this database. False when someone else has it.
   */
  async tryLock(name: string, holder: string, ttlMs: number, now = this.clock()): Promise<boolean> {
    return this.app.transaction(() => {
      const row = this.db
        .prepare('SELECT holder, expires_at FROM knowledge_locks WHERE name = ?')
        .get(name) as { holder: string; expires_at: number } | undefined;
      if (row && row.holder !== holder && Number(row.expires_at) > now) return false;
      this.db
        .prepare(
          `INSERT INTO knowledge_locks (name, holder, expires_at) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at`,
        )
        .run(name, holder, now + ttlMs);
      return true;
    });
  }

  async renewLock(name: string, holder: string, ttlMs: number, now = this.clock()): Promise<boolean> {
    const { changes } = this.db
      .prepare('UPDATE knowledge_locks SET expires_at = ? WHERE name = ? AND holder = ?')
      .run(now + ttlMs, name, holder);
    return Number(changes) > 0;
  }

  async unlock(name: string, holder: string): Promise<void> {
    this.db.prepare('DELETE FROM knowledge_locks WHERE name = ? AND holder = ?').run(name, holder);
  }
}
