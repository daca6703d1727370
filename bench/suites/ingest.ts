/**
 * Ingestion into Upstash: 10,000 chunks through the real pipeline and SDK against the fake
 * (with 10 ms injected per request, a modest network round trip), counting requests,
 * against one-by-one upserts measured on a sample. Targets: ≥ 50× faster, ≤ 12 requests.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ingestPaths } from '../../src/ingest/pipeline.js';
import { UpstashStore } from '../../src/stores/upstash.js';
import { startFakeUpstash } from '../../test/fakes/upstash/index.js';
import type { BenchRow, BenchSuite } from '../types.js';

const CHUNKS = 10_000;
const ONE_BY_ONE_SAMPLE = 200;
const LATENCY_MS = 10;

const suite: BenchSuite = {
  name: 'ingest',
  async run(): Promise<BenchRow[]> {
    const fake = await startFakeUpstash({ latencyMs: LATENCY_MS });
    const dir = await mkdtemp(join(tmpdir(), 'rag-bench-ingest-'));
    try {
      const records = Array.from({ length: CHUNKS }, (_, i) => ({
        id: String(i),
        text: `Record ${i}: the ${['billing', 'deploy', 'oncall', 'security'][i % 4]} runbook says step ${i} follows step ${i - 1}.`,
        team: `team-${i % 12}`,
      }));
      await writeFile(join(dir, 'records.json'), JSON.stringify(records));

      const batched = new UpstashStore({ url: fake.url, token: fake.token, namespace: 'batched' });
      let started = performance.now();
      const summary = await ingestPaths(batched, [join(dir, 'records.json')], { cwd: dir });
      const batchedMs = performance.now() - started;
      const requests = fake.requests.length;

      const single = new UpstashStore({ url: fake.url, token: fake.token, namespace: 'single' });
      const sample = records.slice(0, ONE_BY_ONE_SAMPLE);
      started = performance.now();
      for (const record of sample) {
        await single.upsert([{ id: record.id, text: record.text, source: 'records.json', metadata: {} }]);
      }
      const singlePerChunk = (performance.now() - started) / ONE_BY_ONE_SAMPLE;
      const batchedRate = (summary.upserted / batchedMs) * 1000;
      const singleRate = 1000 / singlePerChunk;
      const speedup = batchedRate / singleRate;
      return [
        {
          suite: 'ingest',
          metric: `${CHUNKS.toLocaleString('en-US')} chunks into Upstash: requests`,
          value: `${requests} (${fake.requests
            .map((r) => r.command)
            .filter((c, i, all) => all.indexOf(c) === i)
            .join(', ')})`,
          target: '≤ 12',
          pass: requests <= 12 && summary.upserted === CHUNKS,
        },
        {
          suite: 'ingest',
          metric: 'throughput: batched vs one-by-one',
          value: `${Math.round(batchedRate).toLocaleString('en-US')}/s vs ${Math.round(singleRate)}/s = ${speedup.toFixed(0)}×`,
          target: '≥ 50×',
          pass: speedup >= 50,
        },
      ];
    } finally {
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
