/**
 * The RAG core: validate → condense a follow-up → retrieve → build a budgeted prompt →
 * stream the generation → sources and usage. Every answer ends in exactly one `done` or
 * `failure` event; nothing throws out of `answer()`.
 */
import { performance } from 'node:perf_hooks';
import { type Logger, silentLogger } from '../log.js';
import { textRelevance } from '../stores/local/relevance.js';
import { CitationFilter } from './citations.js';
import { type Failure, failures, isRagError, RagError } from './failures.js';
import { buildAnswerPrompt, buildCondensePrompt } from './prompt.js';
import { toSources } from './sources.js';
import type {
  AnswerEvent,
  Answerer,
  Generator,
  Passage,
  Question,
  Retriever,
  StageTimings,
  TokenUsage,
  Turn,
} from './types.js';

export interface RagCoreOptions {
  /** Passages that decide what an answer is about (RAG_TOP_K). */
  readonly topK: number;
  /** Overrides the retriever's own `defaultMinScore`. */
  readonly minScore?: number;
  readonly maxQuestionChars: number;
  readonly contextTokens: number;
  readonly maxAnswerTokens: number;
  readonly answerTimeoutMs: number;
  /**
   * With a fallback generator: how long the model may take to start writing before the
   * fallback answers instead. Default: two thirds of `answerTimeoutMs`, so a stalled model
   * ends in the fallback's answer rather than in "took too long", whatever its own retries.
   */
  readonly modelStartTimeoutMs?: number;
  /** While the model has not started writing, a `waiting` status is sent this often. Default 3 s. */
  readonly waitingNoticeMs?: number;
}

export interface RagCoreDeps {
  readonly retriever: Retriever;
  readonly generator: Generator;
  /** Answers instead when the generator is unavailable before any text (the extractive one). */
  readonly fallbackGenerator?: Generator;
  readonly options: RagCoreOptions;
  readonly logger?: Logger;
}

/**
 * A message the asker pointed at answers the question when it covers this much of it (the
 * question's terms weighed alike, see `textRelevance`): "When does the release train leave?"
 * is covered by "the release train leaves on Thursday", not by "lunch is at noon".
 */
export const POINTED_MIN_COVERAGE = 0.5;

function coversQuestion(passage: Passage, questions: readonly string[]): boolean {
  return questions.some((question) => textRelevance(question, passage.text) >= POINTED_MIN_COVERAGE);
}

/**
 * Passages the prompt may hold. The floor decides whether the question is in the knowledge base
 * at all, on the top k; the answer's own passage is often ranked a little lower, or scores a
 * little under the floor while a neighbour clears it (a how-to question worded unlike its code),
 * so the model reads the ten best, as a person skims the first page of results
 * (eval/RESULTS.md: the prompt carried the answer for 85.9% of the docs set with the top 3 and
 * further sections of their documents, 93.6% with the top 10, at about 1,300 more tokens).
 */
export const PROMPT_PASSAGES = 10;

/**
 * Past the best `PROMPT_PASSAGES`, up to this many further passages join the prompt when they
 * are of a document that decided the answer (one of the top k over the floor): the section
 * with the code is often the 11th to 20th result of the very README the answer comes from
 * ("as early as possible" where the question says "at the very start"), while further passages
 * of other documents are noise. Measured on the docs set: the prompt carries the answer for
 * 98.7% of questions instead of 96.2%, at about 1,600 more tokens (eval/RESULTS.md).
 */
export const PROMPT_DOCUMENT_PASSAGES = 10;

/**
 * A passage joins the prompt when it covers at least this share of what the floor asks of the
 * top k: one sharing only an everyday word with the question is noise, not context.
 */
export const PROMPT_FLOOR_SHARE = 0.5;

/** Raised inside the core when the overall answer deadline passes. */
class AnswerDeadline extends Error {}

/** Raised when the model has not started writing in its share of the answer deadline. */
class ModelStartDeadline extends Error {}

/** The model finished without a word a person could read. */
class EmptyAnswer extends Error {
  constructor() {
    super('the model wrote no answer');
  }
}

const DEFAULT_WAITING_NOTICE_MS = 3_000;
/** Condensing a follow-up may use this share of the model's start budget; then the question is used as asked. */
const CONDENSE_SHARE = 1 / 3;

/** Marks a tick of "still waiting on the model" inside the core's own streams. */
const STILL_WAITING = Symbol('still waiting');
const WAITING_EVENT: AnswerEvent = { type: 'status', stage: 'waiting' };

const CONDENSE_MAX_TOKENS = 120;
/** Follow-ups condense against at most this much recent conversation. */
const CONDENSE_HISTORY_TOKENS = 1_500;

/** Resolves with the promise, or rejects as soon as the signal aborts, whichever is first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // Nobody waits for `promise` now: its own rejection (a search that honours the same signal)
    // must not go unhandled, which would end the process.
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Every `everyMs`, resolves the promise from the latest `next()`: one interval, however many waits. */
class Ticker {
  private wake: (() => void) | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs: number) {
    this.timer = setInterval(() => this.wake?.(), everyMs);
  }

  next(): Promise<typeof STILL_WAITING> {
    return new Promise((resolve) => {
      this.wake = () => resolve(STILL_WAITING);
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.wake = undefined;
  }
}

/** Awaits `promise`, yielding `notice` every `everyMs` until it settles. */
async function* withNotices<T, N>(promise: Promise<T>, everyMs: number, notice: N): AsyncGenerator<N, T> {
  const settled = promise.then((value) => ({ value }));
  const ticker = new Ticker(everyMs);
  try {
    while (true) {
      const next = await Promise.race([settled, ticker.next()]);
      if (next !== STILL_WAITING) return next.value;
      yield notice;
    }
  } finally {
    ticker.stop();
  }
}

/**
 * Iterates a stream but stops waiting the moment the signal aborts, even if the source hangs.
 * Until the first chunk that `isProgress` accepts, yields STILL_WAITING every `noticeMs`.
 */
async function* abortable<T>(
  source: AsyncIterable<T>,
  signal: AbortSignal,
  notices?: { readonly everyMs: number; readonly isProgress: (value: T) => boolean },
): AsyncGenerator<T | typeof STILL_WAITING> {
  const iterator = source[Symbol.asyncIterator]();
  // One listener for the whole stream, raced per chunk: no listener churn per token.
  const aborted = untilAborted(new Promise<never>(() => undefined), signal);
  aborted.catch(() => undefined);
  let ticker = notices ? new Ticker(notices.everyMs) : undefined;
  try {
    let pending = iterator.next();
    while (true) {
      const next = await Promise.race(ticker ? [pending, aborted, ticker.next()] : [pending, aborted]);
      if (next === STILL_WAITING) {
        yield STILL_WAITING;
        continue;
      }
      if (next.done) return;
      if (ticker && notices?.isProgress(next.value)) {
        ticker.stop();
        ticker = undefined;
      }
      yield next.value;
      pending = iterator.next();
    }
  } finally {
    ticker?.stop();
    // Do not await: a hung source must not hold the answer open.
    void iterator.return?.()?.catch(() => undefined);
  }
}

export class RagCore implements Answerer {
  private readonly retriever: Retriever;
  private readonly generator: Generator;
  private readonly fallback: Generator | undefined;
  private readonly options: RagCoreOptions;
  private readonly log: Logger;

  constructor(deps: RagCoreDeps) {
    this.retriever = deps.retriever;
    this.generator = deps.generator;
    this.fallback = deps.fallbackGenerator;
    this.options = deps.options;
    this.log = deps.logger ?? silentLogger;
  }

  async *answer(question: Question, history: readonly Turn[] = []): AsyncGenerator<AnswerEvent> {
    const text = question.text.trim();
    if (!text) {
      yield { type: 'failure', failure: failures.emptyQuestion() };
      return;
    }
    if (text.length > this.options.maxQuestionChars) {
      yield {
        type: 'failure',
        failure: failures.questionTooLong(text.length, this.options.maxQuestionChars),
      };
      return;
    }

    const log = this.log.child({ questionId: question.id });
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(new AnswerDeadline()), this.options.answerTimeoutMs);
    const onCallerAbort = () => controller.abort(question.signal?.reason);
    question.signal?.addEventListener('abort', onCallerAbort, { once: true });
    if (question.signal?.aborted) onCallerAbort();

    const started = performance.now();
    const timings: { -readonly [K in keyof StageTimings]?: number } = {};
    let partial = '';
    // The model's share of the deadline: past it, before any text, the fallback answers instead.
    const modelStart = new AbortController();
    const modelStartMs =
      this.options.modelStartTimeoutMs ?? Math.round((this.options.answerTimeoutMs * 2) / 3);
    const modelDeadline = this.fallback
      ? setTimeout(() => modelStart.abort(new ModelStartDeadline()), modelStartMs)
      : undefined;
    const noticeMs = this.options.waitingNoticeMs ?? DEFAULT_WAITING_NOTICE_MS;
    try {
      const signal = controller.signal;
      let standalone = text;
      if (history.length > 0) {
        yield { type: 'status', stage: 'condensing' };
        const condenseStart = performance.now();
        const condenseSignal = this.fallback
          ? AbortSignal.any([signal, modelStart.signal, AbortSignal.timeout(modelStartMs * CONDENSE_SHARE)])
          : signal;
        const condensing = untilAborted(
          this.condense(text, history, condenseSignal, question.id),
          condenseSignal,
        );
        try {
          standalone = yield* withNotices(condensing, noticeMs, WAITING_EVENT);
        } catch (error) {
          // Out of its share of time: retrieve with the follow-up as asked.
          if (signal.aborted || !condenseSignal.aborted) throw error;
          log.warn('condensing the follow-up took too long; using it as asked');
        }
        timings.condenseMs = performance.now() - condenseStart;
        log.debug({ standalone }, 'condensed follow-up');
      }

      yield { type: 'status', stage: 'retrieving' };
      const retrievalStart = performance.now();
      const { topK } = this.options;
      const widest = Math.max(topK, PROMPT_PASSAGES);
      const depth = widest + PROMPT_DOCUMENT_PASSAGES;
      const found = await untilAborted(
        this.retriever.search(standalone, {
          topK: depth,
          signal,
          ...(question.collections ? { collections: question.collections } : {}),
        }),
        signal,
      );
      timings.retrievalMs = performance.now() - retrievalStart;
      const floor = this.options.minScore ?? this.retriever.defaultMinScore;
      // The top k decide whether the knowledge base covers the question at all; once it does, the
      // prompt gets the best passages found that cover a fair share of it, from any document, and
      // further down, more of the documents that decided.
      const best = found.slice(0, topK).filter((passage) => passage.score >= floor);
      const deciders = new Set(best.map((passage) => passage.source));
      const relevant =
        best.length > 0
          ? found
              .slice(0, depth)
              .filter(
                (passage, rank) =>
                  passage.score >= floor * PROMPT_FLOOR_SHARE &&
                  (rank < widest || deciders.has(passage.source)),
              )
          : [];
      const attached = question.attachments ?? [];
      // What decides the answer: the passages over the floor and the files given with the
      // question; the rest of the prompt is context a model may use, and an offline answer does not.
      const deciding = new Set(
        [...attached, ...relevant.filter((passage) => passage.score >= floor)].map((passage) => passage.id),
      );
      log.debug(
        { found: found.length, relevant: relevant.length, attached: attached.length, floor },
        'retrieved',
      );
      // An attached file is context enough: the answer comes from it even when the store has
      // nothing. A message the asker pointed at is, when it covers the question.
      const covered =
        attached.some((passage) => passage.metadata.pointedAt !== true) ||
        attached.some((passage) => coversQuestion(passage, [text, standalone]));
      if (relevant.length === 0 && !covered) {
        yield { type: 'failure', failure: failures.nothingFound(), timings: this.finish(timings, started) };
        return;
      }

      const prompt = buildAnswerPrompt(text, history, [...attached, ...relevant], {
        contextTokens: this.options.contextTokens,
      });
      const sources = toSources(prompt.passages);
      yield { type: 'sources', sources };
      yield { type: 'status', stage: 'generating' };

      let generator = this.generator;
      let degraded = false;
      let usage: TokenUsage | undefined;
      while (true) {
        // The model is held to its start deadline; the fallback only to the answer's.
        const generationSignal =
          generator === this.fallback ? signal : AbortSignal.any([signal, modelStart.signal]);
        // Markers citing no source ([7] of three) are dropped as the text streams.
        const citations = new CitationFilter(sources.length);
        try {
          const stream = generator.generate({
            purpose: 'answer',
            messages: prompt.messages,
            question: text,
            passages: prompt.passages,
            deciding,
            history: prompt.history,
            maxTokens: this.options.maxAnswerTokens,
            temperature: 0.2,
            signal: generationSignal,
            questionId: question.id,
          });
          const chunks = abortable(stream, generationSignal, {
            everyMs: noticeMs,
            isProgress: (chunk) => chunk.type === 'text' && chunk.text !== '',
          });
          for await (const chunk of chunks) {
            if (chunk === STILL_WAITING) {
              if (partial === '') yield WAITING_EVENT;
              continue;
            }
            if (chunk.type === 'usage') {
              usage = chunk.usage;
              continue;
            }
            if (!chunk.text) continue;
            // Writing has started: from here only the overall answer deadline applies.
            clearTimeout(modelDeadline);
            const text = citations.push(chunk.text);
            if (!text) continue;
            timings.firstTokenMs ??= performance.now() - started;
            partial += text;
            yield { type: 'delta', text };
          }
          const rest = citations.end();
          if (rest) {
            timings.firstTokenMs ??= performance.now() - started;
            partial += rest;
            yield { type: 'delta', text: rest };
          }
          // Blank, or only markers citing no source: nothing a person could read. Whitespace
          // already streamed shows as nothing, so the fallback may still answer in full.
          if (partial.trim() === '') {
            partial = '';
            throw new EmptyAnswer();
          }
          break;
        } catch (error) {
          // What was held back is part of what was written.
          if (partial) partial += citations.end();
          const stalled = modelStart.signal.reason instanceof ModelStartDeadline;
          const empty = error instanceof EmptyAnswer;
          const canFallBack =
            partial === '' &&
            !signal.aborted &&
            this.fallback !== undefined &&
            generator !== this.fallback &&
            (stalled ||
              empty ||
              (isRagError(error) && (error.kind === 'unavailable' || error.kind === 'timeout')));
          if (!canFallBack) throw error;
          log.warn(
            stalled ? { startTimeoutMs: modelStartMs } : { err: isRagError(error) ? error.failure : error },
            stalled
              ? 'the model did not start answering in time; answering from the passages instead'
              : empty
                ? 'the model wrote no answer; answering from the passages instead'
                : 'generator unavailable; answering from the passages instead',
          );
          generator = this.fallback!;
          degraded = true;
        }
      }

      yield {
        type: 'done',
        text: partial,
        mode: generator.mode,
        degraded,
        ...(usage ? { usage } : {}),
        timings: this.finish(timings, started) as StageTimings,
        standaloneQuestion: standalone,
      };
    } catch (error) {
      const failure = this.toFailure(error, controller.signal, partial);
      if (failure.kind === 'internal') log.error({ err: error }, 'answer failed unexpectedly');
      else log.info({ kind: failure.kind, service: failure.service }, 'answer failed');
      yield { type: 'failure', failure, timings: this.finish(timings, started) };
    } finally {
      clearTimeout(deadline);
      clearTimeout(modelDeadline);
      question.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /** One fast model call turning a follow-up into a standalone question; the question itself if that fails. */
  private async condense(
    question: string,
    history: readonly Turn[],
    signal: AbortSignal,
    questionId: string,
  ): Promise<string> {
    let out = '';
    try {
      for await (const chunk of this.generator.generate({
        purpose: 'condense',
        messages: buildCondensePrompt(question, history, CONDENSE_HISTORY_TOKENS),
        question,
        passages: [],
        history,
        maxTokens: CONDENSE_MAX_TOKENS,
        temperature: 0,
        signal,
        questionId,
      })) {
        if (chunk.type === 'text') out += chunk.text;
      }
    } catch (error) {
      // A dead model will fail the answer too, with the same message; anything else is
      // worth trying to answer with the follow-up as asked.
      if (
        isRagError(error) &&
        (error.kind === 'unavailable' || error.kind === 'timeout') &&
        !signal.aborted
      ) {
        return question;
      }
      throw error;
    }
    const standalone = out
      .trim()
      .replace(/^["'“]|["'”]$/g, '')
      .trim();
    const sensible = standalone.length > 0 && standalone.length <= question.length * 4 + 400;
    return sensible ? standalone : question;
  }

  private toFailure(error: unknown, signal: AbortSignal, partial: string): Failure {
    if (error instanceof EmptyAnswer) return failures.emptyAnswer();
    if (signal.aborted) {
      if (signal.reason instanceof AnswerDeadline) return failures.timeout(partial || undefined);
      return failures.interrupted(partial);
    }
    if (error instanceof RagError) {
      // Text already shown to the user is never thrown away: whatever broke, it was interrupted.
      if (partial && error.kind !== 'interrupted')
        return failures.interrupted(partial, error.failure.service);
      if (error.kind === 'interrupted')
        return { ...error.failure, partialText: partial || error.failure.partialText };
      return error.failure;
    }
    if (partial) return failures.interrupted(partial);
    return failures.internal();
  }

  private finish(timings: { -readonly [K in keyof StageTimings]?: number }, started: number): StageTimings {
    return {
      condenseMs: timings.condenseMs ?? 0,
      retrievalMs: timings.retrievalMs ?? 0,
      firstTokenMs: timings.firstTokenMs ?? 0,
      totalMs: performance.now() - started,
    };
  }
}
