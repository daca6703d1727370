/**
 * Several hosts, one bot: two instances started as `npm start` (the compiled bot), each with its
 * own data folder as on separate machines, sharing one DATABASE_URL and one Redis, with the
 * Slack fake in front; `npm run ingest` and `npm run report` run from a third host. The
 * PostgreSQL server is this file's own, so it can be stopped and started again mid-test.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startArguments } from '../../bench/support/compiled-bot.js';
import { type FakeDocsSite, startFakeDocsSite } from '../fakes/docs-site/index.js';
import { type FakeGroq, startFakeGroq } from '../fakes/groq/index.js';
import {
  blockActionBody,
  eventEnvelope,
  type FakeSlack,
  sendToBolt,
  slashCommandBody,
  startFakeSlack,
} from '../fakes/slack/index.js';
import { freePort } from '../support/net.js';
import { answersLocated, havePostgres } from '../support/postgres.js';
import {
  type Cluster,
  postgresBinaries,
  startCluster,
  startServer,
  stopCluster,
  stopServer,
} from '../support/postgres-cluster.js';
import { haveRedis, type RedisServer, startRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { ROOT, runCli, tempDataDir } from './cli.js';

const SECRET = 'several-hosts-signing-secret';
const canRun = havePostgres && haveRedis && postgresBinaries() !== undefined;

interface Instance {
  readonly name: string;
  readonly base: string;
  readonly child: ChildProcess;
  output(): string;
}

let cluster: Cluster;
let databaseURL: string;
let redis: RedisServer;
let slack: FakeSlack;
let groq: FakeGroq;
let site: FakeDocsSite;
const instances: Instance[] = [];

/** Environment shared by every host: one database, one Redis, the fakes. */
const shared = () => ({
  DATABASE_URL: databaseURL,
  REDIS_URL: redis.url,
  GROQ_API_KEY: groq.apiKey,
  GROQ_BASE_URL: groq.baseURL,
  LOG_LEVEL: 'info',
  // An instance silent for 3 s has its answers finished by another (15 s by default).
  ANSWER_TAKEOVER_MS: '3000',
});

async function startInstance(name: string): Promise<Instance> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, startArguments(), {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      RAG_DOTENV: 'off',
      ...shared(),
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiURL,
      RAG_DATA_DIR: await tempDataDir(),
      PORT: String(port),
      RATE_LIMIT_CHANNEL_PER_MINUTE: '0',
      SLACK_ADMIN_USERS: 'UADMIN',
      CRAWL_DELAY_MS: '0',
      // The docs site fake is on the loopback, which /kb add refuses unless the operator allows it.
      CRAWL_ALLOW_PRIVATE: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited: ${output}`);
      return (await fetch(`${base}/readyz`).catch(() => undefined))?.ok;
    },
    `${name} ready`,
    60_000,
  );
  const instance = { name, base, child, output: () => output };
  instances.push(instance);
  return instance;
}

/** A mention delivered to `instance`, as Slack's load balancer would; the same event id when retried. */
async function deliver(
  instance: Instance,
  channel: string,
  ts: string,
  text: string,
  eventId: string,
  user = 'U1',
) {
  const response = await sendToBolt(
    `${instance.base}/slack/events`,
    eventEnvelope({ type: 'app_mention', user, text, ts, channel }, slack.teamId, eventId),
    'application/json',
    { secret: SECRET },
  );
  expect(response.status).toBe(200);
}

let commands = 0;
/** `/kb <text>` through `instance` by an admin; the first `replies` private replies. */
async function kb(instance: Instance, text: string, replies = 1): Promise<string[]> {
  const id = `kb-${++commands}`;
  const response = await sendToBolt(
    `${instance.base}/slack/events`,
    slashCommandBody({
      command: '/kb',
      text,
      user_id: 'UADMIN',
      channel_id: 'C0KB',
      response_url: slack.responseURL(id),
    }),
    'application/x-www-form-urlencoded',
    { secret: SECRET },
  );
  expect(response.status).toBe(200);
  return waitFor(
    () => {
      const got = (slack.responses.get(id) ?? []) as { text?: string }[];
      return got.length >= replies ? got.map((reply) => reply.text ?? '') : undefined;
    },
    `the replies to /kb ${text}`,
    60_000,
  );
}

/**
 * The finished answers in the thread of `rootTs`: a streamed answer's stop, or a reply posted
 * whole (a refusal or an apology is one chat.postMessage).
 */
const answersIn = (channel: string, rootTs: string) =>
  slack.calls.filter(
    (call) =>
      (call.method === 'chat.stopStream' &&
        slack.messages(channel).some((m) => m.ts === call.args.ts && m.thread_ts === rootTs)) ||
      (call.method === 'chat.postMessage' && call.args.channel === channel && call.args.thread_ts === rootTs),
  );

async function ask(instance: Instance, channel: string, question: string, eventId: string, user = 'U1') {
  const text = `<@${slack.botUserId}> ${question}`;
  const ts = slack.addUserMessage(channel, user, text);
  await deliver(instance, channel, ts, text, eventId, user);
  const stop = await waitFor(() => answersIn(channel, ts)[0], `${instance.name}'s answer`, 30_000);
  return { root: ts, ts: String(stop.args.ts), body: JSON.stringify(stop.args) };
}

/** Everything the bot wrote into a thread: streamed text and final blocks. */
const threadText = (channel: string, rootTs: string) =>
  slack.calls
    .filter((call) => call.args.channel === channel)
    .filter(
      (call) =>
        call.args.thread_ts === rootTs ||
        slack.messages(channel).some((m) => m.ts === call.args.ts && m.thread_ts === rootTs),
    )
    .map((call) => JSON.stringify(call.args))
    .join('\n');

beforeAll(async () => {
  if (!canRun) return;
  // `npm start` runs the compiled bot; compile it once (a no-op when up to date).
  const built = spawnSync(process.execPath, ['scripts/ensure-built.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);
  [cluster, redis, slack, groq, site] = await Promise.all([
    startCluster(),
    startRedis(),
    startFakeSlack(),
    startFakeGroq(),
    startFakeDocsSite(),
  ]);
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query('CREATE DATABASE bot');
  await admin.end();
  const url = new URL(cluster.url);
  url.pathname = '/bot';
  databaseURL = url.href;
}, 180_000);

afterAll(async () => {
  await Promise.all(
    instances.map(async (instance) => {
      // A process killed by a signal has no exit code, but its signal.
      if (instance.child.exitCode === null && instance.child.signalCode === null) {
        instance.child.kill('SIGKILL');
        await once(instance.child, 'exit');
      }
    }),
  );
  await Promise.all([redis?.stop(), slack?.close(), groq?.close(), site?.close()]);
  if (cluster) stopCluster(cluster.dir);
});

describe.skipIf(!canRun)('several hosts sharing one PostgreSQL and one Redis', { timeout: 120_000 }, () => {
  let a: Instance;
  let b: Instance;

  it('answers on every instance from knowledge ingested on a third host', async () => {
    const docs = join(await tempDataDir(), 'docs');
    await mkdir(docs, { recursive: true });
    await writeFile(
      join(docs, 'zebra-policy.md'),
      '# Zebra crossing policy\n\nVisitors cross the car park only at the zebra crossing by gate four, escorted by a host.\n',
    );
    const ingest = await runCli('src/cli/ingest.ts', [docs], {
      env: { ...shared(), RAG_DATA_DIR: await tempDataDir() },
      timeoutMs: 60_000,
    });
    expect(ingest.code).toBe(0);
    [a, b] = await Promise.all([startInstance('A'), startInstance('B')]);
    for (const [instance, channel] of [
      [a, 'C0HOSTA'],
      [b, 'C0HOSTB'],
    ] as const) {
      const answer = await ask(instance, channel, 'Where do visitors cross the car park?', `Ev-${channel}`);
      expect(answer.body).toContain('feedback_up');
      expect(threadText(channel, answer.root)).toContain('Zebra crossing policy');
    }
  });

  it('answers through one instance from a site /kb add put in through another', async () => {
    const id = 'kb-add';
    const response = await sendToBolt(
      `${a.base}/slack/events`,
      slashCommandBody({
        command: '/kb',
        text: `add ${site.url}/docs/ default`,
        user_id: 'UADMIN',
        channel_id: 'C0KB',
        response_url: slack.responseURL(id),
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    expect(response.status).toBe(200);
    // The crawl's summary comes privately once A has synced the site.
    await waitFor(
      () => JSON.stringify(slack.responses.get(id) ?? []).includes('page(s) added'),
      'the sync summary',
      60_000,
    );
    const answer = await ask(b, 'C0KBB', 'How do I install the Acme widget?', 'Ev-kb-add');
    expect(threadText('C0KBB', answer.root)).toContain('Installing the widget');
  });

  it('lists, syncs and removes through one instance a source /kb add put in through another', async () => {
    const [listed] = await kb(b, 'list');
    const number = /#(\d+) /.exec(listed ?? '')?.[1];
    expect(listed).toContain(`${site.url}/docs/`);
    expect(listed).toMatch(/page\(s\), \d+ passage\(s\), last sync .* ok/);
    site.setPage('/docs/install.html', 'Installing the widget', 'Install the widget with the zorblax tool.');
    const [, synced] = await kb(b, `sync ${number}`, 2);
    expect(synced).toContain(`Synced ${site.url}/docs/: 0 page(s) added, 1 updated`);
    const [removed] = await kb(b, `remove ${number}`);
    expect(removed).toContain(`Removed ${site.url}/docs/`);
    expect((await kb(a, 'list'))[0]).toBe('No sources yet. Add one with `/kb add <url>`.');
    const after = await ask(a, 'C0KBGONE', 'How do I install the Acme widget?', 'Ev-kb-gone');
    expect(threadText('C0KBGONE', after.root)).not.toContain('Installing the widget');
  });

  it('answers once an event delivered to both instances', async () => {
    const channel = 'C0TWICE';
    const text = `<@${slack.botUserId}> How do visitors cross the car park?`;
    const ts = slack.addUserMessage(channel, 'U1', text);
    await Promise.all([deliver(a, channel, ts, text, 'Ev-twice'), deliver(b, channel, ts, text, 'Ev-twice')]);
    await waitFor(() => answersIn(channel, ts)[0], 'the answer');
    // Both instances have acknowledged and had time to start; only one opened a reply.
    await waitFor(() => groq.chatRequests().length > 0, 'the model call');
    expect(slack.callsTo('chat.startStream').filter((call) => call.args.thread_ts === ts)).toHaveLength(1);
  });

  it('puts a 👎 cast through one instance, on an answer another gave, in npm run report on a third host', async () => {
    const channel = 'C0VOTE';
    const answer = await ask(b, channel, 'Which gate has the zebra crossing?', 'Ev-vote');
    const questionId = /"value":"([^"]+)"/.exec(answer.body)?.[1] ?? '';
    expect(questionId).not.toBe('');
    const response = await sendToBolt(
      `${a.base}/slack/events`,
      blockActionBody({
        user: { id: 'U2' },
        channel: { id: channel },
        message: { ts: answer.ts, thread_ts: answer.root },
        trigger_id: 'trigger-vote',
        actions: [
          { type: 'button', action_id: 'feedback_down', value: questionId, block_id: `b_${questionId}` },
        ],
      }),
      'application/x-www-form-urlencoded',
      { secret: SECRET },
    );
    expect(response.status).toBe(200);
    const report = await waitFor(
      async () => {
        const run = await runCli('src/cli/report.ts', ['--json'], {
          env: { DATABASE_URL: databaseURL, RAG_DATA_DIR: await tempDataDir() },
          timeoutMs: 30_000,
        });
        const parsed = JSON.parse(run.stdout) as { votedDown: { question: string }[] };
        return parsed.votedDown.length > 0 ? parsed : undefined;
      },
      'the vote in the report',
      30_000,
    );
    expect(JSON.stringify(report.votedDown)).toContain('zebra crossing');
  });

  it('finishes, in the same message, an answer whose instance is killed mid-stream', async () => {
    const k = await startInstance('K');
    const channel = 'C0KILL';
    groq.failNext({ type: 'stall' });
    const text = `<@${slack.botUserId}> Where do visitors cross the car park?`;
    const root = slack.addUserMessage(channel, 'U1', text);
    await deliver(k, channel, root, text, 'Ev-kill');
    const ts = await waitFor(
      () => slack.messages(channel).find((m) => m.thread_ts === root && m.user === slack.botUserId)?.ts,
      "K's reply",
    );
    // Half the answer streams into K's message; then the model stalls and K is killed.
    await waitFor(
      () => slack.callsTo('chat.appendStream').some((call) => call.args.ts === ts && call.args.markdown_text),
      'half the answer',
    );
    await waitFor(() => answersLocated(databaseURL), 'the reply recorded');
    k.child.kill('SIGKILL');
    await once(k.child, 'exit');
    const half = slack.messages(channel).find((m) => m.ts === ts)!.text;
    expect(half).not.toContain('escorted by a host');
    // Another instance stops K's stream and writes the whole answer over the half-written one.
    const finished = await waitFor(
      () =>
        slack
          .callsTo('chat.update')
          .find((call) => call.args.ts === ts && JSON.stringify(call.args).includes('feedback_up')),
      'the answer finished by another instance',
      30_000,
    );
    expect(slack.callsTo('chat.stopStream').some((call) => call.args.ts === ts)).toBe(true);
    const message = slack.messages(channel).find((m) => m.ts === ts)!;
    expect(message.streaming).toBe(false);
    expect(message.text).toContain('escorted by a host');
    expect(message.text.indexOf(half.trim().slice(0, 20))).toBe(
      message.text.lastIndexOf(half.trim().slice(0, 20)),
    );
    expect(JSON.stringify(finished.args)).toContain('Zebra crossing policy');
    // One reply in the thread: finished where it was, not posted again.
    expect(
      slack.messages(channel).filter((m) => m.thread_ts === root && m.user === slack.botUserId),
    ).toHaveLength(1);
  });

  it('says the knowledge base is unavailable while PostgreSQL is down, and answers again once it is back', async () => {
    stopServer(cluster.dir);
    try {
      const channel = 'C0OUTAGE';
      const during = await ask(a, channel, 'Where do visitors cross the car park?', 'Ev-outage');
      expect(threadText(channel, during.root)).toMatch(/knowledge base is unavailable/i);
    } finally {
      startServer(cluster.dir);
    }
    const after = await waitFor(
      async () => {
        const answer = await ask(
          a,
          'C0RECOVER',
          'Where do visitors cross the car park?',
          `Ev-recover-${Date.now()}`,
        );
        return threadText('C0RECOVER', answer.root).includes('Zebra crossing policy') ? answer : undefined;
      },
      'an answer after the restart',
      60_000,
    );
    expect(after.body).toContain('feedback_up');
  });
  it('finishes in the same message an answer PostgreSQL was restarted under, and says what failed meanwhile', async () => {
    const channel = 'C0PGRESTART';
    let resume!: () => void;
    groq.failNext({ type: 'pause', until: new Promise<void>((resolve) => (resume = resolve)) });
    const text = `<@${slack.botUserId}> Where do visitors cross the car park?`;
    // Other people than the earlier tests' asker, whose questions this minute reached their limit.
    const root = slack.addUserMessage(channel, 'U4', text);
    await deliver(a, channel, root, text, 'Ev-pg-restart', 'U4');
    const ts = await waitFor(
      () => slack.messages(channel).find((m) => m.thread_ts === root && m.user === slack.botUserId)?.ts,
      "A's reply",
    );
    await waitFor(
      () => slack.callsTo('chat.appendStream').some((call) => call.args.ts === ts && call.args.markdown_text),
      'half the answer',
    );
    await waitFor(() => answersLocated(databaseURL), 'the reply recorded');
    const half = slack.messages(channel).find((m) => m.ts === ts)!.text;
    const pausesBefore = a.output().split('its text kept').length;

    stopServer(cluster.dir);
    const stoppedAt = performance.now();
    try {
      // A question asked meanwhile is told plainly what is wrong.
      const during = await ask(b, 'C0PGDOWN', 'Where do visitors cross the car park?', 'Ev-pg-down', 'U5');
      expect(threadText('C0PGDOWN', during.root)).toMatch(/knowledge base is unavailable/i);
      // The outage outlasts ANSWER_TAKEOVER_MS, so A's record looks silent once the database is
      // back. (Setting the scene only: nothing below depends on how long it really lasted.)
      await waitFor(() => performance.now() - stoppedAt > 3_500, 'an outage longer than the takeover time');
      // The model goes on; A, unable to confirm the answer is still its own, keeps the text.
      const shown = slack.messages(channel).find((m) => m.ts === ts)!.text;
      const writes = slack.calls.filter((call) => call.args.ts === ts).length;
      resume();
      await waitFor(() => a.output().split('its text kept').length > pausesBefore, "A's answer paused");
      expect(slack.messages(channel).find((m) => m.ts === ts)!.text).toBe(shown);
      expect(slack.calls.filter((call) => call.args.ts === ts)).toHaveLength(writes);
    } finally {
      resume();
      startServer(cluster.dir);
    }

    // Back: A's heartbeat says the answer is still A's and A finishes it where it was, or, if
    // that heartbeat comes after B's first look (a busy machine), B takes it over into the same
    // message. Either way the asker sees one message, finished, with the answer once.
    const finished = await waitFor(
      () =>
        slack.calls.find(
          (call) =>
            call.args.ts === ts &&
            (call.method === 'chat.stopStream' || call.method === 'chat.update') &&
            JSON.stringify(call.args).includes('feedback_up'),
        ),
      'the answer finished',
      30_000,
    );
    const message = slack.messages(channel).find((m) => m.ts === ts)!;
    expect(message.streaming).toBe(false);
    expect(message.text).toContain('escorted by a host');
    expect(message.text.indexOf(half.trim().slice(0, 20))).toBe(
      message.text.lastIndexOf(half.trim().slice(0, 20)),
    );
    // Not cut off, not posted twice: one reply in the thread, finished once.
    expect(
      slack.calls.filter((call) => call.args.ts === ts && JSON.stringify(call.args).includes('feedback_up')),
    ).toHaveLength(1);
    expect(
      slack.messages(channel).filter((m) => m.thread_ts === root && m.user === slack.botUserId),
    ).toHaveLength(1);

    // The answer is on record, and a vote on it through the other instance is kept.
    const questionId = /"value":"([^"]+)"/.exec(JSON.stringify(finished.args))?.[1] ?? '';
    expect(questionId).not.toBe('');
    const db = new pg.Client({ connectionString: databaseURL });
    await db.connect();
    try {
      await waitFor(
        async () =>
          (await db.query('SELECT outcome FROM answer_records WHERE question_id = $1', [questionId])).rows[0]
            ?.outcome === 'answered',
        'the answer recorded',
      );
      const response = await sendToBolt(
        `${b.base}/slack/events`,
        blockActionBody({
          user: { id: 'U3' },
          channel: { id: channel },
          message: { ts, thread_ts: root },
          trigger_id: 'trigger-restart-vote',
          actions: [
            { type: 'button', action_id: 'feedback_up', value: questionId, block_id: `b_${questionId}` },
          ],
        }),
        'application/x-www-form-urlencoded',
        { secret: SECRET },
      );
      expect(response.status).toBe(200);
      await waitFor(
        () =>
          slack
            .callsTo('chat.postEphemeral')
            .some((call) => call.args.channel === channel && call.args.user === 'U3'),
        'the thanks',
      );
      await waitFor(
        async () =>
          (await db.query('SELECT vote FROM answer_feedback WHERE question_id = $1', [questionId])).rows[0]
            ?.vote === 'up',
        'the vote recorded',
      );
    } finally {
      await db.end();
    }
  });
});
