/**
 * `npm run ingest -- <url>` for every connector, as a user runs it: a child process with a
 * clean environment pointing at each connector's fake. Each source is added and synced into
 * its collection, answers cite it, a second run after a change syncs only the change, and a
 * refused or missing token is named without being shown.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/stores/local/index.js';
import { type Connectors, startConnectors } from '../support/connectors.js';
import { runCli, tempDataDir } from './cli.js';

let connectors: Connectors;
let data: string;
const env = (extra: Record<string, string> = {}) => ({
  ...connectors.env,
  RAG_DATA_DIR: data,
  // The loopback fakes need no politeness; tests never wait on the clock.
  CRAWL_DELAY_MS: '0',
  ...extra,
});

async function firstHit(question: string, collection: string): Promise<string | undefined> {
  const store = await LocalStore.open({ dir: data });
  try {
    return (await store.search(question, { topK: 1, collections: [collection] }))[0]?.url;
  } finally {
    store.close();
  }
}

beforeAll(async () => {
  connectors = await startConnectors();
  data = await tempDataDir();
});
afterAll(async () => {
  await connectors.close();
  await rm(data, { recursive: true, force: true });
});

describe('npm run ingest -- <source URL>', () => {
  for (const kind of ['git', 'github', 'notion', 'confluence'] as const) {
    it(`${kind}: syncs into the collection with a summary, answers cite it, a second run syncs the change`, async () => {
      const source = connectors.cases.find((c) => c.kind === kind)!;
      const first = await runCli('src/cli/ingest.ts', [source.url, '--collection', source.collection], {
        env: env(),
      });
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(
        new RegExp(`^Synced .* into collection ${source.collection} \\(source #\\d+\\):`),
      );
      expect(first.stdout).toMatch(/added\s+1/);
      expect(await firstHit(source.question, source.collection)).toBe(source.citation());

      await source.change();
      const again = await runCli('src/cli/ingest.ts', [source.url, '--collection', source.collection], {
        env: env(),
      });
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/(added|updated)\s+1/);
      expect(await firstHit(source.changedQuestion, source.collection)).toBe(source.changedCitation());
    });
  }

  it('names the variable of a refused token, never its value, and keeps what it had (exit 1)', async () => {
    const github = connectors.cases.find((c) => c.kind === 'github')!;
    const result = await runCli('src/cli/ingest.ts', [github.url, '--collection', github.collection], {
      env: env({ GITHUB_TOKEN: 'ghp_revoked_in_cli' }),
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('failed: GitHub refused the token in GITHUB_TOKEN');
    expect(`${result.stdout}${result.stderr}`).not.toContain('ghp_revoked_in_cli');
    expect(await firstHit(github.question, github.collection)).toBe(github.citation());
  });

  it('says which variable to set before adding a Notion page without NOTION_TOKEN (exit 2)', async () => {
    const notion = connectors.cases.find((c) => c.kind === 'notion')!;
    const result = await runCli('src/cli/ingest.ts', [notion.url], { env: env({ NOTION_TOKEN: '' }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('set NOTION_TOKEN');
  });
});
