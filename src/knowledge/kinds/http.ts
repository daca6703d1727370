/**
 * The HTTP every source kind uses, built around the platform's fetch so each client library
 * (Octokit, Notion's client, isomorphic-git, plain REST) gets the same rules:
 *  - the address guard on every hop: redirects are followed here, one at a time, so a source
 *    added from a chat cannot be redirected into the server's network;
 *  - a time limit per request;
 *  - rate limits waited out and the request resumed, never a failed sync: `retry-after` (a 429,
 *    Notion's 529 `service_overload`, a 503, GitHub's secondary limits), `x-ratelimit-remaining:
 *    0` until `x-ratelimit-reset` (GitHub's epoch seconds, Atlassian's ISO time), a GitHub
 *    secondary limit that names no time (a minute, then doubling, as @octokit/plugin-throttling
 *    advises), a bare 429 or 529 (a second, then doubling); requests are spaced for a
 *    per-second limit (Notion's 3) with `gapMs`;
 *  - a read (GET, HEAD) answered 500, 502, 503 or 504 asked again a few times, a second, then
 *    doubling, as Notion's and Octokit's own retry policies do (a POST is not: it may not be a
 *    read, and its kind decides);
 *  - every wait through `wait` when given (the sync's: on its clock, within its time budget,
 *    cancelled with it), else `sleep`.
 * Clock and sleep are injected, so tests never wait on the wall clock.
 */

export interface SourceFetchOptions {
  readonly fetch?: typeof fetch;
  /**
   * Least time between two requests' starts, every attempt and redirect counted (a service's
   * requests-per-second limit: Notion's 3), so a request asked again after a wait does not
   * bunch up with the next.
   */
  readonly gapMs?: number;
  /**
   * Largest body one response may bring, however it arrives (declared or streamed): past it the
   * body fails to read, so a client library that reads whole answers (Octokit, Notion's client)
   * never holds more. Unset: no limit here (the kind bounds what it reads itself).
   */
  readonly maxBodyBytes?: number;
  /** Throws to refuse a URL (private addresses for sources added from a chat). */
  readonly guard?: (url: URL) => Promise<void>;
  readonly timeoutMs?: number;
  /**
   * `timeoutMs` bounds the headers and then each pause of the body, not the whole body: for
   * downloads that may rightly take longer than one request should (a Git pack), still ended as
   * soon as the server stalls. Their whole is bounded by the sync's budget (`signal`).
   */
  readonly idleBodyTimeout?: boolean;
  readonly signal?: AbortSignal;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  /** Longest single wait for a rate limit; a longer `retry-after` is waited in this many. */
  readonly maxWaitMs?: number;
  /** Rate-limit waits allowed for one request before its answer is returned as it is. */
  readonly maxWaits?: number;
  /** Called before each rate-limit wait (for the log and the progress line). */
  readonly onWait?: (ms: number, url: string) => void;
  /**
   * Waits instead of `onWait` and `sleep` (the sync's: logs, and throws rather than begin a
   * wait its time budget has no room for).
   */
  readonly wait?: (ms: number, url: string) => Promise<void>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 30_000;
/** GitHub's primary limit resets within the hour; nothing we honour waits longer at once. */
const DEFAULT_MAX_WAIT_MS = 60 * 60 * 1000;

/** GitHub: "wait for at least one minute" after a secondary limit that names no time. */
export const SECONDARY_LIMIT_WAIT_MS = 60_000;
/** A 429 (or 529) that names no time: a short pause, doubled while it lasts. */
const BARE_429_WAIT_MS = 1000;
/** Notion's "service_overload": a limit like a 429, which Notion's client always retries. */
export const SERVICE_OVERLOAD = 529;
/** Server errors a read is asked again after, and how often at most (the SDKs' policies: 2 to 3). */
const SERVER_ERRORS = new Set([500, 502, 503, 504]);
export const SERVER_ERROR_RETRIES = 3;
const SERVER_ERROR_WAIT_MS = 1000;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `Retry-After`: seconds, or an HTTP date. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
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
 * `Retry-After` on a 429, a 529, a 503 or GitHub's 403; GitHub's `x-ratelimit-remaining: 0`
 * until `x-ratelimit-reset`; Atlassian's `X-RateLimit-Reset` on a 429; else a 429 or a 529
 * gets a short pause.
 */
export function rateLimitWait(response: Response, now: number): number | undefined {
  const { status, headers } = response;
  if (status !== 429 && status !== SERVICE_OVERLOAD && status !== 403 && status !== 503) return undefined;
  const retryAfter = retryAfterMs(headers.get('retry-after'), now);
  if (retryAfter !== undefined) return retryAfter;
  // A 503 without Retry-After is an outage, not a limit: the caller decides.
  if (status === 503) return undefined;
  const reset = resetWaitMs(headers.get('x-ratelimit-reset'), now);
  if (headers.get('x-ratelimit-remaining') === '0' && reset !== undefined) return reset;
  if (status === 429 || status === SERVICE_OVERLOAD) return reset ?? BARE_429_WAIT_MS;
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

/**
 * A time limit that a body's every chunk renews: its signal aborts once `ms` pass with nothing
 * arriving (the headers first, then each pause of the body), so a long download that keeps
 * coming is read whole and a stalled one ends.
 */
function idleLimit(ms: number): {
  readonly signal: AbortSignal;
  watch(response: Response): Response;
  end(): void;
} {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    const pause = ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
    timer = setTimeout(
      () => controller.abort(new DOMException(`the server sent nothing for ${pause}`, 'TimeoutError')),
      ms,
    );
    timer.unref?.();
  };
  const end = () => clearTimeout(timer);
  arm();
  return {
    signal: controller.signal,
    end,
    watch(response) {
      if (!response.body || NULL_BODY.has(response.status) || response.status < 200) {
        end();
        return response;
      }
      arm();
      const url = response.url;
      const watched = new Response(
        response.body.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, stream) {
              arm();
              stream.enqueue(chunk);
            },
            flush: end,
          }),
        ),
        { status: response.status, statusText: response.statusText, headers: response.headers },
      );
      Object.defineProperty(watched, 'url', { value: url, configurable: true });
      return watched;
    },
  };
}

/** A fetch with the rules above. */
export function sourceFetch(options: SourceFetchOptions): typeof fetch {
  const base = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const maxWaits = options.maxWaits ?? 20;
  let nextAt = Number.NEGATIVE_INFINITY;
  const pace = async () => {
    if (!options.gapMs) return;
    const at = options.now();
    const start = Math.max(at, nextAt);
    nextAt = start + options.gapMs;
    if (start > at) await options.sleep(start - at);
  };

  const once = async (request: Request, body: ArrayBuffer | undefined): Promise<Response> => {
    let url = new URL(request.url);
    let method = request.method;
    let payload = body;
    const headers = new Headers(request.headers);
    for (let hop = 0; ; hop++) {
      options.signal?.throwIfAborted();
      await options.guard?.(url);
      await pace();
      const limit = options.idleBodyTimeout ? idleLimit(timeoutMs) : undefined;
      const signals = [
        limit?.signal ?? AbortSignal.timeout(timeoutMs),
        ...(options.signal ? [options.signal] : []),
      ];
      if (request.signal) signals.push(request.signal);
      let response: Response;
      try {
        response = await base(url, {
          method,
          headers,
          ...(payload !== undefined ? { body: payload } : {}),
          redirect: 'manual',
          signal: AbortSignal.any(signals),
        });
      } catch (error) {
        limit?.end();
        throw error;
      }
      if (limit) response = limit.watch(response);
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || location === null || request.redirect === 'manual') {
        // The address answered after the redirects followed here (a Git client rebases its later
        // requests there), whatever the transport below says of its own.
        if (response.url !== url.href) Object.defineProperty(response, 'url', { value: url.href });
        return response;
      }
      limit?.end();
      if (hop >= MAX_REDIRECTS) throw new Error(`too many redirects from ${request.url}`);
      await response.body?.cancel();
      const next = new URL(location, url);
      // Credentials go to the host they were meant for, never to where a redirect points.
      if (next.origin !== url.origin) headers.delete('authorization');
      // A 303 asks for a GET; any other redirect keeps the method and body, as git does with
      // curl (a query POSTed to a moved repository or API is a query there too), where a
      // browser would turn a 301 or 302 POST into a GET without its body.
      if (response.status === 303 && method !== 'GET' && method !== 'HEAD') {
        method = 'GET';
        payload = undefined;
        headers.delete('content-type');
      }
      url = next;
    }
  };

  const wait =
    options.wait ??
    (async (ms: number, url: string) => {
      options.onWait?.(ms, url);
      await options.sleep(ms);
    });

  return async (input, init) => {
    const request = requestOf(input as string | URL | Request, init);
    const body = request.body ? await request.arrayBuffer() : undefined;
    const idempotent = IDEMPOTENT.has(request.method.toUpperCase());
    // Repeated limits that name no time back off: a secondary limit from a minute, a bare 429
    // (or 529) from a second, a read's server error from a second.
    let secondary = 0;
    let bare = 0;
    let serverErrors = 0;
    for (let waits = 0; ; waits++) {
      const response = await once(request, body);
      let ms = rateLimitWait(response, options.now());
      const hinted =
        response.headers.get('retry-after') !== null || response.headers.get('x-ratelimit-remaining') === '0';
      if (!hinted && (await isSecondaryLimit(response))) ms = SECONDARY_LIMIT_WAIT_MS * 2 ** secondary++;
      else if (
        !hinted &&
        (response.status === 429 || response.status === SERVICE_OVERLOAD) &&
        response.headers.get('x-ratelimit-reset') === null
      )
        ms = BARE_429_WAIT_MS * 2 ** bare++;
      else if (ms === undefined && idempotent && SERVER_ERRORS.has(response.status)) {
        // A read that met a passing server error (a 502 from a proxy, a 504 timeout) is asked
        // again a few times; past that its answer goes to the kind, which fails the item.
        if (serverErrors >= SERVER_ERROR_RETRIES) return response;
        ms = SERVER_ERROR_WAIT_MS * 2 ** serverErrors++;
      }
      if (ms === undefined || waits >= maxWaits) {
        return options.maxBodyBytes === undefined ? response : limitBody(response, options.maxBodyBytes);
      }
      await response.body?.cancel();
      await wait(Math.min(ms, maxWaitMs), request.url);
    }
  };
}

const NULL_BODY = new Set([204, 205, 304]);

/** A response over `maxBytes`, in words (never the body). */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(url: string, maxBytes: number) {
    const size =
      maxBytes >= 1_048_576 ? `${Math.round(maxBytes / 1_048_576)} MB` : `${Math.round(maxBytes / 1024)} KB`;
    super(`the answer from ${new URL(url).origin} was larger than ${size}`);
  }
}

/**
 * `response` whose body errors once it passes `maxBytes` (a declared length past it, at once),
 * so whoever reads it whole stops there; status, headers and URL as they were.
 */
export function limitBody(response: Response, maxBytes: number, onBytes?: (bytes: number) => void): Response {
  // A status that may not carry a body (a 304 of an ETag) has none to limit.
  if (!response.body || NULL_BODY.has(response.status) || response.status < 200) return response;
  const url = response.url;
  const declared = Number(response.headers.get('content-length') ?? 0);
  let size = 0;
  const counted = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        if (declared > maxBytes) controller.error(new BodyTooLargeError(url, maxBytes));
      },
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > maxBytes) {
          controller.error(new BodyTooLargeError(url, maxBytes));
          return;
        }
        onBytes?.(chunk.byteLength);
        controller.enqueue(chunk);
      },
    }),
  );
  const limited = new Response(counted, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(limited, 'url', { value: url });
  return limited;
}

/**
 * `response` with its body read whole before it is handed over: a body that fails half-way (past
 * its limit, a connection reset, a timeout) fails the request itself, where a client that
 * swallows read errors (Octokit gives the text read so far as the answer) cannot miss it.
 */
export async function readWhole(response: Response): Promise<Response> {
  if (!response.body || NULL_BODY.has(response.status) || response.status < 200) return response;
  const url = response.url;
  const whole = new Response(await response.arrayBuffer(), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(whole, 'url', { value: url });
  return whole;
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
