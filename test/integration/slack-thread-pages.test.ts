/**
 * A long Slack thread read through conversations.replies, oldest first and a page at a time, as
 * Slack serves it (15 messages a page for apps distributed outside the Marketplace): the bot's
 * context is the thread's newest turns, not its first page, and a saved thread is whole, or, past
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
    expect(texts).not.toContain('How do we rotate the signing secret?');
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
