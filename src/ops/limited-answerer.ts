/**
 * Protects the bot and the Groq quota: per-user and per-channel question rates (through the
 * RateLimiter interface, so several instances can share counters in Redis), and a cap on
 * answers generated at once with a bounded queue. Beyond the queue a question gets "busy"
 * at once instead of piling up behind the others.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { failures } from '../core/failures.js';
import type { Admission, AdmissionTicket, AnswerEvent, Answerer, Question, Turn } from '../core/types.js';
import type { RateLimiter } from './shared-state.js';

export interface LimitOptions {
  /** Questions per user per minute; 0 disables the limit. */
  readonly userPerMinute: number;
  /** Questions per channel per minute; 0 disables the limit. */
  readonly channelPerMinute: number;
  readonly maxConcurrent: number;
  /** Questions that may wait for a free slot; beyond this they are told the bot is busy. */
  readonly maxQueued: number;
}

const MINUTE = 60_000;

export class LimitedAnswerer implements Answerer {
  private readonly slots: LimitFunction;
  /** Tickets of admitted questions: each holds a slot until released. */
  private readonly admitted = new WeakSet<AdmissionTicket>();

  constructor(
    private readonly inner: Answerer,
    private readonly rates: RateLimiter,
    private readonly options: LimitOptions,
  ) {
    this.slots = pLimit(options.maxConcurrent);
  }

  /**
   * Checks the rates and the queue now and waits for a slot, which the ticket holds until it is
   * released: a question's files are downloaded and read only once it may be answered.
   */
  async admit(question: Question): Promise<Admission> {
    const refusal = question.text.trim() ? await this.checkRates(question) : undefined;
    if (refusal !== undefined) return { ok: false, failure: failures.slowDown(refusal) };
    if (this.full()) return { ok: false, failure: failures.busy() };
    let free: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      free = resolve;
    });
    const started = new Promise<void>((resolve) => {
      void this.slots(() => {
        resolve();
        return held;
      });
    });
    const signal = question.signal;
    const aborted = signal
      ? new Promise<'aborted'>((resolve) => {
          if (signal.aborted) resolve('aborted');
          signal.addEventListener('abort', () => resolve('aborted'), { once: true });
        })
      : undefined;
    // A question abandoned while it waits gives its turn back (the slot ends as soon as it starts).
    if ((await Promise.race([started, ...(aborted ? [aborted] : [])])) === 'aborted') {
      free();
      return { ok: false, failure: failures.interrupted('') };
    }
    let released = false;
    const ticket: AdmissionTicket = {
      release: () => {
        if (released) return;
        released = true;
        free();
      },
    };
    this.admitted.add(ticket);
    return { ok: true, ticket };
  }

  private full(): boolean {
    return (
      this.slots.pendingCount >= this.options.maxQueued &&
      this.slots.activeCount >= this.options.maxConcurrent
    );
  }

  async *answer(question: Question, history: readonly Turn[] = []): AsyncGenerator<AnswerEvent> {
    if (question.admission && this.admitted.has(question.admission)) {
      // Checked and holding its slot since admission.
      const { admission: _ticket, ...rest } = question;
      yield* this.inner.answer(rest, history);
      return;
    }
    // Empty or over-long questions are refused by the core without cost; do not count them.
    if (question.text.trim()) {
      const refusal = await this.checkRates(question);
      if (refusal !== undefined) {
        yield { type: 'failure', failure: failures.slowDown(refusal) };
        return;
      }
    }
    if (this.full()) {
      yield { type: 'failure', failure: failures.busy() };
      return;
    }
    // Hold a slot for the whole answer: the generator runs inside it, events flow out through a queue.
    const events: AnswerEvent[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: unknown;
    const running = this.slots(async () => {
      try {
        for await (const event of this.inner.answer(question, history)) {
          events.push(event);
          wake?.();
        }
      } catch (error) {
        failure = error;
      } finally {
        finished = true;
        wake?.();
      }
    });
    while (true) {
      const next = events.shift();
      if (next) {
        yield next;
        continue;
      }
      if (finished) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    await running;
    if (failure) throw failure;
  }

  /**
   * Seconds to wait when a limit is exceeded, otherwise undefined. The user's limit is checked
   * first and the channel's only if it passes: a question refused for its asker spends nothing
   * of the channel's budget, so one user flooding a channel cannot lock everyone else out.
   */
  private async checkRates(question: Question): Promise<number | undefined> {
    if (this.options.userPerMinute > 0 && question.asker) {
      const user = await this.rates.hit(
        `user:${question.place.platform}:${question.asker.id}`,
        this.options.userPerMinute,
        MINUTE,
      );
      if (!user.allowed) return toSeconds(user.retryAfterMs);
    }
    if (this.options.channelPerMinute > 0 && question.place.channelId) {
      const channel = await this.rates.hit(
        `channel:${question.place.platform}:${question.place.channelId}`,
        this.options.channelPerMinute,
        MINUTE,
      );
      if (!channel.allowed) return toSeconds(channel.retryAfterMs);
    }
    return undefined;
  }
}

const toSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));
