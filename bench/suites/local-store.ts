/** Query latency of the embedded local store at 10,000 chunks. Target: p50 ≤ 5 ms. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Chunk } from '../../src/core/types.js';
import { LocalStore } from '../../src/stores/local/index.js';
import { ms, percentile } from '../stats.js';
import type { BenchRow, BenchSuite } from '../types.js';

const CHUNKS = 10_000;
const QUERIES = 300;

// Vocabulary sized like a team wiki's: each query word appears in a few percent of chunks, not
// in one chunk out of eight as a tiny word list would make it (which no real corpus does).
const TOPICS = (
  'billing deployment incident onboarding security database network release payroll search analytics mobile ' +
  'storage identity compliance support marketing pricing logging tracing caching gateway scheduler mailer ' +
  'frontend backend warehouse reporting sandbox staging'
).split(' ');
const VERBS = (
  'configure rotate restart escalate approve migrate monitor backup restore provision revoke audit archive ' +
  'deploy rollback patch upgrade scale throttle invalidate export import reindex'
).split(' ');
const THINGS = (
  'certificates credentials replicas dashboards alerts invoices tokens schemas queues buckets secrets clusters ' +
  'webhooks runners snapshots quotas indexes pipelines policies domains licenses mailboxes'
).split(' ');

/** Deterministic, realistic-looking prose so term statistics resemble real documents. */
function passage(i: number): string {
  const pick = <T>(list: readonly T[], salt: number) =>
    list[(i * 7 + salt * 13 + Math.floor(i / list.length) * salt) % list.length]!;
  return [
    `To ${pick(VERBS, 1)} the ${pick(THINGS, 2)} for the ${pick(TOPICS, 3)} service, open the admin console first.`,
    `The ${pick(TOPICS, 4)} team owns ${pick(THINGS, 5)} and reviews changes every ${(i % 5) + 1} days.`,
    `If the ${pick(THINGS, 6)} expire, ${pick(VERBS, 7)} them before paging the on-call engineer (ticket ${i}).`,
  ].join(' ');
}

const suite: BenchSuite = {
  name: 'local-store',
  async run(): Promise<BenchRow[]> {
    const dir = await mkdtemp(join(tmpdir(), 'rag-bench-local-'));
    try {
      const store = await LocalStore.open({ dir });
      const chunks: Chunk[] = Array.from({ length: CHUNKS }, (_, i) => ({
        id: `c${i}`,
        text: passage(i),
        source: `docs/${i % 400}.md`,
        title: `Runbook ${i % 400}`,
        metadata: {},
      }));
      let started = performance.now();
      await store.upsert(chunks);
      const indexMs = performance.now() - started;
      started = performance.now();
      await LocalStore.open({ dir });
      const reopenMs = performance.now() - started;

      const times: number[] = [];
      for (let q = 0; q < QUERIES; q++) {
        const query = `How do I ${VERBS[q % VERBS.length]} ${THINGS[(q * 3) % THINGS.length]} for ${TOPICS[(q * 5) % TOPICS.length]}?`;
        const t = performance.now();
        await store.search(query, { topK: 3 });
        times.push(performance.now() - t);
      }
      const p50 = percentile(times, 50);
      return [
        {
          suite: 'local-store',
          metric: `query at ${CHUNKS.toLocaleString('en-US')} chunks (p50 / p99)`,
          value: `${ms(p50)} / ${ms(percentile(times, 99))}`,
          target: 'p50 ≤ 5 ms',
          pass: p50 <= 5,
        },
        {
          suite: 'local-store',
          metric: `index ${CHUNKS.toLocaleString('en-US')} chunks / reload from disk`,
          value: `${ms(indexMs)} / ${ms(reopenMs)}`,
        },
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default suite;
