/**
 * The embedded store at 100,000 chunks: `npm run ingest` of a synthetic corpus (time, peak
 * RSS), a process holding the store (open time, query p50/p99 over 1,000 questions, RSS), a
 * plain in-memory BM25 library over the same records as the baseline, and the compiled bot
 * (Slack over HTTP, answers from the Groq fake) with that store: its RSS, and how fast Slack's
 * events are acknowledged at 50 concurrent mentions. Targets from issue 10.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { eventEnvelope, sendToBolt, startFakeSlack } from '../../test/fakes/slack/index.js';
import { startRemoteFakes } from '../fakes-process.js';
import { ms, percentile } from '../stats.js';
import { questions, writeCorpus } from '../store-corpus.js';
import { buildBot, type MeasuredProcess, settle, startCompiledBot } from '../support/compiled-bot.js';
import type { BenchRow, BenchSuite } from '../types.js';

const CHUNKS = 100_000;
const QUERIES = 1_000;
const MENTIONS = 50;
const SECRET = 'store-bench-signing-secret';
const root = join(import.meta.dirname, '../..');
const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;
const seconds = (milliseconds: number) => `${(milliseconds / 1000).toFixed(1)} s`;

/** Runs a TypeScript entry point in its own process; resolves with its stdout once it exits 0. */
async function runChild(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, RAG_DOTENV: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${stderr.trim().slice(0, 300)}`);
  return stdout;
}

function rssFromMetrics(text: string): number {
  const line = text.split('\n').find((entry) => entry.startsWith('process_resident_memory_bytes'));
  return Number(line?.split(' ').at(-1) ?? 0);
}

interface BotFigures {
  readonly idleRSS: number;
  readonly peakRSS: number;
  readonly acks: number[];
  readonly firstTexts: number[];
}

/** The compiled bot with the store, 50 mentions at once through Bolt's HTTP receiver. */
async function botWithStore(data: string): Promise<BotFigures> {
  const fakes = await startRemoteFakes({ groqFirstTokenMs: 50, upstashMs: 20 });
  const slack = await startFakeSlack();
  let bot: MeasuredProcess | undefined;
  try {
    buildBot();
    bot = await startCompiledBot({
      SLACK_BOT_TOKEN: slack.token,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiURL,
      GROQ_API_KEY: fakes.groqKey,
      GROQ_BASE_URL: fakes.groqURL,
      RAG_DATA_DIR: data,
      LOG_LEVEL: 'warn',
      MAX_QUEUED_ANSWERS: String(MENTIONS),
      RATE_LIMIT_CHANNEL_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '0',
    });
    const { base } = bot;
    await settle();
    const idleRSS = rssFromMetrics(await (await fetch(`${base}/metrics`)).text());
    let peakRSS = idleRSS;
    const sampler = setInterval(async () => {
      const text = await (await fetch(`${base}/metrics`).catch(() => undefined))?.text();
      if (text) peakRSS = Math.max(peakRSS, rssFromMetrics(text));
    }, 100);

    const asked = questions(MENTIONS);
    const acks: number[] = [];
    const firstTexts: number[] = [];
    await Promise.all(
      asked.map(async (question, i) => {
        const channel = `CS${i}`;
        const text = `<@UBOT> ${question}`;
        const ts = slack.addUserMessage(channel, `U${i}`, text);
        const started = performance.now();
        const first = slack.nextAnswerText(channel).then(() => performance.now() - started);
        const response = await sendToBolt(
          `${base}/slack/events`,
          eventEnvelope({ type: 'app_mention', user: `U${i}`, text, ts, channel }),
          'application/json',
          { secret: SECRET },
        );
        acks.push(performance.now() - started);
        if (!response.ok) throw new Error(`Bolt answered ${response.status}`);
        firstTexts.push(await first);
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // answers finish streaming
    clearInterval(sampler);
    return { idleRSS, peakRSS, acks, firstTexts };
  } finally {
    await bot?.stop();
    await slack.close();
    await fakes.stop();
  }
}

const suite: BenchSuite = {
  name: 'local-store',
  async run(): Promise<BenchRow[]> {
    const dir = await mkdtemp(join(tmpdir(), 'rag-bench-store-'));
    try {
      const corpus = await writeCorpus(join(dir, 'corpus'), CHUNKS);
      const data = join(dir, 'data');
      const peakFile = join(dir, 'ingest-peak-rss');

      const started = performance.now();
      await runChild(['--import', './bench/support/peak-rss.ts', 'src/cli/ingest.ts', corpus], {
        RAG_DATA_DIR: data,
        BENCH_PEAK_RSS_FILE: peakFile,
      });
      const ingestMs = performance.now() - started;
      const ingestPeak = Number(await readFile(peakFile, 'utf8'));

      const held = JSON.parse(await runChild(['bench/support/hold-store.ts', data, String(QUERIES)])) as {
        openMs: number;
        p50: number;
        p99: number;
        rssBefore: number;
        rss: number;
      };
      const wink = JSON.parse(await runChild(['bench/support/wink-scale.ts', corpus, String(QUERIES)])) as {
        buildMs: number;
        p50: number;
        p99: number;
        rss: number;
      };
      const bot = await botWithStore(data);
      const ackP50 = percentile(bot.acks, 50);
      const ackMax = Math.max(...bot.acks);
      const n = CHUNKS.toLocaleString('en-US');
      return [
        {
          suite: 'local-store',
          metric: `npm run ingest of ${n} chunks (100 JSON files): time / peak RSS`,
          value: `${seconds(ingestMs)} / ${mb(ingestPeak)}`,
          target: '≤ 60 s / ≤ 500 MB',
          pass: ingestMs <= 60_000 && ingestPeak <= 500e6,
        },
        {
          suite: 'local-store',
          metric: `open the ${n}-chunk store in a fresh process`,
          value: ms(held.openMs),
          target: '≤ 1 s',
          pass: held.openMs <= 1_000,
        },
        {
          suite: 'local-store',
          metric: `search at ${n} chunks, ${QUERIES.toLocaleString('en-US')} questions (p50 / p99)`,
          value: `${ms(held.p50)} / ${ms(held.p99)}`,
          target: '≤ 5 ms / ≤ 25 ms',
          pass: held.p50 <= 5 && held.p99 <= 25,
        },
        {
          suite: 'local-store',
          metric: `baseline, wink-bm25-text-search in memory on the same records: build / search p50 / p99 / RSS`,
          value: `${seconds(wink.buildMs)} / ${ms(wink.p50)} / ${ms(wink.p99)} / ${mb(wink.rss)}`,
        },
        {
          suite: 'local-store',
          metric: 'RSS of a process holding the store after those searches (tsx; before opening)',
          value: `${mb(held.rss)} (${mb(held.rssBefore)})`,
        },
        {
          suite: 'local-store',
          metric: `bot (compiled, Slack over HTTP) with the ${n}-chunk store: idle RSS / peak over 50 mentions`,
          value: `${mb(bot.idleRSS)} / ${mb(bot.peakRSS)}`,
          target: '≤ 200 MB',
          pass: bot.peakRSS <= 200e6,
        },
        {
          suite: 'local-store',
          metric: `Slack event acknowledged, ${MENTIONS} concurrent mentions with that store (p50 / max)`,
          value: `${ms(ackP50)} / ${ms(ackMax)}`,
          target: '< 1 s',
          pass: ackMax < 1_000,
        },
        {
          suite: 'local-store',
          metric: `first reply text in Slack at ${MENTIONS} concurrent mentions (p50 / max; Groq fake's first token 50 ms)`,
          value: `${ms(percentile(bot.firstTexts, 50))} / ${ms(Math.max(...bot.firstTexts))}`,
        },
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
