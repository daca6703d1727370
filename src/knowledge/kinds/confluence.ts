/**
 * Confluence Cloud as a source: a space (`…/wiki/spaces/KEY`) or a page with the pages under
 * it (`…/wiki/spaces/KEY/pages/<id>/<title>`), read through the REST API v2 with basic auth
 * (CONFLUENCE_EMAIL and an API token in CONFLUENCE_TOKEN) on the site in CONFLUENCE_URL
 * (`https://<site>.atlassian.net/wiki`). The space's pages are listed with their version
 * numbers (cursor pagination); only a page whose version moved has its body read again, in
 * storage format, converted to Markdown with an HTML parser. A page the token cannot read
 * (restricted: 403 or 404) is skipped, and dropped if it was read before. Each page is cited
 * by its link.
 */
import { readTextLimited } from './http.js';
import {
  type Environment,
  type ItemEvent,
  SourceError,
  type SourceKind,
  type SyncContext,
  type SyncEnd,
} from './kind.js';

const MAX_PAGES = 10_000;
const MAX_BODY_BYTES = 5 * 1_048_576;

interface Target {
  /** The site's base, e.g. https://acme.atlassian.net/wiki */
  readonly base: string;
  readonly spaceKey: string;
  /** The page a tree hangs from; absent for a whole space. */
  readonly pageId?: string;
}

function configuredBase(env: Environment): string | undefined {
  const raw = env.CONFLUENCE_URL?.trim();
  if (!raw) return undefined;
  try {
    const url = new URL(raw);
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}

function parseTarget(url: URL, env: Environment): Target | undefined {
  const configured = configuredBase(env);
  let base: string;
  if (configured && url.href.startsWith(`${configured}/`)) base = configured;
  else if (url.hostname.endsWith('.atlassian.net') && url.pathname.startsWith('/wiki/'))
    base = `${url.origin}/wiki`;
  else return undefined;
  const segments = url.href.slice(base.length).split(/[?#]/)[0]!.split('/').filter(Boolean);
  if (segments[0] !== 'spaces' || !segments[1]) return undefined;
  const spaceKey = decodeURIComponent(segments[1]);
  const pageId = segments[2] === 'pages' && /^\d+$/.test(segments[3] ?? '') ? segments[3] : undefined;
  return { base, spaceKey, ...(pageId ? { pageId } : {}) };
}

function missingSettings(env: Environment): string[] {
  return ['CONFLUENCE_URL', 'CONFLUENCE_EMAIL', 'CONFLUENCE_TOKEN'].filter((name) => !env[name]?.trim());
}

interface PageSummary {
  readonly id: string;
  readonly title: string;
  readonly parentId?: string | null;
  readonly status?: string;
  readonly version?: { readonly number: number };
  readonly _links?: { readonly webui?: string };
}

interface PageWithBody extends PageSummary {
  readonly body?: { readonly storage?: { readonly value?: string } };
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
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
    const missing = missingSettings(env);
    if (missing.length > 0) {
      throw new SourceError(
        `reading Confluence needs ${missing.join(', ')} (the site, an account's email and its API token)`,
      );
    }
    return `${target.base}/spaces/${encodeURIComponent(target.spaceKey)}${target.pageId ? `/pages/${target.pageId}` : ''}`;
  },

  async *sync(context: SyncContext): AsyncGenerator<ItemEvent, SyncEnd, void> {
    const target = parseTarget(new URL(context.url), context.env);
    if (!target) throw new SourceError(`${context.url} is not a Confluence space or page link`);
    const missing = missingSettings(context.env);
    if (missing.length > 0) throw new SourceError(`reading Confluence needs ${missing.join(', ')}`);
    const auth = `Basic ${Buffer.from(`${context.env.CONFLUENCE_EMAIL!.trim()}:${context.env.CONFLUENCE_TOKEN!.trim()}`).toString('base64')}`;
    const site = new URL(target.base);

    const get = async <T>(path: string): Promise<T> => {
      // `_links.next` is relative to the site's root; anything else to the API base.
      const url = path.startsWith('/') ? `${site.origin}${path}` : `${target.base}/api/v2/${path}`;
      const response = await context.fetch(url, {
        headers: { authorization: auth, accept: 'application/json' },
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new HttpStatusError(response.status);
      }
      return JSON.parse(await readTextLimited(response, MAX_BODY_BYTES)) as T;
    };
    const explain = (error: unknown): Error => {
      const status = error instanceof HttpStatusError ? error.status : undefined;
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
    try {
      const spaces = await get<{ results: { id: string; key: string }[] }>(
        `spaces?keys=${encodeURIComponent(target.spaceKey)}&limit=1`,
      );
      const space = spaces.results.find((s) => s.key === target.spaceKey);
      if (!space) throw new HttpStatusError(404);
      if (target.pageId) await get<PageSummary>(`pages/${target.pageId}`);
      let next: string | undefined = `spaces/${space.id}/pages?limit=250&status=current`;
      while (next && pages.length < MAX_PAGES) {
        const page: { results: PageSummary[]; _links?: { next?: string } } = await get(next);
        pages.push(...page.results);
        next = page._links?.next;
      }
    } catch (error) {
      throw explain(error);
    }
    // A page tree: the page and those whose chain of parents leads to it.
    const parents = new Map(pages.map((page) => [page.id, page.parentId ?? undefined]));
    const inTree = (id: string): boolean => {
      if (!target.pageId) return true;
      let current: string | undefined = id;
      for (let hops = 0; current && hops < 100; hops++) {
        if (current === target.pageId) return true;
        current = parents.get(current);
      }
      return false;
    };
    const wanted = pages.filter((page) => inTree(page.id));
    context.expect(wanted.length);
    for (const summary of wanted) {
      const key = summary.id;
      const version = String(summary.version?.number ?? '');
      if (version && context.known.get(key)?.version === version) {
        yield { type: 'unchanged', key };
        continue;
      }
      try {
        const page = await get<PageWithBody>(`pages/${key}?body-format=storage`);
        const url = `${target.base}${page._links?.webui ?? summary._links?.webui ?? `/pages/viewpage.action?pageId=${key}`}`;
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
    return { complete: pages.length < MAX_PAGES };
  },
};
