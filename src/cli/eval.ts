/**
 * `npm run eval`: every figure of the eval suite (src/eval/suite.ts) on throw-away local stores:
 * our set, the package documentation set with offline answers and prompts, follow-ups, and the
 * SQuAD sample held out by article.
 *
 * `npm run eval -- <set.json> [--corpus <folder>] [--baseline] [--sweep] [--json]`: retrieval
 * quality on one eval set. Without --corpus it measures the configured store (the local or
 * PostgreSQL store is indexed from knowledge/ first if empty; an Upstash index as it is). With
 * --corpus it indexes that folder into a throw-away store, sources named relative to the folder,
 * so a set like eval/squad2.json is portable: a local one, or with DATABASE_URL a PostgreSQL one
 * in a schema of its own, dropped afterwards. Exit codes: 0 done, 2 usage or bad input.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../app/runtime.js';
import { loadConfig } from '../config.js';
import type { KnowledgeStore, Retriever } from '../core/types.js';
import { answersJson, evaluateAnswers, formatAnswers } from '../eval/answers.js';
import { ChunkCollector, winkBaseline } from '../eval/baseline.js';
import {
  collectOutcomes,
  type EvalQuestion,
  EvalSetError,
  formatReport,
  loadEvalSet,
  reportJson,
  summarize,
  sweepFloors,
} from '../eval/evaluate.js';
import { formatSuite, runSuite, suiteJson } from '../eval/suite.js';
import { ingestPaths } from '../ingest/pipeline.js';
import { LocalStore } from '../stores/local/index.js';
import { runCommand } from './run.js';

const USAGE = `Measure retrieval and answer quality.

  npm run eval                              every figure: our set, the package docs set (offline
                                            answers and prompts), follow-ups, and the SQuAD sample
                                            held out by article
  npm run eval -- <set.json> [options]      retrieval quality on one eval set

Options:
  --squad <folder>    the SQuAD 2.0 sample for the full run, its corpus/ and questions.json
                      (default: ../shared/eval-data/squad2; any sample in that layout)
  --corpus <folder>   index this folder into a temporary store and evaluate that (a local
                      one; with DATABASE_URL a PostgreSQL one in a temporary schema; sources
                      in the set are named relative to the folder)
  --baseline          also rank with a plain BM25 library (wink-bm25-text-search) on the same chunks
  --sweep             also print refusal rates at relevance floors from 0.20 to 0.70
  --json              print one JSON object instead of tables
  -h, --help          show this help

The set is a JSON array of {"question", "expected": [{"source", "recordId"?}], "answer"?};
"expected": [] marks a question the knowledge base cannot answer. When questions carry an
"answer" (a regular expression the answer should match), they are also answered offline
through the core: right file among the sources shown, answer matching, prompt passages
matching, refusals.`;

const SWEEP = Array.from({ length: 11 }, (_, i) => Math.round((0.2 + i * 0.05) * 100) / 100);

interface Measured {
  readonly retriever: Retriever;
  /** What was measured, for the report. */
  readonly name: string;
  readonly chunks: () => Promise<ChunkCollector>;
  readonly cleanup: () => Promise<void>;
}

/** The store to measure, and how to get the same chunks for the baseline. */
async function storeUnderTest(corpus: string | undefined): Promise<Measured> {
  const collect = async (paths: string[], cwd?: string) => {
    const collector = new ChunkCollector();
    await ingestPaths(collector, paths, cwd ? { cwd } : {});
    return collector;
  };
  if (corpus) {
    const folder = resolve(corpus);
    const config = loadConfig();
    const temporary =
      config.database && !config.upstash ? await temporaryPostgresStore(config.database.url) : undefined;
    const dir = temporary ? undefined : await mkdtemp(join(tmpdir(), 'rag-eval-'));
    const store = temporary ? temporary.store : await LocalStore.open({ dir: dir! });
    const cleanup = async () => {
      if (store instanceof LocalStore) store.close();
      await temporary?.drop();
      if (dir) await rm(dir, { recursive: true, force: true });
    };
    const summary = await ingestPaths(store, [folder], { cwd: folder });
    if (summary.files === 0) {
      await cleanup();
      throw new EvalSetError(`Nothing to index in ${corpus}.`);
    }
    return {
      retriever: store,
      name: `${temporary ? 'PostgreSQL' : 'local'} store over ${corpus}`,
      chunks: () => collect([folder], folder),
      cleanup,
    };
  }
  const config = loadConfig();
  const store: KnowledgeStore = await openStore(config);
  if (!config.upstash && (await store.stats()).vectorCount === 0) {
    await ingestPaths(store, [config.rag.knowledgeDir]);
  }
  return {
    retriever: store,
    name: store.description,
    chunks: () => collect([config.rag.knowledgeDir]),
    cleanup: async () => {
      if (store instanceof LocalStore) store.close();
    },
  };
}

/** A PostgreSQL store in a schema made for this run; `drop` removes the schema and its tables. */
async function temporaryPostgresStore(url: string) {
  const { connectPostgres } = await import('../state/postgres.js');
  const { PostgresStore } = await import('../stores/postgres/index.js');
  const schema = `rag_eval_${randomBytes(6).toString('hex')}`;
  const db = await connectPostgres(url, { schema });
  return {
    store: await PostgresStore.open({ db }),
    async drop() {
      await db.pool.query(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
    },
  };
}

async function measure(
  retriever: Retriever,
  questions: readonly EvalQuestion[],
  k: number,
  minScore: number,
  sweep: boolean,
) {
  const outcomes = await collectOutcomes(retriever, questions, k);
  return {
    report: summarize(questions, outcomes, { k, minScore }),
    sweep: sweep ? sweepFloors(outcomes, SWEEP) : undefined,
  };
}

function formatSweep(rows: ReturnType<typeof sweepFloors>): string {
  const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
  return [
    '| floor | unanswerable refused | answerable wrongly refused |',
    '|---|---|---|',
    ...rows.map(
      (row) =>
        `| ${row.minScore.toFixed(2)} | ${pct(row.rejectedUnanswerable)} | ${pct(row.rejectedAnswerable)} |`,
    ),
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      allowPositionals: true,
      options: {
        corpus: { type: 'string' },
        squad: { type: 'string' },
        baseline: { type: 'boolean', default: false },
        sweep: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  try {
    args = parse();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.positionals.length > 1) {
    process.stderr.write(`Give one eval set, not ${args.positionals.length}.\n\n${USAGE}\n`);
    return 2;
  }
  if (args.positionals.length === 0) return suite(args.values.squad, args.values.json);
  const path = resolve(args.positionals[0]!);
  let questions: EvalQuestion[];
  try {
    questions = await loadEvalSet(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`No eval set at ${path}.\n`);
      return 2;
    }
    if (error instanceof EvalSetError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const k = 3;
  let measured: Measured;
  try {
    measured = await storeUnderTest(args.values.corpus);
  } catch (error) {
    if (error instanceof EvalSetError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  try {
    const minScore = loadConfig().rag.minScore ?? measured.retriever.defaultMinScore;
    const ours = await measure(measured.retriever, questions, k, minScore, args.values.sweep);
    const baseline = args.values.baseline
      ? await measure(await winkBaseline((await measured.chunks()).chunks), questions, k, 0, false)
      : undefined;
    // A set whose questions carry answer patterns is also answered, offline, through the core.
    const answers = questions.some((question) => question.answer !== undefined)
      ? await evaluateAnswers(measured.retriever, questions, {
          topK: k,
          contextTokens: loadConfig().rag.contextTokens,
          minScore,
        })
      : undefined;
    const name = measured.name;
    if (args.values.json) {
      const out = {
        ...reportJson(ours.report, name),
        ...(answers ? { answers: answersJson(answers) } : {}),
        ...(ours.sweep ? { sweep: ours.sweep } : {}),
        ...(baseline
          ? {
              baseline: {
                store: 'wink-bm25-text-search',
                recallAt1: baseline.report.recallAt1,
                [`recallAt${k}`]: baseline.report.recallAtK,
                mrr: baseline.report.mrr,
              },
            }
          : {}),
      };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(formatReport(ours.report, name));
    if (answers) process.stdout.write(`\n${formatAnswers(answers)}`);
    if (ours.sweep) process.stdout.write(`\nRefusals by relevance floor:\n\n${formatSweep(ours.sweep)}`);
    if (baseline && baseline.report.answerable > 0) {
      const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
      process.stdout.write(
        `\nBaseline, wink-bm25-text-search on the same chunks: recall@1 ${pct(baseline.report.recallAt1)}, ` +
          `recall@${k} ${pct(baseline.report.recallAtK)}, MRR ${baseline.report.mrr.toFixed(3)}\n`,
      );
    }
    return 0;
  } finally {
    await measured.cleanup();
  }
}

/** The whole suite, from the repository folder. */
async function suite(squad: string | undefined, json: boolean): Promise<number> {
  const root = process.cwd();
  const squadDir = resolve(squad ?? join(root, '../shared/eval-data/squad2'));
  const isSample = existsSync(join(squadDir, 'corpus')) && existsSync(join(squadDir, 'questions.json'));
  if (squad && !isSample) {
    process.stderr.write(
      `No SQuAD sample at ${squadDir} (it needs a corpus/ folder and a questions.json, as ../shared/eval-data/squad2 has).\n`,
    );
    return 2;
  }
  const config = loadConfig();
  const results = await runSuite({
    root,
    ...(isSample ? { squadDir } : {}),
    topK: config.rag.topK,
    contextTokens: config.rag.contextTokens,
    ...(config.rag.minScore !== undefined ? { minScore: config.rag.minScore } : {}),
  });
  process.stdout.write(
    json ? `${JSON.stringify(suiteJson(results), null, 2)}\n` : `${formatSuite(results)}\n`,
  );
  return 0;
}

runCommand(main);
