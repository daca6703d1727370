/**
 * Installing in any workspace, end to end: Bolt's real HTTP receiver and OAuth handlers
 * against the fake Slack's authorize page and oauth.v2.access, installations in the bot's
 * own SQLite database, two workspaces answered with their own tokens, uninstall and
 * revocation, and a restart with the wrong key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClearStateStore } from '@slack/oauth';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import slackManifest from '../../commands/slack-manifest.json' with { type: 'json' };
import { buildRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config.js';
import { MemoryDedupeStore } from '../../src/ops/shared-state.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import {
  openInstallationStore,
  type SlackInstallations,
  type StoredInstallation,
} from '../../src/platforms/slack/installations.js';
import { StoreRecorder } from '../../src/records/recorder.js';
import { RecordStore } from '../../src/records/store.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import type { FakeGroq } from '../fakes/groq/index.js';
import { eventEnvelope, type FakeSlack, sendToBolt, startFakeSlack } from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { layerOver } from '../support/conversations.js';
import { captureLogs } from '../support/logs.js';
import { waitFor } from '../support/wait.js';

const SIGNING_SECRET = 'slack-signing-secret-for-oauth-tests';
const CLIENT_ID = '1111111111.2222222222';
const CLIENT_SECRET = 'client-secret-for-oauth-tests';
const STATE_SECRET = 'state-secret-for-oauth-tests-0123456789';
const KEY = Buffer.alloc(32, 7).toString('base64');
const OTHER_KEY = Buffer.alloc(32, 9).toString('base64');
const ALPHA = { teamId: 'T0ALPHA', teamName: 'Alpha', botUserId: 'UBOTALPHA', botId: 'BBOTALPHA' };
const BETA = { teamId: 'T0BETA', teamName: 'Beta', botUserId: 'UBOTBETA', botId: 'BBOTBETA' };

let backends: Backends;
let groq: FakeGroq;
let slack: FakeSlack;
let adapter: SlackAdapter;
let installations: SlackInstallations;
let appDb: AppDatabase;
let dataDir: string;
let base: string;
let logLines: string[];
let config: ReturnType<typeof parseConfig>;
let conversations: ReturnType<typeof layerOver>;
let records: RecordStore;

const env = (overrides: Record<string, string> = {}) => ({
  ...backends.env,
  SLACK_CLIENT_ID: CLIENT_ID,
  SLACK_CLIENT_SECRET: CLIENT_SECRET,
  SLACK_STATE_SECRET: STATE_SECRET,
  SLACK_INSTALLATION_KEY: KEY,
  SLACK_SIGNING_SECRET: SIGNING_SECRET,
  SLACK_API_URL: slack.apiURL,
  RAG_DATA_DIR: dataDir,
  ...overrides,
});

const stateCookie = (response: Response) =>
  /slack-app-oauth-state=([^;]+)/.exec(response.headers.get('set-cookie') ?? '')?.[1];

/** A user clicks "Add to Slack", picks a workspace on Slack's page and approves. */
async function install(teamId: string): Promise<Response> {
  const start = await fetch(`${base}/slack/install`, { redirect: 'manual' });
  const cookie = stateCookie(start);
  slack.oauth!.approveAs(teamId);
  const approved = await fetch(start.headers.get('location')!, { redirect: 'manual' });
  expect(approved.status).toBe(302);
  return fetch(approved.headers.get('location')!, {
    redirect: 'manual',
    headers: { cookie: `slack-app-oauth-state=${cookie}` },
  });
}

async function mention(teamId: string, botUserId: string, channel: string, text: string) {
  const ts = slack.addUserMessage(channel, 'U1', `<@${botUserId}> ${text}`);
  return sendToBolt(
    `${base}/slack/events`,
    eventEnvelope({ type: 'app_mention', user: 'U1', text: `<@${botUserId}> ${text}`, ts, channel }, teamId),
    'application/json',
    { secret: SIGNING_SECRET },
  );
}

async function teamEvent(teamId: string, event: Record<string, unknown>) {
  return sendToBolt(`${base}/slack/events`, eventEnvelope(event, teamId), 'application/json', {
    secret: SIGNING_SECRET,
  });
}

const rows = () => appDb.db.prepare('SELECT * FROM slack_installations ORDER BY id').all();
const answerEnd = (channel: string) => slack.answerEnd(channel);

beforeAll(async () => {
  [backends, slack] = await Promise.all([
    startBackends(),
    startFakeSlack({
      oauth: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, workspaces: [ALPHA, BETA] },
    }),
  ]);
  ({ groq } = backends);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-slack-oauth-'));
  config = parseConfig(env());
  appDb = openAppDatabase(dataDir);
  const captured = captureLogs('debug');
  logLines = captured.lines;
  const runtime = await buildRuntime(config, { logger: captured.logger });
  installations = await openInstallationStore({
    installationKey: config.slack!.oauth!.installationKey,
    appDatabase: () => appDb,
  });
  records = new RecordStore(appDb, Buffer.alloc(32, 3));
  conversations = layerOver(runtime.answerer, {
    dedupe: new MemoryDedupeStore(),
    logger: captured.logger,
    recorder: new StoreRecorder(records, { keepText: false, log: captured.logger }),
  });
  adapter = createSlackAdapter({
    config: config.slack!,
    port: 0,
    conversations,
    installations,
    logger: captured.logger,
  });
  await adapter.start();
  base = `http://127.0.0.1:${adapter.port}`;
  // The redirect URL configured for the app (oauth_config.redirect_urls in the manifest).
  slack.oauth!.redirectUrl = `${base}/slack/oauth_redirect`;
});

afterAll(async () => {
  await adapter?.stop();
  appDb?.close();
  await Promise.all([backends?.close(), slack?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  groq.setReply((request) => {
    const last = request.body.messages?.at(-1)?.content ?? '';
    if (/standalone question/i.test(request.body.messages?.[0]?.content ?? '')) return last;
    return 'Create the app from the manifest in commands/, then install it to your workspace [1].';
  });
});

describe('Slack: installing in any workspace', () => {
  it('starts without any bot token and sends /slack/install to Slack’s consent page with the manifest’s scopes', async () => {
    expect(adapter.isReady()).toBe(true);
    expect(slack.callsTo('auth.test')).toHaveLength(0);
    const start = await fetch(`${base}/slack/install`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const location = new URL(start.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${slack.url}/oauth/v2/authorize`);
    expect(location.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(location.searchParams.get('scope')?.split(',')).toEqual(slackManifest.oauth_config.scopes.bot);
    // The state is tied to this browser by an HttpOnly cookie.
    expect(location.searchParams.get('state')).toBeTruthy();
    expect(stateCookie(start)).toBe(location.searchParams.get('state'));
    expect(start.headers.get('set-cookie')).toContain('HttpOnly');
  });

  it('stores each workspace’s installation with its tokens encrypted', async () => {
    for (const workspace of [ALPHA, BETA]) {
      const done = await install(workspace.teamId);
      expect(done.status).toBe(200);
      expect(await done.text()).toContain('Thank you!');
    }
    expect(slack.callsTo('oauth.v2.access')).toHaveLength(2);
    const stored = rows();
    expect(stored.map((row) => row.team_id)).toEqual([ALPHA.teamId, BETA.teamId]);
    const raw = JSON.stringify(stored);
    expect(raw).not.toContain(slack.oauth!.tokenOf(ALPHA.teamId)!);
    expect(raw).not.toContain(slack.oauth!.tokenOf(BETA.teamId)!);
    expect(raw).not.toMatch(/xox[a-z]-/);
    expect(raw).not.toContain(ALPHA.botUserId);
    // The real thing still opens with the key.
    const alpha = await installations.fetchInstallation({
      teamId: ALPHA.teamId,
      enterpriseId: undefined,
      isEnterpriseInstall: false,
    });
    expect(alpha.bot?.token).toBe(slack.oauth!.tokenOf(ALPHA.teamId));
    expect(alpha.bot?.userId).toBe(ALPHA.botUserId);
    // Its address, asked once at install time with its new token, for links to its messages.
    expect((alpha as StoredInstallation).workspaceUrl).toBe('https://alpha.slack.com/');
  });

  it('answers a mention in each workspace with that workspace’s own token and bot identity', async () => {
    const authTestsBefore = slack.callsTo('auth.test').length;
    await Promise.all([
      mention(ALPHA.teamId, ALPHA.botUserId, 'CALPHA', 'How do I add the bot to Slack?'),
      mention(BETA.teamId, BETA.botUserId, 'CBETA', 'How do I add the bot to Slack?'),
    ]);
    await waitFor(() => answerEnd('CALPHA'), 'the answer in Alpha');
    await waitFor(() => answerEnd('CBETA'), 'the answer in Beta');
    for (const [workspace, channel] of [
      [ALPHA, 'CALPHA'],
      [BETA, 'CBETA'],
    ] as const) {
      const calls = slack.calls.filter((call) => call.args.channel === channel);
      expect(calls.length).toBeGreaterThan(0);
      expect(new Set(calls.map((call) => call.token))).toEqual(
        new Set([slack.oauth!.tokenOf(workspace.teamId)]),
      );
      // Posted as that workspace's bot.
      expect(
        slack
          .messages(channel)
          .filter((m) => m.bot_id)
          .every((m) => m.user === workspace.botUserId),
      ).toBe(true);
    }
    // The answer records link to each question in its own workspace, from the stored address:
    // no chat.getPermalink, no auth.test per answer.
    const linked = (prefix: string) => async () =>
      (await records.answers(0, Date.now() + 1_000)).some((answer) => answer.link?.startsWith(prefix));
    await waitFor(linked('https://alpha.slack.com/archives/CALPHA/p'), 'the Alpha answer’s record link');
    await waitFor(linked('https://beta.slack.com/archives/CBETA/p'), 'the Beta answer’s record link');
    expect(slack.callsTo('chat.getPermalink')).toEqual([]);
    expect(slack.callsTo('auth.test')).toHaveLength(authTestsBefore);
    // Each workspace's own bot mention was recognised and stripped from the question.
    const questions = groq.chatRequests().map((request) => JSON.stringify(request.body.messages));
    expect(questions.some((q) => q.includes('UBOTALPHA') || q.includes('UBOTBETA'))).toBe(false);
  });

  it('refuses an invalid, foreign or expired state with a clear page and stores nothing', async () => {
    const exchanges = slack.callsTo('oauth.v2.access').length;
    const tampered = await fetch(`${base}/slack/oauth_redirect?code=c1&state=forged`, {
      headers: { cookie: 'slack-app-oauth-state=forged' },
    });
    expect(tampered.status).toBe(400);
    const page = await tampered.text();
    expect(page).toContain('This installation link has expired');
    expect(page).toContain('href="/slack/install"');

    // A genuine state, but opened in a browser that did not start the installation.
    const start = await fetch(`${base}/slack/install`, { redirect: 'manual' });
    const approved = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const foreign = await fetch(approved.headers.get('location')!);
    expect(foreign.status).toBe(400);
    expect(await foreign.text()).toContain('This installation link has expired');

    // Signed with the right secret by Bolt's own state store, eleven minutes ago.
    const old = await new ClearStateStore(STATE_SECRET).generateStateParam(
      { scopes: slackManifest.oauth_config.scopes.bot },
      new Date(Date.now() - 11 * 60_000),
    );
    const expired = await fetch(`${base}/slack/oauth_redirect?code=c2&state=${encodeURIComponent(old)}`, {
      headers: { cookie: `slack-app-oauth-state=${old}` },
    });
    expect(expired.status).toBe(400);
    expect(await expired.text()).toContain('This installation link has expired');
    expect(slack.callsTo('oauth.v2.access')).toHaveLength(exchanges);
    expect(rows()).toHaveLength(2);
  });

  it('forgets a workspace on app_uninstalled and ignores its later events, logging that once', async () => {
    const response = await teamEvent(BETA.teamId, { type: 'app_uninstalled' });
    expect(response.status).toBe(200);
    await waitFor(() => rows().length === 1, 'the installation to be deleted');
    slack.oauth!.revoke(BETA.teamId);
    const before = slack.calls.length;
    for (const text of ['Still there?', 'Hello?']) {
      const sent = await mention(BETA.teamId, BETA.botUserId, 'CBETA2', text);
      expect(sent.status).toBe(200);
    }
    // Authorization fails before Bolt acknowledges, so by now both events were refused.
    expect(slack.calls.slice(before).filter((call) => call.args.channel === 'CBETA2')).toEqual([]);
    const notices = logLines.filter((line) => line.includes('without an installation'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(BETA.teamId);
    // …and Bolt's own per-event warning is not repeated at warn level.
    const warnings = logLines.filter((line) => line.includes('"level":40'));
    expect(warnings.filter((line) => line.includes('Authorization of incoming event'))).toEqual([]);
  });

  it('forgets a workspace whose bot token was revoked (tokens_revoked)', async () => {
    await teamEvent(ALPHA.teamId, { type: 'tokens_revoked', tokens: { bot: [ALPHA.botUserId] } });
    await waitFor(() => rows().length === 0, 'the installation to be deleted');
    const before = slack.calls.length;
    await mention(ALPHA.teamId, ALPHA.botUserId, 'CALPHA2', 'Anyone?');
    expect(slack.calls.slice(before).filter((call) => call.args.channel === 'CALPHA2')).toEqual([]);
    expect(logLines.filter((line) => line.includes('without an installation'))).toHaveLength(2);
  });

  it('installs again after an uninstall, and answers again', async () => {
    expect((await install(BETA.teamId)).status).toBe(200);
    await mention(BETA.teamId, BETA.botUserId, 'CBETA3', 'How do I add the bot to Slack?');
    await waitFor(() => answerEnd('CBETA3'), 'the answer after reinstalling');
  });

  it('refuses to start with the wrong SLACK_INSTALLATION_KEY instead of reading garbage tokens', async () => {
    const wrong = await openInstallationStore({ installationKey: OTHER_KEY, appDatabase: () => appDb });
    const restarted = createSlackAdapter({
      config: parseConfig(env({ SLACK_INSTALLATION_KEY: OTHER_KEY })).slack!,
      port: 0,
      conversations,
      installations: wrong,
    });
    await expect(restarted.start()).rejects.toThrow(
      /SLACK_INSTALLATION_KEY cannot open 1 of 1 stored Slack installation/,
    );
    await expect(
      wrong.fetchInstallation({ teamId: BETA.teamId, enterpriseId: undefined, isEnterpriseInstall: false }),
    ).rejects.toThrow(/not in SLACK_INSTALLATION_KEY/);
    expect(restarted.isReady()).toBe(false);
  });

  it('never logs a token or an OAuth secret', () => {
    const all = logLines.join('\n');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [CLIENT_SECRET, STATE_SECRET, KEY]) expect(all).not.toContain(secret);
    expect(all).not.toMatch(/xox[a-z]-[A-Za-z0-9]/);
  });
});
