/**
 * Brings one source's collection up to date, whatever its kind: the kind reads its service and
 * yields each item (changed, unchanged, gone or failed); here each changed item is chunked
 * only when its content changed (by content hash, so a new ETag or version on the same text
 * costs nothing), its chunks replaced, gone items pruned (and, when the kind saw every item,
 * the ones it no longer reported), and the kind's state kept for the next sync. An item that
 * fails keeps its chunks and never fails the sync; a source that cannot be read at all is a
 * failed sync that changes nothing more and keeps the previous state.
 *
 * A sync stops as soon as its source is removed (`/kb remove`, here or in another process on
 * the same database) or its signal is aborted: no write starts after that, and an item written
 * while the removal was under way is deleted again, so nothing of a removed source survives.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { Chunk, CollectionStore } from '../core/types.js';
import { chunkDocument } from '../ingest/chunk.js';
import type { CrawlOptions } from '../ingest/crawl.js';
import { type ParsePool, parsePool } from '../ingest/parse-pool.js';
import { type Logger, silentLogger } from '../log.js';
import { sourceFetch } from './kinds/http.js';
import type { Environment, ItemEvent, SourceKind, SyncEnd, SyncProgress } from './kinds/kind.js';
import { webKind } from './kinds/web.js';
import type { PageRecord, SourceRecord, SourceRepository } from './sources.js';

export interface SyncSummary {
  readonly source: SourceRecord;
  /** Items (pages, files, issues…) fetched or checked. */
  readonly pages: number;
  readonly added: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly removed: number;
  readonly chunksUpserted: number;
  readonly chunksRemoved: number;
  readonly failed: readonly { readonly url: string; readonly reason: string }[];
  /** The sync stopped at its time limit (CRAWL_SYNC_TIMEOUT_MS): items it did not reach wait for the next. */
  readonly outOfTime?: boolean;
  /** The whole sync failed (source unreachable, token refused, store down): nothing was changed after that point. */
  readonly error?: string;
}

export interface SyncOptions {
  /** The source's kind; default: a web site crawled with `crawl`. */
  readonly kind?: SourceKind;
  /**
   * Crawl limits, timing and transport for web sources (tests: fetch, sleep, now, timeoutMs);
   * its `signal` cancels the sync: the kind stops and no further item is written.
   */
  readonly crawl?: Omit<CrawlOptions, 'known' | 'onProgress'>;
  /** Where tokens are read from (default: process.env). */
  readonly env?: Environment;
  /** Transport and timing for every kind (tests inject these; defaults: fetch, setTimeout, Date.now). */
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** Refuses URLs a source may not reach (private addresses for sources added from a chat). */
  readonly guard?: (url: URL) => Promise<void>;
  readonly timeoutMs?: number;
  /**
   * Time the whole sync may take (as `now` tells it): past it no further item is read, nothing
   * is pruned, the kind's state is kept as it was, and the summary says `outOfTime`.
   */
  readonly budgetMs?: number;
  readonly signal?: AbortSignal;
  /** Where fetched content is parsed (default: the process's pool). */
  readonly parser?: ParsePool;
  /** A folder of the bot's data for kinds that keep a cache (Git's object store). */
  readonly cacheDir?: string;
  readonly onProgress?: (progress: SyncProgress) => void;
  readonly logger?: Logger;
}

/**
 * Passages written to the store per call: a page of thousands is written in parts with the
 * event loop free between them. The embedded store writes synchronously: 6,000 passages in one
 * transaction held the bot for half a second, so 128 hold it about 10 ms.
 */
export const UPSERT_BATCH = 128;

/** Resolves after other work waiting on the event loop has had its turn. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A sync's outcome when it was cancelled, e.g. by removing its source. */
export const CANCELLED = 'cancelled';

class SyncCancelled extends Error {
  override name = 'SyncCancelled';
}

function contentHash(title: string | undefined, markdown: string): string {
  return createHash('sha256')
    .update(`${title ?? ''}\n${markdown}`)
    .digest('hex');
}

/** A wait that ends early, rejecting, when `signal` aborts (a spent budget, a removed source). */
const realSleep = (signal: AbortSignal) => (ms: number) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** Why a sync under way was stopped by its time budget. */
class OutOfTime extends Error {
  constructor() {
    super('the sync reached its time limit');
  }
}

/** An item's link as a citation: http(s) only (a service's answer is not trusted to be), else the source's. */
function citationLink(url: string, fallback: string): string {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : fallback;
  } catch {
    return fallback;
  }
}

export async function syncSource(
  store: CollectionStore,
  registry: SourceRepository,
  source: SourceRecord,
  options: SyncOptions = {},
): Promise<SyncSummary> {
  const kind = options.kind ?? webKind(options.crawl ?? {});
  const log = (options.logger ?? silentLogger).child({
    source: source.url,
    kind: kind.name,
    collection: source.collection,
  });
  const target = store.collection(source.collection);
  const before = new Map((await registry.pages(source.id)).map((page) => [page.url, page]));
  const counts = { added: 0, updated: 0, unchanged: 0, removed: 0, chunksUpserted: 0, chunksRemoved: 0 };
  const failed: { url: string; reason: string }[] = [];
  const reached = new Set<string>();
  let seen = 0;
  let total: number | undefined;
  let outOfTime = false;
  /**
   * The source is still the one this sync began with: not removed, and not removed and added
   * again (SQLite may give the new row the same id; its time of adding tells them apart).
   */
  const registered = () => registry.isCurrent(source);
  const finish = async (error?: string): Promise<SyncSummary> => {
    clearTimeout(budgetTimer);
    const status = error ? 'failed' : failed.length > 0 || outOfTime ? 'partial' : 'ok';
    const still = await registered().catch(() => false);
    if (still) {
      await registry
        .recordSync(source.id, { status, ...(error ? { error } : {}), failures: failed.length })
        .catch((problem: unknown) => log.warn({ err: problem }, 'could not record the end of a sync'));
    }
    log.info({ items: seen, ...counts, failed: failed.length, status }, `synced a source (${kind.label})`);
    return {
      source: (still ? await registry.get(source.id).catch(() => undefined) : undefined) ?? source,
      pages: seen,
      ...counts,
      failed,
      ...(outOfTime ? { outOfTime } : {}),
      ...(error ? { error } : {}),
    };
  };
  const injectedNow = options.now ?? options.crawl?.now;
  const now = injectedNow ?? Date.now;
  const guard = options.guard ?? options.crawl?.guard;
  const cancel = options.signal ?? options.crawl?.signal;
  // The budget ends the sync inside one item too (a whole Git fetch is one step; a service may
  // ask to wait an hour): on the real clock a timer aborts whatever is under way once it is
  // spent. A test that injects the clock checks the budget between items on that clock.
  const budget = new AbortController();
  const budgetTimer =
    injectedNow === undefined && options.budgetMs !== undefined
      ? setTimeout(() => budget.abort(new OutOfTime()), options.budgetMs)
      : undefined;
  const signal = cancel ? AbortSignal.any([cancel, budget.signal]) : budget.signal;
  const sleep = options.sleep ?? options.crawl?.sleep ?? realSleep(signal);
  const timeoutMs = options.timeoutMs ?? options.crawl?.timeoutMs;
  // However slow the service, the sync ends by its budget: one source cannot hold it for hours.
  const endAt = now() + (options.budgetMs ?? Number.POSITIVE_INFINITY);
  /**
   * A wait a service asked for (a rate limit, an overload, a retried server error): on the
   * sync's clock, cancelled with it, and never begun past the budget, which it ends instead
   * (the sync stops as out of time, keeping what it read).
   */
  const wait = async (ms: number, url: string): Promise<void> => {
    if (now() + ms > endAt) {
      budget.abort(new OutOfTime());
      throw budget.signal.reason;
    }
    log.info({ waitSeconds: Math.round(ms / 1000), url }, 'rate limited: waiting, then resuming the sync');
    await sleep(ms);
    signal.throwIfAborted();
  };
  const doFetch = sourceFetch({
    ...((options.fetch ?? options.crawl?.fetch) ? { fetch: options.fetch ?? options.crawl!.fetch! } : {}),
    ...(guard ? { guard } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(kind.requestGapMs ? { gapMs: kind.requestGapMs } : {}),
    ...(kind.maxResponseBytes ? { maxBodyBytes: kind.maxResponseBytes } : {}),
    ...(kind.longDownloads ? { idleBodyTimeout: true } : {}),
    ...(signal ? { signal } : {}),
    sleep,
    now,
    wait,
  });

  /** Still wanted: not cancelled, and the source still registered (another process may remove it). */
  const ensureWanted = async () => {
    if (signal?.aborted || !(await registered())) throw new SyncCancelled();
  };
  /**
   * Deletes `ids` from the store, except those an item of another source of the collection still
   * holds (chunk ids come from an item's URL and text, so sources reaching the same pages share
   * them). Returns how many went.
   */
  const release = async (ids: readonly string[]): Promise<number> => {
    const held = await registry.heldByOthers(source.collection, source.id, ids);
    const gone = ids.filter((id) => !held.has(id));
    if (gone.length > 0) await target.delete(gone);
    return gone.length;
  };
  /** Records an item, unless its source went meanwhile (even if one added again got its id). */
  const save = async (page: PageRecord) => {
    if (!(await registry.savePageIfCurrent(source, page))) throw new SyncCancelled();
  };
  /**
   * Records an item written to the store, if its source is still there; if the source went
   * meanwhile, what was just written goes too (unless another source holds it).
   */
  const keepOrUndo = async (page: PageRecord) => {
    if (await registry.savePageIfCurrent(source, page)) return;
    await release(page.chunkIds);
    throw new SyncCancelled();
  };

  /**
   * Writes an item's passages in batches, giving the event loop a turn between them. Whatever
   * stops the write part way (the source removed, the sync cancelled, the store failing) takes
   * back what it wrote that no record holds: all of it once the source is gone, else the
   * passages the item's previous version did not have.
   */
  const write = async (chunks: readonly Chunk[], old: PageRecord | undefined) => {
    const written: string[] = [];
    const undo = async () => {
      const held = (await registered()) ? new Set(old?.chunkIds) : new Set<string>();
      await release(written.filter((id) => !held.has(id)));
    };
    try {
      for (let start = 0; start < chunks.length; start += UPSERT_BATCH) {
        if (start > 0) {
          await turn();
          await ensureWanted();
        }
        const batch = chunks.slice(start, start + UPSERT_BATCH);
        await target.upsert(batch);
        for (const chunk of batch) written.push(chunk.id);
      }
    } catch (error) {
      // A store that failed may fail this too: the next sync writes the item again either way.
      await undo().catch((undoError: unknown) =>
        log.warn(
          { err: undoError, item: chunks[0]?.url },
          'could not take back passages of an unfinished write',
        ),
      );
      throw error;
    }
  };

  const remove = async (key: string, old: PageRecord) => {
    await ensureWanted();
    counts.chunksRemoved += await release(old.chunkIds);
    if (!(await registry.removePageIfCurrent(source, key))) throw new SyncCancelled();
    counts.removed += 1;
  };

  const handle = async (event: ItemEvent): Promise<void> => {
    reached.add(event.key);
    const old = before.get(event.key);
    if (event.type === 'failed') {
      failed.push({ url: event.key, reason: event.reason });
      return;
    }
    if (event.type === 'gone') {
      if (old) await remove(event.key, old);
      return;
    }
    if (event.type === 'unchanged') {
      counts.unchanged += 1;
      if (old && (event.etag || event.lastModified || event.links)) {
        await ensureWanted();
        await save({
          ...old,
          ...(event.etag ? { etag: event.etag } : {}),
          ...(event.lastModified ? { lastModified: event.lastModified } : {}),
          ...(event.links ? { links: event.links } : {}),
        });
      }
      return;
    }
    const link = citationLink(event.url, source.url);
    const hash = contentHash(event.title, event.markdown);
    const record = {
      url: event.key,
      ...(event.title ? { title: event.title } : {}),
      ...(event.version ? { version: event.version } : {}),
      ...(event.etag ? { etag: event.etag } : {}),
      ...(event.lastModified ? { lastModified: event.lastModified } : {}),
      hash,
      links: event.links ?? [],
    };
    await ensureWanted();
    if (old && old.hash === hash && !missing.has(event.key)) {
      await save({ ...record, chunkIds: old.chunkIds });
      counts.unchanged += 1;
      return;
    }
    const chunked =
      event.chunks ??
      (event.markdown.trim()
        ? chunkDocument(
            {
              kind: 'text',
              markdown: event.markdown,
              url: link,
              ...(event.title ? { title: event.title } : {}),
            },
            link,
          )
        : []);
    const chunks = chunked.map((chunk) => (event.anchors === false ? { ...chunk, url: link } : chunk));
    const ids = chunks.map((chunk) => chunk.id);
    const kept = new Set(ids);
    const stale = (old?.chunkIds ?? []).filter((id) => !kept.has(id));
    await write(chunks, old);
    counts.chunksRemoved += await release(stale);
    await keepOrUndo({ ...record, chunkIds: ids });
    counts.chunksUpserted += chunks.length;
    if (old) counts.updated += 1;
    else counts.added += 1;
  };

  // Items whose passages are no longer all in the store (deleted by something else) are read
  // whole and written again, however unchanged their service says they are.
  const missing = new Set<string>();
  try {
    await ensureWanted();
    if (before.size > 0) {
      const stored = await target.listIds();
      for (const page of before.values()) {
        if (page.chunkIds.some((id) => !stored.has(id))) missing.add(page.url);
      }
    }
    const known = new Map(
      [...before].map(([key, page]) => {
        if (!missing.has(key)) return [key, page] as const;
        const { etag: _etag, lastModified: _modified, version: _version, ...whole } = page;
        return [key, whole] as const;
      }),
    );
    const items = kind.sync({
      url: source.url,
      collection: source.collection,
      state: await registry.state(source.id),
      known,
      env: options.env ?? process.env,
      fetch: doFetch,
      sleep,
      now,
      wait,
      ...(signal ? { signal } : {}),
      cacheDir: options.cacheDir ?? tmpdir(),
      logger: log,
      parse: (input) => {
        const parser = options.parser ?? options.crawl?.parser ?? parsePool();
        return parser.run(
          {
            kind: 'source',
            ...input,
            url: citationLink(input.url, source.url),
            maxChars: parser.settings.maxChars,
          },
          // Cancelling the sync (a removed source, a stopping bot) ends a parse under way too.
          signal ? { signal } : {},
        );
      },
      expect: (count) => {
        total = count;
      },
      progress: (progress) => options.onProgress?.(progress),
    });
    let end: SyncEnd | undefined;
    let closed = false;
    try {
      for (;;) {
        if (now() >= endAt) {
          outOfTime = true;
          break;
        }
        const next = await items.next();
        if (next.done) {
          end = next.value;
          closed = true;
          break;
        }
        if (budget.signal.aborted && !cancel?.aborted) {
          // A wait the budget had no room for: what the kind made of it (a failed item) is not
          // this item's fault; it is read next time.
          outOfTime = true;
          break;
        }
        seen += 1;
        options.onProgress?.({ done: seen, ...(total !== undefined ? { total } : {}), item: next.value.key });
        await handle(next.value);
      }
    } finally {
      // However the loop ended (out of time, a store that failed, a cancelled write), the kind
      // is told, so what it holds (a Git reader process) ends with the sync.
      if (!closed) await items.return({ complete: false }).catch(() => undefined);
    }
    if (end?.outOfTime || (budget.signal.aborted && !cancel?.aborted)) outOfTime = true;
    // An item a complete read no longer reported has been deleted, unlinked or disallowed.
    if (end?.complete && !outOfTime) {
      for (const [key, old] of before) if (!reached.has(key)) await remove(key, old);
    }
    await ensureWanted();
    // A read cut short keeps the state of the last whole one, so the next sync reads on from there.
    if (end && !outOfTime) await registry.saveState(source.id, end.state);
    if (seen > 0 && failed.length === seen) {
      return finish(
        `no ${kind.noun.replace('(s)', '')} could be fetched (${failed[0]?.reason ?? 'unknown'})`,
      );
    }
  } catch (error) {
    if (budget.signal.aborted && !cancel?.aborted) {
      // What was fetched before the budget ran out has landed; the rest follows next time.
      outOfTime = true;
      log.info({ items: seen, ...counts }, `a source (${kind.label}) sync reached its time limit`);
      return finish();
    }
    if (error instanceof SyncCancelled || cancel?.aborted) {
      log.info({ items: seen, ...counts }, `a source (${kind.label}) sync was cancelled`);
      return finish(CANCELLED);
    }
    const reason = (error as Error).message;
    log.warn({ reason }, `a source (${kind.label}) could not be synced`);
    return finish(reason);
  }
  return finish();
}
