/**
 * `/kb learn` end to end on Discord: the real discord.js client composed like `npm start`, the
 * Discord fake delivering MESSAGE_REACTION_ADD / _REMOVE (only to a client that asked for the
 * reactions intent, as Discord does) and THREAD_UPDATE for forum tags, and the Groq and
 * Upstash fakes. A thread its asker marks ✅ answers in another thread, un-marking removes it,
 * a forum post tagged Solved is learned (an archived one discord.js never cached too), and a
 * private channel never learns.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayIntentBits } from 'discord.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Bot } from '../../src/app/compose.js';
import { parseConfig } from '../../src/config.js';
import { strings } from '../../src/conversation/strings.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import {
  type FakeDiscord,
  MANAGE_GUILD,
  MEMBER_PERMISSIONS,
  startFakeDiscord,
} from '../fakes/discord/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { discordBotOn } from '../support/discord-bot.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';

let backends: Backends;
let discord: FakeDiscord;
let bot: Bot;
let adapter: PlatformAdapter;
let dataDir: string;
let logLines: string[];

const ADMIN = { permissions: MEMBER_PERMISSIONS | MANAGE_GUILD, userId: '1100000000000000601' };
const ASKER = '1100000000000000602';
const HELPER = '1100000000000000603';
const OTHER = '1100000000000000604';

async function kb(sub: string, options: unknown[], channelId?: string): Promise<string> {
  const { token } = discord.slashCommand({
    name: 'kb',
    options: [{ name: sub, type: 1, options }],
    ...ADMIN,
    ...(channelId ? { channelId } : {}),
  });
  await waitFor(() => discord.ephemeral(token).find((message) => message.content), `the reply to /kb ${sub}`);
  return discord.ephemeral(token)[0]!.content;
}

const search = (query: string) => bot.runtime.store.search(query, { topK: 3, collections: ['support'] });
const urls = async (query: string) => (await search(query)).map((passage) => passage.url);

beforeAll(async () => {
  [backends, discord] = await Promise.all([startBackends(), startFakeDiscord()]);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-discord-learn-'));
  const config = parseConfig({
    ...backends.env,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    DISCORD_ADMIN_ROLE: 'kb editors',
    RAG_DATA_DIR: dataDir,
    // The server reads (and its chat writes go to) `support`: no other server reads it.
    KNOWLEDGE_ROUTES: `${discord.guildId}=support`,
  });
  const { logger, lines } = captureLogs('debug');
  logLines = lines;
  ({ bot, adapter } = await discordBotOn(discord, config, logger));
});

afterAll(async () => {
  await bot?.stop([adapter]);
  await Promise.all([backends?.close(), discord?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  backends.groq.setReply(() => 'Here is what the knowledge base says [1].');
});

describe('Discord: /kb learn', () => {
  it('asks Discord for reactions, refuses a private channel, and learns in a public one', async () => {
    expect(
      discord.identified.every((entry) => (entry.intents & GatewayIntentBits.GuildMessageReactions) !== 0),
    ).toBe(true);
    expect(await kb('learn', [], discord.hiddenChannelId)).toContain('only public channels can learn');
    expect(await kb('learn', [])).toBe(strings.kb.learnOn('support'));
  });

  it('learns a thread its asker marks ✅, answers another thread from it, and forgets it when un-marked', async () => {
    const question = discord.userMessage({
      content: `<@${discord.botUserId}> How do I recalibrate the thrombulator?`,
      userId: ASKER,
    });
    const threadId = question.id;
    // The support collection is still empty: the bot says it found nothing, in the thread.
    await waitFor(
      () =>
        discord
          .messages(threadId)
          .find((m) => /feedback:up|⚠️/.test(JSON.stringify([m.content, m.components]))),
      'the bot’s reply in the thread',
    );
    const human = discord.addMessage(threadId, 'Turn the quazzle dial twice, then press reset.', HELPER);
    const link = `https://discord.com/channels/${discord.guildId}/${discord.channelId}/${question.id}`;

    // Someone who neither asked nor administers: nothing learned.
    expect(
      discord.react({ added: true, userId: OTHER, channelId: threadId, messageId: human.id, emoji: '✅' }),
    ).toBe(true);
    await waitFor(
      () => logLines.some((line) => line.includes('ignored a mark') && line.includes(OTHER)),
      'the mark ignored',
    );
    expect(await urls('recalibrate thrombulator quazzle dial')).not.toContain(link);

    discord.react({ added: true, userId: ASKER, channelId: threadId, messageId: human.id, emoji: '✅' });
    await waitFor(
      async () => (await urls('recalibrate thrombulator quazzle dial')).includes(link),
      'the learned thread',
    );
    const [saved] = await search('recalibrate thrombulator quazzle dial');
    expect(saved?.text).toContain('quazzle dial twice');
    expect(saved?.text).not.toContain('user0603'); // names left out

    const { token } = discord.slashAsk({
      question: 'How do I recalibrate the thrombulator?',
      userId: '1100000000000000610',
    });
    const done = await waitFor(
      () =>
        discord
          .callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/messages/@original`))
          .find((call) => JSON.stringify(call.body ?? {}).includes('feedback:up')),
      'the answer citing the learned thread',
    );
    expect(JSON.stringify(done.body?.embeds)).toContain(link);

    discord.react({ added: false, userId: ASKER, channelId: threadId, messageId: human.id, emoji: '✅' });
    await waitFor(
      async () => !(await urls('recalibrate thrombulator quazzle dial')).includes(link),
      'the thread forgotten',
    );
  });

  it('learns a thread started on its own (no message it started from) and forgets it when un-marked', async () => {
    const threadId = discord.userThread({ name: 'Flux capacitor', userId: ASKER });
    discord.addMessage(threadId, 'How do I degauss the flux capacitor?', ASKER);
    const answer = discord.addMessage(threadId, 'Hold the degauss lever for nine seconds.', HELPER);
    // Cited by the thread itself: its first message would change as the thread grows.
    const link = `https://discord.com/channels/${discord.guildId}/${threadId}`;
    discord.react({ added: true, userId: ASKER, channelId: threadId, messageId: answer.id, emoji: '✅' });
    await waitFor(
      async () => (await urls('degauss flux capacitor lever')).includes(link),
      'the learned thread',
    );
    discord.react({ added: false, userId: ASKER, channelId: threadId, messageId: answer.id, emoji: '✅' });
    await waitFor(
      async () => !(await urls('degauss flux capacitor lever')).includes(link),
      'the thread forgotten',
    );
  });

  it('learns a forum post tagged Solved (once the forum learns) and forgets it when the tag comes off', async () => {
    expect(await kb('learn', [], discord.forumChannelId)).toBe(strings.kb.learnOn('support'));
    const { threadId } = discord.forumPost({
      title: 'Snorkel pump leaks',
      content: 'The snorkel pump leaks at night.',
    });
    discord.addMessage(threadId, 'Tighten the flange nut a quarter turn.', HELPER);
    const link = `https://discord.com/channels/${discord.guildId}/${threadId}/${threadId}`;

    discord.tagPost(threadId, [discord.forumTags.Bug]);
    discord.tagPost(threadId, [discord.forumTags.Bug, discord.forumTags.Solved]);
    await waitFor(
      async () => (await urls('snorkel pump leaks flange nut')).includes(link),
      'the learned post',
    );

    discord.tagPost(threadId, [discord.forumTags.Bug]);
    await waitFor(
      async () => !(await urls('snorkel pump leaks flange nut')).includes(link),
      'the post forgotten',
    );
    expect(logLines.join('')).not.toContain('learning from a thread failed');
  });

  it('learns an archived forum post discord.js never cached when it is tagged Solved, and forgets it when untagged', async () => {
    // Written and archived before the bot connected: not in its cache, so no ThreadUpdate.
    const { threadId } = discord.forumPost({
      title: 'Gronk valve rattles',
      content: 'The gronk valve rattles after a restart.',
      archived: true,
    });
    discord.addMessage(threadId, 'Seat the gronk valve spring with pliers.', HELPER);
    const link = `https://discord.com/channels/${discord.guildId}/${threadId}/${threadId}`;

    discord.tagPost(threadId, [discord.forumTags.Solved]);
    await waitFor(
      async () => (await urls('gronk valve rattles spring pliers')).includes(link),
      'the learned archived post',
    );
    discord.tagPost(threadId, []);
    await waitFor(
      async () => !(await urls('gronk valve rattles spring pliers')).includes(link),
      'the archived post forgotten',
    );
  });

  it('stops with /kb learn off', async () => {
    expect(await kb('learn', [{ name: 'mode', type: 3, value: 'off' }])).toBe(strings.kb.learnOff);
    expect(await kb('status', [])).toContain(strings.kb.notLearning);
  });
});
