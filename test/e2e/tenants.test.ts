/**
 * Tenants, end to end: one bot installed by OAuth in two Slack workspaces (Bolt's real receiver
 * and OAuth flow against the Slack fake), composed like `npm start`, with no KNOWLEDGE_ROUTES;
 * and one bot in two Discord servers. Each workspace and server has its own knowledge: a thread
 * saved in Alpha is never quoted to Beta, and Beta's admins can neither list nor remove, sync or
 * use what Alpha added (issue 17 item 10). Two workspaces racing `/kb add` into one new
 * collection: exactly one gets it (item 9).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bot, composeBot } from '../../src/app/compose.js';
import { parseConfig } from '../../src/config.js';
import { createDiscordAdapter } from '../../src/platforms/discord/index.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import { openInstallationStore } from '../../src/platforms/slack/installations.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import {
  type FakeDiscord,
  MANAGE_GUILD,
  MEMBER_PERMISSIONS,
  startFakeDiscord,
} from '../fakes/discord/index.js';
import { type FakeDocsSite, startFakeDocsSite } from '../fakes/docs-site/index.js';
import {
  eventEnvelope,
  type FakeSlack,
  messageShortcutBody,
  sendToBolt,
  slashCommandBody,
  startFakeSlack,
} from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { discordBotOn } from '../support/discord-bot.js';
import { captureLogs } from '../support/logs.js';
import { mentionAndAwaitAnswer } from '../support/slack-answers.js';
import { waitFor } from '../support/wait.js';

const SIGNING_SECRET = 'slack-signing-secret-for-tenant-tests';
const CLIENT_ID = '1111111111.3333333333';
const CLIENT_SECRET = 'client-secret-for-tenant-tests';
const STATE_SECRET = 'state-secret-for-tenant-tests-0123456789';
const KEY = Buffer.alloc(32, 5).toString('base64');
const ALPHA = { teamId: 'T0ALPHA', teamName: 'Alpha', botUserId: 'UBOTALPHA', botId: 'BBOTALPHA' };
const BETA = { teamId: 'T0BETA', teamName: 'Beta', botUserId: 'UBOTBETA', botId: 'BBOTBETA' };
const ALPHA_ADMIN = 'UALPHAADMIN';
const BETA_ADMIN = 'UBETAADMIN';

const dirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The operator's own shared documents, ingested into `default`, read by every tenant. */
async function operatorKnowledge(): Promise<string> {
  const dir = await tempDir('rag-tenants-knowledge-');
  await writeFile(
    join(dir, 'shared.md'),
    '# Office hours\n\nThe support desk of the company answers from nine to five on weekdays.\n',
  );
  return dir;
}

describe('Slack installed in two workspaces (OAuth), no KNOWLEDGE_ROUTES', () => {
  let slack: FakeSlack;
  let site: FakeDocsSite;
  let backends: Backends;
  let bot: Bot;
  let adapter: SlackAdapter;
  let base: string;
  let commands = 0;

  const stateCookie = (response: Response) =>
    /slack-app-oauth-state=([^;]+)/.exec(response.headers.get('set-cookie') ?? '')?.[1];
  async function install(teamId: string): Promise<void> {
    const start = await fetch(`${base}/slack/install`, { redirect: 'manual' });
    const cookie = stateCookie(start);
    slack.oauth!.approveAs(teamId);
    const approved = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const done = await fetch(approved.headers.get('location')!, {
      redirect: 'manual',
      headers: { cookie: `slack-app-oauth-state=${cookie}` },
    });
    expect(done.status).toBe(200);
  }

  /** `/kb <text>` in a workspace; resolves with the first private reply and a wait for the next. */
  async function kb(team: string, user: string, channel: string, text: string) {
    const id = `tenant-kb${++commands}`;
    const response = await sendToBolt(
      `${base}/slack/events`,
      slashCommandBody({
        command: '/kb',
        text,
        user_id: user,
        channel_id: channel,
        team_id: team,
        response_url: slack.responseURL(id),
      }),
      'application/x-www-form-urlencoded',
      { secret: SIGNING_SECRET },
    );
    expect(response.status).toBe(200);
    const reply = (n: number) =>
      waitFor(
        () => (slack.responses.get(id)?.[n] as { text?: string } | undefined)?.text,
        `reply ${n + 1} to /kb ${text}`,
      );
    return { first: await reply(0), later: () => reply(1) };
  }

  /** Asks with a mention; resolves with the final answer's arguments as JSON. */
  async function ask(workspace: typeof ALPHA, channel: string, question: string): Promise<string> {
    return mentionAndAwaitAnswer(slack, {
      eventsURL: `${base}/slack/events`,
      secret: SIGNING_SECRET,
      channel,
      user: 'U0ASKER',
      question,
      botUserId: workspace.botUserId,
      teamId: workspace.teamId,
    });
  }

  beforeAll(async () => {
    [slack, site, backends] = await Promise.all([
      startFakeSlack({
        oauth: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, workspaces: [ALPHA, BETA] },
      }),
      startFakeDocsSite(),
      startBackends(),
    ]);
    backends.groq.setReply(() => 'Here is what the knowledge base says [1].');
    const dataDir = await tempDir('rag-tenants-slack-');
    // Upstash (the fake, holding the sample knowledge in `default`) and Groq, as in production.
    const config = parseConfig({
      ...backends.env,
      SLACK_CLIENT_ID: CLIENT_ID,
      SLACK_CLIENT_SECRET: CLIENT_SECRET,
      SLACK_STATE_SECRET: STATE_SECRET,
      SLACK_INSTALLATION_KEY: KEY,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiURL,
      RAG_DATA_DIR: dataDir,
      CRAWL_DELAY_MS: '0',
      CRAWL_ALLOW_PRIVATE: 'true',
    });
    const { logger } = captureLogs();
    bot = await composeBot(config, logger);
    adapter = createSlackAdapter({
      config: config.slack!,
      port: 0,
      conversations: bot.conversations,
      knowledge: bot.knowledge,
      installations: await openInstallationStore({
        installationKey: config.slack!.oauth!.installationKey,
        appDatabase: () => bot.appDatabase(),
      }),
      logger,
    });
    await adapter.start();
    base = `http://127.0.0.1:${adapter.port}`;
    slack.oauth!.redirectUrl = `${base}/slack/oauth_redirect`;
    await install(ALPHA.teamId);
    await install(BETA.teamId);
    slack.makeAdmin(ALPHA_ADMIN);
    slack.makeAdmin(BETA_ADMIN);
  });
  afterAll(async () => {
    await bot?.stop([adapter]);
    await Promise.all([slack?.close(), site?.close(), backends?.close()]);
  });

  it('a thread saved in Alpha is answered in Alpha and never quoted to Beta; the operator’s shared documents reach both', async () => {
    const root = slack.addUserMessage('CALPHA', 'U0ALICE', 'How do I reset the zorblax on the widget?');
    slack.addUserMessage('CALPHA', 'U0HELPER', 'Hold the blue button of the zorblax for ten seconds.', root);
    await sendToBolt(
      `${base}/slack/events`,
      messageShortcutBody({
        callback_id: 'save_to_knowledge',
        user_id: ALPHA_ADMIN,
        channel_id: 'CALPHA',
        team_id: ALPHA.teamId,
        message: { ts: root, text: 'How do I reset the zorblax on the widget?', user: 'U0ALICE' },
        response_url: slack.responseURL('tenant-save'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SIGNING_SECRET },
    );
    await waitFor(
      () => slack.callsTo('chat.postEphemeral').find((call) => call.args.user === ALPHA_ADMIN),
      'the saved confirmation',
    );
    const inAlpha = await ask(ALPHA, 'CALPHA2', 'How do I reset the zorblax?');
    // Answers end with their sources: Alpha's cites the saved thread, Beta's never does.
    expect(inAlpha).toContain(slack.permalink('CALPHA', root));
    const inBeta = await ask(BETA, 'CBETA', 'How do I reset the zorblax?');
    expect(inBeta).not.toContain('Saved thread');
    expect(inBeta).not.toContain(slack.permalink('CALPHA', root));
    // The operator's documents (npm run ingest into default) stay readable by every workspace.
    expect(await ask(BETA, 'CBETA2', 'How do I add the bot to Slack?')).toContain('Sources');
  });

  it('Beta’s admin can neither list, sync, remove nor use what Alpha’s admin added', async () => {
    const added = await kb(ALPHA.teamId, ALPHA_ADMIN, 'CALPHA', `add ${site.url}/docs/`);
    expect(added.first).toContain('Adding');
    expect(await added.later()).toContain('3 page(s) added');
    expect((await kb(ALPHA.teamId, ALPHA_ADMIN, 'CALPHA', 'list')).first).toContain(site.url);

    expect((await kb(BETA.teamId, BETA_ADMIN, 'CBETA', 'list')).first).not.toContain(site.url);
    expect((await kb(BETA.teamId, BETA_ADMIN, 'CBETA', 'status')).first).not.toContain(site.url);
    expect((await kb(BETA.teamId, BETA_ADMIN, 'CBETA', `remove ${site.url}/docs/`)).first).toContain(
      'There is no source',
    );
    expect((await kb(BETA.teamId, BETA_ADMIN, 'CBETA', 'remove 1')).first).toContain('There is no source');
    expect((await kb(BETA.teamId, BETA_ADMIN, 'CBETA', 'sync 1')).first).toContain('There is no source');
    const alphaOwn = (
      await bot.knowledge.collectionsFor({
        platform: 'slack',
        channelId: 'CALPHA',
        workspaceId: ALPHA.teamId,
      })
    )[0]!;
    expect((await kb(BETA.teamId, BETA_ADMIN, 'CBETA', `use ${alphaOwn}`)).first).toContain('That didn');
    // Still there for Alpha, and Beta's answers never cite it.
    expect(await bot.knowledge.sources()).toHaveLength(1);
    expect(await ask(BETA, 'CBETA3', 'How do I install the widget with frob?')).not.toContain(site.url);
    expect(await ask(ALPHA, 'CALPHA3', 'How do I install the widget with frob?')).toContain(site.url);
  });

  it('a mention from a channel shared with another organisation reads the workspace Bolt authorised (authorizations), not the envelope’s team', async () => {
    const text = `<@${ALPHA.botUserId}> How do I reset the zorblax?`;
    const ts = slack.addUserMessage('CSHARED', 'U0PARTNER', text);
    const envelope = JSON.parse(
      eventEnvelope({ type: 'app_mention', user: 'U0PARTNER', text, ts, channel: 'CSHARED' }, ALPHA.teamId),
    ) as Record<string, unknown>;
    await sendToBolt(
      `${base}/slack/events`,
      JSON.stringify({ ...envelope, team_id: 'T0PARTNER' }),
      'application/json',
      { secret: SIGNING_SECRET },
    );
    const end = await waitFor(
      () =>
        slack.calls.find(
          (call) =>
            call.args.channel === 'CSHARED' &&
            /stopStream|update|postMessage/.test(call.method) &&
            /feedback_up|:warning:/.test(JSON.stringify(call.args)),
        ),
      'the answer in the shared channel',
    );
    expect(JSON.stringify(end.args)).toContain('Saved thread');
  });

  it('two workspaces racing /kb add into one new collection: exactly one gets it', async () => {
    // Both commands are checking the store's collections at the same moment.
    backends.upstash.gate('info', 2);
    const [alpha, beta] = await Promise.all([
      kb(ALPHA.teamId, ALPHA_ADMIN, 'CALPHA', `add ${site.url}/docs/install.html contested`),
      kb(BETA.teamId, BETA_ADMIN, 'CBETA', `add ${site.url}/docs/billing.html contested`),
    ]);
    const replies = [alpha.first, beta.first];
    expect(replies.filter((reply) => reply.startsWith('Adding'))).toHaveLength(1);
    expect(replies.filter((reply) => reply.includes('belongs to another workspace'))).toHaveLength(1);
    const contested = (await bot.knowledge.sources()).filter((source) => source.collection === 'contested');
    expect(contested).toHaveLength(1);
    await (alpha.first.startsWith('Adding') ? alpha : beta).later();
  });
});

describe('Discord: one bot in two servers', () => {
  let discord: FakeDiscord;
  let site: FakeDocsSite;
  let bot: Bot;
  let adapter: PlatformAdapter;
  const ADMIN = { permissions: MEMBER_PERMISSIONS | MANAGE_GUILD, userId: '1100000000000000701' };

  async function kb(sub: string, options: unknown[], context: 'guild' | 'foreign_guild', replies = 1) {
    const { token } = discord.slashCommand({
      name: 'kb',
      options: [{ name: sub, type: 1, options }],
      ...ADMIN,
      context,
    });
    await waitFor(
      () => discord.ephemeral(token).filter((message) => message.content).length >= replies,
      `the reply to /kb ${sub}`,
    );
    return discord.ephemeral(token).map((message) => message.content ?? '');
  }

  beforeAll(async () => {
    [discord, site] = await Promise.all([startFakeDiscord(), startFakeDocsSite()]);
    const dataDir = await tempDir('rag-tenants-discord-');
    const config = parseConfig({
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiURL,
      RAG_DATA_DIR: dataDir,
      RAG_KNOWLEDGE_DIR: await operatorKnowledge(),
      CRAWL_DELAY_MS: '0',
      CRAWL_ALLOW_PRIVATE: 'true',
    });
    const { logger } = captureLogs();
    ({ bot, adapter } = await discordBotOn(discord, config, logger));
  });
  afterAll(async () => {
    await bot?.stop([adapter]);
    await Promise.all([discord?.close(), site?.close()]);
  });

  it('a site one server added is neither listed to, removable by, nor answered in the other', async () => {
    const added = await kb('add', [{ name: 'url', type: 3, value: `${site.url}/docs/` }], 'guild', 2);
    expect(added[0]).toContain('Adding');
    expect(added[1]).toContain('3 page(s) added');
    expect((await kb('list', [], 'guild'))[0]).toContain(site.url);
    expect((await kb('list', [], 'foreign_guild'))[0]).not.toContain(site.url);
    expect((await kb('remove', [{ name: 'source', type: 3, value: '1' }], 'foreign_guild'))[0]).toContain(
      'There is no source',
    );
    expect(await bot.knowledge.sources()).toHaveLength(1);
    const other = { platform: 'discord', channelId: '1', workspaceId: discord.guildId.replace(/2$/, '9') };
    const collections = await bot.knowledge.collectionsFor(other);
    const found = await bot.runtime.store.search('install the widget frobnicator', { topK: 3, collections });
    expect(found.map((passage) => passage.url ?? '')).not.toEqual(
      expect.arrayContaining([expect.stringContaining(site.url)]),
    );
  });
});

describe('Slack by bot token (one workspace) beside Discord', () => {
  let slack: FakeSlack;
  let discord: FakeDiscord;
  let bot: Bot;
  let slackAdapter: SlackAdapter;
  let discordAdapter: PlatformAdapter;
  let base: string;
  const SLACK_ADMIN = 'U0ACMEADMIN';
  const DISCORD_ADMIN = { permissions: MEMBER_PERMISSIONS | MANAGE_GUILD, userId: '1100000000000000702' };

  async function discordKb(sub: string, options: unknown[]) {
    const { token } = discord.slashCommand({
      name: 'kb',
      options: [{ name: sub, type: 1, options }],
      ...DISCORD_ADMIN,
    });
    await waitFor(
      () => discord.ephemeral(token).some((message) => message.content),
      `the reply to /kb ${sub}`,
    );
    return discord.ephemeral(token).find((message) => message.content)?.content ?? '';
  }

  async function slackKb(text: string, id: string) {
    await sendToBolt(
      `${base}/slack/events`,
      slashCommandBody({
        command: '/kb',
        text,
        user_id: SLACK_ADMIN,
        channel_id: 'C0HR',
        team_id: slack.teamId,
        response_url: slack.responseURL(id),
      }),
      'application/x-www-form-urlencoded',
      { secret: SIGNING_SECRET },
    );
    return waitFor(
      () => (slack.responses.get(id)?.[0] as { text?: string } | undefined)?.text,
      `/kb ${text}`,
    );
  }

  beforeAll(async () => {
    [slack, discord] = await Promise.all([startFakeSlack(), startFakeDiscord()]);
    const dataDir = await tempDir('rag-tenants-mixed-');
    const config = parseConfig({
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiURL,
      SLACK_ADMIN_USERS: SLACK_ADMIN,
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiURL,
      RAG_DATA_DIR: dataDir,
      RAG_KNOWLEDGE_DIR: await operatorKnowledge(),
    });
    const { logger } = captureLogs();
    bot = await composeBot(config, logger);
    slackAdapter = createSlackAdapter({
      config: config.slack!,
      port: 0,
      conversations: bot.conversations,
      knowledge: bot.knowledge,
      logger,
    });
    discordAdapter = createDiscordAdapter({
      config: config.discord!,
      conversations: bot.conversations,
      knowledge: bot.knowledge,
      logger,
      editIntervalMs: 0,
    });
    const ready = discord.waitForReady();
    await Promise.all([slackAdapter.start(), discordAdapter.start()]);
    await ready;
    base = `http://127.0.0.1:${slackAdapter.port}`;
  });
  afterAll(async () => {
    await bot?.stop([slackAdapter, discordAdapter]);
    await Promise.all([slack?.close(), discord?.close()]);
  });

  it('a Slack thread saved into the channel’s collection is the workspace’s: no Discord server may use or read it', async () => {
    expect(await slackKb('use hr-threads', 'mixed-use')).toContain('hr-threads');
    const root = slack.addUserMessage('C0HR', 'U0ALICE', 'What are the salary bands for the zorblax team?');
    slack.addUserMessage('C0HR', 'U0HELPER', 'Band 3 of the zorblax team is 120k.', root);
    await sendToBolt(
      `${base}/slack/events`,
      messageShortcutBody({
        callback_id: 'save_to_knowledge',
        user_id: SLACK_ADMIN,
        channel_id: 'C0HR',
        team_id: slack.teamId,
        message: { ts: root, text: 'What are the salary bands for the zorblax team?', user: 'U0ALICE' },
        response_url: slack.responseURL('mixed-save'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SIGNING_SECRET },
    );
    const saved = await waitFor(
      () => slack.callsTo('chat.postEphemeral').find((call) => call.args.user === SLACK_ADMIN),
      'the saved confirmation',
    );
    expect(String(saved.args.text)).toContain('hr-threads');
    expect(await discordKb('use', [{ name: 'collections', type: 3, value: 'hr-threads' }])).toContain(
      'belongs to another',
    );
    expect(await discordKb('status', [])).not.toContain('hr-threads');
    const server = { platform: 'discord', channelId: discord.channelId, workspaceId: discord.guildId };
    const read = await bot.knowledge.collectionsFor(server);
    const found = await bot.runtime.store.search('salary bands zorblax team', { topK: 3, collections: read });
    expect(found.map((passage) => passage.text).join('\n')).not.toContain('120k');
  });

  it('a thread saved in a Slack channel nothing routes lands in the workspace’s own collection, not in default', async () => {
    const root = slack.addUserMessage('C0PLAIN', 'U0ALICE', 'Where is the quokka budget kept?');
    slack.addUserMessage('C0PLAIN', 'U0HELPER', 'The quokka budget is in the vault.', root);
    await sendToBolt(
      `${base}/slack/events`,
      messageShortcutBody({
        callback_id: 'save_to_knowledge',
        user_id: SLACK_ADMIN,
        channel_id: 'C0PLAIN',
        team_id: slack.teamId,
        message: { ts: root, text: 'Where is the quokka budget kept?', user: 'U0ALICE' },
        response_url: slack.responseURL('mixed-save-2'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SIGNING_SECRET },
    );
    const saved = await waitFor(
      () =>
        slack
          .callsTo('chat.postEphemeral')
          .find((call) => call.args.user === SLACK_ADMIN && call.args.channel === 'C0PLAIN'),
      'the saved confirmation',
    );
    expect(String(saved.args.text)).toContain(`slack-${slack.teamId.toLowerCase()}`);
    const inDefault = await bot.runtime.store.search('quokka budget', { topK: 3, collections: ['default'] });
    expect(inDefault.map((passage) => passage.text).join('\n')).not.toContain('vault');
  });

  it('in a channel shared with another organisation (Slack Connect), the workspace is the one Bolt authorised, not the payload’s', async () => {
    const root = slack.addUserMessage('C0SHARED', 'U0PARTNER', 'When does the wombat release ship?');
    slack.addUserMessage('C0SHARED', 'U0HELPER', 'The wombat release ships on Friday.', root);
    await sendToBolt(
      `${base}/slack/events`,
      messageShortcutBody({
        callback_id: 'save_to_knowledge',
        user_id: SLACK_ADMIN,
        channel_id: 'C0SHARED',
        team_id: 'T0PARTNER',
        message: { ts: root, text: 'When does the wombat release ship?', user: 'U0PARTNER' },
        response_url: slack.responseURL('mixed-save-3'),
      }),
      'application/x-www-form-urlencoded',
      { secret: SIGNING_SECRET },
    );
    const saved = await waitFor(
      () =>
        slack
          .callsTo('chat.postEphemeral')
          .find((call) => call.args.user === SLACK_ADMIN && call.args.channel === 'C0SHARED'),
      'the saved confirmation',
    );
    expect(String(saved.args.text)).toContain(`slack-${slack.teamId.toLowerCase()}`);
    expect(String(saved.args.text)).not.toContain('t0partner');
    const id = 'mixed-status';
    await sendToBolt(
      `${base}/slack/events`,
      slashCommandBody({
        command: '/kb',
        text: 'status',
        user_id: SLACK_ADMIN,
        channel_id: 'C0SHARED',
        team_id: 'T0PARTNER',
        response_url: slack.responseURL(id),
      }),
      'application/x-www-form-urlencoded',
      { secret: SIGNING_SECRET },
    );
    const status = await waitFor(
      () => (slack.responses.get(id)?.[0] as { text?: string } | undefined)?.text,
      '/kb status',
    );
    expect(status).toContain(`This channel reads: \`slack-${slack.teamId.toLowerCase()}\``);
  });
});
