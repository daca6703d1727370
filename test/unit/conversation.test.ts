import { describe, expect, it } from 'vitest';
import type { Conversation, FinalReply } from '../../src/conversation/conversation.js';
import { ConversationLayer, isAllowed } from '../../src/conversation/layer.js';
import { strings } from '../../src/conversation/strings.js';
import { failures } from '../../src/core/failures.js';
import type { AnswerEvent, Answerer, Source } from '../../src/core/types.js';
import { silentLogger } from '../../src/log.js';
import { MemoryDedupeStore } from '../../src/ops/shared-state.js';
import { slackNeutralizer } from '../../src/render/slack-text.js';
import type { EditClock } from '../../src/render/throttled-edits.js';

const SOURCE: Source = { index: 1, passageId: 'p1', source: 'a.md', title: 'A', score: 1, snippet: 's' };
const TIMINGS = { condenseMs: 0, retrievalMs: 0, firstTokenMs: 0, totalMs: 0 };

/** An answerer that plays back a script of events: the input the fold must render. */
function scripted(events: AnswerEvent[]): Answerer & { asked: number } {
  const answerer = {
    asked: 0,
    async *answer() {
      answerer.asked += 1;
      for (const event of events) yield event;
    },
  };
  return answerer;
}

/** A clock whose timers never fire unless the test says so: only the final write can land. */
const frozenClock: EditClock = { now: () => 0, after: () => () => undefined };

function recording(writes: 'append' | 'replace') {
  const log: { writes: string[]; final?: FinalReply; notices: string[] } = { writes: [], notices: [] };
  const conversation: Conversation = {
    place: { platform: 'test', channelId: 'C1' },
    asker: { id: 'U1' },
    presenter: { neutralizer: slackNeutralizer, writeIntervalMs: 1_000 },
    history: async () => [],
    openReply: async () => ({
      writes,
      write: async (text) => {
        log.writes.push(text);
      },
      finish: async (final) => {
        log.final = final;
      },
    }),
    notify: async (text) => {
      log.notices.push(text);
    },
  };
  return { conversation, log };
}

function layer(answerer: Answerer, dedupe = new MemoryDedupeStore()) {
  return new ConversationLayer({
    answerer,
    log: silentLogger,
    dedupe,
    maxQuestionChars: 100,
    clock: frozenClock,
  });
}

describe('the conversation layer', () => {
  it('ends an answer with its whole text, sources and feedback at once, without waiting out the throttle', async () => {
    const { conversation, log } = recording('append');
    const answerer = scripted([
      { type: 'sources', sources: [SOURCE] },
      { type: 'delta', text: 'Hello <!chan' },
      { type: 'delta', text: 'nel> world' },
      {
        type: 'done',
        text: 'Hello <!channel> world',
        mode: 'groq',
        degraded: false,
        timings: TIMINGS,
        standaloneQuestion: 'q',
      },
    ]);
    const result = await layer(answerer).ask(conversation, 'a question');
    expect(result.ok).toBe(true);
    expect(log.final?.text).toBe('Hello &lt;!channel> world');
    expect(slackNeutralizer.restore(log.final!.text)).toBe('Hello <!channel> world');
    expect(log.final?.sources).toEqual([SOURCE]);
    expect(log.final?.feedbackId).toBeDefined();
    expect(log.final?.notice).toBeUndefined();
  });

  it('keeps the partial text of a failed answer and shows the failure under it, with no feedback', async () => {
    const { conversation, log } = recording('replace');
    const answerer = scripted([
      { type: 'sources', sources: [SOURCE] },
      { type: 'delta', text: 'Part of it' },
      { type: 'failure', failure: failures.interrupted('Part of it') },
    ]);
    await layer(answerer).ask(conversation, 'a question');
    expect(log.final?.text).toBe('Part of it');
    expect(log.final?.notice).toBe(failures.interrupted('Part of it').message);
    expect(log.final?.feedbackId).toBeUndefined();
  });

  it('refuses empty and over-long questions before answering, and drops repeated deliveries', async () => {
    const answerer = scripted([]);
    const conversations = layer(answerer);
    const { conversation, log } = recording('append');
    expect(await conversations.ask(conversation, '   ')).toMatchObject({ skipped: 'invalid' });
    expect(await conversations.ask(conversation, 'x'.repeat(101))).toMatchObject({ skipped: 'invalid' });
    expect(log.notices).toHaveLength(2);
    expect(log.notices[1]).toContain('100');
    const again = { deliveryId: 'E1', allowedChannels: ['C9'] };
    expect(await conversations.ask(conversation, 'hi', again)).toMatchObject({ skipped: 'not_allowed' });
    expect(await conversations.ask(conversation, 'hi', again)).toMatchObject({ skipped: 'duplicate' });
    expect(log.notices.at(-1)).toBe(strings.notEnabledHere);
    expect(answerer.asked).toBe(0);
  });

  it('tells the user when the reply cannot be delivered, instead of leaving silence', async () => {
    const { conversation, log } = recording('append');
    const broken: Conversation = {
      ...conversation,
      openReply: async () => {
        throw new Error('channel_not_found');
      },
    };
    const answerer = scripted([
      { type: 'done', text: 'x', mode: 'groq', degraded: false, timings: TIMINGS, standaloneQuestion: 'x' },
    ]);
    const result = await layer(answerer).ask(broken, 'a question');
    expect(result.ok).toBe(false);
    expect(log.notices).toEqual([strings.deliveryFailed]);
  });

  it('admits direct conversations and threads of allowed channels', () => {
    expect(isAllowed({ platform: 'x', channelId: 'D1', direct: true }, ['C1'])).toBe(true);
    expect(isAllowed({ platform: 'x', channelId: 'T9', parentId: 'C1' }, ['C1'])).toBe(true);
    expect(isAllowed({ platform: 'x', channelId: 'C2' }, ['C1'])).toBe(false);
    expect(isAllowed({ platform: 'x', channelId: 'C2' }, [])).toBe(true);
  });
});
