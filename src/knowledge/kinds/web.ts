/**
 * Web sites as a source: the pages under a URL's folder, crawled as robots.txt allows
 * (src/ingest/crawl.ts), re-fetched with conditional requests, pruned when a whole-site crawl
 * no longer reaches them. Any http(s) URL no other kind recognises is a web site.
 */
import { type CrawlOptions, crawlSite, startURL } from '../../ingest/crawl.js';
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
      const crawl = await crawlSite(context.url, {
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
      });
      context.expect(crawl.pages.length);
      for (const page of crawl.pages) {
        if (page.kind === 'changed') {
          yield {
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
        } else if (page.kind === 'unchanged') yield { type: 'unchanged', key: page.url };
        else yield { type: page.kind, key: page.url, reason: page.reason };
      }
      return { complete: crawl.complete, outOfTime: crawl.outOfTime };
    },
  };
}
