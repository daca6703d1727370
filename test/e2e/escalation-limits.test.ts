/**
 * The "Ask a human" ping farm (issue 17 item 12), performed through the real Bolt app against
 * the Slack fake: one member clicks the button under ten answers in a row; then members take
 * turns in one channel. The group is pinged within the per-person and per-channel limits, and
 * each refused click is told privately why and when to try again. Two instances of the bot on
 * one Redis count together.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bot, composeBot } from '../../src/app/compose.js';
import { parseConfig } from '../../src/config.js';
import { connectRedis } from '../../src/ops/redis-state.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import { blockActionBody, type FakeSlack, sendToBolt, startFakeSlack } from '../fakes/slack/index.js';
import { captureLogs } from '../support/logs.js';
import { freePort } from '../support/net.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'slack-signing-secret-for-escalation-tests';
const GROUP = 'S0HELPERS';

function findRedisServer(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const redisBinary = findRedisServer();

let slack: FakeSlack;
let redis: ChildProcess | undefined;
let redisURL: string | undefined;
const instances: { bot: Bot; adapter: SlackAdapter; eventsURL: string }[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  slack = await startFakeSlack();
  if (redisBinary) {
    const port = await freePort();
    redis = spawn(
      redisBinary,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    redisURL = `redis://127.0.0.1:${port}`;
    (await connectRedis(redisURL, undefined, 5_000)).disconnect();
  }
  // Two instances behind one load balancer (one Redis, when there is one to share).
  for (let i = 0; i < 2; i++) {
    const dataDir = await mkdtemp(join(tmpdir(), 'rag-escalation-'));
    dirs.push(dataDir);
    const config = parseConfig({
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiURL,
      ESCALATION_SLACK_GROUP: GROUP,
      RAG_DATA_DIR: dataDir,
      RAG_KNOWLEDGE_DIR: join(dataDir, 'none'),
      ...(redisURL ? { REDIS_URL: redisURL } : {}),
    });
    const { logger } = captureLogs();
    const bot = await composeBot(config, logger);
    const adapter = createSlackAdapter({
      config: config.slack!,
      port: 0,
      conversations: bot.conversations,
      knowledge: bot.knowledge,
      logger,
    });
    await adapter.start();
    instances.push({ bot, adapter, eventsURL: `http://127.0.0.1:${adapter.port}/slack/events` });
    if (!redisURL) break;
  }
});
afterAll(async () => {
  for (const { bot, adapter } of instances) await bot.stop([adapter]);
  redis?.kill();
  await slack.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

let clicks = 0;
/**
 * A member clicks "Ask a human" under an answer (its own thread) in `channel`, on the next
 * instance: a new answer each time, or the answer numbered `answer` again.
 */
async function clickAskHuman(user: string, channel: string, answer?: number): Promise<string> {
  clicks += 1;
  const id = String(answer ?? clicks).padStart(3, '0');
  const thread = `1700000${id}.000100`;
  const instance = instances[clicks % instances.length]!;
  const toldBefore = () =>
    slack.ephemerals(channel).filter((message) => message.user === user && message.thread_ts === thread);
  const before = toldBefore().length;
  const response = await sendToBolt(
    instance.eventsURL,
    blockActionBody({
      user: { id: user },
      channel: { id: channel },
      message: { ts: `1700000${id}.000200`, thread_ts: thread },
      trigger_id: `trigger-human-${clicks}`,
      actions: [
        {
          type: 'button',
          action_id: 'ask_a_human',
          value: `00000000-0000-4000-8000-${id.padStart(12, '0')}`,
          block_id: `b${clicks}`,
        },
      ],
    }),
    'application/x-www-form-urlencoded',
    { secret: SECRET },
  );
  expect(response.status).toBe(200);
  const told = await waitFor(() => toldBefore()[before], 'the private reply to the click');
  return told.text;
}

const pingsIn = (channel: string) =>
  slack
    .callsTo('chat.postMessage')
    .filter(
      (call) => call.args.channel === channel && String(call.args.text).includes(`<!subteam^${GROUP}>`),
    );

describe('Ask a human, clicked again and again', () => {
  it('one member under ten answers: the group is pinged three times, the rest told privately when to try again', async () => {
    // Clicks alternate between the two instances (with Redis): the limit holds across them.
    expect(instances).toHaveLength(redisBinary ? 2 : 1);
    const replies: string[] = [];
    for (let i = 0; i < 10; i++) replies.push(await clickAskHuman('U0FARMER', 'C0FARM'));
    expect(pingsIn('C0FARM')).toHaveLength(3);
    expect(replies.slice(0, 3).every((reply) => reply.includes('I asked the team'))).toBe(true);
    for (const reply of replies.slice(3)) {
      expect(reply).toMatch(/You have asked for a human 3 times in the last hour.*Try again in \d+ minute/);
    }
  });

  it('members taking turns in one channel: the channel’s ten per hour hold', async () => {
    const replies: string[] = [];
    for (let i = 0; i < 14; i++) replies.push(await clickAskHuman(`U0MEMBER${i % 7}`, 'C0BUSY'));
    expect(pingsIn('C0BUSY')).toHaveLength(10);
    expect(replies.slice(10).every((reply) => reply.includes('from this channel in the last hour'))).toBe(
      true,
    );
  });

  it('clicks under an answer already handed off spend nothing: the member can still ask under other answers', async () => {
    const first = clicks + 1;
    const replies: string[] = [];
    for (let i = 0; i < 6; i++) replies.push(await clickAskHuman('U0KEEN', 'C0KEEN', first));
    expect(replies[0]).toContain('I asked the team');
    expect(replies.slice(1).every((reply) => reply.includes('already asked about this answer'))).toBe(true);
    expect(await clickAskHuman('U0KEEN', 'C0KEEN')).toContain('I asked the team');
    expect(await clickAskHuman('U0KEEN', 'C0KEEN')).toContain('I asked the team');
    expect(pingsIn('C0KEEN')).toHaveLength(3);
  });
});
