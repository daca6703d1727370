/**
 * Confluence Cloud as a source: its REST API v2 (a loopback fake) with basic auth, cursor
 * pagination (in the body, or in the Link header alone), storage format to Markdown, versions,
 * restricted pages, folders in a page tree, links by page id, and rate limits (429 with
 * Retry-After or X-RateLimit-Reset, 503 with Retry-After) on an injected clock.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { confluenceStorageToMarkdown } from '../../src/ingest/formats/confluence.js';
import { DEFAULT_PARSE_SETTINGS, ParsePool } from '../../src/ingest/parse-pool.js';
import { confluenceKind } from '../../src/knowledge/kinds/confluence.js';
import { SourceRegistry } from '../../src/knowledge/sources.js';
import { type SyncOptions, syncSource } from '../../src/knowledge/sync.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { type FakeConfluence, startFakeConfluence } from '../fakes/confluence/index.js';

const EMAIL = 'bot@acme.example';
const TOKEN = 'atl_valid_token';
let confluence: FakeConfluence;
let dir: string;
let store: LocalStore;
let app: AppDatabase;
let registry: SourceRegistry;
let clock = 0;
const sleeps: number[] = [];

const env = () => ({ CONFLUENCE_URL: confluence.base, CONFLUENCE_EMAIL: EMAIL, CONFLUENCE_TOKEN: TOKEN });
const options = (extra: Partial<SyncOptions> = {}): SyncOptions => ({
  kind: confluenceKind,
  env: env(),
  now: () => clock,
  sleep: async (ms) => {
    sleeps.push(ms);
    clock += ms;
  },
  ...extra,
});
const search = (query: string, collection = 'wiki') =>
  store.search(query, { topK: 3, collections: [collection] });

beforeAll(async () => {
  confluence = await startFakeConfluence({ now: () => clock });
  confluence.setCredentials(EMAIL, TOKEN);
  dir = await mkdtemp(join(tmpdir(), 'rag-confluence-'));
  store = await LocalStore.open({ dir });
  app = openAppDatabase(dir);
  registry = new SourceRegistry(app);
  confluence.space('ENG').push(
    {
      id: '100',
      title: 'Engineering home',
      version: 3,
      storage:
        '<h1>Welcome</h1><p>Our services run in the <strong>frobnitz</strong> cluster.</p><ac:structured-macro ac:name="toc"/>',
    },
    {
      id: '101',
      title: 'Deploying',
      parentId: '100',
      version: 1,
      storage: `<h2>Steps</h2><ol><li>Build the image</li><li>Run the deploy:<ul><li>staging first</li></ul></li></ol>
<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter><ac:plain-text-body><![CDATA[acme deploy --env prod && echo "<done>"]]></ac:plain-text-body></ac:structured-macro>
<ac:structured-macro ac:name="warning"><ac:rich-text-body><p>Never deploy on a Friday &amp; never without the zibble check.</p></ac:rich-text-body></ac:structured-macro>
<table><tbody><tr><th>Env</th><th>Region</th></tr><tr><td>prod</td><td>eu-wobble-1</td></tr></tbody></table>
<p>See <ac:link><ri:page ri:content-title="Engineering home"/></ac:link> and <a href="https://example.com/runbook">the runbook</a>.</p>`,
    },
    {
      id: '102',
      title: 'Secrets',
      parentId: '100',
      version: 1,
      storage: '<p>The vault password rotates monthly.</p>',
      restricted: true,
    },
    {
      id: '200',
      title: 'Team lunch',
      version: 1,
      storage: '<p>Lunch is on Thursdays at the quokka cafe.</p>',
    },
  );
});
afterAll(async () => {
  store.close();
  app.close();
  await confluence.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  confluence.clearRequests();
  confluence.setPageSize(2);
  confluence.setPagination('both');
  sleeps.length = 0;
});

describe('Confluence: a space or a page tree, by version', () => {
  it('reads the readable pages of a space across cursor pages, citing each page, and skips restricted ones', async () => {
    const url = confluenceKind.recognise(new URL(`${confluence.base}/spaces/ENG/overview`), env())!;
    expect(url).toBe(`${confluence.base}/spaces/ENG`);
    const { source } = await registry.add(url, 'wiki', 'test', 'confluence');
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 3, failed: [] });
    const [deploy] = await search('deploy on a Friday zibble check');
    expect(deploy?.url).toBe(`${confluence.base}/spaces/ENG/pages/101/Deploying`);
    expect(deploy?.text).toContain(
      '> **Warning:** Never deploy on a Friday & never without the zibble check.',
    );
    expect((await search('prod region wobble'))[0]?.text).toContain('| prod | eu-wobble-1 |');
    expect((await search('acme deploy env prod'))[0]?.text).toContain(
      '```bash\nacme deploy --env prod && echo "<done>"\n```',
    );
    expect(await search('vault password rotates')).toEqual([]);
    expect(confluence.requests.some((r) => r.path.includes('cursor='))).toBe(true);
  });

  it('re-syncs by version: unchanged pages are not read again; an edited one is; a deleted one is removed', async () => {
    const source = (await registry.find(`${confluence.base}/spaces/ENG`, 'wiki'))!;
    const again = await syncSource(store, registry, source, options());
    expect(again).toMatchObject({ added: 0, updated: 0, unchanged: 3, chunksUpserted: 0 });
    expect(
      confluence.requests.some((r) => r.path.includes('body-format=storage') && !r.path.includes('/102')),
    ).toBe(false);

    const pages = confluence.space('ENG');
    Object.assign(pages.find((p) => p.id === '200')!, {
      version: 2,
      storage: '<p>Lunch moved to Fridays at the wombat diner.</p>',
    });
    pages.splice(
      pages.findIndex((p) => p.id === '100'),
      1,
    );
    confluence.rateLimitOnce(30);
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ updated: 1, removed: 1, failed: [] });
    expect(sleeps).toContain(30_000);
    expect((await search('lunch wombat diner'))[0]?.url).toContain('/pages/200/');
    expect(await search('frobnitz cluster')).toEqual([]);
    pages.unshift({
      id: '100',
      title: 'Engineering home',
      version: 4,
      storage: '<p>Our services run in the frobnitz cluster.</p>',
    });
  });

  it('keeps a page that fails to be read (and retries it), while the others sync', async () => {
    const pages = confluence.space('ENG');
    Object.assign(pages.find((p) => p.id === '101')!, {
      version: 2,
      storage: '<p>Deploys need the quorble sign-off.</p>',
    });
    Object.assign(pages.find((p) => p.id === '200')!, {
      version: 3,
      storage: '<p>Lunch is on Mondays now.</p>',
    });
    confluence.failPage('101');
    const source = (await registry.find(`${confluence.base}/spaces/ENG`, 'wiki'))!;
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary.failed).toEqual([{ url: '101', reason: 'HTTP 500' }]);
    expect(summary.updated).toBe(1);
    expect((await search('deploy on a Friday zibble check'))[0]?.url).toContain('/pages/101/');
    expect(await registry.get(source.id)).toMatchObject({ lastStatus: 'partial', failures: 1 });

    confluence.restorePage('101');
    const retried = await syncSource(store, registry, source, options());
    expect(retried).toMatchObject({ updated: 1, failed: [] });
    expect((await search('quorble sign-off'))[0]?.url).toContain('/pages/101/');
  });

  it('parses pages in the parse pool: one past its budget fails alone, the rest land', async () => {
    confluence
      .space('BIG')
      .push(
        { id: '900', title: 'Huge', version: 1, storage: `<p>${'blah '.repeat(2_000)}</p>` },
        { id: '901', title: 'Small', version: 1, storage: '<p>The snozzberry policy is lenient.</p>' },
      );
    const parser = new ParsePool({ ...DEFAULT_PARSE_SETTINGS, threads: 1, maxChars: 2_000 });
    try {
      const { source } = await registry.add(`${confluence.base}/spaces/BIG`, 'big', 'test', 'confluence');
      const summary = await syncSource(store, registry, source, options({ parser }));
      expect(summary.error).toBeUndefined();
      expect(summary.failed).toEqual([
        { url: '900', reason: expect.stringContaining('more than 2,000 characters') },
      ]);
      expect((await search('snozzberry policy', 'big'))[0]?.url).toContain('/pages/901/');
      expect(parser.counts.parsed).toBeGreaterThan(0);
    } finally {
      await parser.close();
    }
  });

  it('reads a page and the pages under it when the link is a page', async () => {
    const url = confluenceKind.recognise(
      new URL(`${confluence.base}/spaces/ENG/pages/100/Engineering+home`),
      env(),
    )!;
    const { source } = await registry.add(url, 'tree', 'test', 'confluence');
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ added: 2, failed: [] });
    expect(await search('lunch', 'tree')).toEqual([]);
  });

  it('names the variables: missing when adding, refused when the token is revoked', async () => {
    expect(() =>
      confluenceKind.recognise(new URL(`${confluence.base}/spaces/ENG`), { CONFLUENCE_URL: confluence.base }),
    ).toThrow(/needs CONFLUENCE_EMAIL, CONFLUENCE_TOKEN/);
    const source = (await registry.find(`${confluence.base}/spaces/ENG`, 'wiki'))!;
    const revoked = await syncSource(
      store,
      registry,
      source,
      options({ env: { ...env(), CONFLUENCE_TOKEN: 'atl_revoked' } }),
    );
    expect(revoked.error).toMatch(
      /Confluence refused CONFLUENCE_EMAIL with the token in CONFLUENCE_TOKEN \(401\): it may be revoked/,
    );
    expect(JSON.stringify(revoked)).not.toContain('atl_revoked');
  });
});

describe('Confluence: a site that answers with a web page', () => {
  it('says the answer was not JSON and to check CONFLUENCE_URL, keeping what it had', async () => {
    const source = (await registry.find(`${confluence.base}/spaces/ENG`, 'wiki'))!;
    const before = (await registry.pages(source.id)).length;
    const loginPage: typeof fetch = async () =>
      new Response('<!DOCTYPE html><html><body>Log in to continue</body></html>', {
        status: 200,
        headers: { 'content-type': 'text/html;charset=UTF-8' },
      });
    const summary = await syncSource(store, registry, source, options({ fetch: loginPage }));
    expect(summary.error).toMatch(
      /with something other than JSON \(text\/html;charset=UTF-8\): check that CONFLUENCE_URL/,
    );
    expect(summary.error).not.toContain('DOCTYPE');
    expect(await registry.pages(source.id)).toHaveLength(before);
  });
});

describe('Confluence: the shapes of a site the documentation allows', () => {
  it('follows pages given only in the Link header', async () => {
    confluence.setPagination('link');
    const { source } = await registry.add(`${confluence.base}/spaces/ENG`, 'linked', 'test', 'confluence');
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 3, failed: [] });
    expect(confluence.requests.some((r) => r.path.includes('cursor='))).toBe(true);
  });

  it('takes CONFLUENCE_URL as Atlassian names the site, without /wiki', async () => {
    const site = confluence.base.replace(/\/wiki$/, '');
    const bare = { ...env(), CONFLUENCE_URL: site };
    const url = confluenceKind.recognise(new URL(`${confluence.base}/spaces/ENG/overview`), bare)!;
    expect(url).toBe(`${confluence.base}/spaces/ENG`);
    const { source } = await registry.add(url, 'bare-site', 'test', 'confluence');
    const summary = await syncSource(store, registry, source, options({ env: bare }));
    expect(summary).toMatchObject({ added: 3, failed: [] });
    expect(summary.error).toBeUndefined();
  });

  it('reads the pages under folders of a page tree, and not the pages beside it', async () => {
    const ops = confluence.space('OPS');
    confluence.folder('OPS', { id: '310', title: 'Guides', parentId: '300' });
    confluence.folder('OPS', { id: '311', title: 'Older guides', parentId: '310' });
    ops.push(
      { id: '300', title: 'Operations', version: 1, storage: '<p>Operations start here.</p>' },
      {
        id: '301',
        title: 'Snorkel gauge',
        parentId: '310',
        version: 1,
        storage: '<p>The snorkel gauge reads blue when calm.</p>',
      },
      {
        id: '302',
        title: 'Old pump',
        parentId: '311',
        version: 1,
        storage: '<p>The old pump hums at dawn.</p>',
      },
      {
        id: '303',
        title: 'Elsewhere',
        version: 1,
        storage: '<p>The elsewhere page talks of gauges too.</p>',
      },
    );
    const { source } = await registry.add(
      `${confluence.base}/spaces/OPS/pages/300`,
      'ops',
      'test',
      'confluence',
    );
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 3, failed: [] });
    expect((await search('snorkel gauge blue', 'ops'))[0]?.url).toContain('/pages/301/');
    expect((await search('old pump hums dawn', 'ops'))[0]?.url).toContain('/pages/302/');
    expect((await search('elsewhere page', 'ops')).filter((hit) => hit.url?.includes('/pages/303/'))).toEqual(
      [],
    );
  });

  it('reads a page tree from a tiny link or a viewpage link, by the page id it names', async () => {
    // Page 100's tiny code: its id's little-endian bytes in base64, trailing As dropped.
    const tiny = confluenceKind.recognise(new URL(`${confluence.base}/x/ZA`), env())!;
    const view = confluenceKind.recognise(
      new URL(`${confluence.base}/pages/viewpage.action?pageId=100`),
      env(),
    )!;
    expect(tiny).toBe(`${confluence.base}/pages/viewpage.action?pageId=100`);
    expect(view).toBe(tiny);
    const { source } = await registry.add(tiny, 'tiny', 'test', 'confluence');
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 2, failed: [] });
    expect(await search('lunch', 'tiny')).toEqual([]);
  });

  it('waits for X-RateLimit-Reset on a 429 without Retry-After, and for Retry-After on a 503', async () => {
    clock = Math.ceil(clock / 60_000) * 60_000;
    confluence.rateLimitOnce(30, 'reset');
    const source = (await registry.find(`${confluence.base}/spaces/ENG`, 'wiki'))!;
    const limited = await syncSource(store, registry, source, options());
    expect(limited.error).toBeUndefined();
    // The reset is given to the minute: a minute on, and a second past it.
    expect(sleeps).toEqual([61_000]);

    sleeps.length = 0;
    confluence.unavailableOnce(20);
    const unavailable = await syncSource(store, registry, source, options());
    expect(unavailable.error).toBeUndefined();
    expect(unavailable.failed).toEqual([]);
    expect(sleeps).toEqual([20_000]);
  });
});

describe('Confluence: a scoped API token, through Atlassian’s gateway', () => {
  const SITE = 'https://acme.atlassian.net';
  const SCOPED = 'atl_scoped_token';
  /** api.atlassian.com answered by the fake; every address asked is kept. */
  const asked: string[] = [];
  const gatewayFetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    asked.push(url.href);
    if (url.origin !== 'https://api.atlassian.com') throw new Error(`unexpected request to ${url.origin}`);
    return fetch(`${new URL(confluence.base).origin}${url.pathname}${url.search}`, init);
  };
  const gatewayEnv = () => ({
    CONFLUENCE_URL: `https://api.atlassian.com${new URL(confluence.gateway).pathname}`,
    CONFLUENCE_SITE: SITE,
    CONFLUENCE_EMAIL: EMAIL,
    CONFLUENCE_TOKEN: SCOPED,
  });
  afterAll(() => {
    confluence.setCredentials(EMAIL, TOKEN);
    confluence.setSiteBase(undefined);
    confluence.setPageSize(250);
  });

  it('reads a space added by its site link through the gateway, following next links there, citing the site’s pages', async () => {
    confluence.setCredentials(EMAIL, SCOPED, [
      'read:space:confluence',
      'read:page:confluence',
      'read:folder:confluence',
    ]);
    confluence.setSiteBase(`${SITE}/wiki`);
    confluence.setPageSize(1);
    const url = confluenceKind.recognise(new URL(`${SITE}/wiki/spaces/ENG/overview`), gatewayEnv())!;
    expect(url).toBe(`${SITE}/wiki/spaces/ENG`);
    const { source } = await registry.add(url, 'scoped', 'test', 'confluence');
    asked.length = 0;
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ env: gatewayEnv(), fetch: gatewayFetch }),
    );
    expect(summary.error).toBeUndefined();
    expect(summary.failed).toEqual([]);
    expect(summary.added).toBeGreaterThan(1);
    // Every request, next pages included, went to the gateway under this cloud id.
    const prefix = `https://api.atlassian.com${new URL(confluence.gateway).pathname}/wiki/api/v2/`;
    expect(asked.every((address) => address.startsWith(prefix))).toBe(true);
    expect(asked.some((address) => address.includes('cursor='))).toBe(true);
    const [hit] = await search('frobnitz cluster', 'scoped');
    expect(hit?.url?.startsWith(`${SITE}/wiki/spaces/ENG/pages/100/`)).toBe(true);
  });

  it('says the scoped token lacks a scope (not that it is revoked) when Confluence answers "scope does not match"', async () => {
    confluence.setCredentials(EMAIL, SCOPED, ['read:page:confluence']);
    const source = (await registry.find(`${SITE}/wiki/spaces/ENG`, 'scoped'))!;
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ env: gatewayEnv(), fetch: gatewayFetch }),
    );
    expect(summary.error).toMatch(
      /CONFLUENCE_TOKEN .*scope does not match.*lacks a scope.*read:space:confluence/,
    );
    expect(summary.error).not.toMatch(/revoked/);
    expect(JSON.stringify(summary)).not.toContain(SCOPED);
  });

  it('says a scoped token goes through the gateway when CONFLUENCE_URL is the site', async () => {
    confluence.setCredentials(EMAIL, SCOPED, ['read:space:confluence', 'read:page:confluence']);
    const source = (await registry.find(`${confluence.base}/spaces/ENG`, 'wiki'))!;
    const summary = await syncSource(
      store,
      registry,
      source,
      options({ env: { ...env(), CONFLUENCE_TOKEN: SCOPED } }),
    );
    expect(summary.error).toMatch(
      /works only through Atlassian's gateway.*CONFLUENCE_URL.*api\.atlassian\.com\/ex\/confluence/,
    );
  });

  it('needs CONFLUENCE_SITE with the gateway, and reads no other site’s links', () => {
    const { CONFLUENCE_SITE: _site, ...withoutSite } = gatewayEnv();
    expect(() => confluenceKind.recognise(new URL(`${SITE}/wiki/spaces/ENG`), withoutSite)).toThrow(
      /CONFLUENCE_SITE is required/,
    );
    expect(() =>
      confluenceKind.recognise(new URL('https://other.atlassian.net/wiki/spaces/ENG'), gatewayEnv()),
    ).toThrow(/not the Confluence site in CONFLUENCE_SITE/);
  });
});

describe('Confluence: a site whose listing never ends', () => {
  it('stops a space’s page listing at an empty page that names a next one, removing nothing', async () => {
    const source = (await registry.find(`${confluence.base}/spaces/ENG`, 'wiki'))!;
    confluence.setEndlessEmptyPages(true);
    const summary = await syncSource(store, registry, source, options());
    confluence.setEndlessEmptyPages(false);
    expect(confluence.requests.filter((r) => /\/spaces\/\d+\/pages/.test(r.path))).toHaveLength(1);
    expect(summary.removed).toBe(0);
    expect((await search('deploy on a Friday zibble check'))[0]?.url).toContain('/pages/101/');
  });
});

describe('Confluence storage format to Markdown', () => {
  it('keeps a code body whole even when it holds backticks, and drops images and layout macros', () => {
    const markdown = confluenceStorageToMarkdown(
      '<p>Before<ac:image><ri:attachment ri:filename="x.png"/></ac:image></p><ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[a ``` b]]></ac:plain-text-body></ac:structured-macro><ac:structured-macro ac:name="children"/><ac:task-list><ac:task><ac:task-status>complete</ac:task-status><ac:task-body>Ship it</ac:task-body></ac:task></ac:task-list>',
    );
    expect(markdown).toBe('Before\n\n````\na ``` b\n````\n\n- [x] Ship it');
  });

  it('converts lists and table sections nested past any sensible depth, to a bounded depth, without failing', () => {
    const lists = confluenceStorageToMarkdown(
      `<p>Lists first.</p><ul><li>top item${'<ul><li>deeper'.repeat(50_000)}</li></ul>`,
    );
    expect(lists.startsWith('Lists first.\n\n- top item\n  - deeper\n    - deeper')).toBe(true);
    expect(lists.length).toBeLessThan(20_000);
    const table = confluenceStorageToMarkdown(
      `<p>Table next.</p><table><tbody><tr><th>Port</th></tr><tr><td>8080</td></tr></tbody>${'<thead>'.repeat(50_000)}</table>`,
    );
    expect(table).toBe('Table next.\n\n| Port |\n| --- |\n| 8080 |');
  });
});
