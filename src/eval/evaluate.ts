/**
 * Retrieval evaluation. For each answerable question: where does the first right passage rank
 * (recall@1, recall@k, MRR)? For every question: would the bot refuse it, i.e. does no passage
 * in the top k clear the relevance floor (the core's own rule)? Refusing an unanswerable
 * question is right ("nothing in the knowledge base"); refusing an answerable one is a miss.
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
  /** What the question is about (a SQuAD article): held-out folds never split one. */
  readonly article?: string;
  /** A regular expression (case-insensitive) the answer should match: the code or fact that answers. */
  readonly answer?: string;
  /** `how-to` (the answer is code or steps), `fact`, or `unanswerable`; for reports only. */
  readonly kind?: string;
}

export interface EvalReport {
  readonly k: number;
  /** The relevance floor the refusal figures used. */
  readonly minScore: number;
  readonly answerable: number;
  readonly unanswerable: number;
  readonly recallAt1: number;
  /** Right passage within the top k (k is 3 by default, so this is recall@3). */
  readonly recallAtK: number;
  readonly mrr: number;
  /** Share of unanswerable questions refused (every top-k passage under the floor). */
  readonly rejectedUnanswerable: number;
  /** Share of answerable questions wrongly refused. */
  readonly rejectedAnswerable: number;
  readonly misses: readonly { question: string; rank: number | null }[];
}

/** One question's outcome, kept so the floor can be swept without searching again. */
export interface QuestionOutcome {
  readonly answerable: boolean;
  /** 1-based rank of the first right passage within MRR_DEPTH, null if absent. */
  readonly rank: number | null;
  /** Best relevance score among the top k: the question is refused below the floor. */
  readonly bestScore: number;
}

/** How deep to look when computing MRR: past this the passage would never reach the prompt. */
export const MRR_DEPTH = 10;

export class EvalSetError extends Error {
  override readonly name = 'EvalSetError';
}

function isExpected(value: unknown): value is ExpectedSource {
  const item = value as Partial<ExpectedSource> | null;
  return (
    typeof item === 'object' &&
    item !== null &&
    typeof item.source === 'string' &&
    (item.recordId === undefined || typeof item.recordId === 'string')
  );
}

/** A file's JSON array of questions, or an `EvalSetError` saying what is wrong with it. */
export async function readQuestionArray(path: string): Promise<unknown[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code) throw error;
    throw new EvalSetError(`${path} is not valid JSON (${(error as Error).message}).`);
  }
  if (!Array.isArray(parsed)) throw new EvalSetError(`${path} must hold a JSON array of questions.`);
  return parsed;
}

/** Reads an eval set, saying which entry is malformed rather than failing mid-run. */
export async function loadEvalSet(path: string): Promise<EvalQuestion[]> {
  const parsed = await readQuestionArray(path);
  parsed.forEach((item: unknown, i) => {
    const entry = item as Partial<EvalQuestion> | null;
    const optionalText = (value: unknown) => value === undefined || typeof value === 'string';
    const ok =
      typeof entry === 'object' &&
      entry !== null &&
      typeof entry.question === 'string' &&
      entry.question.trim() !== '' &&
      Array.isArray(entry.expected) &&
      entry.expected.every(isExpected) &&
      optionalText(entry.article) &&
      optionalText(entry.answer) &&
      optionalText(entry.kind);
    if (!ok) {
      throw new EvalSetError(
        `Entry ${i + 1} of ${path} needs "question" (text) and "expected" (a list of {"source", "recordId"?}, empty when unanswerable); "article", "answer" and "kind" are optional text.`,
      );
    }
    if (entry?.answer !== undefined) {
      try {
        new RegExp(entry.answer, 'i');
      } catch (error) {
        throw new EvalSetError(
          `Entry ${i + 1} of ${path}: "answer" is not a regular expression (${(error as Error).message}).`,
        );
      }
    }
  });
  return parsed as EvalQuestion[];
}

function matches(passage: Passage, expected: ExpectedSource): boolean {
  if (passage.source !== expected.source) return false;
  return expected.recordId === undefined || String(passage.metadata.id) === expected.recordId;
}

/** Searches every question once. */
export async function collectOutcomes(
  retriever: Retriever,
  questions: readonly EvalQuestion[],
  k: number,
): Promise<QuestionOutcome[]> {
  const outcomes: QuestionOutcome[] = [];
  for (const item of questions) {
    const results = await retriever.search(item.question, { topK: Math.max(k, MRR_DEPTH) });
    const bestScore = Math.max(0, ...results.slice(0, k).map((passage) => passage.score));
    if (item.expected.length === 0) {
      outcomes.push({ answerable: false, rank: null, bestScore });
      continue;
    }
    const index = results.findIndex((passage) =>
      item.expected.some((expected) => matches(passage, expected)),
    );
    outcomes.push({ answerable: true, rank: index === -1 ? null : index + 1, bestScore });
  }
  return outcomes;
}

/** The metrics for one floor, from outcomes already collected. */
export function summarize(
  questions: readonly EvalQuestion[],
  outcomes: readonly QuestionOutcome[],
  options: { k: number; minScore: number },
): EvalReport {
  let answerable = 0;
  let first = 0;
  let hits = 0;
  let reciprocal = 0;
  let refusedAnswerable = 0;
  let refusedUnanswerable = 0;
  const misses: { question: string; rank: number | null }[] = [];
  outcomes.forEach((outcome, i) => {
    const refused = outcome.bestScore < options.minScore;
    if (!outcome.answerable) {
      if (refused) refusedUnanswerable += 1;
      return;
    }
    answerable += 1;
    if (refused) refusedAnswerable += 1;
    if (outcome.rank === 1) first += 1;
    if (outcome.rank !== null && outcome.rank <= options.k) hits += 1;
    else misses.push({ question: questions[i]?.question ?? '', rank: outcome.rank });
    if (outcome.rank !== null) reciprocal += 1 / outcome.rank;
  });
  const unanswerable = outcomes.length - answerable;
  const share = (count: number, of: number) => (of > 0 ? count / of : 0);
  return {
    k: options.k,
    minScore: options.minScore,
    answerable,
    unanswerable,
    recallAt1: share(first, answerable),
    recallAtK: share(hits, answerable),
    mrr: share(reciprocal, answerable),
    rejectedUnanswerable: share(refusedUnanswerable, unanswerable),
    rejectedAnswerable: share(refusedAnswerable, answerable),
    misses,
  };
}

export async function evaluate(
  retriever: Retriever,
  questions: readonly EvalQuestion[],
  options: { k: number; minScore?: number },
): Promise<EvalReport> {
  const outcomes = await collectOutcomes(retriever, questions, options.k);
  return summarize(questions, outcomes, {
    k: options.k,
    minScore: options.minScore ?? retriever.defaultMinScore,
  });
}

/** Refusal rates at each floor, to choose one on data (`npm run eval -- --sweep`). */
export function sweepFloors(
  outcomes: readonly QuestionOutcome[],
  floors: readonly number[],
): { minScore: number; rejectedUnanswerable: number; rejectedAnswerable: number }[] {
  const answerable = outcomes.filter((outcome) => outcome.answerable);
  const unanswerable = outcomes.filter((outcome) => !outcome.answerable);
  const share = (list: readonly QuestionOutcome[], floor: number) =>
    list.length > 0 ? list.filter((outcome) => outcome.bestScore < floor).length / list.length : 0;
  return floors.map((minScore) => ({
    minScore,
    rejectedUnanswerable: share(unanswerable, minScore),
    rejectedAnswerable: share(answerable, minScore),
  }));
}

/** The `--json` shape: fractions 0–1, as documented in docs/retrieval-quality.md. */
export function reportJson(report: EvalReport, store: string): Record<string, unknown> {
  return {
    store,
    k: report.k,
    minScore: report.minScore,
    answerable: report.answerable,
    unanswerable: report.unanswerable,
    recallAt1: report.recallAt1,
    [`recallAt${report.k}`]: report.recallAtK,
    mrr: report.mrr,
    rejectedUnanswerable: report.rejectedUnanswerable,
    rejectedAnswerable: report.rejectedAnswerable,
  };
}

export function formatReport(report: EvalReport, store: string): string {
  const pct = (value: number) => `${(value * 100).toFixed(1)}%`;
  const lines = [
    `Retrieval eval on ${store}: ${report.answerable} answerable + ${report.unanswerable} unanswerable questions`,
    '',
    '| metric | value |',
    '|---|---|',
  ];
  if (report.answerable > 0) {
    lines.push(
      `| recall@1 | ${pct(report.recallAt1)} |`,
      `| recall@${report.k} | ${pct(report.recallAtK)} |`,
      `| MRR (top ${MRR_DEPTH}) | ${report.mrr.toFixed(3)} |`,
    );
  }
  if (report.unanswerable > 0)
    lines.push(`| unanswerable refused (floor ${report.minScore}) | ${pct(report.rejectedUnanswerable)} |`);
  if (report.answerable > 0) lines.push(`| answerable wrongly refused | ${pct(report.rejectedAnswerable)} |`);
  const shown = report.misses.slice(0, 30);
  if (shown.length > 0) {
    lines.push(
      '',
      `Not in the top ${report.k}${report.misses.length > shown.length ? ` (first ${shown.length} of ${report.misses.length})` : ''}:`,
    );
    for (const miss of shown) lines.push(`  - ${miss.question} (rank ${miss.rank ?? `> ${MRR_DEPTH}`})`);
  }
  return `${lines.join('\n')}\n`;
}
