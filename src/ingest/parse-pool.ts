/**
 * Untrusted documents (chat attachments, crawled pages and sitemaps, ingested files, what a
 * source kind fetched) are parsed here, in child processes, never on the process that answers:
 * a hostile file can cost a parser process, never the bot's event loop or its memory.
 *
 * Each document's memory is its own process's: the process starts with a V8 heap limit, and
 * the parent reads its resident memory from outside (`process-memory.ts`) while it parses and
 * kills it past the budget, whatever the memory is (heap, an inflated stream's buffer, a
 * string). A process over its time budget is killed too. Memory a document took goes back to
 * the system when its process ends, and a process that grew while parsing is not kept for
 * the next document, so no budget ratchets up and one document's stop never touches another's.
 *
 * Parser processes are started only when a document arrives (the bot starts none at idle),
 * run at a lower CPU priority than the bot, hold no secret (an empty environment) and end
 * after `IDLE_MS` idle. Documents wait for a free process in two lanes: people's (attachments,
 * served fairly, one owner after another) and background work (crawls, syncs, ingestion),
 * which never takes every process while people wait. People's queue is bounded: past it a
 * document is refused at once (`ParserBusyError`) instead of piling up.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism, constants as osConstants, setPriority } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IngestFileError, ParseBudgetError, type ReadLimits, TooLargeError } from './files.js';
import type { JobResponse, JobResult, ParseJob } from './parse-jobs.js';
import { residentBytes } from './process-memory.js';

export interface ParseSettings {
  /** Documents parsed at once, each in its own process (PARSE_THREADS; 0: one fewer than the cores, at least 1). */
  readonly threads: number;
  /** Memory one document may use, in MB (PARSE_MEMORY_MB): its heap, and its process's resident memory beyond a parser's own. */
  readonly memoryMB: number;
  /** Time one document may take, in ms (PARSE_TIME_LIMIT_MS). */
  readonly timeMs: number;
  /** Characters of text one document may expand to (PARSE_MAX_CHARS). */
  readonly maxChars: number;
  /** PDF pages read (PARSE_MAX_PAGES). */
  readonly maxPages: number;
}

export const DEFAULT_PARSE_SETTINGS: ParseSettings = {
  threads: 0,
  memoryMB: 256,
  timeMs: 15_000,
  maxChars: 5_000_000,
  maxPages: 500,
};

/** Idle processes end after this long. */
const IDLE_MS = 30_000;
/** How often a parsing process's memory is read (elsewhere than Linux that runs `ps`: less often). */
const WATCH_MS = process.platform === 'linux' ? 25 : 250;
/** A parser process's own memory (Node and the parsers' code), beyond its document's budget. */
export const PROCESS_OVERHEAD_MB = 128;
/** A process that grew past its own memory plus this while parsing is ended rather than kept. */
const KEEP_GROWTH_MB = 48;
/** Documents of people that may wait for a process, in all and per owner; past these: busy. */
const MAX_WAITING = 32;
const MAX_WAITING_PER_OWNER = 3;
/** Lower than the bot's, so parsing never competes with answering for the CPU. */
const PRIORITY = 10;
const MB = 1_048_576;

/** Who a document is parsed for: a person (attachments, served fairly) or background work. */
export interface JobOwner {
  readonly lane: 'people' | 'background';
  /** Owners of one lane are served in turn (for people: platform, workspace and user). */
  readonly key: string;
}

export const BACKGROUND: JobOwner = { lane: 'background', key: 'background' };

/** Too many documents are waiting to be parsed: try again later. */
export class ParserBusyError extends Error {
  override readonly name = 'ParserBusyError';
}

/** The parse limits as the loaders take them. */
export function readLimits(settings: ParseSettings, overflow: ReadLimits['overflow']): ReadLimits {
  return { maxChars: settings.maxChars, maxPages: settings.maxPages, overflow };
}

/** Processes parsing at once: `threads`, or one fewer than the cores (at least one) when 0. */
export function parseProcesses(settings: Pick<ParseSettings, 'threads'>): number {
  return settings.threads > 0 ? settings.threads : Math.max(1, availableParallelism() - 1);
}

/** Where the child's code is: the TypeScript source under tsx (dev, tests), or the compiled file. */
function childEntry(): { path: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // No loader is inherited: the child gets tsx the way `npm run` gave it to this process.
    const tsx = pathToFileURL(createRequire(here).resolve('tsx')).href;
    return { path: fileURLToPath(new URL('./parse-child.ts', here)), execArgv: ['--import', tsx] };
  }
  return { path: fileURLToPath(new URL('./parse-child.js', here)), execArgv: [] };
}

type Stop = 'time' | 'memory';

class Stopped extends Error {
  constructor(readonly stop: Stop) {
    super(stop);
  }
}

/** One parser process: one document at a time. */
/** How long stopping waits for a killed parser process to be gone. */
const EXIT_WAIT_MS = 5_000;

class ParserProcess {
  readonly child: ChildProcess;
  private stderr = '';
  private ended = false;
  private lowest = Number.POSITIVE_INFINITY;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: ParseSettings,
    private readonly onEnd: (self: ParserProcess) => void,
    private readonly onMeasured: (residentBytes: number) => void,
  ) {
    const { path, execArgv } = childEntry();
    this.child = fork(path, [], {
      execArgv: [...execArgv, `--max-old-space-size=${settings.memoryMB}`, '--max-semi-space-size=4'],
      // No secret reaches a parser: the documents it reads are hostile.
      env: {},
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-4_096);
    });
    this.child.once('exit', () => this.end());
    this.child.on('error', () => this.end());
    if (this.child.pid !== undefined) {
      try {
        setPriority(this.child.pid, Math.min(osConstants.priority.PRIORITY_LOW, PRIORITY));
      } catch {
        // Not allowed here: the process runs at the bot's priority.
      }
    }
    this.idle();
  }

  get alive(): boolean {
    return !this.ended;
  }

  /** Parses `job`; rejects with `Stopped` past a budget, an Error when the process died, the signal's reason on abort. */
  async parse(job: ParseJob, signal: AbortSignal | undefined): Promise<JobResponse> {
    clearTimeout(this.idleTimer);
    this.handles('ref');
    const limit = (this.settings.memoryMB + PROCESS_OVERHEAD_MB) * MB;
    let timer: NodeJS.Timeout | undefined;
    let watcher: NodeJS.Timeout | undefined;
    // Set once the job is over: a measurement still under way then must not arm another, which
    // would re-arm itself until the idle process is killed (keeping a CLI alive for IDLE_MS).
    let over = false;
    let cleanup: () => void = () => undefined;
    try {
      return await new Promise<JobResponse>((resolve, reject) => {
        const onMessage = (response: JobResponse) => resolve(response);
        const onExit = () => {
          const outOfMemory = /heap out of memory|Reached heap limit|Allocation failed/i.test(this.stderr);
          reject(outOfMemory ? new Stopped('memory') : new Error('the document reader stopped unexpectedly'));
        };
        const onAbort = () => {
          this.kill();
          reject(signal?.reason ?? new Error('aborted'));
        };
        cleanup = () => {
          this.child.off('message', onMessage);
          this.child.off('close', onExit);
          signal?.removeEventListener('abort', onAbort);
        };
        if (this.ended) return onExit();
        if (signal?.aborted) return onAbort();
        this.child.on('message', onMessage);
        // 'close', not 'exit': the dying process's last words (out of memory) are read by then.
        this.child.once('close', onExit);
        signal?.addEventListener('abort', onAbort, { once: true });
        timer = setTimeout(() => {
          this.kill();
          reject(new Stopped('time'));
        }, this.settings.timeMs);
        const pid = this.child.pid;
        const watch = async () => {
          const rss = pid === undefined ? undefined : await residentBytes(pid);
          if (rss !== undefined) this.onMeasured(rss);
          if (rss !== undefined && rss > limit) {
            this.kill();
            reject(new Stopped('memory'));
            return;
          }
          if (!this.ended && !over) watcher = setTimeout(watch, WATCH_MS);
        };
        watcher = setTimeout(watch, WATCH_MS);
        this.child.send(job, undefined, {}, (error) => {
          if (error) reject(new Error(`the document reader could not be reached (${error.message})`));
        });
      });
    } finally {
      over = true;
      cleanup();
      clearTimeout(timer);
      clearTimeout(watcher);
      await this.afterJob();
    }
  }

  /** A process that grew while parsing is ended, giving its memory back; otherwise it waits for the next. */
  private async afterJob(): Promise<void> {
    if (this.ended) return;
    const pid = this.child.pid;
    const rss = pid === undefined ? undefined : await residentBytes(pid);
    if (rss !== undefined) {
      this.lowest = Math.min(this.lowest, rss);
      if (rss > this.lowest + KEEP_GROWTH_MB * MB) {
        this.kill();
        return;
      }
    }
    this.idle();
  }

  private idle(): void {
    this.handles('unref');
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.kill(), IDLE_MS);
    this.idleTimer.unref();
  }

  /** While a document is parsed the process keeps this one alive; idle, it never does. */
  private handles(how: 'ref' | 'unref'): void {
    this.child[how]();
    for (const handle of [this.child.channel, this.child.stderr] as (
      | { ref?: () => void; unref?: () => void }
      | null
      | undefined
    )[]) {
      handle?.[how]?.();
    }
  }

  kill(): void {
    if (!this.ended) this.child.kill('SIGKILL');
    this.end();
  }

  /**
   * Resolves once the process has exited, or after EXIT_WAIT_MS. An idle process's handles are
   * unreferenced, so waiting on its 'exit' alone keeps nothing alive: a caller awaiting this at
   * shutdown (the terminal's last `await bot.stop()`) would see its process end with the promise
   * unsettled. The timer, referenced, holds the event loop until the exit arrives.
   */
  exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const givenUp = setTimeout(resolve, EXIT_WAIT_MS);
      this.child.once('exit', () => {
        clearTimeout(givenUp);
        resolve();
      });
    });
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.idleTimer);
    this.onEnd(this);
  }
}

interface Waiter {
  readonly owner: JobOwner;
  readonly grant: () => void;
  readonly fail: (error: unknown) => void;
}

/** A held place to parse in: obtained before a download, so nothing is fetched that could not be parsed. */
export interface ParseLease {
  run<J extends ParseJob>(job: J, signal?: AbortSignal): Promise<JobResult<J>>;
  release(): void;
}

export class ParsePool {
  private readonly processes = new Set<ParserProcess>();
  private readonly idle: ParserProcess[] = [];
  private readonly running = { people: 0, background: 0 };
  /** People's documents waiting, per owner, and the owners in the order they are served. */
  private readonly people = new Map<string, Waiter[]>();
  private readonly background: Waiter[] = [];
  private peopleWaiting = 0;
  /** Documents parsed, those stopped at a budget, and the most memory a parser process was seen with (for tests and metrics). */
  readonly counts = { parsed: 0, stopped: 0, peakResidentBytes: 0 };
  readonly slots: number;

  constructor(readonly settings: ParseSettings = DEFAULT_PARSE_SETTINGS) {
    this.slots = parseProcesses(settings);
  }

  /** Parser processes running now (0 until the first document). */
  get workers(): number {
    return this.processes.size;
  }

  /** People's documents waiting for a process. */
  get waiting(): number {
    return this.peopleWaiting;
  }

  /** Parses `job` in a parser process; throws `TooLargeError` past a budget and `IngestFileError` for a bad file. */
  async run<J extends ParseJob>(
    job: J,
    options: { owner?: JobOwner; signal?: AbortSignal } = {},
  ): Promise<JobResult<J>> {
    const lease = await this.lease(options.owner ?? BACKGROUND, options.signal);
    try {
      return await lease.run(job, options.signal);
    } finally {
      lease.release();
    }
  }

  /**
   * Waits for a free process for `owner` and holds it until released. A person's document is
   * refused at once with `ParserBusyError` when too many wait already.
   */
  lease(owner: JobOwner = BACKGROUND, signal?: AbortSignal): Promise<ParseLease> {
    signal?.throwIfAborted();
    return new Promise<ParseLease>((resolve, reject) => {
      let granted = false;
      const waiter: Waiter = {
        owner,
        grant: () => {
          granted = true;
          signal?.removeEventListener('abort', onAbort);
          resolve(this.leaseFor(owner));
        },
        fail: reject,
      };
      const onAbort = () => {
        if (granted) return;
        this.forget(waiter);
        reject(signal?.reason);
      };
      if (owner.lane === 'people') {
        const queue = this.people.get(owner.key) ?? [];
        // Queues fill only while every process is busy: a free one takes the document at once.
        if (this.peopleWaiting >= MAX_WAITING || queue.length >= MAX_WAITING_PER_OWNER) {
          reject(new ParserBusyError('too many documents are waiting to be read'));
          return;
        }
        queue.push(waiter);
        this.people.set(owner.key, queue);
        this.peopleWaiting += 1;
      } else {
        this.background.push(waiter);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.dispatch();
    });
  }

  private free(): number {
    return this.slots - this.running.people - this.running.background;
  }

  /** Hands free places out: people first, one owner after another; background work never takes the last place while there is more than one. */
  private dispatch(): void {
    while (this.free() > 0) {
      const next = this.nextPerson();
      if (next) {
        this.running.people += 1;
        next.grant();
        continue;
      }
      const backgroundCap = this.slots > 1 ? this.slots - 1 : 1;
      if (this.background.length > 0 && this.running.background < backgroundCap) {
        this.running.background += 1;
        this.background.shift()?.grant();
        continue;
      }
      break;
    }
  }

  private nextPerson(): Waiter | undefined {
    for (const [key, queue] of this.people) {
      const waiter = queue.shift();
      this.people.delete(key);
      // The owner goes to the back of the turn order, with what it still has waiting.
      if (queue.length > 0) this.people.set(key, queue);
      if (waiter) {
        this.peopleWaiting -= 1;
        return waiter;
      }
    }
    return undefined;
  }

  private forget(waiter: Waiter): void {
    if (waiter.owner.lane === 'background') {
      const at = this.background.indexOf(waiter);
      if (at !== -1) this.background.splice(at, 1);
      return;
    }
    const queue = this.people.get(waiter.owner.key);
    const at = queue?.indexOf(waiter) ?? -1;
    if (!queue || at === -1) return;
    queue.splice(at, 1);
    this.peopleWaiting -= 1;
    if (queue.length === 0) this.people.delete(waiter.owner.key);
  }

  private leaseFor(owner: JobOwner): ParseLease {
    let released = false;
    return {
      run: (job, signal) => {
        if (released) throw new Error('the parse lease was released');
        return this.parse(job, signal) as Promise<JobResult<typeof job>>;
      },
      release: () => {
        if (released) return;
        released = true;
        this.running[owner.lane === 'people' ? 'people' : 'background'] -= 1;
        this.dispatch();
      },
    };
  }

  private process(): ParserProcess {
    for (;;) {
      const idle = this.idle.pop();
      if (!idle) break;
      if (idle.alive) return idle;
    }
    const created = new ParserProcess(
      this.settings,
      (ended) => {
        this.processes.delete(ended);
        const at = this.idle.indexOf(ended);
        if (at !== -1) this.idle.splice(at, 1);
      },
      (bytes) => {
        this.counts.peakResidentBytes = Math.max(this.counts.peakResidentBytes, bytes);
      },
    );
    this.processes.add(created);
    return created;
  }

  private async parse(job: ParseJob, signal: AbortSignal | undefined): Promise<unknown> {
    const parser = this.process();
    let response: JobResponse;
    try {
      response = await parser.parse(job, signal);
    } catch (error) {
      if (!(error instanceof Stopped)) throw error;
      this.counts.stopped += 1;
      const { timeMs, memoryMB } = this.settings;
      throw error.stop === 'time'
        ? new ParseBudgetError(
            `too large or complex: reading it took longer than ${timeMs / 1000} s (PARSE_TIME_LIMIT_MS)`,
            'time',
            timeMs / 1000,
          )
        : new ParseBudgetError(
            `too large or complex: reading it needed more than ${memoryMB} MB of memory (PARSE_MEMORY_MB)`,
            'memory',
            memoryMB,
          );
    } finally {
      if (parser.alive) this.idle.push(parser);
    }
    this.counts.parsed += 1;
    if (response.ok) return response.value;
    if (response.problem === 'too_large') throw new TooLargeError(response.message);
    if (response.problem === 'file') throw new IngestFileError(response.message);
    throw new Error(response.message);
  }

  /** Ends every process (tests, and processes that want to exit at once). */
  async close(): Promise<void> {
    const all = [...this.processes];
    for (const parser of all) parser.kill();
    await Promise.all(all.map((parser) => parser.exited()));
  }
}

let shared: ParsePool | undefined;
let sharedSettings: ParseSettings = DEFAULT_PARSE_SETTINGS;

/** Sets the process's parse limits (from configuration, at start-up); before the first document. */
export function configureParsing(settings: ParseSettings): void {
  sharedSettings = settings;
  if (shared && shared.workers === 0) shared = undefined;
}

/** The process's pool, created on first use. */
export function parsePool(): ParsePool {
  shared ??= new ParsePool(sharedSettings);
  return shared;
}
