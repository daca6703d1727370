/**
 * Retrieval evaluation: for each question with known sources, where does the first right
 * passage rank? recall@k and MRR for the answerable questions; for the unanswerable ones,
 * how often every passage falls under the store's relevance floor (so the bot says
 * "nothing found" instead of answering from noise).
 */
import { readFile } from 'node:fs/promises';
import type { Passage, Retriever } from '../core/types.js';

export interface ExpectedSource {
  readonly source: string;
  /** For JSON record files: the record's `id` field. */
  readonly recordId?: string;
}

export interface EvalQuestion {
  readonly question: string;
  /** Empty: the knowledge base does not answer this question. */
  readonly expected: readonly ExpectedSource[];
}

export interface EvalReport {
  readonly k: number;
  readonly answerable: number;
  readonly unanswerable: number;
  readonly recallAtK: number;
  readonly mrr: number;
  /** Answerable questions whose best passage clears the relevance floor. */
  readonly answeredRate: number;
  /** Unanswerable questions with every passage under the floor. */
  readonly rejectionRate: number;
  readonly misses: readonly { question: string; rank: number | null }[];
}

/** How deep to look when computing MRR: past this the passage would never reach the prompt. */
const MRR_DEPTH = 10;

export async function loadEvalSet(path: string): Promise<EvalQuestion[]> {
  return JSON.parse(await readFile(path, 'utf8')) as EvalQuestion[];
}

function matches(passage: Passage, expected: ExpectedSource): boolean {
  if (passage.source !== expected.source) return false;
  return expected.recordId === undefined || String(passage.metadata.id) === expected.recordId;
}

export async function evaluate(
  retriever: Retriever,
  questions: readonly EvalQuestion[],
  options: { k: number; minScore?: number },
): Promise<EvalReport> {
  const floor = options.minScore ?? retriever.defaultMinScore;
  let hits = 0;
  let reciprocal = 0;
  let answered = 0;
  let rejected = 0;
  let answerable = 0;
  const misses: { question: string; rank: number | null }[] = [];
  for (const item of questions) {
    const results = await retriever.search(item.question, { topK: Math.max(options.k, MRR_DEPTH) });
    if (item.expected.length === 0) {
      if (results.slice(0, options.k).every((passage) => passage.score < floor)) rejected += 1;
      continue;
    }
    answerable += 1;
    const index = results.findIndex((passage) =>
      item.expected.some((expected) => matches(passage, expected)),
    );
    const rank = index === -1 ? null : index + 1;
    if (rank !== null && rank <= options.k) hits += 1;
    else misses.push({ question: item.question, rank });
    if (rank !== null) reciprocal += 1 / rank;
    if ((results[0]?.score ?? 0) >= floor) answered += 1;
  }
  const unanswerable = questions.length - answerable;
  return {
    k: options.k,
    answerable,
    unanswerable,
    recallAtK: answerable ? hits / answerable : 0,
    mrr: answerable ? reciprocal / answerable : 0,
    answeredRate: answerable ? answered / answerable : 0,
    rejectionRate: unanswerable ? rejected / unanswerable : 0,
    misses,
  };
}

export function formatReport(report: EvalReport, store: string): string {
  const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
  const lines = [
    `Retrieval eval on ${store}: ${report.answerable} answerable + ${report.unanswerable} unanswerable questions`,
    '',
    '| metric | value |',
    '|---|---|',
    `| recall@${report.k} | ${pct(report.recallAtK)} |`,
    `| MRR (top ${MRR_DEPTH}) | ${report.mrr.toFixed(3)} |`,
    `| answerable with best passage over the floor | ${pct(report.answeredRate)} |`,
    `| unanswerable rejected (all under the floor) | ${pct(report.rejectionRate)} |`,
  ];
  if (report.misses.length > 0) {
    lines.push('', `Not in the top ${report.k}:`);
    for (const miss of report.misses)
      lines.push(`  - ${miss.question} (rank ${miss.rank ?? `> ${MRR_DEPTH}`})`);
  }
  return `${lines.join('\n')}\n`;
}
