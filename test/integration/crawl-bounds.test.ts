/**
 * What a crawl holds is bounded by its limits, never by what a site sends, on the real paths
 * (the crawler and its parser processes) against loopback sites:
 *
 * - pages that each link a thousand long distinct URLs: the URLs held stay within the page limit,
 *   and the ordinary pages are still found.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrawlProgress, crawlSite } from '../../src/ingest/crawl.js';
import { DEFAULT_PARSE_SETTINGS, ParsePool } from '../../src/ingest/parse-pool.js';
import { type PagesSite, startPagesSite } from '../fakes/pages-site.js';

const timing = { now: () => 0, sleep: async () => undefined, delayMs: 0 };
const pools: ParsePool[] = [];
const pool = () => {
  const created = new ParsePool({ ...DEFAULT_PARSE_SETTINGS, threads: 2 });
  pools.push(created);
  return created;
};
afterAll(() => Promise.all(pools.map((created) => created.close())));

describe('a crawl of pages that each link a thousand long distinct URLs', () => {
  const LINKS = 1_000;
  const LONG = 'x'.repeat(1_900);
  let server: PagesSite;
  let trapPages = 0;
  beforeAll(async () => {
    server = await startPagesSite((path) => {
      if (path.startsWith('/docs/good-'))
        return `<html><body><p>The ordinary page ${path}.</p></body></html>`;
      if (!path.startsWith('/docs/')) return undefined;
      // Every other page under /docs/ sets a long base of its own and links a thousand URLs below it.
      trapPages += 1;
      const good =
        path === '/docs/' ? [1, 2, 3, 4, 5].map((n) => `<a href="/docs/good-${n}.html">good ${n}</a>`) : [];
      const hostile = Array.from({ length: LINKS }, (_, i) => `<a href=${i}>`);
      return `<html><head><base href="/docs/p${trapPages}-${LONG}/"><title>t</title></head><body><p>page ${trapPages}</p>${good.join('')}${hostile.join('')}</body></html>`;
    });
  });
  afterAll(() => server.close());

  it('holds no more URLs than the page limit, still reads the ordinary pages, and is not complete', async () => {
    const maxPages = 30;
    const progress: CrawlProgress[] = [];
    const pages: { url: string; kind: string; links: readonly string[]; etag?: string }[] = [];
    const result = await crawlSite(`${server.url}/docs/`, {
      ...timing,
      maxPages,
      concurrency: 2,
      parser: pool(),
      onProgress: (step) => progress.push(step),
      onPage: (page) => {
        pages.push(
          page.kind === 'changed'
            ? { url: page.url, kind: page.kind, links: page.links, ...(page.etag ? { etag: page.etag } : {}) }
            : { url: page.url, kind: page.kind, links: [] },
        );
      },
    });
    // Fetched and queued together never pass the page limit (it was 1,000 more per page read).
    expect(Math.max(...progress.map((step) => step.fetched + step.queued))).toBeLessThanOrEqual(maxPages);
    expect(server.served).toHaveLength(maxPages);
    expect(pages).toHaveLength(maxPages);
    // The ordinary pages linked from the start page are read, as they were before.
    for (const n of [1, 2, 3, 4, 5]) {
      expect(pages).toContainEqual(
        expect.objectContaining({ url: `${server.url}/docs/good-${n}.html`, kind: 'changed' }),
      );
    }
    // What each page keeps of its links (to follow again on a 304) is bounded too.
    for (const page of pages) {
      expect(page.links.length).toBeLessThanOrEqual(maxPages);
      expect(page.links.reduce((sum, link) => sum + link.length, 0)).toBeLessThanOrEqual(64 * 1024);
    }
    // A page whose links were not all kept is read whole next time, never answered by a 304
    // that would follow only the links kept; the ordinary pages keep their validators.
    for (const page of pages) {
      expect(page.etag === undefined).toBe(page.url.includes('/docs/p') || page.url.endsWith('/docs/'));
    }
    // Links were left unfollowed: pages the crawl did not reach must not be pruned as gone.
    expect(result.linksDropped).toBeGreaterThan(0);
    expect(result.complete).toBe(false);
  });

  it('a site within its limits is still crawled completely', async () => {
    const small = await startPagesSite((path) =>
      path === '/docs/'
        ? '<html><body><a href="a.html">a</a><a href="b.html">b</a></body></html>'
        : path === '/docs/a.html' || path === '/docs/b.html'
          ? `<html><body><p>Page ${path}</p><a href="/docs/">home</a></body></html>`
          : undefined,
    );
    try {
      const result = await crawlSite(`${small.url}/docs/`, { ...timing, maxPages: 3, parser: pool() });
      expect(result.pages.map((page) => page.url).sort()).toEqual(
        [`${small.url}/docs/`, `${small.url}/docs/a.html`, `${small.url}/docs/b.html`].sort(),
      );
      expect(result).toMatchObject({ complete: true, linksDropped: 0 });
    } finally {
      await small.close();
    }
  });
});
