/**
 * Runs a Git source's fetch, tree walk and blob reads in a reader process (git-child.ts), off
 * the bot's event loop and within a memory budget: isomorphic-git inflates and hashes every
 * object of a pack in memory, so a 1 MB download holding a 1 GB blob of one repeated byte
 * would stall the bot for seconds and take gigabytes. The reader starts with a V8 heap limit,
 * its resident memory (buffers included) is read from outside (../../ingest/process-memory.ts)
 * and it is killed past the budget; the sync then fails with a message naming it. Its HTTP
 * requests come back here to go through the sync's fetch, and the token is added here, to
 * requests for the repository's own origin only: the reader gets no environment and no secret.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants as osConstants, setPriority } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { residentBytes } from '../../ingest/process-memory.js';
import { withoutTrailingSlashes } from '../../text/trailing-slashes.js';
import type { CarriedError, FromReader, ToReader } from './git-messages.js';
import { SourceError } from './kind.js';

const MB = 1_048_576;
/** How often the reader's memory is read. */
const WATCH_MS = process.platform === 'linux' ? 25 : 250;
/** The reader's own memory (Node, isomorphic-git) beyond the repository's budget. */
const OVERHEAD_MB = 96;
/** Lower than the bot's (as the parser processes'). */
const PRIORITY = 10;

export interface ReaderOptions {
  /** The sync's fetch: every request the reader makes goes through it. */
  readonly fetch: typeof fetch;
  /**
   * The repository's URL: its token (`headers`) goes with the reader's requests for this
   * repository only, never elsewhere.
   */
  readonly cloneUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Largest response one request may bring (a pack). */
  readonly maxResponseBytes: number;
  /** Memory the reader may use for the repository, in MB. */
  readonly memoryMB: number;
  readonly signal?: AbortSignal;
}

/** Where the reader's code is: the TypeScript source under tsx (dev, tests), or the compiled file. */
function readerEntry(): { path: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const tsx = pathToFileURL(createRequire(here).resolve('tsx')).href;
    return { path: fileURLToPath(new URL('./git-child.ts', here)), execArgv: ['--import', tsx] };
  }
  return { path: fileURLToPath(new URL('./git-child.js', here)), execArgv: [] };
}

/** An isomorphic-git error as the reader carried it, with the fields the kind explains. */
export function rebuilt(error: CarriedError): Error {
  if (error.source) return new SourceError(error.message);
  return Object.assign(new Error(error.message), {
    ...(error.code ? { code: error.code } : {}),
    data: {
      ...(error.statusCode !== undefined ? { statusCode: error.statusCode } : {}),
      ...(error.what !== undefined ? { what: error.what } : {}),
    },
  });
}

/**
 * A request the reader may have made through the bot: a Git fetch's two calls (the refs, then
 * the pack), on http(s), with string headers. Anything else (a push's `git-receive-pack`, a
 * malformed URL, another method) fails the sync. `forRepository`: the request is for the
 * repository's own origin and path, the only place its token may go.
 */
export function readerRequest(
  request: {
    readonly url?: unknown;
    readonly method?: unknown;
    readonly headers?: unknown;
    readonly body?: unknown;
  },
  cloneUrl: string,
): {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: Uint8Array;
  forRepository: boolean;
} {
  const refused = (why: string) => new SourceError(`the Git reader asked for ${why}; the sync stopped`);
  if (typeof request.url !== 'string' || !URL.canParse(request.url)) throw refused('a malformed URL');
  const url = new URL(request.url);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refused(`a ${url.protocol} URL`);
  const refs = url.pathname.endsWith('/info/refs') && url.search === '?service=git-upload-pack';
  const pack = url.pathname.endsWith('/git-upload-pack') && url.search === '';
  const method = request.method;
  if (!((method === 'GET' && refs) || (method === 'POST' && pack))) {
    throw refused('something other than fetching the repository');
  }
  const headers: Record<string, string> = {};
  if (request.headers && typeof request.headers === 'object') {
    for (const [name, value] of Object.entries(request.headers)) {
      // The reader never sets credentials: only the bot adds them, for this repository.
      if (typeof value === 'string' && !/^(authorization|cookie|proxy-authorization)$/i.test(name)) {
        headers[name] = value;
      }
    }
  }
  const repository = new URL(cloneUrl);
  const base = withoutTrailingSlashes(repository.pathname);
  const forRepository =
    url.origin === repository.origin &&
    url.username === '' &&
    url.password === '' &&
    (url.pathname === `${base}/info/refs` || url.pathname === `${base}/git-upload-pack`);
  return {
    url: url.href,
    method,
    headers,
    ...(request.body instanceof Uint8Array ? { body: request.body } : {}),
    forRepository,
  };
}

export class GitReader {
  private readonly child: ChildProcess;
  private readonly requests = new Map<number, AbortController>();
  private stderr = '';
  private stopped: 'memory' | 'aborted' | undefined;
  private watcher: NodeJS.Timeout | undefined;
  private waiting: { resolve: (message: FromReader) => void; reject: (error: Error) => void } | undefined;
  private ended = false;

  constructor(private readonly options: ReaderOptions) {
    const { path, execArgv } = readerEntry();
    this.child = fork(path, [], {
      execArgv: [...execArgv, `--max-old-space-size=${options.memoryMB}`, '--max-semi-space-size=4'],
      // No secret reaches the reader: the packs it inflates are hostile.
      env: {},
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    if (this.child.pid !== undefined) {
      try {
        // Below the bot's, as the parser processes: inflating a pack never competes with answering.
        setPriority(this.child.pid, Math.min(osConstants.priority.PRIORITY_LOW, PRIORITY));
      } catch {
        // Not allowed here: the reader runs at the bot's priority.
      }
    }
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-4_096);
    });
    this.child.on('message', (message: FromReader) => this.onMessage(message));
    this.child.on('error', () => this.onEnd());
    // 'close': the dying process's last words (out of memory) are read by then.
    this.child.once('close', () => this.onEnd());
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    const limit = (options.memoryMB + OVERHEAD_MB) * MB;
    const pid = this.child.pid;
    const watch = async () => {
      const rss = pid === undefined ? undefined : await residentBytes(pid);
      if (rss !== undefined && rss > limit) {
        this.stopped = 'memory';
        this.kill();
        return;
      }
      if (!this.ended) this.watcher = setTimeout(watch, WATCH_MS);
    };
    this.watcher = setTimeout(watch, WATCH_MS);
  }

  private readonly onAbort = () => {
    this.stopped ??= 'aborted';
    this.kill();
  };

  /** Sends one job and waits for its answer (one job at a time). */
  ask(message: Extract<ToReader, { type: 'list' | 'read' }>): Promise<FromReader> {
    return new Promise((resolve, reject) => {
      if (this.ended) return reject(this.endError());
      this.waiting = { resolve, reject };
      this.child.send(message);
    });
  }

  /** The reader has ended (killed past its budget, cancelled, or crashed). */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Ends the reader; resolves once its process has exited, so none outlives its sync. */
  close(): Promise<void> {
    if (this.ended) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.kill();
    return closed;
  }

  private kill(): void {
    if (!this.ended) this.child.kill('SIGKILL');
  }

  private endError(): Error {
    const outOfMemory =
      this.stopped === 'memory' ||
      /heap out of memory|Reached heap limit|Allocation failed/i.test(this.stderr);
    if (this.stopped === 'aborted') return this.options.signal?.reason ?? new Error('aborted');
    return new SourceError(
      outOfMemory
        ? `reading the repository needed more than ${this.options.memoryMB} MB of memory (GIT_MEMORY_MB): it holds a file too large to read; name a folder of it (…/tree/<branch>/<folder>) without such files`
        : 'the Git reader stopped unexpectedly',
    );
  }

  private onEnd(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.watcher);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    for (const controller of this.requests.values()) controller.abort();
    this.requests.clear();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(this.endError());
  }

  private onMessage(message: FromReader): void {
    if (message.type === 'http') {
      void this.forward(message);
      return;
    }
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(message);
  }

  private send(message: ToReader): void {
    if (!this.ended && this.child.connected) this.child.send(message);
  }

  /**
   * The repository's base URL after its refs were redirected (a renamed repository's 301, an
   * http:// URL sent to https://): isomorphic-git asks for the pack at the URL it was given,
   * while git itself sends its later requests where the refs came from, and so does this.
   */
  private redirectedBase: string | undefined;

  private rebased(url: string): string {
    const original = withoutTrailingSlashes(this.options.cloneUrl);
    if (this.redirectedBase === undefined || !url.startsWith(`${original}/`)) return url;
    return `${this.redirectedBase}${url.slice(original.length)}`;
  }

  /** Notes where a request for the refs ended up, as git's remote-curl does (`update_url_from_redirect`). */
  private followRedirect(asked: string, answered: string): void {
    if (answered === asked) return;
    const tail = '/info/refs?service=git-upload-pack';
    const final = new URL(answered);
    const path = `${final.pathname}${final.search}`;
    if (!asked.endsWith(tail) || !path.endsWith(tail)) {
      throw new SourceError(
        `${this.options.cloneUrl} redirected to ${final.origin}${final.pathname}, which is not a Git repository's address`,
      );
    }
    this.redirectedBase = `${final.origin}${path.slice(0, -tail.length)}`;
  }

  /** One request of the reader's, through the sync's fetch, its body streamed back. */
  private async forward(request: Extract<FromReader, { type: 'http' }>): Promise<void> {
    const { id } = request;
    const controller = new AbortController();
    this.requests.set(id, controller);
    try {
      // The reader runs a Git client on whatever the server sent: what it asks for is checked
      // like any untrusted input, and only a fetch of this repository carries its token.
      const asked = readerRequest(request, this.options.cloneUrl);
      const url = this.rebased(asked.url);
      const headers: Record<string, string> = { ...asked.headers };
      // The token goes to the repository's own origin only, redirected there or not.
      if (asked.forRepository && new URL(url).origin === new URL(this.options.cloneUrl).origin)
        Object.assign(headers, this.options.headers);
      const response = await this.options.fetch(url, {
        method: asked.method,
        headers,
        ...(asked.body ? { body: asked.body } : {}),
        signal: controller.signal,
      });
      if (asked.forRepository && asked.method === 'GET') this.followRedirect(url, response.url || url);
      this.send({
        type: 'http-head',
        id,
        url: response.url || url,
        status: response.status,
        statusText: response.statusText,
        headers: Object.fromEntries(response.headers),
      });
      let size = 0;
      if (response.body) {
        for await (const chunk of response.body) {
          size += chunk.byteLength;
          if (size > this.options.maxResponseBytes) {
            controller.abort();
            this.send({
              type: 'http-error',
              id,
              error: {
                message: `the repository sent more than ${Math.round(this.options.maxResponseBytes / MB)} MB in one fetch; name a folder of it (…/tree/<branch>/<folder>)`,
                source: true,
              },
            });
            return;
          }
          this.send({ type: 'http-chunk', id, chunk });
        }
      }
      this.send({ type: 'http-end', id });
    } catch (error) {
      const source = error instanceof SourceError;
      this.send({
        type: 'http-error',
        id,
        error: { message: (error as Error).message ?? String(error), ...(source ? { source } : {}) },
      });
    } finally {
      this.requests.delete(id);
    }
  }
}
