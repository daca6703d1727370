/**
 * What reaches /slack/events before Bolt's signature check, through the real HTTP receiver:
 * unsigned, stale and oversized requests are refused at their headers with nothing of their
 * bodies read; bodies waiting for the check share one budget; a stalled upload is cut off;
 * everything else on the port (Slack's SSL check, other routes) is served as before. And a
 * signed request replayed is acted on once, also when two instances share Redis or PostgreSQL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config.js';
import type { Answerer } from '../../src/core/types.js';
import type { HttpRoute } from '../../src/http/types.js';
import {
  createSharedState,
  type DedupeStore,
  MemoryDedupeStore,
  type SharedState,
} from '../../src/ops/shared-state.js';
import {
  createSlackAdapter,
  type SlackAdapter,
  type SlackAdapterOptions,
} from '../../src/platforms/slack/index.js';
import { connectPostgres, type PostgresDatabase } from '../../src/state/postgres.js';
import {
  blockActionBody,
  eventEnvelope,
  type FakeSlack,
  sendToBolt,
  signSlackRequest,
  slashCommandBody,
  startFakeSlack,
} from '../fakes/slack/index.js';
import { type Backends, startBackends } from '../support/backends.js';
import { layerOver } from '../support/conversations.js';
import { captureLogs } from '../support/logs.js';
import { createTestDatabase, havePostgres } from '../support/postgres.js';
import { haveRedis, type RedisServer, startRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'slack-signing-secret-for-receiver-tests';
const KIB = 1024;
/** A signature of the right form that no secret produced: passes the door, fails Bolt's check. */
const FAKE_SIGNATURE = `v0=${'0'.repeat(64)}`;

let backends: Backends;
let slack: FakeSlack;
let dataDir: string;
let answerer: Answerer;
let config: ReturnType<typeof parseConfig>;
let logLines: string[];
let logger: ReturnType<typeof captureLogs>['logger'];
const adapters: SlackAdapter[] = [];

/** The route the web chat or /healthz would be: served on the same port, reading its own body. */
const echoRoute: HttpRoute = {
  path: '/echo-size',
  method: 'POST',
  async handler(req, res) {
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) size += chunk.length;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(String(size));
  },
};

async function startAdapter(options: Partial<SlackAdapterOptions> = {}): Promise<SlackAdapter> {
  const adapter = createSlackAdapter({
    config: config.slack!,
    port: 0,
    conversations: layerOver(answerer, { dedupe: new MemoryDedupeStore(), logger }),
    logger,
    routes: [echoRoute],
    ...options,
  });
  adapters.push(adapter);
  await adapter.start();
  return adapter;
}

const now = () => String(Math.floor(Date.now() / 1000));
/** A /ask slash command's form body, its reply going to the fake's response URL `reply`. */
const askBody = (text: string, user: string, channel: string, reply: string) =>
  slashCommandBody({ text, user_id: user, channel_id: channel, response_url: slack.responseURL(reply) });
/** Replays the bot recognised and acknowledged without acting on them. */
const replays = () => logLines.filter((l) => l.includes('(a replay)')).length;

/**
 * A raw HTTP/1.1 request on its own connection: the headers, then `body` (which may be less
 * than the declared length, as a stalled upload is). `closed` settles when the server closes
 * the connection, with everything the server sent.
 */
function rawRequest(
  port: number,
  headers: Record<string, string>,
  body: Buffer | string = '',
  path = '/slack/events',
) {
  const socket: Socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (data) => {
    received += data.toString('latin1');
  });
  // A server that closes while a body is still coming may reset the connection.
  socket.on('error', () => undefined);
  const closed = new Promise<{ status: number | undefined; received: string }>((resolve) => {
    socket.once('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
      resolve({ status: status ? Number(status) : undefined, received });
    });
  });
  const head = Object.entries({ host: 'bot.example', ...headers })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n`);
  if (body.length > 0) socket.write(body);
  return { socket, closed };
}

beforeAll(async () => {
  [backends, slack] = await Promise.all([startBackends(), startFakeSlack()]);
  dataDir = await mkdtemp(join(tmpdir(), 'rag-slack-receiver-'));
  config = parseConfig({
    ...backends.env,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiURL,
    RAG_DATA_DIR: dataDir,
  });
  const captured = captureLogs();
  logger = captured.logger;
  logLines = captured.lines;
  answerer = (await buildRuntime(config, { logger })).answerer;
});

afterAll(async () => {
  for (const adapter of adapters) await adapter.stop();
  await Promise.all([backends?.close(), slack?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

describe('before the signature check', () => {
  let adapter: SlackAdapter;
  const stats = () => adapter.receiverStats()!;

  beforeAll(async () => {
    adapter = await startAdapter({
      receiverLimits: { maxBodyBytes: 128 * KIB, pendingBodyBytes: 256 * KIB },
    });
  });

  it('defaults to a 1 MiB body limit, 8 MiB of unverified bodies and 10 s for a request', () => {
    expect(config.slack!.receiver).toEqual({
      maxBodyBytes: 1024 * KIB,
      pendingBodyBytes: 8 * 1024 * KIB,
      requestTimeoutMs: 10_000,
    });
    const tuned = parseConfig({
      ...backends.env,
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_MAX_BODY_BYTES: '2097152',
      SLACK_PENDING_BODY_BYTES: '1048576',
      SLACK_REQUEST_TIMEOUT_MS: '5000',
    });
    // The budget is never below one largest body.
    expect(tuned.slack!.receiver).toEqual({
      maxBodyBytes: 2 * 1024 * KIB,
      pendingBodyBytes: 2 * 1024 * KIB,
      requestTimeoutMs: 5_000,
    });
  });

  it('drops 20 unsigned uploads of 3.9 MB at their headers: 401, connection closed, nothing of them read', async () => {
    const before = stats();
    const uploads = Array.from({ length: 20 }, () =>
      rawRequest(
        adapter.port!,
        { 'content-type': 'application/json', 'content-length': String(3_900_000) },
        Buffer.alloc(256 * KIB, 'a'),
      ),
    );
    // Every connection is closed by the server; none is left holding its body.
    await Promise.all(uploads.map(({ closed }) => closed));
    const after = stats();
    expect(after.bodyBytesRead).toBe(before.bodyBytesRead);
    expect(after.pendingBytes).toBe(0);
    expect(after.refused.unsigned - before.refused.unsigned).toBe(20);
    // Sent as headers alone, the refusal is read back: 401.
    const { closed } = rawRequest(adapter.port!, {
      'content-type': 'application/json',
      'content-length': '3900000',
    });
    expect((await closed).status).toBe(401);
    const line = await waitFor(
      () => logLines.find((l) => l.includes('refused Slack requests before reading their bodies')),
      'the refusal warning',
    );
    expect(JSON.parse(line).level).toBe(40);
  });

  it('refuses a malformed signature header, and a timestamp over five minutes old or ahead, before the body', async () => {
    const before = stats();
    const body = eventEnvelope({ type: 'app_mention', user: 'U1', text: 'hi', ts: '1.1', channel: 'C1' });
    const tenMinutes = 10 * 60;
    const cases: Record<string, string>[] = [
      // Bolt itself would accept a signature with more after it, and any timestamp in the future.
      {
        ...signSlackRequest(SECRET, body),
        'x-slack-signature': `${signSlackRequest(SECRET, body)['x-slack-signature']}=x`,
      },
      signSlackRequest(SECRET, body, Math.floor(Date.now() / 1000) - tenMinutes),
      signSlackRequest(SECRET, body, Math.floor(Date.now() / 1000) + tenMinutes),
      { 'x-slack-signature': FAKE_SIGNATURE },
      { 'x-slack-request-timestamp': now() },
    ];
    const statuses: (number | undefined)[] = [];
    for (const headers of cases) {
      const { closed } = rawRequest(adapter.port!, {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      });
      statuses.push((await closed).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const after = stats();
    expect(after.bodyBytesRead).toBe(before.bodyBytesRead);
    expect(after.refused.stale - before.refused.stale).toBe(2);
    expect(after.refused.unsigned - before.refused.unsigned).toBe(3);
  });

  it('refuses a body declared over the limit at once (413), and one that grows past it unannounced', async () => {
    const before = stats();
    const declared = rawRequest(adapter.port!, {
      'x-slack-signature': FAKE_SIGNATURE,
      'x-slack-request-timestamp': now(),
      'content-type': 'application/json',
      'content-length': String(128 * KIB + 1),
    });
    expect((await declared.closed).status).toBe(413);
    expect(stats().bodyBytesRead).toBe(before.bodyBytesRead);
    // Chunked, so no length to judge by: read up to the limit and not a chunk further.
    const chunked = rawRequest(adapter.port!, {
      'x-slack-signature': FAKE_SIGNATURE,
      'x-slack-request-timestamp': now(),
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
    });
    const piece = Buffer.alloc(16 * KIB, 'b');
    for (let i = 0; i < 9; i++) chunked.socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
    await chunked.closed;
    const after = stats();
    expect(after.refused.too_large - before.refused.too_large).toBe(2);
    // At most one read (64 KiB) past the limit, never the rest.
    expect(after.bodyBytesRead - before.bodyBytesRead).toBeLessThanOrEqual(128 * KIB + 64 * KIB);
    expect(after.pendingBytes).toBe(0);
  });

  it('holds at most the budget of unverified bytes across connections (503 past it), and serves again once they go', async () => {
    // Two uploads of the largest body, all but their last byte sent: the budget is full.
    const stalled = [0, 1].map(() =>
      rawRequest(
        adapter.port!,
        {
          'x-slack-signature': FAKE_SIGNATURE,
          'x-slack-request-timestamp': now(),
          'content-type': 'application/json',
          'content-length': String(128 * KIB),
        },
        Buffer.alloc(128 * KIB - 1, 'c'),
      ),
    );
    await waitFor(() => stats().pendingBytes === 2 * (128 * KIB - 1), 'both uploads read');
    const busyBefore = stats().refused.busy;
    const upload = (bytes: number, sent = bytes) =>
      rawRequest(
        adapter.port!,
        {
          'x-slack-signature': FAKE_SIGNATURE,
          'x-slack-request-timestamp': now(),
          'content-type': 'application/json',
          'content-length': String(bytes),
        },
        Buffer.alloc(sent, 'd'),
      );
    // A larger body waits its turn, but Slack's own small deliveries still get through: an
    // eighth of the budget (32 KiB here) is kept for small bodies.
    expect((await upload(64 * KIB).closed).status).toBe(503);
    const signedEvent = () =>
      sendToBolt(
        `http://127.0.0.1:${adapter.port}/slack/events`,
        eventEnvelope({ type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'messages' }),
        'application/json',
        { secret: SECRET },
      );
    expect((await signedEvent()).status).toBe(200);
    // Stalled small uploads can fill the reserve too; then small bodies wait as well.
    const stalledSmall = upload(32 * KIB, 32 * KIB - 1);
    await waitFor(() => stats().pendingBytes === 2 * (128 * KIB - 1) + 32 * KIB - 1, 'the reserve used');
    expect((await upload(1024).closed).status).toBe(503);
    expect(stats().refused.busy - busyBefore).toBe(2);
    expect(stats().pendingBytes).toBeLessThanOrEqual(256 * KIB + 32 * KIB);
    // The uploads give up: their bytes go back, and a real signed event is answered.
    for (const { socket } of [...stalled, stalledSmall]) socket.destroy();
    await waitFor(() => stats().pendingBytes === 0, 'the budget back');
    const ok = await sendToBolt(
      `http://127.0.0.1:${adapter.port}/slack/events`,
      eventEnvelope({ type: 'app_home_opened', user: 'U1', channel: 'D1', tab: 'messages' }),
      'application/json',
      { secret: SECRET },
    );
    expect(ok.status).toBe(200);
  });

  it("lets Slack's unsigned SSL check through, and leaves the port's other routes to read their own bodies", async () => {
    const check = await fetch(`http://127.0.0.1:${adapter.port}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'ssl_check=1&token=legacy-verification-token',
    });
    expect(check.status).toBe(200);
    // An unsigned form a little larger than Slack's check is not one.
    const larger = await fetch(`http://127.0.0.1:${adapter.port}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `ssl_check=1&token=${'t'.repeat(300)}`,
    });
    expect(larger.status).toBe(401);
    const echoed = await fetch(`http://127.0.0.1:${adapter.port}/echo-size`, {
      method: 'POST',
      body: Buffer.alloc(200 * KIB, 'e'),
    });
    expect(echoed.status).toBe(200);
    expect(await echoed.text()).toBe(String(200 * KIB));
  });
});

describe('a stalled request', () => {
  it('is cut off at the request timeout (408), and its bytes go back to the budget', async () => {
    const adapter = await startAdapter({ receiverLimits: { requestTimeoutMs: 300, timeoutCheckMs: 50 } });
    const body = Buffer.alloc(10, 'f');
    const before = adapter.receiverStats()!.bodyBytesRead;
    const upload = rawRequest(
      adapter.port!,
      {
        'x-slack-signature': FAKE_SIGNATURE,
        'x-slack-request-timestamp': now(),
        'content-type': 'application/json',
        'content-length': '1000',
      },
      body,
    );
    expect((await upload.closed).status).toBe(408);
    // What it had sent was read, held while it stalled, and given back.
    expect(adapter.receiverStats()!.bodyBytesRead - before).toBe(body.length);
    await waitFor(() => adapter.receiverStats()!.pendingBytes === 0, 'its bytes back');
    // Headers that never finish are cut off the same way.
    const socket = connect(adapter.port!, '127.0.0.1');
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (data) => {
      received += data.toString('latin1');
    });
    socket.write('POST /slack/events HTTP/1.1\r\nhost: bot.example\r\n');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('a replayed signed request', () => {
  let adapter: SlackAdapter;
  let url: string;

  beforeAll(async () => {
    adapter = await startAdapter();
    url = `http://127.0.0.1:${adapter.port}/slack/events`;
  });

  const asked = (channel: string, question: string) =>
    slack.messages(channel).filter((m) => m.text.includes(`asked: ${question}`));
  it('answers the same signed /ask sent three times once, and a new /ask as usual', async () => {
    const channel = 'C0REPLAY';
    const question = 'How do I deploy with Docker?';
    const body = askBody(question, 'U77', channel, 'r1');
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      ...signSlackRequest(SECRET, body),
    };
    const before = replays();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(url, { method: 'POST', headers, body })).status);
    // Each is acknowledged, so neither Slack nor the replayer sees an error.
    expect(statuses).toEqual([200, 200, 200]);
    expect(replays() - before).toBe(2);
    // A different /ask (its own trigger id, its own signature) after them is answered.
    const next = 'How do I restart the bot?';
    const fresh = askBody(next, 'U77', channel, 'r2');
    await sendToBolt(url, fresh, 'application/x-www-form-urlencoded', { secret: SECRET });
    await waitFor(
      () => asked(channel, next).length === 1 && asked(channel, question).length > 0,
      'both questions posted',
    );
    expect(asked(channel, question)).toHaveLength(1);
  });

  it('acknowledges and answers a /ask when the shared store does not answer the replay check', async () => {
    // A store that never answers for request signatures (a hung database, an exhausted pool).
    const memory = new MemoryDedupeStore();
    const hung: DedupeStore = {
      firstSeen: (key, ttlMs) =>
        key.includes(':delivery:v0=') ? new Promise<boolean>(() => undefined) : memory.firstSeen(key, ttlMs),
      forget: (key) => memory.forget(key),
    };
    const stuck = await startAdapter({ conversations: layerOver(answerer, { dedupe: hung, logger }) });
    const channel = 'C0HUNGSTORE';
    const question = 'How do I rotate the logs?';
    const body = askBody(question, 'U78', channel, 'r3');
    const response = await sendToBolt(
      `http://127.0.0.1:${stuck.port}/slack/events`,
      body,
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    expect(response.status).toBe(200);
    await waitFor(() => asked(channel, question).length === 1, 'the question posted');
  });

  it('acts on a replayed button click once', async () => {
    const body = blockActionBody({
      user: { id: 'U10' },
      channel: { id: 'C0REPLAY' },
      message: { ts: '3.1', thread_ts: '3.0' },
      actions: [
        {
          type: 'button',
          action_id: 'feedback_up',
          value: 'question-replayed',
          block_id: 'feedback_question-replayed',
        },
      ],
    });
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      ...signSlackRequest(SECRET, body),
    };
    for (let i = 0; i < 2; i++)
      expect((await fetch(url, { method: 'POST', headers, body })).status).toBe(200);
    await waitFor(
      () => logLines.some((l) => l.includes('"questionId":"question-replayed"')),
      'the feedback line',
    );
    expect(
      logLines.filter((l) => l.includes('"event":"feedback"') && l.includes('question-replayed')),
    ).toHaveLength(1);
  });
});

/** Two instances ("hosts") with their own connections to one shared store. */
const sharedStores: { name: string; run: boolean; open: () => Promise<() => Promise<SharedState>> }[] = [
  {
    name: 'Redis',
    run: haveRedis,
    open: async () => {
      const redis: RedisServer = await startRedis();
      afterAll(() => redis.stop());
      return () => createSharedState(redis.url, logger);
    },
  },
  {
    name: 'PostgreSQL',
    run: havePostgres,
    open: async () => {
      const url = await createTestDatabase('slack-replay');
      const databases: PostgresDatabase[] = [];
      afterAll(async () => {
        for (const db of databases) await db.close();
      });
      return async () => {
        const database = await connectPostgres(url, { maxConnections: 2 });
        databases.push(database);
        return createSharedState(undefined, logger, { database });
      };
    },
  },
];

for (const store of sharedStores) {
  describe.skipIf(!store.run)(`two instances sharing ${store.name}`, () => {
    const urls: string[] = [];
    const states: SharedState[] = [];

    beforeAll(async () => {
      const open = await store.open();
      for (let i = 0; i < 2; i++) {
        const state = await open();
        states.push(state);
        const adapter = await startAdapter({
          conversations: layerOver(answerer, { dedupe: state.dedupe, logger }),
        });
        urls.push(`http://127.0.0.1:${adapter.port}/slack/events`);
      }
    });
    afterAll(async () => {
      for (const state of states) await state.close();
    });

    it('answers a signed /ask replayed to the other instance once', async () => {
      const channel = `C0HOSTS${store.name.toUpperCase()}`;
      const question = `Which port does the bot listen on (${store.name})?`;
      const body = askBody(question, 'U78', channel, `h-${store.name}`);
      const headers = {
        'content-type': 'application/x-www-form-urlencoded',
        ...signSlackRequest(SECRET, body),
      };
      const before = replays();
      for (const url of urls) expect((await fetch(url, { method: 'POST', headers, body })).status).toBe(200);
      expect(replays() - before).toBe(1);
      await waitFor(
        () => slack.messages(channel).some((m) => m.text.includes(`asked: ${question}`)),
        'the question',
      );
    });

    it("answers an event and Slack's retry of it (a new signature, the same event id) once", async () => {
      const channel = `C0RETRY${store.name.toUpperCase()}`;
      const text = '<@UBOT> where are the logs?';
      const ts = slack.addUserMessage(channel, 'U79', text);
      const event = eventEnvelope(
        { type: 'app_mention', user: 'U79', text, ts, channel },
        slack.teamId,
        `EvHosts${store.name}`,
      );
      expect((await sendToBolt(urls[0]!, event, 'application/json', { secret: SECRET })).status).toBe(200);
      // Slack's retry a second later: its timestamp, and so its signature, differ.
      expect(
        (
          await sendToBolt(urls[1]!, event, 'application/json', {
            secret: SECRET,
            retryNum: 1,
            ageSeconds: -1,
          })
        ).status,
      ).toBe(200);
      // A second question in another thread after both: once it is answered, so would a duplicate be.
      const later = slack.addUserMessage(channel, 'U79', text);
      await sendToBolt(
        urls[1]!,
        eventEnvelope({ type: 'app_mention', user: 'U79', text, ts: later, channel }, slack.teamId),
        'application/json',
        {
          secret: SECRET,
        },
      );
      const answered = (root: string) =>
        slack
          .callsTo('chat.startStream')
          .filter((c) => c.args.channel === channel && c.args.thread_ts === root).length +
        slack
          .callsTo('chat.postMessage')
          .filter((c) => c.args.channel === channel && c.args.thread_ts === root).length;
      await waitFor(() => answered(later) > 0 && answered(ts) > 0, 'both answers started');
      expect(answered(ts)).toBe(1);
    });
  });
}
