/**
 * The shared limiter behind the question limits (per minute) and the hand-off limits (per hour),
 * on an injected clock: each counter lasts its own window whatever other windows the limiter
 * serves, and a hand-off counts only when it pings the group.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConversationLayer } from '../../src/conversation/layer.js';
import type { AnswerEvent, Answerer, Question } from '../../src/core/types.js';
import { silentLogger } from '../../src/log.js';
import { LimitedAnswerer } from '../../src/ops/limited-answerer.js';
import { MemoryDedupeStore, MemoryRateLimiter } from '../../src/ops/shared-state.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const answered: Answerer = {
  async *answer(question: Question): AsyncGenerator<AnswerEvent> {
    yield {
      type: 'done',
      text: 'ok',
      mode: 'extractive',
      degraded: false,
      timings: { condenseMs: 0, retrievalMs: 0, firstTokenMs: 0, totalMs: 0 },
      standaloneQuestion: question.text,
    };
  },
};

/** The bot's pieces as compose.ts wires them: one limiter for questions and hand-offs. */
function bot(limits = { userPerHour: 3, channelPerHour: 10 }) {
  const clock = { now: 1_000_000 };
  const rates = new MemoryRateLimiter(() => clock.now);
  const dedupe = new MemoryDedupeStore(() => clock.now);
  const questions = new LimitedAnswerer(answered, rates, {
    userPerMinute: 5,
    channelPerMinute: 20,
    maxConcurrent: 2,
    maxQueued: 2,
  });
  const layer = new ConversationLayer({
    answerer: questions,
    log: silentLogger,
    dedupe,
    maxQuestionChars: 100,
    escalations: { rates, ...limits },
  });
  let answers = 0;
  const click = (userId: string, channelId = 'C1', questionId = `answer-${++answers}`) =>
    layer.mayEscalate({ platform: 'slack', questionId, userId, channelId });
  const ask = async (userId: string) => {
    for await (const _ of questions.answer({
      id: `q-${Math.random()}`,
      text: 'How?',
      asker: { id: userId },
      place: { platform: 'slack', channelId: 'C2' },
    }));
  };
  return { clock, rates, click, ask };
}

describe('limits of different windows in one limiter', () => {
  it('an hourly hand-off limit still holds a minute later, after questions counted per minute', async () => {
    const { clock, click, ask } = bot();
    for (let i = 0; i < 3; i++) expect((await click('U0FARMER')).ok).toBe(true);
    expect((await click('U0FARMER')).ok).toBe(false);
    clock.now += 61_000;
    await ask('U0SOMEONE');
    clock.now += 2_000;
    await ask('U0SOMEONE');
    const again = await click('U0FARMER');
    expect(again).toMatchObject({ ok: false, message: expect.stringMatching(/3 times in the last hour/) });
    expect(again.ok === false && again.message).toMatch(/Try again in 5[89] minute/);
    clock.now += HOUR;
    expect((await click('U0FARMER')).ok).toBe(true);
  });

  it('keeps every counter until its own window ends, whatever windows the others have (any order of hits)', async () => {
    // Each key has its limit and window; a reference model counts them one by one.
    const keys = [
      { key: 'a', limit: 2, windowMs: 1_000 },
      { key: 'b', limit: 3, windowMs: MINUTE },
      { key: 'c', limit: 1, windowMs: HOUR },
      { key: 'd', limit: 4, windowMs: 24 * HOUR },
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: keys.length - 1 }), fc.nat({ max: 2 * HOUR })), { maxLength: 80 }),
        async (steps) => {
          let now = 0;
          const limiter = new MemoryRateLimiter(() => now);
          const model = new Map<string, { until: number; count: number }>();
          for (const [which, wait] of steps) {
            now += wait % 7 === 0 ? wait : wait % (2 * MINUTE);
            const { key, limit, windowMs } = keys[which]!;
            const live = model.get(key);
            const counter = live && live.until > now ? live : { until: now + windowMs, count: 0 };
            const allowed = counter.count < limit;
            if (allowed) counter.count += 1;
            model.set(key, counter);
            const decision = await limiter.hit(key, limit, windowMs);
            expect(decision.allowed).toBe(allowed);
            expect(decision.retryAfterMs).toBe(allowed ? 0 : counter.until - now);
          }
        },
      ),
    );
  });
});
describe('hand-off limits count only the clicks that ping', () => {
  it('clicks under an answer already handed off are told so and spend nothing', async () => {
    const { click } = bot();
    expect((await click('U1', 'C1', 'answer-a')).ok).toBe(true);
    for (let i = 0; i < 5; i++) {
      expect(await click('U1', 'C1', 'answer-a')).toMatchObject({ ok: false, message: /already asked/ });
    }
    expect((await click('U1')).ok).toBe(true);
    expect((await click('U1')).ok).toBe(true);
    expect((await click('U1')).ok).toBe(false);
  });

  it('a click the channel refuses spends none of the person’s limit, and leaves the answer free to hand off', async () => {
    const { clock, click } = bot({ userPerHour: 2, channelPerHour: 2 });
    expect((await click('U1', 'C9')).ok).toBe(true);
    expect((await click('U2', 'C9')).ok).toBe(true);
    const refused = await click('U3', 'C9', 'answer-x');
    expect(refused).toMatchObject({ ok: false, message: /from this channel in the last hour/ });
    // U3's refused click cost them nothing: two hand-offs elsewhere still go through.
    expect((await click('U3', 'C8')).ok).toBe(true);
    expect((await click('U3', 'C7')).ok).toBe(true);
    // Once the channel's hour is over, the answer refused before can still be handed off.
    clock.now += HOUR;
    expect((await click('U4', 'C9', 'answer-x')).ok).toBe(true);
  });

  it('a click the person’s limit refuses spends none of the channel’s', async () => {
    const { click } = bot({ userPerHour: 1, channelPerHour: 2 });
    expect((await click('U1', 'C1')).ok).toBe(true);
    for (let i = 0; i < 4; i++) expect((await click('U1', 'C1')).ok).toBe(false);
    expect((await click('U2', 'C1')).ok).toBe(true);
  });
});
