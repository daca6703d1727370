import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config.js';
import type { Answerer } from '../../src/core/types.js';
import { MemoryDedupeStore } from '../../src/ops/shared-state.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import { slackNeutralizer } from '../../src/render/slack-text.js';
import { answering, type FakeGroq } from '../fakes/groq/index.js';
import {
  blockActionBody,
  eventEnvelope,
  type FakeSlack,
  sendToBolt,
  signSlackRequest,
  slashCommandBody,
  startFakeSlack,
} from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { layerOver } from '../support/conversations.js';
import { addHostileDocuments, HOSTILE_QUESTION } from '../support/hostile-docs.js';
import { captureLogs } from '../support/logs.js';
import { slackPings } from '../support/pings.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'slack-signing-secret-for-tests';
const CHANNEL = 'C0GENERAL';

let backends: Backends;
let groq: FakeGroq;

let slack: FakeSlack;
let adapter: SlackAdapter;
let eventsURL: string;
let dataDir: string;
let runtimeAnswerer: Answerer;
let maxQuestionChars: number;
let logLines: string[] = [];

/** The text a thread shows: streamed (start + appends + stop) or edited, per message. */
function threadMessages(rootTs: string) {
  return slack.messages(CHANNEL).filter((m) => m.thread_ts === rootTs);
}

/** Answers streamed into one thread: other tests' answers may still be streaming elsewhere. */
function streamsIn(rootTs: string) {
  return slack.callsTo('chat.startStream').filter((c) => c.args.thread_ts === rootTs).length;
}

function finished(rootTs: string) {
  const stops = slack
    .callsTo('chat.stopStream')
    .filter((c) => threadMessages(rootTs).some((m) => m.ts === c.args.ts));
  const updates = slack
    .callsTo('chat.update')
    .filter((c) => threadMessages(rootTs).some((m) => m.ts === c.args.ts) && Array.isArray(c.args.blocks));
  const continuations = slack.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === rootTs);
  return [...stops, ...updates, ...continuations].find((c) =>
    JSON.stringify(c.args).match(/feedback_up|:warning:/),
  );
}

async function postEvent(event: Record<string, unknown>, eventId?: string, retryNum?: number) {
  return sendToBolt(eventsURL, eventEnvelope(event, slack.teamId, eventId), 'application/json', {
    secret: SECRET,
    ...(retryNum !== undefined ? { retryNum } : {}),
  });
}

beforeAll(async () => {
  [backends, slack] = await Promise.all([startBackends(), startFakeSlack()]);
  ({ groq } = backends);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-slack-'));
  const config = parseConfig({
    ...backends.env,
    GROQ_RETRY_BUDGET_MS: '300',
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiURL,
    RAG_DATA_DIR: dataDir,
  });
  const captured = captureLogs();
  const logger = captured.logger;
  logLines = captured.lines;
  const runtime = await buildRuntime(config, { logger });
  runtimeAnswerer = runtime.answerer;
  maxQuestionChars = config.rag.maxQuestionChars;
  adapter = createSlackAdapter({
    config: config.slack!,
    port: 0,
    conversations: layerOver(runtime.answerer, { dedupe: new MemoryDedupeStore(), logger, maxQuestionChars }),
    logger,
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
  groq.setReply(
    answering('Create the app from the manifest in commands/, then install it to your workspace [1].'),
  );
});
afterEach(() => {
  groq.clearFaults();
});

describe('Slack: /ask', () => {
  it('acknowledges, posts the question in the channel, and streams a sourced answer into its thread', async () => {
    const response = await sendToBolt(
      eventsURL,
      slashCommandBody({
        text: 'How do I add the bot to Slack?',
        user_id: 'U1',
        channel_id: CHANNEL,
        response_url: slack.responseURL('c1'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    expect(response.status).toBe(200);
    const parent = await waitFor(
      () => slack.messages(CHANNEL).find((m) => m.text.includes('asked: How do I add the bot to Slack?')),
      'the question message',
    );
    expect(parent.text).toContain('<@U1>');
    const done = await waitFor(() => finished(parent.ts), 'the finished answer');
    expect(done.method).toBe('chat.stopStream');
    const answer = threadMessages(parent.ts)[0]!;
    expect(answer.text).toContain('Create the app from the manifest');
    const blocks = JSON.stringify(done.args.blocks);
    expect(blocks).toMatch(/Sources: \*\[1\]\*/);
    expect(blocks).toContain('feedback_up');
    expect(slack.callsTo('chat.startStream').at(-1)?.args.thread_ts).toBe(parent.ts);
  });

  it('waits out a Slack rate limit (429 + Retry-After) and still answers', async () => {
    slack.rateLimit('chat.postMessage', 1);
    await sendToBolt(
      eventsURL,
      slashCommandBody({
        text: 'Where do secrets go?',
        user_id: 'U1',
        channel_id: CHANNEL,
        response_url: slack.responseURL('c429'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    const parent = await waitFor(
      () => slack.messages(CHANNEL).find((m) => m.text.includes('asked: Where do secrets go?')),
      'the question message after the rate limit',
    );
    const attempts = slack
      .callsTo('chat.postMessage')
      .filter((c) => String(c.args.text).includes('Where do secrets go?'));
    // Refused once with Retry-After, sent again after it (Bolt's client waits it out), answered.
    expect(attempts.map((c) => c.rateLimited ?? false)).toEqual([true, false]);
    await waitFor(() => finished(parent.ts), 'the answer');
  });

  it('takes follow-ups in the /ask thread, with the question it posted read back as the user turn', async () => {
    await sendToBolt(
      eventsURL,
      slashCommandBody({
        text: 'Which scopes does the Slack app need?',
        user_id: 'U1',
        channel_id: CHANNEL,
        response_url: slack.responseURL('cf'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    const parent = await waitFor(
      () =>
        slack.messages(CHANNEL).find((m) => m.text.includes('asked: Which scopes does the Slack app need?')),
      'the question message',
    );
    await waitFor(() => finished(parent.ts), 'the first answer');
    const before = groq.chatRequests().length;
    const ts = slack.addUserMessage(CHANNEL, 'U1', 'And which events?', parent.ts);
    await postEvent({
      type: 'message',
      channel_type: 'channel',
      user: 'U1',
      text: 'And which events?',
      ts,
      thread_ts: parent.ts,
      channel: CHANNEL,
    });
    await waitFor(() => groq.chatRequests().length >= before + 2, 'the follow-up');
    const messages = groq.chatRequests().at(-1)!.body.messages!;
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages[1]!.content).toBe('Which scopes does the Slack app need?');
  });

  it('answers an empty /ask with a private usage hint', async () => {
    const response = await sendToBolt(
      eventsURL,
      slashCommandBody({
        text: '  ',
        user_id: 'U1',
        channel_id: CHANNEL,
        response_url: slack.responseURL('c2'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    const body = (await response.json()) as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('/ask How do I');
  });

  it('tells the user privately how to invite the bot when it cannot post in the channel', async () => {
    slack.excludeBotFrom('C0PRIVATE');
    await sendToBolt(
      eventsURL,
      slashCommandBody({
        text: 'Anything?',
        user_id: 'U1',
        channel_id: 'C0PRIVATE',
        response_url: slack.responseURL('c3'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    const [reply] = await waitFor(() => slack.responses.get('c3'), 'the ephemeral response');
    expect(reply).toMatchObject({ response_type: 'ephemeral' });
    expect(JSON.stringify(reply)).toContain('/invite');
  });
});

describe('Slack: mentions, follow-ups and direct messages', () => {
  it('answers a mention in a thread on the message, with the mention stripped from the question', async () => {
    const ts = slack.addUserMessage(CHANNEL, 'U2', '<@UBOT> which scopes does the Slack app need?');
    await postEvent({
      type: 'app_mention',
      user: 'U2',
      text: '<@UBOT> which scopes does the Slack app need?',
      ts,
      channel: CHANNEL,
    });
    await waitFor(() => finished(ts), 'the answer in the thread');
    const question = groq.chatRequests().at(-1)?.body.messages?.at(-1)?.content ?? '';
    expect(question).toContain('Question: which scopes does the Slack app need?');
    expect(question).not.toContain('<@UBOT>');
  });

  it('answers a follow-up in its thread without a mention, sending the thread history to the model', async () => {
    const root = slack.addUserMessage(CHANNEL, 'U3', '<@UBOT> How do I add the bot to Slack?');
    await postEvent({
      type: 'app_mention',
      user: 'U3',
      text: '<@UBOT> How do I add the bot to Slack?',
      ts: root,
      channel: CHANNEL,
    });
    await waitFor(() => finished(root), 'the first answer');
    const before = groq.chatRequests().length;
    const followTs = slack.addUserMessage(CHANNEL, 'U3', 'And how do I invite it to a channel?', root);
    await postEvent({
      type: 'message',
      channel_type: 'channel',
      user: 'U3',
      text: 'And how do I invite it to a channel?',
      ts: followTs,
      thread_ts: root,
      channel: CHANNEL,
    });
    await waitFor(
      () => groq.chatRequests().length >= before + 2 && finished(root) && threadMessages(root).length >= 3,
      'the follow-up answer',
    );
    const answerRequest = groq.chatRequests().at(-1)!;
    const roles = answerRequest.body.messages?.map((m) => m.role);
    expect(roles).toEqual(['system', 'user', 'assistant', 'user']);
    expect(answerRequest.body.messages?.[1]?.content).toBe('How do I add the bot to Slack?');
    expect(answerRequest.body.messages?.[2]?.content).toContain('Create the app from the manifest');
  });

  it('answers a follow-up also sent to the channel (thread_broadcast), and keeps it in the history', async () => {
    const root = slack.addUserMessage(CHANNEL, 'U3B', '<@UBOT> How do I add the bot to Slack?');
    await postEvent({
      type: 'app_mention',
      user: 'U3B',
      text: '<@UBOT> How do I add the bot to Slack?',
      ts: root,
      channel: CHANNEL,
    });
    await waitFor(() => finished(root), 'the first answer');
    const broadcast = (text: string) => {
      const ts = slack.addUserMessage(CHANNEL, 'U3B', text, root);
      const stored = slack.messages(CHANNEL).find((m) => m.ts === ts)!;
      stored.subtype = 'thread_broadcast';
      return postEvent({
        type: 'message',
        subtype: 'thread_broadcast',
        channel_type: 'channel',
        user: 'U3B',
        text,
        ts,
        thread_ts: root,
        root: { ts: root, user: 'U3B', text: '<@UBOT> How do I add the bot to Slack?' },
        channel: CHANNEL,
      });
    };
    await broadcast('And how do I invite it to a channel?');
    const stopsIn = () =>
      slack.callsTo('chat.stopStream').filter((c) => threadMessages(root).some((m) => m.ts === c.args.ts))
        .length;
    await waitFor(() => stopsIn() >= 2, 'the answer to the broadcast follow-up');
    const second = groq.chatRequests().length;
    await broadcast('Does it need a public URL?');
    await waitFor(() => groq.chatRequests().length >= second + 2, 'the next follow-up');
    const messages = groq.chatRequests().at(-1)?.body.messages ?? [];
    // The earlier broadcast reply is a user turn of the conversation, not left out.
    expect(
      messages.some((m) => m.role === 'user' && m.content === 'And how do I invite it to a channel?'),
    ).toBe(true);
  });

  it('answers a mention inside a thread exactly once, though Slack sends both app_mention and message', async () => {
    const root = slack.addUserMessage(CHANNEL, 'U4', 'Thread about Discord');
    const ts = slack.addUserMessage(CHANNEL, 'U4', '<@UBOT> how do I register the /ask command?', root);
    await postEvent({
      type: 'message',
      channel_type: 'channel',
      user: 'U4',
      text: '<@UBOT> how do I register the /ask command?',
      ts,
      thread_ts: root,
      channel: CHANNEL,
    });
    await postEvent({
      type: 'app_mention',
      user: 'U4',
      text: '<@UBOT> how do I register the /ask command?',
      ts,
      thread_ts: root,
      channel: CHANNEL,
    });
    await waitFor(() => finished(root), 'the answer');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(streamsIn(root)).toBe(1);
  });

  it('answers a retried event once', async () => {
    const ts = slack.addUserMessage(CHANNEL, 'U5', '<@UBOT> where do secrets go?');
    const event = {
      type: 'app_mention',
      user: 'U5',
      text: '<@UBOT> where do secrets go?',
      ts,
      channel: CHANNEL,
    };
    await postEvent(event, 'EvRETRY1');
    await postEvent(event, 'EvRETRY1', 1);
    await postEvent(event, 'EvRETRY1', 2);
    await waitFor(() => finished(ts), 'the answer');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(streamsIn(ts)).toBe(1);
  });

  it('ignores its own messages, other bots, edits and thread messages where it has not answered', async () => {
    const before = groq.chatRequests().length;
    const root = slack.addUserMessage(CHANNEL, 'U6', 'A human thread');
    await postEvent({
      type: 'message',
      channel_type: 'channel',
      user: 'UBOT',
      bot_id: 'BBOT',
      text: 'my own answer',
      ts: '1.1',
      thread_ts: root,
      channel: CHANNEL,
    });
    await postEvent({
      type: 'message',
      channel_type: 'channel',
      subtype: 'bot_message',
      bot_id: 'BOTHER',
      text: 'hello',
      ts: '1.2',
      channel: CHANNEL,
    });
    await postEvent({
      type: 'message',
      channel_type: 'channel',
      subtype: 'message_changed',
      channel: CHANNEL,
      ts: '1.3',
      message: { text: 'edited' },
    });
    const humanTs = slack.addUserMessage(CHANNEL, 'U6', 'just chatting', root);
    await postEvent({
      type: 'message',
      channel_type: 'channel',
      user: 'U6',
      text: 'just chatting',
      ts: humanTs,
      thread_ts: root,
      channel: CHANNEL,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(groq.chatRequests().length).toBe(before);
  });

  it('answers a direct message that mentions the bot (Slack sends no app_mention in DMs)', async () => {
    const ts = slack.addUserMessage('D0DM2', 'U7', '<@UBOT> where do secrets go?');
    await postEvent({
      type: 'message',
      channel_type: 'im',
      user: 'U7',
      text: '<@UBOT> where do secrets go?',
      ts,
      channel: 'D0DM2',
    });
    await waitFor(
      () =>
        slack.calls.find((c) => c.args.channel === 'D0DM2' && JSON.stringify(c.args).includes('feedback_up')),
      'the DM answer',
    );
    const question = groq.chatRequests().at(-1)?.body.messages?.at(-1)?.content ?? '';
    expect(question).toContain('Question: where do secrets go?');
  });

  it('answers a direct message in place', async () => {
    const ts = slack.addUserMessage('D0DM', 'U7', 'How do I run the tests?');
    await postEvent({
      type: 'message',
      channel_type: 'im',
      user: 'U7',
      text: 'How do I run the tests?',
      ts,
      channel: 'D0DM',
    });
    const answer = await waitFor(
      () =>
        slack
          .callsTo('chat.update')
          .find((c) => c.args.channel === 'D0DM' && JSON.stringify(c.args).includes('feedback_up')),
      'the DM answer',
    );
    expect(answer.args.thread_ts).toBeUndefined();
    expect(slack.messages('D0DM').find((m) => m.bot_id)?.thread_ts).toBeUndefined();
  });
});

describe('Slack: failures, safety and rendering', () => {
  it('tells the thread when to try again when Groq rate-limits', async () => {
    groq.failNext({ type: 'status', status: 429, retryAfterSeconds: 9 }, 5);
    const ts = slack.addUserMessage(CHANNEL, 'U8', '<@UBOT> how do I deploy with Docker?');
    await postEvent({
      type: 'app_mention',
      user: 'U8',
      text: '<@UBOT> how do I deploy with Docker?',
      ts,
      channel: CHANNEL,
    });
    const done = await waitFor(() => finished(ts), 'the failure message');
    expect(JSON.stringify(done.args)).toContain('try again in 9 seconds');
  });

  it('never pings the channel, even when the model writes <!channel>, @here or a user group', async () => {
    groq.setReply(() => 'Heads up <!channel> and @here and <!subteam^S123|@oncall>: restart it [1].');
    const ts = slack.addUserMessage(CHANNEL, 'U9', '<@UBOT> how do I restart the bot?');
    await postEvent({
      type: 'app_mention',
      user: 'U9',
      text: '<@UBOT> how do I restart the bot?',
      ts,
      channel: CHANNEL,
    });
    await waitFor(() => finished(ts), 'the answer');
    const sent = JSON.stringify(slack.calls.filter((c) => c.method.startsWith('chat.')).map((c) => c.args));
    expect(sent).not.toContain('<!channel>');
    expect(sent).not.toContain('<!subteam');
    expect(sent).not.toMatch(/[^\u200b]@here/);
  });

  it('rejects a badly signed or stale request', async () => {
    const body = eventEnvelope({ type: 'app_mention', user: 'U1', text: 'hi', ts: '2.1', channel: CHANNEL });
    const forged = await sendToBolt(eventsURL, body, 'application/json', {
      secret: SECRET,
      signature: 'v0=deadbeef',
    });
    expect(forged.status).toBe(401);
    const stale = await sendToBolt(eventsURL, body, 'application/json', {
      secret: SECRET,
      ageSeconds: 10 * 60,
    });
    expect(stale.status).toBe(401);
    const wrongSecret = await sendToBolt(eventsURL, body, 'application/json', { secret: 'not-the-secret' });
    expect(wrongSecret.status).toBe(401);
    // Bolt's own complaint arrives as a structured line in our log, not on the console.
    const line = await waitFor(
      () => logLines.find((l) => l.includes('"source":"bolt"') && /signature|authenticity|verif/i.test(l)),
      'the signature warning',
    );
    expect(JSON.parse(line).level).toBeGreaterThanOrEqual(40);
  });

  it('refuses a signed request body over 1 MiB at its headers (413), reads none of it, and keeps serving', async () => {
    const huge = eventEnvelope({
      type: 'app_mention',
      user: 'U1',
      text: 'x'.repeat(1024 * 1024),
      ts: '2.2',
      channel: CHANNEL,
    });
    const read = adapter.receiverStats()!.bodyBytesRead;
    // Through its own connection, the headers and a first piece only: the refusal comes before
    // the body is read, and the server then drops the connection.
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(eventsURL, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(huge)),
          ...signSlackRequest(SECRET, huge),
        },
        agent: false,
      });
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
        request.destroy();
      });
      request.on('error', reject);
      request.write(huge.slice(0, 1024));
    });
    expect(status).toBe(413);
    expect(adapter.receiverStats()!.bodyBytesRead).toBe(read);
    const ok = await sendToBolt(
      eventsURL,
      eventEnvelope({ type: 'app_mention', user: 'U1', text: '<@UBOT>', ts: '2.3', channel: CHANNEL }),
      'application/json',
      { secret: SECRET },
    );
    expect(ok.status).toBe(200);
  });

  it('records a feedback click as a structured log line and thanks the user', async () => {
    const response = await sendToBolt(
      eventsURL,
      blockActionBody({
        user: { id: 'U10' },
        channel: { id: CHANNEL },
        message: { ts: '3.1', thread_ts: '3.0' },
        actions: [
          {
            type: 'button',
            action_id: 'feedback_down',
            value: 'question-123',
            block_id: 'feedback_question-123',
          },
        ],
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    expect(response.status).toBe(200);
    const line = await waitFor(
      () => logLines.find((l) => l.includes('"event":"feedback"')),
      'the feedback log line',
    );
    expect(JSON.parse(line)).toMatchObject({
      event: 'feedback',
      questionId: 'question-123',
      user: 'U10',
      vote: 'down',
    });
    await waitFor(
      () => slack.callsTo('chat.postEphemeral').find((c) => c.args.user === 'U10'),
      'the thank-you',
    );
  });
});

describe('Slack: nothing the bot posts pings anyone', () => {
  it('shows sources whose titles, URLs and file names carry mentions as text, linking web addresses only', async () => {
    await addHostileDocuments(backends, 'slack');
    groq.setReply(() => 'The Zebra canteen opens at 7 [1][2][3].');
    const ts = slack.addUserMessage(CHANNEL, 'U20', `<@UBOT> ${HOSTILE_QUESTION}`);
    await postEvent({
      type: 'app_mention',
      user: 'U20',
      text: `<@UBOT> ${HOSTILE_QUESTION}`,
      ts,
      channel: CHANNEL,
    });
    const done = await waitFor(() => finished(ts), 'the answer');
    const sources = JSON.stringify(done.args.blocks);
    expect(sources).toContain('Zebra canteen hours');
    expect(sources).toContain('@U999');
    expect(sources).toContain('!subteam^S77');
    // Only the web address became a link, with its "> <!channel" tail percent-encoded.
    expect(sources).toContain('<https://example.com/a%3E%20%3C!channel|');
    expect(sources).not.toContain('<!here');
    const inThread = (c: { args: Record<string, unknown> }) =>
      c.args.thread_ts === ts || threadMessages(ts).some((m) => m.ts === c.args.ts);
    const sent = slack.calls.filter((c) => c.method.startsWith('chat.') && inThread(c));
    expect(sent.length).toBeGreaterThan(1);
    for (const call of sent) expect(slackPings(JSON.stringify(call.args))).toEqual([]);
  });

  it('streams an answer containing a mention word by word without ever closing it, and loses no character', async () => {
    const words = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => `${prefix}${i}`).join(' ');
    const answer = `Zebra: <!channel|${words('w', 80)}> ${words('f', 200)} a > b [1].`;
    groq.setReply((request) =>
      /standalone question/i.test(request.body.messages?.[0]?.content ?? '') ? 'x' : answer,
    );
    const ts = slack.addUserMessage(CHANNEL, 'U21', '<@UBOT> how do I restart the bot?');
    await postEvent({
      type: 'app_mention',
      user: 'U21',
      text: '<@UBOT> how do I restart the bot?',
      ts,
      channel: CHANNEL,
    });
    const done = await waitFor(() => finished(ts), 'the answer');
    expect(done.method).toBe('chat.stopStream');
    const message = threadMessages(ts)[0]!;
    const pieces = slack.calls
      .filter(
        (c) =>
          /chat\.(startStream|appendStream|stopStream)/.test(c.method) &&
          (c.args.ts === message.ts || (c.method === 'chat.startStream' && c.args.thread_ts === ts)),
      )
      .map((c) => String(c.args.markdown_text ?? ''));
    const joined = pieces.join('');
    expect(joined).toBe(message.text);
    expect(slackPings(joined)).toEqual([]);
    // Every character the model wrote arrived once, in order: un-escaping gives it back.
    expect(slackNeutralizer.restore(joined)).toBe(answer);
  });

  it('streams markdown links to mentions in every CommonMark form (escaped, angle-bracketed, reference definitions) as links to nothing', async () => {
    // What a model (or a document it quotes) can write to make Slack's markdown_text ping.
    const answer = [
      'Zebra links: [x](\\!here), [y](<!channel>), [z](&#33;everyone) and [the team][r].',
      '> quoted [q](',
      '> !here)',
      '',
      '[r]: !subteam^S77',
      '[u]:',
      '  @U0123ABC',
      '',
      'See [u] [1].',
    ].join('\n');
    groq.setReply((request) =>
      /standalone question/i.test(request.body.messages?.[0]?.content ?? '') ? 'x' : answer,
    );
    const ts = slack.addUserMessage(CHANNEL, 'U22', '<@UBOT> who should I ask?');
    await postEvent({
      type: 'app_mention',
      user: 'U22',
      text: '<@UBOT> who should I ask?',
      ts,
      channel: CHANNEL,
    });
    const done = await waitFor(() => finished(ts), 'the answer');
    expect(done.method).toBe('chat.stopStream');
    const message = threadMessages(ts)[0]!;
    const joined = slack.calls
      .filter(
        (c) =>
          /chat\.(startStream|appendStream|stopStream)/.test(c.method) &&
          (c.args.ts === message.ts || (c.method === 'chat.startStream' && c.args.thread_ts === ts)),
      )
      .map((c) => String(c.args.markdown_text ?? ''))
      .join('');
    // The raw answer links to mentions; what Slack received, read as CommonMark, links to none.
    expect(slackPings(answer).filter((ping) => ping.startsWith('link to'))).toHaveLength(5);
    expect(slackPings(joined)).toEqual([]);
    expect(slackNeutralizer.restore(joined)).toBe(answer);
  });

  it('checks an /ask question before posting it, and echoes an accepted one as text', async () => {
    const long = 'x'.repeat(100_000);
    const refused = await sendToBolt(
      eventsURL,
      slashCommandBody({
        text: long,
        user_id: 'U9',
        channel_id: CHANNEL,
        response_url: slack.responseURL('long'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    const body = (await refused.json()) as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('100,000 characters long; the limit is 2,000');
    expect(slack.calls.some((c) => String(c.args.text ?? '').includes('x'.repeat(3_000)))).toBe(false);

    await sendToBolt(
      eventsURL,
      slashCommandBody({
        text: '<!channel> Zebra echo: how do I add @here to <@U7>?',
        user_id: 'U9',
        channel_id: CHANNEL,
        response_url: slack.responseURL('echo'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    const parent = await waitFor(
      () => slack.messages(CHANNEL).find((m) => m.text.includes('Zebra echo')),
      'the echoed question',
    );
    expect(parent.text.startsWith('<@U9> asked: ')).toBe(true); // the asker, deliberately
    expect(slackPings(parent.text.replace('<@U9>', ''))).toEqual([]);
    expect(parent.text).toContain('&lt;!channel&gt; Zebra echo: how do I add @\u200bhere to &lt;@U7&gt;?');
    await waitFor(() => finished(parent.ts), 'the answer');
  });
});

describe('Slack: who and what the bot answers', () => {
  /** Another app's post as Slack delivers it: a user id and a bot_id, no subtype. */
  const appPost = (fields: Record<string, unknown>) => ({
    type: 'message',
    user: 'U0OTHERAPP',
    bot_id: 'B0OTHER',
    ...fields,
  });

  it("ignores other apps' messages in a DM, in its threads and as mentions", async () => {
    const root = slack.addUserMessage(CHANNEL, 'U22', '<@UBOT> How do I add the bot to Slack?');
    await postEvent({
      type: 'app_mention',
      user: 'U22',
      text: '<@UBOT> How do I add the bot to Slack?',
      ts: root,
      channel: CHANNEL,
    });
    await waitFor(() => finished(root), 'the first answer');
    const answersBefore = slack.calls.filter((c) => JSON.stringify(c.args).includes('feedback_up')).length;
    const inThread = slack.addUserMessage(CHANNEL, 'U0OTHERAPP', 'And on Discord?', root);
    await postEvent(
      appPost({
        channel_type: 'channel',
        text: 'And on Discord?',
        ts: inThread,
        thread_ts: root,
        channel: CHANNEL,
      }),
    );
    const inDm = slack.addUserMessage('D0APPS', 'U0OTHERAPP', 'where do secrets go?');
    await postEvent(
      appPost({ channel_type: 'im', text: 'where do secrets go?', ts: inDm, channel: 'D0APPS' }),
    );
    const mention = slack.addUserMessage(CHANNEL, 'U0OTHERAPP', '<@UBOT> where do secrets go?');
    await postEvent({
      ...appPost({ text: '<@UBOT> where do secrets go?', ts: mention, channel: CHANNEL }),
      type: 'app_mention',
    });
    // A person's DM sent after them is answered: by then the apps' posts would have been too.
    const human = slack.addUserMessage('D0APPS', 'U22', 'where do secrets go?');
    await postEvent({
      type: 'message',
      channel_type: 'im',
      user: 'U22',
      text: 'where do secrets go?',
      ts: human,
      channel: 'D0APPS',
    });
    await waitFor(() => slack.answerEnd('D0APPS'), 'the person’s answer');
    const answers = slack.calls.filter((c) => JSON.stringify(c.args).includes('feedback_up'));
    expect(answers.length - answersBefore).toBe(1);
    expect(slack.messages('D0APPS').filter((m) => m.bot_id === slack.botId)).toHaveLength(1);
    expect(threadMessages(mention)).toHaveLength(0);
  });

  it('drops malformed events with one log line, and answers a mention without text with the usage hint', async () => {
    const noText = slack.addUserMessage(CHANNEL, 'U23', '');
    await postEvent({ type: 'app_mention', user: 'U23', ts: noText, channel: CHANNEL });
    const hint = await waitFor(() => threadMessages(noText)[0], 'the usage hint');
    expect(hint.text).toContain('Ask me a question after the mention');

    const startsBefore = slack.callsTo('chat.startStream').length;
    const postsBefore = slack.callsTo('chat.postMessage').length;
    await postEvent({
      type: 'app_mention',
      user: 'U23',
      text: '<@UBOT> where do secrets go?',
      ts: '1700000999.000100',
    });
    await postEvent({
      type: 'app_mention',
      user: 'U23',
      text: '<@UBOT> where do secrets go?',
      channel: CHANNEL,
    });
    const dropped = await waitFor(
      () =>
        logLines.filter((l) => l.includes('dropped a malformed app_mention event')).length >= 2 && logLines,
      'two log lines',
    );
    const lines = dropped
      .filter((l) => l.includes('malformed'))
      .map((l) => JSON.parse(l) as { problem: string; level: number });
    expect(lines.map((l) => l.problem)).toEqual([
      'channel: must be a string, not missing',
      expect.stringContaining('ts: must be a string, not missing'),
    ]);
    expect(lines.every((l) => l.level === 40)).toBe(true);
    expect(slack.callsTo('chat.startStream').length).toBe(startsBefore);
    expect(slack.callsTo('chat.postMessage').length).toBe(postsBefore);
  });
});

describe('Slack: the end of an answer is never held back by the throttle', () => {
  const HOUR = 3_600_000;
  let slow: SlackAdapter;
  let slowURL: string;
  beforeAll(async () => {
    // Appends and edits may start once an hour: only the first goes out while streaming.
    slow = createSlackAdapter({
      config: { botToken: slack.token, signingSecret: SECRET, apiURL: slack.apiURL, allowedChannels: [] },
      port: 0,
      conversations: layerOver(runtimeAnswerer),
      pacing: { appendIntervalMs: HOUR, editIntervalMs: HOUR },
    });
    await slow.start();
    slowURL = `http://127.0.0.1:${slow.port}/slack/events`;
  });
  afterAll(async () => {
    await slow?.stop();
  });

  const mention = async (channel: string, text: string) => {
    const ts = slack.addUserMessage(channel, 'U24', `<@UBOT> ${text}`);
    await sendToBolt(
      slowURL,
      eventEnvelope({ type: 'app_mention', user: 'U24', text: `<@UBOT> ${text}`, ts, channel }, slack.teamId),
      'application/json',
      { secret: SECRET },
    );
    return ts;
  };

  it('streams: one append while the model writes, then stopStream with the rest as soon as it stops', async () => {
    const answer = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    groq.setReply(() => answer);
    // The model pauses half way (the first append goes out then), then its stream is cut.
    groq.failNext({ type: 'cut' });
    const ts = await mention('C0SLOW', 'how do I deploy with Docker?');
    const end = await waitFor(() => slack.answerEnd('C0SLOW'), 'the end of the answer');
    expect(end.method).toBe('chat.stopStream');
    const message = slack.messages('C0SLOW').find((m) => m.thread_ts === ts)!;
    expect(
      slack.callsTo('chat.appendStream').filter((c) => c.args.ts === message.ts).length,
    ).toBeLessThanOrEqual(1);
    expect(message.text).toMatch(/^word0 word1 .*word29.*\n\n:warning: The answer was interrupted/s);
  });
});

describe('Slack: without the streaming API', () => {
  beforeAll(() => slack.disableStreaming());

  it('coalesces edits of the placeholder and splits a long answer without breaking code blocks', async () => {
    const long = Array.from(
      { length: 40 },
      (_, i) => `Paragraph ${i}: ${'details '.repeat(20).trim()} [1].`,
    ).join('\n\n');
    const withCode = `${long}\n\n\`\`\`sh\nnpm ci\nnpm run ask\n\`\`\`\n\nDone [1].`;
    groq.setReply(() => withCode);
    const ts = slack.addUserMessage(CHANNEL, 'U11', '<@UBOT> give me the full setup guide');
    await postEvent({
      type: 'app_mention',
      user: 'U11',
      text: '<@UBOT> give me the full setup guide',
      ts,
      channel: CHANNEL,
    });
    await waitFor(() => finished(ts), 'the finished answer', 15_000);
    const placeholder = threadMessages(ts)[0]!;
    const edits = slack.callsTo('chat.update').filter((c) => c.args.ts === placeholder.ts);
    // About 900 words streamed; edits carry the newest text, far fewer than one per word.
    const words = withCode.split(/\s+/).length;
    expect(edits.length).toBeGreaterThanOrEqual(1);
    expect(edits.length).toBeLessThan(words / 10);
    const parts = threadMessages(ts);
    expect(parts.length).toBeGreaterThan(1);
    // Continuations carry blocks; the placeholder post does not.
    const continuations = slack
      .callsTo('chat.postMessage')
      .filter((c) => c.args.thread_ts === ts && c.args.blocks);
    const texts = [edits.at(-1)!, ...continuations].map(
      (c) => (c.args.blocks as { text?: string }[])[0]!.text ?? '',
    );
    for (const text of texts) {
      expect(text.length).toBeLessThanOrEqual(3_500);
      expect((text.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(texts.join('\n')).toContain('npm run ask');
    expect(JSON.stringify(continuations.at(-1)?.args.blocks)).toContain('feedback_up');
  });

  it('with the edit throttle at an hour, edits once while streaming and finishes as soon as the model stops', async () => {
    const slow = createSlackAdapter({
      config: { botToken: slack.token, signingSecret: SECRET, apiURL: slack.apiURL, allowedChannels: [] },
      port: 0,
      conversations: layerOver(runtimeAnswerer),
      pacing: { editIntervalMs: 3_600_000 },
    });
    await slow.start();
    try {
      const answer = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
      groq.setReply(() => answer);
      groq.failNext({ type: 'cut' }); // a pause half way (one edit then), then the end
      const ts = slack.addUserMessage('C0SLOWEDIT', 'U25', '<@UBOT> how do I run the tests?');
      await sendToBolt(
        `http://127.0.0.1:${slow.port}/slack/events`,
        eventEnvelope(
          {
            type: 'app_mention',
            user: 'U25',
            text: '<@UBOT> how do I run the tests?',
            ts,
            channel: 'C0SLOWEDIT',
          },
          slack.teamId,
        ),
        'application/json',
        { secret: SECRET },
      );
      const end = await waitFor(() => slack.answerEnd('C0SLOWEDIT'), 'the end of the answer');
      const placeholder = slack.messages('C0SLOWEDIT').find((m) => m.thread_ts === ts)!;
      const edits = slack.callsTo('chat.update').filter((c) => c.args.ts === placeholder.ts);
      expect(edits.length).toBeLessThanOrEqual(2); // at most one while streaming, then the final one
      expect(edits.at(-1)!.args.text).toContain('word29'); // the final edit, not held back
      expect(JSON.stringify(end.args)).toContain('The answer was interrupted');
    } finally {
      await slow.stop();
    }
  });
});

describe('Slack: SLACK_ALLOWED_CHANNELS', () => {
  it('answers in an allowed channel and explains elsewhere that it is not enabled there', async () => {
    const limited = createSlackAdapter({
      config: {
        botToken: slack.token,
        signingSecret: SECRET,
        apiURL: slack.apiURL,
        allowedChannels: ['C0ALLOWED'],
      },
      port: 0,
      conversations: layerOver(runtimeAnswerer, { dedupe: new MemoryDedupeStore() }),
    });
    await limited.start();
    try {
      const url = `http://127.0.0.1:${limited.port}/slack/events`;
      const send = (channel: string, ts: string) =>
        sendToBolt(
          url,
          eventEnvelope({
            type: 'app_mention',
            user: 'U12',
            text: '<@UBOT> where do secrets go?',
            ts,
            channel,
          }),
          'application/json',
          {
            secret: SECRET,
          },
        );
      const elsewhere = slack.addUserMessage('C0OTHER', 'U12', '<@UBOT> where do secrets go?');
      await send('C0OTHER', elsewhere);
      const notice = await waitFor(
        () => slack.messages('C0OTHER').find((m) => m.bot_id && m.thread_ts === elsewhere),
        'the not-enabled notice',
      );
      expect(notice.text).toContain('not enabled in this channel');
      const allowed = slack.addUserMessage('C0ALLOWED', 'U12', '<@UBOT> where do secrets go?');
      await send('C0ALLOWED', allowed);
      // Streamed or edited, depending on whether an earlier test turned streaming off.
      await waitFor(() => slack.answerEnd('C0ALLOWED'), 'the answer in the allowed channel');
    } finally {
      await limited.stop();
    }
  });
});

describe('Slack: Socket Mode (SLACK_APP_TOKEN)', () => {
  it('connects out with the app-level token, acknowledges events from the socket and answers them', async () => {
    const socketMode = createSlackAdapter({
      config: { botToken: slack.token, appToken: slack.appToken, apiURL: slack.apiURL, allowedChannels: [] },
      port: 0,
      conversations: layerOver(runtimeAnswerer, { dedupe: new MemoryDedupeStore() }),
    });
    await socketMode.start();
    try {
      await slack.socketConnected();
      expect(slack.callsTo('apps.connections.open').length).toBeGreaterThan(0);
      const ts = slack.addUserMessage('C0SOCKET', 'U13', '<@UBOT> where do secrets go?');
      const envelope = slack.socketEvent({
        type: 'app_mention',
        user: 'U13',
        text: '<@UBOT> where do secrets go?',
        ts,
        channel: 'C0SOCKET',
      });
      await waitFor(() => slack.acks.find((ack) => ack.envelope_id === envelope), 'the acknowledgement');
      await waitFor(() => slack.answerEnd('C0SOCKET'), 'the answer');
    } finally {
      await socketMode.stop();
    }
  });
});
