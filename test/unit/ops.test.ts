import { describe, expect, it } from 'vitest';
import { failures } from '../../src/core/failures.js';
import type { AnswerEvent, Answerer, Question } from '../../src/core/types.js';
import { DrainingAnswerer } from '../../src/ops/draining-answerer.js';
import { LimitedAnswerer } from '../../src/ops/limited-answerer.js';
import { BotMetrics, MeteredAnswerer } from '../../src/ops/metrics.js';
import { MemoryDedupeStore, MemoryRateLimiter } from '../../src/ops/shared-state.js';

/** An answerer that takes `ms` per answer and counts how many run at once. */
class SlowAnswerer implements Answerer {
  running = 0;
  peak = 0;
  constructor(private readonly ms: number) {}
  async *answer(question: Question): AsyncGenerator<AnswerEvent> {
    this.running += 1;
    this.peak = Math.max(this.peak, this.running);
    try {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, this.ms);
        question.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new Error('aborted'));
        });
      });
      yield { type: 'delta', text: 'ok' };
      yield {
        type: 'done',
        text: 'ok',
        mode: 'groq',
        degraded: false,
        usage: { promptTokens: 100, completionTokens: 20, totalTokens: 120 },
        timings: { condenseMs: 0, retrievalMs: 10, firstTokenMs: 20, totalMs: 30 },
        standaloneQuestion: question.text,
      };
    } catch {
      yield { type: 'failure', failure: failures.interrupted('') };
    } finally {
      this.running -= 1;
    }
  }
}

const question = (user: string, channel = 'C1', text = 'How?'): Question => ({
  id: `q-${Math.random()}`,
  text,
  asker: { id: user },
  place: { platform: 'slack', channelId: channel },
});

async function last(stream: AsyncIterable<AnswerEvent>): Promise<AnswerEvent> {
  let final: AnswerEvent | undefined;
  for await (const event of stream) final = event;
  return final!;
}

const limits = { userPerMinute: 3, channelPerMinute: 100, maxConcurrent: 2, maxQueued: 2 };

describe('question limits', () => {
  it('tells a user who asks too fast to slow down, with the wait, without touching other users', async () => {
    const limited = new LimitedAnswerer(new SlowAnswerer(1), new MemoryRateLimiter(), limits);
    for (let i = 0; i < 3; i++) expect((await last(limited.answer(question('U1')))).type).toBe('done');
    const refused = await last(limited.answer(question('U1')));
    expect(refused.type === 'failure' && refused.failure.kind).toBe('slow_down');
    expect(refused.type === 'failure' && refused.failure.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.type === 'failure' && refused.failure.message).toMatch(/try again in \d+ second/);
    expect((await last(limited.answer(question('U2')))).type).toBe('done');
  });

  it('limits a busy channel too', async () => {
    const limited = new LimitedAnswerer(new SlowAnswerer(1), new MemoryRateLimiter(), {
      ...limits,
      userPerMinute: 0,
      channelPerMinute: 2,
    });
    await last(limited.answer(question('U1', 'C9')));
    await last(limited.answer(question('U2', 'C9')));
    const refused = await last(limited.answer(question('U3', 'C9')));
    expect(refused.type === 'failure' && refused.failure.kind).toBe('slow_down');
  });

  it("does not let one user's refused flood spend the channel's budget for everyone else", async () => {
    const limited = new LimitedAnswerer(new SlowAnswerer(0), new MemoryRateLimiter(), {
      ...limits,
      userPerMinute: 10,
      channelPerMinute: 60,
    });
    const kinds: string[] = [];
    for (let i = 0; i < 300; i++) {
      const end = await last(limited.answer(question('U1', 'C7')));
      kinds.push(end.type === 'failure' ? end.failure.kind : end.type);
    }
    expect(kinds.filter((kind) => kind === 'done')).toHaveLength(10);
    expect(kinds.filter((kind) => kind === 'slow_down')).toHaveLength(290);
    // Another user's first question in that channel is answered, not told to slow down.
    expect((await last(limited.answer(question('U2', 'C7')))).type).toBe('done');
  });

  it('runs at most maxConcurrent answers, queues a few, and says busy beyond the queue instead of piling up', async () => {
    const slow = new SlowAnswerer(100);
    const limited = new LimitedAnswerer(slow, new MemoryRateLimiter(), { ...limits, userPerMinute: 0 });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => last(limited.answer(question(`U${i}`)))),
    );
    const kinds = results.map((event) => (event.type === 'failure' ? event.failure.kind : event.type));
    expect(kinds.filter((kind) => kind === 'done')).toHaveLength(4);
    expect(kinds.filter((kind) => kind === 'busy')).toHaveLength(2);
    expect(slow.peak).toBe(2);
  });
});

describe('graceful draining', () => {
  it('lets answers finish within the grace period and refuses new questions meanwhile', async () => {
    const draining = new DrainingAnswerer(new SlowAnswerer(50));
    const pending = last(draining.answer(question('U1')));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const drained = draining.drain(1_000);
    const late = await last(draining.answer(question('U2')));
    expect(late.type === 'failure' && late.failure.kind).toBe('shutting_down');
    expect((await pending).type).toBe('done');
    expect(await drained).toEqual({ finished: true, interrupted: 0 });
  });

  it('interrupts answers that outlast the grace period', async () => {
    const draining = new DrainingAnswerer(new SlowAnswerer(10_000));
    const pending = last(draining.answer(question('U1')));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await draining.drain(50)).toEqual({ finished: false, interrupted: 1 });
    const end = await pending;
    expect(end.type === 'failure' && end.failure.kind).toBe('interrupted');
  });
});

describe('metrics', () => {
  it('counts questions by platform and outcome, stage latency, tokens and failures in Prometheus format', async () => {
    const metrics = new BotMetrics();
    const metered = new MeteredAnswerer(
      new LimitedAnswerer(new SlowAnswerer(1), new MemoryRateLimiter(), { ...limits, userPerMinute: 1 }),
      metrics,
    );
    await last(metered.answer(question('U1')));
    await last(metered.answer(question('U1')));
    const text = await metrics.registry.metrics();
    expect(text).toContain('rag_questions_total{platform="slack",outcome="answered"} 1');
    expect(text).toContain('rag_questions_total{platform="slack",outcome="slow_down"} 1');
    expect(text).toContain('rag_failures_total{kind="slow_down",service="bot"} 1');
    expect(text).toContain('rag_tokens_total{type="prompt"} 100');
    expect(text).toMatch(/rag_stage_seconds_count\{stage="first_token"\} 1/);
    expect(text).toContain('rag_answers_in_flight 0');
    expect(text).toContain('process_resident_memory_bytes');
  });
});

describe('in-process shared state', () => {
  it('drops a repeated key within its time to live and accepts it again after', async () => {
    let now = 0;
    const dedupe = new MemoryDedupeStore(() => now);
    expect(await dedupe.firstSeen('ev1', 1_000)).toBe(true);
    expect(await dedupe.firstSeen('ev1', 1_000)).toBe(false);
    now = 2_000;
    expect(await dedupe.firstSeen('ev1', 1_000)).toBe(true);
  });
});
