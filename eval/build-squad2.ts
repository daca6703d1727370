/**
 * Turns the SQuAD 2.0 sample (../shared/eval-data/squad2, see its README) into eval sets in
 * this project's format, with sources named as `npm run eval -- … --corpus <its corpus folder>`
 * names them (relative to that folder):
 *   eval/squad2.json             answerable questions + questions about articles not ingested,
 *                                each with the article it is about (for held-out folds); an
 *                                answerable one carries its human answers as a pattern, so the
 *                                eval can tell whether the prompt and the offline answer hold one
 *   eval/squad2-impossible.json  SQuAD's adversarial questions: they look answerable by one
 *                                paragraph, which does not hold the answer (reported, no target)
 * Usage: npx tsx eval/build-squad2.ts [path/to/squad2]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface SquadQuestion {
  readonly question: string;
  readonly kind: 'answerable' | 'impossible' | 'out_of_kb';
  readonly file?: string;
  readonly recordId?: string;
  /** The article an out-of-base question is about (not in the corpus). */
  readonly article?: string;
  /** Human answer spans of an answerable question. */
  readonly answers?: readonly string[];
}

/**
 * The answer spans as one case-insensitive pattern: each span literally, as a whole word where
 * it begins or ends with one ("10" does not match "1066").
 */
function answerPattern(answers: readonly string[] | undefined): string | undefined {
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

const here = dirname(fileURLToPath(import.meta.url));
const squad = resolve(process.argv[2] ?? join(here, '../../shared/eval-data/squad2'));
const questions = JSON.parse(await readFile(join(squad, 'questions.json'), 'utf8')) as SquadQuestion[];

const main = questions
  .filter((item) => item.kind !== 'impossible')
  .map((item) => ({
    question: item.question.trim(),
    expected:
      item.kind === 'answerable' && item.file && item.recordId
        ? [{ source: item.file, recordId: item.recordId }]
        : [],
    // Held-out evaluation splits the set by article (src/eval/held-out.ts).
    ...(articleOf(item) ? { article: articleOf(item) } : {}),
    ...(item.kind === 'answerable' && answerPattern(item.answers)
      ? { answer: answerPattern(item.answers) }
      : {}),
  }));
const impossible = questions
  .filter((item) => item.kind === 'impossible')
  .map((item) => ({
    question: item.question.trim(),
    expected: [],
    ...(articleOf(item) ? { article: articleOf(item) } : {}),
  }));

await writeFile(join(here, 'squad2.json'), `${JSON.stringify(main, null, 2)}\n`);
await writeFile(join(here, 'squad2-impossible.json'), `${JSON.stringify(impossible, null, 2)}\n`);
console.log(`eval/squad2.json: ${main.length} questions; eval/squad2-impossible.json: ${impossible.length}`);
