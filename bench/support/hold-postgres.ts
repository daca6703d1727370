/**
 * A process that holds the PostgreSQL store the way the bot does: one pool, `count` searches one
 * after another; then, for the first `compare` questions, whether the top 3 equal those of an
 * exhaustive ranking (every passage holding a ranking term scored). Prints one JSON line.
 * Usage: hold-postgres.ts <database-url> <count> <compare>
 */
import { performance } from 'node:perf_hooks';
import { connectPostgres } from '../../src/state/postgres.js';
import { PostgresStore } from '../../src/stores/postgres/index.js';
import { percentile } from '../stats.js';
import { questions } from '../store-corpus.js';

const [url, count, compare] = process.argv.slice(2);
const rssBefore = process.memoryUsage().rss;
const db = await connectPostgres(url!, { maxConnections: 4 });
const store = await PostgresStore.open({ db });
const asked = questions(Number(count));
// Warm the pool's connections and the server's caches of the statistics tables.
for (const question of asked.slice(0, 20)) await store.search(question, { topK: 3 });
const times: number[] = [];
let answered = 0;
for (const question of asked) {
  const started = performance.now();
  const found = await store.search(question, { topK: 3 });
  times.push(performance.now() - started);
  if (found.length > 0) answered += 1;
}
const exhaustive = await PostgresStore.open({ db, candidateBudget: Number.POSITIVE_INFINITY });
let same = 0;
const compared = asked.slice(0, Number(compare));
for (const question of compared) {
  const ids = async (from: PostgresStore) =>
    (await from.search(question, { topK: 3 })).map((passage) => passage.id).join(' ');
  if ((await ids(store)) === (await ids(exhaustive))) same += 1;
}
const rss = process.memoryUsage().rss;
await db.close();
process.stdout.write(
  `${JSON.stringify({
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    answered,
    same,
    compared: compared.length,
    rssBefore,
    rss,
  })}\n`,
);
