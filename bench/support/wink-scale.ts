/**
 * The scale baseline: a plain in-memory BM25 library (wink-bm25-text-search, as in
 * `npm run eval -- --baseline`) over the same records, in its own process so its memory is
 * its own. Prints one JSON line: build time, query percentiles, resident memory.
 * Usage: wink-scale.ts <corpus folder> <count>
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import bm25 from 'wink-bm25-text-search';
import nlp from 'wink-nlp-utils';
import { percentile } from '../stats.js';
import { questions } from '../store-corpus.js';

const [folder, count] = process.argv.slice(2);
const started = performance.now();
const engine = bm25();
engine.defineConfig({ fldWeights: { title: 1, body: 1 } });
engine.definePrepTasks([nlp.string.lowerCase, nlp.string.tokenize0, nlp.tokens.removeWords, nlp.tokens.stem]);
for (const file of (await readdir(folder!)).sort()) {
  const records = JSON.parse(await readFile(join(folder!, file), 'utf8')) as {
    id: string;
    title: string;
    text: string;
  }[];
  for (const record of records) engine.addDoc({ title: record.title, body: record.text }, record.id);
}
engine.consolidate();
const buildMs = performance.now() - started;
const times: number[] = [];
for (const question of questions(Number(count))) {
  const t = performance.now();
  engine.search(question, 3);
  times.push(performance.now() - t);
}
process.stdout.write(
  `${JSON.stringify({ buildMs, p50: percentile(times, 50), p99: percentile(times, 99), rss: process.memoryUsage().rss })}\n`,
);
