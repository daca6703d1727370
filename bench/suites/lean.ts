/**
 * Lean: what the production bot costs before it answers anything, and how soon an answer ends
 * once the model has finished.
 *
 * - start-up to listening, idle RSS and idle CPU of the compiled bot (`node dist/src/main.js`,
 *   Slack over HTTP, the embedded store), each beside a bare Node HTTP server started the same
 *   way in the same run, so the ratio says what the bot adds on this machine;
 * - production dependencies on disk (every non-dev package in the lockfile, as `npm ci
 *   --omit=dev` installs them);
 * - the model's last token → the platform's final call (Slack's chat.stopStream, Discord's
 *   final edit), in process, against the loopback fakes, beside the throttle interval the
 *   final write used to wait out.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AnswerEvent, Answerer, Question, Turn } from '../../src/core/types.js';
import { createDiscordAdapter } from '../../src/platforms/discord/index.js';
import { createSlackAdapter } from '../../src/platforms/slack/index.js';
import { startFakeDiscord } from '../../test/fakes/discord/index.js';
import { eventEnvelope, sendToBolt, startFakeSlack } from '../../test/fakes/slack/index.js';
import { layerOver } from '../../test/support/conversations.js';
import { startRemoteFakes } from '../fakes-process.js';
import { coreOverFakes } from '../remote-core.js';
import { ms, percentile } from '../stats.js';
import {
  buildBot,
  type MeasuredProcess,
  ROOT,
  settle,
  startCompiledBot,
  startProcess,
} from '../support/compiled-bot.js';
import type { BenchRow, BenchSuite } from '../types.js';

const SECRET = 'lean-signing-secret';
const RUNS = 5;
/** How long each idle process is watched for its CPU time. */
const IDLE_WINDOW_MS = 10_000;
const ANSWERS = 20;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** CPU time of every thread of a process so far, in ms (nanosecond counters, unlike /proc/pid/stat's ticks). */
async function cpuMsOf(pid: number): Promise<number> {
  let total = 0;
  for (const task of await readdir(`/proc/${pid}/task`)) {
    const schedstat = await readFile(`/proc/${pid}/task/${task}/schedstat`, 'utf8').catch(() => '0');
    total += Number(schedstat.split(' ')[0]) / 1e6;
  }
  return total;
}

/** Start-up time and settled RSS of one process, then stops it. */
async function startOnce(started: Promise<MeasuredProcess>) {
  const measured = await started;
  try {
    await settle();
    return { startupMs: measured.startupMs, rss: await rssOf(measured.pid) };
  } finally {
    await measured.stop();
  }
}

/** CPU spent per second of doing nothing, after start-up has settled, then stops the process. */
async function idleCpuOnce(started: Promise<MeasuredProcess>): Promise<number> {
  const measured = await started;
  try {
    await settle();
    const before = await cpuMsOf(measured.pid);
    await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
    return ((await cpuMsOf(measured.pid)) - before) / (IDLE_WINDOW_MS / 1000);
  } finally {
    await measured.stop();
  }
}

/** Bytes on disk of every production package in the lockfile. */
async function productionDependencyBytes(): Promise<number> {
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean; optional?: boolean }>;
  };
  const paths = Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev && !entry.devOptional)
    .map(([path]) => join(ROOT, path));
  // Nested packages sit inside their parents' folders: count each folder once, without them.
  let total = 0;
  for (const path of paths) {
    const out = execFileSync('du', ['-sb', '--exclude=node_modules', path], { encoding: 'utf8' }).trim();
    total += Number(out.split(/\s+/)[0] ?? 0);
  }
  return total;
}

/** An answerer that records when the core reported the end of each answer. */
class EndRecorder implements Answerer {
  readonly endedAt = new Map<string, number>();
  constructor(private readonly inner: Answerer) {}
  async *answer(question: Question, history?: readonly Turn[]): AsyncGenerator<AnswerEvent> {
    for await (const event of this.inner.answer(question, history)) {
      if (event.type === 'done')
        this.endedAt.set(question.place.threadId ?? question.place.channelId ?? '', performance.now());
      yield event;
    }
  }
}

const suite: BenchSuite = {
  name: 'lean',
  async run(): Promise<BenchRow[]> {
    buildBot();
    const rows: BenchRow[] = [];

    // Start-up and idle memory, bot against a bare server, alternating so both see the same machine.
    const slack = await startFakeSlack();
    const dataDir = await mkdtemp(join(tmpdir(), 'rag-bench-lean-'));
    const botEnv = {
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiURL,
      RAG_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    };
    const bare = [
      '-e',
      "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT))",
    ];
    // Production answers with Groq: its client is loaded at start-up (nothing is sent until a question).
    const groqEnv = { ...botEnv, GROQ_API_KEY: 'gsk_lean_bench', GROQ_BASE_URL: 'http://127.0.0.1:9' };
    const bots: { startupMs: number; rss: number }[] = [];
    const groqBots: { startupMs: number; rss: number }[] = [];
    const bares: { startupMs: number; rss: number }[] = [];
    const idleBots: number[] = [];
    const idleBares: number[] = [];
    try {
      await startOnce(startCompiledBot(botEnv)); // the first run indexes the sample knowledge
      for (let i = 0; i < RUNS; i++) {
        bots.push(await startOnce(startCompiledBot(botEnv)));
        groqBots.push(await startOnce(startCompiledBot(groqEnv)));
        bares.push(await startOnce(startProcess(bare, {}, '/')));
      }
      for (let i = 0; i < 3; i++) {
        idleBots.push(await idleCpuOnce(startCompiledBot(botEnv)));
        idleBares.push(await idleCpuOnce(startProcess(bare, {}, '/')));
      }
    } finally {
      await slack.close();
      await rm(dataDir, { recursive: true, force: true });
    }
    const startBot = percentile(
      bots.map((b) => b.startupMs),
      50,
    );
    const startBare = percentile(
      bares.map((b) => b.startupMs),
      50,
    );
    const rssBot = percentile(
      bots.map((b) => b.rss),
      50,
    );
    const rssGroqBot = percentile(
      groqBots.map((b) => b.rss),
      50,
    );
    const rssBare = percentile(
      bares.map((b) => b.rss),
      50,
    );
    rows.push(
      {
        suite: 'lean',
        metric: `start-up to listening, p50 of ${RUNS} (bot / bare Node server)`,
        value: `${ms(startBot)} / ${ms(startBare)} (×${(startBot / startBare).toFixed(1)})`,
      },
      {
        suite: 'lean',
        metric: 'idle RSS after start-up (bot with Slack + local store / bare Node server)',
        value: `${mb(rssBot)} / ${mb(rssBare)}`,
        target: '≤ 90 MB',
        pass: rssBot <= 90 * 2 ** 20,
      },
      {
        suite: 'lean',
        metric: 'idle RSS after start-up, answering with Groq (bot with Slack + Groq + local store)',
        value: mb(rssGroqBot),
        target: '≤ 90 MB',
        pass: rssGroqBot <= 90 * 2 ** 20,
      },
    );

    const idleBot = percentile(idleBots, 50);
    rows.push({
      suite: 'lean',
      metric: `idle CPU per second, p50 of 3 × ${IDLE_WINDOW_MS / 1000} s (bot with Slack + local store / bare Node server)`,
      value: `${idleBot.toFixed(2)} ms / ${percentile(idleBares, 50).toFixed(2)} ms`,
      target: '≤ 1 ms',
      pass: idleBot <= 1,
    });

    const depBytes = await productionDependencyBytes();
    rows.push({
      suite: 'lean',
      metric: 'production dependencies on disk',
      value: mb(depBytes),
      target: '≤ 120 MB',
      pass: depBytes <= 120 * 2 ** 20,
    });

    // The model's last token → the platform's final call, Slack and Discord, in process.
    const fakes = await startRemoteFakes({ groqFirstTokenMs: 0, upstashMs: 0 });
    const core = new EndRecorder(await coreOverFakes(fakes, 20));
    const slackFake = await startFakeSlack();
    const discordFake = await startFakeDiscord();
    const slackAdapter = createSlackAdapter({
      config: {
        botToken: slackFake.token,
        signingSecret: SECRET,
        apiURL: slackFake.apiURL,
        allowedChannels: [],
      },
      port: 0,
      conversations: layerOver(core),
    });
    const discordAdapter = createDiscordAdapter({
      config: { token: discordFake.token, apiURL: discordFake.apiURL, allowedChannels: [] },
      conversations: layerOver(core),
    });
    await Promise.all([slackAdapter.start(), discordAdapter.start()]);
    const slackGaps: number[] = [];
    const discordGaps: number[] = [];
    try {
      const url = `http://127.0.0.1:${slackAdapter.port}/slack/events`;
      for (let i = 0; i < ANSWERS; i++) {
        const channel = `CLEAN${i}`;
        const ts = slackFake.addUserMessage(channel, 'U1', '<@UBOT> How do I add the bot to Slack?');
        const ended = new Promise<number>((resolve) => {
          const off = slackFake.onCall((call) => {
            if (call.method === 'chat.stopStream' && call.args.channel === channel) {
              off();
              resolve(performance.now());
            }
          });
        });
        await sendToBolt(
          url,
          eventEnvelope({
            type: 'app_mention',
            user: 'U1',
            text: '<@UBOT> How do I add the bot to Slack?',
            ts,
            channel,
          }),
          'application/json',
          { secret: SECRET },
        );
        const finalCall = await ended;
        slackGaps.push(finalCall - (core.endedAt.get(ts) ?? finalCall));
      }
      for (let i = 0; i < ANSWERS; i++) {
        const { token } = discordFake.slashAsk({ question: 'How do I add the bot to Slack?' });
        const finalCall = await new Promise<number>((resolve) => {
          const off = discordFake.onCall((call) => {
            if (
              call.method === 'PATCH' &&
              call.path.includes(token) &&
              JSON.stringify(call.body).includes('feedback:up')
            ) {
              off();
              resolve(performance.now());
            }
          });
        });
        discordGaps.push(finalCall - (core.endedAt.get(discordFake.channelId) ?? finalCall));
      }
    } finally {
      await Promise.all([slackAdapter.stop(), discordAdapter.stop()]);
      await Promise.all([slackFake.close(), discordFake.close(), fakes.stop()]);
    }
    rows.push(
      {
        suite: 'lean',
        metric: `model's last token → Slack chat.stopStream, p50 / max of ${ANSWERS} (append interval 400 ms)`,
        value: `${ms(percentile(slackGaps, 50))} / ${ms(Math.max(...slackGaps))}`,
        target: '< append interval',
        pass: Math.max(...slackGaps) < 400,
      },
      {
        suite: 'lean',
        metric: `model's last token → Discord final edit, p50 / max of ${ANSWERS} (edit interval 1,000 ms)`,
        value: `${ms(percentile(discordGaps, 50))} / ${ms(Math.max(...discordGaps))}`,
        target: '< edit interval',
        pass: Math.max(...discordGaps) < 1_000,
      },
    );
    return rows;
  },
};

export default suite;
