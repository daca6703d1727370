/**
 * The PostgreSQL store at 1,000,000 chunks (issue 20): `npm run ingest` of a synthetic corpus into
 * a throwaway PostgreSQL 15 server on this machine (durable settings: fsync and synchronous
 * commit on), query p50/p99 over 1,000 questions from a process holding the store as the bot
 * does, how often its top 3 equal an exhaustive ranking's, and the compiled bot's memory with
 * that store beside the embedded store at 100,000 chunks, both measured in this run. The machine
 * is shared: the load average while the suite ran is reported with the figures.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { startCluster, stopCluster } from '../../test/support/postgres-cluster.js';
import { ms, percentile } from '../stats.js';
import { writeCorpus } from '../store-corpus.js';
import { type BotFigures, botWithStore, mb, runChild, seconds } from '../support/bot-with-store.js';
import type { BenchRow, BenchSuite } from '../types.js';

const CHUNKS = Number(process.env.BENCH_POSTGRES_CHUNKS ?? 1_000_000);
const LOCAL_CHUNKS = 100_000;
const QUERIES = 1_000;
const COMPARED = 200;
const n = (count: number) => count.toLocaleString('en-US');

const suite: BenchSuite = {
  name: 'postgres-store',
  async run(): Promise<BenchRow[]> {
    const dir = await mkdtemp(join(tmpdir(), 'rag-bench-pg-'));
    const cluster = await startCluster({
      durable: true,
      settings: ['shared_buffers=1GB', 'max_wal_size=8GB', 'checkpoint_timeout=30min'],
    });
    const loads: number[] = [loadavg()[0]!];
    const sampler = setInterval(() => loads.push(loadavg()[0]!), 10_000);
    try {
      const admin = new pg.Client({ connectionString: cluster.url });
      await admin.connect();
      await admin.query('CREATE DATABASE bench');
      const url = new URL(cluster.url);
      url.pathname = '/bench';
      const corpus = await writeCorpus(join(dir, 'corpus'), CHUNKS);
      const peakFile = join(dir, 'ingest-peak-rss');
      const data = join(dir, 'data');

      let started = performance.now();
      await runChild(['--import', './bench/support/peak-rss.ts', 'src/cli/ingest.ts', corpus], {
        DATABASE_URL: url.href,
        RAG_DATA_DIR: data,
        BENCH_PEAK_RSS_FILE: peakFile,
      });
      const ingestMs = performance.now() - started;
      const ingestPeak = Number(await readFile(peakFile, 'utf8'));
      // What autovacuum does on its own after a bulk load, done now so the figures do not
      // depend on when it wakes: statistics for the planner, the GIN index's pending list merged.
      started = performance.now();
      const bench = new pg.Client({ connectionString: url.href });
      await bench.connect();
      await bench.query('VACUUM ANALYZE');
      const vacuumMs = performance.now() - started;
      const size = (
        await bench.query<{ size: string }>("SELECT pg_size_pretty(pg_database_size('bench')) AS size")
      ).rows[0]!.size;
      await bench.end();

      const held = JSON.parse(
        await runChild(['bench/support/hold-postgres.ts', url.href, String(QUERIES), String(COMPARED)]),
      ) as { p50: number; p99: number; same: number; compared: number; rss: number; rssBefore: number };

      // The embedded store at 100,000 chunks, for the bot's memory beside it.
      const localCorpus = await writeCorpus(join(dir, 'local-corpus'), LOCAL_CHUNKS);
      const localData = join(dir, 'local-data');
      await runChild(['src/cli/ingest.ts', localCorpus], { RAG_DATA_DIR: localData });
      const withPostgres: BotFigures = await botWithStore({ DATABASE_URL: url.href, RAG_DATA_DIR: data });
      const withLocal: BotFigures = await botWithStore({ RAG_DATA_DIR: localData });
      await admin.end();
      clearInterval(sampler);
      loads.push(loadavg()[0]!);
      const load = `1-min load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on 2 cores`;
      return [
        {
          suite: 'postgres-store',
          metric: `npm run ingest of ${n(CHUNKS)} chunks into PostgreSQL (1,000 JSON files): time / peak RSS`,
          value: `${seconds(ingestMs)} / ${mb(ingestPeak)}`,
          target: '≤ 10 min',
          pass: ingestMs <= 600_000,
        },
        {
          suite: 'postgres-store',
          metric: 'then VACUUM ANALYZE (what autovacuum does after a bulk load) / database size',
          value: `${seconds(vacuumMs)} / ${size}`,
        },
        {
          suite: 'postgres-store',
          metric: `search at ${n(CHUNKS)} chunks, ${n(QUERIES)} questions (p50 / p99)`,
          value: `${ms(held.p50)} / ${ms(held.p99)}`,
          target: '≤ 50 ms p99',
          pass: held.p99 <= 50,
        },
        {
          suite: 'postgres-store',
          metric: `top 3 the same as an exhaustive ranking's, of ${held.compared} questions`,
          value: `${held.same} (${((100 * held.same) / Math.max(held.compared, 1)).toFixed(1)}%)`,
        },
        {
          suite: 'postgres-store',
          metric: `bot (compiled, Slack over HTTP): idle RSS / peak over 50 mentions, PostgreSQL store at ${n(CHUNKS)} vs embedded store at ${n(LOCAL_CHUNKS)}`,
          value: `${mb(withPostgres.idleRSS)} / ${mb(withPostgres.peakRSS)} vs ${mb(withLocal.idleRSS)} / ${mb(withLocal.peakRSS)}`,
          target: '≤ 200 MB',
          pass: withPostgres.peakRSS <= 200e6,
        },
        {
          suite: 'postgres-store',
          metric: 'Slack event acknowledged, 50 concurrent mentions, PostgreSQL store (p50 / max)',
          value: `${ms(percentile(withPostgres.acks, 50))} / ${ms(Math.max(...withPostgres.acks))}`,
          target: '< 1 s',
          pass: Math.max(...withPostgres.acks) < 1_000,
        },
        { suite: 'postgres-store', metric: 'machine load while measuring', value: load },
      ];
    } finally {
      clearInterval(sampler);
      stopCluster(cluster.dir);
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
