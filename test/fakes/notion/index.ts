/**
 * A loopback fake of Notion's API as the Notion source uses it, for the real @notionhq/client:
 * pages, block children with cursors (`has_more`, `next_cursor`), databases in the shape of the
 * `Notion-Version` asked (2025-09-03: a database lists its `data_sources`, each queried at
 * `/v1/data_sources/{id}/query`, and the old `/v1/databases/{id}/query` is gone; 2022-06-28:
 * no data sources, the database itself is queried, and a database with several data sources
 * cannot be read or queried), a linked view of a database (a `child_database` block whose id
 * is no database the integration can retrieve: `object_not_found`), a synced block's copy
 * whose children are its original's (`object_not_found` when the original's page is not
 * shared), the error shapes (`object_not_found`, `unauthorized`, `validation_error` for a
 * database asked as a page), and Notion's rate limit: more than 3 requests within a second of
 * the test's clock, or an injected one, get a 429 `rate_limited` with `retry-after`. Notion's
 * other "try again" answers on demand: a 529 `service_overload` (with `retry-after` or, as the
 * reference allows, without), and a 500 `internal_server_error` / 502 / 503
 * `service_unavailable` / 504 `gateway_timeout` for the next requests.
 */
import { type LoopbackServer, sendJson, startLoopbackServer } from '../http-server.js';

export interface FakeBlock {
  id: string;
  type: string;
  [key: string]: unknown;
  children?: FakeBlock[];
}

export interface FakePage {
  id: string;
  title: string;
  last_edited_time: string;
  blocks: FakeBlock[];
  in_trash?: boolean;
}

export interface NotionRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly at: number;
  /** The `Notion-Version` header it was sent with. */
  readonly version: string;
}

export interface FakeDatabase {
  dataSource: string;
  pages: string[];
  /** A second data source added in the app: the 2022-06-28 API can no longer read it. */
  multiSource?: boolean;
}

export interface FakeNotion {
  readonly url: string;
  readonly requests: NotionRequest[];
  readonly pages: Map<string, FakePage>;
  /** Databases: id → its data source id and the pages in it. */
  readonly databases: Map<string, FakeDatabase>;
  /** Pages the integration can see (shared with it); default all. */
  unshare(id: string): void;
  setToken(token: string): void;
  /** The next request gets a 429 with this `retry-after`. */
  rateLimitOnce(seconds: number): void;
  /** The next `count` requests get a 529 `service_overload`, with this `retry-after` or none. */
  overload(count: number, seconds: number | undefined): void;
  /** The next `count` requests get this server error (500, 502, 503 without retry-after, 504). */
  serverErrors(count: number, status: 500 | 502 | 503 | 504): void;
  /** Block children per page of results (Notion: up to 100). */
  setPageSize(size: number): void;
  /** A hostile API: block children and queries answer empty pages with `has_more`, for ever. */
  setEndlessEmptyPages(on: boolean): void;
  clearRequests(): void;
  close(): Promise<void>;
}

const plain = (id: string) => id.replace(/-/g, '');
export const text = (content: string, annotations: Record<string, boolean> = {}, href?: string) => [
  {
    type: 'text',
    text: { content, link: href ? { url: href } : null },
    plain_text: content,
    href: href ?? null,
    annotations: {
      bold: false,
      italic: false,
      strikethrough: false,
      underline: false,
      code: false,
      color: 'default',
      ...annotations,
    },
  },
];

export async function startFakeNotion(options: { now: () => number }): Promise<FakeNotion> {
  const pages = new Map<string, FakePage>();
  const databases = new Map<string, FakeDatabase>();
  const hidden = new Set<string>();
  const requests: NotionRequest[] = [];
  let token = '';
  let limitOnce = 0;
  let overloaded: { count: number; seconds: number | undefined } = { count: 0, seconds: undefined };
  let failing: { count: number; status: number } = { count: 0, status: 500 };
  let pageSize = 100;
  let endless = false;
  let server: LoopbackServer;

  const pageJson = (page: FakePage) => ({
    object: 'page',
    id: page.id,
    created_time: '2026-01-01T00:00:00.000Z',
    last_edited_time: page.last_edited_time,
    in_trash: page.in_trash ?? false,
    archived: page.in_trash ?? false,
    url: `https://www.notion.so/${page.title.replace(/\W+/g, '-')}-${plain(page.id)}`,
    properties: { Name: { id: 'title', type: 'title', title: text(page.title) } },
  });
  const error = (status: number, code: string, message: string) => ({
    object: 'error',
    status,
    code,
    message,
  });
  /** A block anywhere in the pages, with the page that holds it. */
  const blockById = (id: string): { block: FakeBlock; page: string } | undefined => {
    const walk = (blocks: FakeBlock[]): FakeBlock | undefined => {
      for (const block of blocks) {
        if (plain(block.id) === id) return block;
        const found = walk(block.children ?? []);
        if (found) return found;
      }
      return undefined;
    };
    for (const [pageId, page] of pages) {
      const found = walk(page.blocks);
      if (found) return { block: found, page: pageId };
    }
    return undefined;
  };
  /** A synced block's copy shows its original's children: `synced_from.block_id`. */
  const syncedFrom = (block: FakeBlock): string | undefined =>
    (block.synced_block as { synced_from?: { block_id?: string } | null } | undefined)?.synced_from?.block_id;
  const blockJson = (block: FakeBlock) => {
    const { children, ...rest } = block;
    const isItem = block.type === 'child_page' || block.type === 'child_database';
    return {
      object: 'block',
      ...rest,
      has_children: isItem || syncedFrom(block) !== undefined ? true : (children?.length ?? 0) > 0,
    };
  };
  const visible = (id: string) => !hidden.has(plain(id));
  const multiSourceError = () =>
    error(
      400,
      'validation_error',
      'Databases with multiple data sources are not supported in this API version.',
    );

  server = await startLoopbackServer(async (req, res, body) => {
    const url = new URL(req.url ?? '/', server.url);
    const at = options.now();
    const version = String(req.headers['notion-version'] ?? '');
    const record = (status: number) =>
      requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, status, at, version });
    const legacy = version < '2025-09-03';
    const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      record(status);
      sendJson(res, status, payload, headers);
    };
    if (!req.headers['notion-version']) {
      return reply(400, error(400, 'missing_version', 'Notion-Version header failed validation.'));
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      return reply(401, error(401, 'unauthorized', 'API token is invalid.'));
    }
    if (overloaded.count > 0) {
      overloaded.count -= 1;
      return reply(
        529,
        error(529, 'service_overload', 'Notion is experiencing high load. Please try again later.'),
        overloaded.seconds !== undefined ? { 'retry-after': String(overloaded.seconds) } : {},
      );
    }
    if (failing.count > 0) {
      failing.count -= 1;
      const code =
        failing.status === 503
          ? 'service_unavailable'
          : failing.status === 504
            ? 'gateway_timeout'
            : failing.status === 502
              ? 'bad_gateway'
              : 'internal_server_error';
      return reply(failing.status, error(failing.status, code, 'Something went wrong.'));
    }
    // A few milliseconds' grace: Notion averages its limit, and timers may fire a hair early.
    const recent = requests.filter((r) => r.status !== 429 && at - r.at < 990).length;
    if (limitOnce > 0 || recent >= 3) {
      const seconds = limitOnce > 0 ? limitOnce : 1;
      limitOnce = 0;
      return reply(429, error(429, 'rate_limited', 'You have been rate limited.'), {
        'retry-after': String(seconds),
      });
    }
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'v1') return reply(404, error(404, 'invalid_request_url', 'Invalid request URL.'));
    const id = plain(parts[2] ?? '');

    if (req.method === 'GET' && parts[1] === 'pages') {
      if (databases.has(id)) {
        return reply(
          400,
          error(400, 'validation_error', `Provided ID ${parts[2]} is a database, not a page.`),
        );
      }
      const page = pages.get(id);
      if (!page || !visible(id)) {
        return reply(404, error(404, 'object_not_found', `Could not find page with ID: ${parts[2]}.`));
      }
      return reply(200, pageJson(page));
    }
    if (req.method === 'GET' && parts[1] === 'blocks' && parts[3] === 'children') {
      const owner = pages.get(id);
      const found = owner ? undefined : blockById(id);
      const original = found && syncedFrom(found.block);
      // A synced block's copy lists its original's children, if the integration can see them.
      const source = original ? blockById(plain(original)) : found;
      const blocks = owner ? owner.blocks : source?.block.children;
      if (!blocks || (owner && !visible(id)) || (original && (!source || !visible(source.page)))) {
        return reply(404, error(404, 'object_not_found', `Could not find block with ID: ${parts[2]}.`));
      }
      const size = Math.min(Number(url.searchParams.get('page_size') ?? 100), pageSize);
      const start = Number(url.searchParams.get('start_cursor') ?? 0);
      const slice = endless ? [] : blocks.slice(start, start + size);
      const more = endless || start + size < blocks.length;
      return reply(200, {
        object: 'list',
        results: slice.map(blockJson),
        next_cursor: more ? String(start + size) : null,
        has_more: more,
        type: 'block',
        block: {},
      });
    }
    if (req.method === 'GET' && parts[1] === 'databases') {
      const database = databases.get(id);
      if (!database || !visible(id)) {
        return reply(404, error(404, 'object_not_found', `Could not find database with ID: ${parts[2]}.`));
      }
      if (legacy && database.multiSource) return reply(400, multiSourceError());
      return reply(
        200,
        legacy
          ? { object: 'database', id: parts[2], title: text('Database'), properties: {} }
          : {
              object: 'database',
              id: parts[2],
              data_sources: [
                { id: database.dataSource, name: 'Main' },
                ...(database.multiSource ? [{ id: `${database.dataSource}-2`, name: 'Second' }] : []),
              ],
            },
      );
    }
    const query = req.method === 'POST' && parts[3] === 'query';
    // 2025-09-03 moved the query to data sources; before it there were none.
    if (query && parts[1] === (legacy ? 'data_sources' : 'databases')) {
      return reply(400, error(400, 'invalid_request_url', 'Invalid request URL.'));
    }
    if (query && (parts[1] === 'data_sources' || parts[1] === 'databases')) {
      const database =
        parts[1] === 'databases'
          ? visible(id)
            ? databases.get(id)
            : undefined
          : [...databases.values()].find(
              (d) => d.dataSource === parts[2] || (d.multiSource && `${d.dataSource}-2` === parts[2]),
            );
      if (!database) return reply(404, error(404, 'object_not_found', 'Could not find data source.'));
      if (legacy && database.multiSource) return reply(400, multiSourceError());
      // The second data source of a multi-source database is empty.
      const second = parts[2] === `${database.dataSource}-2`;
      const { start_cursor, page_size } = JSON.parse(body || '{}') as {
        start_cursor?: string;
        page_size?: number;
      };
      const rows = second
        ? []
        : database.pages.filter(visible).map((pageId) => pageJson(pages.get(plain(pageId))!));
      const size = Math.min(page_size ?? 100, pageSize);
      const start = Number(start_cursor ?? 0);
      const more = endless || start + size < rows.length;
      return reply(200, {
        object: 'list',
        results: endless ? [] : rows.slice(start, start + size),
        next_cursor: more ? String(start + size) : null,
        has_more: more,
        type: 'page_or_data_source',
      });
    }
    return reply(404, error(404, 'invalid_request_url', 'Invalid request URL.'));
  });

  return {
    url: server.url,
    requests,
    pages,
    databases,
    unshare: (id) => hidden.add(plain(id)),
    setToken(value) {
      token = value;
    },
    rateLimitOnce(seconds) {
      limitOnce = seconds;
    },
    overload(count, seconds) {
      overloaded = { count, seconds };
    },
    serverErrors(count, status) {
      failing = { count, status };
    },
    setPageSize(size) {
      pageSize = size;
    },
    setEndlessEmptyPages(on) {
      endless = on;
    },
    clearRequests() {
      requests.length = 0;
    },
    close: () => server.close(),
  };
}
