/**
 * A loopback fake of Groq's OpenAI-compatible API, as groq-sdk speaks it:
 * POST /openai/v1/chat/completions (JSON, or SSE with `x_groq.usage` on the last chunk and
 * `data: [DONE]`; a reply longer than `max_completion_tokens` stops there with finish_reason
 * `length`), GET /openai/v1/models, Groq's error JSON and rate-limit headers, a
 * Bearer key check, and faults to inject: 401, 429 + retry-after, 500, a slow first token,
 * a stream cut half way, a stream that stalls or pauses half way, and a hang.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { type LoopbackServer, sendJson, sleep, startLoopbackServer } from '../http-server.js';

export interface ChatMessageBody {
  readonly role: string;
  readonly content: string;
}

export interface RecordedGroqRequest {
  readonly method: string;
  readonly path: string;
  /** Headers without the authorization value. */
  readonly headers: IncomingHttpHeaders;
  readonly body: {
    readonly model?: string;
    readonly messages?: ChatMessageBody[];
    readonly stream?: boolean;
    readonly max_completion_tokens?: number;
    /** Deprecated alias of max_completion_tokens, still honoured. */
    readonly max_tokens?: number;
    readonly temperature?: number;
  };
  readonly at: number;
}

export type GroqFault =
  | {
      readonly type: 'status';
      readonly status: number;
      readonly retryAfterSeconds?: number;
      readonly message?: string;
    }
  /** Delay before the first token (and before headers for non-streaming calls). */
  | { readonly type: 'slow'; readonly delayMs: number }
  /** Send about half the reply, then destroy the connection. */
  | { readonly type: 'cut' }
  /** Send about half the reply, then nothing more while the connection stays open (a stalled model). */
  | { readonly type: 'stall' }
  /** Send about half the reply, then the rest once `until` settles (a model slowed down, for as long as a test needs). */
  | { readonly type: 'pause'; readonly until: Promise<void> }
  /** Accept the request and never answer. */
  | { readonly type: 'hang' };

export type ReplyFn = (request: RecordedGroqRequest) => string;

export interface FakeGroqOptions {
  /** The key the fake accepts; any other gets 401. */
  readonly apiKey?: string;
  readonly models?: readonly string[];
  readonly reply?: ReplyFn;
  /** Latency before the first token of every streamed reply. */
  readonly firstTokenDelayMs?: number;
  /** Delay between streamed tokens. */
  readonly tokenDelayMs?: number;
}

export interface FakeGroq {
  /** Value for GROQ_BASE_URL. */
  readonly baseURL: string;
  readonly apiKey: string;
  readonly requests: RecordedGroqRequest[];
  /** Requests to the chat completions endpoint only. */
  chatRequests(): RecordedGroqRequest[];
  /** Injects `fault` into the next `times` chat requests (condense requests included). */
  failNext(fault: GroqFault, times?: number): void;
  clearFaults(): void;
  setReply(reply: ReplyFn): void;
  close(): Promise<void>;
}

const DEFAULT_KEY = 'gsk_test_fake_key_0000000000000000';
const DEFAULT_MODELS = ['llama-3.1-8b-instant', 'llama-3.3-70b-versatile'];

/**
 * The default reply quotes the first sentence of passage [1] so tests can see the answer is
 * grounded, and echoes the follow-up for condense requests.
 */
/** For a condense request (rewrite a follow-up), the follow-up as asked; otherwise undefined. */
export function condensedQuestion(request: RecordedGroqRequest): string | undefined {
  const messages = request.body.messages ?? [];
  if (!/standalone question/i.test(messages[0]?.content ?? '')) return undefined;
  const last = messages.at(-1)?.content ?? '';
  return /Last message: (.*)/.exec(last)?.[1]?.trim() ?? last;
}

/** A reply that condenses follow-ups to the question as asked and answers with `answer`. */
export function answering(answer: string | ReplyFn): ReplyFn {
  return (request) => condensedQuestion(request) ?? (typeof answer === 'string' ? answer : answer(request));
}

export const defaultReply: ReplyFn = (request) => {
  const messages = request.body.messages ?? [];
  const last = messages.at(-1)?.content ?? '';
  const condensed = condensedQuestion(request);
  if (condensed !== undefined) return condensed;
  const passage = /<passage id="1"[^>]*>\n([\s\S]*?)\n<\/passage>/.exec(last)?.[1] ?? '';
  const sentence = passage
    .replace(/^#.*$/gm, '')
    .trim()
    .split(/(?<=[.!?])\s/)[0];
  return sentence
    ? `According to the knowledge base, ${sentence} [1]`
    : 'The knowledge base does not cover that.';
};

function groqError(
  status: number,
  message?: string,
): { error: { message: string; type: string; code?: string } } {
  if (status === 401) {
    return {
      error: {
        message: message ?? 'Invalid API Key',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      },
    };
  }
  if (status === 429) {
    return {
      error: {
        message:
          message ?? 'Rate limit reached for model on requests per minute (RPM). Please try again later.',
        type: 'requests',
        code: 'rate_limit_exceeded',
      },
    };
  }
  if (status === 413) {
    return {
      error: {
        message:
          message ??
          'Request too large for model on tokens per minute (TPM): Limit 6000, Requested 9000, please reduce your message size and try again.',
        type: 'tokens',
        code: 'rate_limit_exceeded',
      },
    };
  }
  if (status === 498) {
    return {
      error: {
        message: message ?? 'Flex tier capacity exceeded.',
        type: 'capacity_exceeded',
        code: 'capacity_exceeded',
      },
    };
  }
  if (status < 500) {
    return {
      error: { message: message ?? 'The request could not be processed.', type: 'invalid_request_error' },
    };
  }
  return { error: { message: message ?? 'Internal Server Error', type: 'internal_server_error' } };
}

function rateLimitHeaders(): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': '14400',
    'x-ratelimit-remaining-requests': '14399',
    'x-ratelimit-limit-tokens': '6000',
    'x-ratelimit-remaining-tokens': '5800',
    'x-ratelimit-reset-requests': '6s',
    'x-ratelimit-reset-tokens': '2s',
  };
}

/** Splits a reply into token-like pieces, keeping spaces so they concatenate back exactly. */
function tokens(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [text];
}

export async function startFakeGroq(options: FakeGroqOptions = {}): Promise<FakeGroq> {
  const apiKey = options.apiKey ?? DEFAULT_KEY;
  const models = options.models ?? DEFAULT_MODELS;
  const requests: RecordedGroqRequest[] = [];
  const faults: GroqFault[] = [];
  let reply = options.reply ?? defaultReply;
  let sequence = 0;

  const chunk = (
    id: string,
    model: string,
    delta: Record<string, string>,
    extra: Record<string, unknown> = {},
  ) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model,
      system_fingerprint: 'fp_fake',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
      ...extra,
    })}\n\n`;

  async function stream(res: ServerResponse, request: RecordedGroqRequest, text: string, fault?: GroqFault) {
    const id = `chatcmpl-fake-${++sequence}`;
    const model = request.body.model ?? '';
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      ...rateLimitHeaders(),
    });
    const firstDelay = fault?.type === 'slow' ? fault.delayMs : (options.firstTokenDelayMs ?? 0);
    if (firstDelay > 0) await sleep(firstDelay);
    res.write(chunk(id, model, { role: 'assistant', content: '' }));
    // As the API: the completion stops at max_completion_tokens (a token here is one piece), finish_reason "length".
    const all = tokens(text);
    const limit = request.body.max_completion_tokens ?? request.body.max_tokens;
    const pieces = limit !== undefined && all.length > limit ? all.slice(0, limit) : all;
    const finishReason = pieces.length < all.length ? 'length' : 'stop';
    for (const [i, piece] of pieces.entries()) {
      if (fault?.type === 'stall' && i >= Math.ceil(pieces.length / 2)) {
        // Held until the client goes away (its process killed) or the fake closes.
        await new Promise<void>((resolve) => res.once('close', () => resolve()));
        return;
      }
      if (fault?.type === 'pause' && i === Math.ceil(pieces.length / 2)) {
        const gone = new Promise<'gone'>((resolve) => res.once('close', () => resolve('gone')));
        if ((await Promise.race([fault.until.then(() => 'go' as const), gone])) === 'gone') return;
      }
      if (fault?.type === 'cut' && i >= Math.ceil(pieces.length / 2)) {
        // Let the first half reach the client before the connection dies, as in a real cut.
        await sleep(50);
        res.destroy();
        return;
      }
      res.write(chunk(id, model, { content: piece }));
      if (options.tokenDelayMs) await sleep(options.tokenDelayMs);
    }
    const promptTokens = (request.body.messages ?? []).reduce(
      (n, m) => n + Math.ceil(m.content.length / 4),
      0,
    );
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: pieces.length,
      total_tokens: promptTokens + pieces.length,
      queue_time: 0.01,
      prompt_time: 0.001,
      completion_time: 0.01,
      total_time: 0.02,
    };
    res.write(
      `data: ${JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }],
        x_groq: { id: `req_fake_${sequence}`, usage },
      })}\n\n`,
    );
    res.end('data: [DONE]\n\n');
  }

  const server: LoopbackServer = await startLoopbackServer(async (req, res, raw) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const { authorization: _authorization, ...headers } = req.headers;
    const request: RecordedGroqRequest = {
      method: req.method ?? 'GET',
      path,
      headers,
      body: raw ? (JSON.parse(raw) as RecordedGroqRequest['body']) : {},
      at: Date.now(),
    };
    requests.push(request);

    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      sendJson(res, 401, groqError(401));
      return;
    }
    if (req.method === 'GET' && path === '/openai/v1/models') {
      sendJson(res, 200, {
        object: 'list',
        data: models.map((id) => ({
          id,
          object: 'model',
          created: 1_700_000_000,
          owned_by: 'Fake',
          active: true,
        })),
      });
      return;
    }
    if (req.method !== 'POST' || path !== '/openai/v1/chat/completions') {
      sendJson(res, 404, {
        error: { message: `Unknown request URL: ${req.method} ${path}`, type: 'invalid_request_error' },
      });
      return;
    }

    const fault = faults.shift();
    if (fault?.type === 'hang') return;
    if (fault?.type === 'status') {
      const retry: Record<string, string> =
        fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      sendJson(res, fault.status, groqError(fault.status, fault.message), {
        ...rateLimitHeaders(),
        ...retry,
      });
      return;
    }
    const model = request.body.model ?? '';
    if (!models.includes(model)) {
      sendJson(res, 404, {
        error: {
          message: `The model \`${model}\` does not exist or you do not have access to it.`,
          type: 'invalid_request_error',
          code: 'model_not_found',
        },
      });
      return;
    }
    const text = reply(request);
    if (request.body.stream) {
      await stream(res, request, text, fault);
      return;
    }
    if (fault?.type === 'slow') await sleep(fault.delayMs);
    sendJson(
      res,
      200,
      {
        id: `chatcmpl-fake-${++sequence}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [
          { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null },
        ],
        usage: {
          prompt_tokens: 10,
          completion_tokens: tokens(text).length,
          total_tokens: 10 + tokens(text).length,
        },
      },
      rateLimitHeaders(),
    );
  });

  return {
    baseURL: server.url,
    apiKey,
    requests,
    chatRequests: () => requests.filter((r) => r.path === '/openai/v1/chat/completions'),
    failNext(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    clearFaults() {
      faults.length = 0;
    },
    setReply(next) {
      reply = next;
    },
    close: () => server.close(),
  };
}
