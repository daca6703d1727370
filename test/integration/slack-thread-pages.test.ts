/**
 * A long Slack thread read through conversations.replies, oldest first and a page at a time, as
 * Slack serves it (15 messages a page for apps distributed outside the Marketplace): the bot's
 * context is the thread's first message and its newest turns before the question, not its first
 * pages, found in at most three calls however long the thread; and a saved thread is whole, or, past
 * MAX_SAVED_THREAD_MESSAGES, its question and its newest replies, saying how many of how many.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { strings } from '../../src/conversation/strings.js';
import { MAX_SAVED_THREAD_MESSAGES } from '../../src/knowledge/save-thread.js';
import { KnowledgeService, savedMessage } from '../../src/knowledge/service.js';
import { readSlackThread, saveSlackThread } from '../../src/platforms/slack/handlers/save-thread.js';
import { threadContext } from '../../src/platforms/slack/history.js';
import { openAppDatabase } from '../../src/state/app-db.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { type FakeSlack, startFakeSlack } from '../fakes/slack/index.js';

let slack: FakeSlack;
let client: WebClient;
let root: string;
let last: string;

beforeAll(async () => {
  slack = await startFakeSlack();
  client = new WebClient(slack.token, { slackApiUrl: slack.apiURL });
  slack.capRepliesPage(15);
  root = slack.addUserMessage('C0LONG', 'U1', 'How do we rotate the signing secret?');
  for (let i = 1; i <= 40; i++)
    slack.addUserMessage('C0LONG', i % 2 ? 'U2' : 'U1', `Reply number ${i}.`, root);
  last = slack.addUserMessage('C0LONG', 'U1', 'And where is it stored?', root);
});
afterAll(async () => {
  await slack.close();
});

describe('a thread longer than one page of conversations.replies', () => {
  it('gives the newest turns as the conversation so far', async () => {
    const calls = slack.callsTo('conversations.replies').length;
    const context = await threadContext(client, 'C0LONG', root, last, { userId: slack.botUserId });
    // An answer reads a few pages at most, for its latency.
    expect(slack.callsTo('conversations.replies').length - calls).toBeLessThanOrEqual(3);
    const texts = context.history.map((turn) => turn.text);
    expect(texts.at(-1)).toBe('Reply number 40.');
    // The thread's question opens the history, then its newest replies, without a gap.
    expect(texts[0]).toBe('How do we rotate the signing secret?');
    expect(texts.slice(1)).toEqual(Array.from({ length: 19 }, (_, i) => `Reply number ${22 + i}.`));
    expect(slack.callsTo('conversations.replies').length).toBeGreaterThan(1);
  });

  it('saves every message of the thread, the question first', async () => {
    const thread = await readSlackThread(client, {
      channel: 'C0LONG',
      threadTs: root,
      bot: { userId: slack.botUserId },
    });
    expect(thread.messages[0]).toMatchObject({
      role: 'question',
      text: 'How do we rotate the signing secret?',
    });
    expect(thread.messages).toHaveLength(42);
    expect(thread.messages.at(-1)?.text).toBe('And where is it stored?');
  });
});

describe('a thread longer than a saved thread keeps', () => {
  const total = MAX_SAVED_THREAD_MESSAGES + 30;
  let longRoot = '';
  beforeAll(() => {
    longRoot = slack.addUserMessage('C0LONGER', 'U1', 'VPN drops every hour, why?');
    for (let i = 1; i < total - 1; i++)
      slack.addUserMessage('C0LONGER', 'U2', `Trying thing ${i}.`, longRoot);
    slack.addUserMessage(
      'C0LONGER',
      'U2',
      'RESOLUTION: set keepalive to 25s in the client profile.',
      longRoot,
    );
  });

  it('reads the whole thread and keeps its question and its newest replies, the resolution among them', async () => {
    const calls = slack.callsTo('conversations.replies').length;
    const thread = await readSlackThread(client, {
      channel: 'C0LONGER',
      threadTs: longRoot,
      bot: { userId: slack.botUserId },
    });
    expect(slack.callsTo('conversations.replies').length - calls).toBe(Math.ceil(total / 15));
    expect(thread.messages).toHaveLength(MAX_SAVED_THREAD_MESSAGES);
    expect(thread.omitted).toBe(total - MAX_SAVED_THREAD_MESSAGES);
    expect(thread.messages[0]?.text).toBe('VPN drops every hour, why?');
    expect(thread.messages[1]?.text).toBe(`Trying thing ${total - MAX_SAVED_THREAD_MESSAGES + 1}.`);
    expect(thread.messages.at(-1)?.text).toBe('RESOLUTION: set keepalive to 25s in the client profile.');
  });

  it('says in the confirmation how many of the thread’s messages were saved', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rag-long-thread-'));
    const store = await LocalStore.open({ dir });
    const app = openAppDatabase(dir);
    try {
      const knowledge = new KnowledgeService({
        store,
        appDatabase: () => app,
        settings: parseConfig({}).knowledge,
      });
      const saved = await saveSlackThread(knowledge, client, {
        channel: 'C0LONGER',
        threadTs: longRoot,
        savedBy: 'slack:U1',
        bot: { userId: slack.botUserId },
      });
      expect(savedMessage(saved)).toBe(strings.save.savedPart('default', MAX_SAVED_THREAD_MESSAGES, total));
      const [found] = await store.search('keepalive client profile', { topK: 1, collections: ['default'] });
      expect(found?.text).toContain('RESOLUTION');
    } finally {
      store.close();
      app.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a follow-up in a thread of 1,000 messages', () => {
  const bot = () => ({ userId: slack.botUserId, botId: slack.botId });
  const repliesCalls = () => slack.callsTo('conversations.replies').length;

  /**
   * A thread of `total` messages (its question, then people's replies and the bot's answers,
   * every tenth an answer), `pause(i)` seconds before the i-th; returns each message's ts.
   */
  async function longThread(ch: string, total: number, pause: (i: number) => number) {
    const ts = [slack.addUserMessage(ch, 'U1', 'Message 0: why does the build fail on ARM?')];
    for (let i = 1; i < total; i++) {
      slack.passTime(pause(i));
      if (i % 10 === 5) {
        const posted = await client.chat.postMessage({
          channel: ch,
          thread_ts: ts[0]!,
          text: `Answer ${i}.`,
          metadata: { event_type: 'rag_answer', event_payload: {} },
        });
        ts.push(posted.ts!);
      } else {
        ts.push(slack.addUserMessage(ch, i % 2 ? 'U2' : 'U1', `Message ${i}.`, ts[0]));
      }
    }
    return ts;
  }
  const textOf = (i: number) => (i % 10 === 5 ? `Answer ${i}.` : `Message ${i}.`);
  /** The texts of the turns just before message `i`: the last `count` of them. */
  const turnsBefore = (i: number, count: number) =>
    Array.from({ length: count }, (_, k) => textOf(i - count + k));

  it.each([
    ['at an even pace', 'C0PACE', 100, () => 1],
    [
      'after a slow start (300 messages over days, then 700 within minutes)',
      'C0BURST',
      100,
      (i: number) => (i < 300 ? 3_600 : 0),
    ],
    [
      'after a busy start (700 within minutes, then 300 over days)',
      'C0QUIET',
      100,
      (i: number) => (i < 700 ? 0 : 1_800),
    ],
    ['with 15 messages a page (an app outside the Marketplace)', 'C0CAPPED', 15, () => 1],
  ])(
    '%s: the history is the question and the newest turns, in at most 3 calls',
    async (_label, ch, cap, pause) => {
      const ts = await longThread(ch, 1_000, pause);
      slack.capRepliesPage(cap);
      try {
        const before = repliesCalls();
        const context = await threadContext(client, ch, ts[0]!, ts[999]!, bot());
        expect(repliesCalls() - before).toBeLessThanOrEqual(3);
        const texts = context.history.map((turn) => turn.text);
        expect(texts[0]).toBe('Message 0: why does the build fail on ARM?');
        expect(texts.slice(1)).toEqual(turnsBefore(999, 19));
        expect(context.history.find((turn) => turn.text === 'Answer 995.')?.role).toBe('assistant');
        expect(context.botParticipates).toBe(true);
      } finally {
        slack.capRepliesPage(1_000);
      }
    },
  );

  it('a question read back later (another instance finishing it) ignores what was written after it', async () => {
    const ts = await longThread('C0LATER', 1_000, () => 1);
    const before = repliesCalls();
    const context = await threadContext(client, 'C0LATER', ts[0]!, ts[600]!, bot());
    expect(repliesCalls() - before).toBeLessThanOrEqual(3);
    expect(context.history.slice(1).map((turn) => turn.text)).toEqual(turnsBefore(600, 19));
  });

  it('offers the files shared nearest the question first, and the question’s own', async () => {
    const ch = 'C0FILES';
    const root = slack.addUserMessage(ch, 'U1', 'Which config is right?');
    const old = slack.addFile({ name: 'old.yaml', content: 'a: 1' });
    const recent = slack.addFile({ name: 'recent.yaml', content: 'a: 2' });
    const attached = slack.addFile({ name: 'mine.yaml', content: 'a: 3' });
    slack.addUserMessage(ch, 'U2', 'Here is the first version.', root, [old]);
    for (let i = 0; i < 900; i++) slack.addUserMessage(ch, 'U2', `Filler ${i}.`, root);
    slack.addUserMessage(ch, 'U2', 'Here is the current one.', root, [recent]);
    const question = slack.addUserMessage(ch, 'U1', 'Does mine match?', root, [attached]);
    const context = await threadContext(client, ch, root, question, bot());
    expect(context.files[0]).toMatchObject({ id: recent.id });
    expect(context.questionFiles).toMatchObject([{ id: attached.id }]);
  });

  it('reads a thread of one page in one call, as before', async () => {
    const ts = await longThread('C0SHORT', 40, () => 1);
    const before = repliesCalls();
    const context = await threadContext(client, 'C0SHORT', ts[0]!, ts[39]!, bot());
    expect(repliesCalls() - before).toBe(1);
    expect(context.history.slice(1).map((turn) => turn.text)).toEqual(turnsBefore(39, 19));
  });
});

describe('the Slack fake’s conversations.replies time range', () => {
  it('keeps replies strictly inside oldest and latest, both included with inclusive, the parent first', async () => {
    const root = slack.addUserMessage('C0RANGE', 'U1', 'parent');
    const ts = Array.from({ length: 5 }, (_, i) => slack.addUserMessage('C0RANGE', 'U2', `r${i}`, root));
    const texts = async (range: Record<string, unknown>) =>
      ((await client.conversations.replies({ channel: 'C0RANGE', ts: root, ...range })).messages ?? []).map(
        (message) => message.text,
      );
    expect(await texts({ oldest: ts[1], latest: ts[3] })).toEqual(['parent', 'r2']);
    expect(await texts({ oldest: ts[1], latest: ts[3], inclusive: true })).toEqual([
      'parent',
      'r1',
      'r2',
      'r3',
    ]);
    const [parent] = (await client.conversations.replies({ channel: 'C0RANGE', ts: root, limit: 1 }))
      .messages!;
    expect(parent).toMatchObject({ reply_count: 5, latest_reply: ts[4], reply_users: ['U2'] });
  });
});
