/**
 * Event-loop lag of the main thread while a hostile document is parsed (issue 17): through the
 * parse pool (worker threads, as the bot does), beside the same parse run on the main thread
 * in the same run (the baseline: what the bot did before the pool). Lag is sampled with
 * perf_hooks' monitorEventLoopDelay at 1 ms resolution. Target: ≤ 100 ms at the worst, through
 * the pool. Also: what a PDF deflate bomb costs pdf.js on the main thread with no expansion
 * check (the code before), against the pool refusing it.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { type JobResponse, type ParseJob, runJob } from '../../src/ingest/parse-jobs.js';
import { DEFAULT_PARSE_SETTINGS, ParsePool, readLimits } from '../../src/ingest/parse-pool.js';
import {
  backtrackingHtml,
  commentBombPage,
  deflateBombPdf,
  unclosedLocSitemap,
} from '../../test/support/hostile-docs.js';
import { ms } from '../stats.js';
import type { BenchRow, BenchSuite } from '../types.js';

const MB = 1_048_576;
const TARGET_MS = 100;

interface Lag {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly elapsed: number;
}

async function lagDuring(work: () => Promise<unknown>): Promise<Lag> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  // Let the sampler tick first: a block before its first tick would go unrecorded.
  // (Not reset afterwards: a reset histogram misses the next block.)
  await new Promise((resolve) => setTimeout(resolve, 10));
  const started = performance.now();
  await work().catch(() => undefined);
  // One more turn of the loop, so a block that ended just now is recorded.
  await new Promise((resolve) => setTimeout(resolve, 10));
  const elapsed = performance.now() - started;
  histogram.disable();
  return {
    p50: histogram.percentile(50) / 1e6,
    p99: histogram.percentile(99) / 1e6,
    max: histogram.max / 1e6,
    elapsed,
  };
}

const describeLag = (lag: Lag) =>
  `p50 ${ms(lag.p50)} · p99 ${ms(lag.p99)} · max ${ms(lag.max)} (parse ${ms(lag.elapsed)})`;

const suite: BenchSuite = {
  name: 'parsing',
  async run(): Promise<BenchRow[]> {
    const limits = readLimits(DEFAULT_PARSE_SETTINGS, 'fail');
    const bomb = await deflateBombPdf(512);
    const documents: { name: string; job: () => ParseJob }[] = [
      {
        name: '512 KB HTML attachment, <title> never closed',
        job: () => ({
          kind: 'file',
          name: 'page.html',
          data: Buffer.from(backtrackingHtml()),
          limits,
          chunkAs: 'page.html',
        }),
      },
      {
        name: '1 MB crawled page of <!-- repeated',
        job: () => ({
          kind: 'page',
          html: commentBombPage(),
          url: 'https://x.test/',
          maxChars: limits.maxChars,
        }),
      },
      {
        name: '5 MB crawled page, 400k nested <div> and unmatched </span>',
        job: () => ({
          kind: 'page',
          html: `${'<div>'.repeat(400_000)}text${'</span>'.repeat(400_000)}`,
          url: 'https://x.test/',
          maxChars: limits.maxChars,
        }),
      },
      { name: '1 MB sitemap of unclosed <loc>', job: () => ({ kind: 'sitemap', xml: unclosedLocSitemap() }) },
      {
        name: '510 KB PDF deflate bomb (512 MB inflated)',
        job: () => ({
          kind: 'file',
          name: 'bomb.pdf',
          data: new Uint8Array(bomb),
          limits,
          chunkAs: 'bomb.pdf',
        }),
      },
    ];
    const pool = new ParsePool(DEFAULT_PARSE_SETTINGS);
    const rows: BenchRow[] = [];
    try {
      // Threads start with the first document; start them now so each row measures a parse.
      await pool.run({ kind: 'sitemap', xml: '<urlset/>' });
      for (const document of documents) {
        // Built before measuring: the lag is the parse's, not the test document's construction.
        const [forPool, forMain] = [document.job(), document.job()];
        const inPool = await lagDuring(() => pool.run(forPool));
        const onMain = await lagDuring(async (): Promise<JobResponse> => runJob(forMain));
        rows.push(
          {
            suite: 'parsing',
            metric: `${document.name}: main-thread lag, parsed in the pool`,
            value: describeLag(inPool),
            target: `max ≤ ${TARGET_MS} ms`,
            pass: inPool.max <= TARGET_MS,
          },
          {
            suite: 'parsing',
            metric: `${document.name}: main-thread lag, parsed on the main thread (baseline)`,
            value: describeLag(onMain),
          },
        );
      }
      // The code before: pdf.js given the bomb on the main thread, no expansion check (a smaller bomb: 64 MB).
      const small = await deflateBombPdf(64);
      const rssBefore = process.memoryUsage.rss();
      let peak = rssBefore;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage.rss());
      }, 20);
      const unchecked = await lagDuring(async () => {
        const { extractText, getDocumentProxy } = await import('unpdf');
        const pdf = await getDocumentProxy(new Uint8Array(small), { verbosity: 0 });
        await extractText(pdf, { mergePages: false });
        await pdf.loadingTask.destroy();
      });
      clearInterval(sampler);
      const refused = await lagDuring(() =>
        pool.run({
          kind: 'file',
          name: 'bomb.pdf',
          data: new Uint8Array(small),
          limits: { ...limits, maxInflatedBytes: 16 * MB },
        }),
      );
      rows.push(
        {
          suite: 'parsing',
          metric: '64 MB PDF deflate bomb, pdf.js on the main thread, no expansion check (before)',
          value: `${describeLag(unchecked)}, RSS +${Math.round((peak - rssBefore) / MB)} MB`,
        },
        {
          suite: 'parsing',
          metric: 'the same bomb refused by the pool (PARSE_MAX_INFLATED_MB=16)',
          value: describeLag(refused),
          target: `max ≤ ${TARGET_MS} ms`,
          pass: refused.max <= TARGET_MS,
        },
      );
    } finally {
      await pool.close();
    }
    return rows;
  },
};

export default suite;
