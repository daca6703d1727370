/**
 * A loopback fake of Notion's API (version 2025-09-03) as the Notion source uses it, for the
 * real @notionhq/client: pages, block children with cursors (`has_more`, `next_cursor`),
 * databases with their data sources and `query`, the error shapes (`object_not_found`,
 * `unauthorized`, `validation_error` for a database asked as a page), and Notion's rate limit:
 * more than 3 requests within a second of the test's clock, or an injected one, get a 429
 * `rate_limited` with `retry-after`.
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
}

export interface FakeNotion {
  readonly url: string;
  readonly requests: NotionRequest[];
  readonly pages: Map<string, FakePage>;
  /** Databases: id → its data source id and the pages in it. */
  readonly databases: Map<string, { dataSource: string; pages: string[] }>;
  /** Pages the integration can see (shared with it); default all. */
  unshare(id: string): void;
  setToken(token: string): void;
  /** The next request gets a 429 with this `retry-after`. */
  rateLimitOnce(seconds: number): void;
  /** Block children per page of results (Notion: up to 100). */
  setPageSize(size: number): void;
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
  const databases = new Map<string, { dataSource: string; pages: string[] }>();
  const hidden = new Set<string>();
  const requests: NotionRequest[] = [];
  let token = '';
  let limitOnce = 0;
  let pageSize = 100;
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
  const blockById = (id: string): FakeBlock | undefined => {
    const walk = (blocks: FakeBlock[]): FakeBlock | undefined => {
      for (const block of blocks) {
        if (plain(block.id) === id) return block;
        const found = walk(block.children ?? []);
        if (found) return found;
      }
      return undefined;
    };
    for (const page of pages.values()) {
      const found = walk(page.blocks);
      if (found) return found;
    }
    return undefined;
  };
  const blockJson = (block: FakeBlock) => {
    const { children, ...rest } = block;
    const isItem = block.type === 'child_page' || block.type === 'child_database';
    return {
      object: 'block',
      ...rest,
      has_children: isItem ? true : (children?.length ?? 0) > 0,
    };
  };
  const visible = (id: string) => !hidden.has(plain(id));

  server = await startLoopbackServer(async (req, res, body) => {
    const url = new URL(req.url ?? '/', server.url);
    const at = options.now();
    const record = (status: number) =>
      requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, status, at });
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
      const blocks = owner ? owner.blocks : blockById(id)?.children;
      if (!blocks || (owner && !visible(id))) {
        return reply(404, error(404, 'object_not_found', `Could not find block with ID: ${parts[2]}.`));
      }
      const size = Math.min(Number(url.searchParams.get('page_size') ?? 100), pageSize);
      const start = Number(url.searchParams.get('start_cursor') ?? 0);
      const slice = blocks.slice(start, start + size);
      const more = start + size < blocks.length;
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
      return reply(200, {
        object: 'database',
        id: parts[2],
        data_sources: [{ id: database.dataSource, name: 'Main' }],
      });
    }
    if (req.method === 'POST' && parts[1] === 'data_sources' && parts[3] === 'query') {
      const database = [...databases.values()].find((d) => d.dataSource === parts[2]);
      if (!database) return reply(404, error(404, 'object_not_found', 'Could not find data source.'));
      const { start_cursor, page_size } = JSON.parse(body || '{}') as {
        start_cursor?: string;
        page_size?: number;
      };
      const rows = database.pages.filter(visible).map((pageId) => pageJson(pages.get(plain(pageId))!));
      const size = Math.min(page_size ?? 100, pageSize);
      const start = Number(start_cursor ?? 0);
      const more = start + size < rows.length;
      return reply(200, {
        object: 'list',
        results: rows.slice(start, start + size),
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
    setPageSize(size) {
      pageSize = size;
    },
    clearRequests() {
      requests.length = 0;
    },
    close: () => server.close(),
  };
}
