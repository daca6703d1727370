/**
 * Commands, clicks and forms the bot cannot handle as they arrive: a command registered by an
 * older version (renamed or retyped options, a name the bot no longer has), a button or form
 * nothing answers, a handler failing after it deferred. Discord shows "The application did not
 * respond" to an interaction left silent; each of these gets a private reply instead. The real
 * discord.js client, composed like `npm start`, against the Discord fake.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const ADMIN = { permissions: MEMBER_PERMISSIONS | MANAGE_GUILD, userId: '1100000000000000601' };

/** The interaction's responses (callbacks) and what went through its webhook. */
const callsFor = (id: string, token: string) =>
  discord.calls.filter((c) => c.path.startsWith(`/interactions/${id}/`) || c.path.includes(`/${token}`));

/** Waits for the one private notice an interaction gets, and checks nothing else was sent. */
async function privateNotice(interaction: { id: string; token: string }) {
  const [notice] = await waitFor(() => {
    const sent = discord.ephemeral(interaction.token).filter((message) => message.content);
    return sent.length > 0 ? sent : undefined;
  }, 'the private notice');
  expect(notice!.flags & 64).toBe(64);
  return { notice: notice!, calls: callsFor(interaction.id, interaction.token) };
}

beforeAll(async () => {
  [backends, discord] = await Promise.all([startBackends(), startFakeDiscord()]);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-discord-stale-'));
  const config = parseConfig({
    ...backends.env,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    RAG_DATA_DIR: dataDir,
  });
  ({ bot, adapter } = await discordBotOn(discord, config, captureLogs().logger));
});

afterAll(async () => {
  await bot?.stop([adapter]);
  await Promise.all([backends?.close(), discord?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

describe('Discord: commands registered by another version', () => {
  const outOfDate = `⚠️ ${strings.commandOutOfDate}`;

  it.each([
    ['/ask with no options', 'ask', []],
    [
      '/ask whose question option was renamed',
      'ask',
      [{ name: 'query', type: 3, value: 'How do I deploy?' }],
    ],
    ['/ask whose question is an integer', 'ask', [{ name: 'question', type: 4, value: 5 }]],
    ['a command the bot does not have', 'frobnicate', []],
  ])(
    '%s: a private reply says the commands are out of date and how to update them',
    async (_label, name, options) => {
      const interaction = discord.slashCommand({ name, options });
      const { notice, calls } = await privateNotice(interaction);
      expect(notice.content).toBe(outOfDate);
      expect(notice.content).toContain('npm run commands:deploy');
      // The notice is the interaction's response itself: no answer, no thread, no other call.
      expect(calls.map((c) => `${c.method} ${c.path.split('?')[0]}`)).toEqual([
        `POST /interactions/${interaction.id}/${interaction.token}/callback`,
      ]);
      expect(calls[0]!.body).toMatchObject({ type: 4, data: { flags: 64 } });
      expect(backends.groq.chatRequests()).toHaveLength(0);
    },
  );

  it('/kb add whose url became an integer: the reply it had deferred privately says so', async () => {
    const interaction = discord.slashCommand({
      name: 'kb',
      options: [{ name: 'add', type: 1, options: [{ name: 'url', type: 4, value: 7 }] }],
      ...ADMIN,
    });
    const { notice, calls } = await privateNotice(interaction);
    expect(notice.content).toBe(outOfDate);
    // Deferred privately first, then that deferral edited: one response, as Discord allows.
    expect(calls[0]!.body).toMatchObject({ type: 5, data: { flags: 64 } });
    expect(calls.slice(1).map((c) => `${c.method} ${c.path.split('?')[0]}`)).toEqual([
      `PATCH /webhooks/${discord.applicationId}/${interaction.token}/messages/@original`,
    ]);
    expect(await bot.knowledge.sources()).toHaveLength(0);
  });

  it('a message command the bot does not have gets the same private reply', async () => {
    const interaction = discord.messageCommand({ name: 'Summarize thread', content: 'a message' });
    const { notice } = await privateNotice(interaction);
    expect(notice.content).toBe(outOfDate);
  });

  it('autocomplete for a command the bot does not have gets an empty list, not a spinner', async () => {
    const { token } = discord.autocomplete({
      name: 'frobnicate',
      options: [{ name: 'topic', type: 3, value: 'de', focused: true }],
    });
    expect(await waitFor(() => discord.choices(token), 'the (empty) suggestions')).toEqual([]);
  });
});

describe('Discord: clicks and forms nothing answers', () => {
  it('a button no handler knows gets a private reply that it no longer works', async () => {
    const message = discord.addMessage(discord.channelId, 'an old answer', discord.botUserId);
    const interaction = discord.clickButton({ customId: 'retired-feature:42', messageId: message.id });
    const { notice } = await privateNotice(interaction);
    expect(notice.content).toBe(`⚠️ ${strings.componentOutOfDate}`);
  });

  it('a form no handler knows gets the same', async () => {
    const interaction = discord.submitModal({ customId: 'retired-form:1', values: { field: 'x' } });
    const { notice } = await privateNotice(interaction);
    expect(notice.content).toBe(`⚠️ ${strings.componentOutOfDate}`);
  });
});
