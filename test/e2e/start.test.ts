import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord/index.js';
import type { FakeGroq } from '../fakes/groq/index.js';
import { eventEnvelope, type FakeSlack, sendToBolt, startFakeSlack } from '../fakes/slack/index.js';
import type { FakeUpstash } from '../fakes/upstash/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { freePort } from '../support/net.js';
import { waitFor } from '../support/wait.js';
import { ROOT, runCli, tempDataDir } from './cli.js';

const SECRET = 'start-test-signing-secret';

let backends: Backends;
let groq: FakeGroq;
let upstash: FakeUpstash;
let slack: FakeSlack;
let discord: FakeDiscord;

beforeAll(async () => {
  [backends, slack, discord] = await Promise.all([startBackends(), startFakeSlack(), startFakeDiscord()]);
  ({ groq, upstash } = backends);
});
afterAll(async () => {
  await Promise.all([backends.close(), slack.close(), discord.close()]);
});

function startBot(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, RAG_DOTENV: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
}

describe('npm start', () => {
  it('says exactly what to set, and exits 1, when no chat platform is configured', async () => {
    const result = await runCli('src/main.ts', []);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SLACK_BOT_TOKEN');
    expect(result.stderr).toContain('DISCORD_TOKEN');
    expect(result.stderr).toContain('npm run ask');
  });

  it('names SLACK_BOT_TOKEN when Slack rejects it, and exits 1', async () => {
    const result = await runCli('src/main.ts', [], {
      env: {
        SLACK_BOT_TOKEN: 'xoxb-wrong-token-for-tests',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: slack.apiURL,
        PORT: String(await freePort()),
        RAG_DATA_DIR: await tempDataDir(),
      },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Slack rejected SLACK_BOT_TOKEN');
    expect(result.stderr).not.toContain('xoxb-wrong-token-for-tests');
  });

  it('serves Slack and health on PORT, answers, and on SIGTERM finishes or interrupts answers in flight, then exits 0', async () => {
    const port = await freePort();
    const bot = startBot({
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiURL,
      GROQ_API_KEY: groq.apiKey,
      GROQ_BASE_URL: groq.baseURL,
      UPSTASH_VECTOR_REST_URL: upstash.url,
      UPSTASH_VECTOR_REST_TOKEN: upstash.token,
      RAG_MIN_SCORE: '0.55',
      PORT: String(port),
      SHUTDOWN_GRACE_MS: '300',
      LOG_LEVEL: 'info',
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok, 'readiness');
      expect(((await (await fetch(`${base}/healthz`)).json()) as { status: string }).status).toBe('ok');
      expect(await (await fetch(`${base}/readyz`)).json()).toMatchObject({
        status: 'ready',
        platforms: { slack: true },
      });

      // An answer that will still be waiting for its first token when SIGTERM arrives.
      groq.failNext({ type: 'slow', delayMs: 5_000 });
      const ts = slack.addUserMessage('C0START', 'U1', '<@UBOT> How do I add the bot to Slack?');
      await sendToBolt(
        `${base}/slack/events`,
        eventEnvelope({
          type: 'app_mention',
          user: 'U1',
          text: '<@UBOT> How do I add the bot to Slack?',
          ts,
          channel: 'C0START',
        }),
        'application/json',
        { secret: SECRET },
      );
      await waitFor(() => groq.chatRequests().length > 0, 'the Groq call');
      bot.child.kill('SIGTERM');
      const [code] = (await once(bot.child, 'exit')) as [number];
      expect(code).toBe(0);
      const reply = slack.messages('C0START').find((m) => m.thread_ts === ts && m.bot_id);
      expect(reply?.text).toMatch(/interrupted|restarting/);
      expect(bot.output()).toContain('shutting down');
    } finally {
      if (bot.child.exitCode === null) bot.child.kill('SIGKILL');
    }
  });
});

describe('npm start with WEB_CHAT=true', () => {
  it('serves the web chat on the same port as Slack, answering through the shared layer', async () => {
    const port = await freePort();
    const bot = startBot({
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiURL,
      WEB_CHAT: 'true',
      RAG_DATA_DIR: await tempDataDir(),
      PORT: String(port),
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      // A bot started from the sources (tsx) on a busy machine: allowed to be slow, never flaky.
      await waitFor(
        async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok,
        'readiness',
        45_000,
      );
      const page = await fetch(`${base}/`);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await page.text()).toContain('<html');
      const answer = await fetch(`${base}/api/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ question: 'How do I add the bot to Slack?' }),
      });
      const events = (await answer.text())
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; text?: string });
      expect(events[0]?.type).toBe('start');
      expect(events.at(-1)?.type).toBe('done');
      expect(events.at(-1)?.text).toContain('Offline answer');
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/rag_questions_total\{platform="web",outcome="answered"\} 1/);
      bot.child.kill('SIGTERM');
      const [code] = (await once(bot.child, 'exit')) as [number];
      expect(code).toBe(0);
    } finally {
      if (bot.child.exitCode === null) bot.child.kill('SIGKILL');
    }
  }, 60_000);
});

describe('npm start serving only the web chat', () => {
  it('is ready for the load balancer once the page is served and the store answers', async () => {
    const port = await freePort();
    const bot = startBot({ WEB_CHAT: 'true', RAG_DATA_DIR: await tempDataDir(), PORT: String(port) });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok, 'readiness');
      expect(await (await fetch(`${base}/readyz`)).json()).toEqual({
        status: 'ready',
        draining: false,
        platforms: { web: true },
        store: true,
      });
      bot.child.kill('SIGTERM');
      const [code] = (await once(bot.child, 'exit')) as [number];
      expect(code).toBe(0);
    } finally {
      if (bot.child.exitCode === null) bot.child.kill('SIGKILL');
    }
  });

  it('is not ready while its knowledge store does not answer', async () => {
    const port = await freePort();
    upstash.failNext({ type: 'status', status: 503 }, 1_000);
    const bot = startBot({
      WEB_CHAT: 'true',
      UPSTASH_VECTOR_REST_URL: upstash.url,
      UPSTASH_VECTOR_REST_TOKEN: upstash.token,
      RAG_DATA_DIR: await tempDataDir(),
      PORT: String(port),
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      const response = await waitFor(
        async () => (await fetch(`${base}/readyz`).catch(() => undefined)) ?? false,
        'the health server',
      );
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ platforms: { web: true }, store: false });
    } finally {
      upstash.clearFaults();
      bot.child.kill('SIGKILL');
    }
  });
});

describe('npm start with Discord', () => {
  const discordEnv = async (extra: Record<string, string> = {}) => ({
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    GROQ_API_KEY: groq.apiKey,
    GROQ_BASE_URL: groq.baseURL,
    UPSTASH_VECTOR_REST_URL: upstash.url,
    UPSTASH_VECTOR_REST_TOKEN: upstash.token,
    RAG_MIN_SCORE: '0.55',
    PORT: String(await freePort()),
    ...extra,
  });

  it('connects, reports ready on its own health server, answers /ask, and stops on SIGTERM', async () => {
    const env = await discordEnv();
    const bot = startBot(env);
    try {
      const base = `http://127.0.0.1:${env.PORT}`;
      await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok, 'readiness');
      expect(await (await fetch(`${base}/readyz`)).json()).toMatchObject({ platforms: { discord: true } });
      const { token } = discord.slashAsk({ question: 'How do I add the bot to Slack?' });
      await waitFor(
        () =>
          discord
            .callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/`))
            .find((c) => JSON.stringify(c.body).includes('feedback:up')),
        'the answer',
      );
      bot.child.kill('SIGTERM');
      const [code] = (await once(bot.child, 'exit')) as [number];
      expect(code).toBe(0);
    } finally {
      if (bot.child.exitCode === null) bot.child.kill('SIGKILL');
    }
  });

  it('runs one process per shard through the sharding manager when DISCORD_SHARDS is set', async () => {
    const before = discord.identified.length;
    const env = await discordEnv({ DISCORD_SHARDS: '2' });
    const bot = startBot(env);
    try {
      const base = `http://127.0.0.1:${env.PORT}`;
      await waitFor(
        async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok,
        'readiness',
        45_000,
      );
      const shards = discord.identified.slice(before).map((entry) => entry.shard.join('/'));
      expect(shards.sort()).toEqual(['0/2', '1/2']);
      // An answer given by a shard process is counted in the parent's /metrics.
      const { token } = discord.slashAsk({ question: 'How do I add the bot to Slack?' });
      await waitFor(
        () =>
          discord
            .callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/`))
            .find((c) => JSON.stringify(c.body).includes('feedback:up')),
        'the answer from a shard',
      );
      const metrics = await waitFor(async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return /rag_questions_total\{platform="discord",outcome="answered"\} 1\b/.test(text) && text;
      }, 'the shard answer in /metrics');
      expect(metrics).toContain('rag_answers_in_flight 0');
      bot.child.kill('SIGTERM');
      const [code] = (await once(bot.child, 'exit')) as [number];
      expect(code).toBe(0);
    } finally {
      if (bot.child.exitCode === null) bot.child.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses a DISCORD_TOKEN without DISCORD_APPLICATION_ID as a configuration problem, and exits 2', async () => {
    const { DISCORD_APPLICATION_ID: _unset, ...env } = await discordEnv();
    const result = await runCli('src/main.ts', [], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'DISCORD_APPLICATION_ID is required with DISCORD_TOKEN: the /ask command is registered under it (npm run commands:deploy)',
    );
    expect(result.stderr).not.toContain(discord.token);
  });

  it('names DISCORD_TOKEN when Discord rejects it, and exits 1', async () => {
    const result = await runCli('src/main.ts', [], {
      env: { ...(await discordEnv()), DISCORD_TOKEN: 'wrong.token.value' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Discord rejected DISCORD_TOKEN');
    expect(result.stderr).not.toContain('wrong.token.value');
  });

  it('names DISCORD_TOKEN before spawning any shard when Discord rejects it', async () => {
    const before = discord.identified.length;
    const result = await runCli('src/main.ts', [], {
      env: { ...(await discordEnv({ DISCORD_SHARDS: '2' })), DISCORD_TOKEN: 'wrong.token.value' },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Discord rejected DISCORD_TOKEN: reset the bot token');
    expect(result.stderr).not.toContain('respawning');
    expect(discord.identified.length).toBe(before);
  });
});

describe('npm start on the compiled build', () => {
  beforeAll(() => {
    // `npm start` compiles when the sources are newer than dist/; building here keeps that
    // out of the timed-out part of each test.
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
  }, 120_000);

  async function startWithNpm() {
    const port = await freePort();
    let output = '';
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      // Its own process group, so the test can signal the group the way a terminal or
      // `kill -- -PGID` does, or npm alone the way a process manager does.
      detached: true,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        RAG_DOTENV: 'off',
        SLACK_BOT_TOKEN: slack.token,
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: slack.apiURL,
        RAG_DATA_DIR: await tempDataDir(),
        PORT: String(port),
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    npm.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const started = await waitFor(
      () => output.split('\n').find((line) => line.includes('rag-chat-bot started')),
      'the start-up log line',
      30_000,
    );
    const botPid = (JSON.parse(started) as { pid: number }).pid;
    expect(botPid).not.toBe(npm.pid);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.ok).toBe(true);
    return { npm, botPid, output: () => output };
  }

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('stops the bot, leaving no process behind, when SIGTERM reaches the npm process alone', async () => {
    const { npm, botPid, output } = await startWithNpm();
    try {
      npm.kill('SIGTERM');
      await once(npm, 'exit');
      await waitFor(() => !alive(botPid), 'the bot process to exit');
      expect(output()).toContain('"msg":"stopped"');
    } finally {
      if (alive(botPid)) process.kill(botPid, 'SIGKILL');
    }
  }, 60_000);

  it('drains once and exits 0 when the whole process group is signalled', async () => {
    const { npm, botPid, output } = await startWithNpm();
    try {
      process.kill(-npm.pid!, 'SIGTERM');
      const [code] = (await once(npm, 'exit')) as [number | null];
      await waitFor(() => !alive(botPid), 'the bot process to exit');
      expect(code).toBe(0);
      expect(output()).toContain('"msg":"stopped"');
      expect(output()).not.toContain('second signal');
    } finally {
      if (alive(botPid)) process.kill(botPid, 'SIGKILL');
    }
  }, 60_000);
});
