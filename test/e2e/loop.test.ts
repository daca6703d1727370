/**
 * Closing the loop, end to end on the Slack and Discord fakes: every answer recorded, "Ask a
 * human" pinging exactly the configured group, the 👎 reason forms, `npm run report`, and the
 * digest posted once per period with "Save as knowledge" where a person answered.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config.js';
import { strings } from '../../src/conversation/strings.js';
import { KnowledgeService } from '../../src/knowledge/service.js';
import { createDiscordAdapter } from '../../src/platforms/discord/index.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import { DigestScheduler, duePeriod } from '../../src/records/digest.js';
import { discordDigestDestination } from '../../src/records/digest-discord.js';
import { slackDigestDestination } from '../../src/records/digest-slack.js';
import { StoreRecorder } from '../../src/records/recorder.js';
import { RecordStore } from '../../src/records/store.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord/index.js';
import { answering } from '../fakes/groq/index.js';
import {
  blockActionBody,
  eventEnvelope,
  type FakeMessage,
  type FakeSlack,
  sendToBolt,
  startFakeSlack,
  viewSubmissionBody,
} from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { layerOver } from '../support/conversations.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';
import { runCli } from './cli.js';

/** The pseudonyms' key, as an installation keeps it. */
const KEY = Buffer.alloc(32, 3);

const SECRET = 'slack-signing-secret-for-tests';
const CHANNEL = 'C0LOOP';
const SLACK_GROUP = 'S0HELPERS';
const SLACK_DIGEST = 'C0DIGEST';
const DISCORD_ROLE = '1100000000000000888';
const DISCORD_DIGEST = '1100000000000000444';
const HELPER = 'U0HELPER';
const DISCORD_HELPER = '1100000000000000666';

let backends: Backends;
let slack: FakeSlack;
let discord: FakeDiscord;
let slackAdapter: SlackAdapter;
let discordAdapter: PlatformAdapter;
let dataDir: string;
let app: AppDatabase;
let records: RecordStore;
let recorder: StoreRecorder;
let eventsURL: string;
let knowledge: KnowledgeService;

async function slackMention(user: string, text: string): Promise<string> {
  const ts = slack.addUserMessage(CHANNEL, user, `<@${slack.botUserId}> ${text}`);
  await sendToBolt(
    eventsURL,
    eventEnvelope(
      { type: 'app_mention', user, text: `<@${slack.botUserId}> ${text}`, ts, channel: CHANNEL },
      slack.teamId,
    ),
    'application/json',
    { secret: SECRET },
  );
  return ts;
}

/** The finished answer in a Slack thread: the stream's stop carrying the buttons. */
async function slackAnswer(rootTs: string) {
  const stop = await waitFor(
    () =>
      slack
        .callsTo('chat.stopStream')
        .find(
          (c) =>
            slack.messages(CHANNEL).some((m) => m.ts === c.args.ts && m.thread_ts === rootTs) &&
            /feedback_up|:warning:/.test(JSON.stringify(c.args)),
        ),
    'the finished Slack answer',
  );
  const buttons = JSON.stringify(stop.args.blocks ?? []);
  const questionId = /"value":"([^"]+)"/.exec(buttons)?.[1] ?? '';
  return { ts: String(stop.args.ts), buttons, questionId };
}

async function slackClick(
  actionId: string,
  value: string,
  message: { ts: string; thread_ts?: string },
  user: string,
) {
  const response = await sendToBolt(
    eventsURL,
    blockActionBody({
      user: { id: user },
      channel: { id: CHANNEL },
      message,
      trigger_id: `trigger-${actionId}-${value}-${user}`,
      actions: [{ type: 'button', action_id: actionId, value, block_id: `b_${value}` }],
    }),
    'application/x-www-form-urlencoded',
    { secret: SECRET },
  );
  expect(response.status).toBe(200);
}

/** The bot's Discord answer in a thread it started on a mention. */
async function discordMention(content: string) {
  const asked = discord.userMessage({ content: `<@${discord.botUserId}> ${content}` });
  const thread = await waitFor(
    () => discord.threadsOf(discord.channelId).find((t) => t.id === asked.id),
    'the thread',
  );
  const answer = await waitFor(
    () =>
      discord
        .messages(thread.id)
        .find((m) => m.author.bot && JSON.stringify(m.components).includes('feedback:up')),
    'the Discord answer',
  );
  const questionId = /feedback:up:([^"]+)"/.exec(JSON.stringify(answer.components))?.[1] ?? '';
  return { thread, answer, questionId };
}

beforeAll(async () => {
  [backends, slack, discord] = await Promise.all([startBackends(), startFakeSlack(), startFakeDiscord()]);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-loop-'));
  const config = parseConfig({
    ...backends.env,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiURL,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    ESCALATION_SLACK_GROUP: SLACK_GROUP,
    ESCALATION_DISCORD_ROLE: DISCORD_ROLE,
    RAG_DATA_DIR: dataDir,
    SAVE_TO_KB: 'everyone',
  });
  const { logger } = captureLogs();
  const runtime = await buildRuntime(config, { logger });
  app = openAppDatabase(dataDir);
  records = new RecordStore(app, KEY);
  recorder = new StoreRecorder(records, { keepText: true, log: logger });
  const conversations = layerOver(runtime.answerer, { logger, recorder });
  // The digest's "Save as knowledge" buttons save through the real knowledge feature.
  knowledge = new KnowledgeService({
    store: runtime.store,
    appDatabase: () => app,
    settings: config.knowledge,
    logger,
  });
  slackAdapter = createSlackAdapter({ config: config.slack!, port: 0, conversations, knowledge, logger });
  discordAdapter = createDiscordAdapter({ config: config.discord!, conversations, knowledge, logger });
  await Promise.all([slackAdapter.start(), discordAdapter.start()]);
  eventsURL = `http://127.0.0.1:${slackAdapter.port}/slack/events`;
});

afterAll(async () => {
  await Promise.all([slackAdapter?.stop(), discordAdapter?.stop()]);
  await Promise.all([backends?.close(), slack?.close(), discord?.close()]);
  app?.close();
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  backends.groq.clearFaults();
  backends.groq.setReply(
    answering('Create the app from the manifest in commands/, then install it to your workspace [1].'),
  );
});

describe('Slack: Ask a human and the 👎 reason', () => {
  it('offers Ask a human under the answer; the click pings exactly the group in the thread and tells the asker privately', async () => {
    const root = await slackMention('U1', 'How do I add the bot to Slack?');
    const answer = await slackAnswer(root);
    expect(answer.buttons).toContain('"action_id":"ask_a_human"');
    await slackClick('ask_a_human', answer.questionId, { ts: answer.ts, thread_ts: root }, 'U1');

    const ask = await waitFor(
      () => slack.callsTo('chat.postMessage').find((c) => String(c.args.text).includes('subteam')),
      'the hand-off message',
    );
    expect(ask.args.thread_ts).toBe(root);
    expect(slack.pings({ text: String(ask.args.text) })).toEqual([`subteam:${SLACK_GROUP}`]);
    const told = await waitFor(
      () => slack.callsTo('chat.postEphemeral').find((c) => c.args.text === strings.humanAsked),
      'the private confirmation',
    );
    expect(told.args).toMatchObject({ user: 'U1', thread_ts: root });
    await waitFor(
      async () => (await records.answer(answer.questionId))?.escalatedAt,
      'the hand-off recorded',
    );
    // Clicking again (anyone) does not ping the group again.
    await slackClick('ask_a_human', answer.questionId, { ts: answer.ts, thread_ts: root }, 'U7');
    await waitFor(
      () => slack.callsTo('chat.postEphemeral').find((c) => c.args.text === strings.humanAlreadyAsked),
      'the note that the team was already asked',
    );
    // The one deliberate ping: every other message the bot wrote pings no one.
    const botMessages = slack.messages(CHANNEL).filter((m: FakeMessage) => m.bot_id);
    const pinging = botMessages.filter((m) => slack.pings(m).length > 0);
    expect(pinging.map((m) => slack.pings(m))).toEqual([[`subteam:${SLACK_GROUP}`]]);
  });

  it('records the answer with its thread link, and a 👎 opens an optional reason form whose line is recorded', async () => {
    const root = await slackMention('U2', 'Which scopes does the Slack app need?');
    const answer = await slackAnswer(root);
    await recorder.settled();
    const stored = await waitFor(async () => {
      const found = await records.answer(answer.questionId);
      return found?.link ? found : undefined;
    }, 'the record');
    expect(stored).toMatchObject({
      platform: 'slack',
      channelId: CHANNEL,
      threadId: root,
      question: 'Which scopes does the Slack app need?',
      outcome: 'answered',
      mode: 'groq',
      link: `https://fake.slack.com/archives/${CHANNEL}/p${root.replace('.', '')}`,
    });
    expect(stored.sources.length).toBeGreaterThan(0);
    expect(stored.timings.totalMs).toBeGreaterThanOrEqual(0);

    await slackClick('feedback_down', answer.questionId, { ts: answer.ts, thread_ts: root }, 'U2');
    const opened = await waitFor(
      () => slack.views.find((v) => JSON.stringify(v.view).includes(answer.questionId)),
      'the reason form',
    );
    expect(opened.view).toMatchObject({ type: 'modal', callback_id: 'feedback_reason' });
    await waitFor(
      async () => (await records.votes(0, Date.now() + 1)).find((v) => v.questionId === answer.questionId),
      'the vote',
    );

    const response = await sendToBolt(
      eventsURL,
      viewSubmissionBody({
        view: opened.view,
        user_id: 'U2',
        values: { reason: { reason_input: { type: 'plain_text_input', value: 'It lists the old scopes' } } },
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    expect(response.status).toBe(200);
    const vote = await waitFor(
      async () =>
        (await records.votes(0, Date.now() + 1)).find((v) => v.questionId === answer.questionId && v.reason),
      'the reason',
    );
    expect(vote).toMatchObject({
      userId: records.pseudonym('U2'),
      vote: 'down',
      reason: 'It lists the old scopes',
    });
    await waitFor(
      () => slack.callsTo('chat.postEphemeral').find((c) => c.args.text === strings.thanksForReason),
      'the thanks',
    );
  });

  it('records a question it could not answer, and offers no Ask a human in a DM', async () => {
    // The knowledge base is unreachable: a question the bot cannot answer.
    backends.upstash.failNext({ type: 'status', status: 500 }, 10);
    const ts = slack.addUserMessage('D0DIRECT', 'U3', 'qwertyuiop zxcvbnm plokijuh?');
    await sendToBolt(
      eventsURL,
      eventEnvelope(
        {
          type: 'message',
          channel_type: 'im',
          user: 'U3',
          text: 'qwertyuiop zxcvbnm plokijuh?',
          ts,
          channel: 'D0DIRECT',
        },
        slack.teamId,
      ),
      'application/json',
      { secret: SECRET },
    );
    const record = await waitFor(
      async () =>
        (await records.answers(0, Date.now() + 1)).find((r) => r.question?.includes('qwertyuiop zxcvbnm')),
      'the record of the failure',
    );
    backends.upstash.clearFaults();
    expect(record).toMatchObject({ outcome: 'unavailable', direct: true, channelId: 'D0DIRECT' });
    const dmButtons = slack.calls.filter(
      (c) => c.args.channel === 'D0DIRECT' && JSON.stringify(c.args).includes('ask_a_human'),
    );
    expect(dmButtons).toEqual([]);
  });
});

describe('Discord: Ask a human and the 👎 reason', () => {
  it('the click posts in the thread mentioning exactly the role, allowed for that role only, and tells the asker privately', async () => {
    const { thread, answer, questionId } = await discordMention(
      'How do I register the /ask command on Discord?',
    );
    expect(JSON.stringify(answer.components)).toContain(`ask_a_human:${questionId}`);
    const { token } = discord.clickButton({ customId: `ask_a_human:${questionId}`, messageId: answer.id });
    const ping = await waitFor(
      () => discord.messages(thread.id).find((m) => m.mention_roles.length > 0),
      'the hand-off message',
    );
    expect(ping.content).toContain(`<@&${DISCORD_ROLE}>`);
    expect(ping.mention_roles).toEqual([DISCORD_ROLE]);
    expect(ping.mentions).toEqual([]);
    expect(ping.mention_everyone).toBe(false);
    const call = discord
      .callsTo('POST', new RegExp(`/channels/${thread.id}/messages$`))
      .find((c) => c.body?.content === ping.content);
    expect(call?.body?.allowed_mentions).toEqual({ parse: [], roles: [DISCORD_ROLE] });
    const reply = await waitFor(
      () => discord.callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/messages/@original`))[0],
      'the private confirmation',
    );
    expect(reply.body?.content).toBe(strings.humanAsked);
    await waitFor(async () => (await records.answer(questionId))?.escalatedAt, 'the hand-off recorded');
    // Every other message the bot posted pings no one.
    const others = [...discord.messages(discord.channelId), ...discord.messages(thread.id)].filter(
      (m) => m.author.bot && m.id !== ping.id,
    );
    expect(
      others.every((m) => m.mention_roles.length === 0 && m.mentions.length === 0 && !m.mention_everyone),
    ).toBe(true);
  });

  it('asks in the follow-up thread of an /ask reply', async () => {
    const { token } = discord.slashAsk({ question: 'Which intents does the bot need?' });
    const thread = await waitFor(
      () => discord.threadsOf(discord.channelId).find((t) => t.name === 'Which intents does the bot need?'),
      'the /ask thread',
    );
    const reply = discord.messages(discord.channelId).find((m) => m.id === thread.id)!;
    const questionId = /ask_a_human:([^"]+)"/.exec(JSON.stringify(reply.components))?.[1];
    expect(questionId, `buttons of the reply to ${token}`).toBeDefined();
    discord.clickButton({ customId: `ask_a_human:${questionId}`, messageId: reply.id });
    const ping = await waitFor(
      () => discord.messages(thread.id).find((m) => m.mention_roles.length > 0),
      'the ping',
    );
    expect(ping.mention_roles).toEqual([DISCORD_ROLE]);
    // The record links to the reply the follow-up thread hangs off.
    await recorder.settled();
    expect((await records.answer(questionId!))?.link).toBe(
      `https://discord.com/channels/${discord.guildId}/${discord.channelId}/${reply.id}`,
    );
  });

  it('a 👎 shows the reason form; its line is recorded and thanked privately', async () => {
    const { answer, questionId, thread } = await discordMention('Where does the local index live?');
    discord.clickButton({ customId: `feedback:down:${questionId}`, messageId: answer.id });
    const modal = await waitFor(
      () => discord.modals.find((m) => String(m.data.custom_id) === `feedback_reason:${questionId}`),
      'the reason form',
    );
    expect(JSON.stringify(modal.data.components)).toContain('"custom_id":"reason"');
    await waitFor(
      async () => (await records.votes(0, Date.now() + 1)).find((v) => v.questionId === questionId),
      'the vote',
    );
    const { token } = discord.submitModal({
      customId: `feedback_reason:${questionId}`,
      values: { reason: 'Wrong folder name' },
      channelId: thread.id,
    });
    const vote = await waitFor(
      async () =>
        (await records.votes(0, Date.now() + 1)).find((v) => v.questionId === questionId && v.reason),
      'the reason recorded',
    );
    expect(vote).toMatchObject({ vote: 'down', reason: 'Wrong folder name' });
    const thanks = await waitFor(
      () => discord.callsTo('POST', new RegExp(`/interactions/\\d+/${token}/callback`))[0],
      'the thanks',
    );
    expect(thanks.body).toMatchObject({ type: 4, data: { content: strings.thanksForReason, flags: 64 } });
  });
});

describe('the report and the digest', () => {
  it('npm run report prints the failed and voted-down questions with links and figures', async () => {
    await recorder.settled();
    const text = await runCli('src/cli/report.ts', ['--since', '1d'], { env: { RAG_DATA_DIR: dataDir } });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Questions: \d+ · answered \d+ \(\d+%\)/);
    expect(text.stdout).toContain('"qwertyuiop zxcvbnm plokijuh?"  [service unavailable ×1]');
    expect(text.stdout).toContain('reasons: "It lists the old scopes"');
    expect(text.stdout).toContain(`https://fake.slack.com/archives/${CHANNEL}/p`);

    const json = await runCli('src/cli/report.ts', ['--since', '2020-01-01', '--json'], {
      env: { RAG_DATA_DIR: dataDir },
    });
    const report = JSON.parse(json.stdout) as {
      questions: number;
      feedback: { down: number; askedHuman: number };
    };
    expect(report.questions).toBe((await records.answers(0, Date.now() + 1)).length);
    expect(report.feedback).toMatchObject({ down: 2, askedHuman: 3 });

    const bad = await runCli('src/cli/report.ts', ['--since', 'last tuesday'], {
      env: { RAG_DATA_DIR: dataDir },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since "last tuesday" is not a period');
  });

  it('posts the digest once per period to both platforms, with Save as knowledge where a person answered', async () => {
    // A person answers in one Slack thread and one Discord thread; the question text tries to ping.
    const root = await slackMention('U4', '<!channel> how do I rotate the signing secret?');
    await slackAnswer(root);
    slack.addUserMessage(CHANNEL, HELPER, 'Regenerate it under Basic Information, then update .env.', root);
    const { thread } = await discordMention('@everyone how do I rotate the Discord token?');
    await recorder.settled();
    for (const id of [root])
      await records.saveVote({
        questionId: await recordIn(id),
        platform: 'slack',
        userId: 'U4',
        vote: 'down',
        at: Date.now(),
      });
    // The record is written once the answer's last edit has been acknowledged: wait for it, not
    // for the edit alone (under load the two can be a moment apart).
    const discordRecord = await waitFor(
      async () => (await records.answers(0, Date.now() + 1)).find((r) => r.threadId === thread.id),
      'the Discord answer recorded',
    );
    await records.saveVote({
      questionId: discordRecord.questionId,
      platform: 'discord',
      userId: 'someone',
      vote: 'down',
      at: Date.now(),
    });
    discord.userMessage({
      channelId: thread.id,
      content: 'Reset it in the Developer Portal.',
      userId: DISCORD_HELPER,
    });
    await waitFor(
      () => discord.messages(thread.id).filter((m) => m.author.bot).length >= 2,
      'the follow-up answered',
    );
    await recorder.settled();

    // Two instances share the database: each has a scheduler, both tick in the due period.
    const later = Date.now() + 7 * 24 * 60 * 60 * 1000;
    const destinations = () => [
      slackDigestDestination({
        token: slack.token,
        channel: SLACK_DIGEST,
        apiURL: slack.apiURL,
        pseudonym: records.pseudonym,
      }),
      discordDigestDestination({
        token: discord.token,
        channel: DISCORD_DIGEST,
        apiURL: discord.apiURL,
        pseudonym: records.pseudonym,
      }),
    ];
    const secondApp = openAppDatabase(dataDir);
    const { logger } = captureLogs();
    const schedulers = [records, new RecordStore(secondApp, KEY)].map(
      (store) =>
        new DigestScheduler({
          store,
          destinations: destinations(),
          schedule: 'weekly',
          log: logger,
          now: () => later,
        }),
    );
    const posted = await Promise.all(schedulers.map((s) => s.tick()));
    expect(posted.reduce((a, b) => a + b, 0)).toBe(2);
    expect(await schedulers[0]!.tick()).toBe(0);
    secondApp.close();
    expect(duePeriod('weekly', later).to).toBeGreaterThan(Date.now());

    const slackDigests = slack.callsTo('chat.postMessage').filter((c) => c.args.channel === SLACK_DIGEST);
    expect(slackDigests).toHaveLength(1);
    const blocks = JSON.stringify(slackDigests[0]!.args.blocks);
    expect(blocks).toContain('Weekly knowledge digest');
    // The question asked in a DM is in the report (npm run report, for the operator) but never in a
    // channel's digest: nobody in that channel could see it where it was asked.
    expect(blocks).not.toContain('qwertyuiop zxcvbnm');
    expect(blocks).toContain('how do I rotate the signing secret?');
    expect(blocks).not.toContain('<!channel>');
    expect(slack.pings({ text: blocks })).toEqual([]);
    const saveButtons = [
      ...blocks.matchAll(/"action_id":"save_to_knowledge","text":\{[^}]*\},"value":"((?:[^"\\]|\\.)*)"/g),
    ];
    expect(saveButtons.map((m) => JSON.parse(JSON.parse(`"${m[1]}"`)))).toEqual([{ c: CHANNEL, t: root }]);

    const discordDigests = discord.messages(DISCORD_DIGEST);
    expect(discordDigests).toHaveLength(1);
    const digest = discordDigests[0]!;
    expect(digest.content).toContain('Weekly knowledge digest');
    expect(digest.mention_everyone).toBe(false);
    expect(digest.content).not.toMatch(/(^|[^\u200b])@everyone/);
    const buttons = JSON.stringify(digest.components);
    expect([...buttons.matchAll(/"custom_id":"(save:[^"]+)"/g)].map((m) => m[1])).toEqual([
      `save:${discord.channelId}:${thread.id}`,
    ]);

    // Saving from the digest: each platform saves the thread into the knowledge base, cited by
    // its link, and tells the person who clicked privately.
    await sendToBolt(
      eventsURL,
      blockActionBody({
        user: { id: 'U9' },
        channel: { id: SLACK_DIGEST },
        message: { ts: '1.1' },
        actions: [
          {
            type: 'button',
            action_id: 'save_to_knowledge',
            value: JSON.stringify({ c: CHANNEL, t: root }),
            block_id: 'b',
          },
        ],
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    const confirmed = await waitFor(
      () =>
        slack
          .callsTo('chat.postEphemeral')
          .find((c) => c.args.user === 'U9' && String(c.args.text).startsWith('Saved this thread')),
      'the Slack confirmation',
    );
    expect(confirmed.args).toMatchObject({ channel: SLACK_DIGEST });
    const slackSources = new Set((await knowledge.store.collection('default').listIds()).values());
    expect(slackSources).toContain(slack.permalink(CHANNEL, root));

    const { token } = discord.clickButton({
      customId: `save:${discord.channelId}:${thread.id}`,
      messageId: digest.id,
    });
    const reply = await waitFor(
      () => discord.callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/messages/@original`))[0],
      'the private result',
    );
    expect(String(reply.body?.content)).toMatch(/^Saved this thread/);
  });
});

/** The question id recorded for a Slack thread. */
async function recordIn(threadTs: string): Promise<string> {
  return (await records.answers(0, Date.now() + 1)).find((r) => r.threadId === threadTs)!.questionId;
}
