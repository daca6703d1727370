/**
 * A loopback fake of Confluence Cloud's REST API v2 as the Confluence source uses it: spaces
 * by key, a space's pages with version numbers and parents (cursor pagination through
 * `_links.next`, relative to the site's root as Confluence sends it), a page with its body in
 * storage format, basic auth with an email and API token (401 otherwise), restricted pages
 * (listed, but 403 on read), and a 429 with `Retry-After` on demand. The site lives under
 * `/wiki`, as on `<site>.atlassian.net`.
 */
import { type LoopbackServer, sendJson, startLoopbackServer } from '../http-server.js';

export interface FakeConfluencePage {
  id: string;
  title: string;
  parentId?: string;
  version: number;
  storage: string;
  restricted?: boolean;
}

export interface ConfluenceRequest {
  readonly path: string;
  readonly status: number;
}

export interface FakeConfluence {
  /** The site's base, as CONFLUENCE_URL: `<url>/wiki`. */
  readonly base: string;
  readonly requests: ConfluenceRequest[];
  space(key: string): FakeConfluencePage[];
  setCredentials(email: string, token: string): void;
  rateLimitOnce(seconds: number): void;
  /** Reading this page's body answers 500 until `restore`. */
  failPage(id: string): void;
  restorePage(id: string): void;
  setPageSize(size: number): void;
  clearRequests(): void;
  close(): Promise<void>;
}

export async function startFakeConfluence(): Promise<FakeConfluence> {
  const spaces = new Map<string, { id: string; pages: FakeConfluencePage[] }>();
  const requests: ConfluenceRequest[] = [];
  let credentials = '';
  let limitOnce = 0;
  let pageSize = 250;
  const failing = new Set<string>();
  let server: LoopbackServer;

  const spaceOf = (key: string) => {
    let space = spaces.get(key);
    if (!space) {
      space = { id: String(1000 + spaces.size), pages: [] };
      spaces.set(key, space);
    }
    return space;
  };
  const summary = (key: string, spaceId: string, page: FakeConfluencePage) => ({
    id: page.id,
    status: 'current',
    title: page.title,
    spaceId,
    parentId: page.parentId ?? null,
    parentType: page.parentId ? 'page' : null,
    version: { number: page.version, createdAt: '2026-02-01T00:00:00.000Z' },
    _links: { webui: `/spaces/${key}/pages/${page.id}/${encodeURIComponent(page.title.replace(/ /g, '+'))}` },
  });

  server = await startLoopbackServer(async (req, res) => {
    const url = new URL(req.url ?? '/', server.url);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      requests.push({ path: url.pathname + url.search, status });
      sendJson(res, status, body, headers);
    };
    const given = req.headers.authorization?.startsWith('Basic ')
      ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString('utf8')
      : '';
    if (given !== credentials) {
      return reply(401, { code: 401, message: 'Unauthorized; scope does not match' });
    }
    if (limitOnce > 0) {
      const seconds = limitOnce;
      limitOnce = 0;
      return reply(429, { message: 'Rate limit exceeded' }, { 'retry-after': String(seconds) });
    }
    const path = url.pathname.replace(/^\/wiki\/api\/v2\//, '');
    if (path === 'spaces') {
      const keys = (url.searchParams.get('keys') ?? '').split(',');
      const found = keys
        .filter((key) => spaces.has(key))
        .map((key) => ({ id: spaces.get(key)!.id, key, name: key }));
      return reply(200, { results: found, _links: {} });
    }
    const list = /^spaces\/(\d+)\/pages$/.exec(path);
    if (list) {
      const entry = [...spaces].find(([, space]) => space.id === list[1]);
      if (!entry) return reply(404, { message: 'Space not found' });
      const [key, space] = entry;
      const size = Math.min(Number(url.searchParams.get('limit') ?? 25), pageSize);
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const results = space.pages.slice(start, start + size).map((page) => summary(key, space.id, page));
      const more = start + size < space.pages.length;
      return reply(200, {
        results,
        _links: more
          ? {
              next: `/wiki/api/v2/spaces/${space.id}/pages?limit=${size}&status=current&cursor=${start + size}`,
            }
          : {},
      });
    }
    const one = /^pages\/(\d+)$/.exec(path);
    if (one) {
      for (const [key, space] of spaces) {
        const page = space.pages.find((p) => p.id === one[1]);
        if (!page) continue;
        if (page.restricted) return reply(403, { message: 'Not permitted to view this page' });
        if (failing.has(page.id)) return reply(500, { message: 'Internal server error' });
        const withBody = url.searchParams.get('body-format') === 'storage';
        return reply(200, {
          ...summary(key, space.id, page),
          ...(withBody ? { body: { storage: { representation: 'storage', value: page.storage } } } : {}),
        });
      }
      return reply(404, { message: 'Page not found' });
    }
    return reply(404, { message: 'Not found' });
  });

  return {
    base: `${server.url}/wiki`,
    requests,
    space: (key) => spaceOf(key).pages,
    setCredentials(email, token) {
      credentials = `${email}:${token}`;
    },
    rateLimitOnce(seconds) {
      limitOnce = seconds;
    },
    failPage: (id) => failing.add(id),
    restorePage: (id) => failing.delete(id),
    setPageSize(size) {
      pageSize = size;
    },
    clearRequests() {
      requests.length = 0;
    },
    close: () => server.close(),
  };
}
