/**
 * An answer survives its instance (DATABASE_URL): every answer this process writes is recorded
 * with a heartbeat, and every process takes over the answers of an instance that fell silent.
 *
 * Timing: each process renews all its answers in one query every third of ANSWER_TAKEOVER_MS
 * and looks for silent ones as often; an answer is taken over once its instance missed about
 * three heartbeats in a row, so a process merely slowed down (a long pause, a slow database)
 * keeps its answers. A claim is one atomic update, so two survivors never finish one answer.
 *
 * Never two writers: an instance cut off from the database (a partition, an outage) cannot
 * know whether its answers were taken over. So each answer writes to its message only while
 * its ownership was confirmed (the sending of its last successful heartbeat, begin or claim)
 * less than two thirds of ANSWER_TAKEOVER_MS ago; after that its writes wait, text kept, for
 * the next heartbeat: still its own, it goes on where it was; taken, it stops. Another
 * instance claims only a full ANSWER_TAKEOVER_MS after the database last renewed the record,
 * which is after that sending, so the paused instance has stopped writing a third of it before.
 *
 * Stopping (SIGTERM): the process stops taking answers over, keeps its heartbeat while its own
 * answers finish within the grace period, and gives back those it had to interrupt, so another
 * instance (or this one, restarted) finishes them.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { HandoverData } from '../conversation/conversation.js';
import { type Logger, silentLogger } from '../log.js';
import {
  type InFlightAnswer,
  type InFlightStore,
  type NewInFlightAnswer,
  RecordNotWritten,
} from './types.js';

export interface AnswerHandoverOptions {
  readonly store: InFlightStore;
  /** Silence after which another instance takes an answer over (ANSWER_TAKEOVER_MS). */
  readonly takeoverMs: number;
  /** Names this process in the records; default host, pid and a random suffix. */
  readonly instanceId?: string;
  readonly log?: Logger;
  /**
   * Takeovers of one answer before the next instance ends it with an apology instead of trying
   * again: a question that brings down every instance answering it must not bring down them all.
   */
  readonly maxAttempts?: number;
  /**
   * The time (ms) by which this process measures how long ago an answer's ownership was
   * confirmed; monotonic by default, so a wall clock set back cannot stretch the pause.
   */
  readonly now?: () => number;
}

/** Finishes, here, an answer another instance began; given the claimed record and its handle. */
export type ResumeAnswer = (answer: InFlightAnswer, handle: HandoverHandle) => Promise<void>;

/** Records nobody could finish are forgotten after a day (a platform no instance runs any more). */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;
/** Answers taken over per look, so one instance does not take on a dead one's whole load at once. */
const CLAIMS_PER_LOOK = 8;

export type AnswerEnd = 'finished' | 'interrupted';

/** One answer's record, as the process writing it holds it. */
export class HandoverHandle {
  private readonly controller = new AbortController();
  /** Every write of this record, in order (begin, locations, end). */
  private chain: Promise<unknown>;
  private lastLocation: string | undefined;
  /** Where the reply is, kept while the record is unwritten, to write if it turns out to exist. */
  private unrecordedLocation: HandoverData | undefined;
  private ended = false;
  /** Its record is in the database: only then does the heartbeat renew it. */
  recorded = false;
  /**
   * Writing its record failed (the database unreachable as the answer began): the answer goes
   * on unrecorded. The insert may still have landed (its reply lost, or a slow server finishing
   * it after this process gave up), so heartbeats look for it: found as ours, the answer is
   * recorded from then on; not found, it stays as it is (a renewal finding no record is not a
   * takeover here). Its end is written all the same.
   */
  unrecorded = false;
  /**
   * Whether an unrecorded answer's record may exist all the same (the insert was sent, its
   * outcome unknown): until a heartbeat tells, it pauses as a recorded one does, since another
   * instance could claim such a record. Certainly unwritten, it is never paused (nothing to claim).
   */
  private maybeRecorded = false;
  /** How the record ends, while that is still to be written. */
  private pendingEnd: 'finish' | 'release' | undefined;
  /** When (tracker's clock) the last query that confirmed this answer as ours was sent. */
  private confirmedAt: number;
  /** Writes waiting for a heartbeat: true once confirmed, false once lost. */
  private waiting: ((writable: boolean) => void)[] = [];

  constructor(
    private readonly tracker: AnswerHandover,
    readonly questionId: string,
    start: Promise<void>,
    sentAt: number,
  ) {
    this.chain = start;
    this.confirmedAt = sentAt;
  }

  /** Aborted when another instance has taken the answer over: stop writing to it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): boolean {
    return this.controller.signal.aborted;
  }

  /**
   * Whether this process may write to the answer's message now: its ownership was confirmed
   * recently enough that no other instance can have claimed it. An answer whose record could
   * not be written has nothing to be claimed, and writes on.
   */
  get writable(): boolean {
    if (this.lost) return false;
    if (this.unrecorded && !this.maybeRecorded) return true;
    return this.tracker.now() - this.confirmedAt <= this.tracker.fenceMs;
  }

  /** Whether writes are waiting for a heartbeat to confirm the answer is still this process's. */
  get paused(): boolean {
    return this.waiting.length > 0;
  }

  /**
   * Resolves when the answer may be written to: at once if its ownership is fresh, else after
   * the heartbeat that confirms it (true) or finds it taken (false). Never rejects.
   */
  whenWritable(): Promise<boolean> {
    if (this.writable) return Promise.resolve(true);
    if (this.lost) return Promise.resolve(false);
    if (this.waiting.length === 0)
      this.tracker.log.warn(
        { questionId: this.questionId },
        "no heartbeat has reached PostgreSQL for two thirds of ANSWER_TAKEOVER_MS: this answer waits, its text kept, until one says it is still this instance's",
      );
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** @internal A query sent at `sentAt` found the answer still ours. */
  confirm(sentAt: number): void {
    if (sentAt > this.confirmedAt) this.confirmedAt = sentAt;
    if (this.waiting.length === 0 || !this.writable) return;
    this.tracker.log.info(
      { questionId: this.questionId },
      "answer confirmed as this instance's again; going on",
    );
    this.wake(true);
  }

  private wake(writable: boolean): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve(writable);
  }

  /** Whether an interruption now gives the answer back for another instance to finish (stopping). */
  get givenBackIfInterrupted(): boolean {
    return this.tracker.stopping && !this.lost;
  }

  /** The reply's message, as soon as it exists and whenever it changes. */
  located(where: HandoverData | undefined): void {
    if (!where || this.ended || this.lost) return;
    if (this.unrecorded) {
      this.unrecordedLocation = where;
      return;
    }
    const key = JSON.stringify(where);
    if (key === this.lastLocation) return;
    this.lastLocation = key;
    this.queue(async (store, owner) => {
      // Its insert failed meanwhile: kept for the record, should it turn out to exist.
      if (this.unrecorded) {
        this.unrecordedLocation = where;
        return;
      }
      if (!(await store.located(this.questionId, owner, where))) this.lose();
    });
  }

  /**
   * The answer ended. `interrupted` while this process is stopping: given back for another
   * instance to finish; otherwise the record goes. If the database cannot take that now, the
   * record keeps its heartbeat and the end is written again with each heartbeat until it can,
   * so an answer already given is never taken over once the database is back.
   */
  async end(how: AnswerEnd): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.lost) {
      this.tracker.forget(this);
      return;
    }
    this.pendingEnd = how === 'interrupted' && this.tracker.stopping ? 'release' : 'finish';
    await this.writeEnd();
  }

  /** Whether the answer has ended but its record still waits for the database. */
  get ending(): boolean {
    return this.pendingEnd !== undefined;
  }

  /** @internal Writes the end of the record, if it is still to write; true once written. */
  async writeEnd(): Promise<boolean> {
    const end = this.pendingEnd;
    if (!end) return true;
    let written = false;
    this.queue(async (store, owner) => {
      await (end === 'release'
        ? store.release(this.questionId, owner)
        : store.finish(this.questionId, owner));
      written = true;
    });
    await this.chain;
    if (written) {
      this.pendingEnd = undefined;
      this.tracker.forget(this);
    }
    return written;
  }

  /**
   * @internal Writing its record failed: `certainly` when it was not written (writes held while
   * that was unknown go on), otherwise it may exist and the answer keeps pausing as a recorded one.
   */
  notRecorded(certainly: boolean): void {
    this.unrecorded = true;
    this.maybeRecorded = !certainly;
    if (certainly && this.waiting.length > 0) this.wake(true);
  }

  /**
   * @internal A heartbeat sent at `sentAt` did not find the record of an unrecorded answer as
   * this process's. If the record may exist and has gone unconfirmed long enough to be claimed,
   * another instance may own it now: lost, as a recorded answer would be. Otherwise there is no
   * record to claim, and the answer writes on.
   */
  notFound(sentAt: number): void {
    if (!this.maybeRecorded) return;
    if (sentAt - this.confirmedAt > this.tracker.fenceMs) {
      this.lose();
      return;
    }
    this.maybeRecorded = false;
    if (this.waiting.length > 0) this.wake(true);
  }

  /** @internal A heartbeat found the record of an unrecorded answer after all (sent at `sentAt`). */
  foundRecorded(sentAt: number): void {
    this.unrecorded = false;
    this.maybeRecorded = false;
    this.recorded = true;
    this.confirm(sentAt);
    const where = this.unrecordedLocation;
    this.unrecordedLocation = undefined;
    this.lastLocation = undefined;
    if (!this.ended) this.located(where);
  }

  /** Another instance owns the answer now. */
  lose(): void {
    if (this.lost) return;
    this.controller.abort(new Error('answer taken over by another instance'));
    this.wake(false);
    // Renewed no more, whether its end was already waiting for the database or not.
    this.pendingEnd = undefined;
    this.tracker.forget(this);
    if (this.ended) return;
    this.tracker.log.warn(
      { questionId: this.questionId },
      'another instance took this answer over (this one was silent too long); no longer writing it',
    );
  }

  private queue(work: (store: InFlightStore, owner: string) => Promise<unknown>): void {
    this.chain = this.chain
      .then(() => work(this.tracker.store, this.tracker.instanceId))
      .catch((error: unknown) => this.tracker.failed(error));
  }
}

export class AnswerHandover {
  readonly instanceId: string;
  readonly store: InFlightStore;
  readonly log: Logger;
  readonly maxAttempts: number;
  private readonly handles = new Map<string, HandoverHandle>();
  private timer: NodeJS.Timeout | undefined;
  private resume: ResumeAnswer | undefined;
  private platforms: () => readonly string[] = () => [];
  private ticking: Promise<void> | undefined;
  private down = false;
  private lastFailure = Number.NEGATIVE_INFINITY;
  private lastPrune = Number.NEGATIVE_INFINITY;
  /** Set once the process is stopping: no more takeovers; interrupted answers are given back. */
  stopping = false;

  readonly now: () => number;

  constructor(private readonly options: AnswerHandoverOptions) {
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
    this.store = options.store;
    this.log = (options.log ?? silentLogger).child({ component: 'handover' });
    this.maxAttempts = options.maxAttempts ?? 2;
    this.instanceId = options.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  /** How often the heartbeat runs and silent answers are looked for. */
  get intervalMs(): number {
    return Math.max(100, Math.floor(this.options.takeoverMs / 3));
  }

  /**
   * How long after its last confirmation an answer may still be written to: two thirds of the
   * takeover time, leaving a third for a write under way to land before anyone may claim it.
   */
  get fenceMs(): number {
    return Math.floor((this.options.takeoverMs * 2) / 3);
  }

  /** Answers whose writes wait for a heartbeat to confirm they are still this process's. */
  get paused(): number {
    return [...this.handles.values()].filter((handle) => handle.paused).length;
  }

  /** Whether the heartbeat runs: answers are recorded only then (a record nobody renews would be taken over). */
  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Answers this process is writing and still owns. */
  get active(): number {
    return this.handles.size;
  }

  /** Records an answer this process begins. Never throws: an answer not recorded is answered all the same. */
  begin(answer: NewInFlightAnswer): HandoverHandle {
    // Any record this writes is renewed by the database after this moment.
    const sentAt = this.now();
    const recording = this.store.begin(answer, this.instanceId).then(
      () => {
        handle.recorded = true;
        handle.confirm(sentAt);
      },
      (error: unknown) => {
        this.failed(error);
        handle.notRecorded(error instanceof RecordNotWritten);
      },
    );
    const handle: HandoverHandle = new HandoverHandle(this, answer.questionId, recording, sentAt);
    this.handles.set(answer.questionId, handle);
    return handle;
  }

  /** A handle on an answer this process claimed from a silent instance, by a claim sent at `sentAt`. */
  adopt(answer: InFlightAnswer, sentAt = this.now()): HandoverHandle {
    const handle = new HandoverHandle(this, answer.questionId, Promise.resolve(), sentAt);
    handle.recorded = true;
    this.handles.set(answer.questionId, handle);
    return handle;
  }

  /** Renews every answer this process owns in one query; those another instance took are lost. */
  async heartbeat(): Promise<void> {
    // Not a record whose insert is still on its way: not finding it would not mean it was taken.
    const ids = [...this.handles.values()]
      .filter((handle) => handle.recorded || handle.unrecorded)
      .map((h) => h.questionId);
    if (ids.length === 0) return;
    let owned: Set<string>;
    // The database renews the records after this moment: ownership is confirmed as of now.
    const sentAt = this.now();
    try {
      owned = await this.store.heartbeat(this.instanceId, ids);
      this.worked();
    } catch (error) {
      // Unknown is not lost: the answers go on, and the next heartbeat tells.
      this.failed(error);
      return;
    }
    for (const id of ids) {
      const handle = this.handles.get(id);
      if (!handle) continue;
      if (owned.has(id)) {
        if (handle.unrecorded) handle.foundRecorded(sentAt);
        else handle.confirm(sentAt);
        if (handle.ending) await handle.writeEnd();
      } else if (handle.recorded) handle.lose();
      else {
        // Unrecorded and not found: nothing to renew or claim; once ended, nothing to end either.
        handle.notFound(sentAt);
        if (handle.ending) this.forget(handle);
      }
    }
  }

  /** Takes over the answers of silent instances, handing each to `resume`; returns how many. */
  async takeOver(): Promise<number> {
    const resume = this.resume;
    const platforms = this.platforms();
    if (!resume || this.stopping || platforms.length === 0) return 0;
    // Just after an outage every instance's records look silent: their owners get one takeover
    // period to renew them (or write the ends they could not) before anything is taken over.
    if (this.now() - this.lastFailure < this.options.takeoverMs) return 0;
    let taken = 0;
    try {
      for (; taken < CLAIMS_PER_LOOK && !this.stopping; taken++) {
        const sentAt = this.now();
        const answer = await this.store.claimStale(this.instanceId, platforms, this.options.takeoverMs);
        if (!answer) break;
        this.log.info(
          { questionId: answer.questionId, platform: answer.platform, attempt: answer.attempts },
          'finishing an answer whose instance fell silent',
        );
        const handle = this.adopt(answer, sentAt);
        void resume(answer, handle).catch((error: unknown) => {
          this.log.error(
            { err: error, questionId: answer.questionId },
            'could not finish a taken-over answer',
          );
          return handle.end('finished');
        });
      }
      if (this.now() - this.lastPrune > 60 * 60 * 1000) {
        this.lastPrune = this.now();
        await this.store.prune(FORGET_AFTER_MS);
      }
      this.worked();
    } catch (error) {
      this.failed(error);
    }
    return taken;
  }

  /**
   * Runs the heartbeat and the takeovers on a timer that never keeps the process alive;
   * `platforms` are those this process can write to (a resumer registered for each).
   */
  start(resume: ResumeAnswer, platforms: () => readonly string[]): void {
    this.resume = resume;
    this.platforms = platforms;
    if (this.timer) return;
    const tick = () => {
      this.ticking ??= (async () => {
        await this.heartbeat();
        await this.takeOver();
      })().finally(() => {
        this.ticking = undefined;
      });
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  /** Stopping: no more takeovers; answers interrupted from now on are given back. */
  stopTakingOver(): void {
    this.stopping = true;
  }

  /** After the drain: the heartbeat stops and answers still open are given back. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await Promise.all(
      [...this.handles.values()].map((handle) =>
        handle.ending ? handle.writeEnd() : handle.end('interrupted'),
      ),
    );
  }

  /** @internal A handle that ended. */
  forget(handle: HandoverHandle): void {
    if (this.handles.get(handle.questionId) === handle) this.handles.delete(handle.questionId);
  }

  /** @internal The database refused or was unreachable: logged once per outage. */
  failed(error: unknown): void {
    this.lastFailure = this.now();
    if (this.down) return;
    this.down = true;
    this.log.warn(
      { err: error },
      'PostgreSQL unavailable for answers in flight: answers go on, but one whose instance dies meanwhile is not finished by another',
    );
  }

  private worked(): void {
    if (!this.down) return;
    this.down = false;
    this.log.info('PostgreSQL is back; answers in flight are recorded again');
  }
}
