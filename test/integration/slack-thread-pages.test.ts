/**
 * A long Slack thread read through conversations.replies, oldest first and a page at a time, as
 * Slack serves it (15 messages a page for apps distributed outside the Marketplace): the bot's
 * context is the thread's newest turns, not its first page, and a saved thread is whole.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSlackThread } from '../../src/platforms/slack/handlers/save-thread.js';
import { threadContext } from '../../src/platforms/slack/history.js';
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
    const context = await threadContext(client, 'C0LONG', root, last, { userId: slack.botUserId });
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
