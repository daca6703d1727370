/**
 * Load: the bot as it runs in production (the compiled build with npm start's flags, Slack
 * over HTTP) answering 500 questions from
 * 100 simulated users, who each ask 5 times at random moments over 10 seconds, against the
 * Groq and Upstash fakes (in their own process, with injected latency) and the Slack fake.
 * Outcomes, RSS and event-loop lag come from the bot's own /metrics. Targets: no failure
 * that is not a deliberate limit; idle RSS ≤ 150 MB.
 */
import { performance } from 'node:perf_hooks';
import { eventEnvelope, sendToBolt, startFakeSlack } from '../../test/fakes/slack/index.js';
import { startRemoteFakes } from '../fakes-process.js';
import { coreOverFakes } from '../remote-core.js';
import { ms, percentile } from '../stats.js';
import { buildBot, type MeasuredProcess, settle, startCompiledBot } from '../support/compiled-bot.js';
import type { BenchRow, BenchSuite } from '../types.js';

const USERS = 100;
const QUESTIONS_PER_USER = 5;
const WINDOW_MS = 10_000;
const INJECTED_MS = 70;
const SECRET = 'load-signing-secret';
const DELIBERATE = new Set(['slow_down', 'busy']);

function metric(text: string, name: string): number[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .map((line) => Number(line.split(' ').at(-1)));
}

const suite: BenchSuite = {
  name: 'load',
  async run(): Promise<BenchRow[]> {
    const fakes = await startRemoteFakes({ groqFirstTokenMs: 50, upstashMs: 20 });
    await coreOverFakes(fakes, 50); // seeds the Upstash fake with passages
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
        UPSTASH_VECTOR_REST_URL: fakes.upstashURL,
        UPSTASH_VECTOR_REST_TOKEN: fakes.upstashToken,
        RAG_MIN_SCORE: '0.5',
        LOG_LEVEL: 'warn',
      });
      const { base } = bot;
      await settle();
      const idleRSS =
        metric(await (await fetch(`${base}/metrics`)).text(), 'process_resident_memory_bytes')[0] ?? 0;

      let peakRSS = idleRSS;
      const sampler = setInterval(async () => {
        const text = await (await fetch(`${base}/metrics`).catch(() => undefined))?.text();
        if (text) peakRSS = Math.max(peakRSS, metric(text, 'process_resident_memory_bytes')[0] ?? 0);
      }, 250);

      const latencies: number[] = [];
      const pending: Promise<void>[] = [];
      for (let user = 0; user < USERS; user++) {
        for (let q = 0; q < QUESTIONS_PER_USER; q++) {
          const at = Math.random() * WINDOW_MS;
          pending.push(
            new Promise<void>((resolve) => {
              setTimeout(async () => {
                // One channel per question so its first text is unambiguous; user limits still apply.
                const channel = `CL${user}Q${q}`;
                const ts = slack.addUserMessage(
                  channel,
                  `U${user}`,
                  '<@UBOT> How do I add the bot to Slack?',
                );
                const started = performance.now();
                // Bounded: a question that never gets text must not hold the run forever.
                const done = Promise.race([
                  slack.nextAnswerText(channel).then(() => {
                    latencies.push(performance.now() - started);
                  }),
                  new Promise<void>((finish) => setTimeout(finish, 30_000).unref()),
                ]);
                await sendToBolt(
                  `${base}/slack/events`,
                  eventEnvelope({
                    type: 'app_mention',
                    user: `U${user}`,
                    text: '<@UBOT> How do I add the bot to Slack?',
                    ts,
                    channel,
                  }),
                  'application/json',
                  { secret: SECRET },
                );
                await done;
                resolve();
              }, at);
            }),
          );
        }
      }
      await Promise.all(pending);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      clearInterval(sampler);
      const text = await (await fetch(`${base}/metrics`)).text();
      const outcomes = new Map<string, number>();
      for (const line of text.split('\n').filter((l) => l.startsWith('rag_questions_total{'))) {
        const outcome = /outcome="([^"]+)"/.exec(line)?.[1] ?? '?';
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + Number(line.split(' ').at(-1)));
      }
      const answered = outcomes.get('answered') ?? 0;
      const limited = [...outcomes].filter(([kind]) => DELIBERATE.has(kind)).reduce((n, [, v]) => n + v, 0);
      const failed = [...outcomes]
        .filter(([kind]) => kind !== 'answered' && !DELIBERATE.has(kind))
        .reduce((n, [, v]) => n + v, 0);
      const lagP99 = metric(text, 'nodejs_eventloop_lag_p99_seconds')[0] ?? 0;
      const lagMax = metric(text, 'nodejs_eventloop_lag_max_seconds')[0] ?? 0;
      const total = USERS * QUESTIONS_PER_USER;
      const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
      return [
        {
          suite: 'load',
          metric: `${total} questions from ${USERS} users in ${WINDOW_MS / 1000} s: answered / limited / failed`,
          value: `${answered} / ${limited} / ${failed}`,
          target: 'no failure but deliberate limits',
          pass: failed === 0 && answered + limited === total,
        },
        {
          suite: 'load',
          metric: 'event in → first text posted (p50 / p99), overhead over injected latency',
          value: `${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 99))} (overhead p50 ${ms(percentile(latencies, 50) - INJECTED_MS)})`,
        },
        {
          suite: 'load',
          metric: 'event-loop lag (p99 / max)',
          value: `${ms(lagP99 * 1000)} / ${ms(lagMax * 1000)}`,
        },
        { suite: 'load', metric: 'peak RSS under load', value: mb(peakRSS) },
        {
          suite: 'load',
          metric: 'idle RSS after start-up (compiled build, Slack configured)',
          value: mb(idleRSS),
          target: '≤ 150 MB',
          pass: idleRSS <= 150 * 2 ** 20,
        },
      ];
    } finally {
      await bot?.stop();
      await slack.close();
      await fakes.stop();
    }
  },
};

export default suite;
