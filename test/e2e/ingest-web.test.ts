import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/stores/local/index.js';
import { type FakeDocsSite, startFakeDocsSite } from '../fakes/docs-site/index.js';
import { runCli, tempDataDir } from './cli.js';

let site: FakeDocsSite;
let data: string;
// No pause between requests: the loopback site needs no politeness, and tests never wait on the clock.
const env = () => ({ RAG_DATA_DIR: data, CRAWL_DELAY_MS: '0' });

beforeAll(async () => {
  site = await startFakeDocsSite();
  data = await tempDataDir();
});
afterAll(async () => {
  await site.close();
  await rm(data, { recursive: true, force: true });
});

describe('npm run ingest -- <site URL>', () => {
  it('crawls the site into the named collection, prints a summary, and re-syncs cheaply', async () => {
    const first = await runCli('src/cli/ingest.ts', [`${site.url}/docs/`, '--collection', 'acme'], {
      env: env(),
    });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Crawled ${site.url}/docs/ into collection acme (source #1)`);
    expect(first.stdout).toMatch(/added\s+3/);

    const store = await LocalStore.open({ dir: data });
    try {
      const [hit] = await store.search('install the widget with frobnicator', {
        topK: 1,
        collections: ['acme'],
      });
      expect(hit?.url).toBe(`${site.url}/docs/install.html`);
      expect(await store.search('install the widget with frobnicator', { topK: 1 })).toHaveLength(0);
    } finally {
      store.close();
    }

    site.clearRequests();
    const again = await runCli('src/cli/ingest.ts', [`${site.url}/docs/`, '--collection', 'acme'], {
      env: env(),
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/unchanged\s+3/);
    expect(site.requests.filter((r) => r.status === 200 && r.path.startsWith('/docs/'))).toHaveLength(0);
  });

  it('refuses a bad collection name clearly, changing nothing', async () => {
    const bad = await runCli('src/cli/ingest.ts', [`${site.url}/docs/`, '--collection', 'Bad Name!'], {
      env: env(),
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not a collection name');
  });

  it('reports an unreachable site as failed, exit 1, keeping what it had', async () => {
    const result = await runCli('src/cli/ingest.ts', ['http://127.0.0.1:9/docs/', '--collection', 'acme'], {
      env: env(),
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('failed: no page could be fetched');
  });
});
