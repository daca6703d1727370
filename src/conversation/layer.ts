/**
 * The policies every front end shares, applied in one order for every question: drop a
 * repeated delivery of the same platform event, refuse places the bot is not enabled in,
 * refuse an empty or over-long question before anything is posted, then answer. Rate limits,
 * the concurrency cap and draining wrap the answerer itself (src/app/guarded.ts), so they
 * hold for every front end too; they are asked first (`admit`), so a question they refuse
 * downloads and parses none of its files, and a question being read counts as in flight for
 * shutdown. Feedback is recorded here, the same way for all.
 */
import { createHash, randomUUID } from 'node:crypto';
import { failures } from '../core/failures.js';
import type { AdmissionTicket, Answerer, Place } from '../core/types.js';
import type { AnswerHandover, HandoverHandle } from '../handover/tracker.js';
import type { InFlightAnswer } from '../handover/types.js';
import type { ParsePool } from '../ingest/parse-pool.js';
import type { Logger } from '../log.js';
import type { DedupeStore, RateLimiter } from '../ops/shared-state.js';
import type { EditClock } from '../render/throttled-edits.js';
import { type AnswerOptions, type AnswerOutcome, answerInConversation } from './answer.js';
import { LruReadFileCache, type ReadFileCache } from './attachment-cache.js';
import {
  type AttachmentLimits,
  type AttachmentNote,
  DEFAULT_ATTACHMENT_LIMITS,
  type ReadAttachments,
  readAttachments,
} from './attachments.js';
import type { Conversation, HandoverData } from './conversation.js';
import { hasVisibleText, withoutControls } from './question-text.js';
import type { AnswerRecorder, EscalationRecord } from './recording.js';
import { strings } from './strings.js';

/** Platforms redeliver events they think were missed (Slack for up to an hour). */
const DEDUPE_TTL_MS = 60 * 60 * 1000;
/** A problem with a file earlier in a thread is said once, not again on every follow-up. */
const FILE_NOTE_TTL_MS = 24 * 60 * 60 * 1000;
/** One "Ask a human" ping per answer within this time, however often the button is clicked. */
const ESCALATION_TTL_MS = 24 * 60 * 60 * 1000;
/** A 👎 reason is one line; longer text is cut here, once, for every front end. */
export const MAX_REASON_CHARS = 300;

export interface ConversationLayerOptions {
  readonly answerer: Answerer;
  readonly log: Logger;
  readonly dedupe: DedupeStore;
  /** RAG_MAX_QUESTION_CHARS: checked before a question is echoed anywhere. */
  readonly maxQuestionChars: number;
  /** Limits on files attached to questions (ATTACHMENT_MAX_MB, ATTACHMENT_MAX_TOKENS). */
  readonly attachments?: AttachmentLimits;
  readonly clock?: EditClock;
  /** Keeps a record of every answer, vote and hand-off (src/records); none when absent. */
  readonly recorder?: AnswerRecorder;
  /**
   * Limits on "Ask a human" (ESCALATION_*_PER_HOUR), counted in `rates` (shared through Redis
   * with REDIS_URL, like the question limits). Unset: one ping per answer is the only limit.
   */
  readonly escalations?: { readonly rates: RateLimiter } & EscalationLimits;
  /** Where attached files are parsed (default: the process's pool). */
  readonly parser?: ParsePool;
  /** What files read in a thread became, for its follow-ups (default: an in-memory LRU). */
  readonly fileCache?: ReadFileCache;
  /**
   * Answers in flight shared with the other instances (DATABASE_URL): each answer is recorded
   * with a heartbeat, and answers whose instance died are finished here (see src/handover).
   */
  readonly handover?: AnswerHandover;
}

/**
 * Where an answer another instance began is, for this one to finish it: `place` is what the
 * conversation's `handover()` gave, `reply` what its reply's `location()` gave (absent when the
 * instance died before making one).
 */
export interface ResumeTarget {
  readonly place: HandoverData;
  readonly reply?: HandoverData;
  readonly askerId: string;
}

/**
 * Builds, on this instance, the conversation of an answer another instance began: its reply
 * replaces the half-written message. Undefined when that place can no longer be written to
 * (the channel is gone, the workspace uninstalled the app).
 */
export type Resumer = (target: ResumeTarget) => Promise<Conversation | undefined>;

export interface EscalationLimits {
  /** Hand-offs one person may ask for per hour; 0: no limit. */
  readonly userPerHour: number;
  /** Hand-offs asked for in one channel per hour; 0: no limit. */
  readonly channelPerHour: number;
}

/** Whether a click on "Ask a human" may ping the group, and if not, what to tell the person privately. */
export type EscalationDecision = { readonly ok: true } | { readonly ok: false; readonly message: string };

const HOUR_MS = 60 * 60 * 1000;

export type QuestionCheck =
  | { readonly ok: true; readonly question: string }
  | { readonly ok: false; readonly kind: 'empty' | 'too_long'; readonly message: string };

export interface AskOptions extends AnswerOptions {
  /** The platform's id for this delivery (event id, message id, interaction id). */
  readonly deliveryId?: string;
  /** Channels the bot answers in on this platform; empty means everywhere. */
  readonly allowedChannels?: readonly string[];
}

export type AskResult =
  | AnswerOutcome
  | { readonly ok: false; readonly skipped: 'duplicate' | 'not_allowed' | 'invalid' };

export type Vote = 'up' | 'down';

export interface FeedbackEvent {
  readonly place: Place;
  readonly questionId: string;
  readonly userId: string;
  readonly vote: Vote;
  /** The optional one-line reason a 👎 can carry (sent after the vote itself). */
  readonly reason?: string;
}

/** Whether `place` is one the allowlist admits. Direct messages always are. */
export function isAllowed(place: Place, allowedChannels: readonly string[] | undefined): boolean {
  if (!allowedChannels || allowedChannels.length === 0 || place.direct) return true;
  return [place.channelId, place.threadId, place.parentId].some(
    (id) => id !== undefined && allowedChannels.includes(id),
  );
}

/** The conversation a file belongs to, for the read-file cache: platform, workspace and thread. */
function conversationScope(place: Place): string {
  return [place.platform, place.workspaceId ?? '', place.threadId ?? place.channelId ?? 'direct'].join(':');
}

export class ConversationLayer {
  private readonly fileCache: ReadFileCache;
  private readonly resumers = new Map<string, Resumer>();

  constructor(private readonly options: ConversationLayerOptions) {
    this.fileCache = options.fileCache ?? new LruReadFileCache();
  }

  get log(): Logger {
    return this.options.log;
  }

  /** True the first time a platform delivers this event; false for its retries. */
  async firstDelivery(platform: string, deliveryId: string): Promise<boolean> {
    const first = await this.options.dedupe.firstSeen(`${platform}:delivery:${deliveryId}`, DEDUPE_TTL_MS);
    if (!first) this.options.log.debug({ platform, deliveryId }, 'dropped a repeated delivery');
    return first;
  }

  /** Checks a question before anything is posted or echoed. Wording is the core's. */
  check(raw: string | undefined): QuestionCheck {
    const question = withoutControls(raw ?? '').trim();
    if (!hasVisibleText(question))
      return { ok: false, kind: 'empty', message: failures.emptyQuestion().message };
    const max = this.options.maxQuestionChars;
    if (question.length > max) {
      return { ok: false, kind: 'too_long', message: failures.questionTooLong(question.length, max).message };
    }
    return { ok: true, question };
  }

  /** A question arrived in a conversation: apply the policies, then answer. */
  async ask(conversation: Conversation, raw: string, options: AskOptions = {}): Promise<AskResult> {
    const { place } = conversation;
    if (options.deliveryId && !(await this.firstDelivery(place.platform, options.deliveryId))) {
      return { ok: false, skipped: 'duplicate' };
    }
    if (!isAllowed(place, options.allowedChannels)) {
      await conversation.notify(strings.notEnabledHere).catch(() => undefined);
      return { ok: false, skipped: 'not_allowed' };
    }
    const checked = this.check(raw);
    if (!checked.ok) {
      await conversation.notify(checked.message).catch(() => undefined);
      return { ok: false, skipped: 'invalid' };
    }
    const questionId = options.questionId ?? randomUUID();
    const handover = this.track(conversation, questionId, checked.question, options.via);
    try {
      return await this.answer(conversation, checked.question, { ...options, questionId }, handover);
    } catch (error) {
      // Failed before the answer began (a guard's or the dedupe store's service down): the
      // person is told, and the record ends here, or it would be renewed and answered by
      // another instance at shutdown.
      this.options.log.error({ err: error, questionId }, 'could not answer: failed before the answer began');
      await handover?.end('finished');
      await conversation.notify(failures.internal().message).catch(() => undefined);
      return { ok: false, questionId, failure: failures.internal() };
    }
  }

  /** Admits the question past the guards, reads its files, says what could not be read, then answers. */
  private async answer(
    conversation: Conversation,
    question: string,
    options: AskOptions & { readonly questionId: string },
    handover: HandoverHandle | undefined,
  ): Promise<AnswerOutcome> {
    // The guards first: a question they refuse reads no file, and gets their message as its answer.
    const { answerer } = this.options;
    let admission: AdmissionTicket | undefined;
    if (answerer.admit) {
      const decided = await answerer.admit({
        id: options.questionId,
        text: question,
        place: conversation.place,
        ...(conversation.asker ? { asker: conversation.asker } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (decided.ok) admission = decided.ticket;
    }
    try {
      const files =
        admission || !answerer.admit
          ? await this.readFiles(conversation, admission?.signal ?? options.signal)
          : { passages: [], notes: [] };
      // Every file not read is said so, in one message, before the answer.
      const notes = await this.unsaid(conversation.place, files.notes);
      if (notes.length > 0) await conversation.notify(notes.join('\n')).catch(() => undefined);
      return await answerInConversation(conversation, question, this.answerDeps(), {
        ...options,
        // What the adapter brought (the message asked about) first, then the files read here.
        ...(files.passages.length > 0
          ? { attachments: [...(options.attachments ?? []), ...files.passages] }
          : {}),
        ...(admission ? { admission } : {}),
        ...(handover ? { handover } : {}),
      });
    } finally {
      admission?.release();
    }
  }

  private answerDeps() {
    return {
      answerer: this.options.answerer,
      log: this.options.log,
      ...(this.options.clock ? { clock: this.options.clock } : {}),
      ...(this.options.recorder
        ? { onAnswered: (s: Parameters<AnswerRecorder['answered']>[0]) => this.options.recorder?.answered(s) }
        : {}),
    };
  }

  /** Records the answer among those in flight, where another instance could finish it. */
  private track(
    conversation: Conversation,
    questionId: string,
    question: string,
    via: string | undefined,
  ): HandoverHandle | undefined {
    const handover = this.options.handover;
    if (!handover?.running || handover.stopping || !this.resumers.has(conversation.place.platform))
      return undefined;
    const place = conversation.handover?.();
    if (!place) return undefined;
    return handover.begin({
      questionId,
      platform: conversation.place.platform,
      ...(conversation.place.workspaceId ? { workspaceId: conversation.place.workspaceId } : {}),
      place,
      question,
      askerId: conversation.asker.id,
      ...(via ? { via } : {}),
    });
  }

  /**
   * How `platform`'s answers are finished here when their instance dies: the front end builds
   * the conversation again from what was recorded. Registered by each adapter that can.
   */
  resumeOn(platform: string, resumer: Resumer): void {
    this.resumers.set(platform, resumer);
  }

  /** Starts recording answers in flight and finishing those of silent instances (DATABASE_URL). */
  startHandover(): void {
    this.options.handover?.start(
      async (answer, handle) => void (await this.resume(answer, handle)),
      () => [...this.resumers.keys()],
    );
  }

  /**
   * Finishes here an answer another instance began and can no longer finish: the question is
   * answered again from the start, into the same reply (its half-written text replaced), under
   * the same question id, so votes and records are the answer's own. An answer already taken
   * over too often is ended with an apology instead.
   */
  async resume(answer: InFlightAnswer, handle: HandoverHandle): Promise<AnswerOutcome | undefined> {
    const log = this.options.log.child({ questionId: answer.questionId, platform: answer.platform });
    const resumer = this.resumers.get(answer.platform);
    let conversation: Conversation | undefined;
    try {
      conversation = await resumer?.({
        place: answer.place,
        ...(answer.reply ? { reply: answer.reply } : {}),
        askerId: answer.askerId,
      });
    } catch (error) {
      log.warn({ err: error }, 'could not reach the conversation of an answer to finish');
    }
    if (!conversation) {
      await handle.end('finished');
      return undefined;
    }
    const options = { questionId: answer.questionId, via: answer.via ?? 'resumed' };
    if (answer.attempts > (this.options.handover?.maxAttempts ?? 2)) {
      log.warn({ attempts: answer.attempts }, 'an answer brought down its instances too often; ending it');
      const reply = await conversation.openReply();
      await reply.finish({ text: '', written: 0, sources: [], notice: strings.answerAbandoned });
      await handle.end('finished');
      return { ok: false, questionId: answer.questionId };
    }
    return this.answer(conversation, answer.question, options, handle);
  }

  /** The conversation's attached files as passages for this answer only, and a note for each one not read. */
  private async readFiles(
    conversation: Conversation,
    signal: AbortSignal | undefined,
  ): Promise<ReadAttachments> {
    if (!conversation.attachments) return { passages: [], notes: [] };
    const log = this.options.log.child({ platform: conversation.place.platform });
    let files: Awaited<ReturnType<NonNullable<Conversation['attachments']>>>;
    try {
      files = await conversation.attachments();
    } catch (error) {
      log.warn({ err: error }, 'could not list the attached files');
      return { passages: [], notes: [{ text: strings.filesUnavailable }] };
    }
    if (files.length === 0) return { passages: [], notes: [] };
    void conversation.showWorking?.('retrieving').catch(() => undefined);
    const { presenter, place } = conversation;
    return readAttachments(files, this.options.attachments ?? DEFAULT_ATTACHMENT_LIMITS, {
      quote: presenter.plainText ?? presenter.neutralizer.neutralize,
      log,
      cache: this.fileCache,
      scope: conversationScope(place),
      // People's files wait for a parser in turn, one person after another.
      owner: {
        lane: 'people',
        key: [place.platform, place.workspaceId ?? '', conversation.asker?.id ?? place.channelId ?? ''].join(
          ':',
        ),
      },
      ...(this.options.parser ? { parser: this.options.parser } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  /** The notes not yet given in this thread (a note about an unidentified file is always given). */
  private async unsaid(place: Place, notes: readonly AttachmentNote[]): Promise<string[]> {
    const where = place.threadId ?? place.channelId ?? 'direct';
    const out: string[] = [];
    for (const note of notes) {
      const digest = createHash('sha256').update(note.text).digest('hex').slice(0, 16);
      const key = `${place.platform}:file-note:${where}:${note.fileId}:${digest}`;
      if (!note.fileId || (await this.options.dedupe.firstSeen(key, FILE_NOTE_TTL_MS))) out.push(note.text);
    }
    return out;
  }

  /** Records a vote the same way on every platform; returns the thanks to show the voter. */
  feedback(event: FeedbackEvent): string {
    this.options.log.info(
      {
        event: 'feedback',
        platform: event.place.platform,
        ...(event.place.channelId ? { channel: event.place.channelId } : {}),
        questionId: event.questionId,
        user: event.userId,
        vote: event.vote,
        ...(event.reason ? { withReason: true } : {}),
      },
      'feedback',
    );
    const reason = event.reason?.replace(/\s+/g, ' ').trim().slice(0, MAX_REASON_CHARS);
    const { reason: _raw, ...vote } = event;
    this.options.recorder?.feedback({ ...vote, ...(reason ? { reason } : {}) });
    if (reason) return strings.thanksForReason;
    return event.vote === 'up' ? strings.thanksUp : strings.thanksDown;
  }

  /**
   * Whether a click on "Ask a human" may ping the group: the first time anyone asks under this
   * answer (within a day, across instances with Redis), so the group is pinged once per answer,
   * and within the person's and the channel's hourly limits. Only a click that pings counts: one
   * under an answer already handed off is told so and spends nothing, and one a limit refuses
   * spends nothing of the other limit and leaves the answer free to be handed off later.
   */
  async mayEscalate(request: {
    readonly platform: string;
    readonly questionId: string;
    /** The channel whose hourly limit applies (for a thread, the channel it belongs to). */
    readonly channelId: string;
    readonly userId: string;
  }): Promise<EscalationDecision> {
    const { platform, userId, channelId } = request;
    const answerKey = `${platform}:escalation:${request.questionId}`;
    if (!(await this.options.dedupe.firstSeen(answerKey, ESCALATION_TTL_MS))) {
      return { ok: false, message: strings.humanAlreadyAsked };
    }
    const limits = this.options.escalations;
    if (!limits) return { ok: true };
    const checks = [
      {
        key: `escalation:user:${platform}:${userId}`,
        limit: limits.userPerHour,
        message: (minutes: number) => strings.humanLimitedUser(limits.userPerHour, minutes),
      },
      {
        key: `escalation:channel:${platform}:${channelId}`,
        limit: limits.channelPerHour,
        message: (minutes: number) => strings.humanLimitedChannel(limits.channelPerHour, minutes),
      },
    ].filter((check) => check.limit > 0);
    if (checks.length === 0) return { ok: true };
    const decision = await limits.rates.hitAll(
      checks.map(({ key, limit }) => ({ key, limit, windowMs: HOUR_MS })),
    );
    if (decision.allowed) return { ok: true };
    // Nobody was pinged: the answer may still be handed off once the limit allows.
    await this.options.dedupe.forget(answerKey);
    this.options.log.info(
      { event: 'escalation_limited', platform, channel: channelId, user: userId },
      'refused a hand-off over the limit',
    );
    const minutes = Math.max(1, Math.ceil(decision.retryAfterMs / 60_000));
    return { ok: false, message: checks[decision.refused ?? 0]!.message(minutes) };
  }

  /** Someone asked for a human under an answer: recorded; returns what to tell them. */
  escalated(event: EscalationRecord): string {
    this.options.log.info(
      {
        event: 'escalation',
        platform: event.place.platform,
        ...(event.place.channelId ? { channel: event.place.channelId } : {}),
        questionId: event.questionId,
        user: event.userId,
      },
      'asked for a human',
    );
    this.options.recorder?.escalated(event);
    return strings.humanAsked;
  }
}
