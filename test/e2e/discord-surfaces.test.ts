/**
 * Discord's other surfaces, end to end through discord.js and the gateway/REST fake: the
 * "Ask about this message" message command (modal → ephemeral answer → Share in thread), the
 * app installed by a user and used where the bot is not (a DM between users, a server without
 * the bot), and forum posts that mention the bot.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config.js';
import { createDiscordAdapter } from '../../src/platforms/discord/index.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import {
  type FakeDiscord,
  type InteractionPlace,
  MEMBER_PERMISSIONS,
  type RestCall,
  startFakeDiscord,
} from '../fakes/discord/index.js';
import { answering, type FakeGroq } from '../fakes/groq/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { layerOver } from '../support/conversations.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';
import { runCli } from './cli.js';

const ANSWER = 'Register it with npm run commands:deploy, then invite the bot [1].';
const ASK_ABOUT = 'Ask about this message';

let backends: Backends;
let groq: FakeGroq;
let discord: FakeDiscord;
let adapter: PlatformAdapter;
let dataDir: string;
let logLines: string[] = [];

const finalCall = (calls: RestCall[]) =>
  calls.find((c) => JSON.stringify(c.body ?? {}).includes('feedback:up'));
const webhookCalls = (token: string) =>
  discord.calls.filter((c) => c.path.includes(`/webhooks/`) && c.path.includes(token));
const callbackOf = (interactionId: string) =>
  discord.calls.find((c) => c.method === 'POST' && c.path.startsWith(`/interactions/${interactionId}/`));
const shareIdIn = (body: unknown) => /"custom_id":"(share:[^"]+)"/.exec(JSON.stringify(body))?.[1];
const lastPrompt = () => JSON.stringify(groq.chatRequests().at(-1)!.body.messages);

/** Runs the message command, then submits its modal with `question`; returns the final ephemeral edit. */
async function askAbout(
  question: string,
  target: { messageId?: string; content?: string; context?: InteractionPlace; channelId?: string },
) {
  const command = discord.messageCommand({ name: ASK_ABOUT, ...target });
  const modal = await waitFor(() => discord.modals.find((m) => m.interactionId === command.id), 'the modal');
  expect(JSON.stringify(modal.data)).toContain('"custom_id":"question"');
  const submit = discord.submitModal({
    customId: String(modal.data.custom_id),
    values: { question },
    ...(target.context ? { context: target.context } : {}),
    ...(target.channelId ? { channelId: target.channelId } : {}),
  });
  const deferral = await waitFor(() => callbackOf(submit.id), 'the deferral');
  expect(deferral.body).toMatchObject({ type: 5, data: { flags: 64 } });
  const done = await waitFor(() => finalCall(webhookCalls(submit.token)), 'the private answer');
  return { command, submit, done };
}

/** The stored message carrying the Share button (the ephemeral answer). */
const answerMessage = (shareId: string) =>
  [discord.channelId, discord.privateChannelId, ...discord.threadsOf(discord.channelId).map((t) => t.id)]
    .flatMap((id) => discord.messages(id))
    .concat(discord.ephemeralMessages)
    .find((m) => JSON.stringify(m.components).includes(shareId));

beforeAll(async () => {
  [backends, discord] = await Promise.all([startBackends(), startFakeDiscord()]);
  ({ groq } = backends);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-discord-surfaces-'));
  const config = parseConfig({
    ...backends.env,
    GROQ_RETRY_BUDGET_MS: '300',
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    RAG_DATA_DIR: dataDir,
  });
  const captured = captureLogs();
  logLines = captured.lines;
  const runtime = await buildRuntime(config, { logger: captured.logger });
  adapter = createDiscordAdapter({
    config: config.discord!,
    conversations: layerOver(runtime.answerer, { logger: captured.logger }),
    logger: captured.logger,
    editIntervalMs: 0,
  });
  await adapter.start();
});

afterAll(async () => {
  await adapter?.stop();
  await Promise.all([backends?.close(), discord?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  groq.clearFaults();
  groq.setReply(answering(ANSWER));
});

describe('Discord: Ask about this message', () => {
  it('answers privately with the message as context, then shares the answer in a thread on the message', async () => {
    const selected = discord.userMessage({ content: 'The /ask command does not show up in our server.' });
    const { done } = await askAbout('What should we do?', { messageId: selected.id });
    expect(String(done.body?.content)).toContain('Register it with npm run commands:deploy');
    expect(JSON.stringify(done.body?.embeds)).toContain('Sources');
    expect(JSON.stringify(done.body?.components)).toContain('feedback:up:');
    expect(JSON.stringify(done.body?.components)).toContain('Share in thread');
    expect(done.body?.allowed_mentions).toEqual({ parse: [], replied_user: false });
    expect(lastPrompt()).toContain('does not show up in our server');
    // Nothing public yet: no thread on the message.
    expect(discord.threadsOf(discord.channelId).some((t) => t.id === selected.id)).toBe(false);

    const shareId = shareIdIn(done.body)!;
    // Someone who may not post in threads there cannot have the bot post for them.
    const muted = discord.clickButton({
      customId: shareId,
      messageId: answerMessage(shareId)!.id,
      permissions: MEMBER_PERMISSIONS & ~(1n << 38n),
    });
    const mutedReply = await waitFor(
      () => discord.callsTo('POST', new RegExp(`/interactions/${muted.id}/`))[0],
      'the refusal to share',
    );
    expect(JSON.stringify(mutedReply.body)).toContain('did not share');
    expect(discord.threadsOf(discord.channelId).some((t) => t.id === selected.id)).toBe(false);
    const click = discord.clickButton({ customId: shareId, messageId: answerMessage(shareId)!.id });
    const thread = await waitFor(
      () => discord.threadsOf(discord.channelId).find((t) => t.id === selected.id),
      'the thread on the message',
    );
    const shared = await waitFor(
      () => discord.messages(thread.id).find((m) => m.content.includes('asked:')),
      'the shared answer',
    );
    expect(shared.content).toContain('What should we do?');
    expect(shared.content).toContain('Register it with npm run commands:deploy');
    expect(JSON.stringify(shared.embeds)).toContain('Sources');
    // The click is acknowledged at once (Discord's 3 s), the confirmation follows privately.
    expect((await waitFor(() => callbackOf(click.id), 'the acknowledgement')).body).toEqual({ type: 6 });
    const confirmation = await waitFor(
      () => webhookCalls(click.token).find((c) => c.method === 'POST'),
      'the confirmation',
    );
    expect(confirmation.body).toMatchObject({ content: 'Shared in the thread.', flags: 64 });

    // Only once.
    const again = discord.clickButton({ customId: shareId, messageId: answerMessage(shareId)!.id });
    const refusal = await waitFor(() => callbackOf(again.id), 'the refusal');
    expect(String((refusal.body?.data as { content?: string } | undefined)?.content)).toContain(
      'already shared',
    );
    expect(discord.messages(thread.id).filter((m) => m.content.includes('asked:'))).toHaveLength(1);
  });

  it('reads the thread a message is in as the conversation so far', async () => {
    const threadId = discord.userThread({ name: 'Deploy trouble' });
    discord.userMessage({ channelId: threadId, content: 'We deploy with Docker on a small VM.' });
    const selected = discord.userMessage({ channelId: threadId, content: 'It crashes right after start.' });
    await askAbout('Why might it crash?', { messageId: selected.id, channelId: threadId });
    const prompt = lastPrompt();
    expect(prompt).toContain('We deploy with Docker on a small VM.');
    expect(prompt).toContain('It crashes right after start.');
  });

  it('works from a user install in a DM between users: the message comes with the command, the share is the reply itself', async () => {
    const { done } = await askAbout('What does this mean?', {
      content: 'Did you set DISCORD_APPLICATION_ID before deploying the commands?',
      context: 'private_channel',
    });
    expect(String(done.body?.content)).toContain('Register it with');
    expect(lastPrompt()).toContain('DISCORD_APPLICATION_ID before deploying');
    const shareId = shareIdIn(done.body)!;
    const click = discord.clickButton({
      customId: shareId,
      messageId: answerMessage(shareId)!.id,
      context: 'private_channel',
    });
    expect((await waitFor(() => callbackOf(click.id), 'the acknowledgement')).body).toEqual({ type: 6 });
    const reply = await waitFor(
      () => webhookCalls(click.token).find((c) => c.method === 'POST'),
      'the public follow-up',
    );
    expect(String((reply.body as { content?: string } | undefined)?.content)).toContain('asked:');
    expect((reply.body as { flags?: number } | undefined)?.flags ?? 0).toBe(0);
    expect(logLines.filter((l) => l.includes('handler failed'))).toEqual([]);
  });
});

describe('Discord: a user-installed app outside a server it is in', () => {
  for (const context of ['private_channel', 'foreign_guild'] as const) {
    it(`answers /ask in the interaction reply with sources and feedback, without a thread (${context})`, async () => {
      const threadCalls = () => discord.calls.filter((c) => c.path.includes('/threads')).length;
      const before = threadCalls();
      const callsBefore = discord.calls.length;
      const { id, token } = discord.slashAsk({ question: 'How do I register the /ask command?', context });
      expect((await waitFor(() => callbackOf(id), 'the deferral')).body?.type).toBe(5);
      const done = await waitFor(() => finalCall(webhookCalls(token)), 'the answer');
      expect(String(done.body?.content)).toContain('Register it with');
      expect(JSON.stringify(done.body?.embeds)).toContain('Sources');
      // A moment for anything that would follow the answer (a thread, a notice).
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(threadCalls()).toBe(before);
      // Nothing aimed at a channel the bot is not in: the interaction carried everything.
      const channelCalls = discord.calls
        .slice(callsBefore)
        .filter((c) => /^\/channels\/(9300|1100000000000000099)/.test(c.path));
      expect(channelCalls).toEqual([]);
      expect(logLines.filter((l) => l.includes('handler failed'))).toEqual([]);
    });
  }
});

describe('Discord: forum channels', () => {
  it('answers a new post that mentions the bot in the post, with its title as part of the question', async () => {
    const { threadId } = discord.forumPost({
      title: 'Registering the /ask command',
      content: `<@${discord.botUserId}> it does not appear after deploying`,
    });
    const done = await waitFor(
      () => finalCall(discord.calls.filter((c) => c.path.startsWith(`/channels/${threadId}/messages`))),
      'the answer in the post',
    );
    expect(String(done.body?.content)).toContain('Register it with');
    const request = groq.chatRequests().at(-1)!.body.messages!;
    // The opening message is the question, not also an earlier turn.
    expect(request.map((m) => m.role)).toEqual(['system', 'user']);
    expect(request.at(-1)!.content).toContain('Registering the /ask command');
    expect(request.at(-1)!.content).toContain('it does not appear after deploying');
  });

  it('leaves a forum post that does not mention the bot alone', async () => {
    const before = groq.chatRequests().length;
    const { threadId } = discord.forumPost({ title: 'Team lunch', content: 'Pizza on Friday?' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(
      discord.calls.filter((c) => c.path === `/channels/${threadId}/messages` && c.method === 'POST'),
    ).toEqual([]);
    expect(groq.chatRequests().length).toBe(before);
  });
});

describe('npm run commands:deploy: where the commands can be used', () => {
  it('registers /ask and the message command for server and user installs, in servers, bot DMs and private channels', async () => {
    const result = await runCli('commands/deploy.ts', [], {
      env: {
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_API_URL: discord.apiURL,
      },
    });
    expect(result.code).toBe(0);
    const put = discord.callsTo('PUT', /^\/applications\/\d+\/commands$/).at(-1)!;
    const commands = put.body as unknown as {
      name: string;
      type?: number;
      integration_types: number[];
      contexts: number[];
    }[];
    expect(commands.map((c) => [c.name, c.type ?? 1])).toEqual([
      ['ask', 1],
      [ASK_ABOUT, 3],
      ['kb', 1],
      ['Save to knowledge base', 3],
    ]);
    // Asking works wherever a person is; managing and saving knowledge only in a server.
    for (const command of commands.slice(0, 2)) {
      expect(command.integration_types).toEqual([0, 1]);
      expect(command.contexts).toEqual([0, 1, 2]);
    }
    for (const command of commands.slice(2)) expect(command.contexts).toEqual([0]);
  });
});

describe('Discord: Ask about this message, when the message itself answers', () => {
  // The embedded store with the bundled knowledge, which says nothing about release trains (the
  // Upstash fake's hashed embedding finds something in anything).
  beforeAll(async () => {
    await adapter.stop();
    const config = parseConfig({
      GROQ_API_KEY: backends.env.GROQ_API_KEY!,
      GROQ_BASE_URL: backends.env.GROQ_BASE_URL!,
      GROQ_RETRY_BUDGET_MS: '300',
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiURL,
      RAG_DATA_DIR: join(dataDir, 'local'),
    });
    const captured = captureLogs();
    const runtime = await buildRuntime(config, { logger: captured.logger });
    adapter = createDiscordAdapter({
      config: config.discord!,
      conversations: layerOver(runtime.answerer, { logger: captured.logger }),
      logger: captured.logger,
      editIntervalMs: 0,
    });
    await adapter.start();
  });

  it('answers from the selected message when the knowledge base has nothing about it, citing the message', async () => {
    groq.setReply(answering('The release train leaves on Thursday [1].'));
    const selected = discord.userMessage({
      content: 'Deploy freeze: the mongoose release train leaves on Thursday.',
    });
    const { done } = await askAbout('When does the release train leave?', { messageId: selected.id });
    expect(String(done.body?.content)).toContain('The release train leaves on Thursday [1].');
    expect(JSON.stringify(done.body?.embeds)).toContain('**[1]** The message you asked about');
    const prompt = String(groq.chatRequests().at(-1)!.body.messages?.at(-1)?.content);
    expect(prompt).toMatch(
      /<passage id="1" source="The message you asked about"[^>]*>\nDeploy freeze: the mongoose release train leaves on Thursday\./,
    );
  });

  it('still refuses when neither the message nor the knowledge base covers the question', async () => {
    const selected = discord.userMessage({ content: 'Lunch is at noon in the big room today.' });
    const before = groq.chatRequests().filter((r) => JSON.stringify(r.body).includes('<context>')).length;
    const command = discord.messageCommand({ name: ASK_ABOUT, messageId: selected.id });
    const modal = await waitFor(
      () => discord.modals.find((m) => m.interactionId === command.id),
      'the modal',
    );
    const submit = discord.submitModal({
      customId: String(modal.data.custom_id),
      values: { question: 'What is the airspeed of an unladen swallow?' },
    });
    const refusal = await waitFor(
      () =>
        webhookCalls(submit.token).find((c) =>
          JSON.stringify(c.body ?? {}).includes("couldn't find anything about that"),
        ),
      'the refusal',
    );
    expect(JSON.stringify(refusal.body)).not.toContain('Share in thread');
    expect(groq.chatRequests().filter((r) => JSON.stringify(r.body).includes('<context>'))).toHaveLength(
      before,
    );
  });
});
