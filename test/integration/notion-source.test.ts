/**
 * Notion as a source: the real @notionhq/client against a loopback fake of Notion's API, a
 * page tree with sub-pages, a database, paginated blocks, the 3-requests-per-second limit and
 * a 429 on an injected clock, edits by last_edited_time, and a revoked token.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { notionBlocksToMarkdown } from '../../src/ingest/formats/notion.js';
import { SourceError } from '../../src/knowledge/kinds/kind.js';
import { notionKind } from '../../src/knowledge/kinds/notion.js';
import { SourceRegistry } from '../../src/knowledge/sources.js';
import { type SyncOptions, syncSource } from '../../src/knowledge/sync.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { type FakeBlock, type FakeNotion, startFakeNotion, text } from '../fakes/notion/index.js';

const TOKEN = 'ntn_valid_token_for_tests';
const id = (n: number) => n.toString(16).padStart(32, 'a');
const ROOT = id(1);
const SUB = id(2);
const DB = id(3);
const ROW_A = id(4);
const ROW_B = id(5);
const ROOT_URL = `https://www.notion.so/acme/Engineering-handbook-${ROOT}`;

let notion: FakeNotion;
let dir: string;
let store: LocalStore;
let app: AppDatabase;
let registry: SourceRegistry;
let clock = Date.parse('2026-03-01T12:00:00Z');
const sleeps: number[] = [];

const options = (extra: Partial<SyncOptions> = {}): SyncOptions => ({
  kind: notionKind,
  env: { NOTION_API_URL: notion.url, NOTION_TOKEN: TOKEN },
  now: () => clock,
  sleep: async (ms) => {
    sleeps.push(ms);
    clock += ms;
  },
  ...extra,
});
const dashedId = (plain: string) =>
  `${plain.slice(0, 8)}-${plain.slice(8, 12)}-${plain.slice(12, 16)}-${plain.slice(16, 20)}-${plain.slice(20)}`;
/** Notion answering a database's retrieve in the older shape, without `data_sources`. */
const withoutDataSources: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input));
  if ((init?.method ?? 'GET') !== 'GET' || !url.pathname.startsWith('/v1/databases/') || !response.ok) {
    return response;
  }
  const { data_sources: _dropped, ...database } = (await response.json()) as Record<string, unknown>;
  return new Response(JSON.stringify(database), { status: 200, headers: response.headers });
};
const search = (query: string, collection = 'eng') =>
  store.search(query, { topK: 3, collections: [collection] });
const para = (n: number, content: string): FakeBlock => ({
  id: id(100 + n),
  type: 'paragraph',
  paragraph: { rich_text: text(content) },
});

beforeAll(async () => {
  notion = await startFakeNotion({ now: () => clock });
  notion.setToken(TOKEN);
  dir = await mkdtemp(join(tmpdir(), 'rag-notion-'));
  store = await LocalStore.open({ dir });
  app = openAppDatabase(dir);
  registry = new SourceRegistry(app);
  notion.pages.set(ROOT, {
    id: ROOT,
    title: 'Engineering handbook',
    last_edited_time: '2026-02-01T00:00:00.000Z',
    blocks: [
      { id: id(201), type: 'heading_1', heading_1: { rich_text: text('Deploying') } },
      para(1, 'Deploys go out every Tuesday after the gronkle review.'),
      {
        id: id(202),
        type: 'bulleted_list_item',
        bulleted_list_item: { rich_text: text('Check the dashboards') },
      },
      {
        id: id(203),
        type: 'code',
        code: { rich_text: text('acme deploy --canary'), language: 'shell' },
      },
      {
        id: id(204),
        type: 'toggle',
        toggle: { rich_text: text('Rollback steps') },
        children: [para(2, 'Run acme rollback with the previous wibble tag.')],
      },
      {
        id: id(205),
        type: 'table',
        table: { table_width: 2, has_column_header: true, has_row_header: false },
        children: [
          { id: id(206), type: 'table_row', table_row: { cells: [text('Service'), text('Owner')] } },
          { id: id(207), type: 'table_row', table_row: { cells: [text('billing'), text('team snorkel')] } },
        ],
      },
      { id: SUB, type: 'child_page', child_page: { title: 'On-call' } },
      { id: DB, type: 'child_database', child_database: { title: 'Runbooks' } },
      // More blocks than one page of results.
      ...Array.from({ length: 6 }, (_, i) => para(10 + i, `Filler paragraph ${i}.`)),
    ],
  });
  notion.pages.set(SUB, {
    id: SUB,
    title: 'On-call',
    last_edited_time: '2026-02-01T00:00:00.000Z',
    blocks: [para(30, 'The on-call engineer answers pages within fifteen minutes.')],
  });
  notion.pages.set(ROW_A, {
    id: ROW_A,
    title: 'Runbook: disk full',
    last_edited_time: '2026-02-01T00:00:00.000Z',
    blocks: [para(40, 'When the disk is full, rotate the quibble logs first.')],
  });
  notion.pages.set(ROW_B, {
    id: ROW_B,
    title: 'Runbook: cert expiry',
    last_edited_time: '2026-02-01T00:00:00.000Z',
    blocks: [para(50, 'Renew the certificate with acme certs renew.')],
  });
  notion.databases.set(DB, { dataSource: 'ds-runbooks', pages: [ROW_A, ROW_B] });
});
afterAll(async () => {
  store.close();
  app.close();
  await notion.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  notion.clearRequests();
  notion.setPageSize(5);
  sleeps.length = 0;
});

describe('Notion: a page with its sub-pages and databases', () => {
  it('reads the page tree into Markdown (headings, lists, code, toggles, tables), citing each page', async () => {
    const { source } = await registry.add(
      notionKind.recognise(new URL(ROOT_URL), { NOTION_TOKEN: TOKEN })!,
      'eng',
      'test',
      'notion',
    );
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 4, failed: [] });
    const [deploy] = await search('When do deploys go out gronkle review?');
    expect(deploy?.url).toBe(`https://www.notion.so/Engineering-handbook-${ROOT}`);
    expect(deploy?.title).toContain('Engineering handbook');
    expect((await search('rollback previous wibble tag'))[0]?.text).toContain('Rollback steps');
    expect((await search('who owns billing snorkel'))[0]?.text).toContain('| billing | team snorkel |');
    expect((await search('canary deploy command'))[0]?.text).toContain('```shell\nacme deploy --canary\n```');
    expect((await search('on-call answers pages fifteen minutes'))[0]?.url).toContain(SUB);
    expect((await search('disk full quibble logs'))[0]?.url).toContain(ROW_A);
  });

  it('keeps to three requests a second, on the sync’s clock, and never meets a 429 for it', async () => {
    const source = (await registry.find(
      notionKind.recognise(new URL(ROOT_URL), { NOTION_TOKEN: TOKEN })!,
      'eng',
    ))!;
    notion.pages.get(ROOT)!.last_edited_time = '2026-02-02T00:00:00.000Z';
    await syncSource(store, registry, source, options());
    expect(notion.requests.length).toBeGreaterThan(4);
    expect(notion.requests.every((r) => r.status !== 429)).toBe(true);
    // `at` is the sync's injected clock (the fake reads the same one), not the machine's: any
    // four requests in a row span a second of that clock.
    const onTestClock = notion.requests.map((request) => request.at);
    const windows = onTestClock.slice(3).map((at, i) => at - onTestClock[i]!);
    expect(windows.every((span) => span >= 1000)).toBe(true);
  });

  it('re-syncs unedited pages without reading their blocks (by last_edited_time)', async () => {
    const source = (await registry.find(
      notionKind.recognise(new URL(ROOT_URL), { NOTION_TOKEN: TOKEN })!,
      'eng',
    ))!;
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ added: 0, updated: 0, removed: 0, unchanged: 4, chunksUpserted: 0 });
    expect(notion.requests.some((r) => r.path.includes('/children'))).toBe(false);
  });

  it('reads an edited page again, drops a page taken out of a database or trashed, and waits out a 429', async () => {
    Object.assign(notion.pages.get(SUB)!, {
      last_edited_time: '2026-02-10T00:00:00.000Z',
      blocks: [para(31, 'The on-call engineer answers pages within five minutes now.')],
    });
    notion.databases.get(DB)!.pages = [ROW_A];
    notion.pages.get(ROOT)!.last_edited_time = '2026-02-10T00:00:00.000Z';
    notion.rateLimitOnce(7);
    const source = (await registry.find(
      notionKind.recognise(new URL(ROOT_URL), { NOTION_TOKEN: TOKEN })!,
      'eng',
    ))!;
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ updated: 1, removed: 1, failed: [] });
    expect(sleeps).toContain(7_000);
    expect((await search('on-call five minutes now'))[0]?.text).toContain('five minutes now');
    expect(await search('certificate renew')).toEqual([]);
  });

  it('reads a database’s pages when the link is the database', async () => {
    const { source } = await registry.add(`https://www.notion.so/${DB}?v=abc`, 'runbooks', 'test', 'notion');
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ added: 1, failed: [] });
    expect((await search('disk full quibble', 'runbooks'))[0]?.url).toContain(ROW_A);
  });

  it('names NOTION_TOKEN: missing when adding, refused when revoked; says to share an unshared page', async () => {
    expect(() => notionKind.recognise(new URL(ROOT_URL), {})).toThrow(SourceError);
    expect(() => notionKind.recognise(new URL(ROOT_URL), {})).toThrow(/set NOTION_TOKEN/);
    const source = (await registry.find(
      notionKind.recognise(new URL(ROOT_URL), { NOTION_TOKEN: TOKEN })!,
      'eng',
    ))!;
    const revoked = await syncSource(
      store,
      registry,
      source,
      options({ env: { NOTION_API_URL: notion.url, NOTION_TOKEN: 'ntn_revoked' } }),
    );
    expect(revoked.error).toMatch(/Notion refused the token in NOTION_TOKEN/);
    expect(JSON.stringify(revoked)).not.toContain('ntn_revoked');
    expect(await search('gronkle review')).not.toEqual([]);

    notion.unshare(ROOT);
    const unshared = await syncSource(store, registry, source, options());
    expect(unshared.error).toMatch(/share the page with it/);
  });
});

describe('Notion: what a page holds that the integration cannot read, and databases', () => {
  const HOME = id(60);
  const INLINE = id(61);
  const ROW_1 = id(62);
  const ROW_2 = id(63);
  const LINKED_VIEW = id(64);
  const PRIVATE = id(65);
  const ORIGINAL = id(66);
  const home = () =>
    notionKind.recognise(new URL(`https://www.notion.so/acme/Support-home-${HOME}`), {
      NOTION_TOKEN: TOKEN,
    })!;

  beforeAll(() => {
    // A page not shared with the integration, holding the original of a synced block.
    notion.pages.set(PRIVATE, {
      id: PRIVATE,
      title: 'Private',
      last_edited_time: '2026-02-01T00:00:00.000Z',
      blocks: [
        {
          id: ORIGINAL,
          type: 'synced_block',
          synced_block: { synced_from: null },
          children: [para(70, 'The private escalation number is 555-0199.')],
        },
      ],
    });
    notion.unshare(PRIVATE);
    notion.pages.set(HOME, {
      id: HOME,
      title: 'Support home',
      last_edited_time: '2026-02-01T00:00:00.000Z',
      blocks: [
        para(71, 'Support answers tickets about the plonk valve within a day.'),
        // A linked view of a database the integration cannot retrieve.
        { id: LINKED_VIEW, type: 'child_database', child_database: { title: 'Tickets (linked)' } },
        // A copy of a synced block whose original lives in the page not shared.
        {
          id: id(72),
          type: 'synced_block',
          synced_block: { synced_from: { type: 'block_id', block_id: ORIGINAL } },
        },
        { id: INLINE, type: 'child_database', child_database: { title: 'FAQ' } },
      ],
    });
    notion.pages.set(ROW_1, {
      id: ROW_1,
      title: 'FAQ: frost',
      last_edited_time: '2026-02-01T00:00:00.000Z',
      blocks: [para(73, 'In frost, warm the plonk valve before opening it.')],
    });
    notion.databases.set(INLINE, { dataSource: 'ds-faq', pages: [ROW_1] });
  });

  it('indexes a page holding a linked database view and a synced block whose original is not shared, without them', async () => {
    const { source } = await registry.add(home(), 'support', 'test', 'notion');
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 2, removed: 0, failed: [] });
    const [hit] = await search('plonk valve tickets within a day', 'support');
    expect(hit?.url).toContain(HOME);
    expect(await search('private escalation number', 'support')).toEqual([]);
    // The client speaks the API version whose databases have data sources.
    expect(new Set(notion.requests.map((r) => r.version))).toEqual(new Set(['2025-09-03']));
  });

  it('reads a row added to an inline database of an unedited page, by the row’s own last_edited_time', async () => {
    notion.pages.set(ROW_2, {
      id: ROW_2,
      title: 'FAQ: noise',
      last_edited_time: '2026-02-05T00:00:00.000Z',
      blocks: [para(74, 'A humming plonk valve needs its gasket replaced.')],
    });
    notion.databases.get(INLINE)!.pages = [ROW_1, ROW_2];
    const source = (await registry.find(home(), 'support'))!;
    const summary = await syncSource(store, registry, source, options());
    expect(summary).toMatchObject({ added: 1, updated: 0, unchanged: 2, failed: [] });
    expect((await search('humming plonk valve gasket', 'support'))[0]?.url).toContain(ROW_2);
    // The unedited page's blocks and the unedited row's blocks were not read again.
    expect(notion.requests.filter((r) => r.path.includes('/children')).map((r) => r.path)).toEqual([
      `/v1/blocks/${ROW_2}/children?page_size=100`,
    ]);

    notion.databases.get(INLINE)!.pages = [ROW_2];
    const removed = await syncSource(store, registry, source, options());
    expect(removed).toMatchObject({ removed: 1, failed: [] });
    const left = await search('warm the plonk valve before opening it in frost', 'support');
    expect(left.filter((hit) => hit.url?.includes(ROW_1))).toEqual([]);
  });

  it('reads a database Notion describes without data sources through the older query (2022-06-28)', async () => {
    const url = notionKind.recognise(new URL(`https://www.notion.so/${INLINE}?v=${id(75)}`), {
      NOTION_TOKEN: TOKEN,
    })!;
    expect(url).toBe(`https://www.notion.so/${INLINE}`);
    const { source } = await registry.add(url, 'legacy', 'test', 'notion');
    const summary = await syncSource(store, registry, source, options({ fetch: withoutDataSources }));
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 1 });
    expect((await search('humming plonk valve gasket', 'legacy'))[0]?.url).toContain(ROW_2);
    expect(notion.requests).toContainEqual(
      expect.objectContaining({
        method: 'POST',
        path: `/v1/databases/${dashedId(INLINE)}/query`,
        status: 200,
        version: '2022-06-28',
      }),
    );
  });

  it('says so when a database has no data sources and the older query is refused, rather than reading it as empty', async () => {
    notion.databases.get(INLINE)!.multiSource = true;
    try {
      const source = (await registry.find(`https://www.notion.so/${INLINE}`, 'legacy'))!;
      const summary = await syncSource(store, registry, source, options({ fetch: withoutDataSources }));
      expect(summary.error).toMatch(/without data sources, and its query answered validation_error/);
      // What it had is kept.
      expect((await search('humming plonk valve gasket', 'legacy'))[0]?.url).toContain(ROW_2);
    } finally {
      notion.databases.get(INLINE)!.multiSource = false;
    }
  });
});

describe('Notion: an API whose listings never end', () => {
  afterAll(() => notion.setEndlessEmptyPages(false));

  it('fails a page whose blocks come as empty pages promising more, keeping it as it was', async () => {
    const PAGE = id(900);
    notion.pages.set(PAGE, {
      id: PAGE,
      title: 'Pager notes',
      last_edited_time: '2026-02-01T00:00:00.000Z',
      blocks: [para(900, 'The pager rotation hands over at the florp meeting.')],
    });
    const { source } = await registry.add(
      `https://www.notion.so/Pager-notes-${PAGE}`,
      'pager',
      'test',
      'notion',
    );
    expect(await syncSource(store, registry, source, options())).toMatchObject({ added: 1 });
    notion.pages.get(PAGE)!.last_edited_time = '2026-02-20T00:00:00.000Z';
    notion.clearRequests();
    notion.setEndlessEmptyPages(true);
    const summary = await syncSource(store, registry, source, options());
    notion.setEndlessEmptyPages(false);
    // Its only page failed, so the sync says why; nothing is removed.
    expect(summary.error).toMatch(/Notion answered an empty page of blocks that promised more/);
    expect(summary.removed).toBe(0);
    expect(summary.failed.map((f) => f.reason)).toEqual([
      'Notion answered an empty page of blocks that promised more',
    ]);
    // One request for the blocks, not an endless walk; the page is kept as it was.
    expect(notion.requests.filter((r) => r.path.includes('/children'))).toHaveLength(1);
    expect((await search('pager rotation florp meeting', 'pager'))[0]?.text).toContain('florp');
  });

  it('stops a database source’s query at an empty page promising more, removing none of its rows', async () => {
    const source = (await registry.find(`https://www.notion.so/${DB}?v=abc`, 'runbooks'))!;
    notion.setEndlessEmptyPages(true);
    const summary = await syncSource(store, registry, source, options());
    notion.setEndlessEmptyPages(false);
    expect(notion.requests.filter((r) => r.path.endsWith('/query'))).toHaveLength(1);
    expect(summary.removed).toBe(0);
    expect((await search('disk full quibble', 'runbooks'))[0]?.url).toContain(ROW_A);
  });
});

describe('Notion asking us to come back later: 529 service_overload and server errors', () => {
  /** A database source of its own, whose row is edited before each sync so it is read again. */
  const OVERLOAD_DB = id(60);
  const OVERLOAD_ROW = id(61);
  let edits = 0;
  const editRow = (words: string) => {
    edits += 1;
    Object.assign(notion.pages.get(OVERLOAD_ROW)!, {
      last_edited_time: `2026-04-${String(edits).padStart(2, '0')}T00:00:00.000Z`,
      blocks: [para(62, words)],
    });
  };
  const source = async () => {
    const url = `https://www.notion.so/${OVERLOAD_DB}?v=def`;
    return (
      (await registry.find(url, 'overload')) ?? (await registry.add(url, 'overload', 'test', 'notion')).source
    );
  };
  beforeAll(() => {
    notion.pages.set(OVERLOAD_ROW, {
      id: OVERLOAD_ROW,
      title: 'Load shedding',
      last_edited_time: '2026-03-31T00:00:00.000Z',
      blocks: [para(62, 'Shed load by draining the wombat queue.')],
    });
    notion.databases.set(OVERLOAD_DB, { dataSource: 'ds-overload', pages: [OVERLOAD_ROW] });
  });

  it('waits out a 529 for its retry-after, on any request (a data source query is a POST), and resumes', async () => {
    notion.overload(2, 9);
    const summary = await syncSource(store, registry, await source(), options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 1, failed: [] });
    expect(notion.requests.filter((r) => r.status === 529)).toHaveLength(2);
    expect(sleeps.filter((ms) => ms === 9_000)).toHaveLength(2);
    expect((await search('drain the wombat queue', 'overload'))[0]?.text).toContain('wombat');

    editRow('Shed load by pausing the ocelot jobs.');
    notion.clearRequests();
    sleeps.length = 0;
    // In the middle of reading the row's blocks, a POST query not involved.
    notion.overload(1, 9);
    const again = await syncSource(store, registry, await source(), options());
    expect(again).toMatchObject({ updated: 1, failed: [] });
    expect(notion.requests[0]?.status).toBe(529);
    expect(notion.requests[0]?.method).toBe('GET');
  });

  it('backs off from a 529 without retry-after: a second, then two', async () => {
    editRow('Shed load by pausing the lemur jobs.');
    notion.overload(2, undefined);
    const summary = await syncSource(store, registry, await source(), options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ updated: 1, failed: [] });
    expect(sleeps.filter((ms) => ms >= 1_000)).toEqual([1_000, 2_000]);
    expect((await search('lemur jobs', 'overload'))[0]?.text).toContain('lemur');
  });

  it('asks a read again after a passing 500, 502, 503 or 504, a bounded number of times', async () => {
    for (const status of [500, 502, 503, 504] as const) {
      editRow(`Shed load by pausing the jobs of status ${status}.`);
      notion.clearRequests();
      sleeps.length = 0;
      notion.serverErrors(3, status);
      const summary = await syncSource(store, registry, await source(), options());
      expect(summary.error).toBeUndefined();
      expect(summary).toMatchObject({ updated: 1, failed: [] });
      expect(sleeps.filter((ms) => ms >= 1_000)).toEqual([1_000, 2_000, 4_000]);
    }
    // One more than the retries: the read gives up (here the source's first request: the sync fails, keeping all).
    notion.serverErrors(4, 502);
    const failed = await syncSource(store, registry, await source(), options());
    expect(failed.error).toMatch(/Notion/);
    expect(notion.requests.filter((r) => r.status === 502).length).toBeGreaterThanOrEqual(4);
    expect((await search('status 504', 'overload'))[0]?.text).toContain('504');
  });

  it('never waits past the sync’s time budget: a long retry-after ends the sync as out of time, keeping what it had', async () => {
    editRow('Shed load by pausing the tapir jobs.');
    notion.overload(1, 3_600);
    const summary = await syncSource(store, registry, await source(), options({ budgetMs: 600_000 }));
    expect(summary.error).toBeUndefined();
    expect(summary.outOfTime).toBe(true);
    expect(summary.removed).toBe(0);
    expect(sleeps.some((ms) => ms >= 3_600_000)).toBe(false);
    expect((await search('status 504', 'overload'))[0]?.text).toContain('504');
    // Next time it is read.
    const again = await syncSource(store, registry, await source(), options());
    expect(again).toMatchObject({ updated: 1, failed: [] });
  });
});

describe('Notion: sub-pages inside layout blocks, and edits within the minute of a read', () => {
  const LAYOUT = id(1000);
  const IN_COLUMN = id(1001);
  const IN_TOGGLE_DB = id(1002);
  const TOGGLE_ROW = id(1003);
  const layoutUrl = `https://www.notion.so/Team-space-${LAYOUT}`;

  beforeAll(() => {
    notion.pages.set(LAYOUT, {
      id: LAYOUT,
      title: 'Team space',
      last_edited_time: '2026-02-01T00:00:00.000Z',
      blocks: [
        para(1010, 'The team space lists our sub-pages in two columns.'),
        {
          id: id(1011),
          type: 'column_list',
          column_list: {},
          children: [
            {
              id: id(1012),
              type: 'column',
              column: {},
              children: [{ id: IN_COLUMN, type: 'child_page', child_page: { title: 'Escalations' } }],
            },
            {
              id: id(1013),
              type: 'column',
              column: {},
              children: [
                {
                  id: id(1014),
                  type: 'toggle',
                  toggle: { rich_text: text('Trackers') },
                  children: [
                    { id: IN_TOGGLE_DB, type: 'child_database', child_database: { title: 'Incidents' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    notion.pages.set(IN_COLUMN, {
      id: IN_COLUMN,
      title: 'Escalations',
      last_edited_time: '2026-02-01T00:00:00.000Z',
      blocks: [para(1015, 'Escalate a sev-1 to the duty zorblat within ten minutes.')],
    });
    notion.pages.set(TOGGLE_ROW, {
      id: TOGGLE_ROW,
      title: 'Incident: blue screen',
      last_edited_time: '2026-02-01T00:00:00.000Z',
      blocks: [para(1016, 'The blue screen incident was a frobnicator overflow.')],
    });
    notion.databases.set(IN_TOGGLE_DB, { dataSource: 'ds-incidents', pages: [TOGGLE_ROW] });
  });

  it('reads a sub-page in a column and a database in a toggle, as Notion nests them', async () => {
    const { source } = await registry.add(layoutUrl, 'layout', 'test', 'notion');
    const summary = await syncSource(store, registry, source, options());
    expect(summary.error).toBeUndefined();
    expect(summary).toMatchObject({ added: 3, failed: [] });
    expect((await search('sev-1 duty zorblat', 'layout'))[0]?.url).toContain(IN_COLUMN);
    expect((await search('frobnicator overflow blue screen', 'layout'))[0]?.url).toContain(TOGGLE_ROW);
    // Re-synced unedited, the nested sub-page and the database row are still the source's.
    const again = await syncSource(store, registry, source, options());
    expect(again).toMatchObject({ unchanged: 3, removed: 0, failed: [] });
  });

  it('reads a page again when it was read within the minute its last_edited_time is rounded down to', async () => {
    const page = notion.pages.get(IN_COLUMN)!;
    // Notion rounds last_edited_time down to the minute: read 20 s into 12:00, then edited at
    // 12:00:40, the page still says 12:00:00.
    const saved = clock;
    try {
      clock = Date.parse('2026-05-01T12:00:20Z');
      Object.assign(page, {
        last_edited_time: '2026-05-01T12:00:00.000Z',
        blocks: [para(1017, 'Escalate a sev-1 to the duty quokka within ten minutes.')],
      });
      const source = (await registry.find(layoutUrl, 'layout'))!;
      expect(await syncSource(store, registry, source, options())).toMatchObject({ updated: 1 });
      clock = Date.parse('2026-05-01T12:30:00Z');
      page.blocks = [para(1018, 'Escalate a sev-1 to the duty wallaby within ten minutes.')];
      const edited = await syncSource(store, registry, source, options());
      expect(edited).toMatchObject({ updated: 1, failed: [] });
      expect((await search('sev-1 duty wallaby', 'layout'))[0]?.text).toContain('wallaby');
      // Read well after its minute, it is settled: not read again.
      notion.clearRequests();
      const settled = await syncSource(store, registry, source, options());
      expect(settled).toMatchObject({ updated: 0, added: 0 });
      expect(notion.requests.some((r) => r.path.includes(`${IN_COLUMN}/children`))).toBe(false);
    } finally {
      clock = Math.max(clock, saved);
    }
  });
});

describe('Notion: an answer that never ends', () => {
  it('stops reading a body past 32 MB: the page fails alone, saying so, and keeps what it had', async () => {
    const PAGE = id(1100);
    notion.pages.set(PAGE, {
      id: PAGE,
      title: 'Bottomless',
      last_edited_time: '2026-02-01T00:00:00.000Z',
      blocks: [para(1101, 'The bottomless page explains the yoink procedure.')],
    });
    const { source } = await registry.add(
      `https://www.notion.so/Bottomless-${PAGE}`,
      'bottomless',
      'test',
      'notion',
    );
    expect(await syncSource(store, registry, source, options())).toMatchObject({ added: 1 });
    notion.pages.get(PAGE)!.last_edited_time = '2026-02-21T00:00:00.000Z';
    let sent = 0;
    const chunk = new Uint8Array(1_048_576).fill(0x20);
    // The blocks' answer: a JSON body that never ends.
    const endless: typeof fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (!url.pathname.endsWith('/children')) return fetch(input, init);
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => controller.enqueue(new TextEncoder().encode('{"object":"list","results":[')),
        pull: (controller) => {
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const summary = await syncSource(store, registry, source, options({ fetch: endless }));
    expect(summary.failed.map((f) => f.reason)).toEqual([expect.stringMatching(/larger than 32 MB/)]);
    expect(sent).toBeLessThan(40 * 1_048_576);
    expect(summary.removed).toBe(0);
    expect((await search('bottomless yoink procedure', 'bottomless'))[0]?.text).toContain('yoink');
  });
});

describe('Notion blocks to Markdown', () => {
  it('links only to web addresses: a javascript: bookmark or link keeps its words, not the link', () => {
    const markdown = notionBlocksToMarkdown([
      { id: '1', type: 'bookmark', bookmark: { url: 'javascript:alert(1)', caption: text('Open me') } },
      { id: '2', type: 'embed', embed: { url: 'data:text/html,<script>x</script>', caption: [] } },
      {
        id: '3',
        type: 'paragraph',
        paragraph: { rich_text: [...text('see '), ...text('this', {}, 'javascript:alert(2)')] },
      },
      {
        id: '4',
        type: 'bookmark',
        bookmark: { url: 'https://en.wikipedia.org/wiki/Tea_(meal)', caption: [] },
      },
    ]);
    expect(markdown).toBe(
      'Open me\n\nsee this\n\n[https://en.wikipedia.org/wiki/Tea_%28meal%29](https://en.wikipedia.org/wiki/Tea_%28meal%29)',
    );
  });

  it('renders nested lists, numbered items, to-dos and annotated text', () => {
    const markdown = notionBlocksToMarkdown([
      {
        id: '1',
        type: 'numbered_list_item',
        numbered_list_item: { rich_text: text('First') },
        children: [
          { id: '2', type: 'bulleted_list_item', bulleted_list_item: { rich_text: text('nested') } },
        ],
      },
      { id: '3', type: 'numbered_list_item', numbered_list_item: { rich_text: text('Second') } },
      { id: '4', type: 'to_do', to_do: { rich_text: text('Ship it'), checked: true } },
      {
        id: '5',
        type: 'paragraph',
        paragraph: {
          rich_text: [
            ...text('bold', { bold: true }),
            ...text(' and '),
            ...text('docs', {}, 'https://example.com/docs'),
          ],
        },
      },
    ]);
    expect(markdown).toBe(
      '1. First\n  - nested\n2. Second\n- [x] Ship it\n**bold** and [docs](https://example.com/docs)',
    );
  });
});
