/**
 * What a crawl holds and waits for is bounded by its limits, never by what a site sends, on
 * the real paths (the crawler, the sync and their parser processes) against loopback sites:
 *
 * - pages that each link a thousand long distinct URLs: the URLs held stay within the page limit,
 *   and the ordinary pages are still found;
 * - cancelling a crawl, or a sync of any kind, ends the parse under way.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrawlProgress, crawlSite } from '../../src/ingest/crawl.js';
import type { JobResult, ParseJob } from '../../src/ingest/parse-jobs.js';
import { DEFAULT_PARSE_SETTINGS, type JobOwner, ParsePool } from '../../src/ingest/parse-pool.js';
import type { SourceKind } from '../../src/knowledge/kinds/kind.js';
import { SourceRegistry } from '../../src/knowledge/sources.js';
import { CANCELLED, syncSource } from '../../src/knowledge/sync.js';
import { openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';
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

/** The real pool, except that `controller` is aborted as soon as a job of `kind` is handed to it. */
function cancelOn(kind: ParseJob['kind'], controller: AbortController): ParsePool {
  class CancelOnJob extends ParsePool {
    override run<J extends ParseJob>(
      job: J,
      options: { owner?: JobOwner; signal?: AbortSignal } = {},
    ): Promise<JobResult<J>> {
      const running = super.run(job, options);
      if (job.kind === kind) controller.abort();
      return running;
    }
  }
  const parser = new CancelOnJob({ ...DEFAULT_PARSE_SETTINGS, threads: 2 });
  pools.push(parser);
  return parser;
}

describe('cancelling while a document is parsed ends the parse instead of waiting for it', () => {
  it('a crawl (a removed site, a stopping bot)', async () => {
    const server = await startPagesSite((path) =>
      path === '/docs/' ? '<html><body><p>One page of the site.</p></body></html>' : undefined,
    );
    const controller = new AbortController();
    const parser = cancelOn('page', controller);
    try {
      await expect(
        crawlSite(`${server.url}/docs/`, { ...timing, parser, signal: controller.signal }),
      ).rejects.toThrow(/abort/i);
      // The page was never parsed to the end, and no parser process is left reading it.
      expect(parser.counts.parsed).toBe(0);
      expect(parser.workers).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('a sync of a source of another kind (Git, Notion, Confluence…)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-parse-cancel-'));
    const store = await LocalStore.open({ dir });
    const app = openAppDatabase(dir);
    try {
      const registry = new SourceRegistry(app);
      const { source } = await registry.add('https://notes.example/space', 'notes', 'test');
      const controller = new AbortController();
      const parser = cancelOn('source', controller);
      // A kind that hands one fetched item to the parse pool, as the connectors do.
      const kind: SourceKind = {
        name: 'notes',
        label: 'notes',
        noun: 'note(s)',
        recognise: () => undefined,
        async *sync(context) {
          const parsed = await context.parse({
            format: 'markdown',
            data: new TextEncoder().encode('# A note\n\nThe note explains the qwzx setting.'),
            url: 'https://notes.example/space/a',
            anchors: true,
          });
          yield {
            type: 'document',
            key: 'a',
            url: 'https://notes.example/space/a',
            markdown: parsed.markdown,
            chunks: parsed.chunks,
          };
          return { complete: true };
        },
      };
      const summary = await syncSource(store, registry, source, { kind, parser, signal: controller.signal });
      expect(summary.error).toBe(CANCELLED);
      expect(parser.counts.parsed).toBe(0);
      expect(parser.workers).toBe(0);
      expect((await store.collections()).get('notes') ?? 0).toBe(0);
    } finally {
      store.close();
      app.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
