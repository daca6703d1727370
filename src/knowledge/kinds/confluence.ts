/**
 * Confluence Cloud as a source: a space (`…/wiki/spaces/KEY`) or a page with the pages under
 * it (`…/wiki/spaces/KEY/pages/<id>/<title>`, an editor's `…/pages/edit-v2/<id>`, a tiny link
 * `…/wiki/x/<code>` or `…/wiki/pages/viewpage.action?pageId=<id>`), read through the REST API
 * v2 with basic auth (CONFLUENCE_EMAIL and an API token in CONFLUENCE_TOKEN) on the site in
 * CONFLUENCE_URL (`https://<site>.atlassian.net`, with or without `/wiki`). The credentials go
 * to that site only: a link to another Confluence site is refused, and a next page elsewhere is
 * never followed. The space's pages are listed with their version numbers (cursor pagination,
 * from the body's `_links.next` or the `Link` header); only a page whose version moved has its
 * body read again, in storage format, converted to Markdown with an HTML parser. A page tree
 * takes the pages whose chain of parents leads to its page, through folders (and other content
 * that holds pages) as well as pages. A page the token cannot read (restricted: 403 or 404) is
 * skipped, and dropped if it was read before. Each page is cited by its link.
 */
import { withoutTrailingSlashes } from '../../text/trailing-slashes.js';
import { readTextLimited } from './http.js';
import {
  type Environment,
  type ItemEvent,
  SourceError,
  type SourceKind,
  type SyncContext,
  type SyncEnd,
} from './kind.js';
import { nextLink } from './link-header.js';

const MAX_PAGES = 10_000;
/** Listing pages asked at most (250 pages each), whatever the next links say. */
const MAX_LISTING_PAGES = Math.ceil(MAX_PAGES / 250) * 2;
const MAX_BODY_BYTES = 5 * 1_048_576;
/** Folders (and other containers) looked up per sync at most, to place pages in a tree. */
const MAX_CONTAINERS = 2_000;

interface Target {
  /** The site's base, e.g. https://acme.atlassian.net/wiki */
  readonly base: string;
  /** The space; absent for a page known by its id alone (a tiny link). */
  readonly spaceKey?: string;
  /** The page a tree hangs from; absent for a whole space. */
  readonly pageId?: string;
}

/**
 * CONFLUENCE_URL as the site's Confluence base: Atlassian names the site
 * `https://<site>.atlassian.net`, and Confluence lives under its `/wiki`, so the base is the
 * URL up to its `/wiki` (added when it is missing).
 */
export function confluenceBase(raw: string | undefined): string | undefined {
  if (!raw?.trim()) return undefined;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  const segments = url.pathname.split('/').filter(Boolean);
  const wiki = segments.indexOf('wiki');
  const path = wiki >= 0 ? segments.slice(0, wiki + 1) : [...segments, 'wiki'];
  return `${url.origin}/${path.join('/')}`;
}

/**
 * A tiny link's code (`/wiki/x/<code>`) as the page id it encodes: the id's little-endian
 * bytes in base64, with `/` written `-` and `+` written `_`, padding and trailing `A`s dropped.
 */
export function tinyLinkPageId(code: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,11}$/.test(code)) return undefined;
  let base64 = '';
  for (const char of code) base64 += char === '-' ? '/' : char === '_' ? '+' : char;
  const bytes = Buffer.from(`${base64.padEnd(11, 'A')}=`, 'base64');
  if (bytes.length !== 8) return undefined;
  const id = bytes.readBigUInt64LE(0);
  return id > 0n ? id.toString() : undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const refuse = (url: URL, what: string) =>
  new SourceError(
    `${url.href} is ${what}; a Confluence source is a space or a page (with the pages under it)`,
  );

/** Atlassian's API gateway, which scoped API tokens must go through. */
const GATEWAY_HOST = 'api.atlassian.com';

/** Where the API is: the site itself, or the gateway for the site's cloud id. */
export interface ConfluenceApi {
  /** The site's Confluence base its page links start with, e.g. https://acme.atlassian.net/wiki */
  readonly site: string;
  /** What `/wiki/api/v2/…` (and a next link's `/wiki/…`) hangs from: the site's origin, or `https://api.atlassian.com/ex/confluence/<cloud id>`. */
  readonly root: string;
  readonly gateway: boolean;
}

/**
 * CONFLUENCE_URL as the API to call. The site (`https://<site>.atlassian.net`, as for classic
 * API tokens), or Atlassian's gateway for a scoped API token,
 * `https://api.atlassian.com/ex/confluence/<cloud id>`: sources are still added by the site's
 * page links, so the gateway form needs the site in CONFLUENCE_SITE. Undefined when unset or
 * not one of these.
 */
export function confluenceApi(env: Environment): ConfluenceApi | undefined {
  const raw = env.CONFLUENCE_URL?.trim();
  if (!raw || !URL.canParse(raw)) return undefined;
  const url = new URL(raw);
  if (url.hostname.toLowerCase() !== GATEWAY_HOST) {
    const site = confluenceBase(raw);
    return site ? { site, root: new URL(site).origin, gateway: false } : undefined;
  }
  const [ex, product, cloudId] = url.pathname.split('/').filter(Boolean);
  const site = confluenceBase(env.CONFLUENCE_SITE);
  if (ex !== 'ex' || product !== 'confluence' || !cloudId || !/^[A-Za-z0-9-]+$/.test(cloudId) || !site)
    return undefined;
  return { site, root: `${url.origin}/ex/confluence/${cloudId}`, gateway: true };
}

/** The problem with a gateway CONFLUENCE_URL, in words (undefined when there is none). */
export function gatewayProblem(env: Environment): string | undefined {
  const raw = env.CONFLUENCE_URL?.trim();
  if (!raw || !URL.canParse(raw) || new URL(raw).hostname.toLowerCase() !== GATEWAY_HOST) return undefined;
  const [ex, product, cloudId] = new URL(raw).pathname.split('/').filter(Boolean);
  if (ex !== 'ex' || product !== 'confluence' || !cloudId) {
    return "CONFLUENCE_URL on api.atlassian.com must be https://api.atlassian.com/ex/confluence/<cloud id> (the site's cloud id, from https://<site>.atlassian.net/_edge/tenant_info)";
  }
  if (!confluenceBase(env.CONFLUENCE_SITE)) {
    return 'CONFLUENCE_SITE is required with a CONFLUENCE_URL on api.atlassian.com: the site whose page links are added (https://<site>.atlassian.net)';
  }
  return undefined;
}

function parseTarget(url: URL, env: Environment): Target | undefined {
  const configured = confluenceApi(env)?.site;
  const siteVariable = confluenceApi(env)?.gateway ? 'CONFLUENCE_SITE' : 'CONFLUENCE_URL';
  let base: string;
  if (configured && `${url.origin}${url.pathname}`.startsWith(`${configured}/`)) base = configured;
  else if (url.hostname.endsWith('.atlassian.net') && url.pathname.startsWith('/wiki/')) {
    // Another site than CONFLUENCE_URL's: the account's credentials are never sent there.
    if (configured && new URL(configured).origin !== url.origin) {
      throw new SourceError(
        `${url.origin} is not the Confluence site in ${siteVariable} (${new URL(configured).origin}); its email and token are for that site only`,
      );
    }
    base = `${url.origin}/wiki`;
  } else return undefined;
  const segments = url.pathname
    .slice(new URL(base).pathname.length)
    .split('/')
    .filter(Boolean)
    .map(decodeSegment);
  // Links by page id alone: a tiny link, or the classic view's.
  if (segments[0] === 'x' && segments.length === 2) {
    const pageId = tinyLinkPageId(segments[1]!);
    if (!pageId) throw refuse(url, 'a tiny link that names no page');
    return { base, pageId };
  }
  if (segments[0] === 'pages' && segments[1] === 'viewpage.action') {
    const pageId = url.searchParams.get('pageId') ?? '';
    if (!/^\d+$/.test(pageId)) throw refuse(url, 'a page view without a pageId');
    return { base, pageId };
  }
  if (segments[0] !== 'spaces' || !segments[1]) return undefined;
  const spaceKey = segments[1];
  const rest = segments.slice(2);
  if (rest.length === 0 || (rest.length === 1 && (rest[0] === 'overview' || rest[0] === 'pages'))) {
    return { base, spaceKey };
  }
  if (rest[0] === 'pages') {
    // `pages/<id>/<title>`, or an editor's `pages/edit-v2/<id>`: the first number is the page.
    const pageId = rest.slice(1, 3).find((segment) => /^\d+$/.test(segment));
    if (pageId) return { base, spaceKey, pageId };
    throw refuse(url, 'a page link without a page id');
  }
  if (rest[0] === 'blog') throw refuse(url, 'a blog post (blog posts are not read)');
  throw refuse(url, `a space's ${rest[0]}`);
}

function canonical(target: Target): string {
  if (!target.spaceKey) return `${target.base}/pages/viewpage.action?pageId=${target.pageId}`;
  return `${target.base}/spaces/${encodeURIComponent(target.spaceKey)}${target.pageId ? `/pages/${target.pageId}` : ''}`;
}

function missingSettings(env: Environment): string[] {
  return ['CONFLUENCE_URL', 'CONFLUENCE_EMAIL', 'CONFLUENCE_TOKEN'].filter((name) => !env[name]?.trim());
}

interface PageSummary {
  readonly id: string;
  readonly title: string;
  readonly spaceId?: string;
  readonly parentId?: string | null;
  /** `page`, or content that holds pages: `folder`, `whiteboard`, `database`, `embed`. */
  readonly parentType?: string | null;
  readonly status?: string;
  readonly version?: { readonly number: number };
  readonly _links?: { readonly webui?: string; readonly base?: string };
}

/** `_links.base` when it is a web address not on the gateway (which serves no pages to people). */
function webBaseOf(value: string | undefined): string | undefined {
  if (!value || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.hostname.toLowerCase() === GATEWAY_HOST)
    return undefined;
  return withoutTrailingSlashes(value);
}

interface PageWithBody extends PageSummary {
  readonly body?: { readonly storage?: { readonly value?: string } };
}

/** Content types that may hold pages, and where the API v2 reads each. */
const CONTAINERS: Readonly<Record<string, string>> = {
  folder: 'folders',
  whiteboard: 'whiteboards',
  database: 'databases',
  embed: 'embeds',
};

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly detail = '',
  ) {
    super(`HTTP ${status}`);
  }
}

export const confluenceKind: SourceKind = {
  name: 'confluence',
  label: 'Confluence pages',
  noun: 'page(s)',

  recognise(url: URL, env: Environment) {
    const target = parseTarget(url, env);
    if (!target) return undefined;
    const problem = gatewayProblem(env);
    if (problem) throw new SourceError(problem);
    const missing = missingSettings(env);
    if (missing.length > 0) {
      throw new SourceError(
        `reading Confluence needs ${missing.join(', ')} (the site, an account's email and its API token)`,
      );
    }
    return canonical(target);
  },

  async *sync(context: SyncContext): AsyncGenerator<ItemEvent, SyncEnd, void> {
    const target = parseTarget(new URL(context.url), context.env);
    if (!target) throw new SourceError(`${context.url} is not a Confluence space or page link`);
    const missing = missingSettings(context.env);
    if (missing.length > 0) throw new SourceError(`reading Confluence needs ${missing.join(', ')}`);
    const problem = gatewayProblem(context.env);
    if (problem) throw new SourceError(problem);
    const auth = `Basic ${Buffer.from(`${context.env.CONFLUENCE_EMAIL!.trim()}:${context.env.CONFLUENCE_TOKEN!.trim()}`).toString('base64')}`;
    // The API: the site the link names (CONFLUENCE_URL's), or the gateway for its cloud id.
    const api = confluenceApi(context.env);
    const root =
      api && new URL(api.site).origin === new URL(target.base).origin
        ? api.root
        : new URL(target.base).origin;
    const rootUrl = new URL(root);
    const rootPath = withoutTrailingSlashes(rootUrl.pathname);

    /**
     * A path as the API's URL. A next link is relative to the site's root (`/wiki/api/v2/…`),
     * which through the gateway is `/ex/confluence/<cloud id>`, or absolute; anything else is
     * relative to the API's base.
     */
    const resolve = (path: string): URL => {
      if (/^https?:/i.test(path)) return new URL(path);
      if (!path.startsWith('/')) return new URL(`${root}/wiki/api/v2/${path}`);
      return new URL(
        rootPath && path.startsWith(`${rootPath}/`) ? `${rootUrl.origin}${path}` : `${root}${path}`,
      );
    };
    const get = async <T>(path: string): Promise<{ data: T; link: string | null }> => {
      const url = resolve(path);
      // The credentials are for the site's API alone (through the gateway: this cloud id's).
      if (url.origin !== rootUrl.origin || (rootPath && !url.pathname.startsWith(`${rootPath}/`))) {
        throw new SourceError(
          `Confluence pointed the next page at ${url.origin}${rootPath && url.origin === rootUrl.origin ? url.pathname.split('/').slice(0, 4).join('/') : ''}; the credentials are sent to ${root} only`,
        );
      }
      const response = await context.fetch(url, {
        headers: { authorization: auth, accept: 'application/json' },
      });
      if (!response.ok) {
        // Atlassian says why in the body ("scope does not match"): kept for the message.
        const detail = await readTextLimited(response, 16_384).catch(() => '');
        throw new HttpStatusError(response.status, detail);
      }
      const text = await readTextLimited(response, MAX_BODY_BYTES);
      let data: T;
      try {
        data = JSON.parse(text) as T;
      } catch {
        // A login page, a proxy's error page, a site that is not Confluence Cloud's API.
        throw new SourceError(
          `Confluence answered ${url.origin}${url.pathname} with something other than JSON (${response.headers.get('content-type') || 'no content type'}): check that CONFLUENCE_URL is the Confluence Cloud site (https://<site>.atlassian.net)`,
        );
      }
      return { data, link: response.headers.get('link') };
    };
    const explain = (error: unknown): Error => {
      const status = error instanceof HttpStatusError ? error.status : undefined;
      if (status === 401 && /scope does not match/i.test((error as HttpStatusError).detail)) {
        return new SourceError(
          api?.gateway
            ? 'Confluence refused the token in CONFLUENCE_TOKEN (401, scope does not match): the scoped token lacks a scope this needs; give it read:space:confluence, read:page:confluence and read:folder:confluence'
            : "Confluence refused the token in CONFLUENCE_TOKEN (401, scope does not match): a scoped API token works only through Atlassian's gateway, so set CONFLUENCE_URL to https://api.atlassian.com/ex/confluence/<cloud id> and CONFLUENCE_SITE to the site, and give the token read:space:confluence, read:page:confluence and read:folder:confluence",
        );
      }
      if (status === 401) {
        return new SourceError(
          'Confluence refused CONFLUENCE_EMAIL with the token in CONFLUENCE_TOKEN (401): it may be revoked or for another account',
        );
      }
      if (status === 403 || status === 404) {
        return new SourceError(
          `Confluence shows no ${target.pageId ? `page ${target.pageId}` : `space ${target.spaceKey}`} to this account (HTTP ${status}): check the link and the account's permissions`,
        );
      }
      if (error instanceof SourceError) return error;
      return new SourceError(`Confluence: ${(error as Error).message.slice(0, 300)}`);
    };

    // The space, then every page in it (readable by the account) with its version and parent.
    const pages: PageSummary[] = [];
    /** Where pages open for people, as Confluence says (`_links.base`): the site, never the gateway. */
    let webBase: string | undefined;
    let cut = false;
    try {
      let spaceId: string;
      if (target.spaceKey) {
        const { data: spaces } = await get<{ results: { id: string; key: string }[] }>(
          `spaces?keys=${encodeURIComponent(target.spaceKey)}&limit=1`,
        );
        const space = spaces.results.find((s) => s.key === target.spaceKey);
        if (!space) throw new HttpStatusError(404);
        spaceId = space.id;
        if (target.pageId) await get<PageSummary>(`pages/${target.pageId}`);
      } else {
        // A page known by its id alone: its space is where it lives.
        const { data: page } = await get<PageSummary>(`pages/${target.pageId}`);
        if (!page.spaceId) throw new HttpStatusError(404);
        spaceId = page.spaceId;
      }
      let next: string | undefined = `spaces/${spaceId}/pages?limit=250&status=current`;
      for (let asked = 0; next && pages.length < MAX_PAGES; asked++) {
        context.signal?.throwIfAborted();
        if (asked >= MAX_LISTING_PAGES) {
          cut = true;
          break;
        }
        const {
          data,
          link,
        }: {
          data: { results: PageSummary[]; _links?: { next?: string; base?: string } };
          link: string | null;
        } = await get(next);
        pages.push(...data.results);
        webBase ??= webBaseOf(data._links?.base);
        // The next page: in the body, or only in the Link header (as the v2 reference words it).
        next = data._links?.next ?? nextLink(link);
        if (next && data.results.length === 0) {
          // An empty page that names a next would be asked for ever (the sync's time budget is
          // checked only between items): the listing ends here, incomplete.
          cut = true;
          next = undefined;
        }
      }
    } catch (error) {
      throw explain(error);
    }
    // A page tree: the page and those whose chain of parents leads to it, through folders and
    // other content that holds pages (read once each, on demand).
    const parents = new Map<string, { id?: string; type?: string }>(
      pages.map((page) => [
        page.id,
        {
          ...(page.parentId ? { id: page.parentId } : {}),
          ...(page.parentType ? { type: page.parentType } : {}),
        },
      ]),
    );
    let looked = 0;
    const parentOf = async (
      id: string,
      type: string | undefined,
    ): Promise<{ id?: string; type?: string }> => {
      const known = parents.get(id);
      if (known) return known;
      const endpoint = CONTAINERS[type ?? ''];
      let found: { id?: string; type?: string } = {};
      if (endpoint && looked < MAX_CONTAINERS) {
        looked++;
        try {
          const { data } = await get<{ parentId?: string | null; parentType?: string | null }>(
            `${endpoint}/${id}`,
          );
          found = {
            ...(data.parentId ? { id: data.parentId } : {}),
            ...(data.parentType ? { type: data.parentType } : {}),
          };
        } catch (error) {
          if (error instanceof HttpStatusError && error.status === 401) throw explain(error);
          // A container the account cannot read: its pages are not placed under the tree.
        }
      }
      parents.set(id, found);
      return found;
    };
    const inTree = async (id: string): Promise<boolean> => {
      if (!target.pageId) return true;
      let current: { id?: string; type?: string } = { id, type: 'page' };
      for (let hops = 0; current.id && hops < 100; hops++) {
        if (current.id === target.pageId) return true;
        current = await parentOf(current.id, current.type);
      }
      return false;
    };
    const wanted: PageSummary[] = [];
    for (const page of pages) if (await inTree(page.id)) wanted.push(page);
    context.expect(wanted.length);
    for (const summary of wanted) {
      const key = summary.id;
      const version = String(summary.version?.number ?? '');
      if (version && context.known.get(key)?.version === version) {
        yield { type: 'unchanged', key };
        continue;
      }
      try {
        const { data: page } = await get<PageWithBody>(`pages/${key}?body-format=storage`);
        const base = webBaseOf(page._links?.base) ?? webBase ?? target.base;
        const url = `${base}${page._links?.webui ?? summary._links?.webui ?? `/pages/viewpage.action?pageId=${key}`}`;
        // Storage format is read in the parse pool, with the budgets web pages have.
        const parsed = await context.parse({
          format: 'confluence',
          text: page.body?.storage?.value ?? '',
          title: page.title,
          url,
          anchors: false,
        });
        yield {
          type: 'document',
          key,
          url,
          title: page.title,
          markdown: parsed.markdown,
          chunks: parsed.chunks,
          version: String(page.version?.number ?? version),
          anchors: false,
        };
      } catch (error) {
        const status = error instanceof HttpStatusError ? error.status : undefined;
        if (status === 401) throw explain(error);
        if (status === 403 || status === 404) {
          // Restricted since it was listed (or deleted meanwhile): not this account's to read.
          yield { type: 'gone', key, reason: 'restricted' };
        } else yield { type: 'failed', key, reason: (error as Error).message.slice(0, 200) };
      }
    }
    return { complete: pages.length < MAX_PAGES && !cut };
  },
};
