/**
 * The HTTP every source kind uses, built around the platform's fetch so each client library
 * (Octokit, Notion's client, isomorphic-git, plain REST) gets the same rules:
 *  - the address guard on every hop: redirects are followed here, one at a time, so a source
 *    added from a chat cannot be redirected into the server's network;
 *  - a time limit per request;
 *  - rate limits waited out and the request resumed, never a failed sync: `retry-after` (a 429,
 *    a 503, GitHub's secondary limits), `x-ratelimit-remaining: 0` until `x-ratelimit-reset`
 *    (GitHub's epoch seconds, Atlassian's ISO time), a GitHub secondary limit that names no
 *    time (a minute, then doubling, as @octokit/plugin-throttling advises), a bare 429
 *    (a second, then doubling); `pacedFetch` spaces requests for a per-second limit (Notion's 3).
 * Clock and sleep are injected, so tests never wait on the wall clock.
 */

export interface SourceFetchOptions {
  readonly fetch?: typeof fetch;
  /** Throws to refuse a URL (private addresses for sources added from a chat). */
  readonly guard?: (url: URL) => Promise<void>;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  /** Longest single wait for a rate limit; a longer `retry-after` is waited in this many. */
  readonly maxWaitMs?: number;
  /** Rate-limit waits allowed for one request before its answer is returned as it is. */
  readonly maxWaits?: number;
  /** Called before each rate-limit wait (for the log and the progress line). */
  readonly onWait?: (ms: number, url: string) => void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 30_000;
/** GitHub's primary limit resets within the hour; nothing we honour waits longer at once. */
const DEFAULT_MAX_WAIT_MS = 60 * 60 * 1000;

/** GitHub: "wait for at least one minute" after a secondary limit that names no time. */
export const SECONDARY_LIMIT_WAIT_MS = 60_000;
/** A 429 that names no time: a short pause, doubled while it lasts. */
const BARE_429_WAIT_MS = 1000;

/** `Retry-After`: seconds, or an HTTP date. */
function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/**
 * How long until a limit's reset, one second past it: `x-ratelimit-reset` as GitHub sends it
 * (epoch seconds) or as Atlassian does (an ISO 8601 time, e.g. `2026-03-01T12:05Z`).
 */
export function resetWaitMs(value: string | null | undefined, now: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  const at = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  return Number.isFinite(at) && at > 0 ? Math.max(0, at - now) + 1000 : undefined;
}

/**
 * How long a response asks us to wait before trying again, or undefined if it does not:
 * `Retry-After` on a 429, a 503 or GitHub's 403; GitHub's `x-ratelimit-remaining: 0` until
 * `x-ratelimit-reset`; Atlassian's `X-RateLimit-Reset` on a 429; else a 429 gets a short pause.
 */
export function rateLimitWait(response: Response, now: number): number | undefined {
  const { status, headers } = response;
  if (status !== 429 && status !== 403 && status !== 503) return undefined;
  const retryAfter = retryAfterMs(headers.get('retry-after'), now);
  if (retryAfter !== undefined) return retryAfter;
  // A 503 without Retry-After is an outage, not a limit: the caller decides.
  if (status === 503) return undefined;
  const reset = resetWaitMs(headers.get('x-ratelimit-reset'), now);
  if (headers.get('x-ratelimit-remaining') === '0' && reset !== undefined) return reset;
  if (status === 429) return reset ?? BARE_429_WAIT_MS;
  return undefined;
}

/**
 * GitHub's secondary limit, which may come without `retry-after` and with requests left: a
 * 403 or 429 whose message says so (what @octokit/plugin-throttling keys on). The body is read
 * from a copy, at most 16 KB, so the caller can still read the answer.
 */
async function isSecondaryLimit(response: Response): Promise<boolean> {
  if (response.status !== 403 && response.status !== 429) return false;
  try {
    const text = await readTextLimited(response.clone(), 16_384);
    return /\bsecondary rate limit/i.test(text);
  } catch {
    return false;
  }
}

function requestOf(input: string | URL | Request, init: RequestInit | undefined): Request {
  return new Request(input, init);
}

/** A fetch with the rules above. */
export function sourceFetch(options: SourceFetchOptions): typeof fetch {
  const base = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const maxWaits = options.maxWaits ?? 20;

  const once = async (request: Request, body: ArrayBuffer | undefined): Promise<Response> => {
    let url = new URL(request.url);
    let method = request.method;
    let payload = body;
    const headers = new Headers(request.headers);
    for (let hop = 0; ; hop++) {
      options.signal?.throwIfAborted();
      await options.guard?.(url);
      const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
      if (request.signal) signals.push(request.signal);
      const response = await base(url, {
        method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        redirect: 'manual',
        signal: AbortSignal.any(signals),
      });
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || location === null || request.redirect === 'manual')
        return response;
      if (hop >= MAX_REDIRECTS) throw new Error(`too many redirects from ${request.url}`);
      await response.body?.cancel();
      const next = new URL(location, url);
      // Credentials go to the host they were meant for, never to where a redirect points.
      if (next.origin !== url.origin) headers.delete('authorization');
      if (
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && method === 'POST')
      ) {
        method = 'GET';
        payload = undefined;
        headers.delete('content-type');
      }
      url = next;
    }
  };

  return async (input, init) => {
    const request = requestOf(input as string | URL | Request, init);
    const body = request.body ? await request.arrayBuffer() : undefined;
    // Repeated limits that name no time back off: a secondary limit from a minute, a bare 429 from a second.
    let secondary = 0;
    let bare = 0;
    for (let waits = 0; ; waits++) {
      const response = await once(request, body);
      let wait = rateLimitWait(response, options.now());
      const hinted =
        response.headers.get('retry-after') !== null || response.headers.get('x-ratelimit-remaining') === '0';
      if (!hinted && (await isSecondaryLimit(response))) wait = SECONDARY_LIMIT_WAIT_MS * 2 ** secondary++;
      else if (!hinted && response.status === 429 && response.headers.get('x-ratelimit-reset') === null)
        wait = BARE_429_WAIT_MS * 2 ** bare++;
      if (wait === undefined || waits >= maxWaits) return response;
      await response.body?.cancel();
      const ms = Math.min(wait, maxWaitMs);
      options.onWait?.(ms, request.url);
      await options.sleep(ms);
    }
  };
}

/** The body as text, or an error once it passes `maxBytes` (read no further). */
export async function readTextLimited(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new Error(`larger than ${Math.round(maxBytes / 1_048_576)} MB`);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      await response.body.cancel().catch(() => undefined);
      throw new Error(`larger than ${Math.round(maxBytes / 1_048_576)} MB`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `doFetch` with request starts at least `gapMs` apart (a service's requests-per-second limit). */
export function pacedFetch(
  doFetch: typeof fetch,
  gapMs: number,
  now: () => number,
  sleep: (ms: number) => Promise<void>,
): typeof fetch {
  let nextAt = Number.NEGATIVE_INFINITY;
  return async (input, init) => {
    const at = now();
    const start = Math.max(at, nextAt);
    nextAt = start + gapMs;
    if (start > at) await sleep(start - at);
    return doFetch(input, init);
  };
}
