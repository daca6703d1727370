/**
 * Notion as a source: a page with its sub-pages and inline databases, or a database's pages,
 * shared with an internal integration whose token is NOTION_TOKEN. Read with Notion's own
 * client (@notionhq/client, loaded on first sync, API version 2025-09-03): each page's blocks
 * (with their children, page by page) become Markdown cited by the page's URL.
 *
 * Incremental by `last_edited_time` (which Notion rounds down to the minute: a page read within
 * its minute is read again next time): a page that has not been edited keeps its passages and is
 * not read again. Its sub-pages, known from the last read, are still visited, and its inline
 * databases are queried again every sync, since a row added to one does not edit the page;
 * each row is compared by its own `last_edited_time`. A block the integration cannot read (a
 * linked view of a database that is not shared, a synced block whose original is not) is left
 * out of its page; only the page itself missing makes it gone. A database is read through its
 * data sources, or, when Notion describes it without any (the 2022-06-28 shape), by the older
 * database query; if neither answers, that is an error, not an empty database.
 *
 * Requests are spaced to Notion's 3 per second (every attempt counted), and what Notion's own
 * client would retry is retried by the sync's fetch instead, so the waits run on the sync's
 * clock and within its time budget: a 429 or a 529 `service_overload` after its `retry-after`
 * (or a second, doubling), a read's 500/502/503/504 a few times. NOTION_API_URL points
 * elsewhere (tests).
 */
import { createRequire } from 'node:module';
import type { Client } from '@notionhq/client';
import { type NotionBlock, notionTitle } from '../../ingest/formats/notion.js';
import {
  type Environment,
  type ItemEvent,
  SourceError,
  type SourceKind,
  type SyncContext,
  type SyncEnd,
} from './kind.js';

/**
 * Largest answer read: a page of 100 blocks at Notion's own limits (100 rich text objects of
 * 2,000 characters each) is about 20 MB; real ones are a few hundred KB.
 */
const MAX_RESPONSE_BYTES = 32 * 1_048_576;
/** Notion's average limit: three requests per second. */
const GAP_MS = 334;
const MAX_PAGES = 5_000;
/** Result pages one database query may take (100 rows each), whatever `has_more` says. */
const MAX_QUERY_PAGES = Math.ceil(MAX_PAGES / 100) * 2;
/** Blocks read per page at most (a page past it is indexed up to there). */
const MAX_BLOCKS = 10_000;
const MAX_DEPTH = 12;
/** The API version whose databases have no data sources and are queried themselves. */
const LEGACY_VERSION = '2022-06-28';

const NOTION_HOSTS = new Set(['notion.so', 'www.notion.so', 'notion.com', 'www.notion.com']);

type ExtractNotionId = (urlOrId: string) => string | null;
let extract: ExtractNotionId | undefined;

/**
 * Notion's own URL reader (@notionhq/client's `extractNotionId`: the id in the path before a
 * view's `?v=`, else a peeked page's `?p=`). Its helpers module is loaded alone, on the first
 * Notion link, so a bot with no Notion source never loads the client.
 */
function extractNotionId(url: string): string | null {
  extract ??= (
    createRequire(import.meta.url)('@notionhq/client/build/src/helpers.js') as {
      extractNotionId: ExtractNotionId;
    }
  ).extractNotionId;
  return extract(url);
}

function isNotionHost(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  return (
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    (NOTION_HOSTS.has(host) || host.endsWith('.notion.site'))
  );
}

/** The page or database a Notion link names, as 32 hex digits, or undefined. */
export function notionId(url: URL): string | undefined {
  if (!isNotionHost(url)) return undefined;
  const copy = new URL(url);
  copy.hash = '';
  const id = extractNotionId(copy.href);
  return id ? plain(id) : undefined;
}

const plain = (id: string) => id.replace(/-/g, '').toLowerCase();

function dashed(id: string): string {
  const compact = plain(id);
  return `${compact.slice(0, 8)}-${compact.slice(8, 12)}-${compact.slice(12, 16)}-${compact.slice(16, 20)}-${compact.slice(20)}`;
}

interface PageObject {
  readonly object: 'page';
  readonly id: string;
  readonly url: string;
  readonly last_edited_time: string;
  readonly in_trash?: boolean;
  readonly archived?: boolean;
  readonly properties?: Record<string, unknown>;
}

/** What the queue visits: a page known by id, a page as a query returned it, or a database. */
type Entry =
  | { readonly page: string }
  | { readonly row: PageObject }
  | { readonly database: string; readonly knownRows: readonly string[] };

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** A block or database the integration may not read: left out, never failing its page. */
function unreadable(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'object_not_found' || code === 'validation_error' || code === 'restricted_resource';
}

function explain(error: unknown, url: string): Error {
  const code = errorCode(error);
  if (code === 'unauthorized') {
    return new SourceError(
      'Notion refused the token in NOTION_TOKEN (401): it may be revoked; create a new one for the integration',
    );
  }
  if (code === 'object_not_found' || code === 'restricted_resource') {
    return new SourceError(
      `Notion cannot show ${url} to the integration: share the page with it (⋯ → Connections) or check the link`,
    );
  }
  if (error instanceof SourceError) return error;
  return new SourceError(`Notion: ${(error as Error).message?.slice(0, 300) ?? 'request failed'}`);
}

/**
 * A page's links, as kept with it: its sub-pages' ids, `database:<id>` for each inline
 * database, and `row:<database>:<id>` for that database's rows (visited by id if the database
 * cannot be queried once, so a passing failure removes nothing).
 */
function databaseLink(id: string): string {
  return `database:${plain(id)}`;
}
function rowLink(database: string, row: string): string {
  return `row:${plain(database)}:${plain(row)}`;
}

/** The queue entries a page's kept links lead to. */
function entriesOf(links: readonly string[]): Entry[] {
  const rows = new Map<string, string[]>();
  for (const link of links) {
    if (!link.startsWith('row:')) continue;
    const [, database, row] = link.split(':');
    if (database && row) rows.set(database, [...(rows.get(database) ?? []), row]);
  }
  const entries: Entry[] = [];
  for (const link of links) {
    if (link.startsWith('row:')) continue;
    if (link.startsWith('database:')) {
      const database = link.slice('database:'.length);
      entries.push({ database, knownRows: rows.get(database) ?? [] });
    } else entries.push({ page: link });
  }
  return entries;
}

/**
 * The sub-pages and databases among a page's blocks, wherever they sit: Notion nests them in
 * columns, toggles and synced blocks as readily as at the top. Walked without recursion (the
 * blocks were read to a bounded depth), in the page's order.
 */
function nestedItems(blocks: readonly NotionBlock[]): NotionBlock[] {
  const found: NotionBlock[] = [];
  const stack: NotionBlock[] = [...blocks].reverse();
  for (let block = stack.pop(); block; block = stack.pop()) {
    if (block.type === 'child_page' || block.type === 'child_database') found.push(block);
    else for (let i = (block.children?.length ?? 0) - 1; i >= 0; i--) stack.push(block.children![i]!);
  }
  return found;
}

/**
 * How long after its `last_edited_time` a page read may still miss an edit: Notion rounds the
 * time down to the minute, so an edit 40 s into the minute a page was read in leaves the same
 * time; a minute more covers a clock of ours that runs ahead of Notion's.
 */
const UNSETTLED_MS = 2 * 60_000;

/**
 * The version kept for a page read at `now`: its `last_edited_time`, or, while an edit in the
 * same rounded minute could still follow unseen, a mark that never equals one, so the next
 * sync reads the page again (its content hash then decides whether anything is re-chunked).
 * A time with seconds in it was not rounded, and is taken as it is.
 */
function versionOf(lastEdited: string, now: number): string {
  const at = Date.parse(lastEdited);
  const rounded = Number.isFinite(at) && at % 60_000 === 0;
  return rounded && now - at < UNSETTLED_MS ? `${lastEdited} (read within its minute)` : lastEdited;
}

export const notionKind: SourceKind = {
  name: 'notion',
  label: 'Notion pages',
  noun: 'page(s)',
  requestGapMs: GAP_MS,
  maxResponseBytes: MAX_RESPONSE_BYTES,

  recognise(url: URL, env: Environment) {
    const id = notionId(url);
    if (!id) return undefined;
    if (!env.NOTION_TOKEN?.trim()) {
      throw new SourceError(
        'reading Notion needs an integration token: set NOTION_TOKEN, and share the page with the integration',
      );
    }
    const copy = new URL(url);
    copy.hash = '';
    copy.search = '';
    // A link whose path does not carry the id (a page peeked over a database: `?p=<id>`) is
    // kept as the id's own link, which Notion opens.
    return notionId(copy) === id ? copy.href : `${url.origin}/${id}`;
  },

  async *sync(context: SyncContext): AsyncGenerator<ItemEvent, SyncEnd, void> {
    const rootId = notionId(new URL(context.url));
    const token = context.env.NOTION_TOKEN?.trim();
    if (!rootId) throw new SourceError(`${context.url} is not a Notion page or database link`);
    if (!token) throw new SourceError('reading Notion needs an integration token: set NOTION_TOKEN');
    const { Client: NotionClient, LogLevel } = await import('@notionhq/client');
    const baseUrl = context.env.NOTION_API_URL?.trim();
    const client = (notionVersion?: string): Client =>
      new NotionClient({
        auth: token,
        ...(baseUrl ? { baseUrl } : {}),
        ...(notionVersion ? { notionVersion } : {}),
        fetch: context.fetch,
        retry: false,
        logLevel: LogLevel.ERROR,
        logger: () => undefined,
      });
    const notion = client();
    let legacy: Client | undefined;

    const collectRows = async (
      query: (cursor: string | undefined) => Promise<{
        results: readonly { object: string }[];
        has_more: boolean;
        next_cursor: string | null;
      }>,
      rows: PageObject[],
    ) => {
      let cursor: string | undefined;
      let asked = 0;
      do {
        context.signal?.throwIfAborted();
        const result = await query(cursor);
        asked++;
        for (const item of result.results)
          if (item.object === 'page') rows.push(item as unknown as PageObject);
        cursor = result.has_more ? (result.next_cursor ?? undefined) : undefined;
        // An empty page that promises more, or more pages than rows could need, would be asked
        // for ever (the sync's time budget is checked only between items): the query ends.
        if (cursor && (result.results.length === 0 || asked >= MAX_QUERY_PAGES)) {
          cut = true;
          cursor = undefined;
        }
      } while (cursor && rows.length < MAX_PAGES);
    };

    /** The pages of a database: each of its data sources queried, or the database itself (2022-06-28). */
    const databasePages = async (databaseId: string): Promise<PageObject[]> => {
      const database = (await notion.databases.retrieve({ database_id: dashed(databaseId) })) as {
        data_sources?: { id: string }[];
      };
      const rows: PageObject[] = [];
      const sources = database.data_sources ?? [];
      for (const source of sources) {
        await collectRows(
          (cursor) =>
            notion.dataSources.query({
              data_source_id: source.id,
              page_size: 100,
              ...(cursor ? { start_cursor: cursor } : {}),
            }),
          rows,
        );
      }
      if (sources.length > 0) return rows;
      // Described without data sources: the older API queries the database itself.
      legacy ??= client(LEGACY_VERSION);
      const older = legacy;
      try {
        await collectRows(
          (cursor) =>
            older.request({
              path: `databases/${dashed(databaseId)}/query`,
              method: 'post',
              body: { page_size: 100, ...(cursor ? { start_cursor: cursor } : {}) },
            }),
          rows,
        );
      } catch (error) {
        if (errorCode(error) === 'unauthorized') throw error;
        throw new SourceError(
          `Notion describes database ${dashed(databaseId)} without data sources, and its query answered ${errorCode(error) ?? (error as Error).message.slice(0, 100)}: share the database itself (not a linked view of it) with the integration`,
        );
      }
      return rows;
    };

    /** A query ended early (an empty page promising more): what it held may not be all. */
    let cut = false;
    /** A block's children, every page of them, and theirs, to a bounded depth and count. */
    let blocksRead = 0;
    const children = async (blockId: string, depth: number): Promise<NotionBlock[]> => {
      const out: NotionBlock[] = [];
      let cursor: string | undefined;
      do {
        context.signal?.throwIfAborted();
        const result = await notion.blocks.children.list({
          block_id: blockId,
          page_size: 100,
          ...(cursor ? { start_cursor: cursor } : {}),
        });
        for (const block of result.results as unknown as NotionBlock[]) {
          blocksRead++;
          if (blocksRead > MAX_BLOCKS) return out;
          // Sub-pages and databases are items of their own, not this page's content.
          if (
            block.has_children &&
            depth < MAX_DEPTH &&
            block.type !== 'child_page' &&
            block.type !== 'child_database'
          ) {
            try {
              block.children = await children(block.id, depth + 1);
            } catch (error) {
              // A synced block whose original is not shared, a block the API cannot read: its
              // page is indexed without it.
              if (!unreadable(error)) throw error;
              context.logger.debug(
                { block: block.id, code: errorCode(error) },
                'left out a Notion block the integration cannot read',
              );
              block.children = [];
            }
          }
          out.push(block);
        }
        cursor = result.has_more ? (result.next_cursor ?? undefined) : undefined;
        if (cursor && result.results.length === 0) {
          // Non-empty pages are bounded by MAX_BLOCKS; an empty one promising more would be
          // asked for ever. The page fails this time and is kept as it was.
          throw new Error('Notion answered an empty page of blocks that promised more');
        }
      } while (cursor);
      return out;
    };

    const queue: Entry[] = [];
    const failures: ItemEvent[] = [];
    /**
     * An inline database, queried every sync: its rows join the queue (each compared by its own
     * `last_edited_time`) and the links to keep with its page. One the integration cannot read
     * (a linked view) is left out; one that fails otherwise keeps the rows it had.
     */
    const readDatabase = async (databaseId: string, knownRows: readonly string[]): Promise<string[]> => {
      try {
        const rows = await databasePages(databaseId);
        for (const row of rows) queue.push({ row });
        return [databaseLink(databaseId), ...rows.map((row) => rowLink(databaseId, row.id))];
      } catch (error) {
        if (errorCode(error) === 'unauthorized') throw error;
        if (unreadable(error)) {
          context.logger.debug(
            { database: databaseId },
            'left out a Notion database the integration cannot read',
          );
          return [];
        }
        failures.push({
          type: 'failed',
          key: plain(databaseId),
          reason: (error as Error).message.slice(0, 300),
        });
        for (const row of knownRows) queue.push({ page: row });
        return [databaseLink(databaseId), ...knownRows.map((row) => rowLink(databaseId, row))];
      }
    };
    /** Follows a page's kept links: sub-pages visited, databases queried again. */
    const follow = async (links: readonly string[]): Promise<string[]> => {
      const kept: string[] = [];
      for (const entry of entriesOf(links)) {
        if ('database' in entry)
          for (const row of await readDatabase(entry.database, entry.knownRows)) kept.push(row);
        else if ('page' in entry) {
          queue.push(entry);
          kept.push(entry.page);
        }
      }
      return kept;
    };

    // The root: a page, or a database (Notion tells which by refusing the other).
    try {
      try {
        queue.push({ row: (await notion.pages.retrieve({ page_id: dashed(rootId) })) as PageObject });
      } catch (error) {
        const code = errorCode(error);
        if (code !== 'validation_error' && code !== 'object_not_found') throw error;
        for (const row of await databasePages(rootId)) queue.push({ row });
      }
    } catch (error) {
      throw explain(error, context.url);
    }

    const seen = new Set<string>();
    for (let i = 0; i < queue.length && seen.size < MAX_PAGES; i++) {
      const entry = queue[i]!;
      const key = plain('row' in entry ? entry.row.id : 'page' in entry ? entry.page : '');
      if (!key || seen.has(key)) continue;
      seen.add(key);
      context.expect(queue.length);
      try {
        const page =
          'row' in entry
            ? entry.row
            : ((await notion.pages.retrieve({ page_id: dashed(key) })) as PageObject);
        if (page.in_trash || page.archived) {
          yield { type: 'gone', key, reason: 'moved to the trash' };
          continue;
        }
        const known = context.known.get(key);
        if (known?.version === page.last_edited_time) {
          // Not edited since: its passages stand; its sub-pages are visited as last read and
          // its databases queried again (a new row does not edit the page).
          const links = await follow(known.links);
          yield* failures.splice(0);
          yield { type: 'unchanged', key, links };
          continue;
        }
        blocksRead = 0;
        const blocks = await children(page.id, 0);
        const links: string[] = [];
        for (const block of nestedItems(blocks)) {
          if (block.type === 'child_page') {
            links.push(plain(block.id));
            queue.push({ page: block.id });
          } else if (block.type === 'child_database') {
            const knownRows = entriesOf(known?.links ?? []).find(
              (e): e is Extract<Entry, { database: string }> =>
                'database' in e && e.database === plain(block.id),
            )?.knownRows;
            for (const link of await readDatabase(block.id, knownRows ?? [])) links.push(link);
          }
        }
        yield* failures.splice(0);
        const title = notionTitle(page.properties) || 'Untitled';
        // Notion's page URLs take block ids as anchors, not headings.
        const parsed = await context.parse({
          format: 'notion',
          text: JSON.stringify(blocks),
          title,
          url: page.url,
          anchors: false,
        });
        yield {
          type: 'document',
          key,
          url: page.url,
          title,
          markdown: parsed.markdown,
          chunks: parsed.chunks,
          version: versionOf(page.last_edited_time, context.now()),
          links,
          anchors: false,
        };
      } catch (error) {
        yield* failures.splice(0);
        const code = errorCode(error);
        if (code === 'unauthorized') throw explain(error, context.url);
        if (code === 'object_not_found' || code === 'restricted_resource') {
          // The page itself is no longer shared with the integration, or deleted.
          yield { type: 'gone', key, reason: 'no longer shared with the integration' };
        } else {
          // Kept as it was; what it led to as last read is still visited, so nothing is lost.
          await follow(context.known.get(key)?.links ?? []).catch(() => undefined);
          yield* failures.splice(0);
          yield { type: 'failed', key, reason: (error as Error).message.slice(0, 200) };
        }
      }
    }
    // A listing cut short may have missed sub-pages and rows: none of them is taken as gone.
    return { complete: seen.size < MAX_PAGES && !cut };
  },
};
