import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDataDir } from '../e2e/cli.js';
import { type FakeDiscord, startFakeDiscord } from '../fakes/discord/index.js';
import { type FakeGroq, startFakeGroq } from '../fakes/groq/index.js';
import { type FakeSlack, startFakeSlack } from '../fakes/slack/index.js';
import { type FakeUpstash, startFakeUpstash } from '../fakes/upstash/index.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';

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
});
