/**
 * The answer recorder the conversation layer reports to: turns each answer's summary into a
 * stored record (question text only when RECORD_TEXT allows, otherwise a hash), asks the
 * platform for a link to the thread afterwards, and stores votes, reasons and hand-offs.
 * A failing write is logged and forgotten: recording never gets in the way of answering.
 */
import type {
  AnswerRecorder,
  AnswerSummary,
  EscalationRecord,
  FeedbackRecord,
} from '../conversation/recording.js';
import type { Logger } from '../log.js';
import type { Pseudonymize } from './pseudonyms.js';
import { type AnswerRecords, questionHash, type StoredAnswer } from './store.js';

export interface RecorderOptions {
  /** RECORD_TEXT: keep the question's wording (and the standalone question). */
  readonly keepText: boolean;
  readonly log: Logger;
  readonly now?: () => number;
}

export function toStoredAnswer(
  summary: AnswerSummary,
  keepText: boolean,
  pseudonym: Pseudonymize,
): StoredAnswer {
  const { place, timings } = summary;
  return {
    questionId: summary.questionId,
    askedAt: summary.askedAt,
    platform: place.platform,
    ...(place.workspaceId ? { workspaceId: place.workspaceId } : {}),
    ...(place.channelId ? { channelId: place.channelId } : {}),
    ...(place.threadId ? { threadId: place.threadId } : {}),
    direct: place.direct ?? false,
    askerId: pseudonym(summary.asker.id),
    ...(keepText ? { question: summary.question } : {}),
    questionHash: questionHash(summary.question),
    ...(keepText && summary.standaloneQuestion ? { standalone: summary.standaloneQuestion } : {}),
    ...(summary.via ? { via: summary.via } : {}),
    outcome: summary.outcome,
    ...(summary.mode ? { mode: summary.mode } : {}),
    degraded: summary.degraded,
    sources: summary.sources.map((source) => ({
      id: source.passageId,
      title: source.title,
      ...(source.url ? { url: source.url } : {}),
    })),
    timings: {
      ...(timings.condenseMs !== undefined ? { condenseMs: timings.condenseMs } : {}),
      ...(timings.retrievalMs !== undefined ? { retrievalMs: timings.retrievalMs } : {}),
      ...(timings.firstTokenMs !== undefined ? { firstTokenMs: timings.firstTokenMs } : {}),
      ...(timings.totalMs !== undefined ? { totalMs: timings.totalMs } : {}),
    },
  };
}

export class StoreRecorder implements AnswerRecorder {
  private readonly now: () => number;
  /** Writes and look-ups still running, so tests and shutdown can wait for them. */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly store: AnswerRecords,
    private readonly options: RecorderOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  answered(summary: AnswerSummary): void {
    const saved = this.attempt('answer', () =>
      this.store.saveAnswer(toStoredAnswer(summary, this.options.keepText, this.store.pseudonym)),
    );
    this.later(saved, summary.questionId, 'could not record the answer');
    const { link, audience } = summary;
    if (link) {
      this.later(
        Promise.all([saved, link()]).then(async ([stored, found]) => {
          if (stored && found)
            await this.attempt('link', () => this.store.setLink(summary.questionId, found));
        }),
        summary.questionId,
        'no link to the thread',
      );
    }
    if (audience && !summary.place.direct) {
      this.later(
        Promise.all([saved, audience()]).then(async ([stored, seen]) => {
          if (stored) await this.attempt('audience', () => this.store.setAudience(summary.questionId, seen));
        }),
        summary.questionId,
        'could not tell who can see the conversation; the digest leaves it out',
      );
    }
  }

  /** Runs a write or look-up after the answer; `settled()` waits for it, a failure is logged. */
  private later(work: Promise<unknown>, questionId: string, failed: string): void {
    const running: Promise<void> = work
      .then(() => undefined)
      .catch((error: unknown) => this.options.log.debug({ err: error, questionId }, failed))
      .finally(() => this.pending.delete(running));
    this.pending.add(running);
  }

  feedback(record: FeedbackRecord): void {
    const voting = this.attempt('vote', async () => {
      const kept = await this.store.saveVote({
        questionId: record.questionId,
        platform: record.place.platform,
        userId: this.store.pseudonym(record.userId),
        vote: record.vote,
        ...(record.reason ? { reason: record.reason } : {}),
        at: this.now(),
      });
      if (!kept) this.options.log.debug({ questionId: record.questionId }, 'vote on an unrecorded answer');
    });
    this.later(voting, record.questionId, 'could not record the vote');
  }

  escalated(record: EscalationRecord): void {
    this.later(
      this.attempt('hand-off', () => this.store.markEscalated(record.questionId, this.now())),
      record.questionId,
      'could not record the hand-off',
    );
  }

  /** Resolves once every write and look-up started so far has finished. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** A failing write is logged and forgotten (recording never gets in the way): true when it landed. */
  private async attempt(what: string, write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (error) {
      this.options.log.warn({ err: error }, `could not record the ${what}`);
      return false;
    }
  }
}
