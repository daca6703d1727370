/**
 * Generation through Groq's chat completions API with groq-sdk, streamed.
 *
 * Retries are ours, not the SDK's (its maxRetries is 0): a 429 is retried only while the
 * total wait stays within the retry budget, and nothing is ever retried once text has
 * reached the user. The SDK's timeout stops at response headers, so a stream that stalls
 * mid-answer is caught by an idle timer of our own.
 */
import Groq from 'groq-sdk';
import { type Failure, failures, RagError } from '../core/failures.js';
import type { GenerationChunk, GenerationRequest, Generator, TokenUsage } from '../core/types.js';
import { type Logger, silentLogger } from '../log.js';

export interface GroqGeneratorOptions {
  readonly apiKey: string;
  readonly model: string;
  /** Model for condensing follow-ups; usually the same small fast model. */
  readonly condenseModel: string;
  readonly baseURL?: string;
  /** Time allowed for the response to start, and for any gap between streamed chunks. */
  readonly timeoutMs: number;
  /** Retries after 5xx, connection errors and timeouts. */
  readonly maxRetries: number;
  /** Total time the generator may wait on 429 retry-after before giving up. */
  readonly retryBudgetMs: number;
  readonly logger?: Logger;
  /** Waits before a retry (retry-after or backoff); injectable so tests see what was asked for. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Source of backoff jitter in [0, 1); injectable for the same reason. */
  readonly random?: () => number;
}

const SERVICE = 'Groq';

type Decision = { readonly retryAfterMs: number } | { readonly failure: Failure };

class StreamIdle extends Error {}

/** The connection closed before the model said it had finished (no finish_reason). */
class StreamEndedEarly extends Error {}

/** The model stopped at its token limit (finish_reason `length`) after writing `text`. */
class AnswerCut extends Error {
  constructor(readonly text: string) {
    super('the answer reached its token limit');
  }
}

function headerMs(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const seconds = Number.parseFloat(headers?.get('retry-after') ?? '');
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  return undefined;
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function toUsage(raw: {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}): TokenUsage {
  const promptTokens = raw.prompt_tokens ?? 0;
  const completionTokens = raw.completion_tokens ?? 0;
  return { promptTokens, completionTokens, totalTokens: raw.total_tokens ?? promptTokens + completionTokens };
}

export class GroqGenerator implements Generator {
  readonly mode = 'groq' as const;
  readonly model: string;
  private readonly client: Groq;
  private readonly options: GroqGeneratorOptions;
  private readonly log: Logger;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;

  constructor(options: GroqGeneratorOptions) {
    this.options = options;
    this.sleep = options.sleep ?? sleep;
    this.random = options.random ?? Math.random;
    this.model = options.model;
    this.log = options.logger ?? silentLogger;
    this.client = new Groq({
      apiKey: options.apiKey,
      ...(options.baseURL ? { baseURL: options.baseURL } : {}),
      maxRetries: 0,
      timeout: options.timeoutMs,
    });
  }

  async *generate(request: GenerationRequest): AsyncIterable<GenerationChunk> {
    const model = request.purpose === 'condense' ? this.options.condenseModel : this.options.model;
    const log = this.log.child({ questionId: request.questionId, model, purpose: request.purpose });
    let failures5xx = 0;
    let waitedMs = 0;
    for (;;) {
      const attempt = new AbortController();
      const onOuterAbort = () => attempt.abort(request.signal?.reason);
      request.signal?.addEventListener('abort', onOuterAbort, { once: true });
      let idle: NodeJS.Timeout | undefined;
      // refresh() restarts the same timer: cheaper than a new one for every streamed chunk.
      const armIdle = () => {
        if (idle) idle.refresh();
        else idle = setTimeout(() => attempt.abort(new StreamIdle()), this.options.timeoutMs);
      };
      let text = '';
      let usage: TokenUsage | undefined;
      let finished = false;
      let cut = false;
      try {
        armIdle();
        const stream = await this.client.chat.completions.create(
          {
            model,
            messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
            stream: true,
            // max_tokens is deprecated in Groq's API reference in favour of this name.
            ...(request.maxTokens ? { max_completion_tokens: request.maxTokens } : {}),
            ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          },
          {
            signal: attempt.signal,
            // The platform event's question id, so one answer can be traced end to end.
            ...(request.questionId ? { headers: { 'x-request-id': request.questionId } } : {}),
          },
        );
        for await (const chunk of stream) {
          armIdle();
          const raw =
            chunk.x_groq?.usage ?? (chunk as { usage?: Parameters<typeof toUsage>[0] | null }).usage;
          if (raw) usage = toUsage(raw);
          const choice = chunk.choices[0];
          if (choice?.finish_reason) finished = true;
          if (choice?.finish_reason === 'length') cut = true;
          const piece = choice?.delta?.content;
          if (piece) {
            text += piece;
            yield { type: 'text', text: piece };
          }
        }
        // A dropped connection can end the SSE stream quietly; only finish_reason proves completion.
        if (!finished) throw new StreamEndedEarly('the stream ended before the model finished');
        if (usage) yield { type: 'usage', usage };
        // The model hit its token limit mid-answer: say so rather than end on half a sentence.
        // (A follow-up's rewriting is no answer: the core judges what came back.)
        if (cut && text && request.purpose !== 'condense') throw new AnswerCut(text);
        return;
      } catch (error) {
        if (request.signal?.aborted) throw request.signal.reason ?? error;
        if (error instanceof AnswerCut) {
          log.info({ maxTokens: request.maxTokens }, 'Groq answer stopped at its token limit');
          throw new RagError(failures.cutAtLimit(error.text, SERVICE));
        }
        if (text) {
          log.warn({ err: error }, 'Groq stream broke after text was sent');
          throw new RagError(failures.interrupted(text, SERVICE), { cause: error });
        }
        const decision = this.decide(
          error,
          attempt.signal.reason instanceof StreamIdle,
          model,
          failures5xx,
          waitedMs,
        );
        if ('failure' in decision) {
          log.warn(
            { kind: decision.failure.kind, status: (error as { status?: number }).status },
            'Groq call failed',
          );
          throw new RagError(decision.failure, { cause: error });
        }
        if (error instanceof Groq.RateLimitError) waitedMs += decision.retryAfterMs;
        else failures5xx += 1;
        // A retry is routine (servers log it at info); only its outcome is worth a warning.
        log.info({ retryInMs: Math.round(decision.retryAfterMs) }, 'retrying Groq call');
        await this.sleep(decision.retryAfterMs, request.signal);
      } finally {
        clearTimeout(idle);
        request.signal?.removeEventListener('abort', onOuterAbort);
      }
    }
  }

  /** Retry (and after how long) or fail (and how to tell the user). */
  private decide(
    error: unknown,
    idle: boolean,
    model: string,
    retriesUsed: number,
    waitedMs: number,
  ): Decision {
    if (error instanceof Groq.AuthenticationError || error instanceof Groq.PermissionDeniedError) {
      return { failure: failures.misconfigured(SERVICE, 'GROQ_API_KEY') };
    }
    if (error instanceof Groq.NotFoundError) {
      return {
        failure: failures.unknownModel(
          SERVICE,
          model === this.options.model ? 'GROQ_MODEL' : 'GROQ_CONDENSE_MODEL',
          model,
        ),
      };
    }
    // 413: the prompt is larger than the request (or the key's tokens-per-minute) allows. Sent
    // again it is refused again, so no retry: the passages answer instead, offline.
    if (error instanceof Groq.APIError && error.status === 413)
      return { failure: failures.unavailable(SERVICE) };
    if (error instanceof Groq.RateLimitError) {
      const waitMs = headerMs(error.headers) ?? 2_000;
      if (waitedMs + waitMs <= this.options.retryBudgetMs) return { retryAfterMs: waitMs };
      return { failure: failures.rateLimited(SERVICE, Math.max(1, Math.ceil(waitMs / 1000))) };
    }
    const transient =
      idle ||
      error instanceof StreamEndedEarly ||
      error instanceof Groq.InternalServerError ||
      // 422: Groq could not follow a well-formed request this time and says to retry; 498: its
      // flex tier is at capacity.
      error instanceof Groq.UnprocessableEntityError ||
      (error instanceof Groq.APIError && error.status === 498) ||
      error instanceof Groq.APIConnectionError ||
      (error instanceof Groq.APIError && error.status === undefined);
    if (transient) {
      if (retriesUsed < this.options.maxRetries) {
        // Exponential backoff with jitter so several instances do not retry in lockstep.
        return { retryAfterMs: 250 * 2 ** retriesUsed * (0.75 + this.random() * 0.5) };
      }
      return { failure: failures.unavailable(SERVICE) };
    }
    if (
      error instanceof Groq.BadRequestError &&
      /model/i.test(error.message) &&
      /decommission/i.test(error.message)
    ) {
      return { failure: failures.unknownModel(SERVICE, 'GROQ_MODEL', model) };
    }
    return { failure: failures.internal() };
  }
}

export interface ServiceCheck {
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string;
}

/** For `npm run doctor`: is the key accepted, and is the configured model offered? */
export async function checkGroq(options: {
  apiKey: string;
  model: string;
  baseURL?: string;
  timeoutMs: number;
}): Promise<ServiceCheck> {
  const client = new Groq({
    apiKey: options.apiKey,
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    maxRetries: 0,
    timeout: options.timeoutMs,
  });
  try {
    const models = await client.models.list();
    const ids = models.data.map((model) => model.id);
    if (!ids.includes(options.model)) {
      return {
        ok: false,
        detail: `key accepted, but model "${options.model}" is not offered`,
        fix: `set GROQ_MODEL to one of: ${ids.slice(0, 6).join(', ')}`,
      };
    }
    return { ok: true, detail: `key accepted, model ${options.model} available` };
  } catch (error) {
    if (error instanceof Groq.AuthenticationError || error instanceof Groq.PermissionDeniedError) {
      return {
        ok: false,
        detail: 'the API key was rejected',
        fix: 'create a key in the Groq console and set GROQ_API_KEY',
      };
    }
    if (error instanceof Groq.APIConnectionError) {
      return {
        ok: false,
        detail: `cannot reach ${options.baseURL ?? 'api.groq.com'} (${error instanceof Groq.APIConnectionTimeoutError ? 'timed out' : 'connection failed'})`,
        fix: 'check the network, or GROQ_BASE_URL',
      };
    }
    return { ok: false, detail: `unexpected answer: ${(error as Error).message}` };
  }
}
