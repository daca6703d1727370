/**
 * An answer given through an org-wide (Enterprise Grid) installation survives its instance:
 * two instances installed in any workspace (OAuth), sharing one installation store and one
 * PostgreSQL, each with Bolt's real receiver in front of the Slack fake. The first answers a
 * mention delivered through the organisation's installation and falls silent; the second
 * finds that installation by its organisation, as Bolt's authorize did, and finishes the
 * answer in the same message with its token. The record names the organisation, never a token.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ConversationLayer } from '../../src/conversation/layer.js';
import { failures } from '../../src/core/failures.js';
import type { AnswerEvent, Answerer, Question } from '../../src/core/types.js';
import { PostgresInFlightStore } from '../../src/handover/postgres-store.js';
import { AnswerHandover } from '../../src/handover/tracker.js';
import { silentLogger } from '../../src/log.js';
import { MemoryDedupeStore } from '../../src/ops/shared-state.js';
import { createSlackAdapter, type SlackAdapter } from '../../src/platforms/slack/index.js';
import { openInstallationStore, type SlackInstallations } from '../../src/platforms/slack/installations.js';
import { type AppDatabase, openAppDatabase } from '../../src/state/app-db.js';
import { connectPostgres, type PostgresDatabase } from '../../src/state/postgres.js';
import { eventEnvelope, type FakeSlack, sendToBolt, startFakeSlack } from '../fakes/slack/index.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';

const SIGNING_SECRET = 'slack-signing-secret-for-org-takeover';
const CLIENT_ID = '3333333333.4444444444';
const CLIENT_SECRET = 'client-secret-for-org-takeover';
const ORG = 'E0GRID';
const MEMBER = { teamId: 'T0MEMBER', teamName: 'Member', botUserId: 'UBOTORG', botId: 'BBOTORG' };
const TAKEOVER_MS = 600_000;
const TIMINGS = { condenseMs: 0, retrievalMs: 0, firstTokenMs: 0, totalMs: 0 };

let clock = Date.parse('2026-03-02T10:00:00Z');
let slack: FakeSlack;
let dataDir: string;
let appDb: AppDatabase;
let installations: SlackInstallations;
let orgToken: string;
const databases: PostgresDatabase[] = [];
const adapters: SlackAdapter[] = [];

/** The organisation's bot token, minted by the fake's OAuth side as Slack would at install. */
function mintToken(): string {
  const authorized = slack.oauth!.authorize(
    new URLSearchParams({ client_id: CLIENT_ID, redirect_uri: 'http://127.0.0.1/', team: MEMBER.teamId }),
  );
  const code = new URL(authorized.location!).searchParams.get('code');
  const granted = slack.oauth!.exchange(
    { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, code },
    undefined,
  );
  return String(granted.access_token);
}

/** An answer with no text until it is aborted (taken over), as the core would end it. */
const silent: Answerer = {
  async *answer(question: Question): AsyncGenerator<AnswerEvent> {
    await new Promise((resolve) => question.signal?.addEventListener('abort', resolve, { once: true }));
    yield { type: 'failure', failure: failures.interrupted('') };
  },
};

const whole = (text: string): Answerer => ({
  async *answer(): AsyncGenerator<AnswerEvent> {
    yield { type: 'delta', text };
    yield { type: 'done', text, mode: 'groq', degraded: false, timings: TIMINGS, standaloneQuestion: 'q' };
  },
});

async function instance(name: string, answerer: Answerer, url: string) {
  const db = await connectPostgres(url, { maxConnections: 3 });
  databases.push(db);
  const store = await PostgresInFlightStore.open(db, { now: () => clock });
  const handover = new AnswerHandover({ store, takeoverMs: TAKEOVER_MS, instanceId: name, now: () => clock });
  const layer = new ConversationLayer({
    answerer,
    log: silentLogger,
    dedupe: new MemoryDedupeStore(),
    maxQuestionChars: 1_000,
    handover,
  });
  const config = parseConfig({
    SLACK_CLIENT_ID: CLIENT_ID,
    SLACK_CLIENT_SECRET: CLIENT_SECRET,
    SLACK_STATE_SECRET: 'state-secret-for-org-takeover-0123456789',
    SLACK_INSTALLATION_KEY: Buffer.alloc(32, 5).toString('base64'),
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiURL,
    RAG_DATA_DIR: dataDir,
  });
  const adapter = createSlackAdapter({
    config: config.slack!,
    port: 0,
    conversations: layer,
    installations,
    logger: silentLogger,
    // The stream opens at once, before any text: the record knows the message straight away.
    pacing: { firstTextWaitMs: 0, editIntervalMs: 0, appendIntervalMs: 0 },
  });
  await adapter.start();
  adapters.push(adapter);
  layer.startHandover();
  return { db, handover, adapter };
}

beforeAll(async () => {
  slack = await startFakeSlack({
    oauth: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, workspaces: [MEMBER] },
  });
  dataDir = await mkdtemp(join(tmpdir(), 'rag-slack-org-'));
  appDb = openAppDatabase(dataDir);
  installations = await openInstallationStore({
    installationKey: Buffer.alloc(32, 5).toString('base64'),
    appDatabase: () => appDb,
  });
  orgToken = mintToken();
  // Installed once for the whole organisation: no team of its own.
  await installations.storeInstallation({
    team: undefined,
    enterprise: { id: ORG, name: 'Grid' },
    isEnterpriseInstall: true,
    enterpriseUrl: 'https://grid.enterprise.slack.com/',
    appId: 'A0001',
    tokenType: 'bot',
    authVersion: 'v2',
    user: { id: 'UINSTALLER', token: undefined, scopes: undefined },
    bot: { token: orgToken, userId: MEMBER.botUserId, id: MEMBER.botId, scopes: ['chat:write'] },
  });
});

afterAll(async () => {
  await Promise.all(adapters.map((adapter) => adapter.stop()));
  await Promise.all(databases.map((db) => db.close()));
  appDb?.close();
  await slack?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe.skipIf(!havePostgres)('an answer given through an org-wide installation', () => {
  it('is finished by another instance, with the organisation’s token, in the same message', async () => {
    const url = await createTestDatabase('slack_org');
    const a = await instance('ORG-A', silent, url);
    const b = await instance('ORG-B', whole('Visitors cross at gate four.'), url);
    const channel = 'C0GRID';
    const text = `<@${MEMBER.botUserId}> How do visitors cross?`;
    const root = slack.addUserMessage(channel, 'U1', text);
    const response = await sendToBolt(
      `http://127.0.0.1:${a.adapter.port}/slack/events`,
      eventEnvelope(
        { type: 'app_mention', user: 'U1', text, ts: root, channel },
        MEMBER.teamId,
        undefined,
        ORG,
      ),
      'application/json',
      { secret: SIGNING_SECRET },
    );
    expect(response.status).toBe(200);

    // A opened its reply with the organisation's token, and recorded where it is.
    const record = await waitFor(async () => {
      const { rows } = await a.db.pool.query<{ place: Record<string, unknown>; reply: unknown }>(
        'SELECT place, reply FROM rag_answers_in_flight WHERE reply IS NOT NULL',
      );
      return rows[0];
    }, 'the answer recorded with its reply');
    expect(record.place).toMatchObject({ channel, enterpriseId: ORG, enterpriseInstall: true });
    expect(JSON.stringify(record)).not.toContain(orgToken);
    const opened = slack.messages(channel).filter((m) => m.thread_ts === root && m.user === MEMBER.botUserId);
    expect(opened).toHaveLength(1);
    const ts = opened[0]!.ts;

    // A falls silent; B takes the answer over and finishes it in A's message.
    clock += TAKEOVER_MS + 1;
    expect(await b.handover.takeOver()).toBe(1);
    await waitFor(
      () => slack.messages(channel).find((m) => m.ts === ts)?.metadata,
      'B finishing the answer in the opened message',
    );
    expect(slack.messages(channel).find((m) => m.ts === ts)?.text).toBe('Visitors cross at gate four.');
    const finishing = slack.calls.filter(
      (call) => call.args.ts === ts && (call.method === 'chat.stopStream' || call.method === 'chat.update'),
    );
    expect(finishing.length).toBeGreaterThan(0);
    expect(finishing.every((call) => call.token === orgToken)).toBe(true);
    expect(
      slack.messages(channel).filter((m) => m.thread_ts === root && m.user === MEMBER.botUserId),
    ).toHaveLength(1);
    await a.handover.heartbeat();
    await waitFor(
      async () => (await a.db.pool.query('SELECT 1 FROM rag_answers_in_flight')).rowCount === 0,
      'the record ended',
    );
  });
});
