/**
 * Untrusted documents (chat attachments, crawled pages and sitemaps, ingested files) are parsed
 * here, in worker threads, never on the thread that answers: a hostile file can cost a worker,
 * never the bot's event loop. Each document gets a heap limit (the worker's `resourceLimits`)
 * and a wall-clock budget; a worker over either is terminated (and replaced when the next
 * document comes), and the document is reported as too large or complex. A process-wide
 * memory watchdog stops parses whose memory outside the heap (a decompressed buffer) grows too.
 *
 * The pool is tinypool (no dependencies, 100 KB; piscina does the same with a native optional
 * dependency and ~3 MB more when loaded). It is imported and started only when the first
 * document arrives, so a bot that never reads a file pays nothing, and idle threads end after
 * `IDLE_MS`. Jobs are handed to it one per free thread, so a budget runs from the moment its
 * document is being parsed, not while it waits in a queue.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type Tinypool from 'tinypool';
import { IngestFileError, type ReadLimits, TooLargeError } from './files.js';
import type { FileJob, JobResponse, JobResult, ParseJob } from './parse-jobs.js';

export interface ParseSettings {
  /** Documents parsed at once (PARSE_THREADS). */
  readonly threads: number;
  /** Heap one document may use, in MB (PARSE_MEMORY_MB). */
  readonly memoryMB: number;
  /** Time one document may take, in ms (PARSE_TIME_LIMIT_MS). */
  readonly timeMs: number;
  /** Characters of text one document may expand to (PARSE_MAX_CHARS). */
  readonly maxChars: number;
  /** PDF pages read (PARSE_MAX_PAGES). */
  readonly maxPages: number;
  /** What a PDF's compressed streams may inflate to, in MB (PARSE_MAX_INFLATED_MB). */
  readonly maxInflatedMB: number;
}

export const DEFAULT_PARSE_SETTINGS: ParseSettings = {
  threads: 2,
  memoryMB: 256,
  timeMs: 15_000,
  maxChars: 5_000_000,
  maxPages: 500,
  maxInflatedMB: 256,
};

/** Idle threads end after this long, giving their memory back. */
const IDLE_MS = 30_000;
/** How often the memory watchdog looks while documents are being parsed. */
const WATCH_MS = 200;
/** Room for the pool's own threads beyond their documents' budgets. */
const OVERHEAD_MB = 96;
const MB = 1_048_576;

/** The limits of `settings` as the loaders take them. */
export function readLimits(settings: ParseSettings, overflow: ReadLimits['overflow']): ReadLimits {
  return {
    maxChars: settings.maxChars,
    maxPages: settings.maxPages,
    maxInflatedBytes: settings.maxInflatedMB * MB,
    overflow,
  };
}

/** Where the worker's code is: the TypeScript source under tsx (dev, tests), or the compiled file. */
function workerEntry(): { filename: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // No loader is inherited by a worker: it gets tsx the way `npm run` gave it to this process.
    const tsx = pathToFileURL(createRequire(here).resolve('tsx')).href;
    return { filename: new URL('./parse-worker.ts', here).href, execArgv: ['--import', tsx] };
  }
  return { filename: new URL('./parse-worker.js', here).href, execArgv: [] };
}

type Stop = 'time' | 'memory';

export class ParsePool {
  private pool: Tinypool | undefined;
  private starting: Promise<Tinypool> | undefined;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly active = new Set<AbortController>();
  private watchdog: NodeJS.Timeout | undefined;
  private rssCeiling = 0;
  /** Documents parsed, and those stopped at a budget (for tests and metrics). */
  readonly counts = { parsed: 0, stopped: 0 };

  constructor(readonly settings: ParseSettings = DEFAULT_PARSE_SETTINGS) {}

  /** Threads running now (0 until the first document). */
  get threads(): number {
    return this.pool?.threads.length ?? 0;
  }

  /** Parses `job` in a worker; throws `TooLargeError` past a budget and `IngestFileError` for a bad file. */
  async run<J extends ParseJob>(job: J): Promise<JobResult<J>> {
    await this.slot();
    try {
      return (await this.runNow(job)) as JobResult<J>;
    } finally {
      this.release();
    }
  }

  private slot(): Promise<void> {
    if (this.running < this.settings.threads) {
      this.running += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running -= 1;
  }

  private start(): Promise<Tinypool> {
    this.starting ??= (async () => {
      const { default: Pool } = await import('tinypool');
      const { filename, execArgv } = workerEntry();
      this.pool = new Pool({
        filename,
        execArgv,
        minThreads: 0,
        maxThreads: this.settings.threads,
        idleTimeout: IDLE_MS,
        resourceLimits: { maxOldGenerationSizeMb: this.settings.memoryMB },
      });
      return this.pool;
    })();
    return this.starting;
  }

  private async runNow(job: ParseJob): Promise<unknown> {
    const pool = await this.start();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort('time' satisfies Stop), this.settings.timeMs);
    this.watch(controller);
    let response: JobResponse;
    try {
      const transferList = job.kind === 'file' ? transferable(job) : [];
      response = (await pool.run(job, { signal: controller.signal, transferList })) as JobResponse;
    } catch (error) {
      const stop: Stop | undefined = controller.signal.aborted
        ? (controller.signal.reason as Stop)
        : (error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? 'memory'
          : undefined;
      if (!stop) throw new Error(`the document reader stopped unexpectedly (${(error as Error).message})`);
      this.counts.stopped += 1;
      throw new TooLargeError(
        stop === 'time'
          ? `too large or complex: reading it took longer than ${this.settings.timeMs / 1000} s (PARSE_TIME_LIMIT_MS)`
          : `too large or complex: reading it needed more than ${this.settings.memoryMB} MB (PARSE_MEMORY_MB)`,
      );
    } finally {
      clearTimeout(timer);
      this.unwatch(controller);
    }
    this.counts.parsed += 1;
    if (response.ok) return response.value;
    if (response.problem === 'too_large') throw new TooLargeError(response.message);
    if (response.problem === 'file') throw new IngestFileError(response.message);
    throw new Error(response.message);
  }

  /**
   * Memory outside a worker's heap (pdf.js's decompressed streams, a huge string's buffer) is
   * not covered by `resourceLimits`: while documents are parsed, the process's RSS is kept under
   * what it was plus every thread's budget, or every running parse is stopped.
   */
  private watch(controller: AbortController): void {
    if (this.active.size === 0) {
      const perThread = this.settings.memoryMB + OVERHEAD_MB;
      this.rssCeiling = process.memoryUsage.rss() + this.settings.threads * perThread * MB;
      this.watchdog = setInterval(() => {
        if (process.memoryUsage.rss() <= this.rssCeiling) return;
        for (const running of this.active) running.abort('memory' satisfies Stop);
      }, WATCH_MS);
      this.watchdog.unref();
    }
    this.active.add(controller);
  }

  private unwatch(controller: AbortController): void {
    this.active.delete(controller);
    if (this.active.size === 0 && this.watchdog) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
  }

  /** Ends every thread (tests, and processes that want to exit at once). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    this.starting = undefined;
    await pool?.destroy();
  }
}

/** The file's bytes move to the worker instead of being copied, when they own their buffer. */
function transferable(job: FileJob): ArrayBuffer[] {
  const { buffer, byteOffset, byteLength } = job.data;
  return buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength
    ? [buffer]
    : [];
}

let shared: ParsePool | undefined;
let sharedSettings: ParseSettings = DEFAULT_PARSE_SETTINGS;

/** Sets the process's parse limits (from configuration, at start-up); before the first document. */
export function configureParsing(settings: ParseSettings): void {
  sharedSettings = settings;
  if (shared && shared.threads === 0) shared = undefined;
}

/** The process's pool, created on first use. */
export function parsePool(): ParsePool {
  shared ??= new ParsePool(sharedSettings);
  return shared;
}
