import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config.js';
import type { Answerer } from '../../src/core/types.js';
import { MemoryDedupeStore } from '../../src/ops/shared-state.js';
import { createDiscordAdapter } from '../../src/platforms/discord/index.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import { discordNeutralizer } from '../../src/render/discord-text.js';
import { type FakeDiscord, type RestCall, startFakeDiscord } from '../fakes/discord/index.js';
import { answering, type FakeGroq } from '../fakes/groq/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { layerOver } from '../support/conversations.js';
import { addHostileDocuments, HOSTILE_QUESTION } from '../support/hostile-docs.js';
import { captureLogs } from '../support/logs.js';
import { discordPings } from '../support/pings.js';
import { waitFor } from '../support/wait.js';
import { runCli } from './cli.js';

let backends: Backends;
let groq: FakeGroq;

let discord: FakeDiscord;
let adapter: PlatformAdapter;
let dataDir: string;
let runtimeAnswerer: Answerer;
let logLines: string[] = [];

/** The call that finished an answer: the edit or message carrying the feedback buttons. */
const finalCall = (calls: RestCall[]) =>
  calls.find((c) => JSON.stringify(c.body ?? {}).includes('feedback:up'));
/** The call that ended an answer with a failure message for the user. */
const warningCall = (calls: RestCall[]) => calls.find((c) => String(c.body?.content ?? '').includes('⚠️'));

beforeAll(async () => {
  [backends, discord] = await Promise.all([startBackends(), startFakeDiscord()]);
  ({ groq } = backends);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-discord-'));
  const config = parseConfig({
    ...backends.env,
    GROQ_RETRY_BUDGET_MS: '300',
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    RAG_DATA_DIR: dataDir,
  });
  const captured = captureLogs();
  const logger = captured.logger;
  logLines = captured.lines;
  const runtime = await buildRuntime(config, { logger });
  runtimeAnswerer = runtime.answerer;
  adapter = createDiscordAdapter({
    config: config.discord!,
    conversations: layerOver(runtime.answerer, { logger }),
    logger,
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
  groq.setReply(answering('Register it with npm run commands:deploy, then invite the bot [1].'));
});

describe('Discord: connecting', () => {
  it('identifies with only the intents it needs and reports ready', () => {
    expect(adapter.isReady()).toBe(true);
    // Guilds (1) | GuildMessages (512) | DirectMessages (4096) | MessageContent (32768)
    expect(discord.identified[0]?.intents).toBe(1 | 512 | 4096 | 32768);
  });
});

describe('Discord: /ask', () => {
  it('defers at once, streams into the reply, finishes with sources and buttons, then opens a thread named after the question', async () => {
    const { id, token } = discord.slashAsk({ question: 'How do I register the /ask command on Discord?' });
    const callback = await waitFor(
      () => discord.callsTo('POST', new RegExp(`/interactions/${id}/`))[0],
      'the deferral',
    );
    expect(callback.body?.type).toBe(5);
    const edits = () => discord.callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/messages/@original`));
    const done = await waitFor(() => finalCall(edits()), 'the final edit');
    expect(String(done.body?.content)).toContain('Register it with npm run commands:deploy');
    expect(JSON.stringify(done.body?.embeds)).toContain('Sources');
    expect(JSON.stringify(done.body?.components)).toContain('feedback:up:');
    expect(done.body?.allowed_mentions).toEqual({ parse: [], replied_user: false });
    const thread = await waitFor(
      () => discord.threadsOf(discord.channelId).find((t) => t.name.startsWith('How do I register')),
      'the thread',
    );
    expect(thread.name.length).toBeLessThanOrEqual(100);
  });

  it('takes follow-ups in the thread on its /ask reply, with the question (the thread name) as the user turn', async () => {
    discord.slashAsk({ question: 'Which intents does the bot need?' });
    const thread = await waitFor(
      () => discord.threadsOf(discord.channelId).find((t) => t.name === 'Which intents does the bot need?'),
      'the thread',
    );
    const before = groq.chatRequests().length;
    discord.userMessage({ channelId: thread.id, content: 'And what breaks without Message Content?' });
    await waitFor(() => groq.chatRequests().length >= before + 2, 'the follow-up');
    const messages = groq.chatRequests().at(-1)!.body.messages!;
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages[1]!.content).toBe('Which intents does the bot need?');
    expect(messages[2]!.content).toContain('Register it with');
  });

  it('answers privately when asked with private:true, without a thread', async () => {
    const before = discord.threadsOf(discord.channelId).length;
    const { id, token } = discord.slashAsk({ question: 'Where do secrets go?', private: true });
    const callback = await waitFor(
      () => discord.callsTo('POST', new RegExp(`/interactions/${id}/`))[0],
      'the deferral',
    );
    expect(callback.body?.data).toMatchObject({ flags: 64 });
    await waitFor(
      () => finalCall(discord.callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/`))),
      'the answer',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(discord.threadsOf(discord.channelId).length).toBe(before);
  });

  it('continues in the channel when the interaction token has expired (the 15-minute limit)', async () => {
    groq.failNext({ type: 'slow', delayMs: 400 });
    const { token } = discord.slashAsk({ question: 'How do I run the tests?' });
    await waitFor(
      () => discord.callsTo('POST', /\/interactions\//).length > 0 && groq.chatRequests().length > 0,
      'the question',
    );
    discord.expireInteraction(token);
    const answer = await waitFor(
      () =>
        finalCall(discord.calls.filter((c) => c.path.startsWith(`/channels/${discord.channelId}/messages`))),
      'the answer in the channel',
    );
    expect(String(answer.body?.content)).toContain('Register it with');
  });

  it('tells the user when to try again when Groq rate-limits', async () => {
    groq.failNext({ type: 'status', status: 429, retryAfterSeconds: 12 }, 5);
    const { token } = discord.slashAsk({ question: 'How do I deploy with Docker?' });
    const done = await waitFor(
      () => warningCall(discord.callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/`))),
      'the failure',
    );
    expect(String(done.body?.content)).toContain('try again in 12 seconds');
  });
});

describe('Discord: mentions and follow-ups', () => {
  it('starts a thread on the message and answers inside it; a follow-up there needs no mention and carries the history', async () => {
    const asked = discord.userMessage({ content: `<@${discord.botUserId}> How do I add the bot to Slack?` });
    const threadCall = await waitFor(
      () =>
        discord.callsTo('POST', new RegExp(`/channels/${discord.channelId}/messages/${asked.id}/threads`))[0],
      'the thread on the message',
    );
    expect(threadCall.body?.name).toBe('How do I add the bot to Slack?');
    const thread = discord
      .threadsOf(discord.channelId)
      .find((t) => t.name === 'How do I add the bot to Slack?')!;
    // A short answer can arrive whole before the first edit: one message then, not a send and an edit.
    await waitFor(
      () => finalCall(discord.calls.filter((c) => c.path.startsWith(`/channels/${thread.id}/messages`))),
      'the answer in the thread',
    );
    expect(discord.callsTo('POST', new RegExp(`/channels/${thread.id}/typing`)).length).toBeGreaterThan(0);

    const before = groq.chatRequests().length;
    discord.userMessage({ channelId: thread.id, content: 'And on Discord?' });
    await waitFor(() => groq.chatRequests().length >= before + 2, 'the follow-up calls');
    await waitFor(
      () => discord.messages(thread.id).filter((m) => m.author.bot && m.components.length > 0).length >= 2,
      'the follow-up answer',
    );
    const request = groq.chatRequests().at(-1)!;
    expect(request.body.messages?.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(request.body.messages?.[1]?.content).toBe('How do I add the bot to Slack?');
    expect(request.body.messages?.[2]?.content).toContain('Register it with npm run commands:deploy');
  });

  it('ignores messages written by bots, and channel messages that do not mention it', async () => {
    const before = groq.chatRequests().length;
    discord.userMessage({
      content: `<@${discord.botUserId}> hello from another bot`,
      bot: true,
      userId: '1100000000000000444',
    });
    discord.userMessage({ content: 'just chatting about lunch' });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(groq.chatRequests().length).toBe(before);
  });

  it('answers in the channel and says why when it may not create threads', async () => {
    discord.denyThreads();
    const asked = discord.userMessage({
      content: `<@${discord.botUserId}> Which scopes does the Slack app need?`,
    });
    const notice = await waitFor(
      () =>
        discord
          .messages(discord.channelId)
          .find((m) => m.author.bot && m.content.includes('Create Public Threads')),
      'the explanation',
    );
    expect(notice.content).toContain("can't create threads");
    await waitFor(
      () =>
        discord
          .messages(discord.channelId)
          .find((m) => m.author.bot && m.components.length > 0 && m.id > asked.id),
      'the answer in the channel',
    );
  });

  it("answers a mention inside someone else's thread there, and ignores that thread's other messages", async () => {
    const thread = discord.userThread({ name: 'Release planning' });
    const threadsBefore = discord.threadsOf(discord.channelId).length;
    const before = groq.chatRequests().length;
    discord.userMessage({ channelId: thread, content: 'just chatting about the release' });
    discord.userMessage({ channelId: thread, content: `<@${discord.botUserId}> How do I run the tests?` });
    const answer = await waitFor(
      () => discord.messages(thread).find((m) => m.author.bot && m.components.length > 0),
      'the answer in the thread',
    );
    expect(answer.content).toContain('Register it with');
    expect(discord.threadsOf(discord.channelId).length).toBe(threadsBefore);
    // One question answered (condense + answer at most), the chatter ignored.
    expect(groq.chatRequests().length - before).toBeLessThanOrEqual(2);
    expect(groq.chatRequests().at(-1)?.body.messages?.at(-1)?.content).toContain('How do I run the tests?');
  });

  it('answers a direct message in place', async () => {
    discord.userMessage({ content: 'How do I run the tests?', dm: true });
    const answer = await waitFor(
      () => discord.messages('9100000000000000001').find((m) => m.author.bot && m.components.length > 0),
      'the DM answer',
    );
    expect(answer.content).toContain('Register it with');
  });
});

describe('Discord: rendering and safety', () => {
  it('splits a 2,500-character answer into two messages with code fences intact', async () => {
    const code = Array.from({ length: 30 }, (_, i) => `echo "step ${i} of the deployment checklist"`).join(
      '\n',
    );
    groq.setReply(
      () => `${'Setup explained in detail. '.repeat(50)}\n\n\`\`\`sh\n${code}\n\`\`\`\n\nDone [1].`,
    );
    const { token } = discord.slashAsk({ question: 'Give me every deployment step' });
    const continuation = await waitFor(
      () =>
        discord
          .callsTo('POST', new RegExp(`/webhooks/\\d+/${token}$`))
          .find((c) => JSON.stringify(c.body).includes('feedback:up')),
      'the continuation message',
    );
    const first = discord.callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/messages/@original`)).at(-1)!;
    for (const content of [String(first.body?.content), String(continuation.body?.content)]) {
      expect(content.length).toBeLessThanOrEqual(2_000);
      expect((content.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(`${first.body?.content}${continuation.body?.content}`).toContain(
      'step 29 of the deployment checklist',
    );
  });

  it('sends every message with no allowed mentions, so @everyone in an answer pings no one', async () => {
    groq.setReply(
      () => '@everyone @here <@&1100000000000000888> <@1100000000000000555> read the runbook [1].',
    );
    const { token } = discord.slashAsk({ question: 'How do I restart the bot?' });
    await waitFor(
      () => finalCall(discord.callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/`))),
      'the answer',
    );
    const writes = discord.calls.filter(
      (c) => (c.method === 'POST' || c.method === 'PATCH') && c.body && 'content' in c.body,
    );
    expect(writes.length).toBeGreaterThan(0);
    for (const write of writes) expect(write.body?.allowed_mentions).toMatchObject({ parse: [] });
  });

  it('waits out a Discord rate limit (429 with retry_after) and still delivers the answer', async () => {
    const { token } = discord.slashAsk({ question: 'Where does the local index live?' });
    // Set before the bot can write (the test has not yielded yet), on this interaction only: a
    // pattern for any interaction could be spent by an earlier test's answer still being edited.
    discord.rateLimit(new RegExp(`/webhooks/\\d+/${token}/messages/@original$`), 0.3, 1);
    await waitFor(
      () => finalCall(discord.callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/`))),
      'the answer',
    );
    const attempts = discord.calls.filter((c) => c.method === 'PATCH' && c.path.includes(token));
    // Refused with retry_after, then sent again (discord.js waits it out) and accepted.
    const refused = attempts.findIndex((c) => c.rateLimited);
    expect(refused).toBeGreaterThanOrEqual(0);
    expect(attempts.slice(refused + 1).some((c) => !c.rateLimited)).toBe(true);
  });

  it('records a feedback click as a structured log line and thanks the user privately', async () => {
    const answered = discord
      .messages(discord.channelId)
      .find((m) => m.author.bot && m.components.length > 0)!;
    const { id } = discord.clickButton({ customId: 'feedback:up:q-42', messageId: answered.id });
    const reply = await waitFor(
      () => discord.callsTo('POST', new RegExp(`/interactions/${id}/`))[0],
      'the acknowledgement',
    );
    expect(reply.body).toMatchObject({ type: 4, data: { flags: 64 } });
    const line = await waitFor(() => logLines.find((l) => l.includes('"event":"feedback"')), 'the log line');
    expect(JSON.parse(line)).toMatchObject({ event: 'feedback', questionId: 'q-42', vote: 'up' });
  });
});

/** Every write the bot made, with the text a reader sees and the mentions it allows. */
function writes() {
  return discord.calls
    .filter((c) => (c.method === 'POST' || c.method === 'PATCH') && c.body && !c.rateLimited)
    .map((c) => {
      const data = (c.body?.type === 4 ? c.body.data : c.body) as Record<string, unknown> | undefined;
      return { call: c, data: data ?? {} };
    })
    .filter(({ data }) => 'content' in data || 'embeds' in data);
}

describe('Discord: nothing the bot posts pings anyone', () => {
  beforeAll(() => discord.denyThreads(false)); // an earlier test took the permission away
  it('shows sources whose titles, URLs and file names carry mentions as text, linking web addresses only', async () => {
    await addHostileDocuments(backends, 'discord');
    groq.setReply(() => 'The Zebra canteen opens at 7 [1][2][3].');
    const { token } = discord.slashAsk({ question: HOSTILE_QUESTION });
    const done = await waitFor(
      () => finalCall(discord.callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/`))),
      'the answer',
    );
    const embed = JSON.stringify(done.body?.embeds);
    expect(embed).toContain('Zebra canteen hours');
    expect(discordPings(embed)).toEqual([]);
    expect(embed).not.toContain('javascript:');
    // The web address is linked with ")" and "@" encoded; a title cannot open a link of its own.
    expect(embed).toContain('(https://example.com/a%29%20%40here)');
    expect(embed).not.toContain('](https://evil.example)');
  });

  it('streams an answer full of mentions: every write is neutralised and allows no mention', async () => {
    const answer =
      'Ask @everyone and @here, or <@1100000000000000555>, <@!1100000000000000555> and <@&1100000000000000888> [1].';
    groq.setReply((request) =>
      /standalone question/i.test(request.body.messages?.[0]?.content ?? '') ? 'x' : answer,
    );
    const before = discord.calls.length;
    const { token } = discord.slashAsk({ question: 'Who restarts the bot?' });
    const done = await waitFor(
      () => finalCall(discord.callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/`))),
      'the answer',
    );
    expect(discordNeutralizer.restore(String(done.body?.content))).toBe(answer);
    const mine = writes().filter(({ call }) => discord.calls.indexOf(call) >= before);
    expect(mine.length).toBeGreaterThan(0);
    for (const { data } of mine) {
      expect(discordPings(String(data.content ?? ''))).toEqual([]);
      expect(data.allowed_mentions).toMatchObject({ parse: [] });
      expect((data.allowed_mentions as { users?: unknown[] }).users ?? []).toEqual([]);
      expect((data.allowed_mentions as { roles?: unknown[] }).roles ?? []).toEqual([]);
    }
  });

  it('every message and reply the bot has sent in this suite allows no mention', () => {
    const all = writes();
    expect(all.length).toBeGreaterThan(10);
    for (const { call, data } of all) {
      if (call.path.startsWith('/applications/')) continue; // command registration
      expect({ path: call.path, allowed: data.allowed_mentions }).toMatchObject({ allowed: { parse: [] } });
    }
  });

  it('checks an /ask question before anything is posted, and names threads without pings', async () => {
    const before = groq.chatRequests().length;
    const { id } = discord.slashAsk({ question: 'x'.repeat(100_000) });
    const reply = await waitFor(
      () => discord.callsTo('POST', new RegExp(`/interactions/${id}/`))[0],
      'the refusal',
    );
    expect(reply.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(JSON.stringify(reply.body)).toContain('100,000 characters long; the limit is 2,000');

    discord.slashAsk({ question: '@everyone <@1100000000000000555> Zebra thread question' });
    const thread = await waitFor(
      () => discord.threadsOf(discord.channelId).find((t) => t.name.includes('Zebra thread')),
      'the thread',
    );
    expect(discordPings(thread.name)).toEqual([]);
    expect(discordNeutralizer.restore(thread.name)).toBe(
      '@everyone <@1100000000000000555> Zebra thread question',
    );
    // The refused question reached neither the model nor a thread name (other tests' answers
    // may still be talking to the model and opening threads, so look for it rather than count).
    const refused = 'x'.repeat(1_000);
    expect(
      groq
        .chatRequests()
        .slice(before)
        .some((r) => JSON.stringify(r.body).includes(refused)),
    ).toBe(false);
    expect(discord.threadsOf(discord.channelId).some((t) => t.name.includes(refused.slice(0, 90)))).toBe(
      false,
    );
  });
});

describe('Discord: who the bot answers', () => {
  it('ignores webhooks, system messages and bots, in channels and in its own threads', async () => {
    const asked = discord.userMessage({ content: `<@${discord.botUserId}> How do I add the bot to Slack?` });
    const thread = await waitFor(
      () => discord.threadsOf(discord.channelId).find((t) => t.id === asked.id),
      'the thread',
    );
    await waitFor(
      () => discord.messages(thread.id).find((m) => m.author.bot && m.components.length > 0),
      'the answer',
    );
    const before = groq.chatRequests().length;
    const threadsBefore = discord.threadsOf(discord.channelId).length;
    const mention = `<@${discord.botUserId}> where do secrets go?`;
    discord.userMessage({
      content: mention,
      webhookId: '1100000000000000321',
      userId: '1100000000000000321',
    });
    discord.userMessage({ content: mention, type: 7 });
    discord.userMessage({
      channelId: thread.id,
      content: 'and on Discord?',
      bot: true,
      userId: '1100000000000000444',
    });
    discord.userMessage({
      channelId: thread.id,
      content: 'and on Discord?',
      webhookId: '1100000000000000321',
    });
    // A person's question sent after them is answered: by then theirs would have been too.
    discord.userMessage({ content: 'Zebra: where does the local index live?', dm: true });
    await waitFor(
      () =>
        discord
          .messages('9100000000000000001')
          .find((m) => m.author.bot && m.content.length > 0 && m.components.length > 0 && m.id > asked.id),
      'the person’s answer',
    );
    expect(groq.chatRequests().length - before).toBeLessThanOrEqual(2); // condense + answer, for the person only
    expect(groq.chatRequests().at(-1)?.body.messages?.at(-1)?.content).toContain(
      'where does the local index live?',
    );
    expect(discord.threadsOf(discord.channelId).length).toBe(threadsBefore);
    expect(
      discord.messages(thread.id).filter((m) => m.author.bot && m.author.id === discord.botUserId),
    ).toHaveLength(1);
  });
});

describe('Discord: the end of an answer is never held back by the throttle', () => {
  it('with edits allowed once an hour, edits at most once while streaming and finishes as soon as the model stops', async () => {
    const other = await startFakeDiscord();
    const slow = createDiscordAdapter({
      config: { token: other.token, apiURL: other.apiURL, allowedChannels: [] },
      conversations: layerOver(runtimeAnswerer),
      editIntervalMs: 3_600_000,
    });
    await slow.start();
    try {
      const answer = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
      groq.setReply(() => answer);
      groq.failNext({ type: 'cut' }); // a pause half way (one edit then), then the end
      const { token } = other.slashAsk({ question: 'How do I deploy with Docker?' });
      const edits = () => other.callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/messages/@original`));
      const done = await waitFor(() => warningCall(edits()), 'the final edit');
      expect(edits().length).toBeLessThanOrEqual(2);
      expect(String(done.body?.content)).toMatch(/^word0 word1 .*word29.*\n\n⚠️ The answer was interrupted/s);
    } finally {
      await slow.stop();
      await other.close();
    }
  });
});

describe('npm run commands:deploy', () => {
  it('registers /ask in the configured server and says it is usable now', async () => {
    const result = await runCli('commands/deploy.ts', [], {
      env: {
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_GUILD_ID: discord.guildId,
        DISCORD_API_URL: discord.apiURL,
      },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `Registered /ask, /kb, "Ask about this message" and "Save to knowledge base" in server ${discord.guildId}`,
    );
    const put = discord.callsTo('PUT', /\/guilds\/\d+\/commands$/).at(-1)!;
    expect(JSON.stringify(put.body)).toContain('"name":"ask"');
    expect(JSON.stringify(put.body)).toContain('"name":"kb"');
    expect(JSON.stringify(put.body)).toContain('"name":"Save to knowledge base","type":3');
    expect(JSON.stringify(put.body)).toContain('"name":"question"');
  });

  it('registers globally without a server id, saying it can take an hour', async () => {
    const result = await runCli('commands/deploy.ts', [], {
      env: {
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_API_URL: discord.apiURL,
      },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('globally');
  });

  it('names the missing variables', async () => {
    const result = await runCli('commands/deploy.ts', []);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('DISCORD_APPLICATION_ID');
  });
});

describe('Discord: DISCORD_ALLOWED_CHANNELS', () => {
  it('ignores mentions outside the allowed channels and refuses /ask there privately', async () => {
    const other = await startFakeDiscord();
    const limited = createDiscordAdapter({
      config: { token: other.token, apiURL: other.apiURL, allowedChannels: ['1100000000000000999'] },
      conversations: layerOver(runtimeAnswerer),
    });
    await limited.start();
    try {
      const before = groq.chatRequests().length;
      other.userMessage({ content: `<@${other.botUserId}> How do I add the bot to Slack?` });
      const { id } = other.slashAsk({ question: 'How do I add the bot to Slack?' });
      const reply = await waitFor(
        () => other.callsTo('POST', new RegExp(`/interactions/${id}/`))[0],
        'the refusal',
      );
      expect(reply.body).toMatchObject({ type: 4, data: { flags: 64 } });
      expect(JSON.stringify(reply.body)).toContain('not enabled in this channel');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(other.threadsOf(other.channelId)).toHaveLength(0);
      expect(groq.chatRequests().length).toBe(before);
    } finally {
      await limited.stop();
      await other.close();
    }
  });
});

describe('Discord: one answer per message across instances', () => {
  it('drops a message another instance already took, as Slack drops a retried event', async () => {
    // Two bot processes on one gateway session (a replayed resume, or a shard run twice by
    // mistake) both receive the event; the dedupe store they share (Redis in production)
    // lets only the first one answer.
    const gateway = await startFakeDiscord();
    const dedupe = new MemoryDedupeStore();
    const captured = captureLogs('debug');
    const instances = [0, 1].map(() =>
      createDiscordAdapter({
        config: { token: gateway.token, apiURL: gateway.apiURL, allowedChannels: [] },
        conversations: layerOver(runtimeAnswerer, { dedupe, logger: captured.logger }),
      }),
    );
    await Promise.all(instances.map((instance) => instance.start()));
    try {
      const asked = gateway.userMessage({ content: `<@${gateway.botUserId}> Where do secrets go?` });
      await waitFor(
        () => captured.lines.find((line) => line.includes('dropped a repeated delivery')),
        'the second instance to drop the message',
      );
      const thread = await waitFor(
        () => gateway.threadsOf(gateway.channelId).find((t) => t.name === 'Where do secrets go?'),
        'the thread',
      );
      await waitFor(
        () => gateway.messages(thread.id).find((m) => m.author.bot && m.components.length > 0),
        'the answer',
      );
      expect(gateway.callsTo('POST', new RegExp(`/messages/${asked.id}/threads`))).toHaveLength(1);
      expect(gateway.threadsOf(gateway.channelId)).toHaveLength(1);
    } finally {
      await Promise.all(instances.map((instance) => instance.stop()));
      await gateway.close();
    }
  });
});
