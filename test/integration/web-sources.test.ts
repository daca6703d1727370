import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { crawlSite } from '../../src/ingest/crawl.js';
import { publicOnly } from '../../src/knowledge/address-guard.js';
import { KnowledgeService } from '../../src/knowledge/service.js';
import { SourceRegistry } from '../../src/knowledge/sources.js';
import { syncSource } from '../../src/knowledge/sync.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { type FakeDocsSite, startFakeDocsSite } from '../fakes/docs-site/index.js';
import { type PagesSite, startPagesSite } from '../fakes/pages-site.js';
import { freePort } from '../support/net.js';

let site: FakeDocsSite;
let dir: string;
let store: LocalStore;
let app: AppDatabase;
let registry: SourceRegistry;
const sleeps: number[] = [];
let clock = 0;
const timing = {
  now: () => clock,
  sleep: async (ms: number) => {
    sleeps.push(ms);
    clock += ms;
  },
};

beforeAll(async () => {
  site = await startFakeDocsSite();
  dir = await mkdtemp(join(tmpdir(), 'rag-web-'));
  store = await LocalStore.open({ dir });
  app = openAppDatabase(dir);
  registry = new SourceRegistry(app);
});
afterAll(async () => {
  store.close();
  app.close();
  await site.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  site.clearRequests();
  sleeps.length = 0;
});
afterEach(() => {
  site.setCrawlDelay(undefined);
  site.setExtraRobots('');
});

const search = (query: string, collections: string[]) => store.search(query, { topK: 3, collections });

describe('web sources: crawling and re-syncing a docs site', () => {
  it('crawls the site as robots.txt allows, through the sitemap and links, keeping each page’s URL and title', async () => {
    const { source } = await registry.add(`${site.url}/docs/`, 'acme', 'test');
    const summary = await syncSource(store, registry, source, { crawl: timing });
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 3, updated: 0, removed: 0, failed: [] });
    const paths = site.requests.map((r) => r.path);
    expect(paths).toContain('/robots.txt');
    expect(paths).toContain('/sitemap.xml');
    expect(paths).not.toContain('/docs/private/secret.html');
    expect(site.requests.every((r) => r.userAgent.includes('rag-chat-bot'))).toBe(true);

    const [hit] = await search('How do I install the widget with frobnicator?', ['acme']);
    expect(hit?.url).toBe(`${site.url}/docs/install.html`);
    expect(hit?.title).toContain('Installing the widget');
    // Main content only: navigation, scripts and footers are not knowledge.
    const all = await store.collection('acme').listIds();
    expect(all.size).toBeGreaterThan(0);
    expect(await search('tracking copyright footer', ['acme'])).toHaveLength(0);
    // Another collection does not see it.
    expect(await search('frobnicator widget install', ['default'])).toHaveLength(0);
  });

  it('re-syncs an unchanged site with conditional requests only, changing nothing', async () => {
    const source = (await registry.find(`${site.url}/docs/`, 'acme'))!;
    const summary = await syncSource(store, registry, source, { crawl: timing });
    expect(summary).toMatchObject({ added: 0, updated: 0, removed: 0, unchanged: 3, chunksUpserted: 0 });
    const pages = site.requests.filter(
      (r) => (r.path.startsWith('/docs/') && r.status < 300) || r.status === 304,
    );
    expect(pages.length).toBe(3);
    expect(pages.every((r) => r.conditional && r.status === 304)).toBe(true);
  });

  it('updates a changed page, adds a new one, prunes a removed one, and keeps a failing one', async () => {
    const source = (await registry.find(`${site.url}/docs/`, 'acme'))!;
    site.setPage(
      '/docs/install.html',
      'Installing the widget',
      'Install the Acme widget with the quuxinator: run quux add widget.',
    );
    site.removePage('/docs/billing.html');
    site.setPage('/docs/faq.html', 'FAQ', 'The widget glows blue when the zorblax is charged.');
    const summary = await syncSource(store, registry, source, { crawl: timing });
    // The index page lists the pages, so its content changed too.
    expect(summary).toMatchObject({ added: 1, updated: 2, removed: 1, failed: [] });
    expect(await search('quuxinator install widget', ['acme'])).not.toHaveLength(0);
    expect(await search('frobnicator', ['acme'])).toHaveLength(0);
    expect(await search('invoices first Monday quarter', ['acme'])).toHaveLength(0);
    expect((await search('zorblax glows', ['acme']))[0]?.url).toBe(`${site.url}/docs/faq.html`);

    site.failPage('/docs/faq.html');
    const failing = await syncSource(store, registry, (await registry.find(`${site.url}/docs/`, 'acme'))!, {
      crawl: timing,
    });
    expect(failing.failed).toEqual([{ url: `${site.url}/docs/faq.html`, reason: 'HTTP 503' }]);
    expect(await search('zorblax glows', ['acme'])).not.toHaveLength(0);
    expect(await registry.find(`${site.url}/docs/`, 'acme')).toMatchObject({
      lastStatus: 'partial',
      failures: 1,
    });
    site.restorePage('/docs/faq.html');
  });

  it('paces requests to the host and honours robots.txt Crawl-delay, without waiting on the clock', async () => {
    await crawlSite(`${site.url}/docs/`, { ...timing, delayMs: 100 });
    expect(sleeps.length).toBeGreaterThan(0);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(100 * 4);
    sleeps.length = 0;
    site.setCrawlDelay(2);
    const result = await crawlSite(`${site.url}/docs/`, { ...timing, delayMs: 100, concurrency: 1 });
    expect(result.pages.length).toBeGreaterThan(1);
    expect(sleeps.filter((ms) => ms === 2_000).length).toBeGreaterThan(0);
  });

  it('follows a redirect within the site to its target, and never one leading off it', async () => {
    const fetched: string[] = [];
    const fetchSpy: typeof fetch = (input, init) => {
      fetched.push(String(input));
      return fetch(input, init);
    };
    const result = await crawlSite(`${site.url}/docs/`, { ...timing, fetch: fetchSpy });
    expect(result.pages).toEqual(
      expect.arrayContaining([
        {
          kind: 'gone',
          url: `${site.url}/docs/old-install.html`,
          reason: `redirects to ${site.url}/docs/install.html`,
        },
        { kind: 'gone', url: `${site.url}/docs/moved-away.html`, reason: 'redirects outside the site' },
      ]),
    );
    expect(result.pages.filter((page) => page.kind === 'changed').map((page) => page.url)).toContain(
      `${site.url}/docs/install.html`,
    );
    expect(fetched.every((url) => url.startsWith(site.url))).toBe(true);
  });

  it('hands each page on as it is read and waits for it to be taken, holding none of them itself', async () => {
    const taken: string[] = [];
    let release: (() => void) | undefined;
    const fetchedPages = () => site.requests.filter((r) => r.path.endsWith('.html')).length;
    const crawling = crawlSite(`${site.url}/docs/`, {
      ...timing,
      concurrency: 1,
      onPage: async (page) => {
        taken.push(page.url);
        if (taken.length === 1) await new Promise<void>((resolve) => (release = resolve));
      },
    });
    while (!release) await new Promise((resolve) => setImmediate(resolve));
    // The first page is with its consumer: no other page is fetched until it is taken.
    const before = fetchedPages();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(fetchedPages()).toBe(before);
    release();
    const result = await crawling;
    expect(result.pages).toEqual([]);
    expect(taken.length).toBeGreaterThan(1);
    expect(taken).toContain(`${site.url}/docs/install.html`);
  });

  it('stops at the page limit and then prunes nothing it did not reach', async () => {
    const result = await crawlSite(`${site.url}/docs/`, { ...timing, maxPages: 1 });
    expect(result.pages).toHaveLength(1);
    expect(result.complete).toBe(false);
  });

  it('reports an unreachable site as a failed sync and keeps what it had', async () => {
    const { source } = await registry.add('http://127.0.0.1:9/docs/', 'acme', 'test');
    const summary = await syncSource(store, registry, source, { crawl: { ...timing, timeoutMs: 2_000 } });
    expect(summary.error).toMatch(/no page could be fetched/);
    expect(await registry.get(source.id)).toMatchObject({ lastStatus: 'failed' });
    expect(await search('quuxinator', ['acme'])).not.toHaveLength(0);
  });

  it('caps a hostile Crawl-delay, and never fetches a sitemap robots.txt names off the site', async () => {
    const fetched: string[] = [];
    const fetchSpy: typeof fetch = (input, init) => {
      fetched.push(String(input));
      return fetch(input, init);
    };
    site.setCrawlDelay(86_400);
    site.setExtraRobots('Sitemap: http://169.254.169.254/latest/meta-data/\n');
    const result = await crawlSite(`${site.url}/docs/`, { ...timing, delayMs: 100, fetch: fetchSpy });
    expect(result.pages.length).toBeGreaterThan(1);
    expect(Math.max(...sleeps)).toBe(10_000);
    expect(fetched.every((url) => url.startsWith(site.url))).toBe(true);
  });

  it('fetches no sitemap, page or link whose text merely begins with the site’s origin', async () => {
    const site = 'https://docs.example.com';
    const offSite = [
      'https://docs.example.com.attacker.net/a.xml',
      'https://docs.example.com@attacker.net/b.xml',
      'https://docs.example.com:8443/c.xml',
      'http://docs.example.com/d.xml',
      'https://user:pw@docs.example.com/e.xml',
    ];
    const offPages = [
      'https://docs.example.com.attacker.net/docs/p.html',
      'https://docs.example.com:444/docs/q.html',
      'https://user@docs.example.com/docs/r.html',
    ];
    const requested: string[] = [];
    const stub: typeof fetch = async (input) => {
      const url = String(input);
      requested.push(url);
      const xml = (body: string) =>
        new Response(`<?xml version="1.0"?>${body}`, { headers: { 'content-type': 'application/xml' } });
      if (url === `${site}/robots.txt`) {
        return new Response(`Sitemap: ${site}.attacker.net/robots-sitemap.xml\nSitemap: ${site}/index.xml\n`);
      }
      if (url === `${site}/index.xml`) {
        return xml(
          `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${[
            ...offSite,
            `${site}/pages.xml`,
          ]
            .map((loc) => `<sitemap><loc>${loc}</loc></sitemap>`)
            .join('')}</sitemapindex>`,
        );
      }
      if (url === `${site}/pages.xml`) {
        return xml(
          `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${[...offPages, `${site}/docs/ok.html`]
            .map((loc) => `<url><loc>${loc}</loc></url>`)
            .join('')}</urlset>`,
        );
      }
      const links = offPages.map((href) => `<a href="${href}">x</a>`).join(' ');
      return new Response(`<html><body><main><h1>Doc</h1><p>Words.</p>${links}</main></body></html>`, {
        headers: { 'content-type': 'text/html' },
      });
    };
    const result = await crawlSite(`${site}/docs/`, { ...timing, fetch: stub });
    expect(requested.every((url) => new URL(url).origin === site && !url.includes('@'))).toBe(true);
    expect(requested).toContain(`${site}/pages.xml`);
    expect(result.pages.map((page) => page.url).sort()).toEqual([`${site}/docs/`, `${site}/docs/ok.html`]);
  });

  it('reads no page past its size limit, whatever it declares', async () => {
    const big = new TextEncoder().encode(`<html><main>${'x'.repeat(4_096)}</main></html>`);
    let served = 0;
    const streaming: typeof fetch = async (input, init) => {
      if (!String(input).endsWith('/docs/')) return fetch(input, init);
      // No content-length: the body is streamed until the crawler stops reading it.
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          served += 1;
          if (served > 100) controller.close();
          else controller.enqueue(big);
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/html' } });
    };
    const result = await crawlSite(`${site.url}/docs/`, {
      ...timing,
      fetch: streaming,
      maxPageBytes: 16_384,
    });
    expect(result.pages).toContainEqual({
      kind: 'failed',
      url: `${site.url}/docs/`,
      reason: expect.stringMatching(/larger than/),
    });
    expect(served).toBeLessThan(10);
  });

  it('with a public-only guard, sends nothing to a site on a private address', async () => {
    const result = await crawlSite(`${site.url}/docs/`, { ...timing, guard: publicOnly() });
    expect(site.requests).toHaveLength(0);
    expect(result.pages.every((page) => page.kind === 'failed')).toBe(true);
  });
});

describe('a sitemap as the URL to ingest', () => {
  let pagesSite: PagesSite;
  beforeAll(async () => {
    pagesSite = await startPagesSite((path) => {
      // Listed only in a sitemap that is not the site's /sitemap.xml, linked from nowhere.
      if (path === '/docs/sitemap-docs.xml') {
        const urls = ['/docs/widgets.html', '/docs/gadgets.html']
          .map((page) => `<url><loc>${pagesSite.url}${page}</loc></url>`)
          .join('');
        return `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls}</urlset>`;
      }
      if (path === '/docs/widgets.html')
        return '<html><body><p>Widgets are flurbished nightly.</p></body></html>';
      if (path === '/docs/gadgets.html')
        return '<html><body><p>Gadgets are flurbished weekly.</p></body></html>';
      return undefined;
    });
  });
  afterAll(() => pagesSite.close());

  it('reads the pages the sitemap lists, wherever it lives on the site', async () => {
    const { source } = await registry.add(`${pagesSite.url}/docs/sitemap-docs.xml`, 'gizmos', 'test');
    const summary = await syncSource(store, registry, source, { crawl: timing });
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 2, failed: [] });
    expect((await search('flurbished', ['gizmos'])).map((hit) => hit.source).sort()).toEqual([
      `${pagesSite.url}/docs/gadgets.html`,
      `${pagesSite.url}/docs/widgets.html`,
    ]);
  });

  it('fails the sync, saying why, when the sitemap is missing or its host does not answer', async () => {
    const missing = await registry.add(`${pagesSite.url}/docs/sitemap-gone.xml`, 'gizmos', 'test');
    const gone = await syncSource(store, registry, missing.source, { crawl: timing });
    expect(gone.error).toBe(`could not read the sitemap ${pagesSite.url}/docs/sitemap-gone.xml (HTTP 404)`);

    const closed = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await registry.add(`${closed}/sitemap.xml`, 'gizmos', 'test');
    const summary = await syncSource(store, registry, unreachable.source, { crawl: timing });
    expect(summary.error).toMatch(
      new RegExp(`^could not read the sitemap ${closed}/sitemap\\.xml \\(.*ECONNREFUSED.*\\)$`),
    );
    expect(await registry.get(unreachable.source.id)).toMatchObject({ lastStatus: 'failed' });
    // What the collection held is kept.
    expect(await search('flurbished', ['gizmos'])).toHaveLength(2);
  });
});

describe('two sources of one collection reaching the same pages', () => {
  let shared: FakeDocsSite;
  let sharedDir: string;
  let sharedStore: LocalStore;
  let sharedApp: AppDatabase;
  const settings = parseConfig({ CRAWL_ALLOW_PRIVATE: 'true', CRAWL_DELAY_MS: '0' }).knowledge;
  /** One process of the bot on the shared database (another instance is another process). */
  const instance = (instanceId = 'first') =>
    new KnowledgeService({
      store: sharedStore,
      appDatabase: () => sharedApp,
      settings,
      crawl: timing,
      instanceId,
    });
  const searchShared = (query: string) => sharedStore.search(query, { topK: 3, collections: ['overlap'] });

  beforeAll(async () => {
    shared = await startFakeDocsSite();
    sharedDir = await mkdtemp(join(tmpdir(), 'rag-overlap-'));
    sharedStore = await LocalStore.open({ dir: sharedDir });
    sharedApp = openAppDatabase(sharedDir);
  });
  afterAll(async () => {
    sharedStore.close();
    sharedApp.close();
    await shared.close();
    await rm(sharedDir, { recursive: true, force: true });
  });

  it('removing one keeps the passages the other holds, and its re-sync finds them in place', async () => {
    const service = instance();
    const whole = (await service.addSource(`${shared.url}/docs/`, 'overlap', 'cli')).source;
    const page = (await service.addSource(`${shared.url}/docs/install.html`, 'overlap', 'cli')).source;
    await service.sync([whole, page]);
    expect(await searchShared('frobnicator widget install')).not.toHaveLength(0);
    await service.removeSource(whole);
    expect((await searchShared('frobnicator widget install'))[0]?.url).toBe(
      `${shared.url}/docs/install.html`,
    );
    const [again] = await service.sync([(await service.findSource(String(page.id)))!]);
    expect(again?.error).toBeUndefined();
    expect((await searchShared('frobnicator widget install'))[0]?.url).toBe(
      `${shared.url}/docs/install.html`,
    );
    await service.removeSource((await service.findSource(String(page.id)))!);
    expect(await searchShared('frobnicator widget install')).toEqual([]);
  });

  it('a re-sync writes again the passages of pages missing from the store, however unchanged the site says they are', async () => {
    const service = instance();
    const { source } = await service.addSource(`${shared.url}/docs/`, 'overlap', 'cli');
    await service.sync([source]);
    const ids = (await service.registry.pages(source.id)).flatMap((p) => p.chunkIds);
    await sharedStore.collection('overlap').delete(ids);
    expect(await searchShared('frobnicator widget install')).toEqual([]);
    const [summary] = await service.sync([(await service.findSource(String(source.id)))!]);
    expect(summary?.chunksUpserted).toBeGreaterThan(0);
    expect(await searchShared('frobnicator widget install')).not.toHaveLength(0);
    await service.removeSource((await service.findSource(String(source.id)))!);
  });

  it('a site removed and added again while another process still syncs it keeps the new source’s passages', async () => {
    const hold = shared.holdPage('/docs/install.html');
    const slow = instance();
    const { source: old } = await slow.addSource(`${shared.url}/docs/`, 'overlap', 'cli');
    const stale = slow.sync([old]);
    await hold.requested;
    // Meanwhile, in another process: removed, added again, synced in full.
    const other = instance('second');
    await other.removeSource(old);
    const { source: fresh } = await other.addSource(`${shared.url}/docs/`, 'overlap', 'cli');
    hold.release();
    await other.sync([fresh]);
    const [cancelled] = await stale;
    expect(cancelled?.error).toBe('cancelled');
    expect((await searchShared('frobnicator widget install'))[0]?.url).toBe(
      `${shared.url}/docs/install.html`,
    );
    const [resync] = await other.sync([(await other.findSource(String(fresh.id)))!]);
    expect(resync?.error).toBeUndefined();
    expect(await searchShared('frobnicator widget install')).not.toHaveLength(0);
  });
});

describe('CRAWL_ALLOW_HOSTS: an intranet host a chat may add', () => {
  const place = { platform: 'slack', channelId: 'C1', workspaceId: 'T1' };
  // The intranet's names, all on the fake site's loopback address.
  const resolve = async (host: string) =>
    host === 'metadata.corp.internal'
      ? [{ address: '169.254.169.254', family: 4 }]
      : ['wiki.internal', 'admin.internal', 'docs.corp.internal'].includes(host)
        ? [{ address: '127.0.0.1', family: 4 }]
        : [];
  const on = (host: string) => site.url.replace('127.0.0.1', host);
  const service = (env: Record<string, string>, tenantPlatforms?: ReadonlySet<string>) =>
    new KnowledgeService({
      store,
      appDatabase: () => app,
      settings: parseConfig({ CRAWL_DELAY_MS: '0', ...env }).knowledge,
      crawl: timing,
      resolve,
      ...(tenantPlatforms ? { tenantPlatforms } : {}),
    });

  it('never reaches a link-local or metadata address, an address literal, or another tenant', async () => {
    const open = service({ CRAWL_ALLOW_HOSTS: '*.corp.internal' });
    await expect(
      open.addSourceFromChat(place, 'http://metadata.corp.internal/latest/', 'intranet', 'slack:U1'),
    ).rejects.toThrow(/link-local or metadata address/);
    await expect(open.addSourceFromChat(place, `${site.url}/docs/`, 'intranet', 'slack:U1')).rejects.toThrow(
      /private or local address[^=]*or run npm run ingest/,
    );
    // Where workspaces are kept apart, the operator's intranet is for those KB_CREDENTIALED_TENANTS names.
    const tenants = new Set(['slack']);
    const shared = service({ CRAWL_ALLOW_HOSTS: 'wiki.internal' }, tenants);
    await expect(
      shared.addSourceFromChat(place, `${on('wiki.internal')}/docs/`, 'intranet-t1', 'slack:U1'),
    ).rejects.toThrow(/private or local address/);
    const credentialed = service(
      { CRAWL_ALLOW_HOSTS: 'wiki.internal', KB_CREDENTIALED_TENANTS: 'T1' },
      tenants,
    );
    const { source } = await credentialed.addSourceFromChat(
      place,
      `${on('wiki.internal')}/docs/`,
      'intranet-t1',
      'slack:U1',
    );
    await credentialed.removeSource(source);
  });

  it('reaches only the hosts named, on a private address, from the chat and at every sync', async () => {
    const closed = service({});
    await expect(
      closed.addSourceFromChat(place, `${on('wiki.internal')}/docs/`, 'intranet', 'slack:U1'),
    ).rejects.toThrow(/CRAWL_ALLOW_HOSTS=wiki\.internal/);
    const open = service({ CRAWL_ALLOW_HOSTS: 'wiki.internal' });
    await expect(
      open.addSourceFromChat(place, `${on('admin.internal')}/docs/`, 'intranet', 'slack:U1'),
    ).rejects.toThrow(/private or local address/);
    const { source } = await open.addSourceFromChat(
      place,
      `${on('wiki.internal')}/docs/`,
      'intranet',
      'slack:U1',
    );
    const [summary] = await open.sync([source]);
    expect(summary?.error).toBeUndefined();
    expect(summary?.added).toBeGreaterThan(0);
    expect(summary?.failed).toEqual([]);
    expect((await search('frobnicator widget install', ['intranet']))[0]?.url).toContain('wiki.internal');
    await open.removeSource((await open.findSource(String(source.id)))!);
  });

  it('takes host names only, each exact or *. and a domain', () => {
    for (const value of ['10.0.0.5', '10.1', '*.0.1', 'wiki..internal'])
      expect(() => parseConfig({ CRAWL_ALLOW_HOSTS: value }), value).toThrow(
        /CRAWL_ALLOW_HOSTS.*not a host name/,
      );
    expect(() => parseConfig({ CRAWL_ALLOW_HOSTS: '*.internal' })).toThrow(/top-level domain/);
    expect(
      parseConfig({ CRAWL_ALLOW_HOSTS: 'Wiki.Internal, *.corp.example' }).knowledge.crawl.allowHosts,
    ).toEqual(['wiki.internal', '*.corp.example']);
  });
});
