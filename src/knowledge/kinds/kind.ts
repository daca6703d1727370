/**
 * One kind of knowledge source (a web site, a Git repository, GitHub issues, a Notion or
 * Confluence tree): how it is recognised from a URL, synced incrementally and forgotten. The
 * knowledge service stores each source with its kind's name and an opaque JSON state the kind
 * owns (a cursor: the last commit seen, the last `updated_at`), and per item a version and the
 * chunk ids it produced. The sync engine (../sync.ts) chunks what a kind yields, keeps counts
 * and removes what is gone, so a kind only speaks its service's protocol.
 */
import type { Chunk } from '../../core/types.js';
import type { SourceJob, SourceResult } from '../../ingest/parse-jobs.js';
import type { Logger } from '../../log.js';

/** What a kind knew of one item after the previous sync. */
export interface KnownItem {
  /** The item's key within its source: a page URL, a file path, an issue number, a page id. */
  readonly url: string;
  readonly title?: string;
  /** The item's version as its service states it: a blob id, `updated_at`, a version number. */
  readonly version?: string;
  readonly etag?: string;
  readonly lastModified?: string;
  /** Items this one leads to (a page's links, a Notion page's sub-pages). */
  readonly links: readonly string[];
  readonly chunkIds: readonly string[];
}

/** One item as the kind read it this time. */
export type ItemEvent =
  | {
      readonly type: 'document';
      readonly key: string;
      /** Where a person opens it; passages add their heading's anchor. */
      readonly url: string;
      readonly title?: string;
      /** Markdown, already converted from the service's format (bounded, off the event loop). */
      readonly markdown: string;
      /** Its passages, when the parse pool chunked it with the conversion; else chunked here. */
      readonly chunks?: readonly Chunk[];
      readonly version?: string;
      readonly etag?: string;
      readonly lastModified?: string;
      readonly links?: readonly string[];
      /** False when the URL cannot take a heading's anchor (a repository page on an unknown host). */
      readonly anchors?: boolean;
    }
  /** Unchanged since the last sync (by version, or a 304): kept as it is. */
  | {
      readonly type: 'unchanged';
      readonly key: string;
      readonly etag?: string;
      readonly lastModified?: string;
      readonly links?: readonly string[];
    }
  /** No longer part of the source (deleted, moved away, closed again, now restricted). */
  | { readonly type: 'gone'; readonly key: string; readonly reason: string }
  /** Could not be read this time: kept as it was, retried next sync. */
  | { readonly type: 'failed'; readonly key: string; readonly reason: string };

export interface SyncEnd {
  /** The kind's state to keep for the next sync (JSON); undefined keeps none. */
  readonly state?: unknown;
  /** Every item of the source was reported: a known item not reported is gone. */
  readonly complete: boolean;
  /** The read stopped at the sync's time limit (a web crawl's budget). */
  readonly outOfTime?: boolean;
}

export interface SyncProgress {
  /** Items handled so far. */
  readonly done: number;
  /** Items expected in all, when the kind knows. */
  readonly total?: number;
  /** The item being handled (a URL, path or title). */
  readonly item: string;
}

/** The environment variables a kind may read (tokens only ever come from here). */
export type Environment = Readonly<Record<string, string | undefined>>;

export interface SyncContext {
  readonly url: string;
  readonly collection: string;
  /** The state this kind returned last time, or undefined on a first sync. */
  readonly state: unknown;
  readonly known: ReadonlyMap<string, KnownItem>;
  readonly env: Environment;
  /**
   * Every request of a sync goes through this: the address guard (sources added from a chat
   * reach no private address), per-request time limit, and redirects checked hop by hop.
   */
  readonly fetch: typeof fetch;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  /**
   * Waits out a limit a service asked us to respect (logged, on the sync's clock, cancelled
   * with it): throws instead when the sync's time budget has no room for the wait, which ends
   * the sync as out of time, keeping what it read.
   */
  wait(ms: number, url: string): Promise<void>;
  readonly signal?: AbortSignal;
  /** A folder of the bot's data this source may keep a cache in (a Git object store). */
  readonly cacheDir: string;
  readonly logger: Logger;
  /**
   * Converts and chunks what the kind fetched in the parse pool, with the same budgets as web
   * pages and files, off the event loop; throws for one item past a budget (that item fails).
   */
  parse(input: Omit<SourceJob, 'kind' | 'maxChars'>): Promise<SourceResult>;
  /** Tells the engine how many items to expect (for a progress bar). */
  expect(total: number): void;
  /** Progress while the kind works before it yields (a crawl finds its pages as it goes). */
  progress(update: SyncProgress): void;
}

/** A refusal with a message a person can act on (a missing token, a revoked one, a bad URL). */
export class SourceError extends Error {
  override name = 'SourceError';
}

export interface SourceKind {
  /** Stored with the source: `web`, `git`, `github`, `notion`, `confluence`. */
  readonly name: string;
  /** For people: "web site", "Git repository". */
  readonly label: string;
  /** What its items are called, one and many: "page(s)", "file(s)", "issue(s)". */
  readonly noun: string;
  /**
   * Largest body one response of this kind's API may bring (its client libraries read answers
   * whole); unset where the kind bounds what it reads itself.
   */
  readonly maxResponseBytes?: number;
  /**
   * Its answers may rightly take longer than one request's time limit to arrive (a Git pack):
   * the limit then bounds the headers and each pause of the body, and the sync's budget the rest.
   */
  readonly longDownloads?: boolean;
  /** Least time between two requests of one sync (a service's per-second limit), if any. */
  readonly requestGapMs?: number;
  /**
   * The source's canonical URL when this kind reads `url`, undefined when it does not. Throws
   * `SourceError` for a URL it recognises but cannot use (e.g. a missing token variable).
   */
  recognise(url: URL, env: Environment): string | undefined;
  /** Reads the source, yielding each item; returns the state for next time. */
  sync(context: SyncContext): AsyncGenerator<ItemEvent, SyncEnd, void>;
  /**
   * Deletes whatever the kind keeps outside the registry (a cache) for the source of `url` in
   * `collection`, when that source is removed.
   */
  forget?(source: { readonly url: string; readonly collection: string }, cacheDir: string): Promise<void>;
}
