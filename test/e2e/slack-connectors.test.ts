/**
 * Every connector end to end on Slack: the real Bolt app composed like `npm start`, the Slack,
 * Groq and Upstash fakes, and each connector's fake (a real git smart-HTTP server, GitHub,
 * Notion, Confluence). An admin adds each source with `/kb add`, a channel reading its
 * collection gets answers citing it, a change reaches answers after `/kb sync`, and
 * `/kb remove` takes it all away again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Bot, composeBot } from '../../src/app/compose.js';
import { parseConfig } from '../../src/config.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import { type FakeSlack, sendToBolt, slashCommandBody, startFakeSlack } from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { type Connectors, startConnectors } from '../support/connectors.js';
import { captureLogs } from '../support/logs.js';
import { mentionAndAwaitAnswer } from '../support/slack-answers.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'slack-signing-secret-for-tests';
const ADMIN = 'UADMIN';
const MEMBER = 'UMEMBER';

let backends: Backends;
let slack: FakeSlack;
let connectors: Connectors;
let bot: Bot;
let adapter: SlackAdapter;
let eventsURL: string;
let dataDir: string;
let logLines: string[];
let commands = 0;
let questions = 0;

/** Runs `/kb text` in `channel`; resolves with the first `count` private replies. */
async function kb(text: string, channel: string, count = 1): Promise<string[]> {
  const id = `kb${++commands}`;
  const response = await sendToBolt(
    eventsURL,
    slashCommandBody({
      command: '/kb',
      text,
      user_id: ADMIN,
      channel_id: channel,
      response_url: slack.responseURL(id),
    }),
    'application/x-www-form-urlencoded',
    { secret: SECRET },
  );
  expect(response.status).toBe(200);
  await waitFor(() => (slack.responses.get(id)?.length ?? 0) >= count, `the reply to /kb ${text}`);
  return slack.responses.get(id)!.map((reply) => (reply as { text: string }).text);
}

/** Asks with a mention in `channel`; resolves with the final answer call's arguments as JSON. */
async function ask(channel: string, question: string): Promise<string> {
  // One asker per question: the per-user rate limit is not what this suite is about.
  return mentionAndAwaitAnswer(slack, {
    eventsURL,
    secret: SECRET,
    channel,
    user: `${MEMBER}${++questions}`,
    question,
  });
}

beforeAll(async () => {
  [backends, slack, connectors] = await Promise.all([startBackends(), startFakeSlack(), startConnectors()]);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-slack-connectors-'));
  const config = parseConfig({
    ...backends.env,
    ...connectors.env,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiURL,
    SLACK_ADMIN_USERS: ADMIN,
    RAG_DATA_DIR: dataDir,
    // The fakes are on the loopback, which /kb add refuses unless the operator allows it.
    CRAWL_ALLOW_PRIVATE: 'true',
  });
  const { logger, lines } = captureLogs();
  logLines = lines;
  bot = await composeBot(config, logger);
  adapter = createSlackAdapter({
    config: config.slack!,
    port: 0,
    conversations: bot.conversations,
    knowledge: bot.knowledge,
    logger,
  });
  await adapter.start();
  eventsURL = `http://127.0.0.1:${adapter.port}/slack/events`;
});

afterAll(async () => {
  await bot?.stop([adapter]);
  await Promise.all([backends?.close(), slack?.close(), connectors?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  backends.groq.setReply(() => 'Here is what the knowledge base says [1].');
});

describe('Slack: every connector from /kb add to /kb remove', () => {
  for (const kind of ['git', 'github', 'notion', 'confluence'] as const) {
    it(`${kind}: added, answered with its citation, re-synced after a change, removed`, async () => {
      const source = connectors.cases.find((c) => c.kind === kind)!;
      const channel = `C0${kind.toUpperCase()}`;
      const added = await kb(`add <${source.url}> ${source.collection}`, channel, 2);
      expect(added[0]).toContain(`\`${source.collection}\``);
      expect(added[1]).toMatch(/^Synced .*: 1 .* added/);
      await kb(`use ${source.collection}`, channel);

      expect(await ask(channel, source.question)).toContain(source.citation());

      await source.change();
      const record = (await bot.knowledge.sources()).find((s) => s.collection === source.collection)!;
      const synced = await kb(`sync ${record.id}`, channel, 2);
      expect(synced[1]).toMatch(/^Synced /);
      expect(await ask(channel, source.changedQuestion)).toContain(source.changedCitation());

      const [list] = await kb('list', channel);
      expect(list).toContain(`#${record.id} `);
      for (const token of Object.entries(connectors.env).filter(([name]) => /TOKEN/.test(name))) {
        expect(list).not.toContain(token[1]);
      }

      const [removed] = await kb(`remove ${record.id}`, channel);
      expect(removed).toMatch(/^Removed /);
      expect((await bot.knowledge.sources()).some((s) => s.id === record.id)).toBe(false);
      expect(await ask(channel, source.changedQuestion)).not.toContain(source.changedCitation());
    });
  }

  it('never writes a token to the logs', () => {
    const logs = logLines.join('');
    for (const [name, value] of Object.entries(connectors.env)) {
      if (/TOKEN/.test(name)) expect(logs).not.toContain(value);
    }
  });
});
