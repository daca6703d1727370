/**
 * A Slack answer another instance began, finished here (src/platforms/slack/resume.ts): through
 * Slack's Web API client against the fake, which keeps streams' states as Slack does (an open
 * stream refuses chat.update; a closed one refuses chat.stopStream and chat.appendStream).
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { slackConversation } from '../../src/platforms/slack/conversation.js';
import { type FakeSlack, startFakeSlack } from '../fakes/slack/index.js';

let slack: FakeSlack;
let client: WebClient;

beforeAll(async () => {
  slack = await startFakeSlack();
  client = new WebClient(slack.token, { slackApiUrl: slack.apiURL, retryConfig: { retries: 0 } });
});
afterAll(() => slack.close());

/** A dead instance's half-written answer: a stream started in a thread and appended to once. */
async function halfWritten(channel: string) {
  const root = slack.addUserMessage(channel, 'U1', '<@UBOT> Where do visitors cross?');
  const started = await client.chat.startStream({ channel, thread_ts: root, recipient_user_id: 'U1' });
  const ts = String(started.ts);
  await client.chat.appendStream({ channel, ts, markdown_text: 'Visitors cross at the' });
  return { root, ts };
}

async function finishHere(channel: string, root: string, ts: string) {
  const conversation = slackConversation({
    client,
    target: { channel, threadTs: root, userId: 'U1' },
    history: async () => [],
    pacing: { editIntervalMs: 0 },
    log: silentLogger,
    handover: { history: 'thread', questionTs: root },
    resume: { ts, streaming: true },
  });
  const reply = await conversation.openReply();
  // The first new text replaces the dead instance's at once; the end replaces it all.
  const first = 'Visitors cross at the zebra';
  await reply.write(first);
  await reply.finish({
    text: 'Visitors cross at the zebra crossing by gate four.',
    written: first.length,
    sources: [],
    feedbackId: 'q-1',
  });
  return conversation;
}

describe('finishing a Slack answer another instance began', () => {
  it('stops the stream the dead instance left open, then replaces its text', async () => {
    const { root, ts } = await halfWritten('C0OPEN');
    const conversation = await finishHere('C0OPEN', root, ts);
    const stop = slack.callsTo('chat.stopStream').filter((call) => call.args.ts === ts);
    expect(stop).toHaveLength(1);
    const updates = slack.callsTo('chat.update').filter((call) => call.args.ts === ts);
    expect(updates).toHaveLength(2);
    const message = slack.messages('C0OPEN').find((m) => m.ts === ts)!;
    expect(message.text).toBe('Visitors cross at the zebra crossing by gate four.');
    expect(JSON.stringify(message.blocks)).toContain('feedback_up');
    expect(message.metadata?.event_payload).toEqual({ question_id: 'q-1' });
    // What another instance would need, if this one died too: ids only.
    expect(conversation.handover?.()).toEqual({
      channel: 'C0OPEN',
      userId: 'U1',
      threadTs: root,
      history: 'thread',
      questionTs: root,
    });
  });

  it('edits a message whose stream Slack had already closed', async () => {
    const { root, ts } = await halfWritten('C0CLOSED');
    slack.closeStreams();
    await finishHere('C0CLOSED', root, ts);
    const message = slack.messages('C0CLOSED').find((m) => m.ts === ts)!;
    expect(message.text).toBe('Visitors cross at the zebra crossing by gate four.');
    expect(slack.messages('C0CLOSED').filter((m) => m.thread_ts === root && m.user === 'UBOT')).toHaveLength(
      1,
    );
  });

  it('is refused an edit while the stream is open, as Slack refuses it', async () => {
    const { ts } = await halfWritten('C0CONFLICT');
    await expect(client.chat.update({ channel: 'C0CONFLICT', ts, text: 'x' })).rejects.toMatchObject({
      data: { error: 'streaming_state_conflict' },
    });
  });
});
