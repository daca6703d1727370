import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDataDir } from '../e2e/cli.js';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord/index.js';
import { type FakeGroq, startFakeGroq } from '../fakes/groq/index.js';
import { type FakeSlack, startFakeSlack } from '../fakes/slack/index.js';
import { type FakeUpstash, startFakeUpstash } from '../fakes/upstash/index.js';
import { freePort } from '../support/net.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';
import { haveRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

let groq: FakeGroq;
let upstash: FakeUpstash;
let slack: FakeSlack;
let limitedSlack: FakeSlack;
let discord: FakeDiscord;
let noIntentDiscord: FakeDiscord;

beforeAll(async () => {
  [groq, upstash, slack, limitedSlack, discord, noIntentDiscord] = await Promise.all([
    startFakeGroq(),
    startFakeUpstash(),
    startFakeSlack(),
    startFakeSlack({ scopes: ['chat:write', 'commands'] }),
    startFakeDiscord(),
    startFakeDiscord({ applicationFlags: 0 }),
  ]);
});
afterAll(async () => {
  await Promise.all(
    [groq, upstash, slack, limitedSlack, discord, noIntentDiscord].map((fake) => fake.close()),
  );
});

const healthy = () => ({
  GROQ_API_KEY: groq.apiKey,
  GROQ_BASE_URL: groq.baseURL,
  UPSTASH_VECTOR_REST_URL: upstash.url,
  UPSTASH_VECTOR_REST_TOKEN: upstash.token,
  SLACK_BOT_TOKEN: slack.token,
  SLACK_SIGNING_SECRET: 'secret',
  SLACK_API_URL: slack.apiURL,
  DISCORD_TOKEN: discord.token,
  DISCORD_APPLICATION_ID: discord.applicationId,
  DISCORD_API_URL: discord.apiURL,
});

describe('npm run doctor', () => {
  it('checks every configured service for real and exits 0 when all work', async () => {
    const result = await runCli('src/cli/doctor.ts', [], { env: healthy() });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Groq\s+ok\s+key accepted, model llama-3.1-8b-instant available/);
    expect(result.stdout).toMatch(/Upstash Vector\s+ok\s+.*model FAKE-BOW-256/);
    expect(result.stdout).toMatch(/Slack\s+ok\s+bot ragbot in Fake, all scopes granted, HTTP mode/);
    expect(result.stdout).toMatch(
      /Discord\s+ok\s+bot knowledge-bot, application \d+, Message Content intent on/,
    );
    expect(result.stdout).toMatch(/Redis\s+-\s+REDIS_URL not set/);
  });

  it.skipIf(!havePostgres)(
    'checks PostgreSQL with DATABASE_URL: what it holds when reachable, how to fix it when the password is wrong',
    async () => {
      const url = await createTestDatabase('doctor');
      const env = { GROQ_API_KEY: groq.apiKey, GROQ_BASE_URL: groq.baseURL, DATABASE_URL: url };
      const fresh = await runCli('src/cli/doctor.ts', [], { env });
      expect(fresh.stdout).toMatch(
        /PostgreSQL\s+ok\s+PostgreSQL \d+.* no tables yet: the first instance to start creates them/,
      );
      const ingest = await runCli('src/cli/ingest.ts', ['knowledge'], { env, timeoutMs: 60_000 });
      expect(ingest.code).toBe(0);
      const filled = await runCli('src/cli/doctor.ts', [], { env });
      expect(filled.stdout).toMatch(/PostgreSQL\s+ok\s+.*\d+ passages, \d+ migration\(s\) applied/);
      const wrong = new URL(url);
      wrong.password = 'not-the-password';
      const refused = await runCli('src/cli/doctor.ts', [], { env: { ...env, DATABASE_URL: wrong.href } });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(
        /PostgreSQL\s+FAIL\s+.*refused the user name or password.*Fix: check DATABASE_URL/,
      );
      expect(refused.stdout + refused.stderr).not.toContain('not-the-password');
    },
  );

  it('reports each failure with how to fix it, and exits 1', async () => {
    const result = await runCli('src/cli/doctor.ts', [], {
      env: {
        ...healthy(),
        GROQ_API_KEY: 'gsk_wrong',
        UPSTASH_VECTOR_REST_TOKEN: 'wrong',
        SLACK_BOT_TOKEN: limitedSlack.token,
        SLACK_API_URL: limitedSlack.apiURL,
        DISCORD_TOKEN: noIntentDiscord.token,
        DISCORD_APPLICATION_ID: noIntentDiscord.applicationId,
        DISCORD_API_URL: noIntentDiscord.apiURL,
      },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Groq\s+FAIL\s+the API key was rejected\. Fix: .*GROQ_API_KEY/);
    expect(result.stdout).toMatch(/Upstash Vector\s+FAIL\s+.*UPSTASH_VECTOR_REST_TOKEN/);
    expect(result.stdout).toMatch(/Slack\s+FAIL\s+.*missing scopes: app_mentions:read/);
    expect(result.stdout).toMatch(/Discord\s+FAIL\s+.*Message Content intent is off/);
    expect(result.stdout).toContain('4 check(s) failed');
    expect(result.stdout).not.toContain('gsk_wrong');
  });

  it('fails unreachable services within its time limit instead of hanging', async () => {
    const result = await runCli('src/cli/doctor.ts', [], {
      env: {
        GROQ_API_KEY: 'gsk_x',
        GROQ_BASE_URL: 'http://127.0.0.1:9',
        DISCORD_TOKEN: 'x',
        DISCORD_APPLICATION_ID: '1100000000000000111',
        DISCORD_API_URL: 'http://127.0.0.1:9/api',
        RAG_DATA_DIR: await tempDataDir(),
      },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Groq\s+FAIL\s+cannot reach/);
    expect(result.stdout).toMatch(/Discord\s+FAIL\s+cannot reach Discord/);
    expect(result.stdout).toMatch(/Local store\s+ok\s+empty/);
  });

  it.skipIf(!haveRedis)(
    'says why Redis fails: a refused password or a server that is not there',
    async () => {
      const port = await freePort();
      const server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--requirepass', 'the-right-one'],
        { stdio: 'ignore' },
      );
      try {
        const dataDir = await tempDataDir();
        const env = (url: string) => ({ REDIS_URL: url, RAG_DATA_DIR: dataDir });
        const ok = await waitFor(async () => {
          const run = await runCli('src/cli/doctor.ts', [], {
            env: env(`redis://:the-right-one@127.0.0.1:${port}`),
          });
          return /Redis\s+ok\s+PING → PONG/.test(run.stdout) && run;
        }, 'redis-server to answer');
        expect(ok.code).toBe(0);
        const refused = await runCli('src/cli/doctor.ts', [], { env: env(`redis://127.0.0.1:${port}`) });
        expect(refused.code).toBe(1);
        expect(refused.stdout).toMatch(
          /Redis\s+FAIL\s+Redis at 127\.0\.0\.1:\d+ refused the credentials in REDIS_URL \(NOAUTH\): set the password/,
        );
        const closed = await freePort();
        const absent = await runCli('src/cli/doctor.ts', [], { env: env(`redis://127.0.0.1:${closed}`) });
        expect(absent.stdout).toMatch(
          /Redis\s+FAIL\s+Redis at 127\.0\.0\.1:\d+ is not reachable \(ECONNREFUSED\)/,
        );
      } finally {
        server.kill();
      }
    },
    60_000,
  );
});
