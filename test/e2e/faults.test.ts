/**
 * The fault table: each fault a deployment meets, injected into the fakes, must end in the
 * expected message for the user and the expected metric, through the same chain npm start
 * builds (metrics → draining → limits → core) behind the real Slack and Discord adapters.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guardAnswerer } from '../../src/app/guarded.js';
import { buildRuntime, type Runtime } from '../../src/app/runtime.js';
import { type Config, parseConfig } from '../../src/config.js';
import { BotMetrics } from '../../src/ops/metrics.js';
import { createSharedState, MemoryDedupeStore, MemoryRateLimiter } from '../../src/ops/shared-state.js';
import { createDiscordAdapter } from '../../src/platforms/discord/index.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord/index.js';
import { defaultReply, type FakeGroq } from '../fakes/groq/index.js';
import { eventEnvelope, type FakeSlack, sendToBolt, startFakeSlack } from '../fakes/slack/index.js';
import type { FakeUpstash } from '../fakes/upstash/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { layerOver } from '../support/conversations.js';
import { freePort } from '../support/net.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'faults-signing-secret';
let backends: Backends;
let groq: FakeGroq;
let upstash: FakeUpstash;
let slack: FakeSlack;
let discord: FakeDiscord;
let slackAdapter: SlackAdapter;
let discordAdapter: PlatformAdapter;
let metrics: BotMetrics;
let guard: ReturnType<typeof guardAnswerer>;
let runtime: Runtime;
let config: Config;
let dataDir: string;
let thread = 0;

async function counter(name: string, labels: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** The metric is recorded as the answer stream closes, just after the last message is posted. */
async function waitForCount(name: string, labels: string, expected: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  let value = await counter(name, labels);
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await counter(name, labels);
  }
  expect(value).toBe(expected);
}

/** Calls that end an answer in `channel` (the final message carries the feedback buttons or a warning). */
function answersIn(channel: string) {
  return slack.calls.filter(
    (c) =>
      c.args.channel === channel &&
      /stopStream|update|postMessage/.test(c.method) &&
      /feedback_up|:warning:/.test(JSON.stringify(c.args)),
  );
}

/** Asks in a fresh Slack channel; resolves with everything the thread shows once the answer ended. */
async function askSlack(question: string): Promise<string> {
  const channel = `CF${++thread}`;
  const ts = slack.addUserMessage(channel, 'U1', `<@UBOT> ${question}`);
  await sendToBolt(
    `http://127.0.0.1:${slackAdapter.port}/slack/events`,
    eventEnvelope({ type: 'app_mention', user: 'U1', text: `<@UBOT> ${question}`, ts, channel }),
    'application/json',
    { secret: SECRET },
  );
  const end = await waitFor(() => slack.answerEnd(channel), `the end of the answer in ${channel}`, 15_000);
  return (
    slack
      .messages(channel)
      .map((m) => m.text + JSON.stringify(m.blocks ?? ''))
      .join('\n') + JSON.stringify(end.args)
  );
}

beforeAll(async () => {
  [backends, slack, discord] = await Promise.all([startBackends(), startFakeSlack(), startFakeDiscord()]);
  ({ groq, upstash } = backends);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-faults-'));
  config = parseConfig({
    ...backends.env,
    GROQ_RETRY_BUDGET_MS: '300',
    GROQ_MAX_RETRIES: '1',
    GROQ_TIMEOUT_MS: '1000',
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiURL,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    RATE_LIMIT_USER_PER_MINUTE: '0',
    RAG_DATA_DIR: dataDir,
  });
  runtime = await buildRuntime(config);
  metrics = new BotMetrics();
  guard = guardAnswerer(runtime.answerer, config, new MemoryRateLimiter(), metrics);
  slackAdapter = createSlackAdapter({
    config: config.slack!,
    port: 0,
    conversations: layerOver(guard.answerer, { dedupe: new MemoryDedupeStore() }),
  });
  discordAdapter = createDiscordAdapter({
    config: config.discord!,
    conversations: layerOver(guard.answerer),
  });
  await Promise.all([slackAdapter.start(), discordAdapter.start()]);
});

afterAll(async () => {
  await Promise.all([slackAdapter?.stop(), discordAdapter?.stop()]);
  await Promise.all([backends?.close(), slack?.close(), discord?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  groq.clearFaults();
  upstash.clearFaults();
});

const QUESTION = 'How do I add the bot to Slack?';

describe('fault table (Slack front end)', () => {
  const rows: {
    fault: string;
    inject: () => void;
    says: RegExp;
    outcome: string;
  }[] = [
    {
      fault: 'Groq rejects the key (401)',
      inject: () => groq.failNext({ type: 'status', status: 401 }, 3),
      says: /misconfigured.*GROQ_API_KEY/,
      outcome: 'misconfigured',
    },
    {
      fault: 'Groq rate limit beyond the wait budget (429)',
      inject: () => groq.failNext({ type: 'status', status: 429, retryAfterSeconds: 20 }, 3),
      says: /try again in 20 seconds/,
      outcome: 'rate_limited',
    },
    {
      fault: 'Groq server errors (500)',
      inject: () => groq.failNext({ type: 'status', status: 500 }, 10),
      says: /Groq is unavailable right now, so here are the most relevant passages/,
      outcome: 'answered',
    },
    {
      fault: 'Groq hangs past the timeout',
      inject: () => groq.failNext({ type: 'hang' }, 10),
      says: /Groq is unavailable right now, so here are the most relevant passages/,
      outcome: 'answered',
    },
    {
      fault: 'Groq stream cut half way',
      inject: () => groq.failNext({ type: 'cut' }),
      says: /According to the knowledge base[\s\S]*interrupted before it finished/,
      outcome: 'interrupted',
    },
    {
      fault: 'Upstash down',
      inject: () => upstash.failNext({ type: 'down' }, 10),
      says: /Upstash Vector is unavailable/,
      outcome: 'unavailable',
    },
    {
      fault: 'Slack rate-limits the bot (429 + Retry-After)',
      inject: () => slack.rateLimit('chat.startStream', 1),
      says: /According to the knowledge base/,
      outcome: 'answered',
    },
  ];

  it.each(rows)(
    '$fault → the user is told, and the outcome is counted as $outcome',
    async ({ inject, says, outcome }) => {
      const before = await counter('rag_questions_total', `platform="slack",outcome="${outcome}"`);
      inject();
      const shown = await askSlack(QUESTION);
      expect(shown).toMatch(says);
      await waitForCount('rag_questions_total', `platform="slack",outcome="${outcome}"`, before + 1);
    },
  );

  it('a slow consumer (every Slack call takes 250 ms) still gets the whole answer, counted once', async () => {
    const before = await counter('rag_questions_total', 'platform="slack",outcome="answered"');
    const reply = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    groq.setReply((request) =>
      /standalone question/i.test(request.body.messages?.[0]?.content ?? '') ? QUESTION : reply,
    );
    slack.setLatency(250);
    try {
      const shown = await askSlack(QUESTION);
      expect(shown).toContain('word0 word1');
      expect(shown).toContain('word39');
    } finally {
      slack.setLatency(0);
      groq.setReply(defaultReply);
    }
    await waitForCount('rag_questions_total', 'platform="slack",outcome="answered"', before + 1);
  });

  it('counts degraded answers, so a Groq outage shows on a dashboard', async () => {
    expect(await counter('rag_degraded_answers_total', '')).toBeGreaterThanOrEqual(2);
    expect(
      await counter('rag_failures_total', 'kind="unavailable",service="Upstash Vector"'),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('fault table: Redis unreachable (REDIS_URL points at a closed port)', () => {
  it('five deliveries of one Slack event still get one answer, and limits still apply', async () => {
    const shared = await createSharedState(`redis://127.0.0.1:${await freePort()}`, undefined, {
      connectWaitMs: 200,
    });
    const limited = guardAnswerer(
      runtime.answerer,
      { ...config, limits: { ...config.limits, userPerMinute: 1 } },
      shared.rates,
    );
    const adapter = createSlackAdapter({
      config: config.slack!,
      port: 0,
      conversations: layerOver(limited.answerer, { dedupe: shared.dedupe }),
    });
    await adapter.start();
    try {
      const url = `http://127.0.0.1:${adapter.port}/slack/events`;
      const channel = `CR${++thread}`;
      const text = `<@UBOT> ${QUESTION}`;
      const ts = slack.addUserMessage(channel, 'U7', text);
      const event = eventEnvelope(
        { type: 'app_mention', user: 'U7', text, ts, channel },
        'T0001',
        'EvRedisDown',
      );
      for (let retryNum = 0; retryNum < 5; retryNum++) {
        await sendToBolt(url, event, 'application/json', {
          secret: SECRET,
          ...(retryNum > 0 ? { retryNum } : {}),
        });
      }
      // A second question from the same user, after the duplicates: the per-user limit (1) refuses it.
      const again = slack.addUserMessage(channel, 'U7', text);
      await sendToBolt(
        url,
        eventEnvelope({ type: 'app_mention', user: 'U7', text, ts: again, channel }),
        'application/json',
        { secret: SECRET },
      );
      await waitFor(() => answersIn(channel).length >= 2, 'the answer and the refusal');
      const shown = answersIn(channel).map((c) => JSON.stringify(c.args));
      expect(shown).toHaveLength(2);
      // The answer streamed (appendStream + stopStream): read it as the channel shows it.
      const answered = slack
        .messages(channel)
        .filter((m) => m.bot_id && m.text?.includes('According to the knowledge base'));
      expect(answered).toHaveLength(1);
      expect(shown.filter((args) => /slow down/.test(args))).toHaveLength(1);
    } finally {
      await adapter.stop();
      await shared.close();
    }
  });
});

describe('fault table (Discord front end)', () => {
  it('Discord rate-limits the bot (429 with retry_after) → the answer still arrives, counted as answered', async () => {
    const before = await counter('rag_questions_total', 'platform="discord",outcome="answered"');
    discord.rateLimit(/\/messages\/@original$/, 0.3, 1);
    const { token } = discord.slashAsk({ question: QUESTION });
    await waitFor(
      () =>
        discord
          .callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/`))
          .find((c) => JSON.stringify(c.body).includes('feedback:up')),
      'the answer',
    );
    await waitForCount('rag_questions_total', 'platform="discord",outcome="answered"', before + 1);
  });
});

describe('fault table: shutdown', () => {
  it('SIGTERM during an answer → interrupted for the user, counted, and new questions refused', async () => {
    groq.failNext({ type: 'slow', delayMs: 5_000 });
    const channel = `CF${++thread}`;
    const ts = slack.addUserMessage(channel, 'U1', `<@UBOT> ${QUESTION}`);
    await sendToBolt(
      `http://127.0.0.1:${slackAdapter.port}/slack/events`,
      eventEnvelope({ type: 'app_mention', user: 'U1', text: `<@UBOT> ${QUESTION}`, ts, channel }),
      'application/json',
      { secret: SECRET },
    );
    await waitFor(() => guard.draining.activeAnswers > 0, 'the answer to start');
    const interruptedBefore = await counter('rag_questions_total', 'platform="slack",outcome="interrupted"');
    expect(await guard.draining.drain(100)).toEqual({ finished: false, interrupted: 1 });
    const shown = await waitFor(
      () =>
        slack.calls.find((c) => c.args.channel === channel && JSON.stringify(c.args).includes('interrupted')),
      'the interrupted message',
    );
    expect(JSON.stringify(shown.args)).toContain(':warning:');
    expect(await counter('rag_questions_total', 'platform="slack",outcome="interrupted"')).toBe(
      interruptedBefore + 1,
    );
    const late = await askSlack('Anything else?');
    expect(late).toContain('restarting');
    await waitForCount('rag_questions_total', 'platform="slack",outcome="shutting_down"', 1);
  });
});
