/**
 * Every connector end to end on Discord: the real discord.js client composed like `npm start`,
 * the Discord, Groq and Upstash fakes, and each connector's fake. An admin adds each source
 * with `/kb add`, scopes the channel to its collection, `/ask` answers cite it, a change
 * reaches answers after `/kb sync`, and `/kb remove` takes it away.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Bot } from '../../src/app/compose.js';
import { parseConfig } from '../../src/config.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import {
  type FakeDiscord,
  MANAGE_GUILD,
  MEMBER_PERMISSIONS,
  startFakeDiscord,
} from '../fakes/discord/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { type Connectors, startConnectors } from '../support/connectors.js';
import { discordBotOn } from '../support/discord-bot.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';

let backends: Backends;
let discord: FakeDiscord;
let connectors: Connectors;
let bot: Bot;
let adapter: PlatformAdapter;
let dataDir: string;
let askers = 0;

const ADMIN = { permissions: MEMBER_PERMISSIONS | MANAGE_GUILD, userId: '1100000000000000601' };

/** Runs `/kb <sub>` and resolves with its private replies (the edited deferral, then follow-ups). */
async function kb(sub: string, options: unknown[], replies = 1): Promise<string[]> {
  const { token } = discord.slashCommand({
    name: 'kb',
    options: [{ name: sub, type: 1, options }],
    ...ADMIN,
  });
  await waitFor(
    () => discord.ephemeral(token).filter((message) => message.content).length >= replies,
    `the reply to /kb ${sub}`,
  );
  return discord.ephemeral(token).map((message) => message.content);
}

/** `/ask` in the channel; resolves with the final answer (or refusal) as JSON. */
async function ask(question: string): Promise<string> {
  // One asker per question: the per-user rate limit is not what this suite is about.
  const { token } = discord.slashAsk({ question, userId: String(1100000000000000700n + BigInt(++askers)) });
  const done = await waitFor(
    () =>
      discord
        .callsTo('PATCH', new RegExp(`/webhooks/\\d+/${token}/messages/@original`))
        .find((call) => /feedback:up|⚠️/.test(JSON.stringify(call.body ?? {}))),
    'the answer',
  );
  return JSON.stringify(done.body ?? {});
}

beforeAll(async () => {
  [backends, discord, connectors] = await Promise.all([
    startBackends(),
    startFakeDiscord(),
    startConnectors(),
  ]);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-discord-connectors-'));
  const config = parseConfig({
    ...backends.env,
    ...connectors.env,
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiURL,
    RAG_DATA_DIR: dataDir,
    // The fakes are on the loopback, which /kb add refuses unless the operator allows it.
    CRAWL_ALLOW_PRIVATE: 'true',
    // Each server is a tenant: this one may add what the bot's own tokens read.
    KB_CREDENTIALED_TENANTS: discord.guildId,
  });
  const { logger } = captureLogs();
  ({ bot, adapter } = await discordBotOn(discord, config, logger));
});

afterAll(async () => {
  await bot?.stop([adapter]);
  await Promise.all([backends?.close(), discord?.close(), connectors?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  backends.groq.setReply(() => 'Here is what the knowledge base says [1].');
});

describe('Discord: every connector from /kb add to /kb remove', () => {
  for (const kind of ['git', 'github', 'notion', 'confluence'] as const) {
    it(`${kind}: added, answered with its citation, re-synced after a change, removed`, async () => {
      const source = connectors.cases.find((c) => c.kind === kind)!;
      const added = await kb(
        'add',
        [
          { name: 'url', type: 3, value: source.url },
          { name: 'collection', type: 3, value: source.collection },
        ],
        2,
      );
      expect(added[0]).toContain(`\`${source.collection}\``);
      expect(added[1]).toMatch(/^Synced .*: 1 .* added/);
      const [used] = await kb('use', [{ name: 'collections', type: 3, value: source.collection }]);
      expect(used).toContain(`now reads \`${source.collection}\``);

      expect(await ask(source.question)).toContain(source.citation());

      await source.change();
      const record = (await bot.knowledge.sources()).find((s) => s.collection === source.collection)!;
      const synced = await kb('sync', [{ name: 'source', type: 3, value: String(record.id) }], 2);
      expect(synced[1]).toMatch(/^Synced /);
      expect(await ask(source.changedQuestion)).toContain(source.changedCitation());

      const [removed] = await kb('remove', [{ name: 'source', type: 3, value: String(record.id) }]);
      expect(removed).toMatch(/^Removed /);
      expect(await ask(source.changedQuestion)).not.toContain(source.changedCitation());
    });
  }
});
