/**
 * A loopback fake of Confluence Cloud's REST API v2 as the Confluence source uses it: spaces
 * by key, a space's pages with version numbers and parents (cursor pagination: the next page's
 * URL, relative to the site's root, in the `Link` header with `rel="next"` and, unless told
 * otherwise, in the body's `_links.next` too; the v2 reference promises only the header),
 * folders between pages (a page under a folder has `parentType: "folder"`; `/folders/{id}`
 * gives the folder's own parent), a page with its body in storage format, basic auth with an
 * email and API token (401 otherwise), restricted pages (listed, but 403 on read), and on
 * demand a 429 with `Retry-After` or with only `X-RateLimit-Reset` (an ISO 8601 time, as
 * Atlassian sends it), or a 503 with `Retry-After`. The site lives under `/wiki`, as on
 * `<site>.atlassian.net`. The same API is served through Atlassian's gateway for scoped API
 * tokens, `/ex/confluence/<cloud id>/wiki/api/v2/…`, whose next links are, as the gateway
 * sends them, relative to the site's root (`/wiki/api/v2/…`, without `/ex/confluence/<id>`)
 * and whose `_links.base` names the site (`siteBase`). A scoped token is refused on the site
 * itself and for an endpoint whose scope it lacks, with 401 "scope does not match"; wrong
 * credentials get 401 "Unauthorized".
 */
import { type LoopbackServer, sendJson, startLoopbackServer } from '../http-server.js';

export interface FakeConfluencePage {
  id: string;
  title: string;
  /** A page's id, or a folder's (see `folder`). */
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
  /** The gateway's address for this site, as CONFLUENCE_URL takes it: `<url>/ex/confluence/<cloud id>`. */
  readonly gateway: string;
  space(key: string): FakeConfluencePage[];
  /** The account's credentials; `scopes` makes the token a scoped one (gateway only, those scopes). */
  setCredentials(email: string, token: string, scopes?: readonly string[]): void;
  /** The site's base the API names in `_links.base` (default: `base`). */
  setSiteBase(base: string | undefined): void;
  /** A folder in a space, under a page or another folder. */
  folder(key: string, folder: { id: string; title: string; parentId?: string }): void;
  /** The next request gets a 429: with `Retry-After`, or with only `X-RateLimit-Reset` that many seconds on (its clock). */
  rateLimitOnce(seconds: number, how?: 'retry-after' | 'reset'): void;
  /** The next request gets a 503 with `Retry-After`. */
  unavailableOnce(seconds: number): void;
  /** Where the next page's URL goes: the `Link` header and `_links.next` (default), or the header alone. */
  setPagination(where: 'both' | 'link'): void;
  /** Reading this page's body answers 500 until `restore`. */
  failPage(id: string): void;
  restorePage(id: string): void;
  setPageSize(size: number): void;
  /** A hostile site: a space's page listing answers empty pages that name a next one, for ever. */
  setEndlessEmptyPages(on: boolean): void;
  clearRequests(): void;
  close(): Promise<void>;
}

export async function startFakeConfluence(options: { now?: () => number } = {}): Promise<FakeConfluence> {
  const now = options.now ?? Date.now;
  const spaces = new Map<string, { id: string; pages: FakeConfluencePage[] }>();
  const folders = new Map<string, { id: string; title: string; parentId?: string; space: string }>();
  const requests: ConfluenceRequest[] = [];
  let credentials = '';
  let scoped: readonly string[] | undefined;
  let siteBase: string | undefined;
  const CLOUD_ID = '0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011';
  let limitOnce: { seconds: number; how: 'retry-after' | 'reset' } | undefined;
  let unavailable = 0;
  let pagination: 'both' | 'link' = 'both';
  let pageSize = 250;
  let endless = false;
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
    parentType: page.parentId ? (folders.has(page.parentId) ? 'folder' : 'page') : null,
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
    if (given !== credentials) return reply(401, { code: 401, message: 'Unauthorized' });
    const gatewayPrefix = `/ex/confluence/${CLOUD_ID}`;
    const viaGateway = url.pathname.startsWith(`${gatewayPrefix}/`);
    const apiPath = viaGateway ? url.pathname.slice(gatewayPrefix.length) : url.pathname;
    if (scoped) {
      // A scoped token works through the gateway only, for the endpoints its scopes cover.
      const needed = /^\/wiki\/api\/v2\/spaces$/.test(apiPath)
        ? 'read:space:confluence'
        : apiPath.startsWith('/wiki/api/v2/folders/')
          ? 'read:folder:confluence'
          : 'read:page:confluence';
      if (!viaGateway || !scoped.includes(needed)) {
        return reply(401, { code: 401, message: 'Unauthorized; scope does not match' });
      }
    }
    const webBase = siteBase ?? `${server.url}/wiki`;
    if (limitOnce) {
      const { seconds, how } = limitOnce;
      limitOnce = undefined;
      // Atlassian's reset is an ISO 8601 time to the minute (yyyy-MM-ddTHH:mmZ).
      const reset = new Date(Math.ceil((now() + seconds * 1000) / 60_000) * 60_000)
        .toISOString()
        .slice(0, 16);
      return reply(
        429,
        { message: 'Rate limit exceeded' },
        how === 'retry-after' ? { 'retry-after': String(seconds) } : { 'x-ratelimit-reset': `${reset}Z` },
      );
    }
    if (unavailable > 0) {
      const seconds = unavailable;
      unavailable = 0;
      return reply(503, { message: 'Service unavailable' }, { 'retry-after': String(seconds) });
    }
    const path = apiPath.replace(/^\/wiki\/api\/v2\//, '');
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
      const results = endless
        ? []
        : space.pages.slice(start, start + size).map((page) => summary(key, space.id, page));
      const more = endless || start + size < space.pages.length;
      const next = `/wiki/api/v2/spaces/${space.id}/pages?limit=${size}&status=current&cursor=${start + size}`;
      return reply(
        200,
        {
          results,
          _links: { base: webBase, ...(more && pagination === 'both' ? { next } : {}) },
        },
        more ? { link: `<${next}>; rel="next", <${webBase}>; rel="base"` } : {},
      );
    }
    const folder = /^folders\/(\d+)$/.exec(path);
    if (folder) {
      const found = folders.get(folder[1]!);
      if (!found) return reply(404, { message: 'Folder not found' });
      return reply(200, {
        id: found.id,
        type: 'folder',
        status: 'current',
        title: found.title,
        parentId: found.parentId ?? null,
        parentType: found.parentId ? (folders.has(found.parentId) ? 'folder' : 'page') : null,
        spaceId: spaces.get(found.space)?.id,
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
        const described = summary(key, space.id, page);
        return reply(200, {
          ...described,
          _links: { ...described._links, base: webBase },
          ...(withBody ? { body: { storage: { representation: 'storage', value: page.storage } } } : {}),
        });
      }
      return reply(404, { message: 'Page not found' });
    }
    return reply(404, { message: 'Not found' });
  });

  return {
    base: `${server.url}/wiki`,
    gateway: `${server.url}/ex/confluence/${CLOUD_ID}`,
    requests,
    space: (key) => spaceOf(key).pages,
    setCredentials(email, token, scopes) {
      credentials = `${email}:${token}`;
      scoped = scopes;
    },
    setSiteBase(base) {
      siteBase = base;
    },
    folder(key, folder) {
      spaceOf(key);
      folders.set(folder.id, { ...folder, space: key });
    },
    rateLimitOnce(seconds, how = 'retry-after') {
      limitOnce = { seconds, how };
    },
    unavailableOnce(seconds) {
      unavailable = seconds;
    },
    setPagination(where) {
      pagination = where;
    },
    failPage: (id) => failing.add(id),
    restorePage: (id) => failing.delete(id),
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
