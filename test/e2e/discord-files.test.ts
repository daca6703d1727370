/**
 * Files in questions on Discord, end to end: real discord.js against the Discord fake (which
 * serves attachments from its CDN path), the real core, Groq and Upstash fakes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildRuntime, type Runtime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config.js';
import { createDiscordAdapter } from '../../src/platforms/discord/index.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord/index.js';
import { answering, type FakeGroq } from '../fakes/groq/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { layerOver } from '../support/conversations.js';
import { BUDGET_CSV, PNG_BYTES, promptContext, tinyPdf } from '../support/files.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';

const MB = 1024 * 1024;
/** Above the fake embedding's background similarity: questions about the files find nothing in the store. */
const MIN_SCORE = '0.7';

let backends: Backends;
let groq: FakeGroq;
let discord: FakeDiscord;
let adapter: PlatformAdapter;
let runtime: Runtime;
let dataDir: string;
let logLines: string[] = [];

const mention = () => `<@${discord.botUserId}>`;

/** The bot's messages in a channel or thread. */
const botMessages = (channelId: string) => discord.messages(channelId).filter((m) => m.author.bot);
/** The finished answer: the message carrying the feedback buttons. */
const answer = (channelId: string) => botMessages(channelId).find((m) => m.components.length > 0);
/** The bot's notes (⚠️ messages). */
const notes = (channelId: string) =>
  botMessages(channelId)
    .map((m) => m.content)
    .filter((content) => content.startsWith('⚠️'));

/** The thread the bot opened on a message (it shares the message's id). */
const threadOn = (messageId: string) =>
  waitFor(() => discord.threadsOf(discord.channelId).find((t) => t.id === messageId), 'the thread');

beforeAll(async () => {
  [backends, discord] = await Promise.all([startBackends(), startFakeDiscord()]);
  ({ groq } = backends);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-discord-files-'));
  const config = parseConfig({
    ...backends.env,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    RAG_DATA_DIR: dataDir,
    RAG_MIN_SCORE: MIN_SCORE,
  });
  const captured = captureLogs();
  logLines = captured.lines;
  runtime = await buildRuntime(config, { logger: captured.logger });
  adapter = createDiscordAdapter({
    config: config.discord!,
    conversations: layerOver(runtime.answerer, { logger: captured.logger }),
    logger: captured.logger,
    editIntervalMs: 50,
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
  groq.setReply(
    answering((request) => {
      const context = promptContext(request.body.messages);
      if (context.includes('Lisbon offsite venue'))
        return 'The venue costs 18,400 EUR and Marta owns it [1].';
      if (context.includes('rollback window')) return 'The rollback window is 30 minutes [1].';
      return 'Register it with npm run commands:deploy, then invite the bot [1].';
    }),
  );
});

describe('Discord: files in questions', () => {
  it('answers a mention from an attached CSV the knowledge base knows nothing about, citing the file, without storing it', async () => {
    const before = await runtime.store.stats();
    const upserts = backends.upstash.requests.filter((r) => /upsert/.test(r.command)).length;
    const question = 'how much does the Lisbon offsite venue cost and who owns it?';
    const found = await runtime.store.search(question, { topK: 3 });
    expect(found.filter((passage) => passage.score >= Number(MIN_SCORE))).toEqual([]);

    const asked = discord.userMessage({
      content: `${mention()} ${question}`,
      attachments: [{ filename: 'q3-budget.csv', content: BUDGET_CSV, contentType: 'text/csv' }],
    });
    const thread = await threadOn(asked.id);
    const done = await waitFor(() => answer(thread.id), 'the answer from the file');
    expect(done.content).toContain('The venue costs 18,400 EUR');
    expect(JSON.stringify(done.embeds)).toContain('q3-budget.csv');
    const context = promptContext(groq.chatRequests().at(-1)?.body.messages);
    expect(context.match(/<passage /g)).toHaveLength(1);
    expect(context).toContain('source="q3-budget.csv (attached)"');
    expect(context).toContain('Lisbon offsite venue,Marta,18400');
    expect(notes(thread.id)).toEqual([]);
    expect(await runtime.store.stats()).toEqual(before);
    expect(backends.upstash.requests.filter((r) => /upsert/.test(r.command)).length).toBe(upserts);
    expect(logLines.join('\n')).not.toContain('Lisbon offsite venue');
  });

  it('reads files from earlier in the thread (the message it started from) for a follow-up', async () => {
    const asked = discord.userMessage({
      content: `${mention()} what is in this release note?`,
      attachments: [
        {
          filename: 'release.pdf',
          content: tinyPdf('The rollback window is 30 minutes after each deploy.'),
          contentType: 'application/pdf',
        },
      ],
    });
    const thread = await threadOn(asked.id);
    await waitFor(() => answer(thread.id), 'the first answer');
    discord.userMessage({
      channelId: thread.id,
      content: 'and how long is the rollback window?',
      attachments: [
        { filename: 'notes.md', content: '# Notes\n\nShip on Tuesdays.', contentType: 'text/markdown' },
      ],
    });
    await waitFor(
      () => botMessages(thread.id).filter((m) => m.components.length > 0).length >= 2,
      'the follow-up',
    );
    const context = promptContext(groq.chatRequests().at(-1)?.body.messages);
    expect(context).toContain('Ship on Tuesdays.');
    expect(context).toContain('The rollback window is 30 minutes after each deploy.');
    // The question's own file comes first.
    expect(context.indexOf('notes.md')).toBeLessThan(context.indexOf('release.pdf'));
  });

  it('answers a file sent in a DM with no words', async () => {
    const before = groq.chatRequests().length;
    discord.userMessage({
      content: '',
      dm: true,
      attachments: [{ filename: 'budget.csv', content: BUDGET_CSV, contentType: 'text/csv' }],
    });
    await waitFor(
      () => groq.chatRequests().length > before && answer('9100000000000000001'),
      'the DM answer',
    );
    const last = groq.chatRequests().at(-1)?.body.messages?.at(-1)?.content ?? '';
    expect(last).toContain('Question: What does the attached file say?');
    expect(last).toContain('Lisbon offsite venue');
  });

  it('notes an oversized file, an image and a failed download one line each, and still answers', async () => {
    const asked = discord.userMessage({
      content: `${mention()} How do I add the bot to Slack?`,
      attachments: [
        { filename: 'dump.log', content: 'x', declaredSize: 6 * MB },
        { filename: 'screenshot.png', content: PNG_BYTES, contentType: 'image/png' },
        { filename: 'gone.txt', content: 'x', failWith: 404 },
        { filename: '@everyone [click](https://evil.example).txt', content: 'y', failWith: 401 },
      ],
    });
    const thread = await threadOn(asked.id);
    await waitFor(() => answer(thread.id), 'the answer');
    const [note, ...more] = notes(thread.id);
    expect(more).toEqual([]);
    const lines = note!.replace('⚠️ ', '').split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/didn't read “dump\.log”: it is over the 5 MB limit/);
    expect(lines[1]).toMatch(/can't read “screenshot\.png”/);
    expect(lines[2]).toContain("couldn't download “gone.txt” (the file is gone (HTTP 404))");
    expect(lines[3]).toContain('(the file server refused access (HTTP 401))');
    // The hostile name is shown literally: no ping, no link.
    expect(lines[3]).not.toContain('@everyone');
    expect(lines[3]).not.toContain('](https://');
    // Neither the oversized file nor the image was downloaded.
    expect(discord.cdnRequests.some((path) => /dump\.log|screenshot\.png/.test(path))).toBe(false);
  });
});
