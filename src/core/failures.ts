/**
 * Every way an answer can fail, with the short message a user sees. Front ends render
 * `failure.message` as is; they may add platform hints but never a stack trace.
 */

export type FailureKind =
  /** Blank question. */
  | 'empty_question'
  /** Question longer than the configured limit; nothing was sent anywhere. */
  | 'question_too_long'
  /** A credential or setting is wrong (e.g. Groq 401). `variable` names it. */
  | 'misconfigured'
  /** A provider's rate limit outlasted the retry budget. `retryAfterSeconds` says when to retry. */
  | 'rate_limited'
  /** A provider is down, erroring or unreachable after bounded retries. */
  | 'unavailable'
  /** The answer took longer than the configured timeout. */
  | 'timeout'
  /** The generation stopped part way; `partialText` holds what arrived. */
  | 'interrupted'
  /** The knowledge base has nothing relevant to the question. */
  | 'nothing_found'
  /** The model wrote nothing that could be shown (blank, or only citations of no source). */
  | 'empty_answer'
  /** Too many questions from this user or channel; `retryAfterSeconds` says when to retry. */
  | 'slow_down'
  /** The bot is at its concurrency limit and its queue is full. */
  | 'busy'
  /** The bot is shutting down and takes no new questions. */
  | 'shutting_down'
  /** A bug: logged with details, shown to the user as a generic apology. */
  | 'internal';

export interface Failure {
  readonly kind: FailureKind;
  /** Short, friendly, safe to show: no secrets, no stack traces. */
  readonly message: string;
  readonly retryAfterSeconds?: number;
  /** The environment variable to fix, for `misconfigured`. */
  readonly variable?: string;
  /** Text streamed before the failure, for `interrupted` and `timeout`. */
  readonly partialText?: string;
  /** Which dependency failed, for logs and metrics: "groq", "upstash", "slack", ... */
  readonly service?: string;
}

/** Error type thrown by back ends and caught by the core, carrying a `Failure`. */
export class RagError extends Error {
  readonly failure: Failure;

  constructor(failure: Failure, options?: { cause?: unknown }) {
    super(failure.message, options);
    this.name = 'RagError';
    this.failure = failure;
  }

  get kind(): FailureKind {
    return this.failure.kind;
  }
}

export function isRagError(error: unknown): error is RagError {
  return error instanceof RagError;
}

const seconds = (s: number): string => `${s} second${s === 1 ? '' : 's'}`;

/** Builders for each failure with its standard wording, so every front end says the same thing. */
export const failures = {
  emptyQuestion: (): Failure => ({
    kind: 'empty_question',
    message: 'Please include a question, for example: "How do I add the bot to Slack?"',
  }),
  questionTooLong: (length: number, limit: number): Failure => ({
    kind: 'question_too_long',
    message: `That question is ${length.toLocaleString('en-US')} characters long; the limit is ${limit.toLocaleString('en-US')}. Please shorten it and ask again.`,
  }),
  misconfigured: (service: string, variable: string): Failure => ({
    kind: 'misconfigured',
    service,
    variable,
    message: `The bot is misconfigured: ${service} rejected its credentials. An administrator needs to check ${variable}.`,
  }),
  unknownModel: (service: string, variable: string, model: string): Failure => ({
    kind: 'misconfigured',
    service,
    variable,
    message: `The bot is misconfigured: ${service} does not offer the model "${model}". An administrator needs to check ${variable}.`,
  }),
  rateLimited: (service: string, retryAfterSeconds: number): Failure => ({
    kind: 'rate_limited',
    service,
    retryAfterSeconds,
    message: `The bot is busy right now (${service} rate limit). Please try again in ${seconds(retryAfterSeconds)}.`,
  }),
  /** The provider's plan allows so many requests a day, and they are used up. */
  dailyLimit: (service: string): Failure => ({
    kind: 'rate_limited',
    service,
    message: `The bot has used up its daily allowance of ${service} requests, so it cannot answer right now. Please try again later; an administrator can raise the plan's limit.`,
  }),
  unavailable: (service: string): Failure => ({
    kind: 'unavailable',
    service,
    message: `${service} is unavailable right now, so the bot cannot answer. Please try again in a few minutes.`,
  }),
  timeout: (partialText?: string): Failure => ({
    kind: 'timeout',
    ...(partialText ? { partialText } : {}),
    message: 'The answer took too long and was stopped. Please try again, perhaps with a narrower question.',
  }),
  interrupted: (partialText: string, service?: string): Failure => ({
    kind: 'interrupted',
    partialText,
    ...(service ? { service } : {}),
    message:
      'The answer was interrupted before it finished; what arrived is shown above. Please ask again for a complete answer.',
  }),
  /** The model stopped at the answer's token limit (finish_reason `length`): the text is cut. */
  cutAtLimit: (partialText: string, service: string): Failure => ({
    kind: 'interrupted',
    partialText,
    service,
    message:
      'The answer reached the length limit set for the bot and stops there; what arrived is shown above. Ask about one part of it for the rest (an administrator can raise RAG_MAX_ANSWER_TOKENS).',
  }),
  nothingFound: (): Failure => ({
    kind: 'nothing_found',
    message:
      "I couldn't find anything about that in the knowledge base, so I won't guess. Try rephrasing, or ask an admin to add the relevant documents.",
  }),
  emptyAnswer: (): Failure => ({
    kind: 'empty_answer',
    message:
      'The model wrote no answer to that. Please try again, perhaps with the question worded differently.',
  }),
  slowDown: (retryAfterSeconds: number): Failure => ({
    kind: 'slow_down',
    retryAfterSeconds,
    message: `You're asking faster than the bot allows. Please slow down and try again in ${seconds(retryAfterSeconds)}.`,
  }),
  busy: (): Failure => ({
    kind: 'busy',
    message: 'The bot is handling too many questions right now. Please try again in a minute.',
  }),
  shuttingDown: (): Failure => ({
    kind: 'shutting_down',
    message: 'The bot is restarting and cannot take new questions for a moment. Please ask again shortly.',
  }),
  internal: (): Failure => ({
    kind: 'internal',
    message:
      'Something went wrong on the bot’s side while answering. The error was logged; please try again.',
  }),
} as const;
