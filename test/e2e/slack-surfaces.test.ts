/**
 * Slack's other surfaces, end to end through Bolt's HTTP receiver and the Web API fake:
 * "Ask about this message" (shortcut → modal → private answer → Share in thread), the
 * assistant thread (suggested prompts, title, status per stage, the answer), and the App
 * Home tab.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config.js';
import { knowledgeOverview } from '../../src/conversation/knowledge-overview.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import { answering, type FakeGroq } from '../fakes/groq/index.js';
import {
  blockActionBody,
  eventEnvelope,
  type FakeSlack,
  messageShortcutBody,
  sendToBolt,
  startFakeSlack,
  viewSubmissionBody,
} from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { layerOver } from '../support/conversations.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'slack-signing-secret-for-tests';
const CHANNEL = 'C0SURFACES';
const ANSWER = 'Create the app from the manifest in commands/, then install it to your workspace [1].';

let backends: Backends;
let groq: FakeGroq;
let slack: FakeSlack;
let adapter: SlackAdapter;
let eventsURL: string;
let dataDir: string;

const post = (body: string, type: 'application/json' | 'application/x-www-form-urlencoded') =>
  sendToBolt(eventsURL, body, type, { secret: SECRET });
const postEvent = (event: Record<string, unknown>) =>
  post(eventEnvelope(event, slack.teamId), 'application/json');

/** Runs the shortcut on a message and returns the modal Slack was asked to open. */
async function openAskAbout(
  message: { ts: string; text: string; user?: string; thread_ts?: string },
  channel = CHANNEL,
) {
  const before = slack.views.length;
  const response = await post(
    messageShortcutBody({
      callback_id: 'ask_about_message',
      user_id: 'U1',
      channel_id: channel,
      message,
      response_url: slack.responseURL(`shortcut-${message.ts}`),
    }),
    'application/x-www-form-urlencoded',
  );
  expect(response.status).toBe(200);
  return waitFor(() => slack.views.slice(before).find((v) => v.via === 'views.open'), 'the modal');
}

async function submit(view: Record<string, unknown>, question: string) {
  return post(
    viewSubmissionBody({
      view,
      user_id: 'U1',
      values: { question: { question_input: { type: 'plain_text_input', value: question } } },
    }),
    'application/x-www-form-urlencoded',
  );
}

/** The value of the Share in thread button in a message's blocks. */
const shareId = (blocks: unknown[] | undefined) => {
  const buttons = (blocks ?? []).flatMap(
    (block) => (block as { elements?: { action_id?: string; value?: string }[] }).elements ?? [],
  );
  return buttons.find((button) => button.action_id === 'share_answer')?.value;
};

function clickShare(id: string, responseId: string, user = 'U1') {
  return post(
    blockActionBody({
      user: { id: user },
      channel: { id: CHANNEL },
      container: { type: 'message', is_ephemeral: true, channel_id: CHANNEL },
      response_url: slack.responseURL(responseId),
      actions: [{ type: 'button', action_id: 'share_answer', value: id, block_id: `share_${id}` }],
    }),
    'application/x-www-form-urlencoded',
  );
}

const textOf = (body: unknown) => String((body as { text?: string }).text ?? '');

beforeAll(async () => {
  [backends, slack] = await Promise.all([startBackends(), startFakeSlack()]);
  ({ groq } = backends);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-slack-surfaces-'));
  const config = parseConfig({
    ...backends.env,
    GROQ_RETRY_BUDGET_MS: '300',
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiURL,
    SLACK_SUGGESTED_PROMPTS: 'Set up Slack|How do I add the bot to Slack?;Deploy|How do I deploy the bot?',
    RAG_DATA_DIR: dataDir,
  });
  const { logger } = captureLogs();
  const runtime = await buildRuntime(config, { logger });
  adapter = createSlackAdapter({
    config: config.slack!,
    port: 0,
    conversations: layerOver(runtime.answerer, { logger }),
    logger,
    overview: knowledgeOverview(runtime.store),
    pacing: { editIntervalMs: 0, appendIntervalMs: 0 },
  });
  await adapter.start();
  eventsURL = `http://127.0.0.1:${adapter.port}/slack/events`;
});

afterAll(async () => {
  await adapter?.stop();
  await Promise.all([backends?.close(), slack?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  groq.clearFaults();
  groq.setReply(answering(ANSWER));
});

describe('Slack: Ask about this message', () => {
  it('opens a modal, answers privately with the message and its thread as context, and shares the answer in the thread', async () => {
    const root = slack.addUserMessage(
      CHANNEL,
      'U2',
      'Our Slack app keeps failing to install for the new workspace.',
    );
    slack.addUserMessage(CHANNEL, 'U3', 'It says the manifest is invalid when we paste it.', root);
    const opened = await openAskAbout({
      ts: root,
      text: 'Our Slack app keeps failing to install.',
      user: 'U2',
    });
    expect(opened.view).toMatchObject({ type: 'modal', callback_id: 'ask_about_message_modal' });
    expect(JSON.stringify(opened.view)).toContain('plain_text_input');

    const submitted = await submit(opened.view, 'What should they do?');
    // The modal changes to say the answer is coming, privately.
    expect(await submitted.json()).toMatchObject({ response_action: 'update' });

    const ephemeral = await waitFor(
      () => slack.ephemerals(CHANNEL).find((e) => e.user === 'U1'),
      'the private answer',
    );
    const blocks = JSON.stringify(ephemeral.blocks);
    expect(blocks).toContain('Create the app from the manifest');
    expect(blocks).toMatch(/Sources: \*\[1\]\*/);
    expect(blocks).toContain('feedback_up');
    expect(blocks).toContain('Share in thread');
    // Nothing public was posted in the thread yet.
    expect(slack.messages(CHANNEL).filter((m) => m.thread_ts === root && m.user === slack.botUserId)).toEqual(
      [],
    );

    // The selected message and its reply reached the model as the conversation so far.
    const prompt = JSON.stringify(groq.chatRequests().at(-1)!.body.messages);
    expect(prompt).toContain('keeps failing to install for the new workspace');
    expect(prompt).toContain('the manifest is invalid');

    const id = shareId(ephemeral.blocks)!;
    await clickShare(id, 'share-1');
    const shared = await waitFor(
      () => slack.messages(CHANNEL).find((m) => m.thread_ts === root && m.user === slack.botUserId),
      'the shared answer',
    );
    expect(shared.text).toContain('<@U1> asked: What should they do?');
    expect(shared.text).toContain('Create the app from the manifest');
    expect(JSON.stringify(shared.blocks)).toMatch(/Sources: \*\[1\]\*/);
    await waitFor(
      () => slack.responses.get('share-1')?.some((r) => textOf(r) === 'Shared in the thread.'),
      'the confirmation',
    );

    // A second click does not post it twice; someone else cannot share it.
    await clickShare(id, 'share-2');
    await waitFor(
      () => slack.responses.get('share-2')?.some((r) => /already shared/.test(textOf(r))),
      'the refusal',
    );
    await clickShare(id, 'share-3', 'U9');
    await waitFor(
      () => slack.responses.get('share-3')?.some((r) => /Only the person who asked/.test(textOf(r))),
      'the refusal',
    );
    expect(
      slack.messages(CHANNEL).filter((m) => m.thread_ts === root && m.user === slack.botUserId),
    ).toHaveLength(1);
  });

  it('keeps the modal open with the reason when the question is empty', async () => {
    const ts = slack.addUserMessage(CHANNEL, 'U2', 'Deploy notes');
    const opened = await openAskAbout({ ts, text: 'Deploy notes', user: 'U2' });
    const before = groq.chatRequests().length;
    const response = await submit(opened.view, '   ');
    expect(await response.json()).toMatchObject({
      response_action: 'errors',
      errors: { question: expect.any(String) },
    });
    expect(groq.chatRequests().length).toBe(before);
  });

  it('answers through the response_url where the bot is not in the channel, with the message itself as context', async () => {
    const closed = 'C0NOTMEMBER';
    slack.excludeBotFrom(closed);
    const ts = slack.addUserMessage(closed, 'U2', 'The deploy failed with exit code 137 again.');
    const opened = await openAskAbout(
      { ts, text: 'The deploy failed with exit code 137 again.', user: 'U2' },
      closed,
    );
    await submit(opened.view, 'Why would that happen?');
    const answer = await waitFor(
      () => slack.responses.get(`shortcut-${ts}`)?.find((r) => JSON.stringify(r).includes('Share in thread')),
      'the answer through the response_url',
    );
    expect(answer).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(JSON.stringify(groq.chatRequests().at(-1)!.body.messages)).toContain('exit code 137');
    // Sharing into a channel the bot cannot post in says so instead of failing silently.
    await clickShare(shareId((answer as { blocks: unknown[] }).blocks)!, 'share-closed');
    await waitFor(
      () => slack.responses.get('share-closed')?.some((r) => /not a member/.test(textOf(r))),
      'the explanation',
    );
  });
});

describe('Slack: the assistant thread', () => {
  const DM = 'D0ASSIST';

  it('sets the configured suggested prompts when a user opens the thread', async () => {
    await postEvent({
      type: 'assistant_thread_started',
      assistant_thread: { user_id: 'U1', context: {}, channel_id: DM, thread_ts: '1700000001.000100' },
      event_ts: '1700000001.000200',
    });
    const call = await waitFor(
      () => slack.callsTo('assistant.threads.setSuggestedPrompts')[0],
      'the prompts',
    );
    expect(call.args).toMatchObject({ channel_id: DM, thread_ts: '1700000001.000100' });
    expect(call.args.prompts).toEqual([
      { title: 'Set up Slack', message: 'How do I add the bot to Slack?' },
      { title: 'Deploy', message: 'How do I deploy the bot?' },
    ]);
  });

  it('titles the thread from the first question, shows a status per stage, answers in the thread and clears the status', async () => {
    const threadTs = '1700000002.000100';
    const ts = slack.addUserMessage(DM, 'U1', 'How do I add the bot to Slack?', threadTs);
    await postEvent({
      type: 'message',
      channel: DM,
      channel_type: 'im',
      user: 'U1',
      text: 'How do I add the bot to Slack?',
      ts,
      thread_ts: threadTs,
    });
    const stop = await waitFor(
      () => slack.callsTo('chat.stopStream').find((c) => c.args.channel === DM),
      'the answer',
    );
    expect(JSON.stringify(stop.args.blocks)).toContain('feedback_up');
    expect(slack.callsTo('chat.startStream').find((c) => c.args.channel === DM)?.args.thread_ts).toBe(
      threadTs,
    );
    expect(
      slack.messages(DM).find((m) => m.thread_ts === threadTs && m.user === slack.botUserId)?.text,
    ).toContain('Create the app from the manifest');
    expect(slack.callsTo('assistant.threads.setTitle').map((c) => c.args.title)).toEqual([
      'How do I add the bot to Slack?',
    ]);
    const statuses = await waitFor(() => {
      const list = slack.callsTo('assistant.threads.setStatus').filter((c) => c.args.thread_ts === threadTs);
      return list.at(-1)?.args.status === '' ? list.map((c) => c.args.status) : undefined;
    }, 'the cleared status');
    expect(statuses).toContain('is searching the knowledge base…');
    expect(statuses).toContain('is writing the answer…');
    // Answered once, in the thread: not also at the top of the DM by the plain message handler.
    expect(
      slack.callsTo('chat.postMessage').filter((c) => c.args.channel === DM && !c.args.thread_ts),
    ).toEqual([]);

    // A follow-up keeps the title the thread already has.
    const next = slack.addUserMessage(DM, 'U1', 'And where do I paste it?', threadTs);
    await postEvent({
      type: 'message',
      channel: DM,
      channel_type: 'im',
      user: 'U1',
      text: 'And where do I paste it?',
      ts: next,
      thread_ts: threadTs,
    });
    await waitFor(
      () => slack.callsTo('chat.stopStream').filter((c) => c.args.channel === DM).length === 2,
      'the follow-up',
    );
    expect(slack.callsTo('assistant.threads.setTitle')).toHaveLength(1);
  });
});

describe('Slack: the assistant thread ignores bots', () => {
  it('does not answer a bot writing in an assistant thread', async () => {
    const DM = 'D0BOTS';
    const before = groq.chatRequests().length;
    await postEvent({
      type: 'message',
      channel: DM,
      channel_type: 'im',
      user: 'U0OTHERBOT',
      bot_id: 'B0OTHER',
      text: 'I am another app',
      ts: '1700000009.000200',
      thread_ts: '1700000009.000100',
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(groq.chatRequests().length).toBe(before);
    expect(slack.calls.filter((c) => c.args.channel === DM || c.args.channel_id === DM)).toEqual([]);
  });
});

describe('Slack: App Home', () => {
  it('publishes what the bot knows and how to ask when the Home tab opens', async () => {
    await postEvent({
      type: 'app_home_opened',
      user: 'U7',
      channel: 'D0HOME',
      tab: 'home',
      event_ts: '1700000003.000100',
    });
    const published = await waitFor(
      () => slack.views.find((v) => v.via === 'views.publish' && v.userId === 'U7'),
      'the Home tab',
    );
    const view = JSON.stringify(published.view);
    expect(published.view.type).toBe('home');
    expect(view).toMatch(/I answer from \*\d+\* passages in \*\d+\* sources/);
    expect(view).toContain('slack-setup.md');
    expect(view).toContain('How to ask');
    expect(view).toContain('Ask about this message');
  });

  it('publishes nothing when the Messages tab opens', async () => {
    const before = slack.callsTo('views.publish').length;
    await postEvent({
      type: 'app_home_opened',
      user: 'U8',
      channel: 'D0HOME',
      tab: 'messages',
      event_ts: '1700000004.000100',
    });
    await postEvent({
      type: 'app_home_opened',
      user: 'U8',
      channel: 'D0HOME',
      tab: 'home',
      event_ts: '1700000004.000200',
    });
    await waitFor(() => slack.callsTo('views.publish').length > before, 'the Home publish');
    expect(slack.callsTo('views.publish').filter((c) => c.args.user_id === 'U8')).toHaveLength(1);
  });
});

describe('Slack: Ask about this message, when the message itself answers', () => {
  // The embedded store with the bundled knowledge, which says nothing about release trains (the
  // Upstash fake's hashed embedding finds something in anything).
  beforeAll(async () => {
    await adapter.stop();
    const config = parseConfig({
      GROQ_API_KEY: backends.env.GROQ_API_KEY!,
      GROQ_BASE_URL: backends.env.GROQ_BASE_URL!,
      GROQ_RETRY_BUDGET_MS: '300',
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiURL,
      RAG_DATA_DIR: join(dataDir, 'local'),
    });
    const { logger } = captureLogs();
    const runtime = await buildRuntime(config, { logger });
    adapter = createSlackAdapter({
      config: config.slack!,
      port: 0,
      conversations: layerOver(runtime.answerer, { logger }),
      logger,
      overview: knowledgeOverview(runtime.store),
      pacing: { editIntervalMs: 0, appendIntervalMs: 0 },
    });
    await adapter.start();
    eventsURL = `http://127.0.0.1:${adapter.port}/slack/events`;
  });

  it('answers from the selected message when the knowledge base has nothing about it, citing the message', async () => {
    groq.setReply(answering('The release train leaves on Thursday [1].'));
    const ts = slack.addUserMessage(
      CHANNEL,
      'U2',
      'Deploy freeze: the mongoose release train leaves on Thursday.',
    );
    const opened = await openAskAbout({
      ts,
      text: 'Deploy freeze: the mongoose release train leaves on Thursday.',
      user: 'U2',
    });
    await submit(opened.view, 'When does the release train leave?');
    const ephemeral = await waitFor(
      () =>
        slack.ephemerals(CHANNEL).find((e) => JSON.stringify(e.blocks).includes('leaves on Thursday [1]')),
      'the private answer',
    );
    const blocks = JSON.stringify(ephemeral.blocks);
    expect(blocks).not.toContain("couldn't find anything");
    expect(blocks).toMatch(/Sources: \*\[1\]\* The message you asked about/);
    // The message reached the model as a numbered passage, not only as the conversation.
    const prompt = String(groq.chatRequests().at(-1)!.body.messages?.at(-1)?.content);
    expect(prompt).toMatch(
      /<passage id="1" source="The message you asked about"[^>]*>\nDeploy freeze: the mongoose release train leaves on Thursday\./,
    );
  });

  it('still refuses when neither the message nor the knowledge base covers the question', async () => {
    const ts = slack.addUserMessage(CHANNEL, 'U2', 'Lunch is at noon in the big room today.');
    const opened = await openAskAbout({ ts, text: 'Lunch is at noon in the big room today.', user: 'U2' });
    const before = groq.chatRequests().filter((r) => JSON.stringify(r.body).includes('<context>')).length;
    await submit(opened.view, 'What is the airspeed of an unladen swallow?');
    const refusal = await waitFor(
      () =>
        slack
          .ephemerals(CHANNEL)
          .find((e) => JSON.stringify(e).includes("couldn't find anything about that")),
      'the refusal',
    );
    expect(JSON.stringify(refusal)).not.toContain('Share in thread');
    expect(groq.chatRequests().filter((r) => JSON.stringify(r.body).includes('<context>'))).toHaveLength(
      before,
    );
  });
});
