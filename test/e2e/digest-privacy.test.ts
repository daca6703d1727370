/**
 * The digest never carries a question to people who could not see it where it was asked
 * (issue 17 item 11). Questions are asked through the real Bolt app and discord.js client
 * against the fakes, in a public channel, a private channel, a channel shared with another
 * organisation (Slack) and a channel @everyone may not view (Discord); what the platform said
 * about each channel is recorded with the answer, and the digest posted to a public channel
 * shows only the public channel's question.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bot, composeBot } from '../../src/app/compose.js';
import { parseConfig } from '../../src/config.js';
import { createDiscordAdapter } from '../../src/platforms/discord/index.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import { DigestScheduler } from '../../src/records/digest.js';
import { discordDigestDestination } from '../../src/records/digest-discord.js';
import { slackDigestDestination } from '../../src/records/digest-slack.js';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord/index.js';
import { eventEnvelope, type FakeSlack, sendToBolt, startFakeSlack } from '../fakes/slack/index.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'slack-signing-secret-for-digest-tests';
const SLACK_DIGEST = 'C0DIGEST';
const DISCORD_DIGEST = '1100000000000000444';
const WEEK = 7 * 24 * 60 * 60 * 1000;

let slack: FakeSlack;
let discord: FakeDiscord;
let bot: Bot;
let slackAdapter: SlackAdapter;
let discordAdapter: PlatformAdapter;
let dataDir: string;
let eventsURL: string;

beforeAll(async () => {
  [slack, discord] = await Promise.all([startFakeSlack(), startFakeDiscord()]);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-digest-privacy-'));
  // An empty knowledge base: every question ends "nothing found", so each is in the digest.
  const config = parseConfig({
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiURL,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    RAG_DATA_DIR: dataDir,
    RAG_KNOWLEDGE_DIR: join(dataDir, 'none'),
  });
  const { logger } = captureLogs();
  bot = await composeBot(config, logger);
  slackAdapter = createSlackAdapter({
    config: config.slack!,
    port: 0,
    conversations: bot.conversations,
    knowledge: bot.knowledge,
    logger,
  });
  discordAdapter = createDiscordAdapter({
    config: config.discord!,
    conversations: bot.conversations,
    knowledge: bot.knowledge,
    logger,
    editIntervalMs: 0,
  });
  const ready = discord.waitForReady();
  await Promise.all([slackAdapter.start(), discordAdapter.start()]);
  await ready;
  eventsURL = `http://127.0.0.1:${slackAdapter.port}/slack/events`;
});

afterAll(async () => {
  await bot?.stop([slackAdapter, discordAdapter]);
  await Promise.all([slack?.close(), discord?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

const recorded = (count: number) =>
  waitFor(
    async () => (await bot.records.answers(0, Date.now() + 1)).length >= count || undefined,
    `${count} answer records`,
  );

describe('the digest and private conversations', () => {
  it('Slack: the digest in a public channel shows the public channel’s question only', async () => {
    slack.setChannelKind('C0SECRET', 'private');
    slack.setChannelKind('C0PARTNER', 'shared');
    const questions = [
      ['C0PUBLIC', 'Where is the quarterly zeta budget kept?'],
      ['C0SECRET', 'When will the reorganisation of the sales team be announced?'],
      ['C0PARTNER', 'What discount do we give the partner on renewals?'],
    ] as const;
    for (const [channel, question] of questions) {
      const ts = slack.addUserMessage(channel, 'U0ASKER', `<@UBOT> ${question}`);
      await sendToBolt(
        eventsURL,
        eventEnvelope({ type: 'app_mention', user: 'U0ASKER', text: `<@UBOT> ${question}`, ts, channel }),
        'application/json',
        { secret: SECRET },
      );
    }
    await recorded(3);
    await bot.recorder.settled();
    const scheduler = new DigestScheduler({
      store: bot.records,
      destinations: [
        slackDigestDestination({
          token: slack.token,
          channel: SLACK_DIGEST,
          apiURL: slack.apiURL,
          pseudonym: bot.records.pseudonym,
        }),
      ],
      schedule: 'weekly',
      log: captureLogs().logger,
      now: () => Date.now() + WEEK,
    });
    expect(await scheduler.tick()).toBe(1);
    const digest = JSON.stringify(slack.messages(SLACK_DIGEST));
    expect(digest).toContain('quarterly zeta budget');
    expect(digest).not.toContain('reorganisation');
    expect(digest).not.toContain('discount');
  });

  it('Slack: a channel made private is recorded as private from the next answer on, not ten minutes later', async () => {
    const ask = async (question: string) => {
      const before = (await bot.records.answers(0, Date.now() + 1)).length;
      const ts = slack.addUserMessage('C0TURNED', 'U0ASKER', `<@UBOT> ${question}`);
      await sendToBolt(
        eventsURL,
        eventEnvelope({
          type: 'app_mention',
          user: 'U0ASKER',
          text: `<@UBOT> ${question}`,
          ts,
          channel: 'C0TURNED',
        }),
        'application/json',
        { secret: SECRET },
      );
      await recorded(before + 1);
      await bot.recorder.settled();
      const records = await bot.records.answers(0, Date.now() + 1);
      return records.find((record) => record.question?.includes(question));
    };
    expect((await ask('Which vendor runs the canteen?'))?.audience).toBe('everyone');
    // An admin makes the channel private: Slack posts its notice among the channel's messages.
    slack.setChannelKind('C0TURNED', 'private');
    const ts = slack.addUserMessage('C0TURNED', 'U0ADMIN', 'made this channel *private*.');
    await sendToBolt(
      eventsURL,
      eventEnvelope({
        type: 'message',
        subtype: 'channel_convert_to_private',
        user: 'U0ADMIN',
        text: 'made this channel *private*.',
        ts,
        channel: 'C0TURNED',
        channel_type: 'group',
      }),
      'application/json',
      { secret: SECRET },
    );
    await waitFor(async () => {
      const record = await ask(`Who approved the layoffs list ${Date.now()}?`);
      return record?.audience === 'restricted' || undefined;
    }, 'an answer recorded as private');
  });

  it('Discord: a question asked where @everyone cannot look stays out of the server’s digest', async () => {
    const before = (await bot.records.answers(0, Date.now() + 1)).length;
    for (const [channelId, content] of [
      [discord.channelId, 'Where do the office plants get watered?'],
      [discord.hiddenChannelId, 'Who is on the shortlist for the director role?'],
    ] as const) {
      discord.userMessage({ channelId, content: `<@${discord.botUserId}> ${content}` });
    }
    await recorded(before + 2);
    await bot.recorder.settled();
    const scheduler = new DigestScheduler({
      store: bot.records,
      destinations: [
        discordDigestDestination({
          token: discord.token,
          channel: DISCORD_DIGEST,
          apiURL: discord.apiURL,
          pseudonym: bot.records.pseudonym,
        }),
      ],
      schedule: 'weekly',
      log: captureLogs().logger,
      now: () => Date.now() + WEEK,
    });
    expect(await scheduler.tick()).toBe(1);
    const digest = JSON.stringify(discord.messages(DISCORD_DIGEST));
    expect(digest).toContain('office plants');
    expect(digest).not.toContain('shortlist');
  });
});
