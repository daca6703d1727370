/**
 * The compiled bot (Slack over HTTP, answers from the Groq fake) with a large store: its idle RSS
 * and peak over 50 concurrent mentions, and how fast Slack's events are acknowledged. Shared by
 * the store suites; the store comes from `env` (RAG_DATA_DIR, or DATABASE_URL).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { eventEnvelope, sendToBolt, startFakeSlack } from '../../test/fakes/slack/index.js';
import { startRemoteFakes } from '../fakes-process.js';
import { questions } from '../store-corpus.js';
import { buildBot, type MeasuredProcess, settle, startCompiledBot } from './compiled-bot.js';

export const MENTIONS = 50;
const SECRET = 'store-bench-signing-secret';
const root = join(import.meta.dirname, '../..');
export const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;
export const seconds = (milliseconds: number) => `${(milliseconds / 1000).toFixed(1)} s`;

/** Runs a TypeScript entry point in its own process; resolves with its stdout once it exits 0. */
export async function runChild(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
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

export interface BotFigures {
  readonly idleRSS: number;
  readonly peakRSS: number;
  readonly acks: number[];
  readonly firstTexts: number[];
}

/** The compiled bot with the store, 50 mentions at once through Bolt's HTTP receiver. */
export async function botWithStore(store: Record<string, string>): Promise<BotFigures> {
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
      ...store,
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
