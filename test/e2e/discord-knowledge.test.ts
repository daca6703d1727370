/**
 * Knowledge from the chat, end to end on Discord: the real discord.js client composed like
 * `npm start`, the Discord fake (subcommands, autocomplete, message commands, member
 * permissions and roles), the Groq and Upstash fakes, and the loopback docs site.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Bot } from '../../src/app/compose.js';
import { parseConfig } from '../../src/config.js';
import { strings } from '../../src/conversation/strings.js';
import { MAX_SAVED_THREAD_MESSAGES } from '../../src/knowledge/save-thread.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import {
  type FakeDiscord,
  MANAGE_GUILD,
  MEMBER_PERMISSIONS,
  startFakeDiscord,
} from '../fakes/discord/index.js';
import { type FakeDocsSite, startFakeDocsSite } from '../fakes/docs-site/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { discordBotOn } from '../support/discord-bot.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';

let backends: Backends;
let discord: FakeDiscord;
let site: FakeDocsSite;
let bot: Bot;
let adapter: PlatformAdapter;
let dataDir: string;

const ADMIN = { permissions: MEMBER_PERMISSIONS | MANAGE_GUILD, userId: '1100000000000000601' };
const MEMBER = { userId: '1100000000000000602' };

/** Runs `/kb <sub>` and resolves with the private replies (the edited deferral, then follow-ups). */
async function kb(sub: string, options: unknown[], who: object, replies = 1) {
  const { token } = discord.slashCommand({ name: 'kb', options: [{ name: sub, type: 1, options }], ...who });
  await waitFor(
    () => discord.ephemeral(token).filter((message) => message.content).length >= replies,
    `the reply to /kb ${sub}`,
  );
  return discord.ephemeral(token).map((message) => message.content);
}

beforeAll(async () => {
  [backends, discord, site] = await Promise.all([startBackends(), startFakeDiscord(), startFakeDocsSite()]);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-discord-kb-'));
  const config = parseConfig({
    ...backends.env,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    DISCORD_ADMIN_ROLE: 'kb editors',
    RAG_DATA_DIR: dataDir,
    CRAWL_DELAY_MS: '0',
    // The docs site is on the loopback, which /kb add refuses unless the operator allows it.
    CRAWL_ALLOW_PRIVATE: 'true',
  });
  const { logger } = captureLogs();
  ({ bot, adapter } = await discordBotOn(discord, config, logger));
});

afterAll(async () => {
  await bot?.stop([adapter]);
  await Promise.all([backends?.close(), discord?.close(), site?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  backends.groq.setReply(() => 'Here is what the knowledge base says [1].');
});

describe('Discord: /kb', () => {
  it('refuses a member without Manage Server or the admin role, privately', async () => {
    const [reply] = await kb('add', [{ name: 'url', type: 3, value: `${site.url}/docs/` }], MEMBER);
    expect(reply).toBe(strings.kb.notAdmin);
    expect(await bot.knowledge.sources()).toHaveLength(0);
  });

  it('lets a member with Manage Server add the docs site; the sync summary follows privately', async () => {
    const replies = await kb(
      'add',
      [
        { name: 'url', type: 3, value: `${site.url}/docs/` },
        { name: 'collection', type: 3, value: 'acme' },
      ],
      ADMIN,
      2,
    );
    expect(replies[0]).toContain('`acme`');
    expect(replies[1]).toContain('3 page(s) added');
  });

  it('suggests sources and collections as an admin types, and nothing to a member', async () => {
    const { token } = discord.autocomplete({
      name: 'kb',
      options: [
        { name: 'remove', type: 1, options: [{ name: 'source', type: 3, value: 'docs', focused: true }] },
      ],
      ...ADMIN,
    });
    const choices = await waitFor(() => discord.choices(token), 'the suggestions');
    expect(choices).toEqual([{ name: `#1 ${site.url}/docs/ → acme`, value: '1' }]);

    const typed = discord.autocomplete({
      name: 'kb',
      options: [
        {
          name: 'use',
          type: 1,
          options: [{ name: 'collections', type: 3, value: 'default,ac', focused: true }],
        },
      ],
      ...ADMIN,
    });
    expect(await waitFor(() => discord.choices(typed.token), 'collection suggestions')).toEqual([
      { name: 'default,acme', value: 'default,acme' },
    ]);

    // A suggestion whose value Discord would refuse (over 100 characters) is left out, not cut
    // into a collection name that does not exist.
    const long = discord.autocomplete({
      name: 'kb',
      options: [
        {
          name: 'use',
          type: 1,
          options: [{ name: 'collections', type: 3, value: `${'x'.repeat(96)},ac`, focused: true }],
        },
      ],
      ...ADMIN,
    });
    expect(await waitFor(() => discord.choices(long.token), 'long suggestions')).toEqual([]);

    const member = discord.autocomplete({
      name: 'kb',
      options: [
        { name: 'remove', type: 1, options: [{ name: 'source', type: 3, value: '', focused: true }] },
      ],
      ...MEMBER,
    });
    expect(await waitFor(() => discord.choices(member.token), 'no suggestions')).toEqual([]);
  });

  it('lets a DISCORD_ADMIN_ROLE member scope the channel with /kb use; answers there cite the docs site', async () => {
    const [used] = await kb('use', [{ name: 'collections', type: 3, value: 'acme' }], {
      ...MEMBER,
      roles: [discord.adminRole.id],
    });
    expect(used).toContain('now reads `acme`');
    const { token } = discord.slashAsk({ question: 'How do I install the widget?' });
    const done = await waitFor(
      () =>
        discord
          .callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/messages/@original`))
          .find((call) => JSON.stringify(call.body ?? {}).includes('feedback:up')),
      'the answer',
    );
    expect(JSON.stringify(done.body?.embeds)).toContain(`${site.url}/docs/install.html`);
  });
});

describe('Discord: Save to knowledge base', () => {
  it('saves the thread (admins only) with its message URL, and later answers cite it', async () => {
    const question = discord.userMessage({
      content: `<@${discord.botUserId}> How do I reset the zorblax on the widget?`,
      userId: MEMBER.userId,
    });
    // The bot opens a thread on the question (sharing its id) and answers there.
    const threadId = question.id;
    await waitFor(
      () => discord.messages(threadId).find((m) => JSON.stringify(m.components).includes('feedback:up')),
      'the answer in the thread',
    );
    const human = discord.addMessage(
      threadId,
      'Hold the blue button for ten seconds.',
      '1100000000000000603',
    );

    const refused = discord.messageCommand({
      name: 'Save to knowledge base',
      messageId: human.id,
      channelId: threadId,
      ...MEMBER,
    });
    await waitFor(() => discord.ephemeral(refused.token).find((m) => m.content), 'the refusal');
    expect(discord.ephemeral(refused.token)[0]?.content).toBe(strings.save.notAllowed);

    const saved = discord.messageCommand({
      name: 'Save to knowledge base',
      messageId: human.id,
      channelId: threadId,
      ...ADMIN,
    });
    await waitFor(() => discord.ephemeral(saved.token).find((m) => m.content), 'the confirmation');
    expect(discord.ephemeral(saved.token)[0]?.content).toBe(strings.save.saved('acme', 3));

    const link = `https://discord.com/channels/${discord.guildId}/${discord.channelId}/${question.id}`;
    const { token } = discord.slashAsk({ question: 'How do I reset the zorblax?' });
    const done = await waitFor(
      () =>
        discord
          .callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/messages/@original`))
          .find((call) => JSON.stringify(call.body ?? {}).includes('feedback:up')),
      'the later answer',
    );
    expect(JSON.stringify(done.body?.embeds)).toContain(link);
  });

  it('keeps a long thread’s question and its newest messages, and says how many of how many it saved', async () => {
    const question = discord.userMessage({
      content: `<@${discord.botUserId}> Why does the VPN drop every hour?`,
      userId: MEMBER.userId,
    });
    const threadId = question.id;
    // Nothing in the knowledge answers it: the bot's reply in the thread says so.
    await waitFor(() => discord.messages(threadId).length > 0, 'the reply in the thread');
    for (let i = 1; i <= MAX_SAVED_THREAD_MESSAGES + 20; i++)
      discord.addMessage(threadId, `Trying thing ${i}.`, '1100000000000000603');
    const resolution = discord.addMessage(
      threadId,
      'RESOLUTION: set the keepalive to 25 seconds in the client profile.',
      '1100000000000000603',
    );
    // The question (in the channel) and every message of the thread.
    const total = discord.messages(threadId).length + 1;
    const saved = discord.messageCommand({
      name: 'Save to knowledge base',
      messageId: resolution.id,
      channelId: threadId,
      ...ADMIN,
    });
    await waitFor(() => discord.ephemeral(saved.token).find((m) => m.content), 'the confirmation');
    expect(discord.ephemeral(saved.token)[0]?.content).toBe(
      strings.save.savedPart('acme', MAX_SAVED_THREAD_MESSAGES, total),
    );
    const [found] = await bot.runtime.store.search('VPN keepalive client profile', {
      topK: 1,
      collections: ['acme'],
    });
    expect(found?.text).toContain('Why does the VPN drop every hour?');
    expect(found?.text).toContain('RESOLUTION');
  });
});
