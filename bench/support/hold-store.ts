/**
 * A process that holds a local store the way the bot does: opens it, answers `count` searches
 * one after another, and prints one JSON line with the open time, query percentiles and its
 * resident memory. Usage: hold-store.ts <dir> <count>
 */
import { performance } from 'node:perf_hooks';
import { LocalStore } from '../../src/stores/local/index.js';
import { percentile } from '../stats.js';
import { questions } from '../store-corpus.js';

const [dir, count] = process.argv.slice(2);
const rssBefore = process.memoryUsage().rss;
let started = performance.now();
const store = await LocalStore.open({ dir: dir! });
const openMs = performance.now() - started;
const asked = questions(Number(count));
const times: number[] = [];
let answered = 0;
for (const question of asked) {
  started = performance.now();
  const found = await store.search(question, { topK: 3 });
  times.push(performance.now() - started);
  if (found.length > 0) answered += 1;
}
store.close();
process.stdout.write(
  `${JSON.stringify({
    openMs,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    answered,
    rssBefore,
    rss: process.memoryUsage().rss,
  })}\n`,
);
