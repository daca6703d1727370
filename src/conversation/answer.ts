/**
 * The one place that turns the core's answer events into a conversation: text streamed as it
 * is written (neutralised, held back while it could still become a mention, writes throttled
 * to the platform's pace), then the whole answer with its sources, feedback and any failure's
 * message, at once. Slack, Discord, the web chat and the terminal all answer through here.
 */
import { randomUUID } from 'node:crypto';
import type { Failure } from '../core/failures.js';
import { citedSources } from '../core/sources.js';
import type { AdmissionTicket, AnswerEvent, Answerer, Passage, Source, Turn } from '../core/types.js';
import type { HandoverHandle } from '../handover/tracker.js';
import type { Logger } from '../log.js';
import { SafeStream } from '../render/safe-stream.js';
import { type EditClock, ThrottledEditor } from '../render/throttled-edits.js';
import type { Conversation, LiveReply } from './conversation.js';
import type { AnswerSummary } from './recording.js';
import { strings } from './strings.js';

export interface AnswerDeps {
  readonly answerer: Answerer;
  readonly log: Logger;
  /** Time source for the write throttle (tests). */
  readonly clock?: EditClock;
  /** Told once how each answer ended (the answer records); must not throw. */
  readonly onAnswered?: (summary: AnswerSummary) => void;
}

export interface AnswerOptions {
  readonly questionId?: string;
  /** The conversation so far when the adapter already read it; otherwise it is read here. */
  readonly history?: readonly Turn[];
  /** Aborting stops the answer; what was written stays, marked as interrupted. */
  readonly signal?: AbortSignal;
  /** How the question arrived (command, mention, follow-up, dm, …), for logs. */
  readonly via?: string;
  /** Passages read from the question's attached files (see attachments.ts). */
  readonly attachments?: readonly Passage[];
  /** The guards already admitted this question (see ConversationLayer.ask). */
  readonly admission?: AdmissionTicket;
  /**
   * The answer's record among those in flight (DATABASE_URL): told where the reply is; every
   * write waits while its ownership is unconfirmed (cut off from the database), and once
   * another instance has taken the answer over, nothing more is written here.
   */
  readonly handover?: HandoverHandle;
}

export type AnswerOutcome =
  | { readonly ok: true; readonly questionId: string; readonly text: string }
  | { readonly ok: false; readonly questionId: string; readonly failure?: Failure };

const ignore = () => undefined;

/** Folds one answer's events into one reply. */
class ReplyFold {
  private readonly stream: SafeStream;
  /** Created once the reply is open, at the pace that reply asks for. */
  private editor: ThrottledEditor | undefined;
  private cancelled = false;
  private shown = '';
  private written = 0;
  sources: readonly Source[] = [];

  constructor(
    private readonly opening: Promise<LiveReply>,
    conversation: Conversation,
    clock: EditClock | undefined,
    private readonly handover: HandoverHandle | undefined,
  ) {
    this.stream = new SafeStream(conversation.presenter.neutralizer);
    opening.then((reply) => {
      this.handover?.located(reply.location?.());
      reply.onLocated?.(() => this.handover?.located(reply.location?.()));
      if (this.cancelled) return;
      this.editor = new ThrottledEditor((latest) => this.write(reply, latest), {
        intervalMs: reply.writeIntervalMs ?? conversation.presenter.writeIntervalMs,
        ...(clock ? { clock } : {}),
      });
      if (this.shown) this.editor.update(this.shown);
    }, ignore);
  }

  delta(text: string): void {
    const ready = this.stream.push(text);
    if (!ready) return;
    this.shown += ready;
    this.editor?.update(this.shown);
  }

  /** Ends the reply. `text` is the model's whole text, when the core reports it. */
  async finish(text: string | undefined, log: Logger, extra: { feedbackId?: string; failure?: Failure }) {
    const { rest, diverged } = this.stream.finish(text);
    if (diverged) log.warn('the final answer text differs from the streamed text; keeping what streamed');
    this.shown += rest;
    const reply = await this.opening;
    // The throttle spaces streaming writes; it never delays the end of an answer.
    await this.editor?.settle();
    // Another instance took the answer over and writes it now.
    if (!(await this.mayWrite())) return;
    // The sources shown are the ones the answer cites; the others are only "also searched".
    const { cited, alsoSearched } = citedSources(this.sources, this.stream.text);
    await reply.finish({
      text: this.shown,
      written: this.written,
      sources: this.shown ? cited : [],
      ...(this.shown && alsoSearched.length > 0 ? { alsoSearched } : {}),
      ...(extra.feedbackId && this.shown ? { feedbackId: extra.feedbackId } : {}),
      ...(extra.failure ? { notice: extra.failure.message } : {}),
    });
  }

  cancel(): void {
    this.cancelled = true;
    this.editor?.cancel();
  }

  /**
   * The one gate of every write to the platform: while the answer's ownership is unconfirmed
   * (this instance cut off from the database) the write waits, the text kept; false once
   * another instance has it.
   */
  async mayWrite(): Promise<boolean> {
    return this.handover ? this.handover.whenWritable() : true;
  }

  private async write(reply: LiveReply, latest: string): Promise<void> {
    if (!(await this.mayWrite())) return;
    if (reply.writes === 'replace') {
      await reply.write(latest);
      this.written = latest.length;
    } else {
      const piece = latest.slice(this.written);
      if (piece) {
        await reply.write(piece);
        // Counted only once delivered: a piece the platform refused goes out again with the end.
        this.written = latest.length;
      }
    }
    // A reply may make its message on the first write (Discord).
    this.handover?.located(reply.location?.());
  }
}

/** Answers `text` in `conversation`; never throws: a reply that cannot be delivered is logged and noted. */
export async function answerInConversation(
  conversation: Conversation,
  text: string,
  deps: AnswerDeps,
  options: AnswerOptions = {},
): Promise<AnswerOutcome> {
  const questionId = options.questionId ?? randomUUID();
  const { place } = conversation;
  const log = deps.log.child({
    questionId,
    platform: place.platform,
    ...(place.channelId ? { channel: place.channelId } : {}),
    ...(options.via ? { via: options.via } : {}),
  });
  log.info('question received');
  const showWorking = (stage: Parameters<NonNullable<Conversation['showWorking']>>[0]) =>
    void conversation.showWorking?.(stage).catch(ignore);
  showWorking('retrieving');
  const askedAt = Date.now();
  const report = (summary: Omit<AnswerSummary, 'questionId' | 'askedAt' | 'place' | 'asker' | 'question'>) =>
    deps.onAnswered?.({
      questionId,
      askedAt,
      place,
      asker: conversation.asker,
      question: text,
      ...(options.via ? { via: options.via } : {}),
      ...(conversation.permalink ? { link: conversation.permalink.bind(conversation) } : {}),
      ...(conversation.audience ? { audience: conversation.audience.bind(conversation) } : {}),
      ...summary,
    });
  // The platform creates the reply while the core reads history and retrieves.
  const opening = conversation.openReply();
  opening.catch(ignore);
  const { handover } = options;
  const fold = new ReplyFold(opening, conversation, deps.clock, handover);
  // The core stops spending on an answer another instance has taken over.
  const signals = [options.signal, handover?.signal].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  const lost = (): AnswerOutcome => {
    log.info('another instance finishes this answer');
    return { ok: false, questionId };
  };
  try {
    const history = options.history ?? (await conversation.history());
    const events: AsyncIterable<AnswerEvent> = deps.answerer.answer(
      {
        id: questionId,
        text,
        asker: conversation.asker,
        place,
        ...(signal ? { signal } : {}),
        ...(options.attachments?.length ? { attachments: options.attachments } : {}),
        ...(options.admission ? { admission: options.admission } : {}),
      },
      history,
    );
    for await (const event of events) {
      switch (event.type) {
        case 'status':
          showWorking(event.stage);
          break;
        case 'sources':
          fold.sources = event.sources;
          conversation.sourcesFound?.(event.sources);
          break;
        case 'delta':
          fold.delta(event.text);
          break;
        case 'done':
          await fold.finish(event.text, log, { feedbackId: questionId });
          if (handover?.lost) return lost();
          await handover?.end('finished');
          log.info(
            { mode: event.mode, degraded: event.degraded, ms: Math.round(event.timings.totalMs) },
            'answered',
          );
          report({
            outcome: 'answered',
            mode: event.mode,
            degraded: event.degraded,
            standaloneQuestion: event.standaloneQuestion,
            sources: fold.sources,
            timings: event.timings,
          });
          return { ok: true, questionId, text: event.text };
        case 'failure': {
          // Interrupted by a restart: another instance (or this one, restarted) finishes it.
          const givenBack = event.failure.kind === 'interrupted' && handover?.givenBackIfInterrupted;
          const failure = givenBack ? { ...event.failure, message: strings.answerHandedOver } : event.failure;
          await fold.finish(event.failure.partialText, log, { failure });
          if (handover?.lost) return lost();
          await handover?.end(event.failure.kind === 'interrupted' ? 'interrupted' : 'finished');
          log.info({ kind: event.failure.kind }, 'answered with a failure message');
          report({
            outcome: event.failure.kind,
            degraded: false,
            sources: fold.sources,
            timings: event.timings ?? {},
          });
          return { ok: false, questionId, failure: event.failure };
        }
      }
    }
    throw new Error('the answer stream ended without done or failure');
  } catch (error) {
    fold.cancel();
    if (!(await fold.mayWrite())) return lost();
    await handover?.end('finished');
    log.error({ err: error }, 'could not deliver an answer');
    // Last resort: one plain message, so the user is never left in silence.
    await conversation.notify(strings.deliveryFailed).catch(ignore);
    report({ outcome: 'undelivered', degraded: false, sources: fold.sources, timings: {} });
    return { ok: false, questionId };
  }
}
