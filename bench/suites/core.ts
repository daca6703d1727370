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
import { measureOverhead } from '../measure.js';
import { coreOverFakes } from '../remote-core.js';
import { ms } from '../stats.js';
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
      const samples = await measureOverhead(firstToken, () => bareRoundTrip(fakes), [
        [1, 60],
        [10, 12],
        [100, 3],
      ]);
      const rows = samples.flatMap((sample): BenchRow[] => [
        {
          suite: 'core',
          metric: `first token at ${sample.concurrency} concurrent: core / bare HTTP (p50)`,
          value: `${ms(sample.measuredP50)} / ${ms(sample.bareP50)} (injected ${INJECTED} ms)`,
        },
        {
          suite: 'core',
          metric: `core overhead at ${sample.concurrency} concurrent (p50 / p99)`,
          value: `${ms(sample.p50)} / ${ms(sample.p99)}`,
          target: '≤ 5 ms / ≤ 25 ms',
          pass: sample.p50 <= 5 && sample.p99 <= 25,
        },
      ]);
      return rows;
    } finally {
      await fakes.stop();
    }
  },
};

export default suite;
