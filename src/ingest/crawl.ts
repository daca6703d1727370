/**
 * Crawls one documentation site: pages under the start URL's folder on the same origin, as
 * robots.txt allows, starting from the start page and the sitemap (robots.txt's `Sitemap:`
 * lines, else /sitemap.xml), following links up to a depth and page limit. Requests are
 * paced per host (the larger of our delay and robots.txt's Crawl-delay) with a few in flight,
 * and conditional (If-None-Match / If-Modified-Since) for pages fetched before, so a re-crawl
 * of an unchanged site costs a 304 per page. Clock, sleep and fetch are injectable: tests
 * never wait on wall-clock time and never leave the loopback.
 */
import { createHash } from 'node:crypto';
import type { Chunk } from '../core/types.js';
import { TooLargeError } from './files.js';
import type { PageResult } from './parse-jobs.js';
import { type ParsePool, parsePool } from './parse-pool.js';
import { crawlable, MAX_ROBOTS_BYTES, readRobots } from './robots.js';

export interface KnownPage {
  readonly url: string;
  readonly etag?: string;
  readonly lastModified?: string;
  /** In-scope links the page had, followed again when it answers 304. */
  readonly links: readonly string[];
}

export type CrawledPage =
  | {
      readonly kind: 'changed';
      readonly url: string;
      readonly depth: number;
      readonly title?: string;
      readonly markdown: string;
      /** The page's main content chunked (in a parser process, with the page). */
      readonly chunks: readonly Chunk[];
      readonly etag?: string;
      readonly lastModified?: string;
      readonly links: readonly string[];
    }
  | { readonly kind: 'unchanged'; readonly url: string; readonly depth: number }
  /** 404/410, or no longer a page of the site (not HTML, redirected away). */
  | { readonly kind: 'gone'; readonly url: string; readonly reason: string }
  /** Could not be fetched this time (5xx, timeout): kept as it was. */
  | { readonly kind: 'failed'; readonly url: string; readonly reason: string };

export interface CrawlProgress {
  readonly fetched: number;
  /** Pages known so far that are still to fetch (grows as links are found). */
  readonly queued: number;
  readonly url: string;
}

/** The longest robots.txt Crawl-delay honoured, in seconds. */
const MAX_CRAWL_DELAY_S = 10;
/**
 * Characters of links kept per page (for following again when it answers 304): a page of
 * 2,048-character URLs keeps about 30 of them, a docs page of usual ones hundreds.
 */
const MAX_LINK_CHARS_PER_PAGE = 64 * 1024;
/** Links robots.txt refuses, remembered (to count each once) up to this many; past it they are still refused. */
const MAX_REFUSED_REMEMBERED = 4_096;
/** Loops over what a site sent (sitemap entries, a page's links) give the event loop a turn this often. */
const YIELD_EVERY_MS = 10;

/** Resolves after other work waiting on the event loop has had its turn. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The first `maxBytes` of the body as text, the rest not read (robots.txt: what Google reads). */
async function readPrefix(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    chunks.push(size + chunk.byteLength > maxBytes ? chunk.subarray(0, maxBytes - size) : chunk);
    size += chunk.byteLength;
    if (size >= maxBytes) {
      await response.body.cancel().catch(() => undefined);
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The body as text, or undefined once it passes `maxBytes` (read no further, whatever it declared). */
async function readLimited(response: Response, maxBytes: number): Promise<string | undefined> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      await response.body.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface CrawlOptions {
  readonly maxPages?: number;
  /** Link hops from the start page (sitemap pages count as depth 0). */
  readonly maxDepth?: number;
  readonly concurrency?: number;
  /** Least time between two requests to the host. */
  readonly delayMs?: number;
  /** Per-request time limit. */
  readonly timeoutMs?: number;
  /**
   * Time the whole crawl may take (as `now` tells it): past it no request starts, one under way
   * is cut at it, and the crawl ends incomplete with what it fetched (`outOfTime`).
   */
  readonly budgetMs?: number;
  /** Largest page read, in bytes. */
  readonly maxPageBytes?: number;
  readonly userAgent?: string;
  /** Pages of the previous crawl, for conditional requests and their links. */
  readonly known?: readonly KnownPage[];
  readonly fetch?: typeof fetch;
  /**
   * Checked before every request, redirects and sitemaps included: throws to refuse a URL
   * (sites added from a chat may not reach private addresses, even if DNS changes later).
   */
  readonly guard?: (url: URL) => Promise<void>;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: CrawlProgress) => void;
  /** Where pages and sitemaps are parsed (default: the process's pool). */
  readonly parser?: ParsePool;
  /**
   * Takes each page as soon as it is read, instead of the result listing them all: a crawl then
   * holds only the pages in flight, not every page's Markdown and passages until it ends. The
   * crawl waits for it (a slow consumer slows the crawl rather than filling memory).
   */
  readonly onPage?: (page: CrawledPage) => Promise<void> | void;
}

export interface CrawlResult {
  /** Every page read, in the order read (empty when `onPage` took them). */
  readonly pages: readonly CrawledPage[];
  /**
   * True when every page reachable within the limits was visited: only then may pages the
   * crawl did not reach be treated as gone from the site.
   */
  readonly complete: boolean;
  /** Links robots.txt told us not to fetch. */
  readonly disallowed: number;
  /** The crawl stopped at its time budget before it had visited every page it knew. */
  readonly outOfTime: boolean;
  /** In-scope links left unqueued because the page limit was already spoken for: the crawl then is not complete. */
  readonly linksDropped: number;
}

export const CRAWL_DEFAULTS = {
  maxPages: 200,
  maxDepth: 4,
  concurrency: 4,
  delayMs: 500,
  timeoutMs: 15_000,
  maxPageBytes: 5 * 1_048_576,
  userAgent: 'rag-chat-bot',
} as const;

const NOT_PAGES =
  /\.(png|jpe?g|gif|svg|webp|ico|css|js|mjs|json|xml|txt|zip|gz|tgz|tar|pdf|mp[34]|mov|webm|woff2?|ttf|eot|wasm)$/i;

export class CrawlError extends Error {
  override name = 'CrawlError';
}

/** Sitemap files read at most per crawl, and the time all of them may take together. */
const MAX_SITEMAPS = 10;
const SITEMAPS_BUDGET_MS = 60_000;

/** A request the crawl's time budget left no time for. */
class OutOfTime extends Error {
  override name = 'OutOfTime';
}

/** The start URL, checked: http(s) only, no credentials; the hash is dropped. */
export function startURL(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CrawlError(`"${raw.slice(0, 200)}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CrawlError(`only http and https sites can be crawled, not ${url.protocol}`);
  }
  if (url.username || url.password) throw new CrawlError('a site URL must not carry a user name or password');
  url.hash = '';
  return url;
}

/**
 * `url` (a string from a sitemap, robots.txt or a page), parsed, when it is on the site of
 * `site`: compared as parsed origins, never as text, since `https://docs.example.com.evil.net/`
 * and `http://127.0.0.1:80801/` begin with another origin's text. A URL carrying credentials
 * is never on the site.
 */
export function onSite(url: string | URL, site: URL): URL | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.username || parsed.password) return undefined;
  return parsed.origin === site.origin ? parsed : undefined;
}

function normalise(url: URL): string {
  const copy = new URL(url);
  copy.hash = '';
  return copy.href;
}

/** A URL as 16 bytes: the crawl remembers URLs in fixed size, however long a site makes them. */
function urlKey(url: string): string {
  return createHash('sha256').update(url).digest('base64url').slice(0, 22);
}

/** Paces request starts to one per `gapMs` for the host. */
function pacer(gapMs: () => number, now: () => number, sleep: (ms: number) => Promise<void>) {
  let nextAt = Number.NEGATIVE_INFINITY;
  return async () => {
    const at = now();
    const start = Math.max(at, nextAt);
    nextAt = start + gapMs();
    if (start > at) await sleep(start - at);
  };
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Why a page could not be fetched, in a word a person reads: the time limit, or the cause fetch wraps. */
function failureReason(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const root = cause instanceof Error ? cause : (error as Error);
  return root.name === 'TimeoutError' || (error as Error).name === 'TimeoutError'
    ? 'timed out'
    : root.message;
}

export async function crawlSite(start: string, options: CrawlOptions = {}): Promise<CrawlResult> {
  const first = startURL(start);
  const folder = first.pathname.slice(0, first.pathname.lastIndexOf('/') + 1);
  const maxPages = Math.max(1, options.maxPages ?? CRAWL_DEFAULTS.maxPages);
  const maxDepth = Math.max(0, options.maxDepth ?? CRAWL_DEFAULTS.maxDepth);
  const concurrency = Math.max(1, options.concurrency ?? CRAWL_DEFAULTS.concurrency);
  const timeoutMs = options.timeoutMs ?? CRAWL_DEFAULTS.timeoutMs;
  const userAgent = options.userAgent ?? CRAWL_DEFAULTS.userAgent;
  const maxPageBytes = options.maxPageBytes ?? CRAWL_DEFAULTS.maxPageBytes;
  const doFetch = options.fetch ?? fetch;
  const parser = options.parser ?? parsePool();
  // Cancelling the crawl (a removed source, a stopping bot) ends a parse under way too.
  const parseOptions = options.signal ? { signal: options.signal } : {};
  const known = new Map((options.known ?? []).map((page) => [page.url, page]));
  let gapMs = options.delayMs ?? CRAWL_DEFAULTS.delayMs;
  const now = options.now ?? Date.now;
  const pace = pacer(() => gapMs, now, options.sleep ?? realSleep);
  // However slow the site (a long Crawl-delay, pages or sitemaps that trickle), the crawl ends
  // by its budget: one site cannot hold its sync for hours.
  const endAt = now() + (options.budgetMs ?? Number.POSITIVE_INFINITY);
  let outOfTime = false;

  /**
   * One request. Its deadline starts once pacing lets it go and covers the headers and the whole
   * body (fetch aborts a body still streaming), so a page that stalls halfway fails alone; it is
   * never later than `until` (the crawl's budget, or the sitemaps').
   */
  const get = async (url: string, headers: Record<string, string> = {}, until = endAt) => {
    options.signal?.throwIfAborted();
    if (now() >= until) throw new OutOfTime();
    await options.guard?.(new URL(url));
    await pace();
    const left = Math.min(timeoutMs, until - now());
    if (left <= 0) throw new OutOfTime();
    const deadline = AbortSignal.timeout(Math.max(1, Math.ceil(left)));
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    // Redirects are ours to follow: one leading off the site (or to an internal address) is never requested.
    return doFetch(url, { headers: { 'user-agent': userAgent, ...headers }, redirect: 'manual', signal });
  };
  const redirectTarget = (response: Response, from: string): URL | undefined => {
    if (response.status < 300 || response.status >= 400) return undefined;
    const location = response.headers.get('location');
    try {
      return location ? new URL(location, from) : undefined;
    } catch {
      return undefined;
    }
  };
  /**
   * robots.txt and sitemaps: a few redirects are followed while they stay on the site's origin.
   * `prefix`: only the first bytes count, the rest is not read (robots.txt).
   */
  const text = async (
    url: string,
    until = endAt,
    prefix?: number,
    /** Told why nothing was read: a status, a redirect off the site, the network's reason. */
    failed: (reason: string) => void = () => undefined,
  ): Promise<string | undefined> => {
    try {
      let current = url;
      for (let hop = 0; hop < 5; hop++) {
        const response = await get(current, {}, until);
        const next = redirectTarget(response, current);
        if (!next) {
          if (!response.ok) {
            await response.body?.cancel();
            failed(`HTTP ${response.status}`);
            return undefined;
          }
          const body = prefix
            ? await readPrefix(response, prefix)
            : await readLimited(response, maxPageBytes);
          if (body === undefined) failed(`larger than ${Math.round(maxPageBytes / 1_048_576)} MB`);
          return body;
        }
        await response.body?.cancel();
        if (next.origin !== first.origin) {
          failed('redirects outside the site');
          return undefined;
        }
        current = next.href;
      }
      failed('too many redirects');
      return undefined;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      failed(error instanceof OutOfTime ? 'timed out' : failureReason(error));
      return undefined;
    }
  };

  // robots.txt: missing or unreadable means everything is allowed, as crawlers agree.
  const robots = readRobots(
    (await text(`${first.origin}/robots.txt`, endAt, MAX_ROBOTS_BYTES)) ?? '',
    userAgent,
  );
  const crawlDelay = robots.crawlDelay;
  // Honoured up to a cap: a hostile Crawl-delay must not hold the sync (and its lock) for days.
  if (crawlDelay !== undefined && Number.isFinite(crawlDelay))
    gapMs = Math.max(gapMs, Math.min(crawlDelay, MAX_CRAWL_DELAY_S) * 1000);
  const inScope = (url: URL) =>
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    onSite(url, first) !== undefined &&
    url.pathname.startsWith(folder) &&
    !NOT_PAGES.test(url.pathname);

  let disallowed = 0;
  let linksDropped = 0;
  /**
   * The frontier: pages queued or fetched, never more than `maxPages`. Every queued page is
   * fetched unless the crawl ends first, so once it holds `maxPages` a further link could never
   * be reached: it is dropped (and the crawl is not complete) instead of queued. With `refused`
   * (capped), what the crawl holds is bounded by the page limit, not by the links a site sends.
   */
  const frontier = new Set<string>();
  const refused = new Set<string>();
  const queue: { url: string; depth: number }[] = [];
  const enqueue = (raw: string | URL, depth: number) => {
    if (typeof raw === 'string' && !crawlable(raw)) return;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return;
    }
    if (!inScope(url) || depth > maxDepth || !crawlable(url.href)) return;
    const href = normalise(url);
    const key = urlKey(href);
    if (frontier.has(key) || refused.has(key)) return;
    if (!robots.allows(new URL(href))) {
      if (refused.size < MAX_REFUSED_REMEMBERED) {
        refused.add(key);
        disallowed += 1;
      }
      return;
    }
    if (frontier.size >= maxPages) {
      linksDropped += 1;
      return;
    }
    frontier.add(key);
    queue.push({ url: href, depth });
  };
  /** Enqueues what a site listed (tens of thousands of URLs), giving the event loop turns meanwhile. */
  const enqueueAll = async (urls: Iterable<string>, depth: number) => {
    let since = performance.now();
    for (const url of urls) {
      enqueue(url, depth);
      if (performance.now() - since >= YIELD_EVERY_MS) {
        await turn();
        since = performance.now();
      }
    }
  };

  enqueue(first, 0);
  // A start URL that is a sitemap (`…/sitemap.xml`, `…/sitemap-docs.xml`) is the list to read:
  // its pages, under its folder. Otherwise only the site's own sitemaps: robots.txt may name any
  // URL, and we fetch none off the site.
  const startsAtSitemap = first.pathname.toLowerCase().endsWith('.xml');
  const sitemaps = robots.sitemaps.filter((url) => onSite(url, first));
  const pending = startsAtSitemap
    ? [first.href]
    : sitemaps.length > 0
      ? sitemaps
      : [`${first.origin}/sitemap.xml`];
  // A few sitemap files, within a minute together: a site listing thirty that each trickle
  // in cannot spend the crawl's time before a page is read.
  const sitemapsEndAt = Math.min(endAt, now() + SITEMAPS_BUDGET_MS);
  for (let i = 0; i < pending.length && i < MAX_SITEMAPS && now() < sitemapsEndAt; i++) {
    let unread: string | undefined;
    const xml = await text(pending[i]!, sitemapsEndAt, undefined, (reason) => {
      unread = reason;
    });
    // The sitemap asked for is the whole crawl: unread, it is a failed sync with the reason (a
    // host that does not answer, a 404), never a sync that found nothing and removed nothing.
    if (i === 0 && startsAtSitemap && unread !== undefined)
      throw new CrawlError(`could not read the sitemap ${first.href} (${unread})`);
    if (!xml) continue;
    // A sitemap that cannot be read within the budgets is passed over: links still lead to the pages.
    const entries = await parser.run({ kind: 'sitemap', xml }, parseOptions).catch((error: unknown) => {
      if (error instanceof TooLargeError) return undefined;
      throw error;
    });
    if (!entries) continue;
    await enqueueAll(entries.pages, 0);
    for (const url of entries.sitemaps) if (onSite(url, first)) pending.push(url);
  }

  const pages: CrawledPage[] = [];
  const onPage = options.onPage;
  let fetched = 0;
  const visit = async ({ url, depth }: { url: string; depth: number }): Promise<void> => {
    const before = known.get(url);
    const conditional: Record<string, string> = {};
    if (before?.etag) conditional['if-none-match'] = before.etag;
    if (before?.lastModified) conditional['if-modified-since'] = before.lastModified;
    // Whatever goes wrong with one page (no answer, a body that stalls or breaks off, a refused
    // address) fails that page alone, listed with its reason; the others land.
    let page: CrawledPage;
    try {
      page = await fetchPage(url, depth, before, conditional);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      // Not reached in time: neither fetched nor failed, kept as it was until the next sync.
      if (error instanceof OutOfTime) {
        outOfTime = true;
        return;
      }
      page = { kind: 'failed', url, reason: failureReason(error) };
    }
    if (onPage) await onPage(page);
    else pages.push(page);
  };
  const fetchPage = async (
    url: string,
    depth: number,
    before: KnownPage | undefined,
    conditional: Record<string, string>,
  ): Promise<CrawledPage> => {
    const response = await get(url, conditional);
    const follow = (links: readonly string[]) => enqueueAll(links, depth + 1);
    if (response.status === 304 && before) {
      await response.body?.cancel();
      await follow(before.links);
      return { kind: 'unchanged', url, depth };
    }
    const moved = redirectTarget(response, url);
    if (moved) {
      // The content lives at the target: crawl it there (once), and this address holds nothing.
      await response.body?.cancel();
      if (inScope(moved)) enqueue(moved, depth);
      return {
        kind: 'gone',
        url,
        reason: inScope(moved) ? `redirects to ${normalise(moved)}` : 'redirects outside the site',
      };
    }
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel();
      return { kind: 'gone', url, reason: `HTTP ${response.status}` };
    }
    if (!response.ok) {
      await response.body?.cancel();
      return { kind: 'failed', url, reason: `HTTP ${response.status}` };
    }
    if (!/html/i.test(response.headers.get('content-type') ?? 'text/html')) {
      await response.body?.cancel();
      return { kind: 'gone', url, reason: 'not an HTML page' };
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > maxPageBytes) {
      await response.body?.cancel();
      return { kind: 'failed', url, reason: `larger than ${Math.round(maxPageBytes / 1_048_576)} MB` };
    }
    const html = await readLimited(response, maxPageBytes);
    if (html === undefined) {
      return { kind: 'failed', url, reason: `larger than ${Math.round(maxPageBytes / 1_048_576)} MB` };
    }
    let content: PageResult;
    try {
      content = await parser.run(
        { kind: 'page', html, url, maxChars: parser.settings.maxChars },
        parseOptions,
      );
    } catch (error) {
      if (!(error instanceof TooLargeError)) throw error;
      return { kind: 'failed', url, reason: error.message };
    }
    // Links are followed as they come (the frontier bounds what is queued) and kept to follow
    // again when the page answers 304, at most `maxPages` of them (no crawl fetches more) in
    // MAX_LINK_CHARS_PER_PAGE characters. A page with more is not asked conditionally next
    // time (no validators kept) but read whole, so none of its links is lost to a 304.
    const links: string[] = [];
    const kept = new Set<string>();
    let linkChars = 0;
    let allKept = true;
    let since = performance.now();
    for (const link of content.links) {
      const target = crawlable(link) ? new URL(link) : undefined;
      const key = target && inScope(target) ? normalise(target) : undefined;
      if (key !== undefined && !kept.has(key)) {
        enqueue(key, depth + 1);
        if (links.length < maxPages && linkChars + key.length <= MAX_LINK_CHARS_PER_PAGE) {
          kept.add(key);
          links.push(key);
          linkChars += key.length;
        } else {
          allKept = false;
        }
      }
      if (performance.now() - since >= YIELD_EVERY_MS) {
        await turn();
        since = performance.now();
      }
    }
    const etag = allKept ? response.headers.get('etag') : null;
    const lastModified = allKept ? response.headers.get('last-modified') : null;
    return {
      kind: 'changed',
      url,
      depth,
      ...(content.title ? { title: content.title } : {}),
      markdown: content.markdown,
      chunks: content.chunks,
      ...(etag ? { etag } : {}),
      ...(lastModified ? { lastModified } : {}),
      links,
    };
  };

  await new Promise<void>((resolve, reject) => {
    let active = 0;
    let failed = false;
    const pump = () => {
      while (!failed && active < concurrency && queue.length > 0 && fetched < maxPages) {
        if (now() >= endAt) {
          outOfTime = true;
          break;
        }
        const item = queue.shift()!;
        fetched += 1;
        active += 1;
        options.onProgress?.({ fetched, queued: queue.length, url: item.url });
        visit(item).then(
          () => {
            active -= 1;
            pump();
          },
          (error: unknown) => {
            failed = true;
            reject(error);
          },
        );
      }
      if (active === 0 && !failed) resolve();
    };
    pump();
  });
  return {
    pages,
    complete: queue.length === 0 && !outOfTime && linksDropped === 0,
    disallowed,
    outOfTime,
    linksDropped,
  };
}
