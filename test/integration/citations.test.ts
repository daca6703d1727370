/**
 * A model answer's citations, from groq-sdk against the Groq fake through the core and the
 * conversation layer: markers naming no source never reach the user, however the stream cuts
 * them, and the sources shown are the ones the answer cites.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerInConversation } from '../../src/conversation/answer.js';
import type { Conversation, FinalReply } from '../../src/conversation/conversation.js';
import { RagCore } from '../../src/core/rag-core.js';
import type { AnswerEvent, Passage, Retriever } from '../../src/core/types.js';
import { GroqGenerator } from '../../src/generators/groq.js';
import { silentLogger } from '../../src/log.js';
import { plainNeutralizer } from '../../src/render/plain-text.js';
import { answering, type FakeGroq, startFakeGroq } from '../fakes/groq/index.js';

let groq: FakeGroq;
beforeAll(async () => {
  groq = await startFakeGroq();
});
afterAll(() => groq.close());

const passage = (id: string, text: string): Passage => ({
  id,
  text,
  source: `${id}.md`,
  title: id,
  score: 1,
  metadata: {},
});

const retriever: Retriever = {
  description: 'three passages',
  defaultMinScore: 0,
  search: async () => [
    passage('install', 'Install the bot with npm ci.'),
    passage('restart', 'Restart it with npm start after changing .env.'),
    passage('logs', 'Logs go to standard output as JSON lines.'),
  ],
};

function core(): RagCore {
  return new RagCore({
    retriever,
    generator: new GroqGenerator({
      apiKey: groq.apiKey,
      model: 'llama-3.1-8b-instant',
      condenseModel: 'llama-3.1-8b-instant',
      baseURL: groq.baseURL,
      timeoutMs: 5_000,
      maxRetries: 0,
      retryBudgetMs: 1_000,
    }),
    options: {
      topK: 3,
      maxQuestionChars: 2_000,
      contextTokens: 3_000,
      maxAnswerTokens: 300,
      answerTimeoutMs: 10_000,
    },
  });
}

/** The fake streams word by word: "[1, 9]." arrives as "[1," and " 9].". */
const REPLY = 'Install it with npm ci [1] and restart it [1, 9] [2]. Use `args[7]` in code [12].';
const SHOWN = 'Install it with npm ci [1] and restart it [1] [2]. Use `args[7]` in code.';

describe('citations in a model answer', () => {
  it('are removed from the stream when they name no source, and the final text agrees', async () => {
    groq.setReply(answering(REPLY));
    const events: AnswerEvent[] = [];
    for await (const event of core().answer({
      id: 'c1',
      text: 'How do I install it?',
      place: { platform: 'test' },
    }))
      events.push(event);
    const deltas = events.flatMap((event) => (event.type === 'delta' ? [event.text] : []));
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(SHOWN);
    const done = events.at(-1);
    expect(done?.type === 'done' && done.text).toBe(SHOWN);
    // The model was given three numbered passages.
    expect(String(groq.chatRequests().at(-1)!.body.messages?.at(-1)?.content)).toContain('<passage id="3"');
  });

  it('decide the sources shown: the cited ones, the others only as searched', async () => {
    groq.setReply(answering(REPLY));
    let final: FinalReply | undefined;
    const streamed: string[] = [];
    const conversation: Conversation = {
      place: { platform: 'test', channelId: 'c' },
      asker: { id: 'u' },
      presenter: { neutralizer: plainNeutralizer, writeIntervalMs: 0 },
      history: async () => [],
      openReply: async () => ({
        writes: 'append',
        async write(piece) {
          streamed.push(piece);
        },
        async finish(reply) {
          final = reply;
        },
      }),
      notify: async () => undefined,
    };
    await answerInConversation(conversation, 'How do I install it?', { answerer: core(), log: silentLogger });
    expect(`${streamed.join('')}${final!.text.slice(final!.written)}`).toBe(SHOWN);
    expect(final!.sources.map((source) => [source.index, source.title])).toEqual([
      [1, 'install'],
      [2, 'restart'],
    ]);
    expect(final!.alsoSearched?.map((source) => [source.index, source.title])).toEqual([[3, 'logs']]);
  });
});
