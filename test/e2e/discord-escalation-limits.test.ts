/**
 * "Ask a human" on Discord, where every answer lives in a thread of its own (a thread on the
 * question in a text channel, the post itself in a forum): the channel's hourly limit counts the
 * channel the threads hang off, through discord.js against the Discord fake.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bot } from '../../src/app/compose.js';
import { parseConfig } from '../../src/config.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord/index.js';
import { discordBotOn } from '../support/discord-bot.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';

const ROLE = '1100000000000000888';

let discord: FakeDiscord;
let bot: Bot;
let adapter: PlatformAdapter;
let dataDir: string;

beforeAll(async () => {
  discord = await startFakeDiscord();
  dataDir = await mkdtemp(join(tmpdir(), 'rag-discord-escalation-'));
  const config = parseConfig({
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    ESCALATION_DISCORD_ROLE: ROLE,
    ESCALATION_USER_PER_HOUR: '5',
    ESCALATION_CHANNEL_PER_HOUR: '2',
    RAG_DATA_DIR: dataDir,
    RAG_KNOWLEDGE_DIR: join(dataDir, 'none'),
  });
  const { logger } = captureLogs();
  ({ bot, adapter } = await discordBotOn(discord, config, logger));
});
afterAll(async () => {
  await bot?.stop([adapter]);
  await discord?.close();
  await rm(dataDir, { recursive: true, force: true });
});

let answers = 0;
/** `userId` clicks "Ask a human" on a message of the thread `threadId`; returns what they were told. */
async function clickIn(threadId: string, messageId: string, userId: string): Promise<string> {
  answers += 1;
  const questionId = `00000000-0000-4000-8000-${String(answers).padStart(12, '0')}`;
  const { token } = discord.clickButton({ customId: `ask_a_human:${questionId}`, messageId, userId });
  const told = await waitFor(
    () => discord.ephemeral(token).find((message) => message.content),
    `the private reply to the click in ${threadId}`,
  );
  return told.content ?? '';
}

const pingsIn = (threadIds: readonly string[]) =>
  threadIds.flatMap((id) => discord.messages(id).filter((message) => message.mention_roles.includes(ROLE)));

describe('Discord: the channel’s hand-off limit', () => {
  it('counts answers in threads of one text channel together: the third click in a third thread is refused', async () => {
    const threads: string[] = [];
    for (let i = 0; i < 3; i++) {
      const asked = discord.userMessage({
        content: `<@${discord.botUserId}> question number ${i}?`,
        userId: `110000000000000090${i}`,
      });
      const thread = await waitFor(
        () => discord.threadsOf(discord.channelId).find((t) => t.id === asked.id),
        'the answer’s thread',
      );
      const answer = await waitFor(
        () => discord.messages(thread.id).find((message) => message.author.bot),
        'the answer',
      );
      threads.push(thread.id);
      const told = await clickIn(thread.id, answer.id, `110000000000000090${i}`);
      if (i < 2) expect(told).toContain('I asked the team');
      else expect(told).toMatch(/2 times from this channel in the last hour/);
    }
    expect(pingsIn(threads)).toHaveLength(2);
  });

  it('counts forum posts of one forum together', async () => {
    const posts: string[] = [];
    const replies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { threadId } = discord.forumPost({ title: `Post ${i}`, content: `Help with thing ${i}` });
      posts.push(threadId);
      replies.push(await clickIn(threadId, threadId, `110000000000000091${i}`));
    }
    expect(replies.slice(0, 2).every((reply) => reply.includes('I asked the team'))).toBe(true);
    expect(replies[2]).toMatch(/from this channel in the last hour/);
    expect(pingsIn(posts)).toHaveLength(2);
  });
});
