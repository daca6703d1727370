/**
 * An answer survives its instance, on Discord: compiled bots (`npm start`) with their own data
 * folders share one DATABASE_URL and are all connected to the Discord fake (each event is
 * answered once, through the shared dedupe). The model stalls half way through an answer, the
 * instance writing it is killed (`kill -9`), and another one finishes the answer in the same
 * message.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startArguments } from '../../bench/support/compiled-bot.js';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord/index.js';
import { type FakeGroq, startFakeGroq } from '../fakes/groq/index.js';
import { freePort } from '../support/net.js';
import { answersLocated, createTestDatabase, havePostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';
import { ROOT, tempDataDir } from './cli.js';

interface Instance {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
}

let databaseURL = '';
let discord: FakeDiscord;
let groq: FakeGroq;
const instances: Instance[] = [];

async function startInstance(name: string): Promise<Instance> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, startArguments(), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      RAG_DOTENV: 'off',
      DATABASE_URL: databaseURL,
      ANSWER_TAKEOVER_MS: '3000',
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiURL,
      GROQ_API_KEY: groq.apiKey,
      GROQ_BASE_URL: groq.baseURL,
      RAG_DATA_DIR: await tempDataDir(),
      PORT: String(port),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited: ${output}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok;
    },
    `${name} ready`,
    60_000,
  );
  const instance = { name, child, output: () => output };
  instances.push(instance);
  return instance;
}

const alive = () => instances.filter((i) => i.child.exitCode === null && i.child.signalCode === null);

const received = (instance: Instance) => instance.output().split('question received').length - 1;

/** Call before asking; resolves with the live instance that then logged receiving a question. */
function answering() {
  const before = new Map(alive().map((instance) => [instance, received(instance)]));
  return () =>
    waitFor(
      () => alive().find((instance) => received(instance) > (before.get(instance) ?? 0)),
      'the instance answering',
    );
}

async function kill(instance: Instance) {
  instance.child.kill('SIGKILL');
  await once(instance.child, 'exit');
}

/** An edit of `messageId` through its channel that carries the feedback buttons: the finished answer. */
const finishedThroughChannel = (messageId: string) =>
  discord
    .callsTo('PATCH', new RegExp(`/channels/\\d+/messages/${messageId}$`))
    .find((call) => JSON.stringify(call.body).includes('feedback:up'));

beforeAll(async () => {
  if (!havePostgres) return;
  const built = spawnSync(process.execPath, ['scripts/ensure-built.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);
  [discord, groq] = await Promise.all([startFakeDiscord(), startFakeGroq()]);
  databaseURL = await createTestDatabase('takeover');
  // The first indexes the sample knowledge base into the database; the second finds it there.
  await startInstance('A');
  await startInstance('B');
}, 180_000);

afterAll(async () => {
  await Promise.all(alive().map((instance) => kill(instance)));
  await Promise.all([discord?.close(), groq?.close()]);
});

describe.skipIf(!havePostgres)('an answer on Discord survives its instance', { timeout: 120_000 }, () => {
  it('finishes an /ask reply in the same message, then starts its follow-up thread', async () => {
    const question = 'How do I add the bot to Slack? (takeover)';
    groq.failNext({ type: 'stall' });
    const whoAnswers = answering();
    const { token } = discord.slashAsk({ question });
    const victim = await whoAnswers();
    // Half the answer reaches the reply (an edit of @original); then the model stalls.
    const half = await waitFor(
      () =>
        discord
          .callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/messages/@original`))
          .find((call) => String(call.body?.content ?? '').length > 0),
      'half the answer',
    );
    const reply = discord.messages(discord.channelId).find((m) => m.content === half.body?.content);
    expect(reply).toBeDefined();
    await waitFor(() => answersLocated(databaseURL), 'the reply recorded');
    await kill(victim);
    const finished = await waitFor(() => finishedThroughChannel(reply!.id), 'the answer finished', 30_000);
    expect(String(finished.body?.content).length).toBeGreaterThan(String(half.body?.content).length);
    expect(reply!.content).toBe(finished.body?.content);
    expect(JSON.stringify(reply!.embeds)).toContain('Sources');
    // The follow-up thread the dead instance would have started on its reply.
    await waitFor(
      () => discord.callsTo('POST', new RegExp(`/channels/\\d+/messages/${reply!.id}/threads$`)).length,
      'the follow-up thread',
    );
    // One reply: finished where it was.
    expect(discord.messages(discord.channelId).filter((m) => m.author.bot && m.content)).toHaveLength(1);
  });

  it('finishes, in its thread, an answer to a mention', async () => {
    await startInstance('C');
    const question = 'How do I add the bot to Slack? (mention takeover)';
    groq.failNext({ type: 'stall' });
    const whoAnswers = answering();
    discord.userMessage({ content: `<@${discord.botUserId}> ${question}` });
    const victim = await whoAnswers();
    const thread = await waitFor(() => discord.threadsOf(discord.channelId).at(-1), 'the thread');
    const half = await waitFor(
      () => discord.messages(thread.id).find((m) => m.author.bot && m.content.length > 0),
      'half the answer',
    );
    await waitFor(() => answersLocated(databaseURL), 'the reply recorded');
    await kill(victim);
    await waitFor(() => finishedThroughChannel(half.id), 'the answer finished', 30_000);
    expect(discord.messages(thread.id).filter((m) => m.author.bot)).toHaveLength(1);
    expect(discord.messages(thread.id)[0]!.components.length).toBeGreaterThan(0);
  });
});
