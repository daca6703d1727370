/**
 * A SQuAD 2.0 sample in the layout of ../shared/eval-data/squad2 (see its README): `corpus/` holds
 * one JSON file of paragraph records per article, `questions.json` the questions, each
 * `answerable` (its paragraph's file and record, and the human answers), `impossible` (SQuAD's
 * adversarial questions, written against a paragraph that does not hold the answer) or
 * `out_of_kb` (about an article not in the corpus). Read as this project's eval sets, with
 * sources named as the corpus folder names them, so any sample in that layout is measured as
 * the bundled one is.
 */
import { join } from 'node:path';
import { type EvalQuestion, EvalSetError, readQuestionArray } from './evaluate.js';

export interface SquadQuestion {
  readonly question: string;
  readonly kind: 'answerable' | 'impossible' | 'out_of_kb';
  readonly file?: string;
  readonly recordId?: string;
  /** The article an out-of-base question is about (not in the corpus). */
  readonly article?: string;
  /** Human answer spans of an answerable question. */
  readonly answers?: readonly string[];
}

export interface SquadSets {
  /** Answerable and out-of-base questions, each with its article (for held-out folds). */
  readonly main: EvalQuestion[];
  /** The adversarial questions: they look answerable by one paragraph, which does not hold it. */
  readonly impossible: EvalQuestion[];
}

const KINDS = new Set(['answerable', 'impossible', 'out_of_kb']);

/**
 * The answer spans as one case-insensitive pattern: each span literally, as a whole word where
 * it begins or ends with one ("10" does not match "1066").
 */
export function answerPattern(answers: readonly string[] | undefined): string | undefined {
  const spans = [...new Set((answers ?? []).map((answer) => answer.trim()).filter(Boolean))];
  if (spans.length === 0) return undefined;
  const literal = (span: string) => {
    const escaped = span.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const edge = (char: string) => (/[A-Za-z0-9_]/.test(char) ? '\\b' : '');
    return `${edge(span.charAt(0))}${escaped}${edge(span.charAt(span.length - 1))}`;
  };
  return spans.map(literal).join('|');
}

/** The Wikipedia article a question is about: its corpus file's name, or the one named for out-of-base questions. */
function articleOf(item: SquadQuestion): string | undefined {
  return item.article ?? item.file?.replace(/\.json$/, '');
}

function isSquadQuestion(value: unknown): value is SquadQuestion {
  const item = value as Partial<SquadQuestion> | null;
  const text = (field: unknown) => field === undefined || typeof field === 'string';
  return (
    typeof item === 'object' &&
    item !== null &&
    typeof item.question === 'string' &&
    item.question.trim() !== '' &&
    typeof item.kind === 'string' &&
    KINDS.has(item.kind) &&
    text(item.file) &&
    text(item.recordId) &&
    text(item.article) &&
    (item.answers === undefined ||
      (Array.isArray(item.answers) && item.answers.every((answer) => typeof answer === 'string')))
  );
}

export function squadSets(questions: readonly SquadQuestion[]): SquadSets {
  const withArticle = (item: SquadQuestion) => {
    const article = articleOf(item);
    return article ? { article } : {};
  };
  const main = questions
    .filter((item) => item.kind !== 'impossible')
    .map((item) => {
      const answerable = item.kind === 'answerable' && item.file !== undefined && item.recordId !== undefined;
      const answer = answerable ? answerPattern(item.answers) : undefined;
      return {
        question: item.question.trim(),
        expected: answerable ? [{ source: item.file as string, recordId: item.recordId as string }] : [],
        ...withArticle(item),
        ...(answer ? { answer } : {}),
      };
    });
  const impossible = questions
    .filter((item) => item.kind === 'impossible')
    .map((item) => ({ question: item.question.trim(), expected: [], ...withArticle(item) }));
  return { main, impossible };
}

/** The sample's `questions.json` as eval sets; a clear error when it is not in the sample's format. */
export async function loadSquadSets(squadDir: string): Promise<SquadSets> {
  const path = join(squadDir, 'questions.json');
  const parsed = await readQuestionArray(path);
  const bad = parsed.findIndex((item) => !isSquadQuestion(item));
  if (bad >= 0) {
    throw new EvalSetError(
      `Entry ${bad + 1} of ${path} needs "question" (text) and "kind" (answerable, impossible or out_of_kb); "file", "recordId", "article" are text and "answers" a list of text.`,
    );
  }
  return squadSets(parsed as SquadQuestion[]);
}
