/**
 * Discord: a MESSAGE_CREATE mentioning the bot on the fake gateway → the first answer text
 * reaching the fake REST API (in the thread the bot opens), at 1, 10 and 100 concurrent
 * conversations. Groq and Upstash fakes run in their own process with injected latency;
 * overhead is measured against the bare-HTTP baseline at the same concurrency. Also counts
 * REST calls per answer. Target: overhead ≤ 10 ms p50.
 *
 * Discord allows a bot 50 REST requests per second across all routes, and @discordjs/rest
 * enforces that on the client side by queueing: at 3 calls per mention, more than ~16 new
 * conversations a second wait for the next second's budget. That pacing, not this code, is
 * what the 10- and 100-concurrent rows mostly show (a real bot is paced the same way).
 */
import { performance } from 'node:perf_hooks';
import { createDiscordAdapter } from '../../src/platforms/discord/index.js';
import { startFakeDiscord } from '../../test/fakes/discord/index.js';
import { layerOver } from '../../test/support/conversations.js';
import { bareRoundTrip } from '../baseline.js';
import { startRemoteFakes } from '../fakes-process.js';
import { measureOverhead } from '../measure.js';
import { coreOverFakes } from '../remote-core.js';
import { ms } from '../stats.js';
import type { BenchRow, BenchSuite } from '../types.js';

/** Discord's global REST limit per bot token (requests per second). */
const GLOBAL_REQUESTS_PER_SECOND = 50;

const suite: BenchSuite = {
  name: 'discord',
  async run(): Promise<BenchRow[]> {
    const fakes = await startRemoteFakes({ groqFirstTokenMs: 50, upstashMs: 20 });
    const discord = await startFakeDiscord();
    const core = await coreOverFakes(fakes, 1);
    const adapter = createDiscordAdapter({
      config: { token: discord.token, apiURL: discord.apiURL, allowedChannels: [] },
      conversations: layerOver(core),
    });
    await adapter.start();

    /** Sends one mention and resolves when its first answer text reaches Discord. */
    const firstText = (): Promise<{ ms: number; thread: string }> =>
      new Promise((resolve) => {
        const started = performance.now();
        let thread = '';
        const stop = discord.onCall((call) => {
          if (call.method === 'POST' && call.path === `/channels/${thread}/messages` && call.body?.content) {
            stop();
            resolve({ ms: performance.now() - started, thread });
          }
        });
        thread = discord.userMessage({
          content: `<@${discord.botUserId}> How do I add the bot to Slack?`,
        }).id;
      });

    try {
      let lastThread = '';
      const samples = await measureOverhead(
        async () => {
          const result = await firstText();
          lastThread = result.thread;
          return result.ms;
        },
        () => bareRoundTrip(fakes),
      );
      const rows = samples.map(
        (sample): BenchRow => ({
          suite: 'discord',
          metric: `event in → first text posted, overhead at ${sample.concurrency} concurrent (p50 / p99)${
            sample.concurrency > 1
              ? `, paced by Discord's ${GLOBAL_REQUESTS_PER_SECOND} requests/s limit`
              : ''
          }`,
          value: `${ms(sample.p50)} / ${ms(sample.p99)}`,
          target: '≤ 10 ms p50',
          pass: sample.p50 <= 10,
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const calls = discord.calls.filter((c) => c.path.includes(lastThread));
      const kinds = calls.map((c) => `${c.method} ${c.path.replace(/\d{6,}/g, ':id')}`).join(', ');
      rows.push({
        suite: 'discord',
        metric: 'REST calls per answer (mention → thread)',
        value: `${calls.length} (${kinds})`,
      });
      return rows;
    } finally {
      await adapter.stop();
      await discord.close();
      await fakes.stop();
    }
  },
};

export default suite;
