/**
 * The embedded store at 100,000 chunks: `npm run ingest` of a synthetic corpus (time, peak
 * RSS), a process holding the store (open time, query p50/p99 over 1,000 questions, RSS), a
 * plain in-memory BM25 library over the same records as the baseline, and the compiled bot
 * (Slack over HTTP, answers from the Groq fake) with that store: its RSS, and how fast Slack's
 * events are acknowledged at 50 concurrent mentions. Targets from issue 10.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ms, percentile } from '../stats.js';
import { writeCorpus } from '../store-corpus.js';
import { botWithStore, MENTIONS, mb, runChild, seconds } from '../support/bot-with-store.js';
import type { BenchRow, BenchSuite } from '../types.js';

const CHUNKS = 100_000;
const QUERIES = 1_000;

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
      const bot = await botWithStore({ RAG_DATA_DIR: data });
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
