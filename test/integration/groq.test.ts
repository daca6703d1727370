import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRagError } from '../../src/core/failures.js';
import { RagCore } from '../../src/core/rag-core.js';
import type {
  AnswerEvent,
  GenerationChunk,
  GenerationRequest,
  Passage,
  Retriever,
} from '../../src/core/types.js';
import { DEGRADED_LABEL, ExtractiveGenerator } from '../../src/generators/extractive.js';
import { checkGroq, GroqGenerator, type GroqGeneratorOptions } from '../../src/generators/groq.js';
import { defaultReply, type FakeGroq, startFakeGroq } from '../fakes/groq/index.js';

let fake: FakeGroq;
beforeAll(async () => {
  fake = await startFakeGroq();
});
afterAll(() => fake.close());
afterEach(() => {
  fake.clearFaults();
  fake.requests.length = 0;
  waits = [];
});

/** What the generator asked to wait, in order; the waits themselves are skipped. */
let waits: number[] = [];
const recordWait = async (ms: number) => {
  waits.push(ms);
};

function generator(overrides: Partial<GroqGeneratorOptions> = {}) {
  return new GroqGenerator({
    apiKey: fake.apiKey,
    model: 'llama-3.1-8b-instant',
    condenseModel: 'llama-3.3-70b-versatile',
    baseURL: fake.baseURL,
    timeoutMs: 2_000,
    maxRetries: 2,
    retryBudgetMs: 3_000,
    sleep: recordWait,
    ...overrides,
  });
}

const request = (overrides: Partial<GenerationRequest> = {}): GenerationRequest => ({
  purpose: 'answer',
  messages: [
    { role: 'system', content: 'Answer from the passages.' },
    {
      role: 'user',
      content:
        '<context>\n<passage id="1" source="a.md" title="A">\nThe bot installs with npm ci. Then run it.\n</passage>\n</context>\n\nQuestion: How do I install it?',
    },
  ],
  question: 'How do I install it?',
  passages: [],
  history: [],
  maxTokens: 256,
  temperature: 0.2,
  ...overrides,
});

async function run(gen: GroqGenerator, req = request()) {
  const chunks: GenerationChunk[] = [];
  try {
    for await (const chunk of gen.generate(req)) chunks.push(chunk);
    return { chunks, text: chunks.map((c) => (c.type === 'text' ? c.text : '')).join(''), error: undefined };
  } catch (error) {
    return { chunks, text: chunks.map((c) => (c.type === 'text' ? c.text : '')).join(''), error };
  }
}

function failureOf(error: unknown) {
  if (!isRagError(error)) throw new Error(`expected a RagError, got ${String(error)}`);
  return error.failure;
}

describe('Groq generation through groq-sdk', () => {
  it('streams the answer in order, sends role-based messages to the configured model, and reports usage', async () => {
    const { chunks, text, error } = await run(generator());
    expect(error).toBeUndefined();
    expect(text).toBe('According to the knowledge base, The bot installs with npm ci. [1]');
    expect(chunks.filter((c) => c.type === 'text').length).toBeGreaterThan(3);
    const usage = chunks.find((c) => c.type === 'usage');
    expect(usage?.type === 'usage' && usage.usage.completionTokens).toBeGreaterThan(0);
    const [sent] = fake.chatRequests();
    expect(sent?.body.model).toBe('llama-3.1-8b-instant');
    expect(sent?.body.stream).toBe(true);
    expect(sent?.body.messages?.map((m) => m.role)).toEqual(['system', 'user']);
    // max_tokens is deprecated in Groq's API reference: the current name is sent.
    expect(sent?.body.max_completion_tokens).toBe(256);
    expect(sent?.body.max_tokens).toBeUndefined();
  });

  it('carries the question id to Groq for end-to-end tracing', async () => {
    await run(generator(), request({ questionId: 'q-trace-1' }));
    expect(fake.chatRequests()[0]?.headers['x-request-id']).toBe('q-trace-1');
  });

  it('uses the condense model for follow-up rewriting', async () => {
    await run(generator(), request({ purpose: 'condense' }));
    expect(fake.chatRequests()[0]?.body.model).toBe('llama-3.3-70b-versatile');
  });

  it('reports a rejected key as misconfiguration naming GROQ_API_KEY, without retrying', async () => {
    const { error } = await run(generator({ apiKey: 'gsk_wrong' }));
    const failure = failureOf(error);
    expect(failure.kind).toBe('misconfigured');
    expect(failure.variable).toBe('GROQ_API_KEY');
    expect(failure.message).toContain('GROQ_API_KEY');
    expect(failure.message).not.toContain('gsk_wrong');
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('names GROQ_MODEL when the model does not exist', async () => {
    const { error } = await run(generator({ model: 'llama-9-imaginary' }));
    const failure = failureOf(error);
    expect(failure.kind).toBe('misconfigured');
    expect(failure.message).toContain('GROQ_MODEL');
    expect(failure.message).toContain('llama-9-imaginary');
  });

  it('honours retry-after on 429 and succeeds on the retry', async () => {
    fake.failNext({ type: 'status', status: 429, retryAfterSeconds: 1 });
    const { text, error } = await run(generator());
    expect(error).toBeUndefined();
    expect(text).toContain('[1]');
    expect(fake.chatRequests()).toHaveLength(2);
    expect(waits).toEqual([1_000]);
  });

  it('keeps waiting on repeated 429s only while the total stays within the retry budget', async () => {
    fake.failNext({ type: 'status', status: 429, retryAfterSeconds: 1 }, 5);
    const { error } = await run(generator({ retryBudgetMs: 2_500 }));
    const failure = failureOf(error);
    expect(failure.kind).toBe('rate_limited');
    expect(failure.retryAfterSeconds).toBe(1);
    expect(waits).toEqual([1_000, 1_000]);
    expect(fake.chatRequests()).toHaveLength(3);
  });

  it('backs off exponentially, with jitter, between retries of server errors', async () => {
    fake.failNext({ type: 'status', status: 500 }, 3);
    const low = await run(generator({ maxRetries: 3, random: () => 0 }));
    expect(low.error).toBeUndefined();
    expect(waits).toEqual([187.5, 375, 750]);
    waits = [];
    fake.failNext({ type: 'status', status: 500 }, 2);
    await run(generator({ maxRetries: 3, random: () => 0.999_999 }));
    expect(waits.map(Math.round)).toEqual([312, 625]);
  });

  it('gives up on 429 when the wait would exceed the budget, saying when to try again', async () => {
    fake.failNext({ type: 'status', status: 429, retryAfterSeconds: 30 });
    const { error } = await run(generator({ retryBudgetMs: 1_000 }));
    const failure = failureOf(error);
    expect(failure.kind).toBe('rate_limited');
    expect(failure.retryAfterSeconds).toBe(30);
    expect(failure.message).toContain('try again in 30 seconds');
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('does not resend a prompt Groq refused as too large (413), so the passages can answer at once', async () => {
    fake.failNext({ type: 'status', status: 413, retryAfterSeconds: 1 }, 5);
    const { error } = await run(generator());
    // Unavailable is what the core answers from the passages for; "busy, try again" would be wrong.
    expect(failureOf(error).kind).toBe('unavailable');
    expect(fake.chatRequests()).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('retries what Groq documents as worth retrying (422, 498) instead of calling it an internal error', async () => {
    fake.failNext({ type: 'status', status: 422 });
    fake.failNext({ type: 'status', status: 498 });
    const { text, error } = await run(generator());
    expect(error).toBeUndefined();
    expect(text).toContain('[1]');
    expect(fake.chatRequests()).toHaveLength(3);
  });

  it('says so when the answer stops at its token limit (finish_reason length), keeping the text and usage', async () => {
    fake.setReply(() => 'one two three four five six seven eight nine ten');
    try {
      const { text, error, chunks } = await run(generator(), request({ maxTokens: 4 }));
      expect(text).toBe('one two three four');
      const failure = failureOf(error);
      expect(failure.kind).toBe('interrupted');
      expect(failure.partialText).toBe(text);
      expect(failure.message).toContain('length limit');
      expect(failure.message).toContain('RAG_MAX_ANSWER_TOKENS');
      expect(chunks.some((chunk) => chunk.type === 'usage')).toBe(true);
      expect(fake.chatRequests()).toHaveLength(1);
      // A follow-up's rewriting cut short is no failure of the answer: the core judges it.
      const condensed = await run(generator(), request({ purpose: 'condense', maxTokens: 4 }));
      expect(condensed.error).toBeUndefined();
      expect(condensed.text).toBe('one two three four');
    } finally {
      fake.setReply(defaultReply);
    }
  });

  it('retries server errors and answers when Groq recovers', async () => {
    fake.failNext({ type: 'status', status: 500 }, 2);
    const { text, error } = await run(generator());
    expect(error).toBeUndefined();
    expect(text).toContain('[1]');
    expect(fake.chatRequests()).toHaveLength(3);
  });

  it('reports Groq unavailable after the bounded retries', async () => {
    fake.failNext({ type: 'status', status: 503 }, 10);
    const { error } = await run(generator({ maxRetries: 2 }));
    expect(failureOf(error).kind).toBe('unavailable');
    expect(fake.chatRequests()).toHaveLength(3);
  });

  it('treats a hung request as unavailable once the timeout passes', async () => {
    fake.failNext({ type: 'hang' }, 5);
    const { error } = await run(generator({ timeoutMs: 300, maxRetries: 1 }));
    expect(failureOf(error).kind).toBe('unavailable');
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('keeps the partial text and marks it interrupted when the stream is cut, never retrying', async () => {
    fake.failNext({ type: 'cut' });
    const { text, error } = await run(generator());
    const failure = failureOf(error);
    expect(failure.kind).toBe('interrupted');
    expect(text.length).toBeGreaterThan(0);
    expect(failure.partialText).toBe(text);
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('stops when the caller aborts, without waiting for the slow reply', async () => {
    fake.failNext({ type: 'slow', delayMs: 5_000 });
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 100);
    const { error, text } = await run(generator(), request({ signal: controller.signal }));
    // Had it waited for the reply, it would have ended with the full answer and no error.
    expect(error).toBe(reason);
    expect(text).toBe('');
  });

  it('stops waiting out a retry-after when the caller aborts', async () => {
    fake.failNext({ type: 'status', status: 429, retryAfterSeconds: 2 });
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const { error } = await run(
      generator({
        sleep: async (ms, signal) => {
          waits.push(ms);
          controller.abort(reason);
          signal?.throwIfAborted();
        },
      }),
      request({ signal: controller.signal }),
    );
    expect(error).toBe(reason);
    expect(waits).toEqual([2_000]);
    expect(fake.chatRequests()).toHaveLength(1);
  });
});

describe('the core with a stalled Groq', () => {
  const passage: Passage = {
    id: 'install',
    text: 'The bot installs with npm ci. Then run npm start.',
    score: 0.9,
    source: 'knowledge/install.md',
    metadata: {},
  };
  const retriever: Retriever = { description: 'fixed', defaultMinScore: 0.5, search: async () => [passage] };

  it('answers from the passages, labelled, instead of "took too long", and says it is waiting meanwhile', async () => {
    // Three attempts of 1 s each would outlast the 1.5 s answer deadline, as 3 × 30 s outlast 90 s by default.
    fake.failNext({ type: 'hang' }, 10);
    const core = new RagCore({
      retriever,
      generator: generator({ timeoutMs: 1_000, maxRetries: 2, sleep: undefined }),
      fallbackGenerator: new ExtractiveGenerator({ label: DEGRADED_LABEL }),
      options: {
        topK: 3,
        maxQuestionChars: 2_000,
        contextTokens: 4_000,
        maxAnswerTokens: 256,
        answerTimeoutMs: 1_500,
        waitingNoticeMs: 100,
      },
    });
    const events: AnswerEvent[] = [];
    for await (const event of core.answer({
      id: 'q-hang',
      text: 'How do I install it?',
      place: { platform: 'terminal' },
    }))
      events.push(event);
    const done = events.at(-1)!;
    expect(done.type).toBe('done');
    if (done.type !== 'done') return;
    expect(done.degraded).toBe(true);
    expect(done.text.startsWith(DEGRADED_LABEL)).toBe(true);
    expect(done.text).toContain('npm ci');
    const waiting = events.findIndex((e) => e.type === 'status' && e.stage === 'waiting');
    expect(waiting).toBeGreaterThan(-1);
    expect(waiting).toBeLessThan(events.findIndex((e) => e.type === 'delta'));
    expect(fake.chatRequests().length).toBeGreaterThanOrEqual(1);
  });
});

describe('doctor check for Groq', () => {
  it('confirms a valid key and an available model', async () => {
    const result = await checkGroq({
      apiKey: fake.apiKey,
      model: 'llama-3.1-8b-instant',
      baseURL: fake.baseURL,
      timeoutMs: 2000,
    });
    expect(result.ok).toBe(true);
  });

  it('explains a bad key and a missing model with the fix', async () => {
    const badKey = await checkGroq({ apiKey: 'nope', model: 'x', baseURL: fake.baseURL, timeoutMs: 2000 });
    expect(badKey.ok).toBe(false);
    expect(badKey.fix).toContain('GROQ_API_KEY');
    const badModel = await checkGroq({
      apiKey: fake.apiKey,
      model: 'gpt-99',
      baseURL: fake.baseURL,
      timeoutMs: 2000,
    });
    expect(badModel.ok).toBe(false);
    expect(badModel.fix).toContain('llama-3.1-8b-instant');
  });

  it('reports an unreachable endpoint', async () => {
    const result = await checkGroq({
      apiKey: 'x',
      model: 'x',
      baseURL: 'http://127.0.0.1:9',
      timeoutMs: 1000,
    });
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('cannot reach');
  });
});
