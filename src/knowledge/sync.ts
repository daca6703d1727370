/**
 * Brings one web source's collection up to date with its site: crawl (conditional requests),
 * chunk only pages whose main content changed (by content hash, so a new ETag on the same text
 * costs nothing), replace their chunks, and prune pages that are gone (404/410, or no longer
 * reachable when the crawl covered the whole site). Pages that failed this time keep their
 * chunks. Never throws for a page; a site that cannot be crawled at all is a failed sync.
 *
 * A sync stops as soon as its source is removed (`/kb remove`, here or in another process on
 * the same database) or its signal is aborted: no write starts after that, and a page written
 * while the removal was under way is deleted again, so nothing of a removed source survives.
 */
import { createHash } from 'node:crypto';
import type { CollectionStore } from '../core/types.js';
import { type CrawlOptions, type CrawlProgress, crawlSite } from '../ingest/crawl.js';
import { type Logger, silentLogger } from '../log.js';
import type { SourceRecord, SourceRegistry } from './sources.js';

export interface SyncSummary {
  readonly source: SourceRecord;
  /** Pages fetched or checked. */
  readonly pages: number;
  readonly added: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly removed: number;
  readonly chunksUpserted: number;
  readonly chunksRemoved: number;
  readonly failed: readonly { readonly url: string; readonly reason: string }[];
  /** The whole sync failed (site unreachable, store down): nothing was changed after that point. */
  readonly error?: string;
}

export interface SyncOptions {
  /** `signal` cancels the sync: the crawl stops and no further page is written. */
  readonly crawl?: Omit<CrawlOptions, 'known' | 'onProgress'>;
  readonly onProgress?: (progress: CrawlProgress) => void;
  readonly logger?: Logger;
}

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

export async function syncSource(
  store: CollectionStore,
  registry: SourceRegistry,
  source: SourceRecord,
  options: SyncOptions = {},
): Promise<SyncSummary> {
  const log = (options.logger ?? silentLogger).child({ source: source.url, collection: source.collection });
  const target = store.collection(source.collection);
  const before = new Map(registry.pages(source.id).map((page) => [page.url, page]));
  const counts = { added: 0, updated: 0, unchanged: 0, removed: 0, chunksUpserted: 0, chunksRemoved: 0 };
  const failed: { url: string; reason: string }[] = [];
  let pagesSeen = 0;
  const signal = options.crawl?.signal;
  /** Still wanted: not cancelled, and the source still registered (another process may remove it). */
  const wanted = () => !signal?.aborted && registry.get(source.id) !== undefined;
  const ensureWanted = () => {
    if (!wanted()) throw new SyncCancelled();
  };
  /** After a write: if the source went meanwhile, what was just written goes too. */
  const keepOrUndo = async (url: string, ids: readonly string[]) => {
    if (registry.get(source.id) !== undefined) return;
    if (ids.length > 0) await target.delete(ids);
    registry.removePage(source.id, url);
    throw new SyncCancelled();
  };
  const finish = (error?: string): SyncSummary => {
    const status = error ? 'failed' : failed.length > 0 ? 'partial' : 'ok';
    registry.recordSync(source.id, { status, ...(error ? { error } : {}), failures: failed.length });
    log.info({ pages: pagesSeen, ...counts, failed: failed.length, status }, 'synced a web source');
    return {
      source: registry.get(source.id) ?? source,
      pages: pagesSeen,
      ...counts,
      failed,
      ...(error ? { error } : {}),
    };
  };

  try {
    ensureWanted();
    const crawl = await crawlSite(source.url, {
      ...options.crawl,
      known: [...before.values()].map((page) => ({
        url: page.url,
        ...(page.etag ? { etag: page.etag } : {}),
        ...(page.lastModified ? { lastModified: page.lastModified } : {}),
        links: page.links,
      })),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    pagesSeen = crawl.pages.length;
    const reached = new Set<string>();
    for (const page of crawl.pages) {
      reached.add(page.url);
      const old = before.get(page.url);
      if (page.kind === 'unchanged') {
        counts.unchanged += 1;
        continue;
      }
      if (page.kind === 'failed') {
        failed.push({ url: page.url, reason: page.reason });
        continue;
      }
      if (page.kind === 'gone') {
        if (old) {
          ensureWanted();
          await target.delete(old.chunkIds);
          registry.removePage(source.id, page.url);
          counts.removed += 1;
          counts.chunksRemoved += old.chunkIds.length;
        }
        continue;
      }
      const hash = contentHash(page.title, page.markdown);
      const links = page.links;
      const validators = {
        ...(page.etag ? { etag: page.etag } : {}),
        ...(page.lastModified ? { lastModified: page.lastModified } : {}),
      };
      ensureWanted();
      if (old && old.hash === hash) {
        registry.savePage(source.id, { ...old, ...validators, links });
        counts.unchanged += 1;
        continue;
      }
      // Chunked with the page, in a parse worker.
      const chunks = page.chunks;
      const ids = chunks.map((chunk) => chunk.id);
      const stale = (old?.chunkIds ?? []).filter((id) => !ids.includes(id));
      if (chunks.length > 0) await target.upsert(chunks);
      if (stale.length > 0) await target.delete(stale);
      registry.savePage(source.id, {
        url: page.url,
        ...(page.title ? { title: page.title } : {}),
        ...validators,
        hash,
        links,
        chunkIds: ids,
      });
      await keepOrUndo(page.url, ids);
      counts.chunksUpserted += chunks.length;
      counts.chunksRemoved += stale.length;
      if (old) counts.updated += 1;
      else counts.added += 1;
    }
    // A page the whole-site crawl no longer reaches has been unlinked or disallowed: gone.
    if (crawl.complete) {
      for (const [url, old] of before) {
        if (reached.has(url)) continue;
        ensureWanted();
        await target.delete(old.chunkIds);
        registry.removePage(source.id, url);
        counts.removed += 1;
        counts.chunksRemoved += old.chunkIds.length;
      }
    }
    if (crawl.pages.length > 0 && crawl.pages.every((page) => page.kind === 'failed')) {
      return finish(`no page could be fetched (${failed[0]?.reason ?? 'unknown'})`);
    }
  } catch (error) {
    if (error instanceof SyncCancelled || signal?.aborted) {
      log.info({ pages: pagesSeen, ...counts }, 'web source sync cancelled');
      return finish(CANCELLED);
    }
    const reason = (error as Error).message;
    log.warn({ reason }, 'web source sync failed');
    return finish(reason);
  }
  return finish();
}
