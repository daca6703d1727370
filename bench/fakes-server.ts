/**
 * Runs the Groq and Upstash fakes in their own process for benchmarks, so their work does
 * not count as our overhead. Prints one JSON line with their addresses, then serves until
 * stdin closes. Injected latency comes from the environment.
 */
import { startFakeGroq } from '../test/fakes/groq/index.js';
import { startFakeUpstash } from '../test/fakes/upstash/index.js';

const groq = await startFakeGroq({ firstTokenDelayMs: Number(process.env.BENCH_GROQ_FIRST_TOKEN_MS ?? 0) });
const upstash = await startFakeUpstash({ latencyMs: Number(process.env.BENCH_UPSTASH_LATENCY_MS ?? 0) });
process.stdout.write(
  `${JSON.stringify({ groqURL: groq.baseURL, groqKey: groq.apiKey, upstashURL: upstash.url, upstashToken: upstash.token })}\n`,
);
process.stdin.resume();
process.stdin.on('end', async () => {
  await groq.close();
  await upstash.close();
  process.exit(0);
});
