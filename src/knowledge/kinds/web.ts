/**
 * Web sites as a source: the pages under a URL's folder, crawled as robots.txt allows
 * (src/ingest/crawl.ts), re-fetched with conditional requests, pruned when a whole-site crawl
 * no longer reaches them. Any http(s) URL no other kind recognises is a web site. Each page is
 * handed on as soon as it is read, and the crawl waits for the sync to take it: a crawl holds
 * the pages in flight, never the whole site's text.
 */
import { type CrawledPage, type CrawlOptions, crawlSite, startURL } from '../../ingest/crawl.js';
import type { ItemEvent, SourceKind, SyncContext, SyncEnd } from './kind.js';

export type WebSettings = Omit<CrawlOptions, 'known' | 'onProgress' | 'fetch' | 'signal'>;

export function webKind(settings: WebSettings): SourceKind {
  return {
    name: 'web',
    label: 'web site',
    noun: 'page(s)',
    recognise(url: URL) {
      return url.protocol === 'http:' || url.protocol === 'https:' ? startURL(url.href).href : undefined;
    },
    async *sync(context: SyncContext): AsyncGenerator<ItemEvent, SyncEnd, void> {
      const ready: { page: CrawledPage; taken: () => void }[] = [];
      let wake: (() => void) | undefined;
      let closed = false;
      const crawl = crawlSite(context.url, {
        ...settings,
        // The sync's fetch applies the address guard on every hop; redirects stay the crawler's.
        fetch: context.fetch,
        sleep: context.sleep,
        now: context.now,
        ...(context.signal ? { signal: context.signal } : {}),
        known: [...context.known.values()].map((page) => ({
          url: page.url,
          ...(page.etag ? { etag: page.etag } : {}),
          ...(page.lastModified ? { lastModified: page.lastModified } : {}),
          links: page.links,
        })),
        onProgress: (progress) =>
          context.progress({
            done: progress.fetched,
            total: progress.fetched + progress.queued,
            item: progress.url,
          }),
        // Resolved once the sync has taken the page (or has stopped taking any).
        onPage: (page) =>
          closed
            ? undefined
            : new Promise<void>((taken) => {
                ready.push({ page, taken });
                wake?.();
              }),
      });
      let ended: { complete: boolean; outOfTime: boolean } | undefined;
      let failure: { error: unknown } | undefined;
      crawl.then(
        (result) => {
          ended = { complete: result.complete, outOfTime: result.outOfTime };
          wake?.();
        },
        (error: unknown) => {
          failure = { error };
          wake?.();
        },
      );
      try {
        for (;;) {
          const next = ready.shift();
          if (next) {
            yield pageEvent(next.page);
            next.taken();
            continue;
          }
          if (failure) throw failure.error;
          if (ended) return { complete: ended.complete, outOfTime: ended.outOfTime };
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      } finally {
        // A sync that stops early lets the crawl finish without waiting on it.
        closed = true;
        for (const { taken } of ready.splice(0)) taken();
      }
    },
  };
}

/** What the sync engine is told of one crawled page. */
function pageEvent(page: CrawledPage): ItemEvent {
  if (page.kind === 'changed') {
    return {
      type: 'document',
      key: page.url,
      url: page.url,
      ...(page.title ? { title: page.title } : {}),
      markdown: page.markdown,
      chunks: page.chunks,
      ...(page.etag ? { etag: page.etag } : {}),
      ...(page.lastModified ? { lastModified: page.lastModified } : {}),
      links: page.links,
    };
  }
  if (page.kind === 'unchanged') return { type: 'unchanged', key: page.url };
  return { type: page.kind, key: page.url, reason: page.reason };
}
