/**
 * Answer-level evaluation: each question goes through the real core (retrieval, relevance floor,
 * prompt budget, offline answerer) as a user's would, and the run records
 *   - for the offline answer: whether the expected file is among the sources it shows (cites),
 *     whether the answer matches the question's pattern (the code or fact that answers), and
 *     whether it was refused;
 *   - for the prompt a model would get: whether the passages carry the pattern.
 * A question the knowledge base cannot answer should be refused.
 */
import { RagCore } from '../core/rag-core.js';
import { citedSources } from '../core/sources.js';
import { estimateTokens } from '../core/token-estimate.js';
import type {
  GenerationChunk,
  GenerationRequest,
  Generator,
  Retriever,
  Source,
  Turn,
} from '../core/types.js';
import { ExtractiveGenerator } from '../generators/extractive.js';
import type { EvalQuestion } from './evaluate.js';

export interface AnswerOutcome {
  readonly question: string;
  readonly answerable: boolean;
  readonly refused: boolean;
  /** The expected file is among the sources the offline answer shows. */
  readonly rightFile: boolean;
  /** The offline answer matches the pattern. */
  readonly answerMatches: boolean;
  /** The passages of the model's prompt match the pattern. */
  readonly promptMatches: boolean;
  readonly kind?: string;
  /** Tokens of the prompt (estimated as the budget counts them); 0 when refused. */
  readonly promptTokens: number;
}

export interface AnswerReport {
  readonly answerable: number;
  readonly unanswerable: number;
  /** Of answerable questions. */
  readonly rightFile: number;
  readonly answerMatches: number;
  readonly promptMatches: number;
  readonly wronglyRefused: number;
  /** Of unanswerable questions. */
  readonly refused: number;
  /** Mean tokens of the prompts of answerable questions answered: what the passages cost. */
  readonly meanPromptTokens: number;
  readonly outcomes: readonly AnswerOutcome[];
}

export interface AnswerEvalOptions {
  readonly topK: number;
  readonly contextTokens: number;
  readonly minScore?: number;
  /** The conversation before each question (follow-up sets give their own). */
  readonly history?: (question: EvalQuestion) => readonly Turn[];
}

/** The offline answerer, keeping the last prompt it was given. */
class PromptRecorder implements Generator {
  readonly mode = 'extractive' as const;
  readonly model = 'extractive';
  private readonly inner = new ExtractiveGenerator();
  lastPrompt = '';

  generate(request: GenerationRequest): AsyncIterable<GenerationChunk> {
    if (request.purpose === 'answer') {
      this.lastPrompt = request.messages.map((message) => message.content).join('\n');
    }
    return this.inner.generate(request);
  }
}

function fileMatches(source: Source, question: EvalQuestion): boolean {
  return question.expected.some((expected) => expected.source === source.source);
}

export async function evaluateAnswers(
  retriever: Retriever,
  questions: readonly EvalQuestion[],
  options: AnswerEvalOptions,
): Promise<AnswerReport> {
  const generator = new PromptRecorder();
  const core = new RagCore({
    retriever,
    generator,
    options: {
      topK: options.topK,
      ...(options.minScore !== undefined ? { minScore: options.minScore } : {}),
      maxQuestionChars: 4_000,
      contextTokens: options.contextTokens,
      maxAnswerTokens: 1_000,
      answerTimeoutMs: 60_000,
    },
  });
  const outcomes: AnswerOutcome[] = [];
  for (const [i, item] of questions.entries()) {
    generator.lastPrompt = '';
    let sources: readonly Source[] = [];
    let text = '';
    let refused = false;
    const history = options.history?.(item) ?? [];
    for await (const event of core.answer(
      { id: `eval-${i}`, text: item.question, place: { platform: 'eval' } },
      history,
    )) {
      if (event.type === 'sources') sources = event.sources;
      else if (event.type === 'done') text = event.text;
      else if (event.type === 'failure') refused = event.failure.kind === 'nothing_found';
    }
    const pattern = item.answer ? new RegExp(item.answer, 'i') : undefined;
    const shown = citedSources(sources, text).cited;
    outcomes.push({
      question: item.question,
      answerable: item.expected.length > 0,
      refused,
      rightFile: shown.some((source) => fileMatches(source, item)),
      answerMatches: pattern ? pattern.test(text) : false,
      promptMatches: pattern ? pattern.test(generator.lastPrompt) : false,
      promptTokens: generator.lastPrompt ? estimateTokens(generator.lastPrompt) : 0,
      ...(item.kind ? { kind: item.kind } : {}),
    });
  }
  const answerable = outcomes.filter((outcome) => outcome.answerable);
  const unanswerable = outcomes.filter((outcome) => !outcome.answerable);
  const share = (list: readonly AnswerOutcome[], test: (outcome: AnswerOutcome) => boolean) =>
    list.length > 0 ? list.filter(test).length / list.length : 0;
  return {
    answerable: answerable.length,
    unanswerable: unanswerable.length,
    rightFile: share(answerable, (o) => o.rightFile),
    answerMatches: share(answerable, (o) => o.answerMatches),
    promptMatches: share(answerable, (o) => o.promptMatches),
    wronglyRefused: share(answerable, (o) => o.refused),
    refused: share(unanswerable, (o) => o.refused),
    meanPromptTokens: mean(answerable.filter((o) => !o.refused).map((o) => o.promptTokens)),
    outcomes,
  };
}

const mean = (values: readonly number[]) =>
  values.length > 0 ? values.reduce((sum, value) => sum + value, 0) / values.length : 0;

const pct = (value: number) => `${(value * 100).toFixed(1)}%`;

/** The answer figures as a table, and the questions that missed. */
export function formatAnswers(report: AnswerReport): string {
  const lines = [
    `Answered offline through the core: ${report.answerable} answerable + ${report.unanswerable} not in the knowledge base`,
    '',
    '| right file shown | answer matches | prompt passages match | prompt tokens (mean) | answerable wrongly refused | out-of-base refused |',
    '|---|---|---|---|---|---|',
    `| ${pct(report.rightFile)} | ${pct(report.answerMatches)} | ${pct(report.promptMatches)} | ${Math.round(report.meanPromptTokens)} | ${pct(report.wronglyRefused)} | ${pct(report.refused)} |`,
  ];
  const missed = report.outcomes.filter((o) => o.answerable && (!o.answerMatches || !o.rightFile));
  if (missed.length > 0) {
    lines.push('', 'Missing the pattern or the file:');
    for (const o of missed)
      lines.push(
        `  - ${o.question}${o.refused ? ' (refused)' : ''}${o.rightFile ? '' : ' [file]'}${o.answerMatches ? '' : ' [answer]'}${o.promptMatches ? '' : ' [prompt]'}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

/** Fractions 0–1, for `--json`. */
export function answersJson(report: AnswerReport): Record<string, number> {
  return {
    answerable: report.answerable,
    unanswerable: report.unanswerable,
    rightFile: report.rightFile,
    answerMatches: report.answerMatches,
    promptMatches: report.promptMatches,
    wronglyRefused: report.wronglyRefused,
    refused: report.refused,
    meanPromptTokens: report.meanPromptTokens,
  };
}
