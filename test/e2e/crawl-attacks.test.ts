/**
 * Attacks on the crawler, performed on the real paths: `/kb` through the real Bolt app composed
 * like `npm start` against the Slack fake, and `npm run ingest` as a child process, both
 * crawling the loopback docs site.
 *
 * - DNS rebinding: a chat-added site whose name answers the check with a public address and the
 *   connection with 127.0.0.1 must never be requested (issue 17 item 6).
 * - One page that stalls halfway through its body fails alone; the other pages land (item 7).
 * - `/kb remove` during a sync cancels it, and nothing of the removed site survives, not even
 *   the page the sync was fetching when the removal began (item 8).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bot, composeBot } from '../../src/app/compose.js';
import { parseConfig } from '../../src/config.js';
import { strings } from '../../src/conversation/strings.js';
import { parsePool } from '../../src/ingest/parse-pool.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import { type FakeDocsSite, startFakeDocsSite } from '../fakes/docs-site/index.js';
import { type FakeSlack, sendToBolt, slashCommandBody, startFakeSlack } from '../fakes/slack/index.js';
import { installRebindingDns } from '../support/fake-dns.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';
import { runCli } from './cli.js';

const SECRET = 'slack-signing-secret-for-crawl-tests';
const ADMIN = 'UADMIN';
const dirs: string[] = [];
let slack: FakeSlack;

beforeAll(async () => {
  slack = await startFakeSlack();
  slack.makeAdmin(ADMIN);
});
afterAll(async () => {
  await slack.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

interface Running {
  readonly bot: Bot;
  /** Runs `/kb <text>` as the admin; resolves with the replies so far and a wait for more. */
  kb(text: string, channel?: string): Promise<{ first: string; later(): Promise<string> }>;
  stop(): Promise<void>;
}

let commands = 0;
async function startBot(env: Record<string, string>): Promise<Running> {
  const dataDir = await tempDir('rag-crawl-attacks-');
  const config = parseConfig({
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiURL,
    RAG_DATA_DIR: dataDir,
    RAG_KNOWLEDGE_DIR: join(dataDir, 'no-knowledge'),
    CRAWL_DELAY_MS: '0',
    ...env,
  });
  const { logger } = captureLogs();
  const bot = await composeBot(config, logger);
  const adapter: SlackAdapter = createSlackAdapter({
    config: config.slack!,
    port: 0,
    conversations: bot.conversations,
    knowledge: bot.knowledge,
    logger,
  });
  await adapter.start();
  const eventsURL = `http://127.0.0.1:${adapter.port}/slack/events`;
  return {
    bot,
    async kb(text, channel = 'C0DOCS') {
      const id = `crawl-kb${++commands}`;
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
      const reply = (n: number) =>
        waitFor(
          () => (slack.responses.get(id)?.[n] as { text?: string } | undefined)?.text,
          `reply ${n + 1} to /kb ${text}`,
        );
      return { first: await reply(0), later: () => reply(1) };
    },
    stop: () => bot.stop([adapter]),
  };
}

const passages = async (bot: Bot, collection: string) =>
  (await bot.runtime.store.collections()).get(collection) ?? 0;

describe('the crawler under attack', () => {
  let site: FakeDocsSite;
  beforeAll(async () => {
    site = await startFakeDocsSite();
  });
  afterAll(() => site.close());

  it('DNS rebinding: a chat-added site whose name rebinds to 127.0.0.1 is never requested, on any request', async () => {
    const name = 'docs.rebind.test';
    const dns = installRebindingDns(name);
    const running = await startBot({});
    try {
      site.clearRequests();
      const added = await running.kb(`add http://${name}:${site.port}/docs/ rebind`);
      // The name's check answers a public address, so the site is accepted…
      expect(added.first).toContain('`rebind`');
      const summary = await added.later();
      // …but every connection resolves it once more, sees 127.0.0.1 and is refused.
      expect(summary).toMatch(/no page could be fetched|failed/i);
      expect(summary).toContain('private or local address');
      expect(site.requests).toEqual([]);
      expect(dns.lookups.some((lookup) => lookup.api === 'connect')).toBe(true);
      expect(await passages(running.bot, 'rebind')).toBe(0);
    } finally {
      dns.restore();
      await running.stop();
    }
  });

  it('/kb remove during a sync cancels it: nothing of the site survives, not even the page being fetched', async () => {
    const running = await startBot({ CRAWL_ALLOW_PRIVATE: 'true', CRAWL_CONCURRENCY: '1' });
    try {
      site.setPage('/docs/slow.html', 'Slow page', 'The zyxwv setting lives on the slow page.');
      const hold = site.holdPage('/docs/slow.html');
      const added = await running.kb(`add ${site.url}/docs/ removed-site`);
      expect(added.first).toContain('`removed-site`');
      // The sync is under way: the other pages are fetched, the slow one is being waited for.
      await hold.requested;
      const removed = await running.kb(`remove ${site.url}/docs/`);
      expect(removed.first).toContain('Removed');
      // The site answers the page the sync was waiting for, after the removal.
      hold.release();
      const summary = await added.later();
      expect(summary).toBe(strings.kb.syncCancelled(`${site.url}/docs/`));
      expect(await passages(running.bot, 'removed-site')).toBe(0);
      const search = await running.bot.runtime.store.search('zyxwv setting slow page', {
        topK: 3,
        collections: ['removed-site'],
      });
      expect(search).toEqual([]);
      expect((await running.kb('list')).first).not.toContain(site.url);
      expect(await running.bot.knowledge.registry.pages(1)).toEqual([]);
    } finally {
      site.removePage('/docs/slow.html');
      await running.stop();
    }
  });

  it('stopping the bot ends the parser processes its sync used: none outlives it', async () => {
    const running = await startBot({ CRAWL_ALLOW_PRIVATE: 'true' });
    let stopped = false;
    try {
      const added = await running.kb(`add ${site.url}/docs/ parsed-site`);
      expect(added.first).toContain('`parsed-site`');
      await added.later();
      expect(await passages(running.bot, 'parsed-site')).toBeGreaterThan(0);
      // The pages were parsed in parser processes, which stay a while for the next document…
      expect(parsePool().workers).toBeGreaterThan(0);
      await running.stop();
      stopped = true;
      // …but not past the bot's stop.
      expect(parsePool().workers).toBe(0);
    } finally {
      if (!stopped) await running.stop();
    }
  });
});

describe('npm run ingest of a site where one page stalls mid-body', () => {
  it('lists the stalled page as failed and keeps the 19 others', async () => {
    const site = await startFakeDocsSite();
    try {
      for (let i = 1; i <= 17; i++) {
        const n = String(i).padStart(2, '0');
        site.setPage(`/docs/page-${n}.html`, `Page ${n}`, `Page ${n} explains the setting number ${n}.`);
      }
      site.stallPage('/docs/page-07.html');
      const dataDir = await tempDir('rag-crawl-stall-');
      const result = await runCli('src/cli/ingest.ts', [`${site.url}/docs/`, '--collection', 'docs'], {
        env: {
          RAG_DATA_DIR: dataDir,
          RAG_KNOWLEDGE_DIR: join(dataDir, 'no-knowledge'),
          CRAWL_DELAY_MS: '0',
          CRAWL_PAGE_TIMEOUT_MS: '1500',
        },
        timeoutMs: 60_000,
      });
      expect(result.stdout).toMatch(/added\s+19\b/);
      expect(result.stdout).toMatch(/failed\s+1\b/);
      expect(result.stdout).toContain(`${site.url}/docs/page-07.html: timed out`);
      // Exit 1: something failed, and said so; the rest landed.
      expect(result.code).toBe(1);
      // The operator removes a source from the command line as /kb remove does from a chat.
      const removed = await runCli('src/cli/ingest.ts', ['--remove', '1'], {
        env: { RAG_DATA_DIR: dataDir, RAG_KNOWLEDGE_DIR: join(dataDir, 'no-knowledge') },
      });
      expect(removed.stdout).toContain(
        `Removed ${site.url}/docs/ (source #1, collection docs) and its 19 page(s).`,
      );
      expect(removed.code).toBe(0);
    } finally {
      await site.close();
    }
  });
});
