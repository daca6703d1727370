/**
 * Core overhead: time from asking to the first answer token through the core and the real
 * SDKs, against fakes (in their own process) that inject Upstash and Groq latency, at 1, 10
 * and 100 concurrent questions. The overhead is judged against a baseline of the same two
 * HTTP calls made with bare fetch at the same concurrency, which absorbs the fakes' own
 * timer slop and loopback HTTP cost. Target: ≤ 5 ms p50, ≤ 25 ms p99.
 */
import { performance } from 'node:perf_hooks';
import { bareRoundTrip } from '../baseline.js';
import { startRemoteFakes } from '../fakes-process.js';
import { coreOverFakes } from '../remote-core.js';
import { ms, percentile } from '../stats.js';
import type { BenchRow, BenchSuite } from '../types.js';

const UPSTASH_MS = 20;
const GROQ_FIRST_TOKEN_MS = 50;
const INJECTED = UPSTASH_MS + GROQ_FIRST_TOKEN_MS;

const suite: BenchSuite = {
  name: 'core',
  async run(): Promise<BenchRow[]> {
    const fakes = await startRemoteFakes({ groqFirstTokenMs: GROQ_FIRST_TOKEN_MS, upstashMs: UPSTASH_MS });
    try {
      const core = await coreOverFakes(fakes);
      const firstToken = async (i: number): Promise<number> => {
        const started = performance.now();
        for await (const event of core.answer({
          id: `b${i}`,
          text: 'How do I add the bot to Slack?',
          place: { platform: 'terminal' },
        })) {
          if (event.type === 'delta') return performance.now() - started;
          if (event.type === 'failure') throw new Error(event.failure.message);
        }
        throw new Error('no answer text');
      };
      const baseline = () => bareRoundTrip(fakes);
      // Warm up connections and JIT on both paths.
      await Promise.all(Array.from({ length: 20 }, (_, i) => firstToken(i)));
      await Promise.all(Array.from({ length: 20 }, () => baseline()));
      const rows: BenchRow[] = [];
      for (const [concurrency, rounds] of [
        [1, 60],
        [10, 12],
        [100, 3],
      ] as const) {
        const core: number[] = [];
        const bare: number[] = [];
        // Alternate the two so both see the same machine load.
        for (let round = 0; round < rounds; round++) {
          core.push(...(await Promise.all(Array.from({ length: concurrency }, (_, i) => firstToken(i)))));
          bare.push(...(await Promise.all(Array.from({ length: concurrency }, () => baseline()))));
        }
        const p50 = percentile(core, 50) - percentile(bare, 50);
        const p99 = percentile(core, 99) - percentile(bare, 99);
        rows.push(
          {
            suite: 'core',
            metric: `first token at ${concurrency} concurrent: core / bare HTTP (p50)`,
            value: `${ms(percentile(core, 50))} / ${ms(percentile(bare, 50))} (injected ${INJECTED} ms)`,
          },
          {
            suite: 'core',
            metric: `core overhead at ${concurrency} concurrent (p50 / p99)`,
            value: `${ms(p50)} / ${ms(p99)}`,
            target: '≤ 5 ms / ≤ 25 ms',
            pass: p50 <= 5 && p99 <= 25,
          },
        );
      }
      return rows;
    } finally {
      await fakes.stop();
    }
  },
};

export default suite;
