/**
 * `/kb settings`, end to end: the hand-off group (Slack) or role (Discord) and the digest
 * channel each workspace or server chooses from the chat, checked against the platform (the
 * fakes answer usergroups.list, conversations.info and Discord's roles and permissions as the
 * services do), kept with the tenant, shown in `/kb status` and the Home tab, and used by
 * "Ask a human" and the digest: one bot installed by OAuth in two Slack workspaces, and one in
 * a Discord server, composed like `npm start`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bot, composeBot } from '../../src/app/compose.js';
import { parseConfig } from '../../src/config.js';
import { strings } from '../../src/conversation/strings.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import { openInstallationStore, type SlackInstallations } from '../../src/platforms/slack/installations.js';
import type { PlatformAdapter } from '../../src/platforms/types.js';
import { digestFromConfig } from '../../src/records/digest-setup.js';
import {
  type FakeDiscord,
  MANAGE_GUILD,
  MEMBER_PERMISSIONS,
  startFakeDiscord,
} from '../fakes/discord/index.js';
import {
  blockActionBody,
  eventEnvelope,
  type FakeSlack,
  sendToBolt,
  slashCommandBody,
  startFakeSlack,
} from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { discordBotOn } from '../support/discord-bot.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';

const SIGNING_SECRET = 'slack-signing-secret-for-settings-tests';
const CLIENT_ID = '1111111111.4444444444';
const STATE_SECRET = 'state-secret-for-settings-tests-0123456789';
const ALPHA = { teamId: 'T0ALPHA', teamName: 'Alpha', botUserId: 'UBOTALPHA', botId: 'BBOTALPHA' };
const BETA = { teamId: 'T0BETA', teamName: 'Beta', botUserId: 'UBOTBETA', botId: 'BBOTBETA' };
const ADMIN = 'U0ADMIN';
const DAY_MS = 24 * 60 * 60 * 1000;

/** A clock just past the next 09:00 UTC: the daily digest then covers what the test asked. */
function afterNextPosting(): number {
  const now = new Date();
  let at = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 9);
  if (at <= now.getTime()) at += DAY_MS;
  return at + 60_000;
}

const dirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('Slack: /kb settings per workspace (installed by OAuth in two)', () => {
  let slack: FakeSlack;
  let backends: Backends;
  let bot: Bot;
  let adapter: SlackAdapter;
  let installations: SlackInstallations;
  let base: string;
  let config: ReturnType<typeof parseConfig>;
  let commands = 0;
  let alphaGroup = '';

  async function install(teamId: string): Promise<void> {
    const start = await fetch(`${base}/slack/install`, { redirect: 'manual' });
    const cookie = /slack-app-oauth-state=([^;]+)/.exec(start.headers.get('set-cookie') ?? '')?.[1];
    slack.oauth!.approveAs(teamId);
    const approved = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const done = await fetch(approved.headers.get('location')!, {
      redirect: 'manual',
      headers: { cookie: `slack-app-oauth-state=${cookie}` },
    });
    expect(done.status).toBe(200);
  }

  /** `/kb <text>` in a workspace, as Slack sends it with escaping on; the private reply. */
  async function kb(team: string, text: string, user = ADMIN, channel = 'C0ADMIN'): Promise<string> {
    const id = `settings-kb${++commands}`;
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
    return waitFor(
      () => (slack.responses.get(id)?.[0] as { text?: string } | undefined)?.text,
      `the reply to /kb ${text}`,
    );
  }

  /** A mention answered in its thread; the final write's arguments as JSON and the question id. */
  async function ask(workspace: typeof ALPHA, channel: string) {
    const text = `<@${workspace.botUserId}> How do I add the bot to Slack?`;
    const ts = slack.addUserMessage(channel, 'U0ASKER', text);
    await sendToBolt(
      `${base}/slack/events`,
      eventEnvelope({ type: 'app_mention', user: 'U0ASKER', text, ts, channel }, workspace.teamId),
      'application/json',
      { secret: SIGNING_SECRET },
    );
    const end = await waitFor(
      () =>
        slack.calls.find(
          (call) =>
            call.args.channel === channel &&
            /stopStream|update/.test(call.method) &&
            JSON.stringify(call.args).includes('feedback_up'),
        ),
      `the answer in ${channel}`,
    );
    const body = JSON.stringify(end.args);
    return { root: ts, ts: String(end.args.ts), body, questionId: /"value":"([^"]+)"/.exec(body)?.[1] ?? '' };
  }

  beforeAll(async () => {
    [slack, backends] = await Promise.all([
      startFakeSlack({
        oauth: { clientId: CLIENT_ID, clientSecret: 'client-secret', workspaces: [ALPHA, BETA] },
      }),
      startBackends(),
    ]);
    const dataDir = await tempDir('rag-settings-slack-');
    config = parseConfig({
      ...backends.env,
      SLACK_CLIENT_ID: CLIENT_ID,
      SLACK_CLIENT_SECRET: 'client-secret',
      SLACK_STATE_SECRET: STATE_SECRET,
      SLACK_INSTALLATION_KEY: Buffer.alloc(32, 7).toString('base64'),
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiURL,
      RAG_DATA_DIR: dataDir,
      DIGEST_SCHEDULE: 'daily',
    });
    const { logger } = captureLogs();
    bot = await composeBot(config, logger);
    installations = await openInstallationStore({
      installationKey: config.slack!.oauth!.installationKey,
      appDatabase: () => bot.appDatabase(),
    });
    adapter = createSlackAdapter({
      config: config.slack!,
      port: 0,
      conversations: bot.conversations,
      knowledge: bot.knowledge,
      installations,
      tenants: bot.tenantSettings,
      logger,
    });
    await adapter.start();
    base = `http://127.0.0.1:${adapter.port}`;
    slack.oauth!.redirectUrl = `${base}/slack/oauth_redirect`;
    await install(ALPHA.teamId);
    await install(BETA.teamId);
    slack.makeAdmin(ADMIN);
    alphaGroup = slack.addUserGroup('alpha-support', { teamId: ALPHA.teamId });
    slack.addUserGroup('alpha-sales', { teamId: ALPHA.teamId });
    slack.addUserGroup('beta-help', { teamId: BETA.teamId });
    slack.addUserGroup('old-team', { teamId: ALPHA.teamId, disabled: true });
    slack.excludeBotFrom('C0NOTIN');
    slack.setChannelKind('C0PARTNER', 'shared');
  });
  afterAll(async () => {
    await bot?.stop([adapter]);
    await Promise.all([slack?.close(), backends?.close()]);
  });

  it('shows that nothing is set, and refuses anyone but an admin', async () => {
    const shown = await kb(ALPHA.teamId, 'settings');
    expect(shown).toContain('Ask a human: not set');
    expect(shown).toContain('Digest: not set');
    expect(await kb(ALPHA.teamId, 'settings handoff alpha-support', 'U0MEMBER')).toBe(strings.kb.notAdmin);
  });

  it('offers no "Ask a human" where no group is set', async () => {
    const answer = await ask(ALPHA, 'C0BEFORE');
    expect(answer.body).not.toContain('ask_a_human');
  });

  it('explains each group it cannot use, and sets one the workspace has', async () => {
    const unknown = await kb(ALPHA.teamId, 'settings handoff @nobody');
    expect(unknown).toContain('no user group @nobody in this workspace');
    expect(unknown).toContain('@alpha-support, @alpha-sales');
    expect(unknown).not.toContain('old-team');
    // Another workspace's group is not this one's.
    expect(await kb(ALPHA.teamId, 'settings handoff @beta-help')).toContain('no user group');
    const set = await kb(ALPHA.teamId, `settings handoff <!subteam^${alphaGroup}|@alpha-support>`);
    expect(set).toContain('"Ask a human" now mentions @alpha-support.');
    expect(set).toContain('Ask a human: @alpha-support (set with /kb settings)');
  });

  it('explains each digest channel it cannot post in, and sets one it can', async () => {
    expect(await kb(ALPHA.teamId, 'settings digest #general')).toContain('by its ID');
    expect(await kb(ALPHA.teamId, 'settings digest <#C0NOTIN|not-in>')).toContain("I'm not in <#C0NOTIN>");
    expect(await kb(ALPHA.teamId, 'settings digest <#C0PARTNER|partner>')).toContain(
      'shared with another organisation',
    );
    expect(await kb(ALPHA.teamId, 'settings digest <#D0DIRECT>')).toContain('by its ID');
    const set = await kb(ALPHA.teamId, 'settings digest <#C0ALPHANEWS|news>');
    expect(set).toContain('The digest will be posted in <#C0ALPHANEWS>.');
    const status = await kb(ALPHA.teamId, 'status');
    expect(status).toContain('Ask a human: @alpha-support (set with /kb settings)');
    expect(status).toContain('Digest: <#C0ALPHANEWS> (set with /kb settings)');
  });

  it('uses each workspace’s own group: Alpha’s answers offer "Ask a human" and the click pings its group; Beta’s offer none', async () => {
    const alpha = await ask(ALPHA, 'C0ALPHA');
    expect(alpha.body).toContain('ask_a_human');
    const beta = await ask(BETA, 'C0BETA');
    expect(beta.body).not.toContain('ask_a_human');
    const response = await sendToBolt(
      `${base}/slack/events`,
      blockActionBody({
        team: { id: ALPHA.teamId },
        user: { id: 'U0ASKER' },
        channel: { id: 'C0ALPHA' },
        message: { ts: alpha.ts, thread_ts: alpha.root },
        trigger_id: 'trigger-settings-human',
        actions: [{ type: 'button', action_id: 'ask_a_human', value: alpha.questionId, block_id: 'b1' }],
      }),
      'application/x-www-form-urlencoded',
      { secret: SIGNING_SECRET },
    );
    expect(response.status).toBe(200);
    const ping = await waitFor(
      () =>
        slack
          .callsTo('chat.postMessage')
          .find((call) => call.args.channel === 'C0ALPHA' && String(call.args.text).includes('subteam')),
      'the hand-off message',
    );
    expect(slack.pings({ text: String(ping.args.text) })).toEqual([`subteam:${alphaGroup}`]);
    // Posted as Alpha's bot, with Alpha's token.
    expect(slack.oauth!.identity(ping.token!)?.teamId).toBe(ALPHA.teamId);
  });

  it('shows the workspace’s settings in its Home tab', async () => {
    await sendToBolt(
      `${base}/slack/events`,
      eventEnvelope(
        { type: 'app_home_opened', user: 'U0ASKER', channel: 'D0HOME', tab: 'home' },
        ALPHA.teamId,
      ),
      'application/json',
      { secret: SIGNING_SECRET },
    );
    const view = await waitFor(
      () => slack.views.find((v) => v.via === 'views.publish' && v.userId === 'U0ASKER'),
      'the Home tab',
    );
    const text = JSON.stringify(view.view);
    expect(text).toContain('Ask a human: @alpha-support');
    expect(text).toContain('Digest: <#C0ALPHANEWS>');
  });

  it('posts each workspace’s digest in the channel it chose, and none where none was chosen', async () => {
    const digest = await digestFromConfig(config, bot.records, captureLogs().logger, {
      tenants: bot.tenantSettings,
      slackToken: async (teamId) =>
        (
          await installations.fetchInstallation({
            teamId,
            enterpriseId: undefined,
            isEnterpriseInstall: false,
          })
        ).bot?.token,
      now: afterNextPosting,
    });
    await bot.recorder.settled();
    expect(await digest!.tick()).toBe(1);
    const posts = slack
      .callsTo('chat.postMessage')
      .filter((call) => String(call.args.text).includes('digest'));
    expect(posts.map((call) => call.args.channel)).toEqual(['C0ALPHANEWS']);
    // Alpha's questions only (Beta asked one too).
    expect(JSON.stringify(posts[0]!.args.blocks)).toMatch(/question/);
  });

  it('clears a setting with off: the button and the digest stop', async () => {
    expect(await kb(ALPHA.teamId, 'settings handoff off')).toContain('"Ask a human" is no longer offered');
    expect(await kb(ALPHA.teamId, 'settings digest off')).toContain('no digest is posted for it');
    const again = await ask(ALPHA, 'C0ALPHAAFTER');
    expect(again.body).not.toContain('ask_a_human');
    expect(await kb(ALPHA.teamId, 'settings nonsense')).toContain('There is no setting `nonsense`.');
  });

  it('says which scope is missing when the app cannot list user groups', async () => {
    const narrow = await startFakeSlack({
      scopes: ['chat:write', 'commands', 'users:read', 'channels:read'],
    });
    try {
      const { logger } = captureLogs();
      const single = parseConfig({
        ...backends.env,
        SLACK_BOT_TOKEN: narrow.token,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: narrow.apiURL,
        RAG_DATA_DIR: await tempDir('rag-settings-scope-'),
      });
      const other = await composeBot(single, logger);
      const one = createSlackAdapter({
        config: single.slack!,
        port: 0,
        conversations: other.conversations,
        knowledge: other.knowledge,
        tenants: other.tenantSettings,
        logger,
      });
      await one.start();
      try {
        narrow.makeAdmin(ADMIN);
        const id = 'scope-kb';
        await sendToBolt(
          `http://127.0.0.1:${one.port}/slack/events`,
          slashCommandBody({
            command: '/kb',
            text: 'settings handoff @support',
            user_id: ADMIN,
            channel_id: 'C0ADMIN',
            response_url: narrow.responseURL(id),
          }),
          'application/x-www-form-urlencoded',
          { secret: SIGNING_SECRET },
        );
        const reply = await waitFor(
          () => (narrow.responses.get(id)?.[0] as { text?: string } | undefined)?.text,
          'the reply',
        );
        expect(reply).toContain('usergroups:read');
      } finally {
        await other.stop([one]);
      }
    } finally {
      await narrow.close();
    }
  });
});

describe('Discord: /kb settings per server', () => {
  const ADMIN_MEMBER = { permissions: MEMBER_PERMISSIONS | MANAGE_GUILD, userId: '1100000000000000601' };
  const SUPPORT = '1100000000000000888';
  const EDITORS = '1100000000000000444';
  let backends: Backends;
  let discord: FakeDiscord;
  let bot: Bot;
  let adapter: PlatformAdapter;
  let config: ReturnType<typeof parseConfig>;

  /** `/kb settings` with options as Discord sends them (a role, a channel, a choice); the private reply. */
  async function settings(options: unknown[]) {
    const { token } = discord.slashCommand({
      name: 'kb',
      options: [{ name: 'settings', type: 1, options }],
      ...ADMIN_MEMBER,
    });
    await waitFor(() => discord.ephemeral(token).some((message) => message.content), 'the reply');
    return discord.ephemeral(token).find((message) => message.content)!.content;
  }

  beforeAll(async () => {
    // @everyone may not mention every role here: only a mentionable role can be the hand-off.
    const everyone = MEMBER_PERMISSIONS & ~(1n << 17n);
    [backends, discord] = await Promise.all([
      startBackends(),
      startFakeDiscord({ everyonePermissions: everyone }),
    ]);
    config = parseConfig({
      ...backends.env,
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiURL,
      RAG_DATA_DIR: await tempDir('rag-settings-discord-'),
      DIGEST_SCHEDULE: 'daily',
    });
    const { logger } = captureLogs();
    ({ bot, adapter } = await discordBotOn(discord, config, logger, (composed) => ({
      tenants: composed.tenantSettings,
    })));
  });
  afterAll(async () => {
    await bot?.stop([adapter]);
    await Promise.all([backends?.close(), discord?.close()]);
  });

  it('refuses a role it may not mention and a channel it cannot post in, saying why; sets those it can', async () => {
    expect(await settings([])).toContain('Ask a human: not set');
    expect(await settings([{ name: 'handoff_role', type: 8, value: discord.guildId }])).toContain(
      '@everyone would ping the whole server',
    );
    expect(await settings([{ name: 'handoff_role', type: 8, value: EDITORS }])).toContain(
      'I may not mention @KB Editors',
    );
    expect(await settings([{ name: 'digest_channel', type: 7, value: discord.hiddenChannelId }])).toContain(
      'I cannot post in',
    );
    const set = await settings([
      { name: 'handoff_role', type: 8, value: SUPPORT },
      { name: 'digest_channel', type: 7, value: discord.channelId },
    ]);
    expect(set).toContain('"Ask a human" now mentions @Support.');
    expect(set).toContain(`The digest will be posted in <#${discord.channelId}>.`);
    const { token } = discord.slashCommand({
      name: 'kb',
      options: [{ name: 'status', type: 1 }],
      ...ADMIN_MEMBER,
    });
    const status = await waitFor(
      () => discord.ephemeral(token).find((message) => message.content)?.content,
      'the status',
    );
    expect(status).toContain('Ask a human: @Support (set with /kb settings)');
  });

  it('offers "Ask a human" under answers in that server, and the click pings exactly its role', async () => {
    const asked = discord.userMessage({ content: `<@${discord.botUserId}> How do I add the bot to Slack?` });
    const thread = await waitFor(
      () => discord.threadsOf(discord.channelId).find((t) => t.id === asked.id),
      'the thread',
    );
    const answer = await waitFor(
      () =>
        discord
          .messages(thread.id)
          .find((m) => m.author.bot && JSON.stringify(m.components).includes('feedback:up')),
      'the answer',
    );
    const questionId = /feedback:up:([^"]+)"/.exec(JSON.stringify(answer.components))?.[1] ?? '';
    expect(JSON.stringify(answer.components)).toContain(`ask_a_human:${questionId}`);
    discord.clickButton({
      customId: `ask_a_human:${questionId}`,
      messageId: answer.id,
      channelId: thread.id,
    });
    const ping = await waitFor(
      () => discord.messages(thread.id).find((m) => m.mention_roles.length > 0),
      'the hand-off message',
    );
    expect(ping.mention_roles).toEqual([SUPPORT]);
  });

  it('posts the server’s digest in its channel, and clears both with clear', async () => {
    await bot.recorder.settled();
    const digest = await digestFromConfig(config, bot.records, captureLogs().logger, {
      tenants: bot.tenantSettings,
      now: afterNextPosting,
    });
    expect(await digest!.tick()).toBe(1);
    expect(
      discord.messages(discord.channelId).some((m) => m.author.bot && m.content.includes('knowledge digest')),
    ).toBe(true);
    expect(await settings([{ name: 'clear', type: 3, value: 'handoff' }])).toContain(
      '"Ask a human" is no longer offered',
    );
  });
});
