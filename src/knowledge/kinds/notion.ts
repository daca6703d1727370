/**
 * Notion as a source: a page with its sub-pages, or a database's pages, shared with an
 * internal integration whose token is NOTION_TOKEN. Read with Notion's own client
 * (@notionhq/client, loaded on first sync): each page's blocks (with their children, page by
 * page) become Markdown cited by the page's URL. Incremental by `last_edited_time`: a page
 * that has not been edited keeps its passages and is not read again (its sub-pages, known from
 * the last read, are still visited). Requests are spaced to Notion's 3 per second and a 429's
 * `retry-after` is waited out; the client's own retries are off, so the waits run on the
 * sync's clock. NOTION_API_URL points elsewhere (tests).
 */
import type { Client } from '@notionhq/client';
import { type NotionBlock, notionTitle } from '../../ingest/formats/notion.js';
import { pacedFetch } from './http.js';
import {
  type Environment,
  type ItemEvent,
  SourceError,
  type SourceKind,
  type SyncContext,
  type SyncEnd,
} from './kind.js';

/** Notion's average limit: three requests per second. */
const GAP_MS = 334;
const MAX_PAGES = 5_000;
/** Blocks read per page at most (a page past it is indexed up to there). */
const MAX_BLOCKS = 10_000;
const MAX_DEPTH = 12;

const NOTION_HOSTS = ['notion.so', 'www.notion.so'];

/** The 32-hex id at the end of a Notion URL's last segment (`Title-<id>` or `<id>`). */
export function notionId(url: URL): string | undefined {
  const host = url.hostname.toLowerCase();
  if (!NOTION_HOSTS.includes(host) && !host.endsWith('.notion.site')) return undefined;
  const last = url.pathname.split('/').filter(Boolean).at(-1) ?? '';
  const compact = last.replace(/-/g, '');
  const id = compact.slice(-32);
  return id.length === 32 && /^[0-9a-f]{32}$/i.test(id) ? id.toLowerCase() : undefined;
}

function dashed(id: string): string {
  const plain = id.replace(/-/g, '');
  return `${plain.slice(0, 8)}-${plain.slice(8, 12)}-${plain.slice(12, 16)}-${plain.slice(16, 20)}-${plain.slice(20)}`;
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

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
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

export const notionKind: SourceKind = {
  name: 'notion',
  label: 'Notion pages',
  noun: 'page(s)',

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
    return copy.href;
  },

  async *sync(context: SyncContext): AsyncGenerator<ItemEvent, SyncEnd, void> {
    const rootId = notionId(new URL(context.url));
    const token = context.env.NOTION_TOKEN?.trim();
    if (!rootId) throw new SourceError(`${context.url} is not a Notion page or database link`);
    if (!token) throw new SourceError('reading Notion needs an integration token: set NOTION_TOKEN');
    const { Client: NotionClient, LogLevel } = await import('@notionhq/client');
    const baseUrl = context.env.NOTION_API_URL?.trim();
    const notion: Client = new NotionClient({
      auth: token,
      ...(baseUrl ? { baseUrl } : {}),
      fetch: pacedFetch(context.fetch, GAP_MS, context.now, context.sleep),
      retry: false,
      logLevel: LogLevel.ERROR,
      logger: () => undefined,
    });

    /** The pages of a database: each of its data sources queried, page by page. */
    const databasePages = async (databaseId: string): Promise<PageObject[]> => {
      const database = (await notion.databases.retrieve({ database_id: databaseId })) as {
        data_sources?: { id: string }[];
      };
      const pages: PageObject[] = [];
      for (const source of database.data_sources ?? []) {
        let cursor: string | undefined;
        do {
          const result = await notion.dataSources.query({
            data_source_id: source.id,
            page_size: 100,
            ...(cursor ? { start_cursor: cursor } : {}),
          });
          for (const item of result.results)
            if (item.object === 'page') pages.push(item as unknown as PageObject);
          cursor = result.has_more ? (result.next_cursor ?? undefined) : undefined;
        } while (cursor && pages.length < MAX_PAGES);
      }
      return pages;
    };

    /** A block's children, every page of them, and theirs, to a bounded depth and count. */
    let blocksRead = 0;
    const children = async (blockId: string, depth: number): Promise<NotionBlock[]> => {
      const out: NotionBlock[] = [];
      let cursor: string | undefined;
      do {
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
            block.children = await children(block.id, depth + 1);
          }
          out.push(block);
        }
        cursor = result.has_more ? (result.next_cursor ?? undefined) : undefined;
      } while (cursor);
      return out;
    };

    // The root: a page, or a database (Notion tells which by refusing the other).
    const queue: (PageObject | { readonly id: string })[] = [];
    try {
      try {
        queue.push((await notion.pages.retrieve({ page_id: dashed(rootId) })) as PageObject);
      } catch (error) {
        const code = errorCode(error);
        if (code !== 'validation_error' && code !== 'object_not_found') throw error;
        queue.push(...(await databasePages(dashed(rootId))));
      }
    } catch (error) {
      throw explain(error, context.url);
    }

    const seen = new Set<string>();
    for (let i = 0; i < queue.length && seen.size < MAX_PAGES; i++) {
      const entry = queue[i]!;
      const key = entry.id.replace(/-/g, '');
      if (seen.has(key)) continue;
      seen.add(key);
      context.expect(queue.length);
      try {
        const page =
          'object' in entry ? entry : ((await notion.pages.retrieve({ page_id: dashed(key) })) as PageObject);
        if (page.in_trash || page.archived) {
          yield { type: 'gone', key, reason: 'moved to the trash' };
          continue;
        }
        const known = context.known.get(key);
        if (known?.version === page.last_edited_time) {
          // Not edited since: its passages stand; its sub-pages are visited as last read.
          for (const link of known.links) queue.push({ id: link });
          yield { type: 'unchanged', key };
          continue;
        }
        blocksRead = 0;
        const blocks = await children(page.id, 0);
        const links: string[] = [];
        for (const block of blocks) {
          if (block.type === 'child_page') {
            links.push(block.id.replace(/-/g, ''));
            queue.push({ id: block.id });
          } else if (block.type === 'child_database') {
            for (const child of await databasePages(block.id)) {
              links.push(child.id.replace(/-/g, ''));
              queue.push(child);
            }
          }
        }
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
          version: page.last_edited_time,
          links,
          anchors: false,
        };
      } catch (error) {
        const code = errorCode(error);
        if (code === 'unauthorized') throw explain(error, context.url);
        if (code === 'object_not_found' || code === 'restricted_resource') {
          // No longer shared with the integration, or deleted.
          yield { type: 'gone', key, reason: 'no longer shared with the integration' };
        } else {
          // Kept as it was; its sub-pages as last read are still visited, so none is lost.
          for (const link of context.known.get(key)?.links ?? []) queue.push({ id: link });
          yield { type: 'failed', key, reason: (error as Error).message.slice(0, 200) };
        }
      }
    }
    return { complete: seen.size < MAX_PAGES };
  },
};
